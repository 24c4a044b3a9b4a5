"""Cost of a full conversion over Xen 4.17's xen/ against a parse-only pass, and
against Coccinelle on the 2016 tree.

    .venv/bin/python bench/rewrite.py [TREE] [--rule rules/event_lock.toml] [--jobs 2]
    .venv/bin/python bench/rewrite.py TREE_2016 --coccinelle [--rounds 5]

With --coccinelle, TREE is the parent of the grant table conversion
(ef9dd43ddd) and the baseline is the semantic patch of the steering
repository's bench/coccinelle/ (never copied here), run as its README says:
both commands alternate in this process, after one warm-up run of each, and
the median ratio spatch / xenpatch is printed, with the call sites each one
changes.

Each mode runs in a fresh process, with the same worker count: 'parse' masks
and parses every .c/.h file of the rule's paths and drops the trees;
'rewrite' is the whole conversion (scan, type index, plan, edits, diff).
Prints wall time and peak memory (the main process and the largest worker)
of each, and the ratios.  TREE defaults to scripts/fetch-xen-source.sh's tree.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
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


def _cocci_dir() -> Path | None:
    for base in (ROOT.parent, ROOT.parent.parent):
        d = base / "shared" / "bench" / "coccinelle"
        if (d / "grant_rwlock.cocci").exists():
            return d
    return None


def _timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed ({out.returncode}): "
                         f"{out.stderr.strip()[-500:]}")
    return wall, out.stdout


def _changed_call_lines(diff: str) -> set[str]:
    """The removed lines of a diff (the call sites it rewrites), whitespace-normalised."""
    return {" ".join(line[1:].split()) for line in diff.splitlines()
            if line.startswith("-") and not line.startswith("---") and line[1:].strip()}


def versus_coccinelle(tree: Path, rounds: int) -> int:
    spatch = shutil.which("spatch")
    cocci = _cocci_dir()
    if spatch is None or cocci is None:
        print("coccinelle: skipped (needs Debian's coccinelle package and "
              "../shared/bench/coccinelle/grant_rwlock.cocci)")
        return 0
    theirs = [spatch, "--sp-file", str(cocci / "grant_rwlock.cocci"), "-I", "xen/include",
              "--all-includes", "--include-headers-for-types", "--include-headers", "-j", "2",
              "--patch", ".", "--dir", "xen"]
    ours = [str(Path(sys.executable).parent / "xenpatch"), "rewrite", "--rule",
            str(ROOT / "rules" / "grant_table.toml"), str(tree)]
    _timed(theirs, tree)  # warm-up: page cache, and the first run's own costs
    _timed(ours, tree)
    ratios: list[float] = []
    walls: dict[str, list[float]] = {"spatch": [], "xenpatch": []}
    diffs = {"spatch": "", "xenpatch": ""}
    for _ in range(rounds):
        t_theirs, diffs["spatch"] = _timed(theirs, tree)
        t_ours, diffs["xenpatch"] = _timed(ours, tree)
        walls["spatch"].append(t_theirs)
        walls["xenpatch"].append(t_ours)
        ratios.append(t_theirs / t_ours)
    lines = {k: _changed_call_lines(v) for k, v in diffs.items()}
    print(f"tree: {tree}  (median of {rounds} alternating rounds, after a warm-up of each)")
    for name in ("spatch", "xenpatch"):
        print(f"{name:9} {statistics.median(walls[name]):.2f} s wall "
              f"(runs: {', '.join(f'{w:.2f}' for w in walls[name])}); "
              f"{len(lines[name])} distinct lines rewritten")
    print(f"lines spatch rewrites that xenpatch rewrites too: "
          f"{len(lines['spatch'] & lines['xenpatch'])}/{len(lines['spatch'])}")
    print(f"ratio spatch/xenpatch: median {statistics.median(ratios):.2f} "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}; target >= 5)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree", nargs="?", type=Path)
    ap.add_argument("--rule", type=Path, default=ROOT / "rules" / "event_lock.toml")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--coccinelle", action="store_true",
                    help="compare with spatch on the 2016 tree (TREE) instead")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if args.coccinelle:
        if args.tree is None:
            ap.error("--coccinelle needs the 2016 tree (ef9dd43ddd) as TREE")
        return versus_coccinelle(args.tree.resolve(), args.rounds)
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
