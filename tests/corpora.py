"""Where the shared test data live: ``shared/`` beside the repository checkout."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = SHARED / "corpora"
SCHEMAS = SHARED / "schemas"  # SARIF 2.1.0 and JUnit, for validating exports
