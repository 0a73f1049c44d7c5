"""The official ``kubernetes`` Python client against the test API server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from driftwatch.testing import TestAPIServer, custom_resource


def _names(items: list[Any]) -> list[tuple[str, str]]:
    return [(i.metadata.namespace or "", i.metadata.name) for i in items]


def test_version_and_discovery(api_client: client.ApiClient, tmp_path: Path) -> None:
    info = client.VersionApi(api_client).get_code()
    assert (info.major, info.minor, info.git_version) == ("1", "32", "v1.32.4")

    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    assert groups["apps"].preferred_version.group_version == "apps/v1"
    assert "rbac.authorization.k8s.io" in groups
    core = client.CoreApi(api_client).get_api_versions()
    assert core.versions == ["v1"]
    assert core.server_address_by_client_cidrs[0].client_cidr == "0.0.0.0/0"

    resources = client.AppsV1Api(api_client).get_api_resources()
    by_name = {r.name: r for r in resources.resources}
    assert by_name["deployments"].kind == "Deployment"
    assert by_name["deployments"].short_names == ["deploy"]
    assert by_name["deployments"].namespaced is True
    assert "list" in by_name["deployments"].verbs
    assert by_name["deployments/scale"].kind == "Scale"

    dyn = dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced and deployments.name == "deployments"
    crbs = dyn.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="ClusterRoleBinding")
    assert not crbs.namespaced
    listed = deployments.get(namespace="alpha")
    assert sorted(i.metadata.name for i in listed.items) == ["api-0", "web", "worker-0"]
    one = deployments.get(name="web", namespace="beta")
    assert one.kind == "Deployment" and one.metadata.namespace == "beta"


def test_list_get_and_raw_items(
    server: TestAPIServer, api_client: client.ApiClient, sample_objects: list[dict[str, Any]]
) -> None:
    apps = client.AppsV1Api(api_client)
    result = apps.list_deployment_for_all_namespaces()
    stored = [o for o in sample_objects if o["kind"] == "Deployment"]
    want = sorted((o["metadata"]["namespace"], o["metadata"]["name"]) for o in stored)
    assert _names(result.items) == want  # ordered by namespace/name
    assert result.metadata.resource_version == str(server.resource_version)

    web = apps.read_namespaced_deployment("web", "alpha")
    assert web.spec.template.spec.containers[0].image == "registry.example/web:1.0"
    assert web.metadata.managed_fields[0].manager == "kubectl-client-side-apply"

    # Raw JSON: list items carry no kind/apiVersion; a single GET does.
    raw = apps.list_namespaced_deployment("alpha", _preload_content=False).json()
    assert raw["kind"] == "DeploymentList" and raw["apiVersion"] == "apps/v1"
    assert all("kind" not in i and "apiVersion" not in i for i in raw["items"])
    by_name = {o["metadata"]["name"]: o for o in stored if o["metadata"]["namespace"] == "alpha"}
    for item in raw["items"]:
        expected = {
            k: v
            for k, v in by_name[item["metadata"]["name"]].items()
            if k not in ("kind", "apiVersion")
        }
        expected["metadata"] = item["metadata"]  # resourceVersion/uid kept as given
        assert item == expected
    single = apps.read_namespaced_deployment("web", "alpha", _preload_content=False).json()
    assert single["kind"] == "Deployment" and single["apiVersion"] == "apps/v1"
    assert single == next(
        o
        for o in server.objects("apps", "deployments")
        if o["metadata"]["namespace"] == "alpha" and o["metadata"]["name"] == "web"
    )

    core = client.CoreV1Api(api_client)
    assert [n.metadata.name for n in core.list_namespace().items] == ["alpha", "beta", "gamma"]
    secret = core.read_namespaced_secret("creds", "alpha")
    assert secret.data == {"password": "aHVudGVyMg=="} and secret.type == "Opaque"


def test_pagination_with_continue(server: TestAPIServer, api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    seen: list[tuple[str, str]] = []
    token: str | None = None
    pages = 0
    remaining: list[int | None] = []
    while True:
        kwargs: dict[str, Any] = {"limit": 2}
        if token:
            kwargs["_continue"] = token
        page = apps.list_deployment_for_all_namespaces(**kwargs)
        pages += 1
        assert len(page.items) <= 2
        seen.extend(_names(page.items))
        token = page.metadata.var_continue
        remaining.append(page.metadata.remaining_item_count)
        if not token:
            break
    assert pages == 5 and len(seen) == 9
    assert seen == sorted(seen)
    assert remaining == [7, 5, 3, 1, None]
    continued = [r for r in server.requests if r.path == "/apis/apps/v1/deployments"]
    assert [r.query.get("limit") for r in continued] == ["2"] * 5
    assert sum(1 for r in continued if "continue" in r.query) == 4


def test_pagination_is_a_consistent_snapshot(
    server: TestAPIServer, api_client: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api_client)
    first = apps.list_deployment_for_all_namespaces(limit=4)
    # A change after the first page is not seen by the rest of that list.
    server.delete("apps", "Deployment", "gamma", "web")
    extra = server.get("apps", "deployments", "alpha", "web")
    assert extra is not None
    extra["metadata"] = {"name": "zzz", "namespace": "gamma"}
    server.put(extra)
    rest: list[Any] = []
    token = first.metadata.var_continue
    while token:
        page = apps.list_deployment_for_all_namespaces(limit=4, _continue=token)
        rest.extend(page.items)
        token = page.metadata.var_continue
    names = _names(first.items) + _names(rest)
    assert ("gamma", "web") in names and ("gamma", "zzz") not in names
    fresh = _names(apps.list_deployment_for_all_namespaces().items)
    assert ("gamma", "web") not in fresh and ("gamma", "zzz") in fresh


def test_label_and_field_selectors(api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    core = client.CoreV1Api(api_client)

    def deploys(**kw: Any) -> list[tuple[str, str]]:
        return _names(apps.list_deployment_for_all_namespaces(**kw).items)

    assert deploys(label_selector="app=web") == [
        ("alpha", "web"),
        ("beta", "web"),
        ("gamma", "web"),
    ]
    assert deploys(label_selector="app==api,tier=backend") == [
        ("alpha", "api-0"),
        ("beta", "api-1"),
        ("gamma", "api-2"),
    ]
    assert len(deploys(label_selector="app!=web")) == 6
    assert len(deploys(label_selector="app in (api, worker)")) == 6
    assert len(deploys(label_selector="app notin (api,worker)")) == 3
    assert len(deploys(label_selector="tier")) == 9
    assert deploys(label_selector="!tier") == []
    assert deploys(field_selector="metadata.name=web,metadata.namespace!=beta") == [
        ("alpha", "web"),
        ("gamma", "web"),
    ]
    assert deploys(field_selector="metadata.namespace==beta", label_selector="app=web") == [
        ("beta", "web")
    ]
    pods = core.list_pod_for_all_namespaces(field_selector="status.phase=Running")
    assert len(pods.items) == 9
    # Selectors with pagination: no remainingItemCount (the server cannot know it).
    page = apps.list_deployment_for_all_namespaces(limit=1, label_selector="app=web")
    assert page.metadata.var_continue and page.metadata.remaining_item_count is None

    with pytest.raises(ApiException) as err:
        apps.list_deployment_for_all_namespaces(field_selector="spec.replicas=2")
    assert err.value.status == 400
    assert '"field label not supported: spec.replicas"' in err.value.body
    with pytest.raises(ApiException) as err:
        apps.list_deployment_for_all_namespaces(label_selector="app in web")
    assert err.value.status == 400


def test_not_found(api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("nope", "alpha")
    assert err.value.status == 404
    body = err.value.body
    assert '"reason":"NotFound"' in body and 'deployments.apps \\"nope\\" not found' in body


def test_faults(server: TestAPIServer, api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    core = client.CoreV1Api(api_client)

    server.faults.forbid("apps", "deployments")
    with pytest.raises(ApiException) as err:
        apps.list_deployment_for_all_namespaces()
    assert err.value.status == 403
    assert (
        'deployments.apps is forbidden: User \\"system:serviceaccount:default:driftwatch\\" '
        'cannot list resource \\"deployments\\" in API group \\"apps\\" at the cluster scope'
    ) in err.value.body
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("web", "alpha")
    assert err.value.status == 403
    assert 'cannot get resource \\"deployments\\"' in err.value.body
    assert 'in the namespace \\"alpha\\"' in err.value.body
    assert core.list_namespace().items  # other resources unaffected
    server.faults.clear()

    server.faults.gone_on_continue("apps", "deployments", times=1)
    page = apps.list_deployment_for_all_namespaces(limit=2)
    with pytest.raises(ApiException) as err:
        apps.list_deployment_for_all_namespaces(limit=2, _continue=page.metadata.var_continue)
    assert err.value.status == 410
    assert '"reason":"Expired"' in err.value.body
    assert "The provided continue parameter is too old" in err.value.body
    # only once: the retry succeeds
    assert apps.list_deployment_for_all_namespaces(
        limit=2, _continue=page.metadata.var_continue
    ).items

    server.faults.error("", "configmaps", code=500, times=2)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            core.list_config_map_for_all_namespaces()
        assert err.value.status == 500 and '"reason":"InternalError"' in err.value.body
    assert len(core.list_config_map_for_all_namespaces().items) == 3

    server.faults.unauthorized()
    with pytest.raises(ApiException) as err:
        core.list_namespace()
    assert err.value.status == 401
    server.faults.clear()
    assert core.list_namespace().items


def test_delay_is_observable(server: TestAPIServer, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    server.faults.delay(0.4, "", "configmaps", times=1)
    started = time.monotonic()
    core.list_config_map_for_all_namespaces()
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    core.list_config_map_for_all_namespaces()
    assert time.monotonic() - started < 0.4


def test_tampered_and_expired_continue_tokens(
    server: TestAPIServer, api_client: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api_client)
    token = apps.list_deployment_for_all_namespaces(limit=2).metadata.var_continue
    for bad in ("garbage!", token[:-6], "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MCwic3RhcnQiOiIifQ"):
        with pytest.raises(ApiException) as err:
            apps.list_deployment_for_all_namespaces(limit=2, _continue=bad)
        assert err.value.status == 400, bad
        assert "invalid continue token" in err.value.body
    # After the store changes and is compacted, the old snapshot is gone: 410.
    server.delete("", "configmaps", "alpha", "settings-alpha")
    server.delete("apps", "deployments", "alpha", "web")
    server.compact()
    with pytest.raises(ApiException) as err:
        apps.list_deployment_for_all_namespaces(limit=2, _continue=token)
    assert err.value.status == 410


def test_token_required_and_custom_resources(tmp_path: Path) -> None:
    widget = custom_resource("example.com", "v1", "Widget", short_names=("wd",))
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"},
        "spec": {"size": 3},
    }
    with TestAPIServer([obj], resources=[widget], token="s3cret") as srv:
        cfg = client.Configuration()
        from kubernetes import config as kconfig

        kconfig.load_kube_config(
            config_file=str(srv.write_kubeconfig(tmp_path / "kc")), client_configuration=cfg
        )
        with client.ApiClient(cfg) as api:
            custom = client.CustomObjectsApi(api)
            listed = custom.list_cluster_custom_object("example.com", "v1", "widgets")
            assert [i["metadata"]["name"] for i in listed["items"]] == ["w1"]
            got = custom.get_namespaced_custom_object(
                "example.com", "v1", "default", "widgets", "w1"
            )
            assert got["spec"] == {"size": 3} and got["kind"] == "Widget"
        bad = client.Configuration()
        bad.host = srv.url
        bad.api_key = {"authorization": "Bearer wrong"}
        with client.ApiClient(bad) as api, pytest.raises(ApiException) as err:
            client.CoreV1Api(api).list_namespace()
        assert err.value.status == 401
