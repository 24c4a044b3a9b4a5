"""Lock bugs injected mechanically into the files of a real Xen tree.

Each shape finds its sites by a text scan of the tree (no site is chosen by
hand), writes the bug in, and says what the lint must report: the check, the
line of the finding and the lines its path must show as ``note:`` steps.
Used by tests/lint/test_injected.py (Debian's 4.17) and bench/injected.py
(the other releases and master).

Shapes (issue 9, "held-out bugs injected into current Xen"):

* ``early-return-recursive``: ``if ( xenpatch_injected ) return ...;`` right
  after ``rspin_lock(x);`` / ``spin_lock_recursive(x);`` in a function that
  releases ``x`` itself: XL001 at the return;
* ``early-return``: the same after the plain spinlock, irqsave and rwlock
  forms: XL001;
* ``double-release``: an unlock statement written twice: XL002 at the copy;
* ``percpu-reread-helper``: a new static helper that read-locks a percpu
  rwlock through the file's own read wrapper, called right after that
  wrapper: XL005 at the call;
* ``percpu-write-under-read``: the same with a helper that takes the lock
  through the file's write wrapper: XL007 at the call;
* ``self-deadlock-callee``: a new static helper that takes and drops a
  non-recursive spinlock, called right after the caller took it: XL010;
* ``wrong-release-mode``: a ``read_unlock(x);`` made ``write_unlock(x);``
  (and the other way round) where the function takes ``x`` in that mode
  once, before: XL003 at the release;
* ``early-return-wrapper``: ``if ( xenpatch_injected ) return ...;`` right
  after a call of the file's own percpu read or write wrapper (a static
  inline function around ``percpu_read_lock()``/``percpu_write_lock()``)
  in a function that calls its unlock wrapper later: XL001;
* ``early-return-extern-acquire``: an early return right after a call of
  another file's lock function (a non-static ``void f(void)`` whose body is
  one take of a global lock, ``pcidevs_lock()``), in a function that calls
  its release function later: XL001 through that file's summary;
* ``self-deadlock-extern``: a call of a function the tree already has, in
  another file (its one parameter a ``struct T *``, a header declaring it,
  ``spin_lock(&q->path);`` before any branch of its body), right after the
  caller took ``&p->path`` of its own ``struct T *p``: XL010 through the
  other file's summary, as the hook computes it lazily;
* ``self-deadlock-extern2``: the same through a function of a second file
  that passes its parameter to such a function of a third: XL010 two
  files away (on the paths of the second that make the call).

The injected helpers and statements are written here, not taken from Xen.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from xenpatch.c.source import SourceError, function_name, functions, parse_bytes
from xenpatch.lint.config import LintConfig

FLAG = "xenpatch_injected"


@dataclass(frozen=True)
class Injection:
    shape: str
    rel: str  # file, relative to xen/
    function: str
    text: bytes  # the file with the bug in
    check: str
    line: int  # where the finding must be
    path_lines: tuple[int, ...]  # lines the finding's path must show

    def __str__(self) -> str:
        return f"{self.shape} {self.rel}:{self.line} in {self.function}()"


@cache
def _macros():  # noqa: ANN202 - the masking table's type is internal to c/
    return LintConfig.load().macros


@dataclass(frozen=True)
class _Fn:
    name: str
    first: int  # 1-based line of the definition's first line
    last: int
    void: bool
    params: str


def _functions(rel: str, raw: bytes) -> list[_Fn]:
    try:
        src = parse_bytes(rel, raw, _macros())
    except SourceError:
        return []
    out = []
    for fn in functions(src.root):
        name = function_name(src, fn)
        if not name:
            continue
        head = src.text(fn).split("{", 1)[0]
        before = head.split("(", 1)[0]
        params = head[len(before):]
        # void, with any attributes between (``void __init``, ``void cf_check``).
        void = re.search(r"\bvoid\s+(?:\w+\s+)*" + re.escape(name) + r"\s*$",
                         before.strip()) is not None
        out.append(_Fn(name, fn.start_point[0] + 1, fn.end_point[0] + 1, void, params))
    return out


_STMT = r"^(\s*){op}\s*\((.*)\);\s*$"


def _sites(lines: list[str], fns: list[_Fn], ops: tuple[str, ...],
           releases: dict[str, tuple[str, ...]]) -> Iterator[tuple[_Fn, int, str, str, str]]:
    """(function, 0-based line, indent, op, first argument) of each lock
    statement ``op(arg...);`` whose function also releases ``arg`` with one of
    ``releases[op]`` later on, and is not entered holding it: a function
    that asserts the lock held, or releases it before taking it, drops and
    takes it again, and returns holding it as its caller gave it (a return
    right after the take again is no leak)."""
    for fn in fns:
        for i in range(fn.first, fn.last - 1):
            for op in ops:
                m = re.match(_STMT.format(op=re.escape(op)), lines[i])
                if m is None:
                    continue
                arg = m.group(2).split(",")[0].strip()
                rel = "|".join(map(re.escape, releases[op]))
                tail = "\n".join(lines[i + 1 : fn.last])
                if not re.search(rf"\b(?:{rel})\s*\(\s*{re.escape(arg)}\s*[,)]", tail):
                    continue
                head = "\n".join(lines[fn.first - 1 : i])
                first = re.search(rf"\b(\w+)\s*\(\s*{re.escape(arg)}\s*[,)]", head)
                if first is None or not re.search(r"unlock|locked", first.group(1)):
                    yield fn, i, m.group(1), op, arg


def _joined(lines: list[str], nl: str) -> bytes:
    return nl.join(lines).encode()


def _split(raw: bytes) -> tuple[list[str], str]:
    text = raw.decode("utf-8", errors="surrogateescape")
    nl = "\r\n" if "\r\n" in text else "\n"
    return text.split(nl), nl


RECURSIVE = {"rspin_lock": ("rspin_unlock",),
             "spin_lock_recursive": ("spin_unlock_recursive",)}
PLAIN = {
    "spin_lock": ("spin_unlock",),
    "spin_lock_irq": ("spin_unlock_irq",),
    "spin_lock_irqsave": ("spin_unlock_irqrestore",),
    "read_lock": ("read_unlock",),
    "write_lock": ("write_unlock",),
}


def _early_return(shape: str, rel: str, fn: _Fn, lines: list[str], nl: str, i: int,
                  indent: str) -> Injection:
    """``if ( FLAG ) return ...;`` right after line ``i`` (0-based): XL001 at
    the return, the take, the test and the return on its path."""
    ret = "return;" if fn.void else "return 0;"
    new = lines[: i + 1] + [f"{indent}if ( {FLAG} )", f"{indent}    {ret}"] + lines[i + 1 :]
    return Injection(shape, rel, fn.name, _joined(new, nl), "XL001", i + 3,
                     (i + 1, i + 2, i + 3))


def early_returns(rel: str, raw: bytes, ops: dict[str, tuple[str, ...]],
                  shape: str) -> Iterator[Injection]:
    lines, nl = _split(raw)
    for fn, i, indent, _op, _arg in _sites(lines, _functions(rel, raw), tuple(ops), ops):
        yield _early_return(shape, rel, fn, lines, nl, i, indent)


def wrapper_early_returns(rel: str, raw: bytes) -> Iterator[Injection]:
    text = raw.decode("utf-8", errors="surrogateescape")
    pairs = {w[0]: (w[2],) for mode in ("read", "write")
             if (w := _percpu_wrappers(text, mode)) is not None}
    if not pairs:
        return
    lines, nl = _split(raw)
    fns = [f for f in _functions(rel, raw)
           if f.name not in pairs and f.name not in {u for us in pairs.values() for u in us}]
    for fn, i, indent, _op, _arg in _sites(lines, fns, tuple(pairs), pairs):
        yield _early_return("early-return-wrapper", rel, fn, lines, nl, i, indent)


_OTHER_MODE = {"read_unlock": "write_unlock", "write_unlock": "read_unlock"}


def wrong_release_modes(rel: str, raw: bytes) -> Iterator[Injection]:
    lines, nl = _split(raw)
    for fn in _functions(rel, raw):
        body = lines[fn.first - 1 : fn.last]
        for i in range(fn.first, fn.last - 1):
            found = next(((u, m) for u in _OTHER_MODE
                          if (m := re.match(_STMT.format(op=re.escape(u)), lines[i]))), None)
            if found is None:
                continue
            op, m = found
            arg = re.escape(m.group(2).strip())
            take = op.replace("unlock", "lock")
            # Taken in that mode once, before, and in no other mode: the
            # take the path shows is that one.
            takes = [k for k, t in enumerate(body, fn.first)
                     if re.search(rf"\b\w*lock\w*\s*\(\s*{arg}\s*\)", t)
                     and not re.search(r"unlock|locked", t)]
            if len(takes) != 1 or takes[0] >= i + 1 or \
                    not re.search(rf"\b{take}\s*\(", lines[takes[0] - 1]):
                continue
            other = _OTHER_MODE[op]
            new = lines[:i] + [lines[i].replace(op, other, 1)] + lines[i + 1 :]
            yield Injection("wrong-release-mode", rel, fn.name, _joined(new, nl), "XL003", i + 1,
                            (takes[0], i + 1))


def double_releases(rel: str, raw: bytes) -> Iterator[Injection]:
    lines, nl = _split(raw)
    unlocks = tuple(u for us in PLAIN.values() for u in us)
    for fn in _functions(rel, raw):
        for i in range(fn.first, fn.last - 1):
            m = next((m for u in unlocks
                      if (m := re.match(_STMT.format(op=re.escape(u)), lines[i]))), None)
            if m is None or lines[i - 1].strip().startswith(("if", "else")):
                continue
            new = lines[: i + 1] + [lines[i]] + lines[i + 1 :]
            yield Injection("double-release", rel, fn.name, _joined(new, nl), "XL002", i + 2,
                            (i + 1, i + 2))


_WRAPPER = (r"static\s+(?:always_)?inline\s+void\s+(\w+)\s*"
            r"\(\s*struct\s+(\w+)\s*\*\s*(\w+)\s*\)\s*\{{\s*{op}\s*\(")


def _percpu_wrappers(text: str, mode: str) -> tuple[str, str, str] | None:
    """(lock wrapper, struct, unlock wrapper) of the file's percpu wrappers
    of ``mode`` (read, write)."""
    lock = re.search(_WRAPPER.format(op=f"percpu_{mode}_lock"), text)
    unlock = re.search(_WRAPPER.format(op=f"percpu_{mode}_unlock"), text)
    if lock is None or unlock is None or lock.group(2) != unlock.group(2):
        return None
    return lock.group(1), lock.group(2), unlock.group(1)


def percpu_rereads(rel: str, raw: bytes, mode: str = "read") -> Iterator[Injection]:
    """Call sites of the file's percpu read wrapper, each followed by a call
    of a new helper that takes the lock again through the wrapper of
    ``mode``: a read again is XL005, a write under the read XL007."""
    text = raw.decode("utf-8", errors="surrogateescape")
    read = _percpu_wrappers(text, "read")
    inner = _percpu_wrappers(text, mode)
    if read is None or inner is None or read[1] != inner[1]:
        return
    wrap, struct, unwrap = read
    helper = f"{FLAG}_{mode}r"
    lines, nl = _split(raw)
    body = [f"static void {helper}(struct {struct} *p)", "{", f"    {inner[0]}(p);",
            f"    {inner[2]}(p);", "}"]
    shape, check = ("percpu-reread-helper", "XL005") if mode == "read" else \
        ("percpu-write-under-read", "XL007")
    for fn, i, indent, _op, arg in _sites(lines, _functions(rel, raw), (wrap,),
                                          {wrap: (unwrap,)}):
        if fn.name in (wrap, unwrap):
            continue
        new = lines[: i + 1] + [f"{indent}{helper}({arg});"] + lines[i + 1 :] + [""] + body
        yield Injection(shape, rel, fn.name, _joined(new, nl), check, i + 2, (i + 1, i + 2))


def self_deadlocks(rel: str, raw: bytes) -> Iterator[Injection]:
    """After ``spin_lock(&L);`` of a file-scope DEFINE_SPINLOCK(L), or of
    ``&p->field`` with ``p`` a ``struct T *`` parameter, a call of a new helper
    that takes and drops the same lock."""
    text = raw.decode("utf-8", errors="surrogateescape")
    globals_ = set(re.findall(r"^(?:static\s+)?DEFINE_SPINLOCK\((\w+)\)", text, re.M))
    lines, nl = _split(raw)
    helper = f"{FLAG}_taker"
    for fn, i, indent, _op, arg in _sites(lines, _functions(rel, raw), ("spin_lock",),
                                          {"spin_lock": ("spin_unlock",)}):
        m = re.fullmatch(r"&\s*(\w+)", arg)
        if m is not None and m.group(1) in globals_:
            body = [f"static void {helper}(void)", "{", f"    spin_lock({arg});",
                    f"    spin_unlock({arg});", "}"]
            call = f"{helper}();"
        else:
            m = re.fullmatch(r"&\s*(\w+)\s*->\s*([\w.]+)", arg)
            p = m and re.search(r"struct\s+(\w+)\s*\*\s*" + m.group(1) + r"\b", fn.params)
            if m is None or not p:
                continue
            body = [f"static void {helper}(struct {p.group(1)} *{m.group(1)})", "{",
                    f"    spin_lock({arg});", f"    spin_unlock({arg});", "}"]
            call = f"{helper}({m.group(1)});"
        new = lines[: i + 1] + [f"{indent}{call}"] + lines[i + 1 :] + [""] + body
        yield Injection("self-deadlock-callee", rel, fn.name, _joined(new, nl), "XL010",
                        i + 2, (i + 1, i + 2))


# A non-static definition with its parameters, its body to the closing
# brace in column 0 (Xen's style).
_DEFINITION = re.compile(r"^(?!static\b)(?:\w+[ \t*]+)+?(\w+)\(([^;{}()]*)\)\s*\n"
                         r"\{\n(.*?)^\}", re.M | re.S)
_BRANCH = re.compile(r"^\s*(?:if|else|for|while|switch|return|goto|do|case)\b|^\w+:|\?", re.M)
_TAKES = ("spin_lock", "spin_lock_irq", "spin_lock_irqsave")


def _arch(rel: str) -> str | None:
    parts = rel.split("/")
    return parts[1] if parts[0] == "arch" and len(parts) > 2 else None


@dataclass(frozen=True)
class _Taker:
    name: str
    rel: str
    arity: int
    at: int  # which parameter is the struct pointer whose lock it takes
    # The files of the functions between it and the take (a relay's).
    through: tuple[str, ...] = ()


def _declared(xen: Path) -> tuple[dict[Path, str], frozenset[str]]:
    """The tree's headers' texts, and every name they declare or call."""
    headers = {h: h.read_text(errors="replace") for h in xen.rglob("*.h")}
    return headers, frozenset(n for text in headers.values()
                              for n in re.findall(r"\b(\w+)\s*\(", text))


Takers = dict[tuple[str, str], list[_Taker]]


def extern_takers(xen: Path, files: list[Path], declared: frozenset[str] | None = None,
                  ) -> tuple[Takers, Takers]:
    """(struct, lock path) -> the tree's non-static functions, declared in a
    header and defined once, with a ``struct T *q`` parameter whose body
    takes ``&q->path`` before any branch (the first map: one hop), or calls
    such a function of another file with ``q`` as a statement of its own,
    its other parameters not named before the call (the second: the lock
    taken two files away, on the paths that make the call)."""
    if declared is None:
        declared = _declared(xen)[1]
    takes = "|".join(_TAKES)
    defs: list[tuple[str, str, list[str], str]] = []  # name, file, parameters, body
    defined: Counter[str] = Counter()
    for p in files:
        text = p.read_text(errors="replace")
        rel = str(p.relative_to(xen))
        for m in _DEFINITION.finditer(text):
            name, params, body = m.groups()
            defined[name] += 1
            if "__init" not in m.group(0) and params.strip() not in ("", "void"):
                defs.append((name, rel, [x.strip() for x in params.split(",")], body))

    def callable_(name: str) -> bool:
        # One definition in the tree (a summary is per name), declared for
        # other files to call.
        return defined[name] == 1 and name in declared

    def pointers(parts: list[str]) -> Iterator[tuple[int, str, str]]:
        for k, part in enumerate(parts):
            q = re.fullmatch(r"(?:const\s+)?struct (\w+) \*\s*(\w+)", part)
            if q:
                yield k, q.group(1), q.group(2)

    one: Takers = {}
    by_name: dict[str, tuple[tuple[str, str], _Taker]] = {}
    for name, rel, parts, body in defs:
        if not callable_(name):
            continue
        for k, struct, q in pointers(parts):
            take = re.search(rf"^\s*(?:{takes})\(\s*&\s*{q}\s*->\s*([\w.]+)\s*[,)]", body, re.M)
            if take and not _BRANCH.search(body[: take.start()]):
                by_name[name] = ((struct, take.group(1)), _Taker(name, rel, len(parts), k))
                break
    for key, t in by_name.values():
        one.setdefault(key, []).append(t)
    two: Takers = {}
    for name, rel, parts, body in defs:
        if not callable_(name) or name in by_name:
            continue
        call = next((c for c in re.finditer(r"^\s*(?:\w+\s*=\s*)?(\w+)\((.*)\);", body, re.M)
                     if c.group(1) in by_name), None)
        if call is None:
            continue
        key, t = by_name[call.group(1)]
        args = [a.strip() for a in call.group(2).split(",")]
        for k, struct, q in pointers(parts):
            # The injected call passes 0 for the other parameters: a body
            # that tests one of them before the call may not make it.
            others = [w for j, part in enumerate(parts) if j != k
                      if (w := re.search(r"(\w+)\s*(?:\[[^]]*\])?$", part))]
            tested = any(re.search(rf"\b{w.group(1)}\b", body[: call.start()]) for w in others)
            if key[0] == struct and t.rel != rel and len(args) == t.arity and args[t.at] == q \
                    and not tested:
                two.setdefault(key, []).append(_Taker(name, rel, len(parts), k, (t.rel,)))
                break
    return one, two


_ONE_OP = re.compile(r"^\{\s*(\w+)\(\s*&\s*(\w+)\s*\);\s*\}$")
_VOID_FN = re.compile(r"^void\s+(\w+)\s*\(\s*void\s*\)\s*\n(\{.*?^\})", re.M | re.S)
# A header's inline lock function calling the file's (4.17's pcidevs_lock()
# around pcidevs_lock_unsafe(), with a speculation barrier after).
_INLINE_FN = re.compile(r"static\s+(?:always_)?inline\s+void\s+(\w+)\s*\(\s*void\s*\)\s*"
                        r"\{\s*(\w+)\(\s*\);[^{}]*\}")


@cache
def _ops() -> dict[str, str]:
    return {n: o.action for n, o in LintConfig.load().table.ops.items()}


def extern_acquires(xen: Path, files: list[Path],
                    headers: tuple[dict[Path, str], frozenset[str]] | None = None,
                    ) -> dict[str, tuple[str, str]]:
    """Lock function -> (its release function, their file): the tree's
    non-static ``void f(void)`` functions, defined once and declared in a
    header, whose body is one take (release) of the same global lock (the
    lock table's operations), and the headers' inline functions that call
    one of them first.  ``headers``: _declared()'s, if read already."""
    texts, declared = headers if headers is not None else _declared(xen)
    takes: dict[str, str] = {}
    releases: dict[str, str] = {}
    defined: Counter[str] = Counter()
    where: dict[str, str] = {}
    for p in files:
        text = p.read_text(errors="replace")
        for m in _VOID_FN.finditer(text):
            name = m.group(1)
            body = " ".join(re.sub(r"/\*.*?\*/", " ", m.group(2), flags=re.S).split())
            defined[name] += 1
            where[name] = str(p.relative_to(xen))
            one = _ONE_OP.match(body)
            action = _ops().get(one.group(1)) if one else None
            if one is None or action is None:
                continue
            if action == "acquire":
                takes[name] = one.group(2)
            elif action == "release":
                releases.setdefault(one.group(2), name)
    out = {n: (releases[lock], where[n]) for n, lock in sorted(takes.items())
           if lock in releases and defined[n] == 1 and defined[releases[lock]] == 1
           and n in declared and releases[lock] in declared
           and where[releases[lock]] == where[n]}
    for text in texts.values():
        for m in _INLINE_FN.finditer(text):
            if m.group(2) in out and m.group(1) not in defined:
                out[m.group(1)] = out[m.group(2)]
    return out


def extern_acquire_returns(rel: str, raw: bytes, acquires: dict[str, tuple[str, str]],
                           ) -> Iterator[Injection]:
    lines, nl = _split(raw)
    for fn in _functions(rel, raw):
        for i in range(fn.first, fn.last - 1):
            m = re.match(r"^(\s*)(\w+)\(\);\s*$", lines[i])
            if m is None or m.group(2) not in acquires:
                continue
            release, home = acquires[m.group(2)]
            if home == rel:
                continue
            tail = "\n".join(lines[i + 1 : fn.last])
            head = "\n".join(lines[fn.first - 1 : i])
            # Released later; not entered holding it (no release before).
            if not re.search(rf"\b{release}\s*\(\s*\)", tail) or \
                    re.search(rf"\b{release}\s*\(\s*\)|\b{m.group(2)}ed\s*\(", head):
                continue
            yield _early_return("early-return-extern-acquire", rel, fn, lines, nl, i,
                                m.group(1))


def extern_self_deadlocks(rel: str, raw: bytes, takers: dict[tuple[str, str], list[_Taker]],
                          shape: str = "self-deadlock-extern") -> Iterator[Injection]:
    """After ``spin_lock(&p->path);`` with ``p`` a ``struct T *`` parameter or
    local, a call of another file's function that takes ``&q->path`` of its
    ``struct T *q`` (extern_takers()), of the caller's architecture or of
    common code; its other arguments 0."""
    lines, nl = _split(raw)
    ops = {t: PLAIN[t] for t in _TAKES}
    for fn, i, indent, _op, arg in _sites(lines, _functions(rel, raw), _TAKES, ops):
        m = re.fullmatch(r"&\s*(\w+)\s*->\s*([\w.]+)", arg)
        decl = "\n".join([fn.params, *lines[fn.first - 1 : i]])
        p = m and re.search(r"struct\s+(\w+)\s*\*\s*" + m.group(1) + r"\b", decl)
        if m is None or not p:
            continue
        for t in takers.get((p.group(1), m.group(2)), ()):
            if rel in (t.rel, *t.through) or \
                    any(_arch(r) not in (None, _arch(rel)) for r in (t.rel, *t.through)):
                continue
            args = ", ".join(m.group(1) if k == t.at else "0" for k in range(t.arity))
            new = lines[: i + 1] + [f"{indent}{t.name}({args});"] + lines[i + 1 :]
            yield Injection(shape, rel, fn.name, _joined(new, nl), "XL010",
                            i + 2, (i + 1, i + 2))
            break


def injections(xen: Path, per_shape: int, spread: int = 1) -> list[Injection]:
    """Up to ``per_shape`` injections of each shape in the tree ``xen`` (its
    xen/ folder), at most ``spread`` per file and shape (the percpu shape:
    any number, one file has the wrapper), files in the order of their
    paths' SHA-1 (spread over the tree, the same on every run)."""
    files = sorted((p for p in xen.rglob("*.c") if "spinlock.c" not in p.name
                    and "rwlock.c" not in p.name),
                   key=lambda p: hashlib.sha1(str(p.relative_to(xen)).encode()).hexdigest())
    headers = _declared(xen)
    takers, relays = extern_takers(xen, files, headers[1])
    acquires = extern_acquires(xen, files, headers)
    shapes = {
        "early-return-recursive": lambda r, b: early_returns(r, b, RECURSIVE,
                                                             "early-return-recursive"),
        "early-return": lambda r, b: early_returns(r, b, PLAIN, "early-return"),
        "double-release": double_releases,
        "wrong-release-mode": wrong_release_modes,
        "early-return-wrapper": wrapper_early_returns,
        "percpu-reread-helper": percpu_rereads,
        "percpu-write-under-read": lambda r, b: percpu_rereads(r, b, "write"),
        "self-deadlock-callee": self_deadlocks,
        "early-return-extern-acquire": lambda r, b: extern_acquire_returns(r, b, acquires),
        "self-deadlock-extern": lambda r, b: extern_self_deadlocks(r, b, takers),
        "self-deadlock-extern2": lambda r, b: extern_self_deadlocks(r, b, relays,
                                                                    "self-deadlock-extern2"),
    }
    out: list[Injection] = []
    for shape, make in shapes.items():
        n = 0
        for p in files:
            if n >= per_shape:
                break
            raw = p.read_bytes()
            if b"lock" not in raw:
                continue
            # One file has the percpu wrappers.
            most = per_shape if shape.startswith(("percpu-", "early-return-wrapper")) \
                else spread
            for k, inj in enumerate(make(str(p.relative_to(xen)), raw)):
                if k >= most or n >= per_shape:
                    break
                out.append(inj)
                n += 1
    return out
