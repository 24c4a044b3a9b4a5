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
value rules name (``p2m_get_hostp2m()``, a path on Arm and x86 alike),
which values.py reads as calls for what they return.  A lock reached
through such an accessor is still the lock its path names: a key with the
call at its head is read as the expansion (head_expanded()), and a key
through the path as the local holding the call's result (local_prefix();
actions.fill_actions()), so ``p2m_get_hostp2m(d)->lock``, ``p2m->lock``
and ``d->arch.p2m.lock`` are one lock in the file's own functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from xenpatch.analysis.lockkeys import balanced_parens, squash

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


# A key whose head is a call on a variable: p2m_get_hostp2m(d)->lock.
_CALL_HEAD = re.compile(r"([A-Za-z_]\w*)\(\s*([A-Za-z_]\w*)\s*\)(?=->|\.)")


def head_expanded(key: str, macros: Mapping[str, tuple[str, str, str]]) -> str:
    """``key`` with a head call of one of ``macros`` on a variable replaced
    by its expansion: ``p2m_get_hostp2m(d)->lock`` is ``d->arch.p2m.lock``
    where the macro is ``(&(d)->arch.p2m)``, ``d->arch.p2m->lock`` where it
    is ``((d)->arch.p2m)`` -- the form a lock named through the path itself
    has (lockkeys.apply_aliases()).  A call on a field stays a call:
    ``p2m_get_hostp2m(p2m->domain)`` goes through a back-pointer, which
    may or may not lead to the held ``p2m->lock``, and the call at the
    key's head is what says so (entrykeys.names_indirectly())."""
    m = _CALL_HEAD.match(key)
    if m is None or m.group(1) not in macros:
        return key
    amp, fields = macros[m.group(1)][1:]
    rest = key[m.end():]
    path = squash(f"({m.group(2)}){fields}")
    if not amp:
        return path + rest
    return path + "." + rest[2:] if rest.startswith("->") else key


# An accessor call as a local holds its result: p2m_get_hostp2m(v->domain).
_CALL = re.compile(r"([A-Za-z_]\w*)\((.*)\)")


def local_prefix(call: str, macros: Mapping[str, tuple[str, str, str]]) -> str | None:
    """What a key through ``local = call`` (a one-argument call of one of
    ``macros``, its argument a path) starts with when it is named through
    the path instead: ``d->arch.p2m.`` for ``p2m_get_hostp2m(d)`` where the
    macro is ``(&(d)->arch.p2m)`` (``local->lock`` is ``d->arch.p2m.lock``),
    ``d->arch.p2m->`` where it is ``((d)->arch.p2m)``; None for any other
    call."""
    m = _CALL.fullmatch(call)
    if m is None or m.group(1) not in macros or "," in m.group(2):
        return None
    _, amp, fields = macros[m.group(1)]
    path = squash(f"({m.group(2)}){fields}")
    return path + ("." if amp else "->")
