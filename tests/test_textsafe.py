"""One rule for every output: no character that is not visible text gets through raw."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from driftwatch.cli import main
from driftwatch.testing.fixtures import record_write, served
from driftwatch.textsafe import is_hidden, printable, printable_lines, short_value
from tests.conftest import AuditFactory, git

# What issue 10 lists, plus the ASCII controls that forge or erase lines.
HOSTILE_CHARS = (
    "\n\r\t\x1b\x00\x7f\x85\u2028\u2029\u061c\u200e\u202e\u2066\u2069\u200b\u200d"
    "\u2060\ufeff\u00ad\u180e\u034f\u115f\u1160\u3164\uffa0\ufe0f\ufffe\uffff"
    "\ue000\U000e0001\U000e0041\U000e007f\U000e0100\ud800"
)
FORGED = "\n✓ Secret prod/admin [prod] in_sync"
FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

hidden_chars = st.characters(codec=None).filter(is_hidden) | st.sampled_from(HOSTILE_CHARS)


def test_every_listed_character_is_escaped() -> None:
    for char in HOSTILE_CHARS:
        shown = printable(f"a{char}b")
        assert char not in shown, repr(char)
        assert shown.startswith("a\\") and shown.endswith("b")


def test_a_forged_line_stays_inside_its_line() -> None:
    assert printable("web" + FORGED) == "web\\n✓ Secret prod/admin [prod] in_sync"
    assert printable("ok\r✓ fine\x1b[2K") == "ok\\r✓ fine\\x1b[2K"


def test_visible_text_is_unchanged() -> None:
    for text in ("nginx:1.25", "café 日本語 ✓ ⎈ ☁ → …", "C:\\Users\\x", "a b", "emoji 🙂"):
        assert printable(text) == text


def test_multi_line_blocks_are_split_by_line_ends_only() -> None:
    block = "--- a\r\n+++ b\n+x\u2028\u2028y\n-a\rb\n"
    assert printable_lines(block) == ["--- a", "+++ b", "+x\\u2028\\u2028y", "-a\\rb"]
    assert printable_lines("") == []
    assert printable_lines("a\n\n") == ["a", ""]


def test_short_value_is_one_escaped_line() -> None:
    assert short_value("a\nb\u202e") == "a\\nb\\u202e"
    assert short_value({"k": "v\u2028"}) == '{"k": "v\\u2028"}'
    assert "\n" not in short_value("x" * 100 + "\n", limit=10)


@given(st.text(alphabet=st.characters(codec=None)))
def test_output_never_holds_a_forbidden_character(text: str) -> None:
    shown = printable(text)
    assert not any(unicodedata.category(ch) in FORBIDDEN_CATEGORIES for ch in shown)
    assert not any(is_hidden(ch) for ch in shown)
    assert printable(shown) == shown  # escaping is idempotent: composing outputs is safe
    assert shown == "".join(printable(ch) for ch in text)  # the fast paths change nothing
    for line in printable_lines(text):
        assert printable(line) == line


@given(st.text(), hidden_chars, st.integers(min_value=0))
def test_an_inserted_hidden_character_always_shows(text: str, char: str, at: int) -> None:
    at %= len(text) + 1
    assert printable(text[:at] + char + text[at:]) != printable(text)


@given(st.text(), hidden_chars, hidden_chars, st.integers(min_value=0))
def test_distinct_hidden_characters_show_distinctly(
    text: str, first: str, second: str, at: int
) -> None:
    at %= len(text) + 1
    one, two = text[:at] + first + text[at:], text[:at] + second + text[at:]
    assert (printable(one) == printable(two)) == (first == second)


# The attack end to end, shared by the tests of every surface: hostile text from Git (a
# file name, a data key, a commit's author) and from the cluster (a value, an annotation
# written by hand), scanned through the CLI against the test API server.

ATTACK = FORGED + "\r\x1b[2J\u2028\u2029\u061c\u202e\u2066\u200b\ufeff\u00ad<b>|`[x](y)"
RAW = [ch for ch in HOSTILE_CHARS if ch != "\n"]
BRANCH = "fix\u202e\u2028\u2066\u200b\ufeff\u061c\u00adx"  # what Git lets a ref name hold  # "\n" only ends lines the renderer made


def hostile_scan(audit: AuditFactory, tmp_path: Path, fmt: str) -> tuple[int, str]:
    """``driftwatch scan --format fmt -o file`` of the hostile repo and cluster."""
    desired = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": {f"key{ATTACK}": "a", "level": "info"},
    }
    live = record_write(
        served(desired),
        "kubectl-edit",
        {
            "metadata": {"annotations": {"note": f"ann{ATTACK}"}},
            "data": {"level": f"v{ATTACK}", f"key{ATTACK}": "b"},
        },
    )
    files = {
        "driftwatch.yaml": "policies: {builtin: false}\n",
        f"shop/f{ATTACK}.yaml": json.dumps(desired),
    }
    repo, _, _ = audit(files, [live])
    git(repo, "branch", BRANCH)  # a pull request's branch, named by its author
    out = tmp_path / f"report.{fmt}"
    code = main(
        [
            *("scan", "--repo", str(repo), "--ref", BRANCH, "--kubeconfig", str(tmp_path / "kc")),
            *("--format", fmt, "-o", str(out)),
        ]
    )
    return code, out.read_text()


def assert_unforged(output: str) -> None:
    """No line of ``output`` is the forged one, and no hostile character is there raw."""
    assert not any(line.lstrip(" -|*>#").startswith("✓ Secret") for line in output.split("\n"))
    assert [ch for ch in RAW if ch in output] == []


def test_the_hostile_scan_reaches_every_field(audit: AuditFactory, tmp_path: Path) -> None:
    code, text = hostile_scan(audit, tmp_path, "json")  # JSON keeps the data as it is
    assert code == 2
    (resource,) = json.loads(text)["resources"]
    assert resource["status"] == "modified"
    assert json.loads(text)["scan"]["ref"] == BRANCH
    assert resource["source"]["path"] == f"shop/f{ATTACK}.yaml"
    assert {c["live"] for c in resource["changes"]} >= {f"v{ATTACK}", f"ann{ATTACK}"}
    assert f"data[{json.dumps('key' + ATTACK)}]" in {c["path"] for c in resource["changes"]}
