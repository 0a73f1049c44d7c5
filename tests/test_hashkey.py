"""The secret-hash key: created race-free, never empty or short."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from driftwatch.cli import main
from driftwatch.hashkey import KEY_BYTES, hash_key
from tests.conftest import RepoFactory

RUNS = 16


def _first_run(config_home: str, barrier: Barrier, results: multiprocessing.Queue[str]) -> None:
    os.environ["XDG_CONFIG_HOME"] = config_home
    os.environ.pop("DRIFTWATCH_HASH_KEY", None)
    barrier.wait()  # all at once, on a key that does not exist yet
    try:
        results.put(hash_key().hex())
    except Exception as exc:  # reported to the test, which fails on it
        results.put(f"error: {exc!r}")


# Many rounds: on two cores a round races only now and then (the old code failed 1 in 10).
@pytest.mark.parametrize("round_", range(20))
def test_concurrent_first_runs_agree_on_one_full_key(tmp_path: Path, round_: int) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(RUNS)
    results: multiprocessing.Queue[str] = context.Queue()
    config_home = tmp_path / f"config-{round_}"
    workers = [
        context.Process(target=_first_run, args=(str(config_home), barrier, results))
        for _ in range(RUNS)
    ]
    for worker in workers:
        worker.start()
    keys = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert all(worker.exitcode == 0 for worker in workers)
    assert len(set(keys)) == 1, keys
    (key,) = set(keys)
    assert len(bytes.fromhex(key)) == KEY_BYTES
    key_file = config_home / "driftwatch" / "hash.key"
    assert key_file.read_bytes().hex() == key
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["hash.key"]  # no temporary left


@pytest.mark.parametrize("content", [b"", b"too short"])
def test_an_empty_or_short_key_file_is_a_clear_error(
    make_repo: RepoFactory,
    content: bytes,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("DRIFTWATCH_HASH_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    key_file = tmp_path / "config" / "driftwatch" / "hash.key"
    key_file.parent.mkdir(parents=True)
    key_file.write_bytes(content)
    repo = make_repo({"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    assert main(["check", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"driftwatch: {key_file}: the secret-hash key is {len(content)} bytes;"
        " at least 32 are needed (delete it to create a new one)\n"
    )
    assert key_file.read_bytes() == content  # never replaced behind the user's back


def test_a_short_key_in_the_environment_is_a_clear_error(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWATCH_HASH_KEY", "")
    repo = make_repo({"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    assert main(["scan", "--repo", str(repo), "--kubeconfig", "/nonexistent"]) == 1
    assert capsys.readouterr().err == (
        "driftwatch: $DRIFTWATCH_HASH_KEY: the secret-hash key is 0 bytes;"
        " at least 32 are needed (set it to a random value)\n"
    )


@pytest.mark.parametrize("planted", ["/dev/zero", "fifo"])
def test_a_key_that_is_not_a_regular_file_is_a_clear_error(
    planted: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A key file linked to /dev/zero (endless) or a FIFO (blocks) is refused at once."""
    from driftwatch.hashkey import HashKeyError

    monkeypatch.delenv("DRIFTWATCH_HASH_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    key_file = tmp_path / "config" / "driftwatch" / "hash.key"
    key_file.parent.mkdir(parents=True)
    if planted == "fifo":
        os.mkfifo(key_file)
    else:
        key_file.symlink_to(planted)
    with pytest.raises(HashKeyError, match="not a regular file"):
        hash_key()


def test_a_key_in_the_environment_may_be_any_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b"\xff\xfe" + bytes(range(1, 41))  # not UTF-8; no NUL, which no environment holds
    monkeypatch.setitem(os.environb, b"DRIFTWATCH_HASH_KEY", raw)
    assert hash_key() == raw
