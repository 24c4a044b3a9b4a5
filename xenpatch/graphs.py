"""Graph walks shared across layers: strongly connected components (the
explorer's fairness search, the layering test's import-cycle check, the
lint's call cycles), the nodes reachable from some roots (the lint's
closures over names) and a memo that cuts recursion (the lint's
per-function facts that follow calls)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TypeVar

N = TypeVar("N", bound=Hashable)
V = TypeVar("V")


def once_cut(memo: dict[N, V], busy: set[N], key: N, compute: Callable[[], V], cut: V) -> V:
    """compute() for ``key`` once (kept in ``memo``); a key asked again while
    its own computation is under way (a recursion through the call graph)
    gets ``cut``, which is not kept."""
    if key in memo:
        return memo[key]
    if key in busy:
        return cut
    busy.add(key)
    try:
        got = compute()
    finally:
        busy.discard(key)
    memo[key] = got
    return got


def sccs(roots: Iterable[N], succ: Callable[[N], Iterable[N]]) -> Iterator[list[N]]:
    """Tarjan's components of the graph reachable from roots, each yielded
    once its last member is done.  Iterative: state graphs are deeper than
    Python's recursion limit."""
    idx: dict[N, int] = {}
    low: dict[N, int] = {}
    on: set[N] = set()
    stack: list[N] = []
    for root in roots:
        if root in idx:
            continue
        work: list[tuple[N, Iterator[N]]] = []
        idx[root] = low[root] = len(idx)
        stack.append(root)
        on.add(root)
        work.append((root, iter(succ(root))))
        while work:
            v, it = work[-1]
            for w in it:
                if w not in idx:
                    idx[w] = low[w] = len(idx)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(succ(w))))
                    break
                if w in on:
                    low[v] = min(low[v], idx[w])
            else:
                work.pop()
                if low[v] == idx[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    yield comp
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])


def reachable(roots: Iterable[N], succ: Callable[[N], Iterable[N]]) -> set[N]:
    """The roots and every node reachable from them."""
    seen = set(roots)
    todo = list(seen)
    while todo:
        for m in succ(todo.pop()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def reaches_any(succ: Callable[[N], Iterable[N]], targets: set[N] | frozenset[N],
                ) -> Callable[[N], bool]:
    """A test of whether ``reachable([n], succ)`` meets ``targets``, for many
    ``n`` of one graph: each node's successors asked once, and a node
    found to reach none of ``targets`` (with all it reaches) not walked
    again.  The answers are those of a walk from each node."""
    succs: dict[N, list[N]] = {}
    clear: set[N] = set()  # reach none of the targets
    memo: dict[N, bool] = {}

    def next_of(n: N) -> Iterable[N]:
        if n in clear:
            return ()  # neither it nor what it reaches is a target
        got = succs.get(n)
        if got is None:
            got = succs[n] = list(succ(n))
        return got

    def test(n: N) -> bool:
        got = memo.get(n)
        if got is None:
            seen = reachable([n], next_of)
            got = memo[n] = not seen.isdisjoint(targets)
            if not got:
                clear.update(seen)
        return got

    return test
