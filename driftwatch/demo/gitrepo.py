"""The demo infrastructure repository: package data committed into a fresh Git repo.

The files live under ``driftwatch/demo/repo`` (shipped as package data).  They are
committed in a few commits with a fixed author and fixed dates, so the "last commit that
touched the file" differs between files and the commit ids are the same on every machine.
The user's Git configuration is never read (no signing, hooks or templates apply).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = [
    "AUTHOR_EMAIL",
    "AUTHOR_NAME",
    "COMMITS",
    "DemoCommit",
    "create_demo_repo",
    "repo_files",
]

AUTHOR_NAME = "driftwatch demo"
AUTHOR_EMAIL = "demo@driftwatch.dev"
BRANCH = "main"

README = """\
# shop-infra (driftwatch demo)

The desired state of a small shop on Kubernetes, synced to the cluster by Argo CD, and of
its AWS account.  `driftwatch demo` audits it against an embedded test cluster and an
in-process AWS account (moto) where, since the last sync, people and controllers have
been busy.  On the cluster: a hotfix image set by hand, a ConfigMap edited, a password
rotated live, a CronJob suspended, debug objects created with `kubectl create`, the api
scaled by its HorizontalPodAutoscaler, and a feature-flag ramped by a rollout operator;
the PodDisruptionBudget never synced and the cluster has no Prometheus Operator for the
ServiceMonitor.  In the account: a bucket's versioning suspended in the console, SSH
opened to the world "for a minute", a queue re-tagged, the payments API key rotated in
the Lambda console, a bucket whose deploy never ran, a hand-made bucket and security
group, cost tags written by the FinOps tool, and CloudWatch Logs denied in eu-west-1.

| path | what |
|---|---|
| `driftwatch.yaml` | targets (the cluster, the AWS account) and `ignoreDifferences` rules |
| `platform/` | cluster-wide RBAC (an aggregated ClusterRole) |
| `shop/` | the shop namespace: web, api, config, secrets, jobs, network policies (default deny), PDB |
| `monitoring/` | the ServiceMonitor for web |
| `aws/` | `AWSResource` specs: S3 buckets, the web security group, a KMS key, order events (SQS queue, IAM role, Lambda function, log groups) |
"""


@dataclass(frozen=True)
class DemoCommit:
    """One commit of the demo history: the files it adds, when and why."""

    date: str
    subject: str
    paths: tuple[str, ...]


# Oldest first.  A file of the package data not named here goes into the last commit.
COMMITS: tuple[DemoCommit, ...] = (
    DemoCommit(
        "2026-02-02T09:12:00+01:00",
        "Bootstrap shop-infra: driftwatch config, reader RBAC, network policies",
        ("README.md", "driftwatch.yaml", "platform/rbac.yaml", "shop/network.yaml"),
    ),
    DemoCommit(
        "2026-02-09T16:40:00+01:00",
        "shop: web, api and the nightly report",
        (
            "shop/web.yaml",
            "shop/config.yaml",
            "shop/secrets.yaml",
            "shop/api.yaml",
            "shop/jobs.yaml",
        ),
    ),
    DemoCommit(
        "2026-02-23T11:05:00+01:00",
        "web: PodDisruptionBudget and ServiceMonitor",
        ("shop/pdb.yaml", "monitoring/web.yaml"),
    ),
    DemoCommit(
        "2026-02-25T15:20:00+01:00",
        "aws: buckets, web security group, invoices key and order events",
        ("aws/storage.yaml", "aws/network.yaml", "aws/keys.yaml", "aws/order-events.yaml"),
    ),
)


# Only what the wheel ships (package data: **/*.yaml, **/*.json), so an editable install
# and an installed one build the same repository.
_SHIPPED = (".yaml", ".json")


def _walk(node: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.name.startswith((".", "__")):
            continue
        if child.is_dir():
            yield from _walk(child, rel + "/")
        elif child.is_file() and child.name.endswith(_SHIPPED):
            yield rel, child


def repo_files() -> dict[str, bytes]:
    """The demo repository's files (package data under ``driftwatch/demo/repo``), by path."""
    root = files("driftwatch.demo").joinpath("repo")
    return {rel: entry.read_bytes() for rel, entry in _walk(root)}


def _git_env(date: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GIT_")  # e.g. GIT_DIR from a hook would redirect every command
    }
    env.update(
        GIT_AUTHOR_NAME=AUTHOR_NAME,
        GIT_AUTHOR_EMAIL=AUTHOR_EMAIL,
        GIT_COMMITTER_NAME=AUTHOR_NAME,
        GIT_COMMITTER_EMAIL=AUTHOR_EMAIL,
        GIT_AUTHOR_DATE=date,
        GIT_COMMITTER_DATE=date,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
    )
    return env


def _git(repo: Path, *args: str, date: str = COMMITS[0].date) -> None:
    try:
        subprocess.run(
            ["git", *args], cwd=repo, env=_git_env(date), check=True, capture_output=True
        )
    except FileNotFoundError as exc:
        raise RuntimeError("the demo needs git on the PATH") from exc
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"git {' '.join(args)} failed: {detail}") from exc


def create_demo_repo(destination: Path) -> Path:
    """Write the demo repository to ``destination`` and commit it on branch ``main``.

    ``destination`` must not exist or be an empty directory (``FileExistsError``
    otherwise).  Returns ``destination``.  Needs ``git`` on the ``PATH``
    (``RuntimeError`` otherwise).
    """
    destination = Path(destination)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise FileExistsError(f"{destination}: exists and is not an empty directory")
    content = {"README.md": README.encode(), **repo_files()}
    planned = [p for c in COMMITS for p in c.paths]
    unknown = sorted(set(planned) - content.keys())
    if unknown:
        raise RuntimeError(f"demo commit plan names files that do not exist: {unknown}")
    rest = tuple(sorted(content.keys() - set(planned)))
    commits = [
        *COMMITS[:-1],
        DemoCommit(COMMITS[-1].date, COMMITS[-1].subject, COMMITS[-1].paths + rest),
    ]

    destination.mkdir(parents=True, exist_ok=True)
    _git(destination, "init", "-q")
    _git(destination, "symbolic-ref", "HEAD", f"refs/heads/{BRANCH}")  # as `init -b`, any git
    for commit in commits:
        for rel in commit.paths:
            path = destination / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content[rel])
        _git(destination, "add", "--", *commit.paths, date=commit.date)
        _git(destination, "commit", "-q", "--no-verify", "-m", commit.subject, date=commit.date)
    return destination
