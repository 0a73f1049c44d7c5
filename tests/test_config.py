import pytest

from driftwatch.config import ConfigError, load_config


def test_defaults_without_a_file() -> None:
    config = load_config("")
    assert "kubectl-edit" in config.managers.manual
    assert config.unmanaged.excludeNamespaces == ["kube-*"]


def test_unknown_key_names_file_line_and_key() -> None:
    text = "targets:\n  - name: prod\n    contxt: prod-admin\n"
    with pytest.raises(ConfigError) as info:
        load_config(text, "repo/driftwatch.yaml")
    assert info.value.line == 3
    assert info.value.key == "targets.0.contxt"
    assert str(info.value) == "repo/driftwatch.yaml:3: targets.0.contxt: unknown key"


def test_wrong_type_names_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        load_config("unmanaged:\n  includeOwned: [1]\n")
    assert info.value.key == "unmanaged.includeOwned"
    assert info.value.line == 2


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        load_config("targets:\n  - name: [unclosed\n")
    assert info.value.line is not None


def test_kustomize_remote_references_are_off_unless_allowed() -> None:
    assert load_config("").sources.kubernetes.kustomize.allowRemote is False
    allowed = load_config("sources:\n  kubernetes:\n    kustomize: {allowRemote: true}\n")
    assert allowed.sources.kubernetes.kustomize.allowRemote is True
    with pytest.raises(ConfigError) as info:
        load_config("sources:\n  kubernetes:\n    kustomize:\n      allowRemotes: true\n")
    assert (info.value.line, info.value.key) == (4, "sources.kubernetes.kustomize.allowRemotes")
