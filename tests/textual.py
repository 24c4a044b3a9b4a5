"""An oracle independent of xenpatch's parser: rwlock calls found in the text.

Comments, literals and preprocessor lines (so #define bodies) are blanked
first; what remains that reads NAME( is a call site a parse must not lose.
"""

from __future__ import annotations

import re

LOCK_CALLS = (
    "read_lock",
    "write_lock",
    "read_unlock",
    "write_unlock",
    "rwlock_init",
    "rw_is_locked",
    "rw_is_write_locked",
)
_NOT_CODE = re.compile(
    rb"""/\*.*?(?:\*/|\Z)|//(?:\\\r?\n|[^\n])*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'
       |^[ \t]*\#(?:/\*.*?(?:\*/|\Z)|\\\r?\n|[^\n])*""",
    re.S | re.M | re.X,
)
_LOCK_CALL = re.compile(rb"\b(" + "|".join(LOCK_CALLS).encode() + rb")\s*\(")


def textual_lock_calls(raw: bytes) -> list[tuple[int, str]]:
    code = _NOT_CODE.sub(lambda m: re.sub(rb"[^\n]", b" ", m.group()), raw)
    return [(m.start(1), m.group(1).decode()) for m in _LOCK_CALL.finditer(code)]
