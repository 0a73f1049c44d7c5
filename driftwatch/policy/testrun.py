"""``driftwatch policy test DIR``: run users' policy test cases, as ``kyverno test`` does.

A test file is any ``*.yaml`` under DIR holding a document like::

    apiVersion: driftwatch.dev/v1alpha1
    kind: PolicyTest
    metadata: {name: privileged}
    policies: [../policies/no-privileged.yaml]   # files, relative to this file
    resources: [resources.yaml]                   # Kubernetes manifests or AWSResource specs
    results:
      - {policy: no-privileged, rule: privileged-containers, kind: Pod, resource: bad, result: fail}
      - {policy: no-privileged, rule: privileged-containers, kind: Pod, resource: good, result: pass}
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from driftwatch.policy.engine import PolicySet, PolicySubject, evaluate, load_documents
from driftwatch.policy.model import Scope
from driftwatch.providers.kubernetes.normalize import SecretMasker, mask_secrets
from driftwatch.yamldoc import YamlError, decode, parse_documents


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpectedResult(_Strict):
    policy: str
    rule: str = ""
    resource: str
    kind: str = ""
    namespace: str | None = None
    result: Literal["pass", "fail"]


class PolicyTest(_Strict):
    apiVersion: Literal["driftwatch.dev/v1alpha1"]
    kind: Literal["PolicyTest"]
    metadata: dict[str, str] = Field(default_factory=dict)
    policies: list[str] = Field(min_length=1)
    resources: list[str] = Field(min_length=1)
    results: list[ExpectedResult] = Field(min_length=1)


@dataclass(frozen=True)
class Outcome:
    test: str
    expected: ExpectedResult
    actual: str  # pass | fail | error: … | not found: …

    @property
    def ok(self) -> bool:
        return self.actual == self.expected.result


class TestFileError(ValueError):
    pass


def run_tests(directory: Path) -> tuple[list[Outcome], list[str]]:
    """Outcomes of every PolicyTest under ``directory``, and problems with the files."""
    outcomes: list[Outcome] = []
    problems: list[str] = []
    for path in sorted(directory.rglob("*.y*ml")):
        try:
            docs = parse_documents(decode(path.read_bytes()))
        except (YamlError, OSError):
            continue  # not a test file we can read; policies and resources are read below
        for doc in docs:
            if not (isinstance(doc.data, dict) and doc.data.get("kind") == "PolicyTest"):
                continue
            try:
                outcomes += _run(path, PolicyTest.model_validate(doc.data))
            except ValidationError as exc:
                err = exc.errors()[0]
                problems.append(
                    f"{path}:{doc.line}: {'.'.join(map(str, err['loc']))}: {err['msg']}"
                )
            except TestFileError as exc:
                problems.append(f"{path}:{doc.line}: {exc}")
    return outcomes, problems


def _text(file: Path, rel: str) -> str:
    try:
        return decode(file.read_bytes())
    except YamlError as exc:
        raise TestFileError(f"{rel}:{exc.line}: {exc.message}") from exc


def _run(path: Path, test: PolicyTest) -> list[Outcome]:
    policies = PolicySet()
    for rel in test.policies:
        file = path.parent / rel
        if not file.is_file():
            raise TestFileError(f"policy file {rel} not found")
        policies.extend(load_documents(str(file), _text(file, rel)))
    if policies.errors:
        raise TestFileError("; ".join(str(e) for e in policies.errors))
    subjects = []
    # Policies see Secrets masked, as in a scan; fixtures need no stable hashes, so a
    # key of their own (the installation's is not read).
    masker = SecretMasker(secrets.token_bytes(32))
    for rel in test.resources:
        file = path.parent / rel
        if not file.is_file():
            raise TestFileError(f"resource file {rel} not found")
        try:
            docs = parse_documents(_text(file, rel))
        except YamlError as exc:
            raise TestFileError(f"resource file {rel}:{exc.line}: {exc.message}") from exc
        for doc in docs:
            data = doc.data
            if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
                continue
            meta = data["metadata"]
            aws = data.get("kind") == "AWSResource"
            spec = data.get("spec")
            kind = (
                str(spec.get("type", ""))
                if aws and isinstance(spec, dict)
                else str(data.get("kind", ""))
            )
            subjects.append(
                PolicySubject(
                    "aws" if aws else "kubernetes",
                    kind,
                    "" if aws else str(data.get("apiVersion", "")).rpartition("/")[0],
                    meta.get("namespace"),
                    str(meta.get("name", "")),
                    meta.get("labels") or {},
                    data if aws else mask_secrets(data, kind, masker),
                    Scope.DESIRED,
                )
            )
    name = test.metadata.get("name", path.name)
    outcomes = []
    for expected in test.results:
        candidates = [
            s
            for s in subjects
            if s.name == expected.resource
            and (not expected.kind or s.kind == expected.kind)
            and (expected.namespace is None or s.namespace == expected.namespace)
        ]
        if len(candidates) != 1:
            what = "not found" if not candidates else "ambiguous (give kind/namespace)"
            outcomes.append(Outcome(name, expected, f"{what}: {expected.kind} {expected.resource}"))
            continue
        results = [
            r
            for r in evaluate(policies.policies, candidates[0])
            if r.policy.name == expected.policy
            and (not expected.rule or r.rule.validation.name == expected.rule)
        ]
        if not results:
            actual = (
                f"not found: policy {expected.policy} rule {expected.rule or '*'} does not apply"
            )
        elif any(r.passed is None for r in results):
            actual = "error: " + next(r.message for r in results if r.passed is None)
        else:
            actual = "pass" if all(r.passed for r in results) else "fail"
        outcomes.append(Outcome(name, expected, actual))
    return outcomes
