"""``python -m driftwatch.testing serve --objects FILE [--port N] [--kubeconfig OUT]``.

Prints the server URL on the first line of stdout, then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from driftwatch.testing.apiserver import TestAPIServer, load_objects


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m driftwatch.testing")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve objects over a read-only test Kubernetes API")
    serve.add_argument(
        "--objects",
        action="append",
        default=[],
        metavar="FILE",
        help="JSON list, JSON {items: [...]} or multi-document YAML (repeatable)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 (default): an ephemeral port")
    serve.add_argument("--kubeconfig", metavar="OUT", help="also write a kubeconfig here")
    serve.add_argument("--context", default="test")
    serve.add_argument("--namespace", default=None, help="the kubeconfig context's namespace")
    serve.add_argument("--token", default=None, help="require this bearer token")
    serve.add_argument("--server-version", default="v1.32.4")
    args = parser.parse_args(argv)

    objects = [obj for path in args.objects for obj in load_objects(path)]
    server = TestAPIServer(
        objects,
        host=args.host,
        port=args.port,
        token=args.token,
        server_version=args.server_version,
        record_requests=False,
    )
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    url = server.start()
    try:
        # The kubeconfig is in place before the URL line announces readiness.
        path = None
        if args.kubeconfig:
            path = server.write_kubeconfig(
                args.kubeconfig, context=args.context, namespace=args.namespace
            )
        print(url, flush=True)
        if path is not None:
            print(f"kubeconfig: {path}", flush=True)
        print(f"serving {len(objects)} objects", file=sys.stderr, flush=True)
        while not done.wait(1.0):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
