"""Which files to lint, and linting them in parallel with a stable order.

One file (the pre-commit case, with the tree's summaries cached) is linted
in this process: starting a pool would cost more than the work.  Otherwise
a process pool of ``jobs`` workers each loads the configuration once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from xenpatch.analysis.headers import find_xen_root
from xenpatch.analysis.locktable import Summary
from xenpatch.lint.config import LintConfig, lint_rules_dir
from xenpatch.lint.filelint import calls_any, lint_file
from xenpatch.lint.findings import FileResult
from xenpatch.lint.treecache import TreeCache


class UsageError(Exception):
    pass


def collect_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """(path, display name) of every C file named or under a named directory.

    Files named explicitly are linted whatever their suffix; directories
    contribute their ``*.c`` files and their headers, whose functions (the
    ``static inline`` ones) are linted once each there, not in every file
    including them.  A missing path is a usage error.
    """
    out: dict[str, Path] = {}
    for p in paths:
        if p.is_dir():
            for f in sorted([*p.rglob("*.c"), *p.rglob("*.h")]):
                if f.is_file():
                    out.setdefault(_display(f), f)
        elif p.exists():
            out.setdefault(_display(p), p)
        else:
            raise UsageError(f"{p}: no such file or directory")
    return [(out[k], k) for k in sorted(out)]


def _display(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


_CONFIG: LintConfig | None = None


def _init(rules: Path | None) -> None:
    global _CONFIG
    _CONFIG = LintConfig.load(rules)


def _one(item: tuple[Path, str]) -> FileResult:
    assert _CONFIG is not None
    return lint_file(item[0], item[1], _CONFIG)


def _again(
    item: tuple[Path, str], own: frozenset[str], exports: dict[str, Summary]
) -> FileResult | None:
    """The file linted again with the other files' summaries, if it calls
    one of those functions; None if the first pass stands."""
    assert _CONFIG is not None
    names = frozenset(n for n in exports if n not in own)
    if not calls_any(item[0], names):
        return None
    return lint_file(item[0], item[1], _CONFIG, exports)


def tree_exports(per_file: Iterable[Mapping[str, Summary]]) -> dict[str, Summary]:
    """One summary per external function of the tree; a name defined with
    different summaries (each architecture's p2m_get_page_from_gfn()) is
    left out: which one a caller gets depends on the build."""
    out: dict[str, Summary] = {}
    clash: set[str] = set()
    for exports in per_file:
        for name, summary in exports.items():
            if out.setdefault(name, summary) != summary:
                clash.add(name)
    return {n: s for n, s in out.items() if n not in clash}


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def lint_files(
    files: list[tuple[Path, str]], jobs: int | None = None, rules: Path | None = None,
    tree: bool = True,
) -> list[FileResult]:
    """Two passes: each file with its own and its headers' helpers, then the
    files that call another file's lock helper (vpci_msix_arch_print()
    drops its caller's lock when it fails) again with those summaries.
    One round: a helper known only through another file's helper stays
    unknown.

    With ``tree``, files inside a Xen tree also get the summaries of the
    tree's other files, from the on-disk cache (treecache.py), brought up
    to date first: linting one file then knows what a full run knows."""
    jobs = jobs or default_jobs()
    real = _real_paths(p for p, _ in files)
    cache = _tree_cache(real.values(), rules) if tree else None
    extra: list[tuple[Path, str]] = []
    if cache is not None:
        mine = set(real.values())
        extra = [(p, str(p)) for p in cache.stale() if p not in mine]
        real.update(_real_paths(p for p, _ in extra))
    # Big files first keeps the pool busy to the end; order is restored.
    work = sorted(files + extra, key=lambda f: -_size(f[0]))
    if jobs <= 1 or len(work) <= 1:
        _init(rules)
        results = _two_passes(work, frozenset(extra), map, cache, real)
    else:
        chunk = max(1, min(8, len(work) // (jobs * 8)))
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=(rules,)) as ex:
            results = _two_passes(
                work, frozenset(extra), lambda fn, *its: ex.map(fn, *its, chunksize=chunk),
                cache, real,
            )
    results.sort(key=lambda r: r.path)
    return results


def _real_paths(paths: Iterable[Path]) -> dict[Path, Path]:
    """``p.resolve()`` of each path, each directory resolved once:
    resolve() lstat()s every component of its path, and doing that for
    each of a tree's 600 files, three times, was most of the parent's
    serial time before the workers get their first file."""
    dirs: dict[Path, Path] = {}
    out: dict[Path, Path] = {}
    for p in paths:
        if p.is_symlink():
            out[p] = p.resolve()
            continue
        d = dirs.get(p.parent)
        if d is None:
            d = dirs[p.parent] = p.parent.resolve()
        out[p] = d / p.name
    return out


def _tree_cache(real: Iterable[Path], rules: Path | None) -> TreeCache | None:
    """The cache of the one Xen tree all files (resolved) belong to, if they
    do."""
    by_dir: dict[Path, Path | None] = {}
    for p in real:
        if p.parent not in by_dir:
            by_dir[p.parent] = find_xen_root(p)
    roots = set(by_dir.values())
    if len(roots) != 1 or None in roots:
        return None
    (root,) = roots
    assert root is not None
    return TreeCache.open(root, rules or lint_rules_dir())


def _two_passes(work: list[tuple[Path, str]], extra: frozenset[tuple[Path, str]], mapper,
                cache: TreeCache | None, real: Mapping[Path, Path]) -> list[FileResult]:
    """``extra``: files of the tree linted only for the cache's summaries;
    ``real``: the resolved path of each file."""
    first_all = list(mapper(_one, work))
    if cache is not None:
        cache.update((real[item[0]], r.exports) for item, r in zip(work, first_all, strict=True))
        cache.save()
        exports = tree_exports(cache.exports())
    else:
        exports = tree_exports(r.exports for r in first_all)
    asked = [(item, r) for item, r in zip(work, first_all, strict=True) if item not in extra]
    files = [item for item, _ in asked]
    first = [r for _, r in asked]
    if not exports:
        return first
    own = [frozenset(r.exports) for r in first]
    second = mapper(_again, files, own, [exports] * len(files))
    return [b if b is not None else a for a, b in zip(first, second, strict=True)]


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0
