"""Text from Git or a cluster is data: make it safe to put on any output.

One rule for every surface (terminal, TUI, Markdown, JUnit, SARIF, CLI messages): a
character that is not visible text is shown as a visible ``\\x1b``-style escape, so it
can neither drive the terminal, nor start a new line, nor reorder, hide or disguise text.
"Not visible" is, by Unicode general category:

- ``Cc`` controls (``\\n``, ``\\r`` and ``\\t`` too: a newline inside a name is exactly how
  a fake report line is printed), ``Zl`` / ``Zp`` line and paragraph separators;
- ``Cf`` format characters: bidi controls (U+061C, U+200E/F, U+202A–E, U+2066–9),
  zero-width characters (U+200B–D, U+2060, U+FEFF), the soft hyphen, tag characters;
- ``Cs`` lone surrogates, ``Co`` private use and ``Cn`` unassigned code points (the
  noncharacters U+FFFE/U+FFFF among them), whose rendering nobody can predict;
- the other default-ignorable code points, which render as nothing although they are
  letters or marks: U+034F, the Hangul fillers, variation selectors, the Mongolian and
  Khmer invisible ones.

The output never holds a raw line break, so a single-line field stays on one line;
multi-line blocks (diffs) go through :func:`printable_lines` and the caller lays the
lines out.  A literal backslash is kept as it is, so escaping twice changes nothing
(``printable(printable(s)) == printable(s)``) and an inserted hidden character always
shows.  Rich markup is never parsed: callers print with ``markup=False`` or build
``rich.text.Text`` objects.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

_ASCII_HIDDEN = re.compile(r"[\x00-\x1f\x7f]")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside those categories.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180D),  # Mongolian free variation selectors
    (0x180F, 0x180F),
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_IGNORABLE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _IGNORABLE_RANGES) + "]")
_LINE_END = re.compile(r"\r?\n")


@lru_cache(maxsize=4096)
def is_hidden(char: str) -> bool:
    """Whether ``char`` (one character) is shown escaped by :func:`printable`."""
    return unicodedata.category(char) in _HIDDEN_CATEGORIES or bool(_IGNORABLE.match(char))


def _escape(char: str) -> str:
    # \n \t \r, \xNN, \uNNNN or \UNNNNNNNN: short, ASCII, and what Python and JSON users read.
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


def printable(text: object) -> str:
    """``text`` on one line, every invisible character (see the module) escaped visibly."""
    text = str(text)
    # Fast paths, in C: str.isprintable() is False for every category escaped here (and
    # for spaces other than U+0020, which the slow path keeps).
    if text.isprintable():
        return text if text.isascii() or not _IGNORABLE.search(text) else _slow(text)
    if text.isascii():
        return _ASCII_HIDDEN.sub(lambda m: _escape(m.group()), text)
    return _slow(text)


def _slow(text: str) -> str:
    return "".join(_escape(ch) if is_hidden(ch) else ch for ch in text)


def printable_lines(text: object) -> list[str]:
    """A multi-line block (a diff, a multi-line value) as its lines, each :func:`printable`.

    Lines end at ``\\n`` or ``\\r\\n`` only: a lone ``\\r``, U+2028 or any other separator
    is shown escaped inside its line.  The caller puts each line on its own output line.
    """
    lines = _LINE_END.split(str(text))
    if lines[-1] == "":  # a final line end ends the last line, it does not start one
        lines.pop()
    return [printable(line) for line in lines]


def internal_error(exc: BaseException) -> str:
    """A bug or input nothing foresaw, in one line: ``driftwatch: internal error: KeyError:
    'x' (run with --debug for the traceback)``; the CLI and the TUI say it the same way."""
    lines = str(exc).splitlines()
    message = f"{type(exc).__name__}: {printable(lines[0])}" if lines else type(exc).__name__
    return f"driftwatch: internal error: {message} (run with --debug for the traceback)"


def short_value(value: object, limit: int = 60) -> str:
    """A field value on one line: strings as they are, anything else as JSON; escaped."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
