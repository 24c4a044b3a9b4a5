"""Which functions of a tree run in interrupt context: the handlers passed to
its IRQ registration calls (irq_api.toml names the calls; the handler's
argument position comes from the tree's own prototype of each call).

A function found here, or named with ``difftest --irq-context``, has its
lock programs run with ``in_irq`` set (``irq_enter`` ... ``irq_exit``), so
the models' IRQ-context checks (the percpu writer's ``ASSERT(!in_irq())``)
apply to it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

_API = Path(__file__).with_name("irq_api.toml")
_FNPTR = re.compile(r"\(\s*\*\s*\w*\s*\)\s*\(")


def registration_calls() -> list[str]:
    with _API.open("rb") as fh:
        return list(tomllib.load(fh).get("registration", []))


def _split_args(text: str, start: int) -> list[str] | None:
    """Top-level comma-separated arguments of the call whose '(' is at start-1."""
    depth, args, begin = 1, [], start
    for i in range(start, len(text)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(text[begin:i].strip())
                return args
        elif c == "," and depth == 1:
            args.append(text[begin:i].strip())
            begin = i + 1
    return None


def _handler_index(files: list[tuple[Path, str]], name: str) -> int | None:
    """Position of the function-pointer parameter in the tree's prototype."""
    proto = re.compile(rf"\b(?:int|void|long)\s+(?:__init\s+)?{re.escape(name)}\s*\(")
    for _, text in files:
        for m in proto.finditer(text):
            params = _split_args(text, m.end())
            if params is None:
                continue
            for i, p in enumerate(params):
                if _FNPTR.search(p):
                    return i
    return None


def irq_handlers(tree: Path, paths: list[str] | None = None) -> set[str]:
    """Names of functions the tree passes to its IRQ registration calls."""
    roots = [tree / p for p in (paths or ["xen"])]
    calls = registration_calls()
    files: list[tuple[Path, str]] = []
    for root in roots:
        for f in sorted(root.rglob("*.[ch]")) if root.is_dir() else []:
            try:
                data = f.read_bytes()
            except OSError:
                continue
            if any(c.encode() in data for c in calls):
                files.append((f, data.decode(errors="replace")))
    out: set[str] = set()
    for name in calls:
        idx = _handler_index(files, name)
        if idx is None:
            continue
        call = re.compile(rf"(?<![\w>.]){re.escape(name)}\s*\(")
        macro = re.compile(rf"#\s*define\s+{re.escape(name)}\s*\(([^)]*)\)(.*)")
        for _, raw in files:
            here = idx
            # Continuation lines joined, so a macro is one line to match or skip.
            text = raw.replace("\\\n", " ")
            m = macro.search(text)
            if m is not None:
                # A file that reorders the arguments (#define name(a, f, b) name(a, b, f)).
                params = [x.strip() for x in m.group(1).split(",")]
                inner = call.search(m.group(2))
                args = _split_args(m.group(2), inner.end()) if inner else None
                if args is None or len(args) <= idx or args[idx] not in params:
                    continue
                here = params.index(args[idx])
            for c in call.finditer(text):
                line = text[text.rfind("\n", 0, c.start()) + 1:c.start()]
                if re.search(r"#\s*define|\b(?:int|void|long|extern|__init)\s*$", line):
                    continue  # the prototype, a definition or the macro itself
                args = _split_args(text, c.end())
                if args is None or len(args) <= here:
                    continue
                h = re.sub(r"^\(.*?\)\s*|^&\s*", "", args[here]).strip()
                if re.fullmatch(r"[A-Za-z_]\w*", h):
                    out.add(h)
    return out
