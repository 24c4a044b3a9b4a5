"""Some files of a tree linted with the summaries they need of the others
(the hook's case): the names they call found through the tree's name
index, only the files defining those summarised (lazy.py), the results
kept in the tree's cache under what they were computed from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenpatch.analysis.locktable import Summary
from xenpatch.lint import passmaps, workers
from xenpatch.lint.findings import FileResult
from xenpatch.lint.inputs import display as _display
from xenpatch.lint.inputs import read as _read
from xenpatch.lint.inputs import size as _size
from xenpatch.lint.treecache import TreeCache, content_hash
from xenpatch.lint.treeexports import architecture, tree_exports

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from xenpatch.lint import forked as forked_t
    from xenpatch.lint import lazy as lazy_t
    from xenpatch.lint import lazyrounds as lazyrounds_t
    from xenpatch.lint.config import LintConfig


def lazily(files: list[tuple[Path, str]], rels: Mapping[tuple[Path, str], str | None],
            cache: TreeCache, rules: Path | None, jobs: int,
            over: Mapping[Path, bytes]) -> list[FileResult]:
    """Some files of the tree, with the summaries they need of the others.
    ``over``: files linted with other contents (``--since``: the committed
    version), of which only the result is kept, under those contents' hash
    (treecache.EARLIER); several files' run is kept whole (runmemo.py)."""
    # Each file's text, read once here: its needed names, both its passes
    # and what is kept of them are of the same text (None: unreadable, the
    # first pass says so).
    texts = {item: over[item[0]] if item[0] in over else _read(item[0]) for item in files}
    if len(files) == 1:
        return _lazily(files, rels, cache, rules, jobs, over, texts)
    from xenpatch.lint import runmemo

    run = runmemo.key(cache, files, rels, texts)
    got = runmemo.kept(cache, run, files, rels) if run is not None else None
    if got is not None:
        return got
    results = _lazily(files, rels, cache, rules, jobs, over, texts)
    if run is not None:
        runmemo.keep(cache, run, files, rels, results)
    return results


def _lazily(files: list[tuple[Path, str]], rels: Mapping[tuple[Path, str], str | None],
            cache: TreeCache, rules: Path | None, jobs: int, over: Mapping[Path, bytes],
            texts: Mapping[tuple[Path, str], bytes | None]) -> list[FileResult]:
    from xenpatch.lint import lazy

    builds: dict[str | None, list[tuple[Path, str]]] = {}
    for item in files:
        builds.setdefault(architecture(str(item[0])), []).append(item)
    if len(builds) > 1:
        # Each architecture's files with its own build's definitions
        # (lazy.Plan.build); common code's with what every build agrees on.
        by_item: dict[tuple[Path, str], FileResult] = {}
        for group in builds.values():
            by_item.update(zip(group, _lazily(group, rels, cache, rules, jobs, over, texts),
                               strict=True))
        return [by_item[item] for item in files]
    if len(files) == 1:
        # One file (the hook's case) in this process: workers forked for it
        # each derive again the macro kinds and header indexes this process
        # needs too, and the pool costs more CPU than the overlap saves in
        # wall time on a machine with other work (bench/lint.py, measured
        # both ways on Xen 4.17's grant_table.c).  A second CPU still helps
        # through children forked where they inherit what they need
        # (Plan.prefetch(), _halved()).
        jobs = 1
    loaded: list[LintConfig] = []

    def config() -> LintConfig:
        if not loaded:
            workers.init(rules)
            loaded.append(workers.config())
        return loaded[0]

    plan = lazy.Plan(cache, config, next(iter(builds)))
    # Where what is kept about a file goes (None: nowhere).  Of a file
    # linted with other contents, its result only (_over_key()).
    kept = {item: (rels[item] if item[0] not in over else None) for item in files}
    digests = {item: _over_key(cache, rels[item], over[item[0]]) if item[0] in over else None
               for item in files}
    # The files of this run's build (the others' are no part of its tree:
    # their kept exports are of their own build's plan, if any).
    asked = {rel for rel in (rels[item] for item in files) if rel is not None}
    mine = [kept[item] for item in files]
    every_file = sorted(files, key=lambda f: -_size(f[0]))
    with ExitStack() as stack:
        from xenpatch.lint import earlywalk, forked

        # The objects frozen for the children forked below (forked._freeze()),
        # given back to the collector with the run; the child forked as the
        # command started (earlywalk.py) ended with it.
        stack.callback(forked.thaw)
        stack.callback(earlywalk.end)
        early: list[Future[FileResult]] | None = None
        pool: ProcessPoolExecutor | None = None
        if jobs > 1 and any(r is None or cache.file_exports(r) is None for r in mine):
            # Files not linted yet in this context (a first run): their first
            # passes need nothing of the other files, and start now in the
            # workers while this process works out which of the others'
            # summaries they need (the name index, the text scans).
            # The checker, imported once here: the text scans below need it
            # too, and forked workers inherit it instead of importing it each.
            from xenpatch.lint import filelint  # noqa: F401
            from xenpatch.lint.pools import pool as workers_pool

            config()
            pool = stack.enter_context(workers_pool(jobs, workers.loaded, (rules,)))
            early = [pool.submit(workers.one, item, texts[item]) for item in every_file]
        if len(files) == 1 and early is None:
            # The name index of a tree not indexed yet (a first run) is
            # scanned in a child while this process finds the names needed
            # and parses the file (its lints here find the parse kept).
            from xenpatch.lint import reuse

            stack.enter_context(reuse.keeping())
            stack.callback(plan.close)
            stack.callback(_forget_ahead)  # _callers_ahead()'s passes are of this run
            plan.prefetch(_PREFETCH_LEAST)
        needs = {item: plan.needed(kept[item], item[0], texts[item]) for item in files}
        if plan.prefetching() and texts[files[0]] is not None:
            from xenpatch.lint.filelint import preparse, warm

            preparse(files[0][0], files[0][1], texts[files[0]], config())  # type: ignore[arg-type]
            plan.home = warm(files[0][0], config())
        every = frozenset().union(*needs.values())
        # The other files' summaries of those names: computed where missing
        # (with workers started, each file's as soon as it is known).
        later: dict[str, Future[tuple[bool, dict[str, Summary], str | None]]] = {}
        on_pool = pool

        def start(rel: str, names: frozenset[str]) -> None:
            assert on_pool is not None
            later[rel] = on_pool.submit(workers.summaries, cache.root / rel, names)

        todo = plan.wanted(every, asked, None if on_pool is None else start)
        # Each file's kept result stands if its content, the context and the
        # summaries it is given are as when it was kept (its own first pass
        # gave the asked files' summaries then).
        done: dict[tuple[Path, str], FileResult] = {}
        # One file linted here is linted once, with the others' summaries
        # (see _alone): its result is kept under theirs only, its own
        # being a function of its content.
        alone = len(files) == 1 and early is None
        if early is None and not todo and (alone and (
                mine[0] is not None or digests[files[0]] is not None) or all(
                r is not None and cache.file_exports(r) is not None for r in mine)):
            exports = _exports(plan, every, asked, [] if alone else [
                cache.file_exports(r).known for r in sorted(asked)])  # type: ignore[union-attr]
            for item in files:
                rel = rels[item]
                assert rel is not None
                got = cache.result(rel, lazy.exports_key(exports, needs[item]), digests[item])
                r = lazy.result_in(got, item[1]) if got is not None else None
                if r is not None and not _callers_fresh(cache, rel, texts[item]):
                    r = None  # its callers' IRQ facts may have changed
                if r is not None and got is not None and "rounds" in got:
                    from xenpatch.lint import lazyrounds

                    if not lazyrounds.fresh(got, cache.hashes):
                        r = None  # what its later round read has changed
                if r is not None:
                    done[item] = r
        rest = [item for item in files if item not in done]
        if not rest:
            return [done[item] for item in files]
        work = sorted(rest, key=lambda f: -_size(f[0]))
        raws = [texts[item] for item in work]
        jobs_todo = sorted(todo.items())

        def finish(summaries: list[tuple[bool, dict[str, Summary], str | None]],
                   first: list[FileResult], mapper: Callable[..., Iterable[Any]],
                   ) -> tuple[list[FileResult], dict[str, Summary]]:
            for (rel, names), (complete, ex, digest) in zip(jobs_todo, summaries, strict=True):
                plan.record(rel, names, ex, complete, digest)
            lazy.own_exports(((kept[item] if passmaps.as_hashed(cache, kept[item], r) else None, r)
                              for item, r in zip(work, first, strict=True)), cache)
            linted = {rels[item]: r.exports for item, r in zip(work, first, strict=True)}
            own = [linted[r] if r in linted else
                   (cache.file_exports(r) or lazy.FileExports()).known for r in sorted(asked)]
            own += [r.exports for item, r in zip(work, first, strict=True) if rels[item] is None]
            exports = _exports(plan, every, asked, own)
            second = passmaps.second(work, first, exports, mapper, raws=raws)
            config()  # the later rounds run here (workers.again, as _alone()'s)
            out = []
            for item, raw, r, b in zip(work, raws, first, second, strict=True):
                # Each file's later round, as it gets alone: a commit's
                # other files change nothing of what its own lint follows.
                b, given, later = _later(item, raw, plan, r, exports, r.exports, b,
                                         needs[item])
                extra, read, undecided, searched = _witnessed(item, plan, r.exports, b, later)
                if read is not None:
                    witnessed[item] = read
                out.append(_noted(_with_callers(item, raw, cache, r.exports, given, b,
                                                extra=extra), undecided, searched))
            return out, exports

        third: lazyrounds_t.Later | None = None
        # The files XL017's search read for each file (lazywitness.py).
        witnessed: dict[tuple[Path, str], lazyrounds_t.Later] = {}
        if alone:
            with passmaps.map_for(jobs, len(jobs_todo), rules, bool(loaded)) as mapper:
                results, exports, third = _alone(work[0], raws[0], plan, jobs_todo, every,
                                                 asked, kept[work[0]], mapper)
        elif on_pool is not None and early is not None:
            assert work == every_file and later.keys() == todo.keys()
            results, exports = finish(
                [later[r].result() for r, _ in jobs_todo], [f.result() for f in early],
                lambda fn, *its: on_pool.map(fn, *its))
        else:
            # The other files' summaries and the files' first passes, in one
            # map: with workers, they run side by side (biggest first).
            tasks: list[tuple[Any, ...]] = [("summaries", cache.root / r, n)
                                            for r, n in jobs_todo]
            tasks += [("lint", item, raw) for item, raw in zip(work, raws, strict=True)]
            order = sorted(range(len(tasks)), key=lambda i: -_size(workers.task_path(tasks[i])))
            with passmaps.map_for(jobs, len(tasks), rules, bool(loaded)) as mapper:
                out = dict(zip(order, mapper(workers.task, [tasks[i] for i in order]), strict=True))
                results, exports = finish(
                    [out[i] for i in range(len(jobs_todo))],
                    [out[len(jobs_todo) + i] for i in range(len(work))], mapper)
    for item, r in zip(work, results, strict=True):
        rel = kept[item] if digests[item] is None else rels[item]
        if rel is not None and r.error is None and (
                passmaps.as_hashed(cache, rel, r) if digests[item] is None
                else alone and r.digest == content_hash(over[item[0]])):
            kept_r = lazy.result_out(r)
            if digests[item] is not None:
                # Another content's summaries are no file's to be given: the
                # report is what is kept (a tenth of the size).
                kept_r["exports"] = {}
            read = third if third is not None else witnessed.get(item)
            if read is not None and read.read:
                from xenpatch.lint import lazyrounds

                # The files the later round read: the result stands while
                # they are as they were (its key is of the first round's).
                kept_r["rounds"] = lazyrounds.record_out(read)
            cache.set_result(rel, lazy.exports_key(exports, needs[item]), kept_r,
                             digests[item])
        done[item] = r
    return [done[item] for item in files]


def _alone(item: tuple[Path, str], raw: bytes | None, plan: lazy_t.Plan,
           jobs_todo: list[tuple[str, frozenset[str]]], every: frozenset[str],
           asked: set[str], rel: str | None, mapper: Callable[..., Iterable[Any]],
           ) -> tuple[list[FileResult], dict[str, Summary], lazyrounds_t.Later | None]:
    """One file of the tree, with the summaries it needs of the others
    (``jobs_todo``: those still to compute): (its result, the others'
    summaries it was given).

    A whole-tree run lints a file twice, the second time only if it calls
    another file's helper (workers.again); its own summaries come from the
    first.  Here nothing needs those (the other files' summaries are
    computed without them, and the file's own definitions are its own in
    any lint of it), so when the second pass surely runs the file is
    linted once, as that pass lints it (once.py).  Otherwise both passes run
    as in the whole-tree run."""
    got = _halved(plan.cache.root, jobs_todo, plan.home) if mapper is map else list(
        mapper(workers.summaries, [plan.cache.root / r for r, _ in jobs_todo],
               [n for _, n in jobs_todo]))
    for (r, names), (complete, ex, digest) in zip(jobs_todo, got, strict=True):
        plan.record(r, names, ex, complete, digest)
    others = _exports(plan, every, asked, [])
    from xenpatch.lint.once import once

    ahead = _callers_ahead(item, raw, plan.cache)
    try:
        one = once(item, raw, others, workers.config(), workers.one) \
            if raw is not None and others else None
    except BaseException:
        if ahead is not None:
            ahead.cancel()
        raise
    if ahead is None:
        return _after_once(item, raw, plan, every, asked, rel, mapper, others, one)
    from xenpatch.lint import upahead

    try:
        upahead.took(plan.cache, ahead)
        return _after_once(item, raw, plan, every, asked, rel, mapper, others, one)
    finally:
        ahead.end()  # the pass it was left to finish, if nobody waited for it


def _after_once(item: tuple[Path, str], raw: bytes | None, plan: lazy_t.Plan,
                every: frozenset[str], asked: set[str], rel: str | None,
                mapper: Callable[..., Iterable[Any]], others: dict[str, Summary],
                one: FileResult | None,
                ) -> tuple[list[FileResult], dict[str, Summary], lazyrounds_t.Later | None]:
    """_alone() after the file's lint (``one``: None where both passes are
    to run)."""
    from xenpatch.lint import lazy

    if one is not None:
        own = one.exports
        # Its own summaries would be of a second round: none are given.
        one.exports = {}
        aside = _facts_aside(item, raw, plan.cache, own)
        with _ended_on_error(aside):
            linted, given, later = _later(item, raw, plan, one, others, own, one)
            extra, later, undecided, searched = _witnessed(item, plan, own, linted, later)
        return [_noted(_with_callers(item, raw, plan.cache, own, given, linted, aside, extra),
                       undecided, searched)], others, later
    first = workers.one(item, raw)
    if passmaps.as_hashed(plan.cache, rel, first):
        lazy.own_exports([(rel, first)], plan.cache)
    full = _exports(plan, every, asked, [first.exports])
    [linted] = passmaps.second([item], [first], full, mapper, raws=[raw])
    aside = _facts_aside(item, raw, plan.cache, first.exports)
    with _ended_on_error(aside):
        linted, given, later = _later(item, raw, plan, first, full, first.exports,
                                      linted)
        extra, later, undecided, searched = _witnessed(item, plan, first.exports, linted,
                                                       later)
    return [_noted(_with_callers(item, raw, plan.cache, first.exports, given, linted, aside,
                                 extra), undecided, searched)], others, later


def _noted(result: FileResult, undecided: list[tuple[str, int, str]],
           searched: list[tuple[str, int, str]]) -> FileResult:
    """``result`` with the searches that stopped at their bound: a gap in
    what the run covered, not an effect nobody can state; and what the
    searches that ran searched (-v)."""
    result.undecided.extend(undecided)
    result.searched.extend(searched)
    return result


def _witnessed(item: tuple[Path, str], plan: lazy_t.Plan, own: Mapping[str, Summary],
               result: FileResult, later: lazyrounds_t.Later | None,
               ) -> tuple[dict[str, Summary], lazyrounds_t.Later | None,
                          list[tuple[str, int, str]], list[tuple[str, int, str]]]:
    """XL017 across files as a whole-tree run merges it for this file
    (lazywitness.py): (the facts to lint it again with, the later round's
    record with the files the search read added, the questions left
    undecided: the later round's budgets' and the search's bounds')."""
    if result.error is not None:
        return {}, later, [], []
    from xenpatch.lint import lazywitness

    got = lazywitness.search(item, own, plan.cache.root, plan.definers(), plan.cache.hashes,
                             lambda p, r: _first_records(plan, p, r))
    if got.read:
        from xenpatch.lint import lazyrounds

        later = later if later is not None else lazyrounds.Later()
        later.read.update(got.read)
    return (got.merged, later, [*(later.undecided if later is not None else ()), *got.undecided],
            [*(later.searched if later is not None else ()), *got.searched])


def _later(item: tuple[Path, str], raw: bytes | None, plan: lazy_t.Plan, first: FileResult,
           given: dict[str, Summary], own: dict[str, Summary], result: FileResult,
           needed: frozenset[str] | None = None,
           ) -> tuple[FileResult, dict[str, Summary], lazyrounds_t.Later | None]:
    """The file's result after the lazy plan's later round (lazyrounds.py,
    as a whole-tree run's third): (result, the summaries it was linted
    with, what the round read; None: it did not run).  ``first``: the
    lint whose calls made holding a lock the round follows; ``needed``:
    the names of ``given`` it would be given alone (lazyrounds.py)."""
    if raw is None or result.error is not None:
        return result, given, None
    from xenpatch.lint import lazyrounds

    later = lazyrounds.later_round(item, raw, first.held_calls, given, own, plan,
                                   workers.config(), workers.again, workers.summaries,
                                   workers.summaries_with, first.held_locks, needed)
    if later.result is None:
        return result, given, later
    got = later.result
    got.keep_first_pass(result)
    return got, {**given, **later.changed}, later


def _over_key(cache: TreeCache, rel: str | None, text: bytes) -> str | None:
    """What a file linted with other contents is kept under: their hash,
    and the hash of the file's own text now.  An old version is linted in
    the tree as it is, the file's own text included (the name index says
    which names the file defines, a chain of calls may read it), so its
    report stands only while that text does: a commit retried meets it, the
    next commit's edit does not."""
    return f"{content_hash(text)}@{cache.hashes[rel]}" if rel in cache.hashes else None


def _first_records(plan: lazy_t.Plan, path: Path, rel: str) -> Mapping[str, Summary]:
    """The XL017 records of another file's first pass (what lazywitness.py's
    searches read), kept in the tree cache by its content: the next run
    linting a file that searches them (the same file edited) reads them."""
    from xenpatch.lint.irqwitness import XKEY

    got = plan.cache.first_records(rel)
    if got is not None:
        return got
    first = plan.passes.get(rel)
    if first is None:
        first = plan.passes[rel] = workers.one((path, rel))
    got = {k: s for k, s in first.exports.items() if k.startswith(XKEY)}
    if passmaps.as_hashed(plan.cache, rel, first):
        plan.cache.set_first_records(rel, got)
    return got


def _callers_fresh(cache: TreeCache, rel: str, raw: bytes | None) -> bool:
    from xenpatch.lint import upcallers

    return raw is not None and upcallers.fresh(cache, rel, raw)


def _caller_facts(item: tuple[Path, str], raw: bytes, cache: TreeCache,
                  own: Mapping[str, Summary]) -> dict[str, Summary]:
    from xenpatch.lint import upcallers

    return upcallers.caller_facts(cache, item[0], item[1], raw, own, workers.config(),
                                  lambda p, shown, text: workers.one((p, shown), text), _display)


def _forget_ahead() -> None:
    from xenpatch.lint import upahead

    upahead.forget_ahead()


def _callers_ahead(item: tuple[Path, str], raw: bytes | None, cache: TreeCache,
                   ) -> forked_t.Ahead[Any] | None:
    """The first passes of the files likeliest to be the file's callers
    (upahead.likely_callers()), made in a child forked now, where a
    second CPU is there: the file's own lint, which says which callers'
    facts it asks for, leaves it idle, and those passes are most of the
    caller facts made after it (_facts_aside(): three first passes, ~0.3 s
    for Xen 4.17's grant_table.c).  What the child has made when the lint
    is done is taken (forked.Ahead, upahead.took()): the passes, and the
    mentions of the file's names it scanned for to guess; the pass it is
    making then is left to finish, for the facts to wait for if they ask
    it; the rest is made where it is asked as before: the same passes and
    mentions either way."""
    from xenpatch.lint import forked, upahead
    from xenpatch.lint.callerroots import MOST_CALLERS

    if raw is None or not forked.can_fork() or not upahead.never_asked(cache, item[0]):
        return None
    from xenpatch.lint.filelint import warm_callbacks

    guess = upahead.Guess(cache, item[0], raw, workers.config(),
                          lambda p, shown, text: workers.one((p, shown), text), _display)
    warm_callbacks(item[0], workers.config())
    return forked.Ahead(guess.task, MOST_CALLERS + 1)


def _facts_aside(item: tuple[Path, str], raw: bytes | None, cache: TreeCache,
                 own: Mapping[str, Summary]) -> forked_t.Child[dict[str, Summary]] | None:
    """_caller_facts() in a child forked now, where a second CPU is there
    and the file asks its callers anything: the IRQ facts depend on the
    file's own exports only, not on the later round (lazyrounds.py), which
    this process runs meanwhile.  What the child keeps (upcallers.py's
    record of the tree) it writes itself; the parent keeps nothing of it."""
    from xenpatch.lint import forked, upcallers

    if raw is None or not forked.can_fork():
        return None
    entry, ctx, fields = upcallers.wanted(own)
    if not entry and not ctx and not fields and not upcallers.stored_fields(raw):
        return None  # answered at once: not worth a fork
    return forked.Child(lambda: _caller_facts(item, raw, cache, own))


@contextmanager
def _ended_on_error(child: forked_t.Child[Any] | None) -> Iterator[None]:
    """A child whose answer will not be asked for, the work beside it
    having failed, is ended and reaped."""
    try:
        yield
    except BaseException:
        if child is not None:
            child.cancel()
        raise


def _with_callers(item: tuple[Path, str], raw: bytes | None, cache: TreeCache,
                  own: Mapping[str, Summary], given: Mapping[str, Summary],
                  result: FileResult,
                  aside: forked_t.Child[dict[str, Summary]] | None = None,
                  extra: Mapping[str, Summary] | None = None) -> FileResult:
    """The file linted again with the IRQ facts its callers in other files
    give (upcallers.py: what a whole-tree run settles), if any; ``own``:
    its first pass's exports, ``given``: the summaries ``result`` was
    linted with; ``aside``: a child computing the facts (_facts_aside()),
    whose answer is taken if it gives one whole."""
    if raw is None or result.error is not None:
        if aside is not None:
            aside.cancel()
        return result
    facts = aside.result() if aside is not None else None
    if facts is None:
        facts = _caller_facts(item, raw, cache, own)
    if not facts and not extra:
        return result
    from xenpatch.lint.filelint import lint_file

    # ``extra``: the tree's takes XL017 compares with (lazywitness.py).
    again = lint_file(item[0], item[1], workers.config(), {**given, **facts, **(extra or {})},
                      raw=raw, findings_only=True)
    again.keep_first_pass(result)
    return again


# Files of the tree not in the name index yet for which the scan is worth
# a child of its own (a first run has them all; a few changed ones are
# scanned here in less time than a fork costs).
_PREFETCH_LEAST = 64


def _halved(root: Path, jobs_todo: list[tuple[str, frozenset[str]]], home: str | None,
            ) -> list[tuple[bool, dict[str, Summary], str | None]]:
    """workers.summaries() of each, shared with a child forked here where a second
    CPU is there (forked.shared_map()): a pool's workers would each import
    and derive again what this process has (the header indexes found by
    the plan's text scans), a child forked now inherits it; in
    lazy.shared_order()'s order (``home``: the architecture whose header
    facts this process has).  What the child does not answer whole this process does:
    the result is the same either way."""
    from xenpatch.lint import forked, lazy

    at = {r: i for i, (r, _) in enumerate(jobs_todo)}
    ends = [at[r] for r in lazy.shared_order(list(at), home, lambda r: _size(root / r))]
    got = forked.shared_map(lambda k: workers.summaries(root / jobs_todo[ends[k]][0],
                                                 jobs_todo[ends[k]][1]), len(ends))
    out = dict(zip(ends, got, strict=True))
    return [out[i] for i in range(len(jobs_todo))]


def _exports(plan, every: frozenset[str], asked: set[str],
             own: Iterable[Mapping[str, Summary]]) -> dict[str, Summary]:
    """The tree's summaries of the names: the asked files' own and the
    others' (a name they disagree on is left out, as in a whole-tree run)."""
    mine = [{n: s for n, s in ex.items() if n in every} for ex in own]
    return tree_exports([*mine, *plan.exports_for(every, asked)])

