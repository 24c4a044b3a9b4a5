"""Function-like macros whose body is an access path of their parameter.

    #define dom_iommu(d)        (&(d)->iommu)
    #define vcpu_vlapic(x)      (&(x)->arch.hvm.vlapic)

The preprocessor makes ``hd = dom_iommu(d)`` the same as ``hd = &d->iommu``;
read as a call, ``hd`` was a local of unknown origin, and the lock
``hd->arch.mapping_lock`` one no caller or callee could name: a callee
taking ``d->iommu.arch.mapping_lock`` under its own ``hd`` met no held lock
of its caller.  A local assigned once from such a macro is an alias of its
expansion (fileanalysis.FileAnalysis._filled()).  Only a body that is the
parameter and fields (``->f``, ``.f``), with at most a leading ``&``: a
macro computing anything else stays a call, and so do the accessors the
value rules name (``p2m_get_hostp2m()``, a path on Arm), which values.py
reads as calls.
"""

from __future__ import annotations

import re

from xenpatch.analysis.lockkeys import balanced_parens

# &(param)->a.b, (param)->a, param.a ... inside the outer parentheses.
_PATH = re.compile(
    r"(&?)\s*(?:\(\s*([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*))((?:\s*(?:->|\.)\s*[A-Za-z_]\w*)+)")


def path_of(params: list[str], body: str | None) -> tuple[str, str, str] | None:
    """A macro's (parameter, "&" or "", the fields after it, as ``->iommu``)
    if its body (headers.define_body()) is such a path, else None."""
    if len(params) != 1 or body is None:
        return None
    while body.startswith("(") and body.endswith(")") and balanced_parens(body[1:-1]):
        body = body[1:-1].strip()
    m = _PATH.fullmatch(body)
    if m is None or (m.group(2) or m.group(3)) != params[0]:
        return None
    return params[0], m.group(1), re.sub(r"\s+", "", m.group(4))


def expand(macro: tuple[str, str, str], arg: str) -> str:
    """The macro's body with ``arg`` (a path's text) for its parameter:
    ``&(d)->iommu`` as the preprocessor gives it."""
    _, amp, fields = macro
    return f"{amp}({arg}){fields}"
