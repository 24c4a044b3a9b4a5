"""The maps of a lint run's passes over its files: in this process or over
a pool, the second pass of the files that call another file's helper,
progress as files are done."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xenpatch.analysis.locktable import Summary
from xenpatch.lint import workers
from xenpatch.lint.findings import FileResult
from xenpatch.lint.shipping import to_workers
from xenpatch.lint.treecache import TreeCache
from xenpatch.lint.treeexports import TreeExports

# (what is being done, files done, files in all), called after each file.
Progress = Callable[[str, int, int], None]


def counted(results: Iterable[FileResult | None], what: str, total: int,
             progress: Progress | None) -> Iterator[FileResult | None]:
    if progress is None:
        yield from results
        return
    progress(what, 0, total)
    for i, r in enumerate(results, 1):
        progress(what, i, total)
        yield r


def as_hashed(cache: TreeCache, rel: str | None, r: FileResult) -> bool:
    """Is ``r`` a result of the text the cache hashed for ``rel``?"""
    return rel is not None and r.digest is not None and r.digest == cache.hashes.get(rel)


@contextmanager
def map_for(jobs: int, n: int, rules: Path | None,
            loaded: bool = False) -> Iterator[Callable[..., Iterable[Any]]]:
    """``map`` in this process for one task, else over a pool of ``jobs``
    workers that each load the configuration once.  ``loaded``: this
    process has loaded it for this run already."""
    if not loaded:
        # Here, before any worker starts: a bad rule file is one error of
        # this process, not a broken pool.
        workers.init(rules)
    if jobs <= 1 or n <= 1:
        yield map
        return
    # The checker, imported here once: forked workers inherit it instead of
    # each importing it (a tenth of a second of CPU per worker).
    from xenpatch.lint import filelint  # noqa: F401
    from xenpatch.lint.pools import pool

    chunk = max(1, min(8, n // (jobs * 8)))
    # Forked workers inherit the configuration (and the tree's macro table,
    # see _warm); spawned ones load it.
    with pool(jobs, workers.loaded, (rules,)) as ex:
        yield lambda fn, *its: ex.map(fn, *its, chunksize=chunk)


def second(work: list[tuple[Path, str]], first: list[FileResult],
            exports: dict[str, Summary], mapper, progress: Progress | None = None,
            raws: list[bytes | None] | None = None,
            later: list[dict[str, Summary] | None] | None = None,
            overlays: Mapping[str, Mapping[str, Summary]] | None = None,
            asked_later: list[bool] | None = None) -> list[FileResult]:
    """``later``: filled with each file's summaries of this pass (None
    where the first pass stands), for a later round; ``overlays``:
    treeexports.arch_overlays().  ``asked_later``: per file, may a later
    round lint it again (rounds.asked_later(); None: any may): the others'
    kept parses are let go of (workers.again)."""
    if not exports:
        return first
    own = [frozenset(r.exports) for r in first]
    n = len(work)
    with to_workers(TreeExports.of(exports, overlays), mapper) as sent:
        second = list(counted(
            mapper(workers.again, work, own, [sent] * n, raws or [None] * n,
                   [r.held_calls for r in first], [None] * n,
                   asked_later if asked_later is not None else [True] * n),
            "files, second pass (other files' helpers)", len(work), progress))
    # Summaries are of one round: a file's come from its first pass, never
    # from another file's (the lazy plan computes them so); a callee's takes
    # now reach the second pass of nearly every file, and the summaries it
    # would give are of a second round.
    # Where a file calls holding a lock is of its first pass too.
    out = []
    for a, b in zip(first, second, strict=True):
        if later is not None:
            later.append(None if b is None else b.exports)
        if b is not None:
            b.keep_first_pass(a)
        out.append(b if b is not None else a)
    return out

