"""Fairness: can a CPU be starved?  The full state graph (unreduced: a
reduction keeps no fairness property) and a search for a strongly fair cycle
in which one CPU never completes an op (L11, L12)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from xenpatch.graphs import sccs
from xenpatch.runtime.machine import RUN, Machine, State, StepResult


def successors(m: Machine, state: State) -> list[tuple[int, StepResult]]:
    """Each CPU that can move from state, with its step."""
    out = []
    for i in range(m.ncpus):
        r = m.step(state, i)
        if r is not None:
            out.append((i, r))
    return out


@dataclass(frozen=True)
class Lasso:
    prefix: tuple[int, ...]
    cycle: tuple[int, ...]


Graph = list[list[tuple[int, int]]]  # per state: (cpu, successor index)


def state_graph(m: Machine, max_states: int = 2_000_000) -> tuple[list[State], Graph]:
    """Every reachable state and its edges (cpu, target index), unreduced."""
    init = m.initial_state()
    index = {init: 0}
    states = [init]
    edges: list[list[tuple[int, int]]] = []
    k = 0
    while k < len(states):
        out = []
        for i, r in successors(m, states[k]):
            if r.crash is not None:
                continue
            j = index.get(r.state)
            if j is None:
                j = index[r.state] = len(states)
                states.append(r.state)
                if len(states) > max_states:
                    raise RuntimeError("state graph too large")
            out.append((i, j))
        edges.append(out)
        k += 1
    return states, edges


def _sccs(nodes: set[int], edges: list[list[tuple[int, int]]]) -> Iterator[list[int]]:
    """Components of the subgraph induced by nodes."""
    return sccs(sorted(nodes), lambda v: (w for _, w in edges[v] if w in nodes))


def fair_starvation(m: Machine, victim: int, op_idx: int) -> Lasso | None:
    """A strongly fair infinite run (every CPU enabled infinitely often moves
    infinitely often) in which CPU victim stays at op op_idx forever, or None."""
    states, edges = state_graph(m)
    pending = {k for k, s in enumerate(states)
               if s[1][victim].op_idx == op_idx and s[1][victim].status == RUN}
    work = [pending]
    while work:
        nodes = work.pop()
        for comp in _sccs(nodes, edges):
            cs = set(comp)
            inside = [(v, i, w) for v in comp for i, w in edges[v] if w in cs]
            if not inside:
                continue
            moved = {i for _, i, _ in inside}
            enabled = {i for v in comp for i, _ in edges[v]}
            unfair = enabled - moved
            if not unfair:
                return _lasso(states, edges, comp, moved)
            keep = {v for v in comp if not any(i in unfair for i, _ in edges[v])}
            if keep:
                work.append(keep)
    return None


def _bfs_path(edges: list[list[tuple[int, int]]], src: int, goal: Callable[[int, int, int], bool],
              allowed: set[int] | None) -> tuple[list[int], int] | None:
    """Shortest path from src whose last edge (v, cpu, w) satisfies goal."""
    prev: dict[int, tuple[int, int]] = {src: (-1, -1)}
    q = deque([src])
    while q:
        v = q.popleft()
        for i, w in edges[v]:
            if allowed is not None and w not in allowed:
                continue
            if goal(v, i, w):
                p = [i]
                u = v
                while u != src:
                    pu, pi = prev[u]
                    p.append(pi)
                    u = pu
                return list(reversed(p)), w
            if w not in prev:
                prev[w] = (v, i)
                q.append(w)
    return None


def _lasso(states: list[State], edges: list[list[tuple[int, int]]], comp: list[int],
           cpus: set[int]) -> Lasso:
    cs = set(comp)
    start = min(comp)
    found = _bfs_path(edges, 0, lambda v, i, w: w == start, None) if start else None
    prefix = tuple(found[0]) if found else ()
    cycle: list[int] = []
    at = start
    for cpu in sorted(cpus):
        def by_cpu(v: int, i: int, w: int, c: int = cpu) -> bool:
            return i == c

        got = _bfs_path(edges, at, by_cpu, cs)
        assert got is not None
        cycle += got[0]
        at = got[1]
    back = _bfs_path(edges, at, lambda v, i, w: w == start, cs) if at != start else None
    if back is not None:
        cycle += back[0]
    return Lasso(prefix, tuple(cycle))
