"""The on-disk cache: private, never a clear secret, and it heals when corrupt."""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from driftwatch.cache import CACHE_FILE, ScanCache
from driftwatch.cli import build_parser, main
from driftwatch.report import AuditReport
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.fixtures import served
from tests.conftest import RepoFactory
from tests.policy.test_check import FUNCTION, POLICY, WEB

GIT_PASSWORD = "hunter2-in-git"
LIVE_PASSWORD = "s3cr3t-on-the-cluster"
TOKEN = "tok-5f0c2e9a-never-print-me"
SECRET = f"""\
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
stringData: {{password: {GIT_PASSWORD}}}
"""
GENERATED = """\
resources: [cm.yaml]
secretGenerator:
  - name: generated
    literals: [password=kustomize-s3cret]
"""
CONFIG = "policies:\n  builtin: false\n"


def clear_forms(*values: str) -> list[bytes]:
    out = []
    for value in values:
        encoded = base64.b64encode(value.encode())
        out += [value.encode(), encoded.rstrip(b"=")]
    return out


def cache_file() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "driftwatch" / CACHE_FILE


def cache_files() -> list[Path]:
    home = cache_file().parent
    return [p for p in home.iterdir() if p.is_file()]


@pytest.fixture
def repo(make_repo: RepoFactory) -> Path:
    return make_repo(
        {
            "driftwatch.yaml": CONFIG,
            "policies/no-priv.yaml": POLICY,
            "apps/web.yaml": WEB,
            "shop/secret.yaml": SECRET,
            "aws/fn.yaml": FUNCTION.replace("    Versioning: oops\n", ""),
            "gen/kustomization.yaml": GENERATED,
            "gen/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n",
        }
    )


def check(repo: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["check", "--repo", str(repo), "--format", "json", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def findings(out: str) -> list[tuple[str, list[str]]]:
    report = AuditReport.from_json(out)
    return [(r.id, [f"{v.policy}: {v.message}" for v in r.violations]) for r in report.resources]


def test_the_cache_is_private_and_never_holds_a_clear_secret(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = served(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "shop"},
            "stringData": {"password": LIVE_PASSWORD},
        }
    )
    with TestAPIServer([live]) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kc")
        for _ in range(2):  # the second run reads the cache and stores the results again
            check(repo, capsys)
            main(["scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "-q"])
            capsys.readouterr()
    home = cache_file().parent
    assert home.stat().st_mode & 0o777 == 0o700
    secrets = clear_forms(GIT_PASSWORD, LIVE_PASSWORD, TOKEN, "kustomize-s3cret")
    assert not [c for c in secrets if c in cache_file().read_bytes()]
    cache = ScanCache()  # while a connection is open, SQLite keeps its -wal and -shm files
    try:
        cache.put_many({"probe": {"a": 1}})
        names = {p.name for p in cache_files()}
        assert {CACHE_FILE, f"{CACHE_FILE}-wal", f"{CACHE_FILE}-shm"} <= names
        for path in cache_files():
            assert path.stat().st_mode & 0o777 == 0o600, path
            assert not [c for c in secrets if c in path.read_bytes()], path
    finally:
        cache.close()
    with sqlite3.connect(cache_file()) as db:  # the rest is cached: the web Deployment's file
        (parsed,) = db.execute("SELECT count(*) FROM parsed").fetchone()
        (results,) = db.execute("SELECT count(*) FROM results").fetchone()
    assert parsed >= 1 and results >= 1


def test_an_older_cache_with_clear_values_is_removed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = cache_file().with_name("cache-v1.sqlite")
    old.parent.mkdir(parents=True)
    old.write_bytes(b"SQLite format 3\0 ... " + GIT_PASSWORD.encode())
    old.with_name("cache-v1.sqlite-wal").write_bytes(GIT_PASSWORD.encode())
    check(repo, capsys)
    assert not old.exists() and not old.with_name("cache-v1.sqlite-wal").exists()


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _truncated(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def _corrupt_row(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE parsed SET value = ?", (os.urandom(64),))


def _garbage_json_row(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE parsed SET value = ?", (b'{"docs": [[0, 1, {"kind": ',))


def _wrong_shape_row(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE parsed SET value = ?", (b'{"docs": 5, "manifests": "x"}',))


@pytest.mark.parametrize(
    "damage", [_random_bytes, _truncated, _corrupt_row, _garbage_json_row, _wrong_shape_row]
)
def test_a_corrupt_cache_is_discarded_with_one_warning_and_rebuilt(
    repo: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None]
) -> None:
    expected_code, uncached, _ = check(repo, capsys, "--no-cache")
    assert not cache_file().exists()  # --no-cache: nothing written
    check(repo, capsys)  # fills the cache
    damage(cache_file())
    code, out, err = check(repo, capsys)
    assert (code, findings(out)) == (expected_code, findings(uncached))
    (line,) = err.splitlines()
    assert line.startswith(f"driftwatch: warning: {cache_file()}: the cache is corrupt (")
    assert line.endswith("); discarded, it is rebuilt")
    code, out, err = check(repo, capsys)  # healed: no warning, the same result
    assert (code, findings(out), err) == (expected_code, findings(uncached), "")


@pytest.fixture
def edited_scan(
    make_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[[], tuple[AuditReport, str]]]:
    """``scan()``: a JSON scan of a ConfigMap edited live, its report and stderr."""
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata: {k: v}\n"
    repo = make_repo({"driftwatch.yaml": CONFIG, "cm.yaml": cm})
    live = served(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "shop"},
            "data": {"k": "edited"},
        }
    )
    with TestAPIServer([live]) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kc")
        command = ["scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "--format", "json"]

        def scan() -> tuple[AuditReport, str]:
            main(command)
            out, err = capsys.readouterr()
            return AuditReport.from_json(out), err

        yield scan


def test_corrupt_results_do_not_change_a_scan(
    edited_scan: Callable[[], tuple[AuditReport, str]],
) -> None:
    def changes() -> tuple[list[list[str]], str]:
        report, err = edited_scan()
        return [[c.path for c in r.changes] for r in report.resources], err

    expected, _ = changes()
    assert expected == [["data.k"]]
    with sqlite3.connect(cache_file()) as db:
        db.execute("UPDATE results SET value = ?", (b'[{"path": 1}]',))
    found, err = changes()
    assert found == expected and "the cache is corrupt" in err
    assert changes() == (expected, "")


@pytest.mark.parametrize("row", [b"5", b"null", b"[1, 2]", b'{"x": 1}', b'{"docs": [[0]]}'])
def test_a_row_of_another_shape_is_a_miss_and_rebuilt(
    repo: Path, capsys: pytest.CaptureFixture[str], row: bytes
) -> None:
    """A row whose checksum is right but whose shape is not (another version's, a bug's)
    is parsed again, never a failure of the command."""
    expected_code, uncached, _ = check(repo, capsys, "--no-cache")
    check(repo, capsys)
    with sqlite3.connect(cache_file()) as db:
        keys = [key for (key,) in db.execute("SELECT key FROM parsed")]
    cache = ScanCache()
    try:
        cache.put_many({key: orjson.loads(row) for key in keys})  # valid checksums
    finally:
        cache.close()
    for _ in range(2):
        code, out, err = check(repo, capsys)
        assert (code, findings(out), err) == (expected_code, findings(uncached), "")


def test_a_results_row_of_another_shape_is_computed_anew(
    edited_scan: Callable[[], tuple[AuditReport, str]],
) -> None:
    def statuses() -> list[str]:
        return [r.status for r in edited_scan()[0].resources]

    assert statuses() == ["modified"]
    with sqlite3.connect(cache_file()) as db:
        ((scope, key),) = db.execute("SELECT scope, key FROM results").fetchall()
    cache = ScanCache()
    try:
        cache.replace_results(scope, {key: 5})  # a valid checksum, a wrong shape
    finally:
        cache.close()
    assert statuses() == ["modified"]
    assert statuses() == ["modified"]


@pytest.mark.parametrize("command", ["scan", "check", "snapshot", "tui"])
def test_every_command_that_uses_the_cache_takes_no_cache(command: str) -> None:
    extra = ["--output", "x.json"] if command == "snapshot" else []
    args = build_parser().parse_args([command, "--no-cache", *extra])
    assert args.no_cache is True


def test_no_cache_leaves_a_corrupt_cache_alone(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache_file().parent.mkdir(parents=True)
    cache_file().write_bytes(b"not a database")
    code, _out, err = check(repo, capsys, "--no-cache")
    assert code == 2 and err == "" and cache_file().read_bytes() == b"not a database"


def test_a_cache_that_cannot_be_opened_only_costs_the_cache(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected_code, uncached, _ = check(repo, capsys, "--no-cache")
    cache_file().mkdir(parents=True)  # a directory where the file should be
    code, out, err = check(repo, capsys)
    assert (code, findings(out)) == (expected_code, findings(uncached))
    assert (
        err
        == f"driftwatch: warning: {cache_file()}: cannot use the cache (Is a directory); going on without it\n"
    )


def test_a_busy_cache_is_not_mistaken_for_a_corrupt_one(
    repo: Path,
    make_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check(repo, capsys)
    make_repo({"apps/more.yaml": WEB.replace("name: web", "name: more")})  # to be stored
    expected_code, uncached, _ = check(repo, capsys, "--no-cache")
    before = parsed_rows()
    monkeypatch.setattr("driftwatch.cache.BUSY_SECONDS", 0.05)
    other = sqlite3.connect(cache_file())  # another driftwatch, in the middle of a write
    try:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("DELETE FROM results")
        code, out, err = check(repo, capsys)
        assert (code, findings(out), err) == (expected_code, findings(uncached), "")
    finally:
        other.rollback()
        other.close()
    assert parsed_rows() == before > 0  # kept, not discarded; the new parse not stored
    code, out, err = check(repo, capsys)  # now stored, the same result
    assert (code, findings(out), err) == (expected_code, findings(uncached), "")
    assert parsed_rows() > before


def parsed_rows() -> int:
    with sqlite3.connect(cache_file()) as db:
        (count,) = db.execute("SELECT count(*) FROM parsed").fetchone()
    return int(count)


@pytest.mark.parametrize("planted", ["fifo", "symlink"])
def test_a_cache_file_that_is_a_fifo_or_a_link_is_not_used(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], planted: str
) -> None:
    """A FIFO would block the command; a link would make driftwatch chmod and write
    whatever it points to.  Either costs only the cache."""
    expected_code, uncached, _ = check(repo, capsys, "--no-cache")
    cache_file().parent.mkdir(parents=True)
    target = tmp_path / "someone-elses.db"
    target.write_bytes(b"keep me")
    target.chmod(0o644)
    if planted == "fifo":
        os.mkfifo(cache_file())
    else:
        cache_file().symlink_to(target)
    code, out, err = check(repo, capsys)
    assert (code, findings(out)) == (expected_code, findings(uncached))
    assert "cannot use the cache" in err
    assert target.read_bytes() == b"keep me" and target.stat().st_mode & 0o777 == 0o644
