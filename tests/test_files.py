"""Outputs are written safely: devices and FIFOs in place, regular files atomically with
their mode kept, symlinks followed, bad targets a one-line error, no temporary file left."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from driftwatch.cli import main
from driftwatch.files import OutputError, write_atomic
from tests.conftest import AuditFactory, RepoFactory

CM = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "shop"},
    "data": {"level": "info"},
}


def scan_to(audit: AuditFactory, tmp_path: Path, output: str) -> int:
    """``driftwatch scan -o output`` of a repo and a cluster that agree."""
    files = {"driftwatch.yaml": "policies: {builtin: false}\n", "cm.yaml": json.dumps(CM)}
    repo, _, _ = audit(files, [CM])
    return main(
        [
            *("scan", "--repo", str(repo), "--kubeconfig", str(tmp_path / "kc")),
            *("--format", "json", "--output", output),
        ]
    )


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_scan_to_dev_null_keeps_it_a_character_device(
    audit: AuditFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scan_to(audit, tmp_path, "/dev/null") == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # as root, it was replaced before
    assert capsys.readouterr().err == ""


def test_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomic(fifo, b"report\n")
    reader.join(timeout=10)
    assert received == [b"report\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(tmp_path) == []


def test_a_symlink_stays_a_link_and_its_target_gets_the_content(tmp_path: Path) -> None:
    target = tmp_path / "real" / "report.json"
    target.parent.mkdir()
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "report.json"
    link.symlink_to(target)
    write_atomic(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == [] and leftovers(target.parent) == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "out.md"
    link.symlink_to(tmp_path / "made.md")
    write_atomic(link, b"x")
    assert link.is_symlink() and (tmp_path / "made.md").read_bytes() == b"x"


def test_an_existing_file_keeps_its_mode_and_owner(tmp_path: Path) -> None:
    path = tmp_path / "report.sarif"
    path.write_bytes(b"old")
    path.chmod(0o640)
    os.chown(path, 1234, 5678)  # someone else's file, written by root (CI)
    write_atomic(path, b"new")
    info = path.stat()
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert (info.st_uid, info.st_gid) == (1234, 5678)
    write_atomic(path, b"secret", mode=0o600)  # sensitive: never wider than asked
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and (info.st_uid, info.st_gid) == (1234, 5678)


def test_a_new_file_gets_the_mode_asked_or_the_umask_default(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "default", b"x")
        write_atomic(tmp_path / "secret", b"x", mode=0o600)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "default").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [("adir", "is a directory"), ("missing/report.json", "does not exist")],
)
def test_a_directory_or_a_missing_parent_is_one_line(
    audit: AuditFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    reason: str,
) -> None:
    (tmp_path / "adir").mkdir()
    output = str(tmp_path / name)
    with pytest.raises(OutputError, match=reason):
        write_atomic(output, b"x")
    assert scan_to(audit, tmp_path, output) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"driftwatch: {output}: ")
    assert reason in err and "Traceback" not in err
    assert (tmp_path / "adir").is_dir() and list((tmp_path / "adir").iterdir()) == []
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path) -> None:
    """A real write failure: the file-size limit (EFBIG), in a child process."""
    path = tmp_path / "report.json"
    path.write_bytes(b"old")
    child = (
        "import resource, signal, sys\n"
        "from driftwatch.files import OutputError, write_atomic\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))\n"
        "try:\n"
        "    write_atomic(sys.argv[1], b'x' * 100_000)\n"
        "except OutputError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    assert done.stdout == f"{path}: File too large\n"
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_dash_is_standard_output(
    audit: AuditFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scan_to(audit, tmp_path, "-") == 0
    out = capsys.readouterr().out
    assert json.loads(out)["counts"]["in_sync"] == 1
    assert not (tmp_path / "-").exists()


def test_dev_stdout_on_a_pipe_is_written_in_place(make_repo: RepoFactory) -> None:
    """``/dev/stdout`` is a symlink to ``/proc/self/fd/1``, here a pipe: no file beside it."""
    repo = make_repo({"cm.yaml": json.dumps(CM)})
    done = subprocess.run(
        [
            *(sys.executable, "-m", "driftwatch", "check", "--repo", str(repo)),
            *("--format", "json", "-o", "/dev/stdout"),
        ],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        check=False,
    )
    assert done.stderr == b""
    assert done.returncode == 2 and json.loads(done.stdout)["resources"]


def test_dev_stdout_on_a_shell_redirect_appends_and_keeps_the_file(
    make_repo: RepoFactory, tmp_path: Path
) -> None:
    """``>> ci.log`` makes /dev/stdout a regular file: the report goes through the shell's
    descriptor, after what was there, and the file is never replaced."""
    repo = make_repo({"cm.yaml": json.dumps(CM)})
    log = tmp_path / "ci.log"
    log.write_text("before\n")
    inode = log.stat().st_ino
    command = (
        f"{sys.executable} -m driftwatch check --repo {repo} --format json -o /dev/stdout"
        f" >> {log}; echo after >> {log}"
    )
    subprocess.run(["sh", "-c", command], cwd=Path(__file__).parent.parent, check=False)
    text = log.read_text()
    assert text.startswith("before\n{") and text.endswith("}\nafter\n")
    assert log.stat().st_ino == inode


def test_a_path_ending_in_a_slash_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="ends with /"):
        write_atomic(f"{tmp_path}/report.json/", b"x")
    assert leftovers(tmp_path) == []


def test_set_id_bits_never_survive_a_write(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(b"old")
    path.chmod(0o6755)
    write_atomic(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o755


def test_the_hash_key_is_a_private_file_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is created 0o600, once, and leaves no temporary file behind."""
    from driftwatch.hashkey import hash_key

    monkeypatch.delenv("DRIFTWATCH_HASH_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    key = hash_key()
    path = tmp_path / "driftwatch" / "hash.key"
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert hash_key() == key and leftovers(path.parent) == []
