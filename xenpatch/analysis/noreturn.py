"""Functions that never return, read from the tree instead of listed.

A path that calls one ends there: a lock still held is no leak, and the
code after the call is not on that path.  rules/lint.toml's ``[cfg]
noreturn`` names the API a text scan cannot see (assembly, macros); the
rest is found here, so a tree's own panic helpers need no table:

- *declared*: a declaration or definition carrying the attribute, before
  the name (``void noreturn panic(...)``, ``_Noreturn void f(void)``,
  ``__attribute__((noreturn)) void f(void)``) or after the parameters
  (``void panic(const char *fmt, ...) __attribute__((noreturn));``, the
  older trees' spelling);
- *inferred*: a function of the file whose every path ends in such a call
  or loops forever, with no way to its exit (4.2's ``mc_panic()`` ends in
  ``panic()`` and is declared without the attribute: a machine check
  handler's paths through it went on to release a lock a second time).
  Every definition of the name must be so (one under ``#ifdef`` may
  return), and the fixpoint carries it to the file's callers of callers.
"""

from __future__ import annotations

from dataclasses import replace

from tree_sitter import Node

from xenpatch.analysis.kept import built_cfg
from xenpatch.c.cfg import Cfg, CfgConfig, names_regex
from xenpatch.c.noreturn import declared
from xenpatch.c.source import SourceFile, function_name, functions
from xenpatch.graphs import reachable


def file_config(src: SourceFile, config: CfgConfig, headers: frozenset[str]) -> CfgConfig:
    """``config`` (the file's, its macros and architecture applied) with the
    noreturn functions its headers and its own text declare, and those of
    its functions that never return."""
    base = config.with_noreturn(headers | declared(src.raw))
    # Kept on the parse: each pass over a kept parse (a tree's second and
    # third) asks again with the same configuration.
    got = src.derived.get("noreturn inferred")
    if got is None or got[0] != base:
        got = src.derived["noreturn inferred"] = (base, inferred(src, base))
    found: frozenset[str] = got[1]
    return base.with_noreturn(found)


def returns(cfg: Cfg) -> bool:
    """Does some path from the entry reach the function's exit?"""
    return cfg.exit in reachable([cfg.entry], lambda n: cfg.nodes[n].succ)


def inferred(src: SourceFile, config: CfgConfig) -> frozenset[str]:
    """The file's functions that never return, given ``config.noreturn``
    (the table's and the declared ones): a fixpoint over the file."""
    defs: dict[str, list[Node]] = {}
    for fn in functions(src.root):
        name = function_name(src, fn)
        if name is not None:
            defs.setdefault(name, []).append(fn)
    known = set(config.noreturn)
    found: set[str] = set()
    while True:
        pattern = names_regex(frozenset(known))
        if pattern is None:
            return frozenset(found)
        cfg_config = replace(config, noreturn=frozenset(known))
        new = set()
        for name, nodes in defs.items():
            if name in known:
                continue
            if not all(pattern.search(src.raw, n.start_byte, n.end_byte) for n in nodes):
                continue
            # Built as the file's analysis will ask for them when nothing is found.
            cfgs = [built_cfg(src, n, name, cfg_config) for n in nodes]
            if all(c.complete and not returns(c) for c in cfgs):
                new.add(name)
        if not new:
            return frozenset(found)
        found |= new
        known |= new
