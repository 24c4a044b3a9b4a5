"""How a summary names a function's locks through its parameters (``$0->lock``)
and its result (``$ret``), and how those names are bound to a call's
arguments: the half of the summaries every call site uses."""

from __future__ import annotations

import re
from dataclasses import replace

from xenpatch.analysis import flagbits, pathconds
from xenpatch.analysis.functions import FunctionInfo
from xenpatch.analysis.lockkeys import KEY_HEAD, lock_key, squash
from xenpatch.analysis.locktable import Effect, Summary, held_unnamed


def template(key: str, info: FunctionInfo, ret_var: str | None = None) -> str | None:
    """A key in terms of parameters ($i) and of the returned value ($ret),
    or None if it names a local."""
    m = KEY_HEAD.match(key)
    if m is None:
        # *(*lock) for a spinlock_t **lock parameter.
        m2 = re.fullmatch(r"\*\(\*([A-Za-z_]\w*)\)", key)
        if m2 and m2.group(1) in info.params:
            return f"**${info.params.index(m2.group(1))}"
        return inner_template(key, info)
    if m.group(2) not in info.params and m.group(2) not in info.locals and "(" in key:
        # An accessor's result: p2m_get_hostp2m(d)->lock.
        return inner_template(key, info)
    head = m.group(2)
    if head == ret_var:
        return f"{m.group(1)}$ret{key[m.end():]}"
    if head in info.params:
        return f"{m.group(1)}${info.params.index(head)}{key[m.end():]}"
    if head in info.locals:
        return None
    # A global's lock, perhaps indexed by a parameter or a local
    # (chans[slot].lock of "c = &chans[slot]").
    return inner_template(key, info)


def accessed_template(key: str, info: FunctionInfo) -> str | None:
    """A key reached through a local holding an accessor's result (p2m =
    p2m_get_hostp2m(d): p2m->lock) as the lock of that result in terms of
    parameters (p2m_get_hostp2m(${0})->lock), which a caller names the
    same way (actions.py maps it to a local of its own); None if the key
    is not of such a local.  For the locks a function takes and drops
    (takes.py): an accessor returning its object locked
    (p2m_get_nestedp2m_locked()) leaves a release in its caller that is
    not a take."""
    m = KEY_HEAD.match(key)
    call = info.accessed.get(m.group(2)) if m is not None and not m.group(1) else None
    if call is None or m is None or m.group(2) not in info.locals:
        return None
    return inner_template(call + key[m.end():], info)


_VAR = re.compile(r"(?<![.>\w$])[A-Za-z_]\w*")


def inner_template(key: str, info: FunctionInfo,
                   hidden: frozenset[str] = frozenset()) -> str | None:
    """A key whose parameters sit inside it (``(p2m_get_hostp2m(d))->lock``)
    with each one as ``${i}``; None if it names a local (or a name of
    ``hidden``: a parameter the body changes, guardtests.py)."""
    names = set(_VAR.findall(key))
    if names & ((info.locals - set(info.params)) | hidden):
        return None

    def sub(m: re.Match[str]) -> str:
        v = m.group(0)
        return f"${{{info.params.index(v)}}}" if v in info.params else v

    return _VAR.sub(sub, key)


_INNER_PARAM = re.compile(r"\$\{(\d+)\}")


def bind_inner(t: str, args: list[str]) -> str | None:
    """``t`` with each ``${i}`` a call's argument i, parenthesised; None if
    the call lacks one."""
    if any(int(i) >= len(args) for i in _INNER_PARAM.findall(t)):
        return None
    return squash(_INNER_PARAM.sub(lambda m: "(" + args[int(m.group(1))] + ")", t))


def instantiate(e: Effect, args: list[str], target: str | None = None) -> Effect:
    def sub(t: str | None) -> str | None:
        if t is None or "$" not in t:
            return t
        if "${" in t:
            bound = bind_inner(t, args)
            return t if bound is None else bound
        mm = re.fullmatch(r"\*\*\$(\d+)", t)
        if mm is not None and int(mm.group(1)) < len(args):
            # **lock with &l passed: the lock *l.
            return lock_key(lock_key(args[int(mm.group(1))]).lstrip("*") or "?")
        m = re.match(r"^(\*?)\$(\d+|ret)(.*)$", t)
        if m is None:
            return t
        if m.group(2) == "ret":
            if target is None:
                return t
            arg = target
        else:
            i = int(m.group(2))
            if i >= len(args):
                return t
            arg = args[i]
        if m.group(1):
            return lock_key(arg) + m.group(3)
        a = squash(arg)
        if a.startswith("&") and m.group(3).startswith("->"):
            # (&x)->f is x.f
            return lock_key(a) + "." + m.group(3)[2:]
        return squash("(" + arg + ")" + m.group(3))

    e = replace(e, key=sub(e.key) or e.key, owner=sub(e.owner))
    if e.nonnull is not None:
        e = replace(e, nonnull=_arg_of(e.nonnull, args))
    if e.when is not None:
        neg = e.when.startswith("!")
        bare = e.when.lstrip("!")
        # A bit of a flags parameter ("$4&0x4"): that bit of the argument.
        a = _arg_of(bare, args) if "&" not in bare else flagbits.bind(bare, args)
        if a is not None and "&" in bare:
            a = squash(a)
        e = replace(e, when=None if a is None else ("!" if neg else "") + a)
    if e.conds:
        e = replace(e, conds=pathconds.bind(e.conds, args))
    if e.mode_arg is not None:
        a = _arg_of(e.mode_arg, args)
        truth = _truth(a)
        e = replace(e, mode_arg=None if truth is not None else a,
                    mode=("write" if truth else "read") if truth is not None else "")
    return e


def _arg_of(templ: str, args: list[str]) -> str | None:
    """The argument text "$i" stands for (squashed), or None."""
    m = re.fullmatch(r"\$(\d+)", templ)
    if m is None or int(m.group(1)) >= len(args):
        return None
    return squash(args[int(m.group(1))])


def _truth(arg: str | None) -> bool | None:
    """A constant argument's truth: true/false, 1/0, NULL."""
    if arg is None:
        return None
    if re.fullmatch(r"(?:0[xX])?0+[uUlL]*|false|NULL", arg):
        return False
    if re.fullmatch(r"(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*|true", arg):
        return True
    return None


def named_at_call(e: Effect, dropped: bool) -> Effect | None:
    """A callee's effect as the call can name it: a lock it returns held
    whose result the statement drops (``pcpu_schedule_lock(cpu);``, 4.1's
    form, released by another name) is held by no name this function can
    release it by: unknown, not nothing (no guessing); other effects on
    what the call cannot name are left out (a result handed on, as in
    ``return c ? lock_it(x) : NULL``, is the summary's to state)."""
    if "$" not in e.key:
        return e
    if dropped and e.action in ("acquire", "try"):
        return held_unnamed(e.via)
    return None


# Integer types as FunctionInfo records them (their words run together).
_INTEGER_TYPE = re.compile(
    r"(?:const|volatile|signed|unsigned|short|long|int|char)+|"
    r"(?:const)?(?:bool|bool_t|_Bool|u?int(?:8|16|32|64)_t|[us](?:8|16|32|64)|size_t)")


def lock_typed(e: Effect, info: FunctionInfo) -> Effect:
    """A lock named by a variable the function declares as an integer
    (``pcpu_schedule_unlock(cpu)`` where the table describes today's
    ``pcpu_schedule_unlock(lock, cpu)``): the table's word does not fit
    this call, so its effect on what is held is unknown."""
    m = re.fullmatch(r"\*([A-Za-z_]\w*)", e.key)
    if m is None or e.action not in ("acquire", "release", "try"):
        return e
    ty = info.param_types.get(m.group(1)) or info.local_types.get(m.group(1))
    if ty is None or not _INTEGER_TYPE.fullmatch(ty.replace(" ", "")):
        return e
    return held_unnamed(e.via, e.kind)


def outs_at_call(s: Summary, args: list[str]) -> tuple[tuple[str, str, str], ...]:
    """A summary's out-parameter facts at a call: for ``&v`` passed as the
    out-parameter, what v holds after success and after failure."""
    out = []
    for i, ok, fail in s.outs if s.conditional is not None else ():
        if i < len(args) and (m := re.fullmatch(r"&\(?\s*([A-Za-z_]\w*)\s*\)?", args[i].strip())):
            out.append((m.group(1), ok, fail))
    return tuple(out)
