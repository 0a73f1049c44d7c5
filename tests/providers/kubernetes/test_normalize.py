import base64
import json

import pytest

from driftwatch.engine.paths import ItemKey
from driftwatch.providers.kubernetes.normalize import (
    Ownership,
    SecretMasker,
    mask_secrets,
    scalars_equal_in,
    scrub,
    secret_values,
    strip_noise,
)
from driftwatch.providers.kubernetes.schema import builtin_schema

LIMITS = ("spec", "containers", ItemKey((("name", "web"),)), "resources", "limits")
POD = scalars_equal_in(builtin_schema().kind("v1", "Pod"))


@pytest.mark.parametrize(
    "desired, live, field",
    [("1", "1000m", "cpu"), ("1Gi", "1024Mi", "memory"), (2, "2", "cpu"), ("0.5", "500m", "cpu")],
)
def test_quantities_compare_canonically(desired: object, live: object, field: str) -> None:
    assert POD((*LIMITS, field), desired, live)


def test_different_quantities_differ() -> None:
    assert not POD((*LIMITS, "memory"), "1Gi", "1G")


def test_int_or_string_ports() -> None:
    service = scalars_equal_in(builtin_schema().kind("v1", "Service"))
    assert service(("spec", "ports", 0, "targetPort"), 8080, "8080")
    assert not service(("spec", "ports", 0, "targetPort"), 8080, "http")
    # Not an int-or-string field: a string is not a number.
    assert not service(("spec", "replicas"), 3, "3")


@pytest.mark.parametrize(
    ("api_version", "kind", "path", "desired", "live"),
    [
        # resource.Quantity wherever the schema says so, not only under limits/requests.
        ("autoscaling/v2", "HorizontalPodAutoscaler", ("spec", "metrics", 0, "pods", "target", "averageValue"), "0.5", "500m"),
        ("v1", "LimitRange", ("spec", "limits", 0, "default", "memory"), "1024Mi", "1Gi"),
    ],
)  # fmt: skip
def test_quantities_by_the_schema_type(
    api_version: str, kind: str, path: tuple[object, ...], desired: object, live: object
) -> None:
    assert scalars_equal_in(builtin_schema().kind(api_version, kind))(path, desired, live)


def test_a_string_named_like_a_quantity_is_a_string() -> None:
    config_map = scalars_equal_in(builtin_schema().kind("v1", "ConfigMap"))
    assert not config_map(("data", "limits"), "0.5", "500m")
    widget = scalars_equal_in(builtin_schema().kind("example.com/v1", "Widget"))
    assert not widget(("spec", "storage", "size"), "1Gi", "1024Mi")  # stored as sent


def test_strip_noise_drops_server_fields_and_applier_annotations() -> None:
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "x",
            "namespace": "d",
            "uid": "1",
            "resourceVersion": "9",
            "managedFields": [],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "a"},
            "labels": {"kustomize.toolkit.fluxcd.io/name": "apps"},
        },
        "data": {"k": "v"},
        "status": {},
    }
    assert strip_noise(live) == {"metadata": {"annotations": {"team": "a"}}, "data": {"k": "v"}}


def test_secret_string_data_equals_base64_data_and_is_masked() -> None:
    masker = SecretMasker(b"key")
    desired = mask_secrets({"stringData": {"password": "hunter2"}}, "Secret", masker)
    live = mask_secrets(
        {"data": {"password": base64.b64encode(b"hunter2").decode()}}, "Secret", masker
    )
    assert desired == live
    assert "hunter2" not in repr(desired)
    assert desired["data"]["password"].startswith("<secret hmac:")
    other = mask_secrets(
        {"data": {"password": base64.b64encode(b"other").decode()}}, "Secret", masker
    )
    assert other != live


def test_secret_hash_is_keyed() -> None:
    a = SecretMasker(b"key-a").mask(b"same")
    b = SecretMasker(b"key-b").mask(b"same")
    assert a != b


def test_ownership_picks_latest_writer_and_ignores_item_membership_for_defaults() -> None:
    live = {
        "metadata": {
            "managedFields": [
                {
                    "manager": "kubectl-client-side-apply",
                    "operation": "Update",
                    "time": "2026-01-01T00:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"web"}': {".": {}, "f:image": {}, "f:args": {}}
                            }
                        }
                    },
                },
                {
                    "manager": "kubectl-edit",
                    "operation": "Update",
                    "time": "2026-01-02T00:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}},
                },
            ]
        }
    }
    owners = Ownership(live)
    web = ("spec", "containers", ItemKey((("name", "web"),)))
    image_writer = owners.writer((*web, "image"), False, ["kubectl-edit"])
    assert image_writer and image_writer.manager == "kubectl-edit"
    # args is atomic: a change inside it belongs to whoever owns the list.
    args_writer = owners.writer((*web, "args", 1), False, [])
    assert args_writer and args_writer.manager == "kubectl-client-side-apply"
    # A server default inside an applied item is owned by nobody.
    assert owners.writer((*web, "terminationMessagePath"), True, []) is None


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def test_masking_is_idempotent_and_covers_the_last_applied_annotation() -> None:
    masker = SecretMasker(b"k" * 32)
    applied = {"kind": "Secret", "stringData": {"password": "hunter2"}}
    live = {
        "kind": "Secret",
        "metadata": {"name": "db", "annotations": {LAST_APPLIED: json.dumps(applied)}},
        "data": {"password": base64.b64encode(b"hunter2").decode()},
    }
    once = mask_secrets(live, "Secret", masker)
    mask = masker.mask(b"hunter2")
    assert once["data"] == {"password": mask}
    assert json.loads(once["metadata"]["annotations"][LAST_APPLIED])["data"] == {"password": mask}
    assert "hunter2" not in json.dumps(once)
    assert mask_secrets(once, "Secret", masker) == once  # a masked snapshot read back
    assert live["data"]["password"] != mask  # the input is not modified


def test_an_unreadable_last_applied_annotation_of_a_secret_is_dropped() -> None:
    masker = SecretMasker(b"k" * 32)
    live = {
        "metadata": {"annotations": {LAST_APPLIED: '{"stringData": {"password": "hunt', "a": "b"}},
        "data": {},
    }
    assert mask_secrets(live, "Secret", masker)["metadata"]["annotations"] == {"a": "b"}


def test_secret_values_lists_every_clear_form_and_scrub_replaces_them() -> None:
    masker = SecretMasker(b"k" * 32)
    applied = json.dumps({"stringData": {"token": "tok-123"}})
    secret = {
        "metadata": {"annotations": {LAST_APPLIED: applied}},
        "data": {"password": base64.b64encode(b"hunter2").decode()},
    }
    clear = secret_values(secret, "Secret", masker)
    assert clear["hunter2"] == clear["aHVudGVyMg=="] == masker.mask(b"hunter2")
    assert clear["tok-123"] == masker.mask(b"tok-123")
    text = scrub("a hunter2 b aHVudGVyMg== c tok-123", clear)
    assert text == " ".join(
        ["a", masker.mask(b"hunter2"), "b", masker.mask(b"hunter2"), "c", masker.mask(b"tok-123")]
    )
    assert secret_values({"data": {"x": "eA=="}}, "ConfigMap", masker) == {}


def test_a_malformed_secret_is_masked_whole() -> None:
    masker = SecretMasker(b"k" * 32)
    masked = mask_secrets({"data": "aHVudGVyMg==", "stringData": ["x"]}, "Secret", masker)
    assert "aHVudGVyMg" not in json.dumps(masked) and "'x'" not in json.dumps(masked)
    assert set(masked) == {"data"} and list(masked["data"]) == [""]
