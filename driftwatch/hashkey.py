"""The per-installation key for hashing secret values (``SecretMasker``).

Hashes under a known or empty key can be reversed offline for short secrets, so the key
is random, at least :data:`MIN_KEY_BYTES` long, and created race-free: concurrent first
runs all end up with the one key that was written completely first.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

KEY_BYTES = 32
MIN_KEY_BYTES = 32
ENV = "DRIFTWATCH_HASH_KEY"


class HashKeyError(RuntimeError):
    """The key is unusable (too short, unreadable): a one-line reason for the user."""


def key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "driftwatch" / "hash.key"


def hash_key() -> bytes:
    """The key from ``$DRIFTWATCH_HASH_KEY`` or the key file (created on first use)."""
    env = os.environb.get(ENV.encode())  # bytes: any value, UTF-8 or not
    if env is not None:
        return _checked(env, f"${ENV}")
    path = key_path()
    try:
        if not path.exists():
            _create(path)
        key = _read_key(path)
    except OSError as exc:
        raise HashKeyError(f"{path}: cannot read or create the hash key: {exc.strerror}") from exc
    return _checked(key, str(path))


def _read_key(path: Path) -> bytes:
    """The key file's bytes: a regular file (not a FIFO, a device or a link to one), read
    to a bounded length, so a planted ``/dev/zero`` cannot exhaust memory."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HashKeyError(f"{path}: the hash key is not a regular file")
        return fh.read(4096)


def _checked(key: bytes, where: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        fix = (
            "set it to a random value" if where.startswith("$") else "delete it to create a new one"
        )
        raise HashKeyError(
            f"{where}: the secret-hash key is {len(key)} bytes; at least {MIN_KEY_BYTES} are needed ({fix})"
        )
    return key


def _create(path: Path) -> None:
    """Write a new key beside ``path`` under a name only this process uses, make it
    durable, then hard-link it into place: the link fails if another process got there
    first, so nobody ever sees a partial key or replaces one already in use."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another first run won: use its key
            os.link(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
