"""IRQ-state findings (XL011-XL014) of one function's dataflow run: the
issues xenpatch.analysis.irqstate finds at each IRQ move, as raw findings
with the path that reaches them."""

from __future__ import annotations

from xenpatch.analysis.irqstate import issues
from xenpatch.analysis.pathstate import UNKNOWN, Result
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.lint.checks import CHECKS, RawFinding

_CODES = {
    "lock_irq_off": "XL011",
    "enable_in_section": "XL012",
    "restore_flags": "XL013",
    "call_enables": "XL014",
}

# XL017 (lint/irqsafe.py) reads the same IRQ states.
IRQ_CODES = frozenset(_CODES.values()) | {"XL017"}


def irq_findings(f: FunctionUnit, res: Result, enabled: frozenset[str]) -> list[RawFinding]:
    """One finding per (check, node, key), on its shortest witness path."""
    if f.info is None or not enabled & set(_CODES.values()):
        return []
    out: dict[tuple[str, int, str], RawFinding] = {}
    for node, state, line, col, issue in issues(res, f.info.acts, UNKNOWN):
        cid = _CODES[issue.check]
        k = (cid, node, issue.key)
        if cid not in enabled or k in out:
            continue
        msg = CHECKS[cid].message.format(key=issue.key.rstrip("'"), **issue.fmt)
        # The path shown starts where the section at fault opened.
        out[k] = RawFinding(cid, node, state, line, col, issue.key, msg, issue.site)
    return list(out.values())
