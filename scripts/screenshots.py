"""Write the README's screenshots (SVG) of the main views, from a real demo scan.

python scripts/screenshots.py        # writes screenshots/*.svg
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from driftwatch.demo import Demo
from driftwatch.report import AuditReport
from driftwatch.scan import run_scan
from driftwatch.tui.app import DriftwatchApp, TuiOptions

OUT = Path(__file__).resolve().parents[1] / "screenshots"


async def shoot(
    report: AuditReport,
    name: str,
    size: tuple[int, int],
    keys: list[str],
    jump: tuple[tuple[str, ...], str | None] | None = None,
) -> None:
    app = DriftwatchApp(report=report, options=TuiOptions(low_bandwidth=True))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        if jump:
            app.jump(*jump)
            await pilot.pause()
        if keys:
            await pilot.press(*keys)
            await pilot.pause()
        app.save_screenshot(str(OUT / f"{name}.svg"))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with Demo() as demo:
        report = run_scan(demo.scan_options(objects_in_sync=True))
        # The header names the repo; show a stable name, reachable from here for staging.
        link = demo.repo.parent / "driftwatch-demo"
        link.symlink_to(demo.repo)
        os.chdir(link.parent)
        report.scan.repo = "driftwatch-demo"
        web = next(r for r in report.resources if r.kind == "Deployment" and r.name == "web")
        where = ((web.target, "Deployment", "shop"), web.id)
        stage = ["space", "enter"]  # adopt all the live values
        asyncio.run(shoot(report, "staging-diff-120x36", (120, 36), [*stage, "d"], where))
        asyncio.run(shoot(report, "staging-commit-120x36", (120, 36), [*stage, "c"], where))
    web = next(r for r in report.resources if r.kind == "Deployment" and r.name == "web")
    secret = next(r for r in report.resources if r.kind == "Secret")
    target = web.target
    asyncio.run(shoot(report, "overview-160x48", (160, 48), []))
    asyncio.run(
        shoot(
            report,
            "modified-deployment-160x48",
            (160, 48),
            [],
            ((target, "Deployment", "shop"), web.id),
        )
    )
    asyncio.run(
        shoot(
            report,
            "modified-deployment-80x24",
            (80, 24),
            [],
            ((target, "Deployment", "shop"), web.id),
        )
    )
    asyncio.run(
        shoot(
            report, "masked-secret-160x48", (160, 48), [], ((target, "Secret", "shop"), secret.id)
        )
    )
    asyncio.run(shoot(report, "help-80x24", (80, 24), ["question_mark"]))
    for path in sorted(OUT.glob("*.svg")):
        print(path.relative_to(OUT.parent))


if __name__ == "__main__":
    main()
