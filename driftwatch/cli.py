"""Command line: ``tui`` (the default), ``view``, ``demo``, ``scan``, ``check``,
``reconcile``, ``policy test``, ``snapshot`` and ``schema``.

Heavy modules (the Textual app, the scan) are imported by the command that needs them,
so ``--version`` and ``schema`` stay instant.  Exit codes: 0 nothing at or above
``--fail-on``; 2 findings; 1 the command could not complete (a one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from driftwatch import __version__
from driftwatch.files import OutputError
from driftwatch.report import AuditReport
from driftwatch.textsafe import internal_error, printable, printable_lines

if TYPE_CHECKING:
    from driftwatch.scan import ScanOptions

EXIT_OK, EXIT_ERROR, EXIT_FINDINGS = 0, 1, 2
FORMATS = ["text", "json", "sarif", "junit", "markdown"]  # scan and check --format


def _add_source_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo", default=".", help="Git repo: a local path or a clone URL (default: .)"
    )
    parser.add_argument(
        "--ref", default="HEAD", help="branch, tag or commit to audit (default: HEAD)"
    )
    parser.add_argument(
        "--worktree",
        action="store_true",
        help="read uncommitted working-tree files instead of the commit",
    )
    parser.add_argument("--config", help="driftwatch.yaml to use instead of the one in the repo")
    parser.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", help="kubeconfig context (default: the current context)")
    parser.add_argument("--no-cache", action="store_true", help="do not use the parse cache")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def _add_server_side_diff_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server-side-diff",
        action="store_true",
        help="compare live with each cluster's dry-run server-side apply of Git's objects"
        " (needs patch permission; a kind without it falls back to the schema mode)",
    )


def _add_aws_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--aws-profile",
        metavar="NAME",
        help="also audit this AWS profile's account (with no cluster configured, only AWS)",
    )
    parser.add_argument(
        "--aws-region",
        metavar="REGION",
        action="append",
        default=[],
        help="AWS region to scan (repeatable; default: the regions the specs name)",
    )


def _add_tui_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--refresh", type=float, metavar="SECONDS", help="rescan this long after each scan ends"
    )
    parser.add_argument(
        "--low-bandwidth",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="no animations or smooth scrolling (default: on when $SSH_CONNECTION is set)",
    )
    parser.add_argument("--theme", choices=["dark", "light"], default="dark")
    parser.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="no staging or commits: the reconcile keys (space, d, c) are removed",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftwatch",
        description="Audit drift between Git (the desired state) and live Kubernetes clusters.",
    )
    parser.add_argument("--version", action="version", version=f"driftwatch {__version__}")
    sub = parser.add_subparsers(dest="command")

    scan = sub.add_parser("scan", help="audit Git against the live targets, headless")
    _add_source_flags(scan)
    _add_server_side_diff_flag(scan)
    _add_aws_flags(scan)
    scan.add_argument("--live-from", help="audit against a recording made by `driftwatch snapshot`")
    scan.add_argument("--format", choices=FORMATS, default="text")
    scan.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    scan.add_argument(
        "--fail-on",
        choices=["drift", "any", "none"],
        default="any",
        help="exit 2 when findings reach this level: drift (modified/missing/unmanaged), any (also not_checked and errors), none",
    )
    scan.add_argument(
        "--all",
        action="store_true",
        help="list in-sync resources too (text), include their desired objects (json)",
    )

    scan.add_argument(
        "--explain",
        action="store_true",
        help="also list, per resource, the differences that were not counted as drift and why",
    )

    explain = sub.add_parser(
        "explain",
        help="why a resource is (or is not) drift: every difference, counted or not, with its rule",
    )
    explain.add_argument(
        "resource",
        metavar="ID",
        help="a resource id from a report, or Kind/name, Kind/namespace/name",
    )
    _add_source_flags(explain)
    _add_server_side_diff_flag(explain)
    explain.add_argument(
        "--live-from", help="audit against a recording made by `driftwatch snapshot`"
    )
    explain.set_defaults(all=True, aws_profile=None, aws_region=[])

    check = sub.add_parser(
        "check", help="run the policies on Git alone (no cluster): the pre-merge step"
    )
    check.add_argument("--repo", default=".", help="Git repo: a local path or a clone URL")
    check.add_argument("--ref", default="HEAD", help="branch, tag or commit (default: HEAD)")
    check.add_argument("--worktree", action="store_true", help="read uncommitted files")
    check.add_argument("--config", help="driftwatch.yaml to use instead of the repo's")
    check.add_argument("--no-cache", action="store_true", help="do not use the parse cache")
    check.add_argument("--format", choices=FORMATS, default="text")
    check.add_argument("--output", "-o", help="write the findings to this file")
    check.add_argument(
        "--fail-on",
        choices=["critical", "high", "medium", "low", "info", "none"],
        default="low",
        help="exit 2 when an unwaived violation is at or above this severity (default: low)",
    )
    check.set_defaults(kubeconfig=None, context=None, quiet=True, all=False)

    rec = sub.add_parser(
        "reconcile",
        help="turn findings into a Git commit on a new branch (adopt, import, remove, ignore, waive, fix)",
    )
    rec.add_argument(
        "--report", required=True, help="a report from `driftwatch scan --format json`"
    )
    rec.add_argument(
        "--action",
        required=True,
        choices=["adopt", "import", "remove", "ignore", "waive", "fix"],
    )
    rec.add_argument(
        "--select",
        required=True,
        nargs="+",
        metavar="ID",
        help="resource ids; id#change.path for single changes; id@policy[/rule] for waive and fix",
    )
    rec.add_argument("--reason", default="", help="why (ignore, waive)")
    rec.add_argument("--owner", default="", help="who owns the exception (waive)")
    rec.add_argument("--ticket", default="", help="a ticket reference (waive)")
    rec.add_argument("--expires", type=date.fromisoformat, help="YYYY-MM-DD (waive)")
    rec.add_argument("--repo", help="the audited repo (default: the report's)")
    rec.add_argument(
        "--branch", help="branch to create (default: reconcile.branch in driftwatch.yaml)"
    )
    rec.add_argument("--message", help="commit subject")
    rec.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    rec.add_argument("--push", action="store_true", help="push the new branch to --remote")
    rec.add_argument("--remote", default="origin", help="remote for --push (default: origin)")
    rec.add_argument(
        "--pr-body",
        metavar="FILE",
        help="write a Markdown pull-request description to FILE (- for stdout); none by default",
    )

    policy = sub.add_parser("policy", help="policy tools")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    policy_test = policy_sub.add_parser("test", help="run PolicyTest cases under a directory")
    policy_test.add_argument("directory", help="folder searched for PolicyTest documents")

    tui = sub.add_parser(
        "tui", help="open the interactive app on a live scan (the default command)"
    )
    _add_source_flags(tui)
    _add_server_side_diff_flag(tui)
    _add_aws_flags(tui)
    _add_tui_flags(tui)

    view = sub.add_parser("view", help="open the interactive app on a saved JSON report")
    view.add_argument("report", help="a report written by `driftwatch scan --format json`")
    _add_tui_flags(view)

    demo = sub.add_parser(
        "demo", help="a demo repo and cluster with drift of every kind, in the app"
    )
    demo.add_argument("--headless", action="store_true", help="print the demo scan instead")
    demo.add_argument("--format", choices=["text", "json"], default="text", help="with --headless")
    _add_tui_flags(demo)

    snap = sub.add_parser("snapshot", help="record the live objects of the targets to a file")
    _add_source_flags(snap)
    _add_server_side_diff_flag(snap)
    snap.add_argument("--output", "-o", required=True, help="file to write (JSON, mode 0600)")
    snap.add_argument(
        "--include-secret-values",
        action="store_true",
        help="record Secret values in clear (sensitive: the file then holds every live secret); by default they are masked",
    )

    sub.add_parser("schema", help="print the JSON Schema of the AuditReport")
    _add_debug_flag(parser, default=False)
    for command in (*sub.choices.values(), policy_test):  # also after the command's name
        _add_debug_flag(command, default=argparse.SUPPRESS)
    return parser


def _add_debug_flag(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show the traceback of an internal error (also: DRIFTWATCH_DEBUG=1)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((arg for arg in argv if arg != "--debug"), None)
    if first is None or (first.startswith("-") and first not in ("-h", "--help", "--version")):
        argv.insert(0, "tui")  # `driftwatch [flags]` opens the app
    args = parser.parse_args(argv)
    try:
        if args.command == "schema":
            print(json.dumps(AuditReport.model_json_schema(), indent=2, sort_keys=True))
            return EXIT_OK
        if args.command in ("tui", "view", "demo"):
            return _interactive(args)
        if args.command == "check":
            return _check(args)
        if args.command == "policy":
            return _policy_test(Path(args.directory))
        if args.command == "reconcile":
            return _reconcile(args)
        if args.command == "explain":
            return _explain(args)
        return _headless(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `driftwatch scan | head -1`: the reader has what it wanted
        _silence_stdout()
        return EXIT_ERROR
    except OutputError as exc:
        print(f"driftwatch: {printable(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug, or input no check foresaw: one line, not a traceback
        if _debug(args):
            traceback.print_exc()
        else:
            print(internal_error(exc), file=sys.stderr)
        return EXIT_ERROR


def _debug(args: argparse.Namespace) -> bool:
    """``--debug`` or ``DRIFTWATCH_DEBUG=1``: tracebacks instead of one-line internal errors."""
    env = os.environ.get("DRIFTWATCH_DEBUG", "")
    return bool(getattr(args, "debug", False)) or env not in ("", "0")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # stdout is not a file (a test's capture): nothing will flush it


def _scan_options(args: argparse.Namespace) -> ScanOptions:
    from driftwatch.scan import ScanOptions

    return ScanOptions(
        repo=args.repo,
        ref=args.ref,
        worktree=args.worktree,
        config_file=args.config,
        kubeconfig=args.kubeconfig,
        context=args.context,
        live_from=getattr(args, "live_from", None),
        use_cache=not args.no_cache,
        objects_in_sync=getattr(args, "all", False),
        explain=getattr(args, "explain", False) or args.command == "explain",
        server_side_diff=getattr(args, "server_side_diff", False),
        aws_profile=getattr(args, "aws_profile", None),
        aws_regions=list(getattr(args, "aws_region", None) or []),
    )


def _headless(args: argparse.Namespace) -> int:
    """``scan`` and ``snapshot``."""
    # Imported here so `--version` and `schema` stay instant.
    from driftwatch.files import write_atomic
    from driftwatch.scan import ScanError, record_live, run_scan

    err = Console(stderr=True, highlight=False)
    progress = (
        None
        if args.quiet or not sys.stderr.isatty()
        else (lambda m: err.print(printable(m), markup=False, style="dim"))
    )
    options = _scan_options(args)
    try:
        if args.command == "snapshot":
            recording, errors = record_live(options, progress, args.include_secret_values)
            for error in errors:
                print(f"driftwatch: {printable(error)}", file=sys.stderr)
            if not recording.clusters:
                print(
                    "driftwatch: nothing to record: no cluster was read (a snapshot records clusters only)",
                    file=sys.stderr,
                )
                return EXIT_ERROR
            data = recording.model_dump_json(indent=2).encode() + b"\n"
            write_atomic(args.output, data, mode=0o600)
            return EXIT_OK
        report = run_scan(options, progress)
    except ScanError as exc:
        print(f"driftwatch: {printable(exc)}", file=sys.stderr)
        return EXIT_ERROR
    _write_report(report, args)
    return EXIT_FINDINGS if report.has_findings(args.fail_on) else EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    """``explain ID``: the scan of that resource's target, every difference with its rule."""
    from driftwatch.export.explain import find_resource, render_explanation
    from driftwatch.scan import ScanError, run_scan

    try:
        report = run_scan(_scan_options(args))
    except ScanError as exc:
        print(f"driftwatch: {printable(exc)}", file=sys.stderr)
        return EXIT_ERROR
    found = find_resource(report.resources, args.resource)
    if isinstance(found, str):
        print(f"driftwatch: {printable(found)}", file=sys.stderr)
        return EXIT_ERROR
    sys.stdout.write(render_explanation(found))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from driftwatch.check import failing, run_check
    from driftwatch.policy.model import Severity
    from driftwatch.scan import ScanError

    try:
        report = run_check(_scan_options(args))
    except ScanError as exc:
        print(f"driftwatch: {printable(exc)}", file=sys.stderr)
        return EXIT_ERROR
    _write_report(report, args)
    if args.fail_on == "none":
        return EXIT_OK
    return EXIT_FINDINGS if failing(report, Severity(args.fail_on)) else EXIT_OK


def _reconcile(args: argparse.Namespace) -> int:
    import git

    from driftwatch.config import ConfigError
    from driftwatch.files import check_writable, write_atomic
    from driftwatch.gitsource import GitSourceError
    from driftwatch.reconcile.actions import Details, ReconcileError
    from driftwatch.reconcile.commit import CommitError, pr_body
    from driftwatch.reconcile.workflow import Reconciler, Step

    try:
        report = AuditReport.from_json(Path(args.report).read_bytes())
    except (OSError, ValueError) as exc:
        print(
            f"driftwatch: {printable(args.report)}: cannot read the report: {printable(exc)}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        reconciler = Reconciler(report, args.repo)
        details = Details(args.reason, args.owner, args.ticket, args.expires)
        edits = reconciler.plan([Step(args.action, tuple(args.select), args.action, details)])
        sys.stdout.write("".join(f"{line}\n" for line in printable_lines(reconciler.diff(edits))))
        if args.dry_run:
            return EXIT_OK
        if args.pr_body:
            check_writable(args.pr_body)  # before the branch exists, not after
        done = reconciler.commit(edits, args.branch, reconciler.message(edits, args.message))
        commands = list(done.commands)
        if args.push:
            commands.append(reconciler.push(done, args.remote))
    except (ReconcileError, CommitError, ConfigError, GitSourceError, git.GitError) as exc:
        print(f"driftwatch: {printable(exc)}", file=sys.stderr)
        return EXIT_ERROR
    assert report.scan.commit is not None
    print(
        f"committed {done.sha[:12]} on {printable(done.branch)} (your working tree, index and branch are untouched)"
    )
    for command in commands:
        print(f"  $ {printable(command)}")
    # The description goes only where --pr-body says: never into the user's checkout.
    body = printable(pr_body(edits, done, report.scan.commit))
    if args.pr_body == "-":
        sys.stdout.write(body)
    elif args.pr_body:
        write_atomic(args.pr_body, body.encode())  # an OutputError is main()'s one line
        print(f"pull-request description: {printable(args.pr_body)}")
    else:
        print("(--pr-body FILE writes a pull-request description; --pr-body - prints it)")
    return EXIT_OK


def _policy_test(directory: Path) -> int:
    from driftwatch.policy.testrun import run_tests

    if not directory.is_dir():
        print(f"driftwatch: {printable(directory)}: not a directory", file=sys.stderr)
        return EXIT_ERROR
    outcomes, problems = run_tests(directory)
    for problem in problems:
        print(f"error: {printable(problem)}", file=sys.stderr)
    for outcome in outcomes:
        e = outcome.expected
        mark = "ok  " if outcome.ok else "FAIL"
        rule = f"/{e.rule}" if e.rule else ""
        print(
            printable(
                f"{mark} {outcome.test}: {e.policy}{rule} on {e.kind or '*'} {e.resource}: expected {e.result}, got {outcome.actual}"
            )
        )
    failed = sum(not o.ok for o in outcomes)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    if problems or not outcomes:
        return EXIT_ERROR
    return EXIT_FINDINGS if failed else EXIT_OK


def _write_report(report: AuditReport, args: argparse.Namespace) -> None:
    """The report in ``--format``, to ``--output`` (atomically) or stdout."""
    from driftwatch.export import FILE_FORMATS, render
    from driftwatch.export.text import render_text
    from driftwatch.files import write_atomic

    if args.format in FILE_FORMATS:
        gc.disable()  # serializing a large report allocates many acyclic objects; see scan.py
        data = render(report, args.format, args.all)
    elif args.output:
        buffer = io.StringIO()
        render_text(
            report,
            Console(file=buffer, no_color=True, soft_wrap=True, highlight=False),
            args.all,
        )
        data = buffer.getvalue().encode()
    else:
        render_text(report, Console(highlight=False, soft_wrap=True), args.all)
        return
    if args.output:
        write_atomic(args.output, data)
    else:
        sys.stdout.buffer.write(data)


def _interactive(args: argparse.Namespace) -> int:
    """``tui``, ``view`` and ``demo``: the Textual app (imported only here)."""
    if args.command == "demo" and args.headless:
        from driftwatch.demo import run_headless

        return run_headless(sys.stdout, args.format)
    from driftwatch.config import Config
    from driftwatch.scan import ScanError, run_scan
    from driftwatch.tui.app import DriftwatchApp, TuiOptions, low_bandwidth_default

    def options(config: Config | None = None) -> TuiOptions:
        low = args.low_bandwidth if args.low_bandwidth is not None else low_bandwidth_default()
        return TuiOptions(
            refresh=args.refresh,
            low_bandwidth=low,
            theme=args.theme,
            mouse=not args.no_mouse,
            config=(config or Config()).tui,
            read_only=args.read_only,
            debug=_debug(args),
        )

    if args.command == "view":
        try:
            report = AuditReport.from_json(Path(args.report).read_bytes())
        except (OSError, ValueError) as exc:
            print(
                f"driftwatch: {printable(args.report)}: cannot read the report: {printable(exc)}",
                file=sys.stderr,
            )
            return EXIT_ERROR
        DriftwatchApp(report=report, options=options()).run(mouse=not args.no_mouse)
        return EXIT_OK
    if args.command == "demo":
        from driftwatch.demo import Demo

        try:
            with Demo() as demo:
                demo_options = demo.scan_options(objects_in_sync=True)
                demo_options.explain = True
                app = DriftwatchApp(
                    scan=lambda progress, partial: run_scan(demo_options, progress, partial),
                    options=options(),
                )
                app.run(mouse=not args.no_mouse)
        except (OSError, RuntimeError) as exc:
            print(f"driftwatch: the demo could not start: {printable(exc)}", file=sys.stderr)
            return EXIT_ERROR
        return EXIT_OK
    scan_options = _scan_options(args)
    scan_options.objects_in_sync = True
    scan_options.explain = True  # the detail pane's "why" view
    from driftwatch.config import ConfigError
    from driftwatch.gitsource import GitSource, GitSourceError, open_repo
    from driftwatch.scan import load_repo_config

    try:  # the app's settings (keys, production accent) come from the repo's driftwatch.yaml
        source = GitSource(open_repo(args.repo), args.ref, args.worktree)
        config = load_repo_config(source, args.config)
    except (ScanError, ConfigError, GitSourceError) as exc:
        print(f"driftwatch: {printable(exc)}", file=sys.stderr)
        return EXIT_ERROR
    app = DriftwatchApp(
        scan=lambda progress, partial: run_scan(scan_options, progress, partial),
        options=options(config),
    )
    app.run(mouse=not args.no_mouse)
    return EXIT_OK
