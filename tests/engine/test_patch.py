from driftwatch.engine.patch import apply_changes
from driftwatch.report import Change, Op

DESIRED = {
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "a:1", "env": [{"name": "A", "value": "1"}]}]},
}


def test_changed_added_and_removed_are_written() -> None:
    changes = [
        Change(path="spec.containers[name=web].image", op=Op.CHANGED, desired="a:1", live="a:2"),
        Change(path='metadata.labels["team.example.com/owner"]', op=Op.ADDED, live="ops"),
        Change(
            path="spec.containers[name=web].env[name=B]",
            op=Op.ADDED,
            live={"name": "B", "value": "2"},
        ),
        Change(
            path="spec.containers[name=web].env[name=A]",
            op=Op.REMOVED,
            desired={"name": "A", "value": "1"},
        ),
        Change(path="spec.suspend", op=Op.ADDED, live=True),
    ]
    out = apply_changes(DESIRED, changes)
    assert out["spec"]["containers"][0]["image"] == "a:2"
    assert out["metadata"]["labels"] == {"app": "web", "team.example.com/owner": "ops"}
    assert out["spec"]["containers"][0]["env"] == [{"name": "B", "value": "2"}]
    assert out["spec"]["suspend"] is True
    assert DESIRED["spec"]["containers"][0]["image"] == "a:1"  # input untouched


def test_added_list_item_in_a_missing_container() -> None:
    out = apply_changes(
        {"spec": {}},
        [Change(path="spec.containers[name=sidecar]", op=Op.ADDED, live={"name": "sidecar"})],
    )
    assert out == {"spec": {"containers": [{"name": "sidecar"}]}}


def test_paths_that_do_not_fit_are_skipped() -> None:
    out = apply_changes({"spec": "scalar"}, [Change(path="spec.replicas", op=Op.CHANGED, live=3)])
    assert out == {"spec": "scalar"}
