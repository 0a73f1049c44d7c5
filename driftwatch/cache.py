"""The on-disk cache under ``$XDG_CACHE_HOME/driftwatch``: one SQLite file.

* parsed documents by Git blob id and kustomize renders by commit, so rescanning an
  unchanged repo parses nothing;
* per-resource audit results by a digest of everything they depend on, so a rescan
  re-diffs only what changed in Git or live.

The cache is private (directory ``0700``, files ``0600``) and disposable: a file that is
not a database, a truncated one or a row whose checksum does not match is discarded
with one warning on stderr, and rebuilt; a command never fails because of its cache.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from driftwatch.gitsource import cache_home
from driftwatch.textsafe import printable

CACHE_FILE = "cache-v2.sqlite"
# Earlier versions stored Git-side Secret values in clear: removed when the cache opens.
OLD_CACHE_FILES = ("cache-v1.sqlite",)
_SIDE_FILES = ("-wal", "-shm", "-journal")
BUSY_SECONDS = 5.0  # how long to wait for another driftwatch writing the cache
_warned: set[str] = set()  # one warning per file and process


class _Corrupt(Exception):
    pass


def _checksum(value: bytes) -> bytes:
    return hashlib.blake2b(value, digest_size=16).digest()


def _decode(value: Any, checksum: Any) -> Any:
    if not isinstance(value, bytes) or checksum != _checksum(value):
        raise _Corrupt("a row does not match its checksum")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise _Corrupt(f"a row is not JSON: {exc}") from exc


def _remove(path: Path) -> None:
    for name in (path.name, *(path.name + side for side in _SIDE_FILES)):
        path.with_name(name).unlink(missing_ok=True)


class ScanCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_home() / CACHE_FILE
        try:
            if path is None:
                home = self.path.parent
                home.mkdir(parents=True, exist_ok=True, mode=0o700)
                home.chmod(0o700)  # driftwatch's own directory: clones and this cache
                for old in OLD_CACHE_FILES:
                    _remove(home / old)
            self._db = self._connect()
        except sqlite3.OperationalError as exc:  # locked or unreadable, not corrupt: kept
            self._db = self._unusable(str(exc))
        except sqlite3.DatabaseError as exc:
            self._db = self._rebuilt(str(exc))
        except OSError as exc:
            self._db = self._unusable(exc.strerror or str(exc))

    def _unusable(self, reason: str) -> sqlite3.Connection:
        self._warn(f"cannot use the cache ({printable(reason)}); going on without it")
        return self._connect(in_memory=True)

    def _warn(self, message: str) -> None:
        if str(self.path) not in _warned:
            _warned.add(str(self.path))
            print(f"driftwatch: warning: {printable(self.path)}: {message}", file=sys.stderr)

    def _connect(self, in_memory: bool = False) -> sqlite3.Connection:
        if in_memory:
            db = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # SQLite gives its -wal and -shm files the database file's mode: create it 0600.
            # Never through a link, never a FIFO (it would block) or a device.
            flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
            fd = os.open(self.path, flags, 0o600)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise OSError(f"{self.path.name} is not a regular file")
                os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, value BLOB, checksum BLOB)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS results (scope TEXT, key TEXT, value BLOB, checksum BLOB, PRIMARY KEY (scope, key))"
            )
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _rebuilt(self, reason: str) -> sqlite3.Connection:
        """Warn (once), delete the file and start an empty one; in memory if even that
        fails, so the command goes on without a cache."""
        self._warn(f"the cache is corrupt ({printable(reason)}); discarded, it is rebuilt")
        try:
            _remove(self.path)
            return self._connect()
        except (sqlite3.DatabaseError, OSError):
            return self._connect(in_memory=True)  # already warned

    def _discard(self, reason: str) -> None:
        self._db.close()
        self._db = self._rebuilt(reason)

    def _rows(self, query: str, args: Iterable[Any]) -> list[Any] | None:
        """The rows of a query; None when the cache is busy (another driftwatch writes)
        or was corrupt (then discarded)."""
        try:
            return self._db.execute(query, tuple(args)).fetchall()
        except sqlite3.OperationalError:
            return None
        except sqlite3.DatabaseError as exc:
            self._discard(str(exc))
            return None

    def _write(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Run ``statements`` in one transaction; on a corrupt cache, once more on a new
        one.  A busy cache is not written this time."""
        for attempt in range(2):
            try:
                with self._db:
                    for query, rows in statements:
                        self._db.executemany(query, rows)
                return
            except sqlite3.OperationalError:
                return
            except sqlite3.DatabaseError as exc:
                if attempt == 0:
                    self._discard(str(exc))

    def _decoded(self, rows: list[Any]) -> dict[str, Any] | None:
        try:
            return {key: _decode(value, checksum) for key, value, checksum in rows}
        except _Corrupt as exc:
            self._discard(str(exc))
            return None

    def get_many(
        self, keys: list[str], valid: Callable[[Any], bool] = lambda _: True
    ) -> dict[str, Any]:
        """Parsed documents for these keys (those that are cached, and ``valid``: a row of
        another shape — another version's, a bug's — is a miss, so it is rebuilt)."""
        out: dict[str, Any] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._rows(
                f"SELECT key, value, checksum FROM parsed WHERE key IN ({marks})", chunk
            )
            found = self._decoded(rows) if rows is not None else None
            if found is None:
                return {}  # discarded: nothing is cached any more
            out.update((key, value) for key, value in found.items() if valid(value))
        return out

    def put_many(self, items: dict[str, Any]) -> None:
        if not items:
            return
        rows = [(k, v, _checksum(v)) for k, v in ((k, orjson.dumps(v)) for k, v in items.items())]
        self._write(
            [("INSERT OR REPLACE INTO parsed (key, value, checksum) VALUES (?, ?, ?)", rows)]
        )

    def results(self, scope: str) -> dict[str, Any]:
        """Audit results last stored for ``scope`` (a repo and target)."""
        rows = self._rows("SELECT key, value, checksum FROM results WHERE scope = ?", (scope,))
        found = self._decoded(rows) if rows is not None else None
        return found or {}

    def replace_results(self, scope: str, items: dict[str, Any]) -> None:
        """Keep exactly these results for ``scope``, so the table does not grow forever."""
        rows = [
            (scope, k, v, _checksum(v)) for k, v in ((k, orjson.dumps(v)) for k, v in items.items())
        ]
        self._write(
            [
                ("DELETE FROM results WHERE scope = ?", [(scope,)]),
                ("INSERT INTO results (scope, key, value, checksum) VALUES (?, ?, ?, ?)", rows),
            ]
        )

    def close(self) -> None:
        self._db.close()
