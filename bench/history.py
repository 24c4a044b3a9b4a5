"""Recall of ``xenpatch lint`` on lock bugs Xen fixed upstream.

    .venv/bin/python bench/history.py [-j JOBS] [--only FIX ...] [--json OUT]
                                      [--whole-tree | --checkout]
                                      [--bugs bench/history_heldout.toml]

Three settings: by default each file is linted with its headers only (an
export of the headers, no other C file); with --whole-tree it is linted
with the summaries of every other C file of its revision too (what
`xenpatch lint xen/` does in CI: get_gfn()/put_gfn() reach the p2m lock
only through arch/x86/mm/p2m.c); with --checkout the files are linted as
the pre-commit hook lints them in a clone: `xenpatch lint FILES` run inside
a full export of the revision's xen/, with the tree summaries the CLI
computes lazily for the files alone (lint/lazy.py), one process per
revision (exports kept under <cache>/checkout/<commit>/, the tree-summary
cache under <cache>/checkout-summaries/).

For each bug of bench/history_bugs.toml, the files the fix touches are
linted at the fix's parent (the buggy version) and at the fix, each inside a
partial export of that revision's tree: xen/include/xen,
xen/arch/*/include/asm and the headers beside (and one level above) the
file, which is everything the lint reads around a C file
(xenpatch/analysis/headers.py).  Exports are cached
under ~/.cache/xenpatch/history/<commit>/ (XENPATCH_HISTORY_CACHE).

A bug is caught when, at the parent, a finding lies in a function the fix
changes (the functions its hunks touch at the parent, plus the bug's
``functions``) and the same finding (file, function, check, message with
numbers removed) is not reported at the fix.  Noise is every other finding
in the bug's files at the parent.  Printed apart, not in the recall: the
bugs missed so whose changed function's second take of a caller's lock is
reported at the call in an unchanged caller (an XL010 naming it).  Bugs on
RCU read sections are also linted with the ``rcu`` kind switched on (it is
off in rules/lint.toml), shown in their own column; recall is computed with
the default rules.

False positives in correct functions: the functions the fix changes are
taken as correct at the fix; each of them with a finding there counts as one
(over all the changed functions of the bugs measured), except those an
entry's ``open_at_fix`` shows to be still buggy at the fix (listed apart,
with the evidence).  Entries marked
``excluded = "reason"`` (not a lock-discipline bug fix) are listed with their
reason and neither linted nor counted.  --bugs names another list of the same
format: bench/history_heldout.toml is the held-out set chosen mechanically by
bench/heldout_select.py.

The public history comes from XENPATCH_XEN_MIRROR (default
/work/.mirror/xen-project+xen/repo), read only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xenpatch.analysis.locktable import Summary  # noqa: E402
from xenpatch.c.source import SourceError, function_name, functions, parse_bytes  # noqa: E402
from xenpatch.lint import irqhops  # noqa: E402
from xenpatch.lint.config import LintConfig  # noqa: E402
from xenpatch.lint.filelint import lint_file  # noqa: E402
from xenpatch.lint.inputs import size  # noqa: E402
from xenpatch.lint.irqcalls import settle  # noqa: E402
from xenpatch.lint.rounds import changed  # noqa: E402
from xenpatch.lint.treeexports import tree_exports  # noqa: E402

MIRROR = Path(os.environ.get("XENPATCH_XEN_MIRROR", "/work/.mirror/xen-project+xen/repo"))
CACHE = Path(
    os.environ.get("XENPATCH_HISTORY_CACHE", Path.home() / ".cache" / "xenpatch" / "history")
)
BUGS = Path(__file__).resolve().parent / "history_bugs.toml"
RULES = ROOT / "rules"


# --------------------------------------------------------------------------
# git


def git(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={MIRROR}", *args], input=data, capture_output=True, check=True
    ).stdout


def full_hash(rev: str) -> str:
    return git("rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()


def needed(paths: list[str], files: list[str]) -> list[str]:
    """Paths of a revision the lint reads for ``files``: the files, the
    headers of xen/include/xen and xen/arch/*/include/asm, and those of each
    file's directory and of the one above it, and xen/include/asm-{x86,arm}
    (where the arch headers were before 4.17)."""
    dirs = set()
    for f in files:
        d = f.rsplit("/", 1)[0]
        dirs.add(d)
        if d.count("/") > 0:
            dirs.add(d.rsplit("/", 1)[0])
    want = set(files)
    for p in paths:
        if (
            re.match(r"xen/include/(?:xen|asm-x86|asm-arm)/", p)
            or re.match(r"xen/arch/[^/]+/include/asm/", p)
            or (p.endswith(".h") and p.rsplit("/", 1)[0] in dirs)
        ):
            want.add(p)
    return sorted(want)


def export(commit: str, files: list[str]) -> Path:
    """The cached partial tree of ``commit`` holding what linting ``files``
    needs; exported (only what is missing) on first use."""
    top = CACHE / commit
    manifest = top / ".exported"
    have = set(manifest.read_text().split("\n")) if manifest.is_file() else set()
    if all(f in have for f in files) and have:
        return top
    listing = git("ls-tree", "-r", "-z", commit, "--", "xen/").split(b"\0")
    blobs: dict[str, str] = {}
    for entry in listing:
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        _mode, kind, sha = meta.split()
        if kind == b"blob":
            blobs[path.decode()] = sha.decode()
    want = [p for p in needed(list(blobs), files) if p in blobs and p not in have]
    missing = [f for f in files if f not in blobs]
    if missing:
        raise SystemExit(f"{commit[:10]}: no {', '.join(missing)}")
    out = git("cat-file", "--batch", data="".join(blobs[p] + "\n" for p in want).encode())
    pos = 0
    for p in want:
        nl = out.index(b"\n", pos)
        size = int(out[pos:nl].split()[2])
        body = out[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
        dest = top / p
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(body)
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text("\n".join(sorted(have | set(want))))
    tmp.replace(manifest)
    return top


def full_export(commit: str) -> Path:
    """The cached export of ``commit``'s whole xen/ (a checkout's, for
    --checkout), made in a temporary directory and renamed into place:
    one interrupted leaves nothing half there."""
    top = CACHE / "checkout" / commit
    if (top / "xen").is_dir():
        return top
    top.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=top.parent, prefix=f".{commit[:10]}-"))
    try:
        archive = git("archive", commit, "xen/")
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        tmp.rename(top)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return top


def checkout_lint(job: tuple[str, tuple[str, ...], str]) -> dict[str, dict]:
    """``xenpatch lint --format json FILES`` inside the export ``tree``, in
    a process of its own (as the hook runs it), with the rules ``rules``:
    per file, lint_one()'s shape (``seconds``: the process's, shared)."""
    tree, files, rules = job
    env = dict(os.environ, XENPATCH_CACHE=str(CACHE / "checkout-summaries"))
    code = "import sys; from xenpatch.cli import main; sys.exit(main(sys.argv[1:]))"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, "lint", "--format", "json", "--rules", rules, *files],
        cwd=tree, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    error = None
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        doc = {"findings": [], "not_analysed": []}
        error = f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    out = {f: {"findings": [], "skipped": [], "parsed": True, "error": error,
               "seconds": seconds} for f in files}
    for f in doc["findings"]:
        out[f["path"]]["findings"].append({"line": f["line"], "id": f["id"],
                                           "message": f["message"], "function": f["function"]})
    for s in doc["not_analysed"]:
        out[s["path"]]["skipped"].append([s["function"], s["line"], s["reason"]])
    return out


def hunk_lines(parent: str, fix: str, path: str) -> list[int]:
    """Parent-side lines the fix changes (for a pure insertion, the lines
    around it)."""
    diff = git("diff", "-U0", parent, fix, "--", path).decode(errors="replace")
    lines: list[int] = []
    for m in re.finditer(r"^@@ -(\d+)(?:,(\d+))? ", diff, re.M):
        start, count = int(m.group(1)), int(m.group(2) or "1")
        lines.extend(range(start, start + count) if count else (start, start + 1))
    return lines


# --------------------------------------------------------------------------
# linting (in worker processes)

_CONFIGS: dict[str, LintConfig] = {}


def _init(rules: str, rcu_rules: str) -> None:
    _CONFIGS["default"] = LintConfig.load(Path(rules))
    _CONFIGS["rcu"] = LintConfig.load(Path(rcu_rules))


def tree_summaries(commit: str) -> dict[str, Summary]:
    """The summaries the runner's first pass finds in the whole xen/ of
    ``commit`` (exported to a temporary directory, then dropped)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", f"--git-dir={MIRROR}", "archive", commit, "xen/"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        xen = Path(tmp) / "xen"
        # In the order a whole-tree run lints them (lint/run.py: biggest
        # first, ties by path): irqwitness.merge() names the first take it
        # meets, so another order would name another witness.
        paths = sorted(sorted(xen.rglob("*.c")), key=lambda p: -size(p))
        # Named as lint_one() names the bug's files ("xen/..."): the takes
        # of a lock across files (lint/irqwitness.py) say which file is which.
        results = [lint_file(p, str(p.relative_to(xen.parent)), _CONFIGS["default"])
                   for p in paths]
        out = tree_exports(r.exports for r in results)
        out.update(settle([(p, r.path, r.exports) for p, r in zip(paths, results, strict=True)],
                          None, _CONFIGS["default"]))
        out.update(irqhops.merged([(p, r.path, r.exports)
                                   for p, r in zip(paths, results, strict=True)]))
        # The second round of summaries, as a whole-tree run's third pass
        # meets them (lint/rounds.py): the files exporting a summary, with
        # the others' (put_page() of mm.c reaching page_alloc.c).
        later = [lint_file(p, str(p.relative_to(xen.parent)), _CONFIGS["default"], out,
                           findings_only=True).exports if r.exports else None
                 for p, r in zip(paths, results, strict=True)]
        out.update(changed(results, later, out))
    return out


def lint_one(job: tuple[str, str, str], external: dict[str, Summary] | None = None) -> dict:
    """Lint ``path`` of the exported tree ``tree`` with config ``which``."""
    tree, path, which = job
    t0 = time.perf_counter()
    res = lint_file(Path(tree) / path, path, _CONFIGS[which], external)
    return {
        "findings": [
            {"line": f.line, "id": f.check, "message": f.message, "function": f.function}
            for f in res.findings
        ],
        "skipped": [list(s) for s in res.skipped],
        "parsed": res.parsed,
        "error": res.error,
        "seconds": time.perf_counter() - t0,
    }


def functions_at(tree: Path, path: str, lines: list[int]) -> set[str]:
    """Names of the functions of ``tree/path`` holding any of ``lines``."""
    raw = (tree / path).read_bytes()
    try:
        src = parse_bytes(path, raw, _CONFIGS["default"].macros)
    except SourceError:
        src = parse_bytes(path, bytes(b if b < 0x80 else 0x3F for b in raw),
                          _CONFIGS["default"].macros)
    out = set()
    for fn in functions(src.root):
        lo, hi = fn.start_point[0] + 1, fn.end_point[0] + 1
        if any(lo <= n <= hi for n in lines):
            out.add(function_name(src, fn) or "?")
    return out


def changed_functions(job: tuple[str, str, str, str]) -> list[str]:
    tree, parent, fix, path = job
    return sorted(functions_at(Path(tree), path, hunk_lines(parent, fix, path)))


# --------------------------------------------------------------------------


@dataclass
class Bug:
    fix: str
    parent: str
    files: list[str]
    kind: str
    lock: str
    desc: str
    functions: list[str] = field(default_factory=list)
    cause: str = ""
    category: str = ""
    excluded: str = ""
    bug: str = ""
    # changed function -> why its finding at the fix is a bug still there
    open_at_fix: dict[str, str] = field(default_factory=dict)
    # Why the parent's code, read whole, shows no misbehaving lock (the fix
    # adds the bad caller itself, the leaking call took no lock then): no
    # lint can catch it there.  Counted in the recall as any other entry;
    # the most any lint could reach is printed beside it.
    unseen_at_parent: str = ""
    # filled in
    fix_full: str = ""
    parent_full: str = ""
    date: str = ""


def load_bugs(only: list[str], path: Path = BUGS) -> list[Bug]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    bugs = [Bug(**b) for b in data["bug"]]
    if only:
        bugs = [b for b in bugs if any(b.fix.startswith(o) for o in only)]
    return bugs


def key(f: dict, path: str) -> tuple[str, str, str, str]:
    return (path, f["function"], f["id"], re.sub(r"\d+", "#", f["message"]))


def rcu_rules_dir(rules: Path, tmp: Path) -> Path:
    d = tmp / "rules-rcu"
    shutil.copytree(rules, d)
    lint = (d / "lint.toml").read_text(encoding="utf-8")
    lint, n = re.subn(r'^kinds = \[[^\]]*\]', 'kinds = ["spin", "rw", "percpu", "rcu"]',
                      lint, flags=re.M)
    if n != 1:
        raise SystemExit("rules/lint.toml: no [checks] kinds line to switch rcu on")
    (d / "lint.toml").write_text(lint, encoding="utf-8")
    return d


# Checks whose finding may name a callee that takes the lock: "'<callee>'
# takes 'l', already held ..." (xenpatch/lint/checks.py's XL010 message).
_AT_CALL = re.compile(r"'([A-Za-z_]\w*)' takes '")


def at_call(funcs: set[str], par: dict[str, dict], fix: dict[str, dict]) -> list[dict]:
    """Findings at the parent, not at the fix, of a second take by a callee
    the fix changes, reported at its call in a caller the fix leaves as it
    is (the lock is the caller's; the take is in the changed function).
    A figure apart from recall: the judge above looks where the finding
    is, this one where its take is."""
    def taken(f: dict) -> bool:
        m = _AT_CALL.match(f["message"])
        return f["id"] == "XL010" and m is not None and m.group(1) in funcs \
            and f["function"] not in funcs

    return [f for f, gone in _gone_at_fix(par, fix, taken) if gone]


def _gone_at_fix(par: dict[str, dict], fix: dict[str, dict], pick):
    """Each finding at the parent with, for those ``pick`` takes, whether
    the fix no longer reports it (the same key(), each finding at the fix
    matching one at the parent once), else None."""
    at_fix = Counter(key(f, p) for p, r in fix.items() for f in r["findings"])
    for p, r in par.items():
        for f in r["findings"]:
            if not pick(f):
                yield f, None
                continue
            k = key(f, p)
            if at_fix[k] > 0:
                at_fix[k] -= 1
                yield f, False
            else:
                yield f, True


def judge(funcs: set[str], par: dict[str, dict], fix: dict[str, dict]):
    """(caught findings, noise findings, parent findings in funcs) of a bug."""
    caught, noise, inside = [], [], []
    for f, gone in _gone_at_fix(par, fix, lambda f: f["function"] in funcs):
        if gone is not None:
            inside.append(f)
        (caught if gone else noise).append(f)
    return caught, noise, inside


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--only", nargs="*", default=[], help="fix commits to run")
    ap.add_argument("--json", type=Path, help="write per-bug details here")
    ap.add_argument("-v", "--verbose", action="store_true", help="list each finding")
    ap.add_argument("--rules", type=Path, default=RULES,
                    help="rules directory (default: the project's rules/)")
    ap.add_argument("--bugs", type=Path, default=BUGS,
                    help="the list of bugs (default: bench/history_bugs.toml)")
    ap.add_argument("--whole-tree", action="store_true",
                    help="lint each file with the summaries of every other file of its "
                    "revision, as `xenpatch lint xen/` does (exports whole trees: minutes)")
    ap.add_argument("--checkout", action="store_true",
                    help="lint the files as the pre-commit hook does in a clone: "
                    "`xenpatch lint FILES` inside a full export of each revision, with the "
                    "lazy tree summaries, one process per revision")
    args = ap.parse_args()
    if args.whole_tree and args.checkout:
        ap.error("--whole-tree and --checkout are two settings: choose one")

    t_start = time.perf_counter()
    bugs = load_bugs(args.only, args.bugs)
    excluded = [b for b in bugs if b.excluded]
    bugs = [b for b in bugs if not b.excluded]
    for b in bugs:
        b.fix_full = full_hash(b.fix)
        b.parent_full = full_hash(b.fix_full + "^")
        if not b.parent_full.startswith(b.parent):
            raise SystemExit(f"{b.fix}: parent is {b.parent_full[:10]}, data says {b.parent}")
        b.date = git("log", "-1", "--format=%cs", b.fix_full).decode().strip()
    bugs.sort(key=lambda b: b.date, reverse=True)

    t0 = time.perf_counter()
    trees: dict[tuple[str, str], Path] = {}
    for b in bugs:
        for c in (b.parent_full, b.fix_full):
            trees[(b.fix, c)] = full_export(c) if args.checkout else export(c, b.files)
    t_export = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        rcu = rcu_rules_dir(args.rules, Path(tmp))
        jobs = []
        for b in bugs:
            for c in (b.parent_full, b.fix_full):
                for f in b.files:
                    jobs.append((str(trees[(b.fix, c)]), f, "default"))
                    if b.lock == "rcu":
                        jobs.append((str(trees[(b.fix, c)]), f, "rcu"))
        jobs = sorted(set(jobs))
        hunk_jobs = [(str(trees[(b.fix, b.parent_full)]), b.parent_full, b.fix_full, f)
                     for b in bugs for f in b.files]
        t0 = time.perf_counter()
        init = (str(args.rules), str(rcu))
        with ProcessPoolExecutor(args.jobs, initializer=_init, initargs=init) as ex:
            externals: list[dict[str, Summary] | None] = [None] * len(jobs)
            if args.whole_tree:
                commits = sorted({c for b in bugs for c in (b.parent_full, b.fix_full)})
                sums = dict(zip(commits, ex.map(tree_summaries, commits), strict=True))
                by_tree = {str(t): sums[c] for (_, c), t in trees.items()}
                externals = [by_tree[j[0]] for j in jobs]
            if args.checkout:
                # One process per revision and rules, its files together.
                per_run: dict[tuple[str, str], set[str]] = {}
                for tree, path, which in jobs:
                    per_run.setdefault((tree, which), set()).add(path)
                runs = [(tree, tuple(sorted(paths)), str(args.rules if which == "default"
                                                         else rcu))
                        for (tree, which), paths in sorted(per_run.items())]
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(args.jobs) as threads:
                    got = dict(zip(sorted(per_run), threads.map(checkout_lint, runs),
                                   strict=True))
                results = {j: got[(j[0], j[2])][j[1]] for j in jobs}
            else:
                results = dict(zip(jobs, ex.map(lint_one, jobs, externals), strict=True))
            changed = dict(zip(hunk_jobs, ex.map(changed_functions, hunk_jobs), strict=True))
        t_lint = time.perf_counter() - t0

    rows, details = [], []
    caught_n = caught_rcu_n = noise_total = 0
    rcu_bugs = rcu_noise_total = rcu_noise_default = 0
    fp_functions: list[str] = []
    caught_at_call: list[str] = []
    still_open: list[str] = []
    n_functions = 0
    miss_categories: Counter[str] = Counter()
    for b in bugs:
        funcs = set(b.functions)
        for j in hunk_jobs:
            if j[1] == b.parent_full and j[3] in b.files:
                funcs |= set(changed[j])

        def res(commit: str, which: str, b: Bug = b) -> dict[str, dict]:
            return {f: results[(str(trees[(b.fix, commit)]), f, which)] for f in b.files}

        par, fix = res(b.parent_full, "default"), res(b.fix_full, "default")
        caught, noise, inside = judge(funcs, par, fix)
        taken_at_call = at_call(funcs, par, fix) if not caught else []
        if taken_at_call:
            # The bug itself, found one call out: no noise.
            caught_at_call.append(b.fix)
            noise = [f for f in noise if all(f is not g for g in taken_at_call)]
        rcu_caught = []
        if b.lock == "rcu":
            rcu_caught, rcu_noise, _ = judge(funcs, res(b.parent_full, "rcu"),
                                             res(b.fix_full, "rcu"))
            # The price of the rcu kind: its noise in these files, against
            # the default rules' in the same files.
            rcu_bugs += 1
            rcu_noise_total += len(rcu_noise)
            rcu_noise_default += len(noise)
        skipped = [s for r in par.values() for s in r["skipped"] if s[0] in funcs]
        unparsed = all(not r["parsed"] for r in par.values())
        errors = [r["error"] for r in par.values() if r["error"]]
        if caught:
            verdict = "caught"
            caught_n += 1
        else:
            verdict = "missed"
        if caught or rcu_caught:
            caught_rcu_n += 1
        why = category = ""
        if not caught:
            if errors:
                why, category = "lint error: " + errors[0], "lint error"
            elif unparsed:
                why, category = "file names no known lock API (not parsed)", "not parsed"
            elif skipped:
                why, category = f"function not analysed: {skipped[0][2]}", "not analysed"
            elif rcu_caught:
                why, category = "rcu kind is off by default (caught with it on)", "rcu kind off"
            if b.cause:
                why = f"{why}; {b.cause}" if why else b.cause
            category = b.category or category or "(cause not recorded)"
            why = why or "(cause not recorded)"
            miss_categories[category] += 1
        noise_total += len(noise)
        at_fix = {f["function"] for r in fix.values() for f in r["findings"]}
        # A function still buggy at the fix is not a correct one.
        n_functions += len(funcs - (at_fix & b.open_at_fix.keys()))
        fp_functions += [f"{b.fix} {name}" for name in sorted(funcs & at_fix)
                         if name not in b.open_at_fix]
        still_open += [f"{b.fix} {name}: {b.open_at_fix[name]}"
                       for name in sorted(funcs & at_fix) if name in b.open_at_fix]
        ids = ",".join(sorted({f["id"] for f in caught})) or "-"
        rows.append((b, verdict, ids, len(noise), "yes" if rcu_caught else "",
                     ", ".join(sorted(funcs)), why, category))
        details.append({
            "fix": b.fix, "parent": b.parent, "files": b.files, "functions": sorted(funcs),
            "kind": b.kind, "lock": b.lock, "desc": b.desc, "verdict": verdict,
            "caught": caught, "caught_with_rcu": rcu_caught, "noise": noise,
            "parent_in_functions": inside,
            "fix_in_functions": [f for r in fix.values() for f in r["findings"]
                                 if f["function"] in funcs],
            "skipped": skipped, "cause": why, "category": category,
        })

    total = len(bugs)
    print(f"{'fix':10} {'year':4} {'kind':16} {'lock':7} {'result':6} {'ids':11} "
          f"{'noise':>5} {'rcu-on':6} function(s)")
    for (b, verdict, ids, nnoise, rcu_on, names, _why, _cat) in rows:
        print(f"{b.fix:10} {b.date[:4]:4} {b.kind:16} {b.lock:7} {verdict:6} {ids:11} "
              f"{nnoise:5} {rcu_on:6} {names}")
    print()
    print("misses:")
    for (b, verdict, _ids, _n, _r, _f, why, cat) in rows:
        if verdict == "missed":
            print(f"  {b.fix} [{cat}] ({b.kind}, {b.lock}) {b.desc}\n      -> {why}")
    if excluded:
        print()
        print(f"excluded ({len(excluded)}, not counted):")
        for b in excluded:
            print(f"  {b.fix} {b.desc[:70]}\n      -> {b.excluded}")
    print()
    print("misses by category:")
    for cat, n in miss_categories.most_common():
        print(f"  {n:3}  {cat}")
    if args.verbose:
        for d in details:
            print(f"\n== {d['fix']} {d['desc']}")
            for what in ("parent_in_functions", "fix_in_functions", "noise"):
                for f in d[what]:
                    print(f"   {what:20} {f['line']:5} {f['id']} {f['function']}: {f['message']}")
    elapsed = time.perf_counter() - t_start
    print()
    print(f"recall (default rules): {caught_n}/{total} = {caught_n / total:.0%}")
    if caught_at_call:
        print(f"missed above, but a changed function's take reported at its call in an "
              f"unchanged caller: {len(caught_at_call)} ({', '.join(caught_at_call)}); "
              f"counted so, recall {caught_n + len(caught_at_call)}/{total} = "
              f"{(caught_n + len(caught_at_call)) / total:.0%}")
    unseen = [b for b in bugs if b.unseen_at_parent]
    if unseen:
        seen = total - len(unseen)
        caught_seen = sum(1 for b, verdict, *_ in rows
                          if verdict == "caught" and not b.unseen_at_parent)
        print(f"entries whose parent shows no misbehaving lock (unseen_at_parent): "
              f"{len(unseen)} ({', '.join(b.fix for b in unseen)}): the most any lint "
              f"can reach is {seen}/{total} = {seen / total:.1%}; caught among the "
              f"others {caught_seen}/{seen} = {caught_seen / seen:.0%}")
    print(f"recall with the rcu kind on for RCU bugs: {caught_rcu_n}/{total} = "
          f"{caught_rcu_n / total:.0%}")
    print(f"noise with the rcu kind on: {rcu_noise_total} other findings in the "
          f"{rcu_bugs} RCU bugs' files (default rules there: {rcu_noise_default})")
    print(f"false positives in correct functions (changed functions with a finding at "
          f"the fix): {len(fp_functions)}/{n_functions} = "
          f"{len(fp_functions) / max(n_functions, 1):.1%}")
    for name in fp_functions:
        print(f"  {name}")
    if still_open:
        print(f"findings at the fix that are bugs the fix left (not counted above): "
              f"{len(still_open)}")
        for what in still_open:
            print(f"  {what}")
    print(f"noise: {noise_total} other findings in the {total} buggy files "
          f"({noise_total / total:.1f} per bug)")
    print(f"time: {elapsed:.1f} s (export {t_export:.1f} s, lint {t_lint:.1f} s, "
          f"jobs={args.jobs}, {len(jobs)} lint runs)")
    if args.json:
        args.json.write_text(json.dumps(details, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
