"""A running demo: the demo repo, the embedded test API server seeded with the live state,
a kubeconfig pointing at it (all in a private directory), and the demo AWS account on an
in-process moto server (:mod:`driftwatch.demo.aws`)."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TextIO

from rich.console import Console

from driftwatch.demo.aws import DemoAccount
from driftwatch.demo.gitrepo import create_demo_repo
from driftwatch.demo.live import live_objects
from driftwatch.scan import ScanError, ScanOptions, run_scan
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.textsafe import printable

__all__ = ["CONTEXT", "EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK", "Demo", "run_headless"]

CONTEXT = "driftwatch-demo"  # the kubeconfig context, as the demo's driftwatch.yaml names it
EXIT_OK, EXIT_ERROR, EXIT_FINDINGS = 0, 1, 2


class Demo:
    """The demo environment, as a context manager.

    On enter: a directory (``workdir``, or a fresh temporary one), the demo Git repo in
    ``<dir>/repo``, a :class:`TestAPIServer` on ``127.0.0.1`` (a free port) serving
    :func:`~driftwatch.demo.live.live_objects`, ``<dir>/kubeconfig`` whose context
    ``driftwatch-demo`` points at it, and the demo AWS account (:class:`DemoAccount`: a
    moto server on ``127.0.0.1``, seeded while the rest starts) with boto3's environment
    pointing at it.  On exit: the servers are stopped, the environment is restored and a
    temporary directory is removed (a given ``workdir`` is left in place).  Nothing
    outside that directory is written except the scan's usual caches.  One Demo runs at a
    time in a process (moto's state is per process).
    """

    def __init__(self, workdir: Path | None = None) -> None:
        self._workdir = Path(workdir) if workdir is not None else None
        self._dir: Path | None = None
        self._owns_dir = False
        self._repo: Path | None = None
        self._kubeconfig: Path | None = None
        self._server: TestAPIServer | None = None
        self._aws: DemoAccount | None = None

    def __enter__(self) -> Demo:
        if self._dir is not None:
            raise RuntimeError("this Demo is already running")
        if self._workdir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="driftwatch-demo-"))
            self._owns_dir = True
        else:
            self._dir = self._workdir
            self._dir.mkdir(parents=True, exist_ok=True)
        aws = DemoAccount()
        try:
            aws.open()  # here: it sets the process environment
            # Seeding is mostly moto importing its backends: let it overlap the rest.
            seeding = _Background(aws.seed)
            try:
                self._repo = create_demo_repo(self._dir / "repo")
                self._server = TestAPIServer(live_objects(), host="127.0.0.1", port=0)
                self._server.start()
                self._kubeconfig = self._server.write_kubeconfig(
                    self._dir / "kubeconfig", context=CONTEXT, namespace="shop"
                )
            finally:
                seeding.join()
            seeding.result()
        except BaseException:
            aws.close()
            self.close()
            raise
        self._aws = aws
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the servers, restore the environment and remove the temporary directory
        (idempotent)."""
        aws, self._aws = self._aws, None
        if aws is not None:
            aws.close()
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._owns_dir and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = self._repo = self._kubeconfig = None
        self._owns_dir = False

    def _running(self) -> tuple[Path, Path, TestAPIServer, DemoAccount]:
        if (
            self._repo is None
            or self._kubeconfig is None
            or self._server is None
            or self._aws is None
        ):
            raise RuntimeError("the demo is not running; use it as a context manager")
        return self._repo, self._kubeconfig, self._server, self._aws

    @property
    def repo(self) -> Path:
        """The demo Git repository."""
        return self._running()[0]

    @property
    def kubeconfig(self) -> Path:
        """A kubeconfig whose current context (``driftwatch-demo``) is the demo server."""
        return self._running()[1]

    @property
    def server(self) -> TestAPIServer:
        """The running test API server (``server.put()`` changes the live state)."""
        return self._running()[2]

    @property
    def aws(self) -> DemoAccount:
        """The demo AWS account (``aws.server``: the moto server, ``aws.deployed``: the
        identifier of each deployed spec)."""
        return self._running()[3]

    def scan_options(self, *, objects_in_sync: bool = False) -> ScanOptions:
        """Options for :func:`driftwatch.scan.run_scan` that audit the demo repo's ``HEAD``
        against the demo server and the demo AWS account (while the demo runs, boto3's
        environment points at it).

        The result cache is off: the repo path is new on every run, so cached results
        would only pile up under ``$XDG_CACHE_HOME``.
        """
        repo, kubeconfig, _, _ = self._running()
        return ScanOptions(
            repo=str(repo),
            kubeconfig=str(kubeconfig),
            context=CONTEXT,
            use_cache=False,
            objects_in_sync=objects_in_sync,
        )


class _Background:
    """``function()`` on a thread; :meth:`result` re-raises what it raised."""

    def __init__(self, function: Callable[[], object]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function,), daemon=True)
        self._thread.start()

    def _run(self, function: Callable[[], object]) -> None:
        try:
            function()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def join(self) -> None:
        self._thread.join()

    def result(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def run_headless(out: TextIO | None = None, fmt: str = "text") -> int:
    """Run the demo scan once and print the report, like ``driftwatch scan``.

    ``fmt`` is ``text`` (the compact summary of ``driftwatch scan``) or ``json`` (the
    ``AuditReport``).  ``out`` defaults to standard output.  Returns the exit code
    ``driftwatch scan`` would (with ``--fail-on any``): 2 when there are findings (the demo
    always has some), 1 when the scan could not run (the reason on standard error).
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown format {fmt!r} (text or json)")
    stream = sys.stdout if out is None else out
    try:
        with Demo() as demo:
            report = run_scan(demo.scan_options())
    except (ScanError, RuntimeError, OSError) as exc:
        print(f"driftwatch: {printable(exc)}", file=sys.stderr)
        return EXIT_ERROR
    if fmt == "json":
        stream.write(report.to_json().decode())
    else:
        from driftwatch.export.text import render_text

        terminal = stream.isatty()
        console = Console(
            file=stream,
            highlight=False,
            soft_wrap=not terminal,  # a file or pipe gets whole lines
            no_color=not terminal,
        )
        render_text(report, console)
    stream.flush()
    return EXIT_FINDINGS if report.has_findings("any") else EXIT_OK
