"""jq from the repo: refused statically, and bounded in a worker that has nothing to leak."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwatch.engine.jqsandbox import Outcome, Sandbox, forbidden_use

OBJ = {
    "metadata": {"name": "web", "annotations": {"x": "1", "keep": "2"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "initContainers": [{"name": "injected-init-container", "image": "init"}],
                "containers": [
                    {"name": "web", "image": "nginx", "env": [{"name": "A", "value": "b"}]},
                    {"name": "istio-proxy", "image": "envoy"},
                ],
                "volumes": [{"name": "vault-token"}, {"name": "data"}],
            }
        },
    },
    "webhooks": [{"clientConfig": {"caBundle": "Zm9v"}}, {"name": "no-client-config"}],
}

# Argo CD's documented jqPathExpressions (docs/user-guide/diffing.md) and the forms
# users paste: each still selects what it says.
ARGO_CD_FORMS = {
    '.spec.template.spec.initContainers[] | select(.name == "injected-init-container")': [
        ("spec", "template", "spec", "initContainers", 0)
    ],
    ".webhooks[]?.clientConfig.caBundle": [  # jq paths include keys that are absent
        ("webhooks", 0, "clientConfig", "caBundle"),
        ("webhooks", 1, "clientConfig", "caBundle"),
    ],
    '.spec.template.spec.containers[] | select(.name == "istio-proxy") | .image': [
        ("spec", "template", "spec", "containers", 1, "image")
    ],
    '.metadata.annotations | select(has("x")) | ."x"': [("metadata", "annotations", "x")],
    ".spec.replicas": [("spec", "replicas")],
    '.spec.template.spec.volumes[] | select(.name | startswith("vault-"))': [
        ("spec", "template", "spec", "volumes", 0)
    ],
    '.metadata.annotations["keep"]': [("metadata", "annotations", "keep")],
    ".spec.template.spec.containers[].env": [
        ("spec", "template", "spec", "containers", 0, "env"),
        ("spec", "template", "spec", "containers", 1, "env"),
    ],
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(timeout=1.0)
    yield box
    box.close()


@pytest.mark.parametrize(
    ("expression", "refused"),
    [
        ("$ENV | tostring | error", "$ENV"),
        ("env.HOME", "env"),
        ("input", "input"),
        ("[inputs]", "inputs"),
        ("input_filename", "input_filename"),
        ("$__loc__", "$__loc__"),
        ('"x" | halt_error', "halt_error"),
        ("halt", "halt"),
        (". | debug", "debug"),
        (". | stderr", "stderr"),
        ("get_search_list", "get_search_list"),
        ('import "evil" as e; .', "import"),
        ('include "evil"; .', "include"),
        ("$ ENV", "$ENV"),  # a space between $ and the name
        ('"\\(env.AWS_SECRET_ACCESS_KEY)"', "env"),  # code inside an interpolation
        ('"a\\("b\\(env | length)")"', "env"),  # nested interpolations
        ('"x\\(")")" | env', "env"),  # a parenthesis inside an interpolated string
        ("def f: env; f", "env"),
        (".[env.HOME]", "env"),
        ("evil::f", "evil::f"),
        ("..env", "env"),  # after recursion a name is not a field
    ],
)
def test_reading_outside_the_object_is_refused(expression: str, refused: str) -> None:
    problem = forbidden_use(expression)
    assert problem is not None
    assert f"uses {refused}" in problem


@pytest.mark.parametrize(
    "expression",
    [
        *ARGO_CD_FORMS,
        "..|.caBundle?",
        ".spec.env",  # a field called env is the object's, not the environment
        '.spec.containers[] | select(.name == "env" or .name == "input")',  # strings are data
        '."$ENV"',
        "[.[] | .input?]",
    ],
)
def test_path_expressions_users_write_are_allowed(expression: str) -> None:
    assert forbidden_use(expression) is None


def test_very_long_expressions_are_refused() -> None:
    assert "longer than" in (forbidden_use(".a" * 2000) or "")


@pytest.mark.parametrize(("expression", "paths"), ARGO_CD_FORMS.items())
def test_argo_cd_forms_select_their_paths(
    sandbox: Sandbox, expression: str, paths: list[tuple[str | int, ...]]
) -> None:
    (outcome,) = sandbox.paths([(expression, OBJ)])
    assert outcome.error is None
    assert outcome.paths == paths


def test_recursive_descent_finds_every_ca_bundle(sandbox: Sandbox) -> None:
    (outcome,) = sandbox.paths([("..|.caBundle?", OBJ)])
    assert outcome.paths is not None
    assert ("webhooks", 0, "clientConfig", "caBundle") in outcome.paths


def test_the_worker_has_no_environment_to_leak(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even if a builtin slipped past the static check, the worker's environment is empty."""
    monkeypatch.setenv("DW_CANARY_TOKEN", "s3cr3t-canary")
    outcomes = sandbox.paths(
        [("$ENV", OBJ), ("env", OBJ), ("$ENV | tostring | error", OBJ), ('"x" | halt_error', OBJ)]
    )
    text = repr(outcomes)
    assert "s3cr3t-canary" not in text
    assert "DW_CANARY_TOKEN" not in text
    assert "HOME" not in text and "PATH" not in text
    assert all(o.paths is None and o.error for o in outcomes)
    # halt_error did not take the worker down: it still answers.
    assert sandbox.paths([(".spec.replicas", OBJ)])[0].paths == [("spec", "replicas")]


@pytest.mark.parametrize(
    "expression",
    [
        "def f: f; f",
        "[range(1e8)]",
        "[limit(1e9; repeat(1))]",
        '"x" * 1e9',
        "[range(1e9)] | length",
    ],
)
def test_runaway_expressions_are_stopped_and_the_worker_replaced(
    sandbox: Sandbox, expression: str
) -> None:
    started = time.monotonic()
    bomb, after = sandbox.paths([(expression, OBJ), (".spec.replicas", OBJ)])
    assert time.monotonic() - started < 5
    assert bomb.stopped
    assert bomb.paths is None
    assert bomb.error in ("took longer than 1 s", "exceeded the memory limit")
    assert after.paths == [("spec", "replicas")]  # the next job ran in a fresh worker


def test_a_stopped_expression_is_not_run_again_in_the_same_batch(sandbox: Sandbox) -> None:
    sandbox.paths([(".spec", OBJ)])  # the worker is up: only the timeout is timed
    started = time.monotonic()
    outcomes = sandbox.paths([("def f: f; f", OBJ), ("def f: f; f", {"other": 1})])
    assert time.monotonic() - started < 1.9  # one timeout, not two
    assert all(o.stopped for o in outcomes)


def test_runtime_errors_are_short_one_line_reasons(sandbox: Sandbox) -> None:
    boom, long, not_a_path = sandbox.paths(
        [
            ('.spec | error("boom")', OBJ),
            ('.spec | error("line one\\nline two" + ("x" * 500))', OBJ),
            ("1", OBJ),
        ]
    )
    assert boom.error == "boom"
    assert not boom.stopped
    assert long.error is not None
    assert long.error.startswith("line one")
    assert "line two" not in long.error
    assert len(long.error) <= 200
    assert not_a_path.error is not None
    assert "Invalid path expression" in not_a_path.error


def test_a_list_the_object_lacks_selects_nothing(sandbox: Sandbox) -> None:
    absent, wrong_type = sandbox.paths(
        [(".spec.ports[] | .port", OBJ), (".metadata.name[] | .x", OBJ)]
    )
    assert absent.paths == []
    assert absent.error is None
    assert wrong_type.paths is None
    assert wrong_type.error == 'Cannot iterate over string ("web")'


def test_an_expression_cannot_close_the_path_wrapper(sandbox: Sandbox) -> None:
    """``.a) | (1`` would turn ``[path(…)]`` into something else: it must not compile."""
    (outcome,) = sandbox.paths([(".a) | (1", OBJ)])
    assert outcome.paths is None
    assert outcome.error is not None
    assert "syntax error" in outcome.error


def test_check_reports_compile_errors(sandbox: Sandbox) -> None:
    good, bad, undefined = sandbox.check([".spec.replicas", ".spec[", ".spec | nosuchfn"])
    assert good.error is None
    assert bad.error is not None and "syntax error" in bad.error
    assert undefined.error is not None and "nosuchfn/0 is not defined" in undefined.error


def test_too_many_paths_is_an_error_not_a_flood() -> None:
    patient = Sandbox(timeout=30)  # a slow machine must not turn this into a timeout
    try:
        (outcome,) = patient.paths([("range(100001) as $i | .spec", OBJ)])
    finally:
        patient.close()
    assert outcome.paths is None
    assert outcome.error == "selects more than 100000 paths"


def test_an_old_worker_is_replaced_between_batches(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import driftwatch.engine.jqsandbox as jqsandbox

    monkeypatch.setattr(jqsandbox, "RECYCLE_AFTER", 0.0)
    assert sandbox.paths([(".spec.replicas", OBJ)])[0].paths == [("spec", "replicas")]
    first = sandbox._worker
    assert sandbox.paths([(".spec.replicas", OBJ)])[0].paths == [("spec", "replicas")]
    assert sandbox._worker is not first
    assert first is not None and first.process.poll() is not None  # the old one is gone


def test_a_sandbox_that_cannot_start_fails_each_job_without_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    box = Sandbox()
    (outcome,) = box.paths([(".spec", OBJ)])
    assert outcome == Outcome(error="the jq sandbox could not start", stopped=True)
    (checked,) = box.check([".spec"])
    assert checked.stopped


def test_a_forked_child_gets_its_own_worker(sandbox: Sandbox) -> None:
    import os

    assert sandbox.paths([(".spec.replicas", OBJ)])[0].paths == [("spec", "replicas")]
    pid = os.fork()
    if pid == 0:  # the child: answers must come from a worker of its own
        ok = sandbox.paths([(".metadata.name", OBJ)])[0].paths == [("metadata", "name")]
        os._exit(
            0 if ok and sandbox._worker is not None and sandbox._worker.owner == os.getpid() else 1
        )
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's worker was left alone.
    assert sandbox.paths([(".spec.replicas", OBJ)])[0].paths == [("spec", "replicas")]


# Property: the static check sees a builtin exactly where jq runs it.  jq itself is the
# oracle: ``env`` is redefined to fail, and expressions are built from pieces where it
# may be code, a field, a string, an interpolation or a comment.
_PIECES = st.recursive(
    st.sampled_from(["env", ".env", ".a", '"env"', '"e\\\\(nv)"', "1"]),
    lambda inner: st.one_of(
        inner.map(lambda t: f"({t})"),
        inner.map(lambda t: f"[{t}]"),
        inner.map(lambda t: f'"x\\({t})y"'),  # an interpolation: code inside a string
        inner.map(lambda t: f"{t} # env\n"),  # a comment
        st.tuples(inner, inner).map(lambda ts: f"({ts[0]}), ({ts[1]})"),
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(_PIECES)
def test_the_static_check_agrees_with_jq_on_where_env_runs(expression: str) -> None:
    import jq  # in-process is safe here: env is redefined and nothing else can escape

    program = jq.compile(f'def env: error("ENV-CALLED"); {expression}')
    try:
        program.input_value({"a": {}, "env": {}}).all()
        called = False
    except ValueError as exc:
        called = "ENV-CALLED" in str(exc)
    assert (forbidden_use(expression) is not None) == called, expression


def test_a_process_holding_many_files_still_talks_to_its_worker() -> None:
    """A long-lived process (the TUI, a test run) may hold file descriptors past
    select()'s FD_SETSIZE (1024): the worker's pipe then has a number beyond it."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    box = Sandbox(timeout=5.0)
    try:
        (outcome,) = box.paths([(".spec.replicas", OBJ)])
        assert outcome.paths == [("spec", "replicas")]
    finally:
        box.close()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
