"""Writing driftwatch's own files and the outputs a user names: atomically, never elsewhere.

Every file driftwatch writes goes through :func:`write_atomic`, so there is one place
that decides how a path is written:

- ``-`` is standard output, and ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` and
  ``/proc/self/fd/N`` are the descriptors this process already holds: written through
  them, so a shell's ``>> log`` keeps appending and its file is never replaced;
- a symlink is followed: its target is written by these rules, the link stays a link;
- a FIFO, a character or block device (``/dev/null``, ``/dev/stdout`` on a terminal or a
  pipe) is opened and written in place, never created or replaced;
- a regular file, or a new one, is written to a temporary file beside it (created
  exclusively, never through a link), flushed to disk and renamed over the target, so a
  reader sees the old content or the new, never half; an existing file keeps its mode
  (unless a sensitive ``mode`` is asked) and, when allowed, its owner; the temporary
  file never outlives a failure;
- a directory, a missing parent directory or any other failure is an :class:`OutputError`:
  one line for the user.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from pathlib import Path


class OutputError(Exception):
    """``path`` could not be written, for ``reason`` (one line, said as is to the user)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def write_atomic(path: str | Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` by the rules of the module.

    ``mode`` is for files that may hold sensitive data (``0o600``): the file ends up with
    exactly that mode, new or replaced.  Without it a new file gets ``0o666`` less the
    umask and a replaced one keeps its mode.
    """
    if str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    if (fd := _held_descriptor(str(path))) is not None:
        try:
            _write_all(fd, data)
        except OSError as exc:
            raise OutputError(path, exc.strerror or str(exc)) from exc
        return
    existing = check_writable(path)
    try:
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            _write_in_place(path, data)
        else:
            _replace(Path(os.path.realpath(path)), data, existing, mode)
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc


def check_writable(path: str | Path) -> os.stat_result | None:
    """What is at ``path`` now (None: nothing), or :class:`OutputError` when it cannot be
    written: callers check before work they could not undo (a commit, say)."""
    if str(path) == "-" or _held_descriptor(str(path)) is not None:
        return None
    if str(path).endswith("/"):
        raise OutputError(path, "is not a file name (it ends with /)")
    try:
        existing: os.stat_result | None = os.stat(path)  # follows a symlink
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise OutputError(path, "is a directory")
    parent = Path(os.path.realpath(path)).parent
    if existing is None and not parent.is_dir():
        raise OutputError(path, f"the directory {parent} does not exist")
    return existing


def _held_descriptor(path: str) -> int | None:
    """The descriptor number ``path`` names, when it names one of this process's."""
    named = {"/dev/stdout": 1, "/dev/stderr": 2}
    if path in named:
        return named[path]
    for prefix in ("/dev/fd/", "/proc/self/fd/"):
        number = path.removeprefix(prefix)
        if number != path and number.isdigit() and number.isascii():
            return int(number)
    return None


def _write_all(fd: int, data: bytes) -> None:
    if fd == 1:
        sys.stdout.flush()  # what Python buffered goes first
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_in_place(path: str | Path, data: bytes) -> None:
    """A FIFO or a device: open what is there (no create, no truncate) and write."""
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _replace(target: Path, data: bytes, existing: os.stat_result | None, mode: int | None) -> None:
    """A regular file: a temporary file beside ``target`` (whose directory
    :func:`check_writable` found), then a rename over it."""
    # Short enough for any file system's name limit, unguessable, hidden.
    tmp = target.with_name(f".{target.name[:200]}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    # An existing file's mode is set exactly below; until then only we can read the data.
    fd = os.open(tmp, flags, 0o600 if existing is not None else 0o666 if mode is None else mode)
    replaced = False
    try:
        with os.fdopen(fd, "wb") as out:
            if existing is not None:
                _keep_owner_and_mode(out.fileno(), existing)
                if mode is not None:
                    os.fchmod(out.fileno(), mode)  # sensitive: never wider than asked
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
        replaced = True
    finally:
        if not replaced:
            tmp.unlink(missing_ok=True)


def _keep_owner_and_mode(fd: int, existing: os.stat_result) -> None:
    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        # Root writing someone's file, or a group the user is in: best effort.
        with contextlib.suppress(PermissionError):
            os.fchown(fd, existing.st_uid, existing.st_gid)
    # After chown, which may clear set-id bits; a report is never set-id.
    os.fchmod(fd, stat.S_IMODE(existing.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
