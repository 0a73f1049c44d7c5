"""Text from Git or a cluster is printed literally: no markup, no escape sequences."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from driftwatch.export.text import render_text
from driftwatch.report import AuditReport, Change, Coverage, Op, Resource, ScanMeta, Status, Target
from driftwatch.textsafe import printable
from tests.conftest import AuditFactory
from tests.test_textsafe import ATTACK, assert_unforged, hostile_scan

HOSTILE = "evil[bold red]x[/]\x1b[31m\x1b]8;;http://x\x07link"


def test_hostile_names_and_values_are_printed_literally() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    report = AuditReport.build(
        ScanMeta(
            repo="r",
            ref="HEAD",
            commit="a" * 40,
            startedAt=now,
            finishedAt=now,
            driftwatchVersion="0",
        ),
        [
            Resource(
                id="x",
                provider="kubernetes",
                target="t",
                apiVersion="v1",
                kind="ConfigMap",
                namespace="ns",
                name=HOSTILE,
                status=Status.MODIFIED,
                changes=[
                    Change(
                        path="data.k",
                        op=Op.CHANGED,
                        desired="[link=http://x]a[/link]",
                        live=HOSTILE,
                        manager="kubectl-edit",
                    )
                ],
            )
        ],
        [],
    )
    out = io.StringIO()
    render_text(report, Console(file=out, force_terminal=True, width=200, color_system="truecolor"))
    text = out.getvalue()
    assert "evil[bold red]x[/]" in text  # markup shown, not interpreted
    assert "[link=http://x]a[/link]" in text
    assert "\\x1b[31m" in text and "\\x1b]8;;" in text and "\\x07" in text  # escapes made visible
    assert "\x1b]8" not in text and "\x07" not in text  # nothing raw reaches the terminal


def _aws_report() -> AuditReport:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    coverage = {  # not in name order: the output is
        "AWS::S3::Bucket": Coverage(managed=3, total=4),
        "AWS::EC2::SecurityGroup": Coverage(managed=1, total=2),
        "AWS::SQS::Queue": Coverage(managed=0, total=0),
        "AWS::Logs::LogGroup": Coverage(managed=1, total=2),
    }

    def unlisted(type_: str, region: str) -> Resource:
        return Resource(
            id=f"aws:acct/core/{type_}/{region}/*",
            provider="aws",
            target="acct",
            apiVersion="driftwatch.dev/v1alpha1",
            kind=type_,
            namespace=region,
            name="*",
            status=Status.NOT_CHECKED,
            reason="AccessDenied",
        )

    return AuditReport.build(
        ScanMeta(
            repo="r",
            ref="HEAD",
            commit="a" * 40,
            startedAt=now,
            finishedAt=now,
            driftwatchVersion="0",
            targets=[
                Target(name="prod", provider="kubernetes", context="prod"),
                Target(
                    name="acct",
                    provider="aws",
                    account="123456789012",
                    regions=["us-east-1", "eu-west-1"],
                    coverage=coverage,
                ),
            ],
        ),
        [
            unlisted("AWS::Logs::LogGroup", "eu-west-1"),
            unlisted("AWS::RDS::DBInstance", "us-east-1"),  # failed everywhere: no coverage
            unlisted("AWS::RDS::DBInstance", "eu-west-1"),
        ],
        [],
    )


def test_aws_coverage_in_total_and_per_type_in_name_order() -> None:
    out = io.StringIO()
    render_text(_aws_report(), Console(file=out, width=200, no_color=True, soft_wrap=True))
    lines = out.getvalue().splitlines()
    start = lines.index(
        "☁ acct  account 123456789012  us-east-1, eu-west-1"
        "  coverage: 62% (5 of 8 resources managed)"  # 62.5 %, rounded down
    )
    assert lines[start + 1 : start + 6] == [
        "    AWS::EC2::SecurityGroup   50% (1 of 2)",
        "    AWS::Logs::LogGroup       50% (1 of 2)  not listed in eu-west-1",
        "    AWS::RDS::DBInstance        ?  not listed in eu-west-1, us-east-1",
        "    AWS::S3::Bucket           75% (3 of 4)",
        "    AWS::SQS::Queue          100% (0 of 0)",
    ]
    assert not any("prod" in line and "coverage" in line for line in lines)  # clusters: none
    assert lines[start + 6].startswith("? AWS::Logs::LogGroup")  # then the findings


def test_coverage_of_hostile_names_is_printed_literally() -> None:
    report = _aws_report()
    target = report.scan.targets[1]
    target.name = HOSTILE
    assert target.coverage is not None
    target.coverage[HOSTILE] = Coverage(managed=1, total=1)
    out = io.StringIO()
    render_text(report, Console(file=out, force_terminal=True, width=300, color_system="truecolor"))
    text = out.getvalue()
    assert "evil[bold red]x[/]" in text and "\\x1b]8;;" in text
    assert "\x1b]8" not in text and "\x07" not in text


def test_a_hostile_scan_prints_no_forged_line(audit: AuditFactory, tmp_path: Path) -> None:
    code, text = hostile_scan(audit, tmp_path, "text")
    assert code == 2
    assert_unforged(text)
    shown = printable(ATTACK)
    assert "\\n✓ Secret prod/admin [prod] in_sync\\r\\x1b[2J\\u2028\\u2029\\u061c" in shown
    assert f"shop/f{shown}.yaml:1" in text  # a file name from Git
    assert 'changed data["key\\n\\u2713 Secret' in text  # a key from Git, as a path
    assert "→ v\\n✓ Secret prod/admin" in text and ": ann\\n✓ Secret prod/admin" in text
