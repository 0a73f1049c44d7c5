"""The built-in Pod Security Standards policies agree with Kyverno's own test corpus.

``shared/corpora/kyverno-pss`` holds the upstream Kyverno PSS policies, their good and bad
resources, and ``expected.jsonl``: one line per (resource, rule) with Kyverno's verdict.
Every line is replayed here against ``policies/kubernetes/pod-security/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from driftwatch.policy.engine import (
    CompiledPolicy,
    PolicySet,
    PolicySubject,
    evaluate,
    load_documents,
)
from driftwatch.policy.model import Scope
from driftwatch.yamldoc import parse_documents
from tests.corpora import CORPORA

CORPUS = CORPORA / "kyverno-pss"
PSS_DIR = Path(__file__).resolve().parents[2] / "policies" / "kubernetes" / "pod-security"


def load_pss() -> PolicySet:
    found = PolicySet()
    for path in sorted(PSS_DIR.glob("*.yaml")):
        found.extend(load_documents(str(path), path.read_text()))
    return found


@cache
def documents(resource_file: str) -> dict[int, Any]:
    text = (CORPUS / resource_file).read_text()
    return {doc.index: doc.data for doc in parse_documents(text)}


def subject_for(body: Mapping[str, Any]) -> PolicySubject:
    api_version = str(body.get("apiVersion", ""))
    metadata = body.get("metadata") or {}
    return PolicySubject(
        provider="kubernetes",
        kind=str(body["kind"]),
        group=api_version.rpartition("/")[0],
        namespace=None,
        name=str(metadata.get("name", "")),
        labels=metadata.get("labels") or {},
        body=body,
        scope=Scope.DESIRED,
    )


def expected_lines() -> list[dict[str, Any]]:
    lines = (CORPUS / "expected.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def pss() -> dict[str, CompiledPolicy]:
    found = load_pss()
    assert not found.errors, "\n".join(str(e) for e in found.errors)
    return {p.name: p for p in found.policies}


def test_every_kyverno_policy_and_rule_has_a_builtin_twin(pss: dict[str, CompiledPolicy]) -> None:
    kyverno: dict[str, set[str]] = {}
    for path in sorted(CORPUS.glob("*/*/*.yaml")):
        if path.name in ("resource.yaml", "kyverno-test.yaml"):
            continue
        doc = parse_documents(path.read_text())[0].data
        kyverno[doc["metadata"]["name"]] = {r["name"] for r in doc["spec"]["rules"]}
    ours = {name: {r.validation.name for r in p.rules} for name, p in pss.items()}
    assert len(kyverno) == 18
    assert ours == kyverno


def test_builtin_pss_policies_agree_with_kyverno(
    pss: dict[str, CompiledPolicy], capsys: pytest.CaptureFixture[str]
) -> None:
    expected = expected_lines()
    disagreements: list[str] = []
    unevaluable: list[str] = []
    for line in expected:
        body = documents(line["resource_file"])[line["doc_index"]]
        where = f"{line['resource_file']}#{line['doc_index']} {line['kind']}/{line['name']}"
        assert (body["kind"], body["metadata"]["name"]) == (line["kind"], line["name"]), where
        # Every PSS policy runs on every resource: none may fail to evaluate, and each
        # failure's message must come from its messageExpression (not the static fallback).
        results = evaluate(pss.values(), subject_for(body))
        unevaluable += [
            f"{where}: {r.policy.name}/{r.rule.validation.name}: {r.message}"
            for r in results
            if r.passed is None or (r.passed is False and r.message == r.rule.validation.message)
        ]
        verdicts = [
            r.passed
            for r in results
            if (r.policy.name, r.rule.validation.name) == (line["policy"], line["rule"])
        ]
        assert len(verdicts) == 1, f"{where}: {line['policy']}/{line['rule']} gave {verdicts}"
        got = {True: "pass", False: "fail", None: "error"}[verdicts[0]]
        if got != line["result"]:
            disagreements.append(
                f"{where}: {line['policy']}/{line['rule']}: Kyverno {line['result']}, ours {got}"
            )
    agree = len(expected) - len(disagreements)
    with capsys.disabled():
        print(
            f"\nKyverno PSS conformance: {agree}/{len(expected)} agree "
            f"({len({line['policy'] for line in expected})} policies)",
            flush=True,
        )
    assert len(expected) == 940
    assert not unevaluable, (
        "rules that could not be evaluated or whose messageExpression failed:\n"
        + "\n".join(unevaluable)
    )
    assert not disagreements, f"{len(disagreements)} disagreements:\n" + "\n".join(disagreements)
