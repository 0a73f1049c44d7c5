"""Where the shared test corpora live: ``shared/`` beside the repository checkout."""

from pathlib import Path

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
