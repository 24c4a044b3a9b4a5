"""IRQ-state bugs planted in a real Xen tree at sites found by a scan
(each ``spin_lock_irqsave(l, f); ... spin_unlock_irqrestore(l, f);`` pair
of a function), for tests/lint/test_irq_injected.py and
bench/irq_injected.py.  The shapes are those of fixes in Xen's history:

* ``restore-constant``   the restore names a constant, not the flags
  (the vGICv3 "restore the interrupt state correctly" fix)      -> XL013
* ``irq-under-irqsave``  an _irq lock taken inside the section   -> XL011
* ``enable-in-section``  local_irq_enable() inside the section   -> XL012
* ``nested-save``        a nested _irqsave into the same flags (the VT-d
  "double spin_lock_irqsave()" fix): the outer restore is wrong  -> XL013
* ``callee-enables``     local_irq_disable() before a call of a function of
  the file that turns IRQs on on every path (its summary says so) -> XL014
* ``call-breaks-demand`` a cross-CPU call inside the section: smp_call_function()
  of common/smp.c asserts IRQs on (through on_selected_cpus(), which it
  calls first), another file's demand                            -> XL018
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from lint.injection import FLAG, Injection, _functions, _joined, _sites, _split
from xenpatch.c.source import SourceError

_PAIR = {"spin_lock_irqsave": ("spin_unlock_irqrestore",)}
SHAPES = ("restore-constant", "irq-under-irqsave", "enable-in-section", "nested-save",
          "callee-enables", "call-breaks-demand")


def _restore_after(lines: list[str], start: int, last: int, arg: str,
                   flags: str) -> int | None:
    """0-based line of the first ``spin_unlock_irqrestore(arg, flags);``
    statement after ``start`` in the function."""
    pat = re.compile(r"^\s*spin_unlock_irqrestore\s*\(\s*" + re.escape(arg) + r"\s*,\s*"
                     + re.escape(flags) + r"\s*\);\s*$")
    for j in range(start + 1, last):
        if pat.match(lines[j]):
            return j
    return None


def irq_injections(rel: str, raw: bytes) -> Iterator[Injection]:
    lines, nl = _split(raw)
    for fn, i, indent, _op, arg in _sites(lines, _functions(rel, raw), tuple(_PAIR), _PAIR):
        m = re.match(r"^\s*spin_lock_irqsave\s*\((.*),\s*(\w+)\s*\);\s*$", lines[i])
        if m is None:
            continue
        flags = m.group(2)
        j = _restore_after(lines, i, fn.last, arg, flags)
        if j is None:
            continue
        # 1-based lines below: i + 1 is the save, j + 1 the restore.
        new = list(lines)
        new[j] = lines[j].replace(flags + ")", "0)")
        yield Injection("restore-constant", rel, fn.name, _joined(new, nl), "XL013", j + 1,
                        (i + 1, j + 1))
        lk = f"&{FLAG}_lock"
        new = lines[: i + 1] + [f"{indent}spin_lock_irq({lk});",
                                f"{indent}spin_unlock_irq({lk});"] + lines[i + 1:]
        yield Injection("irq-under-irqsave", rel, fn.name, _joined(new, nl), "XL011", i + 2,
                        (i + 1, i + 2))
        new = lines[: i + 1] + [f"{indent}local_irq_enable();"] + lines[i + 1:]
        yield Injection("enable-in-section", rel, fn.name, _joined(new, nl), "XL012", i + 2,
                        (i + 1, i + 2))
        new = lines[: i + 1] + [f"{indent}spin_lock_irqsave({lk}, {flags});",
                                f"{indent}spin_unlock_irqrestore({lk}, {flags});"] + \
            lines[i + 1:]
        yield Injection("nested-save", rel, fn.name, _joined(new, nl), "XL013", j + 3,
                        (i + 1, i + 2, j + 3))
        if not rel.endswith("common/smp.c"):
            new = lines[: i + 1] + [f"{indent}smp_call_function(NULL, NULL, 0);"] + \
                lines[i + 1:]
            yield Injection("call-breaks-demand", rel, fn.name, _joined(new, nl), "XL018",
                            i + 2, (i + 1, i + 2))


def _enablers(path: Path, raw: bytes) -> set[str]:
    """Functions of the file summarised as turning IRQs on on every path."""
    from xenpatch.analysis.fileanalysis import FileAnalysis
    from xenpatch.analysis.headers import header_index
    from xenpatch.analysis.irqstate import IRQ_ON
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.filelint import _parse

    try:
        src = _parse(str(path), raw, LintConfig.load(), path)
    except SourceError:
        return set()
    fa = FileAnalysis(LintConfig.load(), src, header_index(path), None)
    fa.relevant()
    out = set()
    for f in fa.order:
        s = fa.summary_of(f.name)
        if s is not None and any(e.action == IRQ_ON for e in s.effects):
            out.add(f.name)
    return out


def callee_enables(path: Path, rel: str, raw: bytes) -> Iterator[Injection]:
    if b"_unlock_irq(" not in raw and b"local_irq_enable" not in raw:
        return
    names = _enablers(path, raw)
    if not names:
        return
    lines, nl = _split(raw)
    for fn in _functions(rel, raw):
        if fn.name in names:
            continue  # its own summary would change with the planting
        for i in range(fn.first, fn.last - 1):
            m = re.match(r"^(\s*)(\w+)\s*\(.*\);\s*$", lines[i])
            if m is None or m.group(2) not in names or \
                    lines[i - 1].strip().startswith(("if", "else", "for", "while")):
                continue
            new = lines[:i] + [f"{m.group(1)}local_irq_disable();"] + lines[i:]
            yield Injection("callee-enables", rel, fn.name, _joined(new, nl), "XL014", i + 2,
                            (i + 1, i + 2))


def irq_planted(xen: Path, per_shape: int) -> list[Injection]:
    """Up to ``per_shape`` of each shape, one site per file, files in the
    order of their paths' SHA-1 (spread over the tree, the same each run)."""
    files = sorted((p for p in xen.rglob("*.c") if "spinlock.c" not in p.name),
                   key=lambda p: hashlib.sha1(str(p.relative_to(xen)).encode()).hexdigest())
    count = dict.fromkeys(SHAPES, 0)
    out: list[Injection] = []
    for p in files:
        if all(n >= per_shape for n in count.values()):
            break
        raw = p.read_bytes()
        rel = str(p.relative_to(xen))
        taken: set[str] = set()
        found = irq_injections(rel, raw) if b"spin_lock_irqsave" in raw else iter(())
        if count["callee-enables"] < per_shape:
            found = itertools.chain(found, callee_enables(p, rel, raw))
        for inj in found:
            if inj.shape in taken or count[inj.shape] >= per_shape:
                continue
            taken.add(inj.shape)
            count[inj.shape] += 1
            out.append(inj)
    return out
