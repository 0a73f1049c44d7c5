"""The on-disk cache under ``$XDG_CACHE_HOME/driftwatch``: one SQLite file.

* parsed documents by Git blob id and kustomize renders by commit, so rescanning an
  unchanged repo parses nothing;
* per-resource audit results by a digest of everything they depend on, so a rescan
  re-diffs only what changed in Git or live.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from driftwatch.gitsource import cache_home


class ScanCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_home() / "cache-v1.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, value BLOB)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS results (scope TEXT, key TEXT, value BLOB, PRIMARY KEY (scope, key))"
        )

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """Parsed documents for these keys (those that are cached)."""
        out: dict[str, Any] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(
                f"SELECT key, value FROM parsed WHERE key IN ({marks})", chunk
            ):
                out[key] = orjson.loads(value)
        return out

    def put_many(self, items: dict[str, Any]) -> None:
        if not items:
            return
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO parsed (key, value) VALUES (?, ?)",
                [(k, orjson.dumps(v)) for k, v in items.items()],
            )

    def results(self, scope: str) -> dict[str, Any]:
        """Audit results last stored for ``scope`` (a repo and target)."""
        rows = self._db.execute("SELECT key, value FROM results WHERE scope = ?", (scope,))
        return {key: orjson.loads(value) for key, value in rows}

    def replace_results(self, scope: str, items: dict[str, Any]) -> None:
        """Keep exactly these results for ``scope``, so the table does not grow forever."""
        with self._db:
            self._db.execute("DELETE FROM results WHERE scope = ?", (scope,))
            self._db.executemany(
                "INSERT INTO results (scope, key, value) VALUES (?, ?, ?)",
                [(scope, k, orjson.dumps(v)) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()
