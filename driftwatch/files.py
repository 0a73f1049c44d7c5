"""Writing driftwatch's own files and the outputs a user names: atomically, never elsewhere.

Every file driftwatch writes goes through :func:`write_atomic`, so there is one place
that decides how a path is written (temporary file beside it, then a rename).
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: str | Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so readers never see it half-written.

    ``mode`` sets the permissions of a new file (``0o600`` for anything that may hold
    sensitive data); by default a new file gets ``0o644`` less the umask.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
