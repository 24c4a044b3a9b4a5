#!/usr/bin/env python3
"""How well tree-sitter-c parses Xen once masked, and what the masking costs.

    .venv/bin/python bench/parse_rate.py [XEN_DIR]

XEN_DIR is the ``xen/`` folder of a Xen tree (default: the one
``scripts/fetch-xen-source.sh`` unpacks).  Prints the number of .c/.h files,
of function definitions, of those holding an ERROR (or missing) node, of
top-level ERROR regions, the rwlock call sites the tree shows against those
the text has, and the CPU time of masking and of parsing (single thread).
With ``--failing N`` lists N of the function definitions that still fail.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import tree_sitter_c  # noqa: E402
from textual import LOCK_CALLS, textual_lock_calls  # noqa: E402
from tree_sitter import Language, Parser, Query, QueryCursor  # noqa: E402

from xenpatch.c.masking import default_macro_table, mask, tree_table  # noqa: E402
from xenpatch.c.source import function_name, functions, parse_bytes  # noqa: E402

_LANGUAGE = Language(tree_sitter_c.language())
_CALLEES = Query(_LANGUAGE, "(call_expression function: (identifier) @callee)")
_DECLARED = Query(_LANGUAGE, "(function_declarator declarator: (identifier) @name)")


def parsed_lock_sites(tree, query: Query = _CALLEES) -> set[tuple[int, str]]:
    """(offset, name) of every call_expression whose callee is an rwlock call
    (with ``_DECLARED``: of every function declarator of that name)."""
    found = set()
    for nodes in QueryCursor(query).captures(tree.root_node).values():
        for node in nodes:
            name = (node.text or b"").decode()
            if name in LOCK_CALLS:
                found.add((node.start_byte, name))
    return found


def xen_dir_from_fetch() -> Path:
    out = subprocess.run(
        [str(REPO / "scripts" / "fetch-xen-source.sh")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(out) / "xen"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("xen_dir", nargs="?", type=Path, help="the xen/ folder of a Xen tree")
    ap.add_argument(
        "--failing", type=int, default=0, metavar="N", help="list N failing function definitions"
    )
    ap.add_argument(
        "--no-derive", action="store_true", help="mask with rules/macros.toml alone"
    )
    args = ap.parse_args(argv)
    xen = args.xen_dir or xen_dir_from_fetch()
    if not (xen / "common").is_dir():
        print(f"{xen}: not the xen/ folder of a Xen tree", file=sys.stderr)
        return 2

    table = default_macro_table()
    t_derive = t_cached = 0.0
    if not args.no_derive:
        with tempfile.TemporaryDirectory() as cache:
            os.environ["XENPATCH_CACHE"] = cache  # a cold derivation, then a cached one
            t0 = time.process_time()
            tree_table(table, xen)
            t1 = time.process_time()
            table._trees.clear()  # the derived tables live on their base table
            table = tree_table(table, xen)
            t_cached = time.process_time() - t1
            t_derive = t1 - t0
            del os.environ["XENPATCH_CACHE"]
    parser = Parser(_LANGUAGE)
    paths = sorted(p for p in xen.rglob("*") if p.suffix in (".c", ".h") and p.is_file())
    n_files = n_funcs = n_bad = n_top_errors = 0
    sites_text = sites_found = 0
    t_mask = t_parse = 0.0
    skipped: list[str] = []
    failing: list[str] = []
    lost: list[str] = []
    for path in paths:
        rel = str(path.relative_to(xen))
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(rel)
            continue
        n_files += 1
        t0 = time.process_time()
        masked = mask(raw, table)
        t1 = time.process_time()
        tree = parser.parse(masked)
        t2 = time.process_time()
        t_mask += t1 - t0
        t_parse += t2 - t1
        n_top_errors += sum(1 for c in tree.root_node.children if c.type == "ERROR")
        src = None
        for fn in functions(tree.root_node):
            n_funcs += 1
            if fn.has_error:
                n_bad += 1
                if len(failing) < args.failing:
                    src = src or parse_bytes(rel, raw, table)
                    line = src.line_of(fn.start_byte)
                    failing.append(f"{rel}:{line}: {function_name(src, fn)}")
        text_sites = textual_lock_calls(raw)
        if text_sites:
            found = parsed_lock_sites(tree)
            # read_lock(rwlock_t *l) { ... } in rwlock.h: a definition, no call site.
            declared = parsed_lock_sites(tree, _DECLARED)
            text_sites = [site for site in text_sites if site not in declared]
            sites_text += len(text_sites)
            for site in text_sites:
                if site in found:
                    sites_found += 1
                else:
                    line = raw.count(b"\n", 0, site[0]) + 1
                    lost.append(f"{rel}:{line}: {site[1]}")

    pct = 100.0 * n_bad / n_funcs if n_funcs else 0.0
    extra = f" (+{len(skipped)} not UTF-8, skipped)" if skipped else ""
    print(f"files                      {n_files}{extra}")
    print(f"function definitions       {n_funcs}")
    print(f"  with an ERROR node       {n_bad} ({pct:.2f}%)")
    print(f"top-level ERROR regions    {n_top_errors}")
    print(f"rwlock call sites          {sites_found} of {sites_text} found in the tree")
    if not args.no_derive:
        print(f"deriving macro kinds       {t_derive:.2f} s CPU ({t_cached:.2f} s from the cache)")
    print(f"masking                    {t_mask:.2f} s CPU")
    print(f"parsing                    {t_parse:.2f} s CPU")
    for site in lost:
        print(f"  lost: {site}")
    for f in failing:
        print(f"  failing: {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
