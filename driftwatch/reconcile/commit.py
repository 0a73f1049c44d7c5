"""A commit of planned edits on a new branch, built with Git plumbing.

It starts from the audited commit and uses a private index file, so the user's working
tree, index, HEAD and current branch are never touched.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from driftwatch.export.markdown import md, md_code
from driftwatch.reconcile.actions import Plan
from driftwatch.reconcile.template import TemplateError, fill
from driftwatch.textsafe import printable


class CommitError(RuntimeError):
    pass


@dataclass(frozen=True)
class Committed:
    branch: str
    sha: str
    commands: list[str]


def _git(
    repo: Path, *args: str, env: dict[str, str] | None = None, input: bytes | None = None
) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, input=input, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise CommitError(f"git {args[0]} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode().strip()


def default_branch(
    plan: Plan, template: str = "driftwatch/{date}-{action}-{name}", today: datetime | None = None
) -> str:
    """The branch ``template`` (``reconcile.branch``) names for the plan."""
    day = (today or datetime.now(UTC)).strftime("%Y-%m-%d")
    name = plan.findings[0].rsplit("/", 1)[-1] if plan.findings else "changes"
    try:
        branch = fill(
            template, {"date": day, "action": plan.action, "name": name}, "reconcile.branch"
        )
    except TemplateError as exc:
        raise CommitError(str(exc)) from exc
    return branch[:100]


def message(plan: Plan, text: str | None = None) -> str:
    """Subject, one bullet per action, and a ``Driftwatch-Finding`` trailer per finding."""
    # Names and paths from Git or the cluster stay on their line: none can add a trailer.
    done = [printable(line) for line in plan.done]
    subject = (
        printable(text) if text else f"driftwatch: {plan.action} {len(plan.findings)} finding(s)"
    )
    if not text and len(done) == 1 and len(done[0]) <= 60:
        subject = f"driftwatch: {done[0]}"
    bullets = "\n".join(f"- {line}" for line in done)
    trailers = "\n".join(f"Driftwatch-Finding: {printable(f)}" for f in plan.findings)
    return f"{subject}\n\n{bullets}\n\n{trailers}\n"


# The rules of git-check-ref-format(1), to say why git refuses a name.
_REF_RULES: list[tuple[Callable[[str], bool], str]] = [
    (lambda n: n in ("HEAD", "@"), "it is reserved by git"),
    (lambda n: n.startswith("refs/"), "it starts with 'refs/' (give the branch name alone)"),
    (lambda n: n.startswith("-"), "it starts with '-'"),
    (lambda n: any(ord(c) < 0x20 or ord(c) == 0x7F for c in n), "it contains a control character"),
    (lambda n: " " in n, "it contains a space"),
    (lambda n: ".." in n, "it contains '..'"),
    (lambda n: "@{" in n, "it contains '@{'"),
    (lambda n: any(c in n for c in "~^:?*[\\"), "it contains one of ~ ^ : ? * [ \\"),
    (lambda n: n.startswith("/") or n.endswith("/") or "//" in n, "it has an empty path component"),
    (lambda n: any(p.startswith(".") for p in n.split("/")), "a component starts with '.'"),
    (lambda n: any(p.endswith(".lock") for p in n.split("/")), "a component ends with '.lock'"),
    (lambda n: n.endswith("."), "it ends with '.'"),
    (lambda n: not n, "it is empty"),
    (
        lambda n: any(len(p.encode()) > 255 for p in n.split("/")),
        "a component is longer than 255 bytes (a file name git cannot create)",
    ),
]


def branch_problem(repo: Path, name: str) -> str | None:
    """Why ``name`` cannot name a new branch; None when ``git check-ref-format --branch``
    accepts it (and it is none of ``HEAD``, ``@``, ``refs/...``, ``-...``)."""
    for broken, reason in _REF_RULES:
        if broken(name):
            return reason
    proc = subprocess.run(
        ["git", "check-ref-format", "--branch", name], cwd=repo, capture_output=True, check=False
    )
    return None if proc.returncode == 0 else "git check-ref-format --branch refuses it"


def commit(repo: Path, base: str, plan: Plan, branch: str, text: str) -> Committed:
    """Commit the plan's files on ``branch`` (which must not exist), parent ``base``."""
    why = branch_problem(repo, branch)
    if why:
        raise CommitError(
            f"branch name {printable(repr(branch))} is not valid: {why} (choose one with --branch)"
        )
    ref = f"refs/heads/{branch}"
    if (
        subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", ref], cwd=repo, capture_output=True
        ).returncode
        == 0
    ):
        raise CommitError(f"branch {branch} already exists; choose another with --branch")
    with tempfile.TemporaryDirectory(prefix="driftwatch-index-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        commands = [f"GIT_INDEX_FILE=<private> git read-tree {base}"]
        _git(repo, "read-tree", base, env=env)
        for path, (_, after) in sorted(plan.files.items()):
            if after is None:
                # Mode 0 removes the entry; --force-remove would need a work tree.  NUL
                # ends the record (-z), so no character of the path can start another.
                entry = f"0 {'0' * 40}\t{path}\0"
                _git(repo, "update-index", "-z", "--index-info", env=env, input=entry.encode())
                commands.append(f"git update-index --index-info  # remove {path}")
                continue
            mode = _mode(repo, base, path)
            blob = _git(repo, "hash-object", "-w", "--stdin", input=after.encode())
            _git(repo, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            commands.append(f"git update-index --add --cacheinfo {mode},{blob[:12]},{path}")
        tree = _git(repo, "write-tree", env=env)
        sha = _git(repo, "commit-tree", tree, "-p", base, input=text.encode())
        commands += [
            f"git write-tree  # {tree[:12]}",
            f"git commit-tree {tree[:12]} -p {base[:12]}",
        ]
    _git(repo, "update-ref", ref, sha, "")  # the empty old value refuses an existing branch
    commands.append(f"git update-ref {ref} {sha[:12]}")
    return Committed(branch, sha, commands)


def _mode(repo: Path, base: str, path: str) -> str:
    listing = _git(repo, "ls-tree", base, "--", path)
    return listing.split()[0] if listing else "100644"


def push(repo: Path, branch: str, remote: str = "origin") -> str:
    """Push the new branch; the command run, for the user's record."""
    _git(repo, "push", remote, f"refs/heads/{branch}:refs/heads/{branch}")
    return f"git push {remote} {branch}"


def pr_body(plan: Plan, committed: Committed, report_commit: str) -> str:
    """A Markdown pull-request description of the commit."""
    actions = "\n".join(f"- {md(line)}" for line in plan.done)
    files = "\n".join(
        f"- {md_code(path)}" + (" (deleted)" if after is None else " (new)" if not before else "")
        for path, (before, after) in sorted(plan.files.items())
    )
    findings = "\n".join(f"- {md_code(f)}" for f in plan.findings)
    return (
        f"## driftwatch: {plan.action}\n\n"
        f"Reconciles drift found by `driftwatch` in commit `{report_commit[:12]}`: Git is changed "
        f"to match what was decided about the live state, instead of changing the cluster by hand.\n\n"
        f"### Actions\n\n{actions}\n\n### Files\n\n{files}\n\n### Findings\n\n{findings}\n\n"
        f"Commit `{committed.sha[:12]}` on {md_code(committed.branch)}.\n"
    )
