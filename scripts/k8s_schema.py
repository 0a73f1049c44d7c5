"""Generate the bundled schema of the built-in Kubernetes types from upstream data.

The source is the ``kubernetes-validate`` package (PyPI), which ships the upstream
Kubernetes OpenAPI definitions per release as JSON schema, list-type markers included
(``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``, ``x-kubernetes-map-type``,
the patch strategy).  Nothing here is typed by hand: the file is what
``schema.compact_types`` makes of those definitions, and a test checks that the
committed file is what this script writes.

    python scripts/k8s_schema.py           # rewrite driftwatch/providers/kubernetes/data/k8s-schema.json
    python scripts/k8s_schema.py --check   # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata, resources
from pathlib import Path

from driftwatch.providers.kubernetes.schema import BUNDLED, SchemaData, compact_types

KUBERNETES_VERSION = "v1.34.0"  # the upstream release the bundled schema describes
OUT = Path(__file__).resolve().parents[1] / "driftwatch/providers/kubernetes/data" / BUNDLED


def render() -> str:
    source = resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"{KUBERNETES_VERSION}-local", "_definitions.json"
    )
    definitions = json.loads(source.read_text(encoding="utf-8"))["$defs"]
    types, kinds = compact_types(definitions)
    package = f"kubernetes-validate {metadata.version('kubernetes-validate')}"
    data = SchemaData(types, kinds, f"Kubernetes {KUBERNETES_VERSION} OpenAPI ({package})")
    return json.dumps(data.to_json(), sort_keys=True, separators=(",", ":")) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run python scripts/k8s_schema.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
