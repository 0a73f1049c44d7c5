"""Text from Git or a cluster is data: make it safe to put on a terminal.

Control characters (ANSI/OSC escape sequences start with one) are shown as visible
``\\x1b``-style escapes instead of being sent to the terminal.  Rich markup is never
parsed: callers print with ``markup=False`` or build ``rich.text.Text`` objects.
"""

from __future__ import annotations

import json
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` with every control or bidi-override character escaped visibly."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def short_value(value: object, limit: int = 60) -> str:
    """A field value on one line: strings as they are, anything else as JSON; escaped."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
