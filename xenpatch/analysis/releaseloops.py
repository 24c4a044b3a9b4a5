"""Ways out of a loop that releases the lock of each element of a
collection and takes none (the dataflow's collective ``[*]`` lock).

Which elements such a loop released when it is left -- by its condition
turning false, by a ``break`` or a ``goto`` on a test of the element --
depends on its range and on what those tests say of each element, which
no fact relates to the loop that took them (``for_each_possible_cpu``
twice over the same CPUs; an error loop stopping at the element the
taking loop stopped at).  Past such a way out the collective lock may or
may not be held: unknown, not a leak (-v says so), as past a skipped
``if ( taken(i) ) unlock(&a[i].lock)`` (ReleaseLoops.guarded()).

A loop that also takes the collective lock is not one: a way out of it
with this round's element still held is a leak, reported as ever.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from xenpatch.analysis.events import OpAct, TryAssignAct
from xenpatch.analysis.functions import FunctionInfo
from xenpatch.c.cfg import Cfg, Kind

_LOOPS = ("for_statement", "while_statement", "do_statement")


class ReleaseLoops:
    """A function's release loops, asked per condition node."""

    def __init__(self, cfg: Cfg, info: FunctionInfo) -> None:
        self.cfg = cfg
        self.info = info
        self._memo: dict[int, dict[int, tuple[OpAct, ...]]] = {}
        self._guarded: dict[int, tuple[OpAct, ...]] = {}
        self._loops: dict[int, tuple[tuple[OpAct, ...], frozenset[str]]] = {}
        # Any release of a collective lock at all (most functions: none).
        self._any = any(isinstance(a, OpAct) and a.effect.action == "release"
                        and "[*]" in a.effect.key for acts in info.acts for a in acts)

    def guarded(self, n: int) -> tuple[OpAct, ...]:
        """The releases of a collective lock on the true arm of condition
        ``n`` alone: reached from its true successor before the two arms
        meet, and not released on every path of the false arm too (a test
        both of whose arms drop the element, as "if ( found ) { ...;
        unlock(p); break; } unlock(p);" does, guards no release, whatever
        else the false arm tests before its release)."""
        if not self._any:
            return ()
        got = self._guarded.get(n)
        if got is None:
            t, f = self.cfg.nodes[n].succ
            true_arm = self._straight(t)
            mine = [(x, a) for x in true_arm for a in self._node_releases(x)]
            stop = frozenset(true_arm)
            # In a loop that takes the element too, the skip keeps this
            # round's element held: a way out with it is a leak, as
            # leaving() has it, not an unknown.
            taking = self._taken_around(n) if mine else frozenset()
            got = self._guarded[n] = tuple(
                a for x, a in mine if a.effect.key not in taking
                and not self._every_path_releases(f, a.effect.key, stop))
        return got

    def _taken_around(self, n: int) -> frozenset[str]:
        """The collective locks a loop around condition ``n`` takes."""
        return frozenset().union(*(self._scan(loop)[1] for loop in self._loops_around(n)))

    def _loops_around(self, n: int) -> Iterator[Node]:
        """The loops condition ``n`` is in, innermost first."""
        ast = self.cfg.nodes[n].ast
        loop = ast.parent if ast is not None else None
        while loop is not None:
            if loop.type in _LOOPS:
                yield loop
            loop = loop.parent

    def _every_path_releases(self, x: int, key: str, stop: frozenset[int],
                             most: int = 48) -> bool:
        """Does every path from ``x`` release ``key`` before it reaches
        another node of ``stop`` (the true arm's), leaves the function, or
        goes round a loop?  At most ``most`` nodes are looked at: past
        them, no (the release stays guarded: unknown past it, as before)."""
        done: dict[int, bool] = {}
        on_path: set[int] = set()
        count = 0

        def walk(y: int) -> bool:
            nonlocal count
            if y in done:
                return done[y]
            if any(a.effect.key == key for a in self._node_releases(y)):
                # (the true arm's own release too, where the arms meet
                # before it: "if ( c ) a(); unlock(p);" guards nothing)
                done[y] = True
                return True
            if y in stop or y in on_path:
                return False
            count += 1
            if count > most:
                return False
            node = self.cfg.nodes[y]
            if node.kind is Kind.ABORT:
                done[y] = True  # the path ends: no state goes on from it
                return True
            if node.kind in (Kind.RETURN, Kind.EXIT) or not node.succ:
                done[y] = False
                return False
            on_path.add(y)
            got = all(walk(z) for z in node.succ)
            on_path.discard(y)
            done[y] = got
            return got

        return walk(x)

    def _straight(self, x: int, most: int = 6) -> list[int]:
        """The nodes from ``x`` on while each has one successor (at most
        ``most``): a branch arm's statements up to where it meets another."""
        out = [x]
        while len(out) < most:
            node = self.cfg.nodes[out[-1]]
            if node.kind not in (Kind.STMT, Kind.NOP) or len(node.succ) != 1:
                break
            out.append(node.succ[0])
        return out

    def _node_releases(self, x: int) -> list[OpAct]:
        """Node ``x``'s releases of a collective lock."""
        return [a for a in (self.info.acts[x] if x < len(self.info.acts) else ())
                if isinstance(a, OpAct) and a.effect.action == "release"
                and "[*]" in a.effect.key]

    def leaving(self, n: int) -> dict[int, tuple[OpAct, ...]]:
        """Per successor of condition ``n`` that leaves a release loop
        holding ``n``: the releases of that loop it leaves behind."""
        if not self._any:
            return {}
        got = self._memo.get(n)
        if got is None:
            got = self._memo[n] = self._leaving(n)
        return got

    def _leaving(self, n: int) -> dict[int, tuple[OpAct, ...]]:
        out: dict[int, tuple[OpAct, ...]] = {}
        for loop in self._loops_around(n):
            rels = self._releases(loop)
            if rels:
                for x in self.cfg.nodes[n].succ:
                    if not _inside(self._first_placed(x), loop):
                        out[x] = out.get(x, ()) + rels
        return out

    def _releases(self, loop: Node) -> tuple[OpAct, ...]:
        """The releases of collective locks in ``loop`` that it takes none of."""
        rels, taken = self._scan(loop)
        return tuple(a for a in rels if a.effect.key not in taken)

    def _scan(self, loop: Node) -> tuple[tuple[OpAct, ...], frozenset[str]]:
        """The releases of collective locks in ``loop``, and the locks it takes."""
        got = self._loops.get(loop.id)
        if got is not None:
            return got
        rels: list[OpAct] = []
        taken: set[str] = set()
        for node in self.cfg.nodes:
            if node.ast is None or not _inside(node.ast, loop) or node.id >= len(self.info.acts):
                continue
            for a in self.info.acts[node.id]:
                if isinstance(a, OpAct) and "[*]" in a.effect.key:
                    if a.effect.action == "release":
                        rels.append(a)
                    else:
                        taken.add(a.effect.key)
                elif isinstance(a, TryAssignAct):
                    taken.update(e.key for e in a.resolved.effects)
            br = self.info.branches[node.id] if node.id < len(self.info.branches) else None
            if br is not None and br.try_op is not None:
                # "if ( !spin_trylock(&a[i].lock) ) continue;"
                taken.update(e.key for e in br.try_op.effects)
        got = self._loops[loop.id] = (tuple(rels), frozenset(taken))
        return got

    def _first_placed(self, x: int) -> Node | None:
        """The first node from ``x`` on, through nodes of one successor and
        no text (a loop's head, a label), that has a place in the text."""
        seen: set[int] = set()
        while x not in seen:
            seen.add(x)
            node = self.cfg.nodes[x]
            if node.kind is Kind.RETURN:
                return None  # a return leaves every loop
            if node.ast is not None:
                return node.ast
            if node.kind is not Kind.NOP or len(node.succ) != 1:
                return None
            x = node.succ[0]
        return None


def _inside(ast: Node | None, loop: Node) -> bool:
    """None (no place: the function's exit) is outside every loop."""
    return ast is not None and loop.start_byte <= ast.start_byte < loop.end_byte
