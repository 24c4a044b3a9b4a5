"""Lock expressions as keys: one text per lock, whatever the spelling.

``&gt->lock``, ``&(gt)->lock`` and ``&(*gt).lock`` name one lock, the key
``gt->lock``; a plain pointer ``l`` names ``*l``.  Keys are what the held
sets, summaries and findings speak of, so every pattern that takes a key
apart (its head variable, the variables it depends on) lives here.
"""

from __future__ import annotations

import re
from functools import lru_cache

# The variable a key starts from, with the star of ``*l``: group 1 the
# star, group 2 the name.  A key of an expression (``*(a+b)``) has none.
KEY_HEAD = re.compile(r"^(\*?)([A-Za-z_]\w*)")
# The same in a summary's template, where the head may be ``$0``.
TEMPLATE_HEAD = re.compile(r"^(\*?)([A-Za-z_\$]\w*)")
# The variable a lock is reached through, also inside ``*(v...)``.
HOLDER_HEAD = re.compile(r"^\*?\(?([A-Za-z_]\w*)")
_KEY_VAR = re.compile(r"(?<![.>\w])[A-Za-z_]\w*")


def key_head(key: str) -> str | None:
    """``d`` of ``d->lock`` and of ``*d``; None for an expression's key."""
    m = KEY_HEAD.match(key)
    return m.group(2) if m is not None else None


def holder(key: str) -> str | None:
    """The variable a lock is reached through: ``p`` of ``p->lock``,
    ``*(p->l)``."""
    m = HOLDER_HEAD.match(key)
    return m.group(1) if m is not None else None


@lru_cache(maxsize=4096)
def ids_of_text(t: str) -> frozenset[str]:
    """Every name a C expression's text reads, members' names included
    (``i<p->n``: i, p and n), as a repeated condition's facts need them."""
    return frozenset(_ANY_NAME.findall(t))


_ANY_NAME = re.compile(r"[A-Za-z_]\w*")


def key_vars(key: str) -> set[str]:
    """Variables a lock key depends on: its head and any subscript index
    (``d->arch.nested_p2m[i]->lock`` depends on d and i)."""
    return set(_KEY_VAR.findall(key))


_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_WS = re.compile(r"\s+")
# (x), (x->y.z), (*p) not preceded by an identifier character (a call).
_SIMPLE_PAREN = re.compile(r"(?<![\w\]\)])\((\*?[A-Za-z_\$]\w*(?:(?:->|\.)\w+|\[[^\[\]()]*\])*)\)")
# (f(x)), (f(x)->y): an accessor call's result (p2m_get_hostp2m(d)).
_CALL_PAREN = re.compile(
    r"(?<![\w\]\)])\(([A-Za-z_\$]\w*\([^()]*\)(?:(?:->|\.)\w+)*)\)"
)
# *(&x): x (a lock stored through an out-parameter, rcu_lock_remote_domain_by_id(dom, &d)).
_DEREF_ADDR = re.compile(r"\*\(&([A-Za-z_\$]\w*(?:(?:->|\.)\w+)*)\)")
_DEREF_FIELD = re.compile(r"\(\*([A-Za-z_\$]\w*(?:->\w+)*)\)\.")
_DEREF_DOT = re.compile(r"^\*([A-Za-z_\$]\w*)\.")
# (&x->y)->z: x->y.z, the member of the object whose address was taken
# (p2m = &d->arch.p2m makes p2m->lock the lock d->arch.p2m.lock).
_ADDR_FIELD = re.compile(
    r"(?<![\w\]\)])\(&([A-Za-z_\$]\w*(?:(?:->|\.)\w+|\[[^\[\]()]*\])*)\)->")
_TOP_OP = re.compile(r"[+\-*/%<>=!?:|^~,](?!>)")


# Four calls in five repeat an earlier text (the same lock expression,
# parameter type or condition, in function after function).
@lru_cache(maxsize=1 << 14)
def squash(text: str) -> str:
    """Expression text without comments, blanks or redundant parentheses."""
    t = _WS.sub("", _COMMENT.sub(" ", text) if "/" in text else text)
    if "(" not in t and "&*" not in t and "*&" not in t:
        return t  # what the loop below rewrites needs one of these
    prev = None
    while prev != t:
        prev = t
        t = _DEREF_FIELD.sub(r"\1->", t)
        t = _DEREF_ADDR.sub(r"\1", t)
        t = _ADDR_FIELD.sub(r"\1.", t)
        t = _SIMPLE_PAREN.sub(r"\1", t)
        t = _CALL_PAREN.sub(r"\1", t)
        t = t.replace("&*", "").replace("*&", "")
        if "((" in t:
            t = _undoubled(t)
    return t


def _undoubled(t: str) -> str:
    """``((x))`` as ``(x)``: a wrapper's ``&(gt)->lock`` given ``(c ? a :
    b)`` names the lock the unwrapped ``&(c ? a : b)->lock`` does.  Not a
    call's parentheses (``f((a, b))`` passes one argument)."""
    match: dict[int, int] = {}
    opened: list[int] = []
    for i, c in enumerate(t):
        if c == "(":
            opened.append(i)
        elif c == ")" and opened:
            match[opened.pop()] = i
    drop: set[int] = set()
    for i, j in match.items():
        if t[i + 1:i + 2] == "(" and match.get(i + 1) == j - 1 and (
                i == 0 or not (t[i - 1].isalnum() or t[i - 1] in "_$)]")):
            drop.update((i, j))
    return "".join(c for k, c in enumerate(t) if k not in drop) if drop else t


def lock_key(arg_text: str) -> str:
    """The identity of the lock a pointer argument designates.

    ``&gt->lock``, ``&(gt)->lock`` and ``&(*gt).lock`` are all ``gt->lock``;
    a plain pointer ``l`` designates ``*l``.
    """
    t = squash(arg_text)
    while t.startswith("(") and t.endswith(")") and balanced_parens(t[1:-1]):
        t = squash(t[1:-1])
    if t.startswith("&"):
        inner = t[1:]
        if inner.startswith("(") and inner.endswith(")") and balanced_parens(inner[1:-1]):
            inner = squash(inner[1:-1])
        inner = _DEREF_DOT.sub(r"\1->", inner)
        return inner
    if _TOP_OP.search(t.replace("->", "")) and not t.startswith("*"):
        return "*(" + t + ")"
    return "*" + t if not t.startswith("*") else "*(" + t + ")"


def balanced_parens(t: str) -> bool:
    depth = 0
    for c in t:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def apply_aliases(key: str, aliases: dict[str, str]) -> str:
    """Rewrite the variable a key starts from by what it was assigned:
    with ``gt = d->grant_table``, ``gt->lock`` becomes
    ``d->grant_table->lock``.  ``aliases`` maps a name to the normalised
    expression assigned to it."""
    for _ in range(4):
        m = TEMPLATE_HEAD.match(key)
        if m is None or m.group(2) not in aliases:
            return key
        star, name = m.group(1), m.group(2)
        rest = key[m.end() :]
        value = aliases[name]
        if star:
            # *p with p = &x->lock designates x->lock.
            key = lock_key(value) + rest if value.startswith("&") else "*" + value + rest
        elif value.startswith("&") and rest.startswith("->"):
            key = squash("(" + value + ")" + rest)  # (&x.y)->lock: x.y.lock
        else:
            key = value + rest
    return key


# An accessor call at a key's head: p2m_get_hostp2m(d)->lock.
_HEAD_CALL = re.compile(r"([A-Za-z_]\w*)\(([^()]*)\)")
_NAME = re.compile(r"(?<![.>\w$])[A-Za-z_]\w*")


def alias_args(key: str, aliases: dict[str, str]) -> str:
    """A key whose head is a call (an accessor's result) with the aliases
    in the call's arguments resolved: with ``d = v->domain``,
    ``p2m_get_hostp2m(d)->lock`` is ``p2m_get_hostp2m(v->domain)->lock``
    (apply_aliases() rewrites the head variable only)."""
    m = _HEAD_CALL.match(key)
    if m is None or not aliases:
        return key
    args = _NAME.sub(lambda x: "(" + aliases[x.group(0)] + ")" if x.group(0) in aliases
                     else x.group(0), m.group(2))
    if args == m.group(2):
        return key
    return squash(f"{m.group(1)}({args})") + key[m.end():]


_PATH = r"[A-Za-z_]\w*(?:(?:->|\.)\w+)*"
# (c?a:b)->rest, as a key spells it (extra parentheses around it from a
# macro's "(x)" allowed): c, a, b and the rest.
_ARMS = re.compile(r"(\(+)([A-Za-z_]\w*)\?(" + _PATH + r"):(" + _PATH + r")(\)+)")


def split_arms(key: str) -> tuple[str, str, str, str] | None:
    """``(c, a, b, rest)`` of a key ``(c?a:b)rest``."""
    m = _ARMS.match(key)
    if m is None or len(m.group(1)) != len(m.group(5)):
        return None
    return m.group(2), m.group(3), m.group(4), key[m.end():]


def arms_condition(key: str) -> str | None:
    """``c`` of a key ``(c?a:b)->lock``."""
    got = split_arms(key)
    return got[0] if got is not None else None


def last_field(key: str) -> str:
    return re.split(r"->|\.", key)[-1]


def may_name(released: str, held: str) -> bool:
    """Could a helper's ``released`` key be another name of ``held``?"""
    if "(" in held or last_field(held) != last_field(released):
        return False
    return "(" in released or released.endswith(("->" + held, "." + held))
