"""Every value written by ``set_value`` reads back exactly, whatever the original style.

Hypothesis generates values (with the characters YAML treats specially: line breaks of
every kind, controls, quotes, indicators, document markers, a BOM, non-BMP characters,
strings that look like other types) and original scalar styles, in block maps, block
sequences, flow collections and nested; both of driftwatch's readers (libyaml and yaml-rs)
must read the edited file as the original data with exactly that value replaced.
"""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any

import yaml
import yaml_rs
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from driftwatch.reconcile.textedit import identical, set_value
from driftwatch.yamldoc import parse_documents

NASTY = [
    "\n",
    "\r\n",
    "\r",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x9b",
    "\t",
    " ",
    "  ",
    "---",
    "...",
    "--- x",
    "#",
    " #",
    ": ",
    ":",
    "- ",
    "'",
    '"',
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a",
    "*a",
    "!tag",
    "%YAML",
    "|",
    ">",
    "?",
    "@",
    "`",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "1e3",
    "1.5",
    "0x1F",
    "0o17",
    "0755",
    "~",
    "null",
    "true",
    "2026-01-02",
    ".inf",
    ".nan",
    "-",
    "<<",
    "=",
    "😀",
    "é",
    "\u00a0",
]
VALUES = st.one_of(
    st.lists(st.sampled_from(NASTY) | st.text(max_size=5), max_size=8).map("".join),
    st.text(),
    st.sampled_from(NASTY),
)
# Integers as Kubernetes (and the YAML reader) hold them: 64 bits.
INTEGERS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS = st.one_of(VALUES, st.none(), st.booleans(), INTEGERS, st.floats(allow_nan=True))
DATA = st.one_of(
    SCALARS,
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(VALUES, inner, max_size=3),
        max_leaves=6,
    ),
)

# The original scalar, as it appears in each style ({col} is where block lines start).
STYLES = {
    "plain": "old value",
    "single": "'old value'",
    "double": '"old value"',
    "literal": "|\n{col}old\n{col}value",
    "literal-strip": "|-\n{col}old value",
    "literal-keep": "|+\n{col}old value\n",
    "folded": ">\n{col}old\n{col}value",
}
BLOCK_STYLES = {k for k, v in STYLES.items() if v[0] in "|>"}

# (template, path, column where block lines start, allowed in flow)
CONTEXTS = {
    "block map": ("a: 1  # first\nk: {S}\nz: end  # last\n", ("k",), 2),
    "block sequence": ("items:\n  - first\n  - {S}\n  - last\n", ("items", 1), 4),
    "nested": (
        "spec:\n  containers:\n    - name: web\n      env:\n        k: {S}\n"
        "      after: x\n---\nkind: Other\n",
        ("spec", "containers", 0, "env", "k"),
        10,
    ),
    "compact list item": ("- k: {S}\n  other: 1\n", (0, "k"), 4),
    "flow map": ("m: {a: 1, k: {S}, z: 2}  # flow\n", ("m", "k"), 0),
    "flow sequence": ("l: [1, {S}, 3]\n", ("l", 1), 0),
}
FLOW = {"flow map", "flow sequence"}


def original(context: str, style: str) -> str:
    template, _, column = CONTEXTS[context]
    scalar = STYLES[style].replace("{col}", " " * column)
    return template.replace("{S}", scalar)


def readings(text: str) -> list[list[Any]]:
    """The documents as both readers see them (and as driftwatch's reader does)."""
    libyaml = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
    fast = [d.data for d in parse_documents(text)]
    chunks = re.split(r"\r?\n---\r?\n", text)
    rust = [yaml_rs.loads(chunk, parse_datetime=False) for chunk in chunks]
    return [libyaml, fast, [d for d in rust if d is not None]]


def replaced(docs: list[Any], path: tuple[str | int, ...], value: Any) -> list[Any]:
    expected = copy.deepcopy(docs)
    node = expected[0]
    for seg in path[:-1]:
        node = node[seg]
    node[path[-1]] = value
    return expected


CONTEXT_STYLES = [
    (context, style)
    for context in CONTEXTS
    for style in STYLES
    if not (context in FLOW and style in BLOCK_STYLES)
]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(CONTEXT_STYLES), value=DATA, crlf=st.booleans())
@example(where=("block map", "single"), value="line1\nline2\n", crlf=False)
@example(where=("block map", "plain"), value="---\nkind: Secret\n", crlf=False)
@example(where=("block map", "double"), value="a\x00b\x85c", crlf=False)
@example(where=("block sequence", "literal"), value="  lead\ntrail  \n\n", crlf=False)
@example(where=("nested", "folded"), value="a\nb\n\nc d\n  more\nend", crlf=False)
@example(where=("flow map", "plain"), value="a, b: [c]", crlf=False)
@example(where=("block map", "plain"), value="\u2028 ", crlf=False)
@example(where=("nested", "plain"), value={"\n": None}, crlf=False)
@example(where=("block map", "plain"), value=["\n"], crlf=True)
def test_set_value_reads_back_exactly(where: tuple[str, str], value: Any, crlf: bool) -> None:
    context, style = where
    text = original(context, style)
    if crlf:
        text = text.replace("\n", "\r\n")
    _, path, _ = CONTEXTS[context]
    before = readings(text)[0]
    after = set_value(text, 0, path, value)
    if crlf:  # the file's line endings are kept
        assert "\n" not in after.replace("\r\n", "")
    for reading in readings(after):
        assert identical(reading, replaced(before, path, value)), (after, reading)


@settings(max_examples=200, deadline=None)
@given(
    where=st.sampled_from(CONTEXT_STYLES), word=st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
)
def test_a_value_the_style_can_hold_keeps_the_style(where: tuple[str, str], word: str) -> None:
    context, style = where
    if word in ("yes", "no", "on", "off", "y", "n", "null", "true", "false"):
        word += "x"
    text = original(context, style)
    _, path, _ = CONTEXTS[context]
    after = set_value(text, 0, path, word)
    node = yaml.compose_all(after, Loader=yaml.CSafeLoader).__next__()
    for seg in path:
        node = (
            next(v for k, v in node.value if k.value == seg)
            if isinstance(seg, str)
            else node.value[seg]
        )
    kept = {"plain": "", "single": "'", "double": '"'}.get(style, STYLES[style][0])
    assert node.style == kept and node.value == word
    # Only the scalar's own lines change: one run of lines is replaced.
    matcher = difflib.SequenceMatcher(None, text.splitlines(), after.splitlines(), autojunk=False)
    assert [tag for tag, *_ in matcher.get_opcodes() if tag != "equal"] == ["replace"]
