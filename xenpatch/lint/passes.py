"""The worker processes of a whole-tree run, each file's second pass sent
to the worker that did its first.

A tree's second pass lints again, with the other files' summaries, the
files that call one of those; what it needs of a file's text alone (its
parse, its functions' CFGs) the first pass had worked out in the worker
that linted it (reuse.py).  One pool of ``jobs`` workers hands tasks to
whichever is free; here each worker is a pool of its own, so that a task
goes where this process sends it: in the first map to the first worker
with room, in a later map of the same tasks to the worker that had it
then, unless that worker's queue has run dry while another's has not
(a worker idle at the end costs more wall time than a parse).  A later
map of some of those tasks (a later round's, lint/rounds.py) finds
each where its first ran by its first argument (the file).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xenpatch.lint.collector import collect_less, collecting_less
from xenpatch.lint.pools import pool

# Chunks sent ahead to each worker: one it works on, one waiting, so it
# never waits for this process between two.
_AHEAD = 2


@dataclass
class MapFigures:
    """One map of a whole-tree run, for bench/lint.py: its tasks, those
    that gave a result (a file linted again: not None), and the CPU
    seconds its workers spent on them."""

    what: str
    tasks: int = 0
    results: int = 0
    cpu: float = 0.0


# The maps of the last whole-tree run over pinned workers, in order.
FIGURES: list[MapFigures] = []


class Pinned:
    """``map`` over workers that keep what they learnt of each task's file
    for the later maps of the same tasks (see the module's docstring)."""

    def __init__(self, pools: list[ProcessPoolExecutor]) -> None:
        self.pools = pools
        # For each task of the first map: the worker that ran it, and the
        # CPU time it took there.
        self.owner: list[int] | None = None
        self.cost: list[float] = []
        # The first map's task of each first argument (its file), when
        # hashable: where a later map of fewer tasks sends each.
        self.first_of: dict[Any, int] = {}

    def __call__(self, fn: Callable[..., Any], *its: Iterable[Any]) -> Iterator[Any]:
        tasks = list(zip(*its, strict=True))
        n = len(tasks)
        size = max(1, min(8, n // (len(self.pools) * 8)))
        at = self._placed(tasks)
        first = at is None
        if at is None:
            self.owner = [0] * n
            self.cost = [0.0] * n
            self.first_of = _first_args(tasks)
        owner = self.owner
        assert owner is not None
        queues: list[deque[list[int]]] = [deque() for _ in self.pools]
        if at is None:
            shared: deque[list[int]] = deque(
                list(range(i, min(i + size, n))) for i in range(0, n, size))
            queues = [shared] * len(self.pools)
        else:
            # Each worker's own tasks, the costliest first time first: a
            # worker whose queue runs dry takes the cheap tail of another's,
            # whose tasks were cheap because they had little to keep.
            mine: list[list[int]] = [[] for _ in self.pools]
            for i in sorted(range(n), key=lambda i: -self.cost[at[i]]):
                mine[owner[at[i]]].append(i)
            for w, idx in enumerate(mine):
                queues[w].extend(idx[j:j + size] for j in range(0, len(idx), size))
        results: list[Any] = [None] * n
        done = [False] * n
        figures = MapFigures(getattr(fn, "__name__", "?"), n)
        FIGURES.append(figures)
        running: dict[Future[list[Any]], tuple[int, list[int]]] = {}

        def submit(w: int) -> bool:
            q = queues[w]
            if not q:
                # Its own queue is empty: the tail (the cheapest tasks) of
                # the longest other one.
                q = max(queues, key=len)
                if not q:
                    return False
                chunk = q.pop()
            else:
                chunk = q.popleft()
            fut = self.pools[w].submit(_chunk, fn, [tasks[i] for i in chunk])
            running[fut] = (w, chunk)
            return True

        # One chunk to each in turn: a worker takes from another's queue
        # only once its own is empty, not before that one has started.
        for _ in range(_AHEAD):
            for w in range(len(self.pools)):
                submit(w)
        nxt = 0
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                w, chunk = running.pop(fut)
                for i, (r, cpu) in zip(chunk, fut.result(), strict=True):
                    results[i] = r
                    done[i] = True
                    figures.cpu += cpu
                    figures.results += r is not None
                    if first:
                        owner[i] = w
                        self.cost[i] = cpu
                submit(w)
            while nxt < n and done[nxt]:
                yield results[nxt]
                results[nxt] = None
                nxt += 1

    def _placed(self, tasks: list[tuple[Any, ...]]) -> list[int] | None:
        """For each task of a later map, its task in the first map (None:
        this is a first map): the same place for a map of as many tasks,
        else the task of the same first argument, if each has one."""
        if self.owner is None:
            return None
        if len(tasks) == len(self.owner):
            return list(range(len(tasks)))
        got = [self.first_of.get(_key(t)) for t in tasks]
        if not tasks or any(i is None for i in got):
            return None
        return got  # type: ignore[return-value]


def _key(task: tuple[Any, ...]) -> Any:
    """A task's first argument, if it can be a key (else None)."""
    if not task:
        return None
    try:
        hash(task[0])
    except TypeError:
        return None
    return task[0]


def _first_args(tasks: list[tuple[Any, ...]]) -> dict[Any, int]:
    """Each task's index by its first argument (kept only when they are
    distinct keys)."""
    out: dict[Any, int] = {}
    for i, t in enumerate(tasks):
        k = _key(t)
        if k is None or k in out:
            return {}
        out[k] = i
    return out


def _chunk(fn: Callable[..., Any], tasks: list[tuple[Any, ...]]) -> list[tuple[Any, float]]:
    """Each task's result and the CPU time it took."""
    out = []
    for t in tasks:
        c0 = time.process_time()
        r = fn(*t)
        out.append((r, time.process_time() - c0))
    return out


@contextmanager
def pinned(jobs: int, initializer: Callable[..., None], initargs: tuple[Any, ...],
           ) -> Iterator[Pinned]:
    """``jobs`` workers, each started with ``initializer(*initargs)``."""
    FIGURES.clear()
    with ExitStack() as stack:
        pools = [stack.enter_context(pool(1, initializer, initargs)) for _ in range(jobs)]
        yield Pinned(pools)


@contextmanager
def pass_mapper(jobs: int, n: int, load: Callable[[Path | None], Any],
                rules: Path | None) -> Iterator[Callable[..., Iterable[Any]]]:
    """The whole-tree run's ``map`` over ``n`` files: each file's second
    pass where its first ran, which kept its parse (reuse.py).  ``load``
    loads the configuration from ``rules`` in a worker (run.py's, handed
    in: this module does not import run.py, which imports it)."""
    from xenpatch.lint import reuse

    if jobs <= 1 or n <= 1:
        # This process also holds the whole run's results and the tree's
        # text: with a worker's budget it peaked at 248 MB on Xen 4.17, with
        # half of it at 173 MB (a worker's limit is 200 MB), keeping most
        # of the reuse (the biggest files are kept first).
        with reuse.keeping(reuse.BUDGET // 2, runs=False), collecting_less():
            yield map
        return
    from xenpatch.c.texts import forget

    # The checker, imported here once: forked workers inherit it instead
    # of each importing it.
    from xenpatch.lint import filelint  # noqa: F401

    # Forked workers would each hold a copy of the tree's text for nothing.
    forget()
    with pinned(jobs, _worker, (load, rules)) as mapper:
        yield mapper


def _worker(load: Callable[[Path | None], Any], rules: Path | None) -> None:
    """A whole-tree run's worker: its configuration (inherited when
    forked), what its first passes learn kept for its second passes (not
    their dataflow runs: reuse._slim()), and the collector run less
    often."""
    from xenpatch.lint import reuse

    load(rules)
    reuse.start(runs=False)
    collect_less()
