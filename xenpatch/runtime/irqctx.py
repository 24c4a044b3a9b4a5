"""Which functions of a tree run in interrupt context: the handlers passed to
its IRQ registration calls (irq_api.toml names each call and its handler
parameter; where that parameter sits is read from the tree's own
declarations by analysis/cbargs.py, as the lint reads its [irqcallback]
entries: request_irq() took its handler as argument 1 until 2014).

A function found here, or named with ``difftest --irq-context``, has its
lock programs run with ``in_irq`` set (``irq_enter`` ... ``irq_exit``), so
the models' IRQ-context checks (the percpu writer's ``ASSERT(!in_irq())``)
apply to it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from xenpatch.analysis import cbargs

_API = Path(__file__).with_name("irq_api.toml")
# A handler argument: a function's name, maybe cast or with its address taken.
_HANDLER = re.compile(r"^(?:\([^()]*\)\s*)*&?\s*([A-Za-z_]\w*)$")


def registration_calls() -> dict[str, str]:
    """Registration call -> the name of its handler parameter."""
    with _API.open("rb") as fh:
        return dict(tomllib.load(fh).get("registration", {}))


def irq_handlers(tree: Path, paths: list[str] | None = None) -> set[str]:
    """Names of functions the tree passes to its IRQ registration calls."""
    roots = [tree / p for p in (paths or ["xen"])]
    api = registration_calls()
    names = frozenset(api)
    files: list[tuple[bytes, bool]] = []  # (text, is a header)
    for root in roots:
        for f in sorted(root.rglob("*.[ch]")) if root.is_dir() else []:
            try:
                data = f.read_bytes()
            except OSError:
                continue
            if any(c.encode() in data for c in names):
                files.append((data, f.suffix == ".h"))
    # A header's declarations are every file's; a C file's own macro
    # shadows them (a driver's Linux-order wrapper).
    seen_macros: dict[str, list] = {}
    seen_fns: dict[str, list] = {}
    for raw in (raw for raw, header in files if header):
        for mine, got in ((seen_macros, cbargs.macros(raw, names)),
                          (seen_fns, cbargs.functions(raw, names))):
            for k, v in got.items():
                mine.setdefault(k, []).extend(v)
    out: set[str] = set()
    for raw, header in files:
        own = ({}, {}) if header else (cbargs.macros(raw, names), cbargs.functions(raw, names))
        index = {name: cbargs.resolve_index(name, param, seen_macros, seen_fns, *own)
                 for name, param in api.items()}
        for name, args in cbargs.calls(raw, names):
            i = index[name]
            if i is not None and i < len(args) and (m := _HANDLER.match(args[i])):
                out.add(m.group(1))
    return out
