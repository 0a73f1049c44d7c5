"""One hostile YAML document per way a document from an untrusted repo used to crash a
scan (issue 10, item 5), each with where and how the loader must report it.

Every case is one document meant to sit between good ones: ``line`` is relative to the
document's first line (1 = its first line), ``key`` the dotted path the error names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.conftest import RepoFactory


@dataclass(frozen=True)
class Hostile:
    text: str
    line: int
    key: str | None
    message: str  # a part of the error message
    yaml_level: bool = True  # found by the YAML reader (else by the Kubernetes shape check)


def _cm(body: str, name: str = "bad") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{body}"


def _secret(body: str) -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\n{body}"


def _bomb(levels: int = 9, fan_out: int = 9) -> str:
    """The "billion laughs": ``fan_out ** levels`` strings from a few hundred bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghijklmnop", "bcdefghijklmnopq", strict=False):
        if len(lines) == levels:
            break
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * fan_out) + "]")
    return "\n".join(lines) + "\n"


def _merge_bomb(levels: int = 9) -> str:
    """The same with ``<<`` merge keys: each level merges nine copies of the one before."""
    lines = ["a: &a {" + ", ".join(f"x{i}: lol" for i in range(9)) + "}"]
    for prev, name in zip("abcdefghijklmnop", "bcdefghijklmnopq", strict=False):
        if len(lines) == levels:
            break
        lines.append(f"{name}: &{name} {{<<: [" + ", ".join([f"*{prev}"] * 9) + "]}")
    return "\n".join(lines) + "\n"


BOMB = _bomb()
DEEP_BLOCK = _cm("data:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(300)))
DEEP_FLOW = _cm("data:\n  k: " + "[" * 300 + "]" * 300 + "\n")

HOSTILE: dict[str, Hostile] = {
    "int-key": Hostile(_cm("data:\n  1: one\n"), 6, "data.1", "is an int, not a string"),
    "null-key": Hostile(_cm("data:\n  ~: none\n"), 6, "data.~", "is null, not a string"),
    "huge-int": Hostile(_cm("data:\n  n: -9223372036854775809\n"), 6, "data.n", "64 bits"),
    "huge-hex": Hostile(_cm("data: {n: 0x10000000000000000}\n"), 5, "data.n", "64 bits"),
    "set-tag": Hostile(_cm("data:\n  s: !!set {a, b}\n"), 6, "data.s", "tag !!set is not"),
    "binary-tag": Hostile(_cm("data:\n  b: !!binary aGk=\n"), 6, "data.b", "tag !!binary"),
    "custom-tag": Hostile(_cm("data:\n  r: !Ref x\n"), 6, "data.r", "tag !Ref is not"),
    "empty-int-tag": Hostile(_cm("data:\n  n: !!int ''\n"), 1, None, "does not fit its tag"),
    "bool-key": Hostile(_cm("data:\n  yes: y\n"), 6, "data.yes", "is a boolean"),
    "float-key": Hostile(_cm("data:\n  1.5: x\n"), 6, "data.1.5", "is a float"),
    "map-key": Hostile(_cm("data:\n  ? {a: 1}\n  : x\n"), 6, "data.?", "key is a map"),
    "list-key": Hostile(_cm("data:\n  ? [a, b]\n  : x\n"), 6, "data.?", "key is a list"),
    "deep-block": Hostile(DEEP_BLOCK, 205, None, "nests deeper than 200 levels"),
    "deep-flow": Hostile(DEEP_FLOW, 6, None, "nests deeper than 200 levels"),
    "recursive-alias": Hostile(_cm("data: &d\n  k: [*d]\n"), 6, None, "nests deeper"),
    "alias-bomb": Hostile(BOMB, 1, None, "expands aliases too much"),
    "self-merge": Hostile(_cm("data: &d\n  <<: *d\n  k: v\n"), 5, None, "nests deeper"),
    "merge-bomb": Hostile(_merge_bomb(), 1, None, "expands aliases too much"),
    "top-level-string": Hostile("just a string\n", 1, None, "document is a string", False),
    "top-level-list": Hostile("- a\n- b\n", 1, None, "document is a list", False),
    "top-level-int": Hostile("42\n", 1, None, "document is an int", False),
    "secret-data-string": Hostile(
        _secret("data: aGVsbG8=\n"), 5, "data", "data is a string, not a map", yaml_level=False
    ),
    "secret-data-list": Hostile(
        _secret("data:\n- aGVsbG8=\n"), 5, "data", "data is a list", yaml_level=False
    ),
    "secret-data-int-value": Hostile(
        _secret("data:\n  port: 5432\n"), 6, "data.port", "is an int", yaml_level=False
    ),
    "secret-stringdata-map-value": Hostile(
        _secret("stringData:\n  pw:\n    nested: x\n"), 6, "stringData.pw", "is a map", False
    ),
    "metadata-list": Hostile(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [a]\n",
        3,
        "metadata",
        "is a list, not a map",
        False,
    ),
    "labels-string": Hostile(
        _cm("  labels: app\n"),
        5,
        "metadata.labels",
        "metadata.labels is a string",
        yaml_level=False,
    ),
    "label-value-int": Hostile(
        _cm("  labels:\n    tier: 3\n"), 6, "metadata.labels.tier", "is an int", False
    ),
    "annotations-list": Hostile(
        _cm("  annotations: [a]\n"), 5, "metadata.annotations", "is a list", yaml_level=False
    ),
    "namespace-int": Hostile(
        _cm("  namespace: 7\n"), 5, "metadata.namespace", "is an int", yaml_level=False
    ),
    "list-bad-items": Hostile(
        "apiVersion: v1\nkind: List\nitems:\n- 3\n", 4, "items.0", "document is an int", False
    ),
}


def good(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: ns\n"


def hostile_repo(make_repo: RepoFactory) -> tuple[Path, dict[str, tuple[int, str | None, str]]]:
    """A repo with ``hostile/<case>.yaml`` per case, and the error expected for each file."""
    files: dict[str, str] = {}
    expected: dict[str, tuple[int, str | None, str]] = {}
    for name, case in HOSTILE.items():
        before = good(f"{name}-before")
        files[f"hostile/{name}.yaml"] = f"{before}---\n{case.text}---\n{good(f'{name}-after')}"
        expected[f"hostile/{name}.yaml"] = (
            before.count("\n") + 1 + case.line,
            case.key,
            case.message,
        )
    root = make_repo(files)
    # Whole-file cases, as bytes: invalid UTF-8 fails the file with its offset; byte-order
    # marked UTF-16 and UTF-8 are read.
    (root / "encoding").mkdir()
    latin1 = good("latin1").encode() + b"  labels: {a: caf\xe9}\n"
    (root / "encoding/latin1.yaml").write_bytes(latin1)
    (root / "encoding/utf16.yaml").write_bytes(("\ufeff" + good("utf16")).encode("utf-16-le"))
    (root / "encoding/utf8bom.yaml").write_bytes(b"\xef\xbb\xbf" + good("utf8bom").encode())
    offset = latin1.index(b"\xe9")
    expected["encoding/latin1.yaml"] = (6, None, f"not valid UTF-8: byte 0xe9 at offset {offset}")
    make_repo({}, message="encodings")
    return root, expected
