"""Each normalization rule of the Kubernetes audit, on apiserver-shaped objects."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftwatch.config import Config, load_config
from driftwatch.engine.audit import ResultMemo
from driftwatch.engine.ignore import IgnoreRules
from driftwatch.providers.base import Manifest
from driftwatch.providers.kubernetes.live import ApiResource, ClusterState, ListFailure
from driftwatch.providers.kubernetes.normalize import SecretMasker
from driftwatch.providers.kubernetes.provider import audit_cluster
from driftwatch.report import Resource, Source
from driftwatch.testing.fixtures import record_write, served

RESOURCES = [
    ApiResource(
        group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True
    ),
    ApiResource(group="batch", version="v1", kind="CronJob", plural="cronjobs", namespaced=True),
    ApiResource(group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True),
    ApiResource(group="", version="v1", kind="Service", plural="services", namespaced=True),
    ApiResource(
        group="rbac.authorization.k8s.io",
        version="v1",
        kind="ClusterRole",
        plural="clusterroles",
        namespaced=False,
    ),
]

WEB: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.25",
                        "env": [{"name": "MODE", "value": "prod"}],
                        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                    }
                ]
            },
        },
    },
}
CONTAINER = ("spec", "template", "spec", "containers")


def audit(
    desired: list[dict[str, Any]],
    live: list[dict[str, Any]],
    config: Config | None = None,
    failures: list[ListFailure] | None = None,
    resources: list[ApiResource] | None = None,
    explain: bool = False,
) -> dict[str, Resource]:
    config = config or Config()
    manifests = [
        Manifest(
            d["apiVersion"],
            d["kind"],
            d["metadata"].get("namespace"),
            d["metadata"]["name"],
            d,
            Source(path="x.yaml", line=1),
        )
        for d in desired
    ]
    state = ClusterState(
        target="t", resources=resources or RESOURCES, objects=live, failures=failures or []
    )
    ignore = IgnoreRules(config.ignoreDifferences, config.managers.expected)
    found, _ = audit_cluster(manifests, state, config, SecretMasker(b"k"), ignore, explain=explain)
    return {r.name: r for r in found}


def test_server_defaults_and_status_are_not_drift_even_when_the_applier_owns_them() -> None:
    live = served(WEB, defaults_owned=True)  # client-side apply owns what it created
    assert "terminationMessagePath" in live["spec"]["template"]["spec"]["containers"][0]
    assert audit([WEB], [live])["web"].status == "in_sync"


def test_canonical_quantities_are_equal() -> None:
    live = served(WEB)
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] = {
        "cpu": "1000m",
        "memory": "1024Mi",
    }
    assert audit([WEB], [live])["web"].status == "in_sync"


def test_hand_edit_where_git_is_silent_is_drift() -> None:
    edited = record_write(
        served(WEB),
        "kubectl-set",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "web", "env": [{"name": "DEBUG", "value": "1"}]}]
                    }
                }
            }
        },
    )
    (change,) = audit([WEB], [edited])["web"].changes
    assert change.path == "spec.template.spec.containers[name=web].env[name=DEBUG]"
    assert (change.op, change.manager, change.live) == (
        "added",
        "kubectl-set",
        {"name": "DEBUG", "value": "1"},
    )


def test_cronjob_suspended_by_kubectl_patch_is_drift() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "report", "namespace": "shop"},
        "spec": {
            "schedule": "0 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "r", "image": "busybox:1"}],
                        }
                    }
                }
            },
        },
    }
    live = served(job)
    assert live["spec"]["suspend"] is False  # a server default: not drift
    assert audit([job], [live])["report"].status == "in_sync"
    patched = record_write(live, "kubectl-patch", {"spec": {"suspend": True}})
    (change,) = audit([job], [patched])["report"].changes
    # The default Git relies on (suspend: false) against the hand-patched value.
    assert (change.path, change.op, change.desired, change.live, change.manager) == (
        "spec.suspend",
        "changed",
        False,
        True,
        "kubectl-patch",
    )
    assert "server default" in str(change.why) and "by hand (kubectl-patch)" in str(change.why)


def test_controller_and_webhook_writes_where_git_is_silent_are_not_drift() -> None:
    live = record_write(
        served(WEB),
        "istio-sidecar-injector",
        {"metadata": {"annotations": {"sidecar.istio.io/status": "injected"}}},
    )
    live = record_write(
        live,
        "kube-controller-manager",
        {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "3"}}},
    )
    assert audit([WEB], [live])["web"].status == "in_sync"


def test_field_removed_from_git_but_still_applied_is_drift() -> None:
    with_label = copy.deepcopy(WEB)
    with_label["metadata"]["labels"] = {"team": "payments"}
    # Client-side apply: the label is in last-applied, Git no longer has it.
    csa = served(with_label, defaults_owned=True)
    (change,) = audit([WEB], [csa])["web"].changes
    assert (change.path, change.op, change.manager) == (
        "metadata.labels.team",
        "added",
        "kubectl-client-side-apply",
    )
    # Server-side apply: ownership says exactly what was applied.
    ssa = served(with_label, manager="argocd-controller", operation="Apply")
    (change,) = audit([WEB], [ssa])["web"].changes
    assert (change.path, change.manager) == ("metadata.labels.team", "argocd-controller")


def test_hpa_replicas_are_ignored_with_the_reason() -> None:
    scaled = record_write(
        served(WEB), "kube-controller-manager", {"spec": {"replicas": 7}}, subresource="scale"
    )
    web = audit([WEB], [scaled])["web"]
    assert web.status == "ignored"
    (change,) = web.changes
    assert (change.desired, change.live) == (2, 7)
    assert change.ignoredBy and "HorizontalPodAutoscaler" in change.ignoredBy


def test_managed_fields_managers_rule() -> None:
    config = load_config(
        "ignoreDifferences:\n  - kind: Deployment\n    managedFieldsManagers: [rollouts-*]\n"
    )
    live = record_write(
        served(WEB),
        "rollouts-controller",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}},
    )
    assert audit([WEB], [live], config)["web"].status == "ignored"


def test_unmanaged_scope_excludes_owned_system_and_auto_created_objects() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app", "namespace": "shop"},
        "data": {"a": "1"},
    }
    owned = served(
        {
            **cm,
            "metadata": {
                "name": "owned",
                "namespace": "shop",
                "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "1"}],
            },
        }
    )
    system = served({**cm, "metadata": {"name": "sys", "namespace": "kube-system"}})
    elsewhere = served({**cm, "metadata": {"name": "other", "namespace": "not-in-git"}})
    root_ca = served({**cm, "metadata": {"name": "kube-root-ca.crt", "namespace": "shop"}})
    stray = served({**cm, "metadata": {"name": "stray", "namespace": "shop"}})
    found = audit([cm], [served(cm), owned, system, elsewhere, root_ca, stray])
    assert {n: r.status for n, r in found.items()} == {"app": "in_sync", "stray": "unmanaged"}
    config = load_config("unmanaged:\n  includeOwned: true\n  namespaces: [shop, not-in-git]\n")
    found = audit([cm], [served(cm), owned, elsewhere, stray], config)
    assert {n for n, r in found.items() if r.status == "unmanaged"} == {"owned", "other", "stray"}


def test_failed_list_makes_objects_and_unmanaged_scope_not_checked() -> None:
    failure = ListFailure(
        group="apps", kind="Deployment", reason="403 Forbidden: deployments.apps is forbidden"
    )
    found = audit([WEB], [], failures=[failure])
    assert found["web"].status == "not_checked"
    assert found["web"].reason == failure.reason
    assert found["*"].status == "not_checked"


def test_duplicate_objects_in_git_are_reported() -> None:
    manifests = [
        Manifest("apps/v1", "Deployment", "shop", "web", WEB, Source(path="a.yaml", line=1)),
        Manifest("apps/v1", "Deployment", "shop", "web", WEB, Source(path="b.yaml", line=7)),
    ]
    state = ClusterState(target="t", resources=RESOURCES, objects=[served(WEB)])
    config = Config()
    resources, errors = audit_cluster(
        manifests, state, config, SecretMasker(b"k"), IgnoreRules([], [])
    )
    assert len(resources) == 1
    (error,) = errors
    assert (error.path, error.line) == ("b.yaml", 7)
    assert "also at a.yaml:1" in error.message


def test_cluster_scoped_kind_ignores_namespace() -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "reader"},
        "rules": [],
    }
    found = audit([role], [served(role)])
    assert found["reader"].namespace is None
    assert found["reader"].status == "in_sync"


def test_cluster_created_cluster_scoped_objects_are_not_unmanaged() -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "reader"},
        "rules": [],
    }
    system = served({**role, "metadata": {"name": "system:aggregate-to-view"}})
    bootstrap = served(
        {
            **role,
            "metadata": {
                "name": "admin",
                "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            },
        }
    )
    handmade = served({**role, "metadata": {"name": "debug-all"}}, manager="kubectl-create")
    found = audit([role], [served(role), system, bootstrap, handmade])
    assert {n: r.status for n, r in found.items()} == {
        "reader": "in_sync",
        "debug-all": "unmanaged",
    }


def test_jq_rules_see_secrets_masked_and_failures_are_report_errors_each_scan() -> None:
    """``.data | tostring | error`` echoes what it reads into the error: a Secret's
    values must already be masked there, and the failure is reported, not memoized."""
    config = load_config(
        "ignoreDifferences:\n  - id: echo\n    kind: Secret\n"
        "    jqPathExpressions: ['.data | tostring | error']\n"
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "stringData": {"password": "hunter2"},
    }
    declared = {k: v for k, v in secret.items() if k != "stringData"}
    live = served({**declared, "data": {"password": "aHVudGVyMw=="}}, manager="kubectl-edit")
    manifest = Manifest("v1", "Secret", "shop", "db", secret, Source(path="x.yaml", line=1))
    resources_api = [
        ApiResource(group="", version="v1", kind="Secret", plural="secrets", namespaced=True)
    ]
    state = ClusterState(target="t", resources=resources_api, objects=[live])
    known: dict[str, list[dict[str, Any]]] = {}
    for _ in range(2):  # a rescan from the memo reports the failure again
        ignore = IgnoreRules(config.ignoreDifferences, config.managers.expected)
        memo = ResultMemo("salt", known)
        resources, errors = audit_cluster(
            [manifest], state, config, SecretMasker(b"k"), ignore, memo
        )
        known = memo.fresh
        (resource,) = resources
        assert resource.status == "modified"
        (error,) = errors
        assert error.target == "t"
        assert error.message.startswith(
            "ignore rule echo: jq path expression failed on Secret shop/db: "
        )
        for plain in ("hunter2", "hunter3", "aHVudGVyMw", "aHVudGVyMg"):
            assert plain not in error.message
        assert "<secret hmac:" in error.message


# --- hostile live content: whatever a list page that passed live.py's checks holds, the
# audit answers for every object and never raises.

_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_TOKENS = st.sampled_from(
    ["f:spec", "f:template", "f:containers", 'k:{"name":"web"}', "k:[1", "i:0", "v:5", "."]
)
_FIELDS = st.recursive(
    st.just({}) | _JSON, lambda inner: st.dictionaries(_TOKENS, inner, max_size=3), max_leaves=8
)
_MANAGED = st.lists(
    st.fixed_dictionaries(
        {"manager": st.sampled_from(["kubectl-edit", "helm"]), "fieldsV1": _FIELDS},
        optional={"operation": _JSON, "time": _JSON, "subresource": _JSON, "fieldsType": _JSON},
    ),
    max_size=2,
)
SECRET_DOC: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "shop"},
    "stringData": {"password": "hunter2"},
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=_JSON,
    template=_JSON,
    containers=_JSON,
    data=_JSON,
    managed=_MANAGED,
    applied=st.text(max_size=8),
)
def test_garbage_inside_live_objects_never_stops_the_audit(
    spec: Any, template: Any, containers: Any, data: Any, managed: list[Any], applied: str
) -> None:
    web = served(WEB)
    if isinstance(template, dict):  # reach the containers list, or put garbage higher up
        template = {**template, "spec": {"containers": containers}}
    web["spec"] = {**spec, "template": template} if isinstance(spec, dict) else spec
    web["metadata"]["managedFields"] = managed
    web["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": applied}
    secret = served(SECRET_DOC)
    secret["data"] = data
    stray = {**served(WEB), "metadata": {**web["metadata"], "name": "stray"}}
    resources = [
        *RESOURCES,
        ApiResource(group="", version="v1", kind="Secret", plural="secrets", namespaced=True),
    ]
    found = audit([WEB, SECRET_DOC], [web, secret, stray], resources=resources)
    assert {"web", "db"} <= set(found)
    assert "hunter2" not in str(found["db"].model_dump())
