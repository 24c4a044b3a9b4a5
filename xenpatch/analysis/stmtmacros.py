"""A statement macro read as its one lock call.

Xen's lock macros of 2010-2011 wrap the lock call in bookkeeping::

    #define foo_lock(d) do {                                  \\
        if ( (d)->locker == current->processor ) { printk(...); BUG(); } \\
        spin_lock(&(d)->foo_lock);                            \\
        ASSERT((d)->locker == -1);                            \\
        (d)->locker = current->processor;                     \\
    } while (0)

Such a macro does to the locks what its one lock call does.  This module
reads the body (of ``do { ... } while (0)`` or ``({ ... })``) as statements
and accepts it when every statement is one of:

* the lock call, a call made as a statement whose name has "lock" in it,
  in any case (``LOCK_BIGLOCK(d)``) -- exactly one such, on a lock named
  through a parameter;
* another call made as a statement: a *companion*, which must be an
  assertion (ASSERT, the configuration's BUG_ON-like names);
* a store (``x = e``, ``x op= e``, ``x++``): changes no lock, unless a call
  in it does;
* an if-guard without else: either every statement of it is a store, or it
  ends in a call that must never return (a *dead end*: ``{ printk(...);
  BUG(); }``, whatever it did before is on a path that stops).

Anything else -- a return, goto, break, continue, loop, switch, else, a
declaration, a nested block, a parameter run as a statement or called, a
second lock-named call, an unknown call made as a statement -- leaves the
macro unread, an unknown call as before.  An unknown call is refused
because it may lock (a function of another file whose summary the wrapper
would hide); the "lock" in the lock call's name only chooses which call to
try, the table then decides (a target reaching no op is dropped, and the
companions, dead ends and the calls inside expressions are checked against
the table and the configuration by LockTable.with_wrappers).
"""

from __future__ import annotations

import re

from xenpatch.analysis.locktable import Stated

# Brackets, statement ends, and the string and character literals whose
# contents are none of those.
_TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|[()\[\]{};]')
_OPEN = {"(": ")", "[": "]", "{": "}"}
_IF = re.compile(r"if\s*\(")
_ELSE = re.compile(r"else\b")
_LEAVES = re.compile(r"\b(?:return|goto|break|continue)\b")
_KEYWORD = re.compile(
    r"(?:return|goto|break|continue|for|while|do|switch|case|default|else|if"
    r"|typeof|__typeof__|struct|union|enum|static|const|volatile|register)\b"
)
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\((.*)\)", re.S)
_CALLEE = re.compile(r"([A-Za-z_]\w*)\s*\(")
# An assignment operator (not ==, <=, >=, !=).
_ASSIGN = re.compile(r"(?<![=!<>])(?:<<|>>|[-+*/%&|^])?=(?!=)")
# What may stand left of "=": an lvalue, no declaration ("int x", two words).
_LVALUE = re.compile(r"[\w\s.\->\[\]()*&]+")
_TWO_WORDS = re.compile(r"\w\s+\w")
_STEP = re.compile(r"(?:\+\+|--)\s*([^;]+)|([^;]+?)\s*(?:\+\+|--)")


def close_after(text: str, at: int) -> int | None:
    """The index after the bracket closing the one at ``at``."""
    stack: list[str] = []
    for m in _TOKEN.finditer(text, at):
        t = m.group()
        if t in _OPEN:
            stack.append(_OPEN[t])
        elif t in (")", "]", "}"):
            if not stack or stack.pop() != t:
                return None
            if not stack:
                return m.end()
    return None


def _statement_end(text: str, at: int) -> int | None:
    """The index of the ``;`` ending the statement at ``at`` (len(text)
    when the text ends first: the last statement of ``({ ... })`` may have
    none); None for an unbalanced text or a block in it."""
    depth = 0
    for m in _TOKEN.finditer(text, at):
        t = m.group()
        if t == ";" and depth == 0:
            return m.start()
        if t == "{" and depth == 0:
            return None
        if t in _OPEN:
            depth += 1
        elif t in (")", "]", "}"):
            depth -= 1
            if depth < 0:
                return None
    return len(text) if depth == 0 else None


def statements(text: str) -> list[tuple[str, str, str]] | None:
    """``text`` as ("expr", statement, "") and ("if", condition, body)
    items; None when it holds any other statement."""
    out: list[tuple[str, str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and (text[i].isspace() or text[i] == ";"):
            i += 1
        if i >= n:
            return out
        if (m := _IF.match(text, i)) is not None:
            close = close_after(text, m.end() - 1)
            if close is None:
                return None
            cond = text[m.end():close - 1]
            j = close
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] == "{":
                end = close_after(text, j)
                if end is None:
                    return None
                body, i = text[j + 1:end - 1], end
            else:
                semi = _statement_end(text, j)
                if semi is None:
                    return None
                body, i = text[j:semi], semi + 1
            while i < n and text[i].isspace():
                i += 1
            if _ELSE.match(text, i):
                return None
            out.append(("if", cond, body))
            continue
        if text[i] == "{" or _KEYWORD.match(text, i):
            return None
        semi = _statement_end(text, i)
        if semi is None:
            return None
        out.append(("expr", text[i:semi].strip(), ""))
        i = semi + 1


def _call(stmt: str) -> tuple[str, str] | None:
    """A statement that is one call: its name and argument text."""
    m = _CALL.fullmatch(stmt)
    if m is None:
        return None
    close = close_after(stmt, m.start(2) - 1)
    return (m.group(1), m.group(2)) if close == len(stmt) else None


def _store(stmt: str) -> bool:
    """``lvalue = e``, ``lvalue op= e``, ``++lvalue``, ``lvalue--``."""
    if (m := _ASSIGN.search(stmt)) is not None:
        left = stmt[:m.start()]
        return bool(left.strip()) and _LVALUE.fullmatch(left) is not None \
            and _TWO_WORDS.search(left.strip()) is None \
            and left.count("(") == left.count(")")
    m = _STEP.fullmatch(stmt)
    if m is None:
        return False
    lv = (m.group(1) or m.group(2)).strip()
    return _LVALUE.fullmatch(lv) is not None and _TWO_WORDS.search(lv) is None


def statement_call(body: str, params: list[str]) -> tuple[str, str, Stated] | None:
    """The one lock call (name, argument text) of a statement macro's body
    and its bookkeeping, or None when the body is not of that shape."""
    items = statements(body)
    if not items or len(items) < 2:
        return None
    lock: tuple[str, str] | None = None
    companions: list[str] = []
    dead_ends: list[str] = []
    inner: list[str] = []
    names = set(params)
    for kind, text, body_ in items:
        if kind == "if":
            inner.extend(_CALLEE.findall(text))
            guard = statements(body_)
            if not guard:
                return None
            if all(k == "expr" and _store(t) for k, t, _ in guard):
                inner.extend(_CALLEE.findall(body_))
                continue
            last = guard[-1]
            end = _call(last[1]) if last[0] == "expr" else None
            if end is None or end[0] in names or _LEAVES.search(body_):
                return None
            dead_ends.append(end[0])
            continue
        if text in names:
            return None  # a parameter run as a statement: the caller's code
        call = _call(text)
        if call is not None:
            name, args = call
            if name in names:
                return None
            if "lock" in name.lower():  # LOCK_BIGLOCK(d) too
                if lock is not None:
                    return None  # two lock calls: which one it does is not one answer
                lock = call
            else:
                companions.append(name)
                inner.extend(_CALLEE.findall(args))
            continue
        if not _store(text):
            return None
        inner.extend(_CALLEE.findall(text))
    if lock is None:
        return None
    lock_args = _CALLEE.findall(lock[1])
    # The lock must be named through a parameter: the macro's own object.
    if not any(re.search(rf"\b{re.escape(p)}\b", lock[1]) for p in names):
        return None
    inner.extend(lock_args)
    return lock[0], lock[1], Stated(tuple(companions), tuple(dead_ends),
                                    tuple(sorted(set(inner) - names)))
