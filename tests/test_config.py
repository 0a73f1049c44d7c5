import pytest

from driftwatch.config import ConfigError, load_config
from driftwatch.gitsource import GitSource, open_repo
from driftwatch.scan import load_repo_config
from tests.conftest import RepoFactory


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


HOSTILE_RULES = """\
ignoreDifferences:
  - id: sidecar
    kind: Deployment
    jqPathExpressions:
      - .spec.replicas
      - {expression}
"""


@pytest.mark.parametrize(
    ("expression", "used"),
    [
        ("'$ENV | tostring | error'", "$ENV"),
        ("env.HOME", "env"),
        ("input", "input"),
        ("$__loc__", "$__loc__"),
        ("'\"x\" | halt_error'", "halt_error"),
    ],
)
def test_jq_reading_outside_the_object_is_refused_at_load(expression: str, used: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(HOSTILE_RULES.format(expression=expression), "repo/driftwatch.yaml")
    assert info.value.line == 6
    assert info.value.key == "ignoreDifferences.0.jqPathExpressions.1"
    assert str(info.value).startswith(
        f"repo/driftwatch.yaml:6: ignoreDifferences.0.jqPathExpressions.1: rule sidecar: uses {used}:"
    )


def test_jq_syntax_error_names_file_line_and_rule() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(HOSTILE_RULES.format(expression="'.spec.template.spec.containers['"))
    assert info.value.line == 6
    assert info.value.key == "ignoreDifferences.0.jqPathExpressions.1"
    assert "rule sidecar: does not compile: syntax error" in info.value.message


def test_jq_rule_without_id_is_named_by_its_index() -> None:
    text = "ignoreDifferences:\n  - kind: Secret\n  - jqPathExpressions: ['.a | nosuchfn']\n"
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert info.value.line == 3
    assert "rule ignoreDifferences[1]: does not compile: nosuchfn/0 is not defined" in str(
        info.value
    )


def test_argo_cd_jq_rules_load() -> None:
    config = load_config(
        "ignoreDifferences:\n"
        "  - kind: MutatingWebhookConfiguration\n"
        "    jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle']\n"
        "  - group: apps\n    kind: Deployment\n    jqPathExpressions:\n"
        "      - '.spec.template.spec.initContainers[] | select(.name == \"injected-init-container\")'\n"
        "      - '.spec.template.spec.containers[] | select(.name == \"istio-proxy\") | .image'\n"
        "      - '..|.caBundle?'\n"
    )
    assert len(config.ignoreDifferences[1].jqPathExpressions) == 3


@pytest.mark.parametrize(
    "section, key",
    [
        (
            "sources:\n  kubernetes:\n    paths:\n    - '**/*.yaml'\n    - ",
            "sources.kubernetes.paths.1",
        ),
        (
            "sources:\n  kubernetes:\n    exclude:\n    - '**/*.yaml'\n    - ",
            "sources.kubernetes.exclude.1",
        ),
        ("policies:\n  paths:\n  - '**/*.yaml'\n  - ", "policies.paths.1"),
    ],
)
def test_an_invalid_path_glob_is_a_config_error(section: str, key: str) -> None:
    # wcmatch refuses a brace expansion past its pattern limit: the scan would crash on it.
    text = section + "'{1..99999}.yaml'\n"
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert (info.value.key, info.value.line) == (key, text.count("\n"))
    assert info.value.message.startswith("invalid glob '{1..99999}.yaml': Pattern limit")


def test_a_config_file_that_is_not_utf8_names_the_offset(make_repo: RepoFactory) -> None:
    repo = make_repo({"a.yaml": "apiVersion: v1\n"})
    (repo / "driftwatch.yaml").write_bytes(b"targets: []\n# caf\xe9\n")
    make_repo({})
    with pytest.raises(ConfigError) as info:
        load_repo_config(GitSource(open_repo(str(repo))), None)
    assert (
        str(info.value)
        == "driftwatch.yaml:2: not valid UTF-8: byte 0xe9 at offset 17 cannot be decoded"
    )


def test_server_side_diff_settings() -> None:
    config = load_config(
        "targets:\n  - name: prod\n    serverSideDiff: true\n"
        "managers:\n  serverSideDiffManager: argocd-controller\n"
    )
    assert config.targets[0].serverSideDiff is True
    assert config.managers.serverSideDiffManager == "argocd-controller"
    assert load_config("").managers.serverSideDiffManager is None
    with pytest.raises(ConfigError) as info:
        load_config("targets:\n  - name: acct\n    provider: aws\n    serverSideDiff: true\n")
    assert "serverSideDiff is not a setting of aws targets" in str(info.value)
    assert info.value.line == 2
