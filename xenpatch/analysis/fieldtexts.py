"""What a file's text says of the calls through struct fields, before any
parse: which fields it calls through (and how often: a count a parse can
only match or fall short of), and whether it stores into some of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from xenpatch.analysis import fnptrs

# p->f(, (*p->f)(, s.f(
FIELD_CALL = re.compile(rb"(?:->|\.)\s*([A-Za-z_]\w*)\s*\)?\s*\(")


def fields_called(raw: bytes) -> dict[str, int]:
    """Every field a call goes through in the text (``p->f(``, ``(*p->f)(``,
    ``s.f(``, a use of a field-calling macro: fnptrs.field_macros()), with
    how often: a text count, which a parse can only match or fall short of."""
    return fields_called_in(fnptrs.code_only(raw))


def fields_called_in(raw: bytes) -> dict[str, int]:
    """fields_called() of text already blanked by fnptrs.code_only()."""
    out: dict[str, int] = {}
    for m in FIELD_CALL.finditer(raw):
        n = m.group(1).decode()
        out[n] = out.get(n, 0) + 1
    for name, i in fnptrs.field_macros(raw).items():
        for m in re.finditer(rb"\b" + name.encode() + rb"\s*\(", raw):
            args = _top_args(raw, m.end())
            if i < len(args) and re.fullmatch(rb"\s*[A-Za-z_]\w*\s*", args[i]):
                n = args[i].strip().decode()
                out[n] = out.get(n, 0) + 1
    return out


def stores_any(raw: bytes, fields: Iterable[str]) -> bool:
    """Does the text store something into one of ``fields`` (``.f = ``,
    ``->f = ``)?"""
    fs = [f.encode() for f in fields]
    if not fs or not any(f in raw for f in fs):
        return False
    pat = rb"(?:->|\.)\s*(?:" + b"|".join(re.escape(f) for f in fs) + rb")\s*=(?!=)"
    return re.search(pat, raw) is not None


def _top_args(raw: bytes, start: int) -> list[bytes]:
    """The top-level arguments of the call whose "(" ends before ``start``."""
    depth, out, cur = 0, [], start
    for j in range(start, min(len(raw), start + 4000)):
        c = raw[j:j + 1]
        if c in (b"(", b"[", b"{"):
            depth += 1
        elif c in (b")", b"]", b"}"):
            if depth == 0:
                out.append(raw[cur:j])
                return out
            depth -= 1
        elif c == b"," and depth == 0:
            out.append(raw[cur:j])
            cur = j + 1
    return []


__all__ = ["FIELD_CALL", "fields_called", "fields_called_in", "stores_any"]
