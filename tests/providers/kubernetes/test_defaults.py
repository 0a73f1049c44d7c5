"""Server defaults, checked against what upstream says the apiserver stores.

Expected values come from outside the table: the cases of kubernetes/kubernetes
``pkg/apis/*/v1/defaults_test.go`` (test name beside each case; the Go structs rewritten
as the JSON a client sends), the defaulting functions themselves where upstream has no
test for a branch, and objects recorded from a real apiserver in argoproj/gitops-engine's
diff test data (Apache-2.0, see ``test_recorded_*``).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from driftwatch.engine.paths import ItemKey, Path
from driftwatch.providers.kubernetes.defaults import (
    Default,
    FromObject,
    apply_defaults,
    default_source,
    defaults_for,
    path_pattern,
)

# TestSetDefaultDeployment / TestSetDefaultStatefulSet: the defaultTemplate's PodSpec.
POD_SPEC_DEFAULTS = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
    "schedulerName": "default-scheduler",
}
LABELS = {"foo": "bar"}


def _template(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"labels": dict(LABELS)}, "spec": spec}


def _defaulted_template() -> dict[str, Any]:
    return _template(**POD_SPEC_DEFAULTS)


def _apply(kind: str, spec: dict[str, Any], group: str = "apps", **top: Any) -> dict[str, Any]:
    obj = {"kind": kind, "metadata": {"name": "x"}, "spec": spec, **top}
    before = copy.deepcopy(obj)
    out = apply_defaults(obj, group, kind)
    assert obj == before  # the input is never changed
    return out


# --- apps/v1 ----------------------------------------------------------------------------

ROLLING_25 = {
    "type": "RollingUpdate",
    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
}


@pytest.mark.parametrize(
    "original, expected",
    [
        # TestSetDefaultDeployment case 1: empty Deployment
        (
            {"template": _template()},
            {
                "replicas": 1,
                "strategy": ROLLING_25,
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "template": _defaulted_template(),
            },
        ),
        # case 2: maxSurge set, type unset
        (
            {
                "replicas": 5,
                "strategy": {"rollingUpdate": {"maxSurge": 5}},
                "template": _template(),
            },
            {
                "replicas": 5,
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 5, "maxUnavailable": "25%"},
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "template": _defaulted_template(),
            },
        ),
        # case 3: RollingUpdate without rollingUpdate
        (
            {"replicas": 3, "strategy": {"type": "RollingUpdate"}, "template": _template()},
            {
                "replicas": 3,
                "strategy": ROLLING_25,
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "template": _defaulted_template(),
            },
        ),
        # case 4: Recreate gets no rollingUpdate; revisionHistoryLimit 0 kept
        (
            {
                "replicas": 5,
                "strategy": {"type": "Recreate"},
                "revisionHistoryLimit": 0,
                "template": _template(),
            },
            {
                "replicas": 5,
                "strategy": {"type": "Recreate"},
                "revisionHistoryLimit": 0,
                "progressDeadlineSeconds": 600,
                "template": _defaulted_template(),
            },
        ),
        # case 5: everything set
        (
            {
                "replicas": 5,
                "strategy": {"type": "Recreate"},
                "progressDeadlineSeconds": 30,
                "revisionHistoryLimit": 2,
                "template": _template(),
            },
            {
                "replicas": 5,
                "strategy": {"type": "Recreate"},
                "progressDeadlineSeconds": 30,
                "revisionHistoryLimit": 2,
                "template": _defaulted_template(),
            },
        ),
    ],
)
def test_deployment_as_upstream_test_set_default_deployment(
    original: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert _apply("Deployment", original)["spec"] == expected


def _sts_expected(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": 1,
        "template": _defaulted_template(),
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        # StatefulSetAutoDeletePVC is on by default (beta v1.27, GA v1.32)
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        "revisionHistoryLimit": 10,
    }
    spec.update(overrides)
    return spec


@pytest.mark.parametrize(
    "original, expected",
    [
        ({"template": _template()}, _sts_expected()),  # "labels and default update strategy"
        (  # "Alternate update strategy"
            {"template": _template(), "updateStrategy": {"type": "OnDelete"}},
            _sts_expected(updateStrategy={"type": "OnDelete"}),
        ),
        (  # "Parallel pod management policy"
            {"template": _template(), "podManagementPolicy": "Parallel"},
            _sts_expected(podManagementPolicy="Parallel"),
        ),
        (  # "UpdateStrategy.RollingUpdate.Partition is not lost when UpdateStrategy.Type is not set"
            {"template": _template(), "updateStrategy": {"rollingUpdate": {"partition": 42}}},
            _sts_expected(
                updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 42}}
            ),
        ),
        (  # "PVC delete policy enabled, with scaledown policy specified"
            {
                "template": _template(),
                "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete"},
            },
            _sts_expected(
                persistentVolumeClaimRetentionPolicy={
                    "whenDeleted": "Retain",
                    "whenScaled": "Delete",
                }
            ),
        ),
        (  # "PVC delete policy disabled, with set deletion policy specified" (gate on)
            {
                "template": _template(),
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"},
            },
            _sts_expected(
                persistentVolumeClaimRetentionPolicy={
                    "whenDeleted": "Delete",
                    "whenScaled": "Retain",
                }
            ),
        ),
        (  # "MaxUnavailable disabled, with non default maxUnavailable specified"
            {
                "template": _template(),
                "updateStrategy": {"rollingUpdate": {"partition": 42, "maxUnavailable": 3}},
            },
            _sts_expected(
                updateStrategy={
                    "type": "RollingUpdate",
                    "rollingUpdate": {"partition": 42, "maxUnavailable": 3},
                }
            ),
        ),
    ],
)
def test_stateful_set_as_upstream_test_set_default_stateful_set(
    original: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert _apply("StatefulSet", original)["spec"] == expected


def test_stateful_set_rolling_update_type_alone_gets_no_partition() -> None:
    # SetDefaults_StatefulSet makes rollingUpdate only when the type was unset; partition is
    # defaulted only inside an existing rollingUpdate.
    out = _apply(
        "StatefulSet", {"template": _template(), "updateStrategy": {"type": "RollingUpdate"}}
    )
    assert out["spec"]["updateStrategy"] == {"type": "RollingUpdate"}


def test_stateful_set_volume_claim_templates_are_defaulted_inside_the_atomic_list() -> None:
    # zz_generated SetObjectDefaults_StatefulSet: SetDefaults_PersistentVolumeClaim (status
    # phase Pending) and SetDefaults_PersistentVolumeClaimSpec (volumeMode Filesystem) per item.
    vct = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    out = _apply("StatefulSet", {"template": _template(), "volumeClaimTemplates": [vct]})
    assert out["spec"]["volumeClaimTemplates"] == [
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"},
            # conversion.go Convert_apps_StatefulSetSpec_To_v1_StatefulSetSpec (issue 87583)
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
        }
    ]


@pytest.mark.parametrize(
    "original, expected",
    [
        # TestSetDefaultDaemonSetSpec "Labels change/defaulting test"
        (
            {"template": _template()},
            {
                "template": _defaulted_template(),
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
                },
                "revisionHistoryLimit": 10,
            },
        ),
        (  # second case: revisionHistoryLimit 1 kept
            {"template": _template(), "revisionHistoryLimit": 1},
            {
                "template": _defaulted_template(),
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
                },
                "revisionHistoryLimit": 1,
            },
        ),
        (  # "OnDeleteDaemonSetStrategyType update strategy"
            {"template": _template(), "updateStrategy": {"type": "OnDelete"}},
            {
                "template": _defaulted_template(),
                "updateStrategy": {"type": "OnDelete"},
                "revisionHistoryLimit": 10,
            },
        ),
    ],
)
def test_daemon_set_as_upstream_test_set_default_daemon_set_spec(
    original: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert _apply("DaemonSet", original)["spec"] == expected


@pytest.mark.parametrize("replicas, expected", [(None, 1), (0, 0), (3, 3)])
def test_replica_set_as_upstream_test_set_default_replica_set_replicas(
    replicas: int | None, expected: int
) -> None:
    spec: dict[str, Any] = {"template": _template()}
    if replicas is not None:
        spec["replicas"] = replicas
    assert _apply("ReplicaSet", spec)["spec"]["replicas"] == expected


def test_requests_are_not_defaulted_in_templates_as_upstream_test_default_request_is_not_set_for_replica_set() -> (
    None
):
    container = {"name": "c", "image": "a:1", "resources": {"limits": {"cpu": "100m"}}}
    out = _apply("ReplicaSet", {"replicas": 3, "template": _template(containers=[container])})
    assert out["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "100m"}
    }


# --- core/v1 ----------------------------------------------------------------------------


def test_pod_requests_from_limits_as_upstream_test_set_default_requests_pod() -> None:
    # SetDefaults_Pod (Pod only): every limit the requests do not name becomes a request;
    # "request=0 is preserved".
    resources = {"requests": {"memory": "0"}, "limits": {"cpu": "100m", "memory": "1Gi"}}
    container = {"name": "c", "image": "a:1", "resources": resources}
    pod = {"containers": [container], "initContainers": [copy.deepcopy(container)]}
    out = _apply("Pod", pod, group="")
    for kind in ("containers", "initContainers"):
        assert out["spec"][kind][0]["resources"]["requests"] == {"memory": "0", "cpu": "100m"}
    # "verify we do nothing if no limits are specified"
    bare = _apply("Pod", {"containers": [{"name": "c", "image": "a:1"}]}, group="")
    assert "resources" not in bare["spec"]["containers"][0]
    # limits alone: requests made whole
    limits_only = {"name": "c", "image": "a:1", "resources": {"limits": {"cpu": "1"}}}
    made = _apply("Pod", {"containers": [limits_only]}, group="")["spec"]["containers"][0]
    assert made["resources"] == {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}


def test_pod_host_network_ports_as_upstream_test_set_default_pod_spec_host_network() -> None:
    ports = [{"containerPort": 8080}]
    spec = {
        "hostNetwork": True,
        "containers": [{"name": "c", "image": "a:1", "ports": ports}],
        "initContainers": [{"name": "i", "image": "a:1", "ports": copy.deepcopy(ports)}],
    }
    out = _apply("Pod", spec, group="")["spec"]
    for kind in ("containers", "initContainers"):
        assert out[kind][0]["ports"] == [
            {"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"}
        ]
    no_host_network = _apply("Pod", {**spec, "hostNetwork": False}, group="")["spec"]
    assert "hostPort" not in no_host_network["containers"][0]["ports"][0]
    # SetDefaults_Pod only: a Deployment's template keeps its ports as written.
    deployment = _apply("Deployment", {"template": _template(**spec)})
    assert "hostPort" not in deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]


def test_pod_only_defaults_as_upstream_test_set_default_enable_service_links_and_scheduler_name() -> (
    None
):
    out = _apply("Pod", {"containers": []}, group="")["spec"]
    assert out["enableServiceLinks"] is True  # TestSetDefaultEnableServiceLinks
    assert out["schedulerName"] == "default-scheduler"  # TestSetDefaultSchedulerName
    # SetDefaults_Pod is not run for templates: enableServiceLinks stays out of a Deployment.
    deployment = _apply("Deployment", {"template": _template()})
    assert "enableServiceLinks" not in deployment["spec"]["template"]["spec"]


def test_probe_as_upstream_test_set_default_probe() -> None:
    out = _apply(
        "Pod", {"containers": [{"name": "c", "image": "a:1", "livenessProbe": {}}]}, group=""
    )
    assert out["spec"]["containers"][0]["livenessProbe"] == {
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }


def test_probe_handlers_get_their_defaults() -> None:
    # SetDefaults_HTTPGetAction; GRPCAction.Service "+default" in zz_generated.
    probe = {"httpGet": {"port": 80}, "initialDelaySeconds": 5}
    grpc = {"grpc": {"port": 9000}}
    container = {"name": "c", "image": "a:1", "readinessProbe": probe, "startupProbe": grpc}
    out = _apply("Deployment", {"template": _template(containers=[container])})["spec"]["template"][
        "spec"
    ]
    ready = out["containers"][0]["readinessProbe"]
    assert ready["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}
    assert ready["initialDelaySeconds"] == 5
    assert out["containers"][0]["startupProbe"]["grpc"] == {"port": 9000, "service": ""}


def test_host_path_and_field_ref_as_upstream_tests() -> None:
    volumes = [
        {"name": "h", "hostPath": {"path": "foo"}},  # TestSetDefaultHostPathVolumeSource
        {"name": "s", "secret": {"secretName": "s"}},
        {"name": "c", "configMap": {"name": "c"}},
        {"name": "e"},  # SetDefaults_Volume: no source → emptyDir
        {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
    ]
    env = [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    container = {"name": "c", "image": "a:1", "env": env}
    spec = _apply("Pod", {"volumes": volumes, "containers": [container]}, group="")["spec"]
    assert spec["volumes"] == [
        {"name": "h", "hostPath": {"path": "foo", "type": ""}},
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "c", "configMap": {"name": "c", "defaultMode": 420}},
        {"name": "e", "emptyDir": {}},
        {
            "name": "p",
            "projected": {
                "defaultMode": 420,
                "sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}],
            },
        },
    ]
    # TestSetDefaultObjectFieldSelectorAPIVersion
    assert spec["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"


@pytest.mark.parametrize(
    "image, policy",
    [
        # SetDefaults_Container: tag "latest" (also implied when neither tag nor digest) → Always
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("gcr.io/busybox", "Always"),
        ("localhost:5000/app", "Always"),  # a registry port is not a tag
        ("nginx:1.21", "IfNotPresent"),
        ("registry.example.com:5000/team/app:v2", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),  # a digest without tag: tag ""
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("NGINX", "IfNotPresent"),  # ParseNormalizedNamed: must be lowercase → error → tag ""
        ("a" * 64, "IfNotPresent"),  # a bare image ID is refused
        ("nginx@md5:" + "a" * 32, "IfNotPresent"),  # unsupported digest algorithm
        ("x" * 5000, "IfNotPresent"),  # too long to be a reference
    ],
)
def test_image_pull_policy_follows_the_image_tag(image: str, policy: str) -> None:
    out = _apply("Deployment", {"template": _template(containers=[{"name": "c", "image": image}])})
    assert out["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_service_as_upstream_test_set_default_service_port_and_target_port() -> None:
    ports = [
        {"protocol": "UDP", "port": 9376, "targetPort": "p"},  # unchanged if set
        {"port": 1234},  # TestSetDefaultServiceTargetPort: targetPort = port
        {"port": 1234, "targetPort": 5678},
    ]
    spec = _apply("Service", {"ports": ports}, group="")["spec"]
    assert spec["ports"] == [
        {"protocol": "UDP", "port": 9376, "targetPort": "p"},
        {"protocol": "TCP", "port": 1234, "targetPort": 1234},
        {"protocol": "TCP", "port": 1234, "targetPort": 5678},
    ]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["internalTrafficPolicy"] == "Cluster"  # TestSetDefaultServiceInternalTrafficPolicy


@pytest.mark.parametrize(
    "spec, external",
    [  # TestSetDefaultServiceExternalTraffic
        ({}, None),
        ({"type": "NodePort"}, "Cluster"),
        ({"type": "LoadBalancer"}, "Cluster"),
        ({"type": "ClusterIP", "externalIPs": ["1.2.3.4"]}, "Cluster"),
        ({"type": "ClusterIP"}, None),
        ({"type": "ExternalName"}, None),
    ],
)
def test_service_external_traffic_policy_as_upstream(
    spec: dict[str, Any], external: str | None
) -> None:
    assert _apply("Service", spec, group="")["spec"].get("externalTrafficPolicy") == external


def test_service_type_specific_defaults() -> None:
    external_name = _apply(
        "Service", {"type": "ExternalName", "externalName": "x.example"}, group=""
    )["spec"]
    assert "internalTrafficPolicy" not in external_name  # "...when type is ExternalName"
    lb = _apply("Service", {"type": "LoadBalancer"}, group="")["spec"]
    assert lb["allocateLoadBalancerNodePorts"] is True
    client_ip = _apply("Service", {"sessionAffinity": "ClientIP"}, group="")["spec"]
    assert client_ip["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_namespace_as_upstream_test_set_default_namespace_labels() -> None:
    out = apply_defaults(
        {"kind": "Namespace", "metadata": {"name": "default-ns-labels-are-great"}}, "", "Namespace"
    )
    assert out["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": "default-ns-labels-are-great"
    }
    # registry strategy PrepareForCreate: the "kubernetes" finalizer
    assert out["spec"] == {"finalizers": ["kubernetes"]}
    labelled = apply_defaults({"metadata": {"name": "a", "labels": {"team": "x"}}}, "", "Namespace")
    assert labelled["metadata"]["labels"] == {"team": "x", "kubernetes.io/metadata.name": "a"}


def test_secret_and_claims() -> None:
    assert apply_defaults({"data": {}}, "", "Secret")["type"] == "Opaque"
    assert (
        apply_defaults({"type": "kubernetes.io/tls"}, "", "Secret")["type"] == "kubernetes.io/tls"
    )
    assert apply_defaults({"spec": {}}, "", "PersistentVolumeClaim")["spec"] == {
        "volumeMode": "Filesystem"
    }


# --- batch/v1 ---------------------------------------------------------------------------


JOB_TEMPLATE = {"metadata": {"labels": {"default": "default"}}, "spec": {}}


@pytest.mark.parametrize(
    "name, spec, labels, expected",
    [  # TestSetDefaultJob (batch/v1): (completions, parallelism, backoffLimit, mode, suspend)
        ("All unspecified -> sets all to default values", {}, None, (1, 1, 6, "NonIndexed", False)),
        (
            "suspend set, everything else is defaulted",
            {"suspend": True},
            None,
            (1, 1, 6, "NonIndexed", True),
        ),
        (
            "All unspecified -> all pointers, CompletionMode are defaulted and no default labels",
            {},
            {"mylabel": "myvalue"},
            (1, 1, 6, "NonIndexed", False),
        ),
        (
            "WQ: Parallelism explicitly 0 and completions unset -> BackoffLimit is defaulted",
            {"parallelism": 0},
            None,
            (None, 0, 6, "NonIndexed", False),
        ),
        (
            "WQ: Parallelism explicitly 2 and completions unset -> BackoffLimit is defaulted",
            {"parallelism": 2},
            None,
            (None, 2, 6, "NonIndexed", False),
        ),
        (
            "Completions explicitly 2 and others unset -> parallelism and BackoffLimit are defaulted",
            {"completions": 2},
            None,
            (2, 1, 6, "NonIndexed", False),
        ),
        (
            "BackoffLimit explicitly 5 and others unset -> parallelism and completions are defaulted",
            {"backoffLimit": 5},
            None,
            (1, 1, 5, "NonIndexed", False),
        ),
        (
            "All set -> no change",
            {
                "completions": 8,
                "parallelism": 9,
                "backoffLimit": 10,
                "completionMode": "NonIndexed",
                "suspend": True,
            },
            None,
            (8, 9, 10, "NonIndexed", True),
        ),
        (
            "All set, flipped -> no change",
            {
                "completions": 11,
                "parallelism": 10,
                "backoffLimit": 9,
                "completionMode": "Indexed",
                "suspend": True,
            },
            None,
            (11, 10, 9, "Indexed", True),
        ),
    ],
)
def test_job_as_upstream_test_set_default_job(
    name: str, spec: dict[str, Any], labels: dict[str, str] | None, expected: tuple[Any, ...]
) -> None:
    meta: dict[str, Any] = {"name": "j"} if labels is None else {"name": "j", "labels": labels}
    job = {"metadata": meta, "spec": {**spec, "template": copy.deepcopy(JOB_TEMPLATE)}}
    out = apply_defaults(job, "batch", "Job")
    got = out["spec"]
    keys = ("completions", "parallelism", "backoffLimit", "completionMode", "suspend")
    assert tuple(got.get(key) for key in keys) == expected, name
    # expectLabels: a Job without labels takes its template's
    assert out["metadata"]["labels"] == (labels or JOB_TEMPLATE["metadata"]["labels"])


def test_job_defaults_from_set_defaults_job() -> None:
    # Branches of SetDefaults_Job (batch/v1 defaults.go) TestSetDefaultJob does not cover.
    job = {
        "metadata": {"name": "j"},
        "spec": {"template": _template(restartPolicy="Never", containers=[])},
    }
    spec = apply_defaults(job, "batch", "Job")["spec"]
    assert spec["manualSelector"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"  # JobPodReplacementPolicy
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    # backoffLimitPerIndex → backoffLimit MaxInt32; podFailurePolicy → podReplacementPolicy Failed
    per_index = {
        "backoffLimitPerIndex": 1,
        "podFailurePolicy": {"rules": [{"onPodConditions": [{"type": "X"}]}]},
    }
    tuned = apply_defaults({"spec": per_index}, "batch", "Job")["spec"]
    assert tuned["backoffLimit"] == 2147483647
    assert tuned["podReplacementPolicy"] == "Failed"
    # SetDefaults_PodFailurePolicyOnPodConditionsPattern
    assert tuned["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"] == "True"


@pytest.mark.parametrize(
    "spec, expected",
    [  # TestSetDefaultCronJob
        ({}, ("Allow", False, 3, 1)),  # "empty batchv1.CronJob should default ..."
        (  # "set fields should not be defaulted"
            {
                "concurrencyPolicy": "Forbid",
                "suspend": True,
                "successfulJobsHistoryLimit": 5,
                "failedJobsHistoryLimit": 5,
            },
            ("Forbid", True, 5, 5),
        ),
    ],
)
def test_cron_job_as_upstream_test_set_default_cron_job(
    spec: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    got = apply_defaults({"spec": spec}, "batch", "CronJob")["spec"]
    keys = ("concurrencyPolicy", "suspend", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")
    assert tuple(got[key] for key in keys) == expected


def test_cron_job_defaults_and_job_template_gets_only_pod_defaults() -> None:
    cron = {
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {"spec": {"template": _template(containers=[])}},
        }
    }
    spec = apply_defaults(cron, "batch", "CronJob")["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    job_spec = spec["jobTemplate"]["spec"]
    assert "backoffLimit" not in job_spec  # SetDefaults_Job runs when the Job is created
    assert job_spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


# --- networking, rbac, autoscaling ------------------------------------------------------

SELECTOR = {"matchLabels": {"a": "b"}}
PEER = [{"namespaceSelector": {"matchLabels": {"c": "d"}}}]


@pytest.mark.parametrize(
    "spec, policy_types",
    [  # TestSetDefaultNetworkPolicy, networking/v1
        ({"podSelector": SELECTOR}, ["Ingress"]),
        ({"podSelector": SELECTOR, "ingress": []}, ["Ingress"]),
        ({"podSelector": SELECTOR, "ingress": [{"from": PEER}]}, ["Ingress"]),
        (
            {"podSelector": SELECTOR, "ingress": [{"from": PEER}], "egress": [{"to": PEER}]},
            ["Ingress", "Egress"],
        ),
        ({"podSelector": SELECTOR, "egress": [{"to": PEER}]}, ["Ingress", "Egress"]),
        (
            {"podSelector": SELECTOR, "egress": [{"to": PEER}], "policyTypes": ["Egress"]},
            ["Egress"],
        ),
    ],
)
def test_network_policy_types_as_upstream(spec: dict[str, Any], policy_types: list[str]) -> None:
    out = _apply("NetworkPolicy", spec, group="networking.k8s.io")
    assert out["spec"]["policyTypes"] == policy_types


def test_network_policy_ports_protocol_inside_atomic_rules() -> None:
    spec = {
        "ingress": [{"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}],
        "egress": [{"ports": [{}]}],
    }
    out = _apply("NetworkPolicy", spec, group="networking.k8s.io")["spec"]
    assert out["ingress"][0]["ports"] == [
        {"port": 80, "protocol": "TCP"},
        {"port": 53, "protocol": "UDP"},
    ]
    assert out["egress"][0]["ports"] == [{"protocol": "TCP"}]


@pytest.mark.parametrize(
    "parameters, expected",
    [  # TestSetDefaultsForIngressClassParametersReference
        ({"kind": "k", "name": "n"}, {"kind": "k", "name": "n", "scope": "Cluster"}),
        (
            {"kind": "k", "name": "n", "scope": "Namespace", "namespace": "foo-ns"},
            {"kind": "k", "name": "n", "scope": "Namespace", "namespace": "foo-ns"},
        ),
        (None, None),
    ],
)
def test_ingress_class_as_upstream(
    parameters: dict[str, Any] | None, expected: dict[str, Any] | None
) -> None:
    spec: dict[str, Any] = {"controller": "controller"}
    if parameters is not None:
        spec["parameters"] = parameters
    out = _apply("IngressClass", spec, group="networking.k8s.io")["spec"]
    assert out.get("parameters") == expected


@pytest.mark.parametrize("kind", ["RoleBinding", "ClusterRoleBinding"])
def test_binding_subjects_api_group_from_set_defaults_subject(kind: str) -> None:
    binding = {
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "ci", "namespace": "ci"},
            {"kind": "Robot", "name": "r"},  # an unknown kind gets nothing
        ],
    }
    out = apply_defaults(binding, "rbac.authorization.k8s.io", kind)
    assert out["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert [s.get("apiGroup") for s in out["subjects"]] == [
        "rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "",
        None,
    ]


def test_hpa_defaults_depend_on_the_api_version() -> None:
    v2 = {
        "apiVersion": "autoscaling/v2",
        "spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"selectPolicy": "Min"}}},
    }
    spec = apply_defaults(v2, "autoscaling", "HorizontalPodAutoscaler")["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80},
            },
        }
    ]
    assert spec["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "selectPolicy": "Min",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
    }
    no_behavior = apply_defaults(
        {"apiVersion": "autoscaling/v2", "spec": {}}, "autoscaling", "HorizontalPodAutoscaler"
    )
    assert "behavior" not in no_behavior["spec"]
    v1 = {
        "apiVersion": "autoscaling/v1",
        "spec": {"maxReplicas": 5, "targetCPUUtilizationPercentage": 50},
    }
    assert apply_defaults(v1, "autoscaling", "HorizontalPodAutoscaler")["spec"] == {
        "maxReplicas": 5,
        "targetCPUUtilizationPercentage": 50,
        "minReplicas": 1,
    }


# --- recorded apiserver objects -----------------------------------------------------------
# From argoproj/gitops-engine pkg/diff/testdata (Apache-2.0): smd-deploy-live.yaml was
# recorded from a cluster (uid, resourceVersion, managedFields of kube-controller-manager).
# The desired side is rebuilt from the fields its applier ("argocd-controller", SSA) owns
# in managedFields — what Git held.  Reproduced here, not copied.

RECORDED_DESIRED = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx-deployment", "namespace": "default"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.23.1",
                        "imagePullPolicy": "Never",
                        "livenessProbe": {
                            "exec": {"command": ["cat", "non-existent-file"]},
                            "initialDelaySeconds": 5,
                            "periodSeconds": 180,
                        },
                        "ports": [{"containerPort": 80}],
                    }
                ]
            },
        },
    },
}
RECORDED_LIVE_SPEC = {
    "progressDeadlineSeconds": 600,
    "replicas": 2,
    "revisionHistoryLimit": 10,
    "selector": {"matchLabels": {"app": "nginx"}},
    "strategy": {
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        "type": "RollingUpdate",
    },
    "template": {
        "metadata": {"creationTimestamp": None, "labels": {"app": "nginx"}},
        "spec": {
            "containers": [
                {
                    "image": "nginx:1.23.1",
                    "imagePullPolicy": "Never",
                    "livenessProbe": {
                        "exec": {"command": ["cat", "non-existent-file"]},
                        "failureThreshold": 3,
                        "initialDelaySeconds": 5,
                        "periodSeconds": 180,
                        "successThreshold": 1,
                        "timeoutSeconds": 1,
                    },
                    "name": "nginx",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        },
    },
}
# Not defaults but how Go serializes zero values, so the table does not produce them and the
# comparison must treat them as absent: a zero metav1.Time (``null``, no longer written since
# kubernetes/kubernetes#130989, v1.33) and the ResourceRequirements struct (``{}``).
SERIALIZATION_ONLY = {
    ("template", "metadata", "creationTimestamp"),
    ("template", "spec", "containers", 0, "resources"),
}


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], Any]:
    if isinstance(value, dict) and value:
        out: dict[tuple[str | int, ...], Any] = {}
        for key, child in value.items():
            out.update(_leaves(child, (*path, key)))
        return out
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        out = {}
        for index, child in enumerate(value):
            out.update(_leaves(child, (*path, index)))
        return out
    return {path: value}


def test_recorded_live_deployment_equals_desired_with_defaults() -> None:
    defaulted = apply_defaults(RECORDED_DESIRED, "apps", "Deployment")["spec"]
    live = {p: v for p, v in _leaves(RECORDED_LIVE_SPEC).items() if p not in SERIALIZATION_ONLY}
    assert _leaves(defaulted) == live


def test_recorded_ssd_pair_live_defaults_all_come_from_the_table() -> None:
    # gitops-engine ssd-deploy-composite-key-{config,live}.yaml: the live object lacks the
    # "metrics" port the config has (the real drift); every other live field is either in
    # the config or a server default.
    ports = [{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}]
    config = {
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "test-app"}},
            "template": {
                "metadata": {"labels": {"app": "test-app"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.21",
                            "ports": [*ports, {"containerPort": 8080, "name": "metrics"}],
                        },
                        {
                            "name": "sidecar",
                            "image": "busybox:1.35",
                            "command": ["sleep", "3600"],
                            "ports": [{"containerPort": 9090, "name": "sidecar-port"}],
                        },
                    ]
                },
            },
        }
    }
    tcp = [{**p, "protocol": "TCP"} for p in ports]
    server_fields = {
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    live_spec = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "test-app"}},
        "template": {
            "metadata": {"labels": {"app": "test-app"}},
            "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1.21", "ports": tcp, **server_fields},
                    {
                        "name": "sidecar",
                        "image": "busybox:1.35",
                        "command": ["sleep", "3600"],
                        "ports": [
                            {"containerPort": 9090, "name": "sidecar-port", "protocol": "TCP"}
                        ],
                        **server_fields,
                    },
                ],
                **POD_SPEC_DEFAULTS,
            },
        },
        "strategy": ROLLING_25,
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }
    defaulted = _leaves(apply_defaults(config, "apps", "Deployment")["spec"])
    live = _leaves(live_spec)
    assert {p: v for p, v in live.items() if defaulted.get(p) != v} == {}
    drift = {p for p in defaulted if p not in live}
    assert drift == {
        ("template", "spec", "containers", 0, "ports", 2, key)
        for key in ("containerPort", "name", "protocol")
    }


def test_recorded_service_live_defaults_all_come_from_the_table() -> None:
    # argoproj/argo-cd gitops-engine/pkg/diff/testdata/smd-service-live.yaml (Apache-2.0),
    # recorded from a cluster; the desired side is its last-applied-configuration.
    desired = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "multiple-protocol-port-svc", "namespace": "default"},
        "spec": {
            "ports": [
                {"name": "rtmpk", "port": 1986, "protocol": "UDP", "targetPort": 1986},
                {"name": "rtmp", "port": 1935, "targetPort": 1935},
                {"name": "https", "port": 443, "targetPort": 443},
            ]
        },
    }
    live_spec = {
        "clusterIP": "10.111.193.74",
        "clusterIPs": ["10.111.193.74"],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": [
            {"name": "rtmpk", "port": 1986, "protocol": "UDP", "targetPort": 1986},
            {"name": "rtmp", "port": 1935, "protocol": "TCP", "targetPort": 1935},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
        ],
        "sessionAffinity": "None",
        "type": "ClusterIP",
    }
    # Allocated by the cluster (IP allocator, dual-stack config), not defaults.
    allocated = {("clusterIP",), ("clusterIPs",), ("ipFamilies",), ("ipFamilyPolicy",)}
    defaulted = _leaves(apply_defaults(desired, "", "Service")["spec"])
    live = {p: v for p, v in _leaves(live_spec).items() if p not in allocated}
    assert {p: v for p, v in live.items() if defaulted.get(p) != v} == {}
    # The recorded spec was trimmed of internalTrafficPolicy, yet its managedFields list
    # f:internalTrafficPolicy next to f:sessionAffinity and f:type: the server set it.
    assert {p: v for p, v in defaulted.items() if p not in live} == {
        ("internalTrafficPolicy",): "Cluster"
    }


def test_recorded_server_side_dry_run_of_a_service_equals_apply_defaults() -> None:
    # argoproj/argo-cd gitops-engine/pkg/diff/testdata/ssd-service-{config.yaml,
    # predicted-live.json} (Apache-2.0): a Service as Git holds it and what a k3s apiserver
    # returned for its server-side apply dry run.
    config = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "httpbin-svc", "namespace": "httpbin"},
        "spec": {
            "ports": [
                {"name": "http-port", "port": 7777, "targetPort": 80},
                {"name": "test", "port": 333},
            ],
            "selector": {"app": "httpbin"},
        },
    }
    predicted_spec = {
        "clusterIP": "10.43.223.115",
        "clusterIPs": ["10.43.223.115"],
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": [
            {"name": "http-port", "port": 7777, "protocol": "TCP", "targetPort": 80},
            {"name": "test", "port": 333, "protocol": "TCP", "targetPort": 333},
        ],
        "selector": {"app": "httpbin"},
        "sessionAffinity": "None",
        "type": "ClusterIP",
    }
    allocated = {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"}
    expected = {k: v for k, v in predicted_spec.items() if k not in allocated}
    assert apply_defaults(config, "", "Service")["spec"] == expected


def _es_data_statefulset(live: bool) -> dict[str, Any]:
    """argoproj/argo-cd gitops-engine/pkg/diff/testdata/elasticsearch-live.json (Apache-2.0),
    recorded from a 2018 cluster (apps/v1beta1), reproduced with shorter values: the desired
    side is its last-applied-configuration, ``live=True`` adds what the apiserver stored."""

    def server(fields: dict[str, Any]) -> dict[str, Any]:
        return fields if live else {}

    container_defaults = {
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    serialized = {"resources": {}} if live else {}
    probe = {
        "httpGet": {"path": "/_cluster/health", "port": 9200, **server({"scheme": "HTTP"})},
        "initialDelaySeconds": 5,
    }
    probe.update(
        server(
            {"failureThreshold": 3, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1}
        )
    )
    field_ref = {"resource": "limits.cpu", **server({"divisor": "0"})}
    main = {
        "name": "elasticsearch",
        "image": "docker.elastic.co/elasticsearch/elasticsearch-oss:6.4.0",
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "NODE_MASTER", "value": "false"},
            {"name": "PROCESSORS", "valueFrom": {"resourceFieldRef": field_ref}},
        ],
        "lifecycle": {"postStart": {"exec": {"command": ["/bin/bash", "/post-start-hook.sh"]}}},
        "ports": [{"containerPort": 9300, "name": "transport", **server({"protocol": "TCP"})}],
        "readinessProbe": probe,
        "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "25m", "memory": "1536Mi"}},
        "volumeMounts": [{"mountPath": "/usr/share/elasticsearch/data", "name": "data"}],
        **server(container_defaults),
    }
    init = [
        {
            "name": "sysctl",
            "image": "busybox",
            "imagePullPolicy": "Always",
            "command": ["sysctl"],
            **serialized,
        },
        {
            "name": "chown",
            "image": "busybox:1",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"runAsUser": 0},
            **serialized,
        },
    ]
    for item in init:
        item.update(server(container_defaults))
    vct_meta = {"name": "data", **({"creationTimestamp": None} if live else {})}
    vct = {
        "metadata": vct_meta,
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "30Gi"}}},
    }
    vct.update(server({"status": {"phase": "Pending"}}))
    template_meta = {
        "labels": {"app": "elasticsearch"},
        **({"creationTimestamp": None} if live else {}),
    }
    spec = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "elasticsearch"}},
        "serviceName": "elasticsearch4-data",
        "template": {
            "metadata": template_meta,
            "spec": {
                "containers": [main],
                "initContainers": init,
                "securityContext": {"fsGroup": 1000},
                "terminationGracePeriodSeconds": 3600,
                "volumes": [
                    {
                        "configMap": {"name": "elasticsearch4", **server({"defaultMode": 420})},
                        "name": "config",
                    }
                ],
                **server(
                    {
                        "dnsPolicy": "ClusterFirst",
                        "restartPolicy": "Always",
                        "schedulerName": "default-scheduler",
                    }
                ),
            },
        },
        "updateStrategy": {"type": "OnDelete"},
        "volumeClaimTemplates": [vct],
        **server({"podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10}),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "elasticsearch4-data"},
        "spec": spec,
    }


def test_recorded_2018_stateful_set_differs_only_by_later_defaults_and_serialization() -> None:
    defaulted = _leaves(
        apply_defaults(_es_data_statefulset(live=False), "apps", "StatefulSet")["spec"]
    )
    live = _leaves(_es_data_statefulset(live=True)["spec"])
    containers = ("template", "spec", "containers", 0)
    # Serialized zero values (see SERIALIZATION_ONLY): not defaults.
    assert {p for p in live if p not in defaulted} == {
        ("template", "metadata", "creationTimestamp"),
        ("volumeClaimTemplates", 0, "metadata", "creationTimestamp"),
        ("template", "spec", "initContainers", 0, "resources"),
        ("template", "spec", "initContainers", 1, "resources"),
        (*containers, "env", 1, "valueFrom", "resourceFieldRef", "divisor"),  # a zero Quantity
    }
    # Defaults newer than the 2018 apiserver: volumeMode (beta v1.13), the VCT apiVersion/kind
    # set on conversion (issue 87583, v1.17), the PVC retention policy (v1.23).
    assert {p for p in defaulted if p not in live} == {
        ("volumeClaimTemplates", 0, "spec", "volumeMode"),
        ("volumeClaimTemplates", 0, "apiVersion"),
        ("volumeClaimTemplates", 0, "kind"),
        ("persistentVolumeClaimRetentionPolicy", "whenDeleted"),
        ("persistentVolumeClaimRetentionPolicy", "whenScaled"),
    }
    assert {p: v for p, v in live.items() if p in defaulted and defaulted[p] != v} == {}


# --- table shape, default_source, extra ---------------------------------------------------

WORKLOAD_TEMPLATES = {
    ("apps", "Deployment"): "spec.template.spec",
    ("apps", "StatefulSet"): "spec.template.spec",
    ("apps", "DaemonSet"): "spec.template.spec",
    ("apps", "ReplicaSet"): "spec.template.spec",
    ("batch", "Job"): "spec.template.spec",
    ("batch", "CronJob"): "spec.jobTemplate.spec.template.spec",
    ("", "Pod"): "spec",
    ("", "PodTemplate"): "template.spec",
}


@pytest.mark.parametrize("group, kind", sorted(WORKLOAD_TEMPLATES))
def test_every_workload_mounts_the_same_pod_spec_defaults(group: str, kind: str) -> None:
    prefix = WORKLOAD_TEMPLATES[(group, kind)]
    relative = {
        (d.path.removeprefix(prefix + "."), d.source)
        for d in defaults_for(group, kind)
        if d.path.startswith(prefix + ".")
    }
    deployment = {
        (d.path.removeprefix("spec.template.spec."), d.source)
        for d in defaults_for("apps", "Deployment")
        if d.path.startswith("spec.template.spec.")
    }
    assert deployment <= relative


def test_every_entry_cites_an_upstream_function() -> None:
    for group, kind in [
        *WORKLOAD_TEMPLATES,
        ("", "Service"),
        ("networking.k8s.io", "NetworkPolicy"),
    ]:
        for entry in defaults_for(group, kind):
            assert entry.source.startswith("kubernetes/kubernetes")
            assert "pkg/" in entry.source


WEB = ItemKey((("name", "web"),))
HTTP = ItemKey((("containerPort", 80), ("protocol", "TCP")))


@pytest.mark.parametrize(
    "group, kind, path, function",
    [
        (
            "apps",
            "Deployment",
            ("spec", "template", "spec", "containers", WEB, "imagePullPolicy"),
            "SetDefaults_Container",
        ),
        (
            "apps",
            "Deployment",
            ("spec", "template", "spec", "containers", 0, "imagePullPolicy"),
            "SetDefaults_Container",
        ),
        (
            "apps",
            "Deployment",
            ("spec", "template", "spec", "containers", WEB, "ports", HTTP, "protocol"),
            "ContainerPort",
        ),
        (
            "apps",
            "Deployment",
            ("spec", "strategy", "rollingUpdate", "maxSurge"),
            "SetDefaults_Deployment",
        ),
        (
            "apps",
            "StatefulSet",
            (
                "spec",
                "volumeClaimTemplates",
                ItemKey((("metadata.name", "data"),)),
                "spec",
                "volumeMode",
            ),
            "SetDefaults_PersistentVolumeClaimSpec",
        ),
        (
            "rbac.authorization.k8s.io",
            "RoleBinding",
            ("subjects", 0, "apiGroup"),
            "SetDefaults_Subject",
        ),
        (
            "networking.k8s.io",
            "NetworkPolicy",
            ("spec", "ingress", 0, "ports", 1, "protocol"),
            "SetDefaults_NetworkPolicyPort",
        ),
        ("batch", "CronJob", ("spec", "suspend"), "SetDefaults_CronJob"),
        ("", "Pod", ("spec", "containers", WEB, "resources", "requests", "cpu"), "SetDefaults_Pod"),
        ("", "Pod", ("spec", "containers", WEB, "resources", "requests"), "SetDefaults_Pod"),
        (
            "",
            "Namespace",
            ("metadata", "labels", "kubernetes.io/metadata.name"),
            "SetDefaults_Namespace",
        ),
    ],
)
def test_default_source_names_the_function(
    group: str, kind: str, path: Path, function: str
) -> None:
    source = default_source(group, kind, path)
    assert source is not None and function in source


@pytest.mark.parametrize(
    "path",
    [
        ("spec", "template", "spec", "containers", WEB, "image"),  # not defaulted
        (
            "spec",
            "template",
            "spec",
            "containers",
            "web",
            "imagePullPolicy",
        ),  # a key is not a list item
        ("spec", "template", "spec", "containers", True, "imagePullPolicy"),  # nor a bool
        ("spec", "template", "spec", "containers", WEB),  # the item itself
        ("spec", "strategy", "rollingUpdate", "maxSurge", "x"),  # below a default
        ("spec", "template", "spec", "containers", WEB, "resources", "requests", "cpu"),  # Pod only
        (),
    ],
)
def test_default_source_is_none_for_other_paths(path: Path) -> None:
    assert default_source("apps", "Deployment", path) is None
    assert default_source("example.com", "Widget", path) is None


def test_extra_defaults_for_custom_resources() -> None:
    extra = [
        Default("spec.size", 3, "CRD widgets.example.com v1 openAPIV3Schema default"),
        Default("spec.parts[].color", "red", "CRD widgets.example.com v1 openAPIV3Schema default"),
        Default("spec.owner", FromObject(lambda _parent, obj: obj["metadata"]["name"]), "computed"),
    ]
    obj = {
        "metadata": {"name": "w"},
        "spec": {"parts": [{"name": "a"}, {"name": "b", "color": "blue"}]},
    }
    out = apply_defaults(obj, "example.com", "Widget", extra)
    assert out["spec"] == {
        "size": 3,
        "owner": "w",
        "parts": [{"name": "a", "color": "red"}, {"name": "b", "color": "blue"}],
    }
    assert default_source(
        "example.com", "Widget", ("spec", "parts", ItemKey((("name", "a"),)), "color"), extra
    ) == ("CRD widgets.example.com v1 openAPIV3Schema default")
    assert apply_defaults(obj, "example.com", "Widget") is obj  # no table, nothing to fill


def test_a_bad_extra_pattern_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=re.escape("spec.parts[]")):
        apply_defaults({"spec": {}}, "example.com", "Widget", [Default("spec.parts[]", 1, "x")])


def _nest(keys: list[str | None]) -> Any:
    if not keys:
        return {}
    inner = _nest(keys[1:])
    return [inner] if keys[0] is None else {keys[0]: inner}


@given(
    first=st.text(max_size=6),
    keys=st.lists(st.text(max_size=6) | st.none(), max_size=4),
    last=st.text(max_size=6),
)
def test_any_key_can_be_a_pattern_step(first: str, keys: list[str | None], last: str) -> None:
    # CRD properties may be named anything ("a.b", "x[]y", "3", ""): a pattern built with
    # path_pattern reaches exactly that field, in apply_defaults and default_source.
    steps = [first, *keys]
    extra = [Default(path_pattern(*steps, last), 1, "schema default")]
    out = apply_defaults(_nest(steps), "example.com", "Widget", extra)
    concrete = tuple(0 if k is None else k for k in (*steps, last))
    assert _at(out, concrete) == 1
    assert default_source("example.com", "Widget", concrete, extra) == "schema default"


def test_unchanged_subtrees_are_shared_and_defaults_are_not() -> None:
    obj = copy.deepcopy(RECORDED_DESIRED)
    first = apply_defaults(obj, "apps", "Deployment")
    second = apply_defaults(obj, "apps", "Deployment")
    assert first["spec"]["selector"] is obj["spec"]["selector"]  # nothing copied needlessly
    assert first["metadata"] is obj["metadata"]
    assert (
        first["spec"]["template"]["spec"]["securityContext"]
        is not second["spec"]["template"]["spec"]["securityContext"]
    )
    first["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 1
    assert second["spec"]["template"]["spec"]["securityContext"] == {}
    assert (
        apply_defaults(obj, "apps", "Deployment")["spec"]["template"]["spec"]["securityContext"]
        == {}
    )


# --- hostile shapes -----------------------------------------------------------------------

KINDS = sorted({*WORKLOAD_TEMPLATES, ("", "Service"), ("", "Namespace"), ("batch", "Job"),
                ("networking.k8s.io", "NetworkPolicy"), ("rbac.authorization.k8s.io", "RoleBinding"),
                ("autoscaling", "HorizontalPodAutoscaler"), ("", "Secret")})  # fmt: skip
# Keys the table walks through, so generated objects reach deep into it.
KEYS = st.sampled_from(
    [
        "apiVersion", "metadata", "name", "labels", "spec", "template", "containers", "initContainers",
        "ports", "image", "imagePullPolicy", "livenessProbe", "httpGet", "grpc", "strategy", "type",
        "rollingUpdate", "updateStrategy", "volumes", "secret", "emptyDir", "jobTemplate", "subjects",
        "kind", "ingress", "egress", "behavior", "scaleUp", "sessionAffinity", "protocol", "port",
        "volumeClaimTemplates", "status", "env", "valueFrom", "fieldRef", "resources", "limits", "requests",
        "hostNetwork", "containerPort", "completions", "podFailurePolicy", "rules", "onPodConditions",
    ]
)  # fmt: skip
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
JSONISH = st.recursive(
    SCALARS
    | st.sampled_from(
        ["autoscaling/v2", "RollingUpdate", "ClientIP", "LoadBalancer", "User", "nginx"]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(KEYS | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=40,
)


def _present_values(value: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], str]:
    out = {path: json.dumps(value, sort_keys=True)}
    if isinstance(value, dict):
        for key, child in value.items():
            out.update(_present_values(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.update(_present_values(child, (*path, index)))
    return out


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for seg in path:
        value = value[seg]
    return value


@settings(max_examples=300, deadline=None)
@given(obj=st.dictionaries(KEYS, JSONISH, max_size=6), kind=st.sampled_from(KINDS))
@example(obj={"spec": {}, "apiVersion": []}, kind=KINDS[0])  # found by a random run
def test_hostile_objects_never_raise_never_change_and_never_lose_a_value(
    obj: dict[str, Any], kind: tuple[str, str]
) -> None:
    before = json.dumps(obj, sort_keys=True)
    out = apply_defaults(obj, *kind)
    assert json.dumps(obj, sort_keys=True) == before  # the input is never changed
    assert apply_defaults(out, *kind) == out  # idempotent
    # never overwrites: every value the object had is still there, unchanged, at its path,
    # apart from maps and lists that gained defaulted keys
    for path, text in _present_values(obj).items():
        kept = _at(out, path)
        original = json.loads(text)
        if isinstance(original, dict):
            assert isinstance(kept, dict) and original.keys() <= kept.keys()
        elif isinstance(original, list):
            assert isinstance(kept, list) and len(kept) == len(original)
        else:
            assert kept == original and type(kept) is type(original)


@given(obj=JSONISH, kind=st.sampled_from(KINDS))
def test_any_json_value_is_left_alone_or_defaulted_without_raising(
    obj: Any, kind: tuple[str, str]
) -> None:
    out = apply_defaults(obj, *kind)
    if not isinstance(obj, dict):
        assert out is obj
