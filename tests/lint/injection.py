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
* ``self-deadlock-callee``: a new static helper that takes and drops a
  non-recursive spinlock, called right after the caller took it: XL010.

The injected helpers and statements are written here, not taken from Xen.
"""

from __future__ import annotations

import hashlib
import re
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
        void = re.search(r"\bvoid\s+" + re.escape(name) + r"\s*$", before.strip()) is not None
        out.append(_Fn(name, fn.start_point[0] + 1, fn.end_point[0] + 1, void, params))
    return out


_STMT = r"^(\s*){op}\s*\((.*)\);\s*$"


def _sites(lines: list[str], fns: list[_Fn], ops: tuple[str, ...],
           releases: dict[str, tuple[str, ...]]) -> Iterator[tuple[_Fn, int, str, str, str]]:
    """(function, 0-based line, indent, op, first argument) of each lock
    statement ``op(arg...);`` whose function also releases ``arg`` with one of
    ``releases[op]`` later on."""
    for fn in fns:
        for i in range(fn.first, fn.last - 1):
            for op in ops:
                m = re.match(_STMT.format(op=re.escape(op)), lines[i])
                if m is None:
                    continue
                arg = m.group(2).split(",")[0].strip()
                rel = "|".join(map(re.escape, releases[op]))
                tail = "\n".join(lines[i + 1 : fn.last])
                if re.search(rf"\b(?:{rel})\s*\(\s*{re.escape(arg)}\s*[,)]", tail):
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


def early_returns(rel: str, raw: bytes, ops: dict[str, tuple[str, ...]],
                  shape: str) -> Iterator[Injection]:
    lines, nl = _split(raw)
    for fn, i, indent, _op, _arg in _sites(lines, _functions(rel, raw), tuple(ops), ops):
        ret = "return;" if fn.void else "return 0;"
        new = lines[: i + 1] + [f"{indent}if ( {FLAG} )", f"{indent}    {ret}"] + lines[i + 1 :]
        yield Injection(shape, rel, fn.name, _joined(new, nl), "XL001", i + 3,
                        (i + 1, i + 2, i + 3))


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


def percpu_rereads(rel: str, raw: bytes) -> Iterator[Injection]:
    """Call sites of the file's percpu read wrapper, each followed by a call
    of a new helper that takes the read lock again through that wrapper."""
    text = raw.decode("utf-8", errors="surrogateescape")
    lock = re.search(_WRAPPER.format(op="percpu_read_lock"), text)
    unlock = re.search(_WRAPPER.format(op="percpu_read_unlock"), text)
    if lock is None or unlock is None or lock.group(2) != unlock.group(2):
        return
    wrap, struct, unwrap = lock.group(1), lock.group(2), unlock.group(1)
    helper = f"{FLAG}_reader"
    lines, nl = _split(raw)
    body = [f"static void {helper}(struct {struct} *p)", "{", f"    {wrap}(p);",
            f"    {unwrap}(p);", "}"]
    for fn, i, indent, _op, arg in _sites(lines, _functions(rel, raw), (wrap,),
                                          {wrap: (unwrap,)}):
        if fn.name in (wrap, unwrap):
            continue
        new = lines[: i + 1] + [f"{indent}{helper}({arg});"] + lines[i + 1 :] + [""] + body
        yield Injection("percpu-reread-helper", rel, fn.name, _joined(new, nl), "XL005",
                        i + 2, (i + 1, i + 2))


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


def injections(xen: Path, per_shape: int, spread: int = 1) -> list[Injection]:
    """Up to ``per_shape`` injections of each shape in the tree ``xen`` (its
    xen/ folder), at most ``spread`` per file and shape (the percpu shape:
    any number, one file has the wrapper), files in the order of their
    paths' SHA-1 (spread over the tree, the same on every run)."""
    shapes = {
        "early-return-recursive": lambda r, b: early_returns(r, b, RECURSIVE,
                                                             "early-return-recursive"),
        "early-return": lambda r, b: early_returns(r, b, PLAIN, "early-return"),
        "double-release": double_releases,
        "percpu-reread-helper": percpu_rereads,
        "self-deadlock-callee": self_deadlocks,
    }
    out: list[Injection] = []
    files = sorted((p for p in xen.rglob("*.c") if "spinlock.c" not in p.name
                    and "rwlock.c" not in p.name),
                   key=lambda p: hashlib.sha1(str(p.relative_to(xen)).encode()).hexdigest())
    for shape, make in shapes.items():
        n = 0
        for p in files:
            if n >= per_shape:
                break
            raw = p.read_bytes()
            if b"lock" not in raw:
                continue
            most = per_shape if shape == "percpu-reread-helper" else spread
            for k, inj in enumerate(make(str(p.relative_to(xen)), raw)):
                if k >= most or n >= per_shape:
                    break
                out.append(inj)
                n += 1
    return out
