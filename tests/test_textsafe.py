"""One rule for every output: no character that is not visible text gets through raw."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from driftwatch.textsafe import is_hidden, printable, printable_lines, short_value

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
