"""Where the shared test data live: ``shared/`` beside the repository checkout, or beside
the checkout it was cloned from (a fresh clone in a temporary directory, as CI makes)."""

import subprocess
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]


def _shared() -> Path:
    beside = _CHECKOUT.parent / "shared"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "config", "--get", "remote.origin.url"],
        cwd=_CHECKOUT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and Path(origin).is_dir():
        return Path(origin).resolve().parent / "shared"
    return beside  # absent: the tests that need it fail naming this path


SHARED = _shared()
CORPORA = SHARED / "corpora"
SCHEMAS = SHARED / "schemas"  # SARIF 2.1.0 and JUnit, for validating exports
