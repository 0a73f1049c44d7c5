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
