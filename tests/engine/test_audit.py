from driftwatch.engine.audit import ResultMemo, status_of
from driftwatch.report import Change, Op, Status

LIVE = {"metadata": {"uid": "u1", "resourceVersion": "7"}, "data": {"a": "1"}}


def test_memo_key_depends_on_everything_the_result_depends_on() -> None:
    memo = ResultMemo("salt")
    base = memo.key("id", {"data": {"a": "1"}}, LIVE)
    assert base == memo.key("id", {"data": {"a": "1"}}, LIVE)
    assert base != memo.key("id", {"data": {"a": "2"}}, LIVE)
    assert base != memo.key(
        "id", {"data": {"a": "1"}}, {"metadata": {"uid": "u1", "resourceVersion": "8"}}
    )
    assert base != memo.key("other", {"data": {"a": "1"}}, LIVE)
    assert base != ResultMemo("other salt").key("id", {"data": {"a": "1"}}, LIVE)
    # Without a version the content itself is the key.
    unversioned = {"data": {"a": "1"}}
    assert memo.key("id", {}, unversioned) != memo.key("id", {}, {"data": {"a": "2"}})


def test_memo_reuses_known_results_and_records_fresh_ones() -> None:
    change = Change(path="data.a", op=Op.CHANGED, desired="1", live="2", manager="kubectl-edit")
    computed: list[str] = []

    def compute() -> list[Change]:
        computed.append("x")
        return [change]

    first = ResultMemo("s")
    assert first.changes("k", compute) == [change]
    second = ResultMemo("s", known=first.fresh)
    assert second.changes("k", compute) == [change]
    assert computed == ["x"]  # the second scan did not diff again
    assert second.fresh == first.fresh


def test_status_of() -> None:
    ignored = Change(path="a", op=Op.CHANGED, ignoredBy="rule")
    assert status_of([]) is Status.IN_SYNC
    assert status_of([ignored]) is Status.IGNORED
    assert status_of([ignored, Change(path="b", op=Op.ADDED)]) is Status.MODIFIED
