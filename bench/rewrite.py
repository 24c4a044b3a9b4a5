"""Cost of a full conversion over Xen 4.17's xen/ against a parse-only pass.

    .venv/bin/python bench/rewrite.py [TREE] [--rule rules/event_lock.toml] [--jobs 2]

Each mode runs in a fresh process, with the same worker count: 'parse' masks
and parses every .c/.h file of the rule's paths and drops the trees;
'rewrite' is the whole conversion (scan, type index, plan, edits, diff).
Prints wall time and peak memory (the main process and the largest worker)
of each, and the ratios.  TREE defaults to scripts/fetch-xen-source.sh's tree.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, os, resource, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from xenpatch.rules import load_rule
from xenpatch.rewrite.run import run_rule, source_files

mode, tree, rule_path, jobs = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
rule = load_rule(rule_path)

def parse_one(rel):
    from xenpatch.c.masking import default_macro_table
    from xenpatch.c.source import SourceError, load
    try:
        src = load(tree, rel, default_macro_table())
    except SourceError:
        return 0
    return src.root.end_byte

t0 = time.perf_counter()
if mode == "parse":
    files = source_files(tree, rule.paths)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        total = sum(pool.map(parse_one, files, chunksize=16))
    extra = {"files": len(files), "bytes": total}
else:
    result = run_rule(tree, rule, jobs=jobs)
    diff = result.diff()
    extra = {"files": result.files_scanned, "sites": len(result.plan.sites),
             "changed": len(result.changed), "diff_bytes": len(diff)}
wall = time.perf_counter() - t0
extra.update(wall=wall,
             self_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
             worker_kb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps(extra))
"""


def run(mode: str, tree: Path, rule: Path, jobs: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(tree), str(rule), str(jobs)],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree", nargs="?", type=Path)
    ap.add_argument("--rule", type=Path, default=ROOT / "rules" / "event_lock.toml")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tree = args.tree
    if tree is None:
        out = subprocess.run(["bash", str(ROOT / "scripts" / "fetch-xen-source.sh")],
                             capture_output=True, text=True, check=True)
        tree = Path(out.stdout.strip().splitlines()[-1])
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for mode in ("parse", "rewrite"):
            r = run(mode, tree, args.rule, args.jobs)
            if mode not in best or r["wall"] < best[mode]["wall"]:
                best[mode] = r
    p, w = best["parse"], best["rewrite"]
    print(f"tree: {tree}  rule: {args.rule.name}  jobs: {args.jobs}  (best of {args.repeat})")
    print(f"parse-only: {p['wall']:.2f} s wall, {p['files']} files, "
          f"peak {p['self_kb'] / 1024:.0f} MB main / {p['worker_kb'] / 1024:.0f} MB worker")
    print(f"rewrite:    {w['wall']:.2f} s wall, {w['sites']} sites in {w['changed']} files, "
          f"peak {w['self_kb'] / 1024:.0f} MB main / {w['worker_kb'] / 1024:.0f} MB worker")
    print(f"ratio rewrite/parse-only: {w['wall'] / p['wall']:.2f} (target <= 1.5)")
    print(f"peak memory per process:  {max(w['self_kb'], w['worker_kb']) / 1024:.0f} MB "
          f"(target < 200 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
