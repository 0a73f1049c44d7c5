"""What counts as drift, on objects shaped as real apiservers store them.

The live shapes reproduce recorded apiserver output: server-side apply records an atomic
list as one leaf (``"f:subjects": {}``) and the server fills defaults inside it
(RoleBinding ``subjects[].apiGroup``: kubernetes/kubernetes pkg/apis/rbac/v1/defaults.go
``SetDefaults_Subject``; reported as false drift in argo-cd#16707 / #11143); objects made
before managedFields existed carry only ``kubectl.kubernetes.io/last-applied-configuration``
(kubectl apply's three-way merge; gitops-engine pkg/diff ``ThreeWayDiff``, Apache-2.0).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from driftwatch.providers.kubernetes.live import ApiResource
from tests.providers.kubernetes.test_provider import audit

RBAC = "rbac.authorization.k8s.io"
RESOURCES = [
    ApiResource(
        group=RBAC, version="v1", kind="RoleBinding", plural="rolebindings", namespaced=True
    ),
    ApiResource(group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True),
    ApiResource(group="", version="v1", kind="Secret", plural="secrets", namespaced=True),
    ApiResource(
        group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True
    ),
]

BINDING: dict[str, Any] = {
    "apiVersion": f"{RBAC}/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "readers", "namespace": "shop"},
    "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "reader"},
    "subjects": [{"kind": "User", "name": "jane"}],
}


def _ssa_live_binding(subjects: list[dict[str, Any]], *managers: tuple[str, str]) -> dict[str, Any]:
    live = copy.deepcopy(BINDING)
    live["subjects"] = subjects
    live["metadata"].update(uid="u1", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z")
    entries = [
        {
            "manager": manager,
            "operation": operation,
            "apiVersion": f"{RBAC}/v1",
            "time": f"2026-01-0{i + 1}T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:roleRef": {}, "f:subjects": {}},
        }
        for i, (manager, operation) in enumerate(managers)
    ]
    live["metadata"]["managedFields"] = entries
    return live


def test_a_default_inside_an_atomic_list_the_applier_owns_is_not_drift() -> None:
    defaulted = [{"kind": "User", "name": "jane", "apiGroup": RBAC}]
    live = _ssa_live_binding(defaulted, ("kustomize-controller", "Apply"))
    found = audit([BINDING], [live], resources=RESOURCES)["readers"]
    assert found.status == "in_sync", found.changes


def test_a_hand_edit_of_an_atomic_list_is_drift_and_names_its_manager() -> None:
    edited = [
        {"kind": "User", "name": "jane", "apiGroup": RBAC},
        {"kind": "User", "name": "mallory", "apiGroup": RBAC},
    ]
    live = _ssa_live_binding(edited, ("kubectl-edit", "Update"))
    (change,) = audit([BINDING], [live], resources=RESOURCES)["readers"].changes
    assert (change.path, change.manager) == ("subjects", "kubectl-edit")


def test_a_field_a_hand_edit_added_inside_an_atomic_value_is_drift() -> None:
    live = _ssa_live_binding(
        [{"kind": "User", "name": "jane", "apiGroup": RBAC, "namespace": "x"}],
        ("kubectl-edit", "Update"),
    )
    changes = audit([BINDING], [live], resources=RESOURCES)["readers"].changes
    assert [(c.path, c.manager) for c in changes] == [("subjects[0].namespace", "kubectl-edit")]


CONFIG: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "shop", "labels": {"app": "shop"}},
    "data": {"mode": "prod"},
}


def _csa_without_managed_fields(
    applied: dict[str, Any], live_extra: dict[str, Any]
) -> dict[str, Any]:
    """An object created by `kubectl apply` before managedFields existed (< 1.18)."""
    live = copy.deepcopy(applied)
    live["metadata"]["labels"] = {**applied["metadata"].get("labels", {}), **live_extra}
    annotation = json.dumps(applied, separators=(",", ":"))
    live["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": annotation
    }
    live["metadata"].update(uid="u2", resourceVersion="3")
    return live


def test_client_side_apply_without_managed_fields_field_removed_from_git_is_drift() -> None:
    before = copy.deepcopy(CONFIG)
    before["metadata"]["labels"]["tier"] = "gold"  # applied once, then dropped from Git
    live = _csa_without_managed_fields(before, {})
    found = audit([CONFIG], [live], resources=RESOURCES)["settings"]
    assert [(c.path, c.op) for c in found.changes] == [("metadata.labels.tier", "added")]
    assert "last-applied" in (found.changes[0].why or "")


def test_client_side_apply_without_managed_fields_live_only_field_is_not_drift() -> None:
    live = _csa_without_managed_fields(CONFIG, {"added-by": "a-controller"})
    assert audit([CONFIG], [live], resources=RESOURCES)["settings"].status == "in_sync"


SECRET: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "empty", "namespace": "shop"},
    "data": {"token": ""},
}


def test_empty_and_null_secret_values_are_the_same_value() -> None:
    live = copy.deepcopy(SECRET)
    live["data"] = {"token": None}
    live["metadata"].update(uid="u3", resourceVersion="1")
    assert audit([SECRET], [live], resources=RESOURCES)["empty"].status == "in_sync"
    string_data = {**SECRET, "data": None, "stringData": {"token": ""}}
    assert audit([string_data], [live], resources=RESOURCES)["empty"].status == "in_sync"


def test_an_absent_secret_key_is_not_an_empty_one() -> None:
    live = copy.deepcopy(SECRET)
    live["data"] = {}
    live["metadata"].update(uid="u3", resourceVersion="1")
    changes = audit([SECRET], [live], resources=RESOURCES)["empty"].changes
    assert [(c.path, c.op) for c in changes] == [("data.token", "removed")]
    assert "secret hmac" in str(changes[0].desired)


def test_a_zero_value_git_declares_and_the_api_omits_is_not_drift() -> None:
    # volumeMounts[].readOnly is `bool json:"readOnly,omitempty"` upstream: `readOnly: false`
    # is not stored (gitops-engine pkg/diff/testdata, Apache-2.0).
    mount = {"name": "data", "mountPath": "/data"}
    desired = copy.deepcopy(STATEFUL)
    desired["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {**mount, "readOnly": False}
    ]
    live = copy.deepcopy(STATEFUL)
    live["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [mount]
    live["metadata"].update(uid="u5", resourceVersion="1")
    found = audit([desired], [live], resources=RESOURCES)["db"]
    assert found.status == "in_sync", found.changes


def test_an_empty_map_value_is_a_value() -> None:
    desired = copy.deepcopy(CONFIG)
    desired["data"] = {"mode": "prod", "empty": ""}
    live = copy.deepcopy(CONFIG)
    live["metadata"].update(uid="u4", resourceVersion="1")
    changes = audit([desired], [live], resources=RESOURCES)["settings"].changes
    assert [(c.path, c.op) for c in changes] == [("data.empty", "removed")]


STATEFUL: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "db", "namespace": "shop"},
    "spec": {
        "serviceName": "db",
        "selector": {"matchLabels": {"app": "db"}},
        "template": {
            "metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
        },
    },
}


def test_a_legacy_object_a_controller_later_updated_keeps_the_three_way_rule() -> None:
    """Later writes (a controller's status update) give an object managedFields that do
    not cover what client-side apply wrote before 1.18."""
    before = copy.deepcopy(CONFIG)
    before["metadata"]["labels"]["tier"] = "gold"
    live = _csa_without_managed_fields(before, {})
    live["metadata"]["managedFields"] = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2026-11-20T14:30:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:annotations": {"f:note": {}}}},
        }
    ]
    changes = audit([CONFIG], [live], resources=RESOURCES)["settings"].changes
    assert [(c.path, c.op) for c in changes] == [("metadata.labels.tier", "added")]


APPLIERS = [("kustomize-controller", "Apply"), ("kubectl-client-side-apply", "Update")]


def _applied_by(live: dict[str, Any], manager: str, operation: str, fields: dict[str, Any]) -> None:
    meta = live["metadata"]
    meta.update(uid="u6", resourceVersion="9")
    if operation == "Update":  # client-side apply also records what it sent
        sent = {k: v for k, v in STATEFUL_VCT.items()}
        meta["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(sent)}
        fields = {
            **fields,
            "f:metadata": {
                "f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}
            },
        }
    meta["managedFields"] = [
        {
            "manager": manager,
            "operation": operation,
            "apiVersion": "apps/v1",
            "time": "2026-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
    ]


STATEFUL_VCT: dict[str, Any] = {
    **STATEFUL,
    "spec": {
        **STATEFUL["spec"],
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        ],
    },
}


@pytest.mark.parametrize(("manager", "operation"), APPLIERS)
def test_what_the_server_puts_inside_an_atomic_list_the_applier_owns_is_not_drift(
    manager: str, operation: str
) -> None:
    """volumeClaimTemplates is atomic: the apiserver stores each template with apiVersion,
    kind, volumeMode and a `status: {phase: Pending}` (argo-cd#16707, #11143)."""
    live = copy.deepcopy(STATEFUL_VCT)
    (template,) = live["spec"]["volumeClaimTemplates"]
    template.update(apiVersion="v1", kind="PersistentVolumeClaim", status={"phase": "Pending"})
    template["metadata"]["creationTimestamp"] = None
    template["spec"]["volumeMode"] = "Filesystem"
    # What no defaults table knows: a webhook's (or a newer server's) value in there.
    template["spec"]["volumeAttributesClassName"] = "gold"
    _applied_by(live, manager, operation, {"f:spec": {"f:volumeClaimTemplates": {}}})
    found = audit([STATEFUL_VCT], [live], resources=RESOURCES, explain=True)["db"]
    assert found.status == "in_sync", found.changes
    (why,) = [c.why for c in found.suppressed if c.path.endswith("volumeAttributesClassName")]
    assert (
        "spec.volumeClaimTemplates, an atomic value the applier" in str(why)
        or operation == "Update"
    )


@pytest.mark.parametrize(("manager", "operation"), APPLIERS)
def test_a_defaulted_merge_key_is_not_an_added_field(manager: str, operation: str) -> None:
    """Service ports are a map list keyed by port *and* protocol; protocol defaults to TCP
    (+default="TCP" on ServicePort.Protocol upstream)."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    live = copy.deepcopy(service)
    live["spec"]["ports"] = [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    live["spec"].update(type="ClusterIP", sessionAffinity="None", clusterIP="10.0.0.7")
    key = 'k:{"port":80,"protocol":"TCP"}'
    owned = (
        {".": {}, "f:port": {}}
        if operation == "Apply"
        else {".": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}}
    )
    fields = {"f:spec": {"f:selector": {}, "f:ports": {key: owned}}}
    live["metadata"].update(uid="u7", resourceVersion="2")
    live["metadata"]["managedFields"] = [
        {
            "manager": manager,
            "operation": operation,
            "apiVersion": "v1",
            "time": "2026-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
    ]
    resources = [
        *RESOURCES,
        ApiResource(group="", version="v1", kind="Service", plural="services", namespaced=True),
    ]
    found = audit([service], [live], resources=resources)["web"]
    assert found.status == "in_sync", found.changes


def _entry(manager: str, operation: str, fields: dict[str, Any], sub: str = "") -> dict[str, Any]:
    out = {
        "manager": manager,
        "operation": operation,
        "apiVersion": "v1",
        "time": "2026-01-02T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    return {**out, "subresource": sub} if sub else out


SSA_CONFIG = _entry(
    "kustomize-controller",
    "Apply",
    {"f:metadata": {"f:labels": {"f:app": {}}}, "f:data": {"f:mode": {}}},
)


@pytest.mark.parametrize(
    ("writer", "why"),
    [
        # kubectl commands without a field manager of their own (kubectl scale: the
        # apiserver names it from the User-Agent, `kubectl`, as an Update).
        (
            _entry("kubectl", "Update", {"f:metadata": {"f:labels": {"f:debug": {}}}}),
            "by hand (kubectl)",
        ),
        # kubectl rollout pause/restart (fieldManager kubectl-rollout upstream).
        (
            _entry("kubectl-rollout", "Update", {"f:metadata": {"f:labels": {"f:debug": {}}}}),
            "by hand (kubectl-rollout)",
        ),
        # The Helm CLI and browser consoles (User-Agent `Mozilla/5.0 …`).
        (_entry("helm", "Update", {"f:metadata": {"f:labels": {"f:debug": {}}}}), "by hand (helm)"),
        (
            _entry("Mozilla", "Update", {"f:metadata": {"f:labels": {"f:debug": {}}}}),
            "by hand (Mozilla)",
        ),
    ],
)
def test_hand_writers_that_name_no_field_manager_of_their_own_are_drift(
    writer: dict[str, Any], why: str
) -> None:
    live = copy.deepcopy(CONFIG)
    live["metadata"]["labels"]["debug"] = "true"
    live["metadata"].update(uid="u8", resourceVersion="4", managedFields=[SSA_CONFIG, writer])
    changes = audit([CONFIG], [live], resources=RESOURCES)["settings"].changes
    assert [(c.path, c.op) for c in changes] == [("metadata.labels.debug", "added")]
    assert why in str(changes[0].why)


def test_kubectl_applying_server_side_is_the_applier_not_a_hand_edit() -> None:
    live = copy.deepcopy(CONFIG)
    live["metadata"].update(
        uid="u9",
        resourceVersion="4",
        managedFields=[
            _entry(
                "kubectl",
                "Apply",
                {"f:metadata": {"f:labels": {"f:app": {}}}, "f:data": {"f:mode": {}}},
            )
        ],
    )
    live["data"]["extra"] = "x"  # a field kubectl does not own: another writer's
    live["metadata"]["managedFields"].append(
        _entry("some-operator", "Update", {"f:data": {"f:extra": {}}})
    )
    assert audit([CONFIG], [live], resources=RESOURCES)["settings"].status == "in_sync"


def test_fields_the_apiserver_gave_to_before_first_apply_follow_the_last_applied_rule() -> None:
    """An object older than managedFields, then server-side applied: its earlier fields are
    owned by `before-first-apply` (cluster-api's MitigateManagedFieldsIssue; Flux's
    fluxcd/pkg ssa cleanup tests)."""
    before = copy.deepcopy(CONFIG)
    before["metadata"]["labels"]["tier"] = "gold"
    live = _csa_without_managed_fields(before, {})
    live["metadata"]["managedFields"] = [
        _entry(
            "before-first-apply",
            "Update",
            {"f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}}},
        ),
        _entry("argocd-controller", "Apply", {"f:data": {"f:mode": {}}}),
    ]
    changes = audit([CONFIG], [live], resources=RESOURCES)["settings"].changes
    assert [(c.path, c.op) for c in changes] == [("metadata.labels.tier", "added")]


def test_removing_an_objects_only_labels_names_the_labels_not_its_metadata() -> None:
    live = copy.deepcopy(CONFIG)
    del live["metadata"]["labels"]
    live["metadata"].update(uid="u10", resourceVersion="4")
    changes = audit([CONFIG], [live], resources=RESOURCES)["settings"].changes
    assert [(c.path, c.op) for c in changes] == [("metadata.labels", "removed")]
