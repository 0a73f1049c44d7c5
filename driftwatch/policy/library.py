"""Where policies come from: the built-in library and the repo's own Policy documents.

The I/O edge of the policy feature: reads files, hands texts to the pure engine.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

from driftwatch.config import PolicyConfig
from driftwatch.gitsource import GitSource
from driftwatch.policy.engine import PolicySet, load_documents
from driftwatch.report import ReportError
from driftwatch.yamldoc import YamlError, decode

# The built-in library: the repository's top-level policies/ folder, linked into the
# package as driftwatch/builtin_policies so that wheels carry it.
BUILTIN_DIR = Path(__file__).parents[1] / "builtin_policies"


def builtin_policies() -> PolicySet:
    found = PolicySet()
    for path in sorted(BUILTIN_DIR.rglob("*.yaml")):
        found.extend(
            load_documents(f"builtin:{path.relative_to(BUILTIN_DIR).as_posix()}", path.read_text())
        )
    return found


def repo_policies(source: GitSource, files: list[str], config: PolicyConfig) -> PolicySet:
    """Policy and Exception documents from the audited commit."""
    found = PolicySet()
    extra = [e.path for e in source.files(config.paths)] if config.paths else []
    for path, data in sorted(source.read_paths(set(files) | set(extra)).items()):
        try:
            text = decode(data)
        except YamlError as exc:
            found.errors.append(ReportError(path=path, line=exc.line, message=exc.message))
            continue
        # The manifest loader read (and reported the bad documents of) the own files.
        found.extend(load_documents(path, text, bad_documents=path not in files))
    return found


def policy_set(source: GitSource, own_files: list[str], config: PolicyConfig) -> PolicySet:
    """Built-ins (unless turned off) and the repo's policies, minus the disabled ones.

    A repo policy with the name of a built-in replaces it.
    """
    repo = repo_policies(source, own_files, config)
    found = PolicySet()
    if config.builtin:
        mine = {p.name for p in repo.policies}
        builtins = builtin_policies()
        builtins.policies = [p for p in builtins.policies if p.name not in mine]
        found.extend(builtins)
    found.extend(repo)
    found.policies = [
        p
        for p in found.policies
        if (p.doc.metadata.defaultEnabled or any(fnmatchcase(p.name, e) for e in config.enable))
        and not any(fnmatchcase(p.name, d) for d in config.disable)
    ]
    return found
