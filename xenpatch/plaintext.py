"""What a value written into a header (a commit's subject, a mail's
To:) or shown on a terminal may hold: plain text, no control character.

C0 controls but TAB (CR and LF above all: a newline in a value would start
a header of its own, a Bcc: say), DEL, C1 controls and the Unicode line
and paragraph separators, which some mail software also breaks lines at.
A value written over several lines (a commit's body) may hold its
newlines and tabs.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_TEXT_LINES = "\n\r"


def control_char(value: str, multiline: bool = False) -> str | None:
    """The first character of ``value`` that plain text of its kind may
    not hold, or None."""
    for m in _CONTROL.finditer(value):
        if not (multiline and m.group(0) in _TEXT_LINES):
            return m.group(0)
    return None
