"""Lock programs of real C functions: the sequences of operations on one lock
along each path, for the explorer to run before and after a conversion.

The only module of the runtime that reads C.  It takes the analysis of a
file (xenpatch.analysis.fileanalysis: control flow, and for every node the
lock effects of its calls, with helper summaries and aliases already
applied) and walks each function's paths, keeping the effects on the
converted lock.  Three things make the programs faithful rather than
syntactic:

* helpers of the same file (``double_gt_lock``) are inlined with their own
  paths, their parameters bound to the caller's arguments;
* a call of the function to itself is inlined once more (depth 1), so the
  transitive grant's drop-and-reacquire around ``__acquire_grant_for_copy``'s
  recursion is in the program, on the other domain's lock;
* a condition comparing two lock objects (``lgt < rgt``, ``lgt != rgt``) is
  decided by the abstract locks' address order (A < B < ...), as the
  address-ordered double lock relies on.

Locks are named A, B, ... by first appearance in a function, so functions
paired on CPUs share them; programs are also offered with their two locks
swapped, which is how the mirror image of a nested acquisition meets it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.analysis.config import AnalysisConfig
from xenpatch.analysis.events import AssignAct, KillCondAct, OpAct, TryAssignAct
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.headers import HeaderIndex, header_index
from xenpatch.analysis.locktable import Effect
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import ZERO, outcomes, truth_success
from xenpatch.c.cfg import Kind
from xenpatch.c.source import parse_bytes
from xenpatch.runtime.programs import Op, Program

# (op kind, lock key); keys are the lint's normalised lock expressions.
Step = tuple[str, str]
Keep = Callable[[Effect, int], bool]  # effect, source line -> is it the converted lock?

MAX_OPS = 12  # ops on the lock per path; longer paths (lock ops in loops) are cut
MAX_STATES = 50_000
_NAMES = "ABCDEFGH"


@dataclass
class FunctionPrograms:
    path: str
    function: str
    sequences: list[tuple[Step, ...]] = field(default_factory=list)
    # Paths an address comparison chose: their locks cannot be swapped.
    address_ordered: set[tuple[Step, ...]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    # Partial paths the walk abandoned for having more than MAX_OPS lock
    # operations (each stands for one or more whole paths), and whether the
    # walk's state bound cut it short.
    long_cut: int = 0
    truncated: bool = False
    # Why the function's control flow could not be built (a goto to no
    # label, a break outside a loop): its paths are unknown, none is walked.
    unwalked: str | None = None


def _op_kind(e: Effect, percpu: bool) -> str | None:
    if e.action not in ("acquire", "release") or e.mode not in ("read", "write"):
        return None  # queries do not change the lock; inits happen before sharing
    verb = "lock" if e.action == "acquire" else "unlock"
    return f"{'percpu_' if percpu else ''}{e.mode}_{verb}"


_ADDR_TEST = re.compile(r"^\(?\s*([\w>.\-]+)\s*(<|>|<=|>=|==|!=)\s*([\w>.\-]+)\s*\)?$")


Assumption = tuple[str, str, str, bool]  # left key, operator, right key, outcome taken
_OPS: dict[str, Callable[[int, int], bool]] = {
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Path_:
    """One path's operations, and the address comparisons it took."""

    steps: tuple[Step, ...]
    assumes: tuple[Assumption, ...] = ()
    # Facts an inlined helper's path leaves in its caller's variable: the
    # value class of the result it returned ("@x" facts, set after the node).
    sets: tuple[tuple[str, str], ...] = ()

    def bind(self, bound: dict[str, str]) -> Path_:
        return Path_(tuple((k, _bind(key, bound)) for k, key in self.steps),
                     tuple((_bind(a, bound), op, _bind(b, bound), out)
                           for a, op, b, out in self.assumes))

    def consistent(self) -> bool:
        """Do the comparisons hold when locks are ordered by first use (A < B < ...)?

        A lock the path never takes can be anywhere, so it satisfies anything.
        """
        rank = _rank(self.steps)
        return all(
            out == _OPS[op](rank[a], rank[b]) if a in rank and b in rank and a != b
            else out == (op in ("==", "<=", ">=")) if a == b else True
            for a, op, b, out in self.assumes
        )


class _Walker:
    def __init__(self, fa: FileAnalysis, keep: Keep, percpu: bool, field_name: str) -> None:
        self.fa = fa
        self.keep = keep
        self.percpu = percpu
        self.field = field_name
        self.truncated: set[str] = set()
        self.long_cut = 0
        # Same-file helpers whose paths were inlined into a caller's.
        self.inlined: set[str] = set()

    def alternatives(self, f: FunctionUnit, node_id: int, depth: int) -> list[Path_]:
        """What a node adds to a path: one or several (inlined callees) pieces."""
        assert f.info is not None and f.cfg is not None  # prepared by paths()
        acts = f.info.acts[node_id] if node_id < len(f.info.acts) else []
        ops = [a for a in acts if isinstance(a, OpAct)]
        node = f.cfg.nodes[node_id]
        text = (node.ast.text or b"").decode() if node.ast is not None else ""
        # A call of the function itself: its paths, on the callee's locks.
        if depth > 0 and re.search(rf"\b{re.escape(f.name)}\s*\(", text):
            args = _call_args(text, f.name)
            if args is not None:
                bound = dict(zip(f.info.params, args, strict=False))
                return [p.bind(bound) for p in self.paths(f, depth - 1)] or [Path_(())]
        if not ops:
            # A try-like helper of the file assigned to a variable
            # (``x = find_and_lock(...)``): the lint resolves its take at
            # the test of x; its paths are inlined, each leaving x its class.
            tries = [a for a in acts if isinstance(a, TryAssignAct) and any(
                e.key.endswith((f"->{self.field}", f".{self.field}"))
                for e in a.resolved.effects)]
            via = {e.via for a in tries for e in a.resolved.effects}
            if len(tries) == 1 and len(via) == 1:
                got = self.inline(f, next(iter(via)), list(tries[0].resolved.effects))
                if got is not None:
                    paths, success = got
                    return _with_result(tries[0].var, text, next(iter(via)), success, paths)
            return [Path_(())]
        via = {a.effect.via for a in ops}
        helper = next((v for v in via if self.fa.function(v) is not None and v != f.name), None)
        if helper is not None and len(via) == 1:
            got = self.inline(f, helper, [a.effect for a in ops])
            if got is not None:
                assigned = [a.var for a in acts if isinstance(a, AssignAct)]
                return _with_result(assigned[0] if len(assigned) == 1 else None, text,
                                    helper, got[1], got[0])
        steps = []
        for a in ops:
            if self.keep(a.effect, a.line):
                kind = _op_kind(a.effect, self.percpu)
                if kind is not None:
                    steps.append((kind, a.effect.key))
        return [Path_(tuple(steps))]

    def inline(self, f: FunctionUnit, helper: str, at_call: list[Effect]
               ) -> tuple[list[Path_], str | None] | None:
        """The paths of the file's ``helper`` called from ``f`` with the lock
        effects ``at_call`` (its summary's, bound to the caller's keys), and
        its summary's success class; None when it cannot be inlined."""
        h = self.fa.function(helper)
        if h is None or helper == f.name:
            return None
        self.fa.prepare(h)
        summary = self.fa.summary_of(helper)
        if h.info is None or h.cfg is None or summary is None:
            return None
        # The summary's $i templates, matched to the caller's keys: a
        # parameter stands for the object (``$0->lock`` as ``gt->lock``) or
        # for a path into one (``hvm = &d->arch.hvm``: ``$0->lock`` as
        # ``d->arch.hvm.lock``).
        template = {s.key: e.key for s, e in zip(summary.effects, at_call, strict=False)}
        arrow, dot = f"->{self.field}", f".{self.field}"
        bound: dict[str, str] = {}
        for i, p in enumerate(h.info.params):
            key = template.get(f"${i}{arrow}")
            if key is None:
                continue
            if key.endswith(arrow):
                bound[p] = key.removesuffix(arrow)
            elif key.endswith(dot):
                bound[p + "->"] = key.removesuffix(self.field)
        self.inlined.add(helper)
        return [p.bind(bound) for p in self.paths(h, 0)] or [Path_(())], summary.conditional

    def address_test(self, f: FunctionUnit, node_id: int) -> tuple[str, str, str] | None:
        """(left key, operator, right key) when a condition compares two lock objects."""
        assert f.info is not None and f.cfg is not None  # prepared by paths()
        node = f.cfg.nodes[node_id]
        if node.kind is not Kind.COND or node.ast is None or len(node.succ) != 2:
            return None
        m = _ADDR_TEST.match((node.ast.text or b"").decode())
        if m is None:
            return None
        alias = f.info.aliases
        lk = f"{alias.get(m.group(1), m.group(1))}->{self.field}"
        rk = f"{alias.get(m.group(3), m.group(3))}->{self.field}"
        keys = self.lock_keys(f)
        if lk not in keys or rk not in keys:
            return None
        return lk, m.group(2), rk

    def lock_keys(self, f: FunctionUnit) -> set[str]:
        """Keys of the converted lock this function's own calls name."""
        assert f.info is not None
        return {a.effect.key for acts in f.info.acts for a in acts
                if isinstance(a, OpAct) and self.keep(a.effect, a.line)}

    def paths(self, f: FunctionUnit, depth: int) -> list[Path_]:
        """Every path's operations on the lock, up to MAX_OPS of them."""
        self.fa.prepare(f)
        if f.cfg is None or f.info is None:
            return []
        found: set[Path_] = set()
        facts0: Facts = frozenset()
        start = (f.cfg.entry, Path_(()), facts0)
        seen = {start}
        # Breadth first: when the state bound cuts the walk, what is lost is
        # the longest paths (lock operations repeated in loops), not whole branches.
        work = deque([start])
        while work:
            if len(seen) >= MAX_STATES:
                self.truncated.add(f.name)
                break
            node_id, path, facts = work.popleft()
            node = f.cfg.nodes[node_id]
            if node.kind is Kind.ABORT:
                continue
            facts = _kill_facts(f, node_id, facts)
            test = self.address_test(f, node_id)
            edges = _feasible_edges(f, node_id, facts, _held_keys(path.steps))
            for extra in self.alternatives(f, node_id, depth):
                steps = path.steps + extra.steps
                if len(steps) > MAX_OPS:
                    self.long_cut += 1
                    continue
                here = Path_(steps, path.assumes + extra.assumes)
                if node.kind is Kind.EXIT or not node.succ:
                    found.add(here)
                    continue
                for i, succ, facts2 in edges:
                    if extra.sets:
                        facts2 = frozenset(kv for kv in facts2 if kv[0] not in dict(extra.sets)) \
                            | frozenset(extra.sets)
                    nxt = here
                    if test is not None:
                        nxt = Path_(steps, here.assumes + ((*test, i == 0),))
                    state = (succ, nxt, facts2)
                    if state not in seen:
                        seen.add(state)
                        work.append(state)
        return sorted(found, key=lambda p: (len(p.steps), p.steps, p.assumes))


def _with_result(var: str | None, text: str, helper: str, success: str | None,
                 paths: list[Path_]) -> list[Path_]:
    """The inlined paths of a try-like helper (its summary: it holds the lock
    exactly when its result says success) with the result's class left in
    the variable the node assigns it to (``x = find_and_lock(...)``): a path
    ending with the lock held returned success, the others failure, so the
    caller's ``if ( !x )`` follows the helper's outcome (as the lint's
    summary has it) instead of pairing the held lock with the failure exit
    (g2m_portio_find_and_lock() and its three callers, x86/hvm/io.c)."""
    if var is None or success is None or not truth_success(success) or re.search(
            rf"\b{re.escape(var)}\s*=\s*(?:\([^()]*\)\s*)?{re.escape(helper)}\s*\(",
            text) is None:
        return paths
    (yes, _), (no, _) = outcomes(success)
    out = []
    for p in paths:
        cls = yes if _held_keys(p.steps) else no
        out.append(Path_(p.steps, p.assumes, (("@" + var, cls),)) if cls else p)
    return out


# What a path knows: repeated condition text -> "T" | "F", and "@var" -> the
# value class of a tracked variable (the lint's path facts).
Facts = frozenset[tuple[str, str]]


def _kill_facts(f, node_id: int, facts: Facts) -> Facts:
    """The node's assignments forget (or set) what the path knew of the
    repeated conditions whose variables they change (the lint's KillCondAct)."""
    acts = f.info.acts[node_id] if node_id < len(f.info.acts) else ()
    for a in acts:
        if isinstance(a, AssignAct):
            # A tracked variable's value class ("@var" facts), as the lint keeps it.
            k = "@" + a.var
            facts = frozenset(kv for kv in facts if kv[0] != k)
            if a.cls is not None:
                facts = facts | {(k, a.cls)}
        elif isinstance(a, KillCondAct):
            drop = set(a.texts)
            facts = frozenset(kv for kv in facts if kv[0] not in drop)
            if a.value is not None:
                facts = facts | {(t, a.value) for t in a.texts}
    return facts


def _held_keys(steps: tuple[Step, ...]) -> set[str]:
    held: dict[str, int] = {}
    for kind, key in steps:
        held[key] = held.get(key, 0) + (-1 if "unlock" in kind else 1)
    return {k for k, n in held.items() if n > 0}


def _feasible_edges(f, node_id: int, facts: Facts,
                    held: frozenset[str] | set[str] = frozenset()) -> list[tuple[int, int, Facts]]:
    """(edge index, successor, facts after) for the edges a path may take:
    a condition the path has already decided, unchanged since, goes the same
    way again (``if ( c ) read_lock ... if ( c ) read_unlock``); a pointer
    whose object's lock the path holds is not NULL (as the lint reasons)."""
    node = f.cfg.nodes[node_id]
    out = [(i, s, facts) for i, s in enumerate(node.succ)]
    br = f.info.branches[node_id] if (
        node.kind is Kind.COND and node_id < len(f.info.branches)) else None
    if br is None or len(node.succ) != 2:
        return out
    known = dict(facts)
    t, e = node.succ
    if br.var_test is not None:
        vt = br.var_test
        k = "@" + vt.var
        cls = known.get(k)
        decided = vt.eval(cls) if cls is not None else None
        if decided is True:
            return [(0, t, facts)]
        if decided is False:
            return [(1, e, facts)]
        rest = frozenset(kv for kv in facts if kv[0] != k)
        out = []
        for i, succ, outcome in ((0, t, True), (1, e, False)):
            new = vt.refine(outcome, cls) or cls
            if new == ZERO and any(h.startswith(vt.var + "->") for h in held):
                continue
            out.append((i, succ, rest | {(k, new)} if new is not None else rest))
        return out
    if br.text is not None:
        return [(i, (t, e)[i], facts | frozenset(learned))
                for i, learned in br.repeated(known.get)]
    if br.strict_ne is not None:
        return [(i, (t, e)[i], facts | frozenset(learned))
                for i, learned in br.ordered(known.get)]
    return out


Half = tuple[str, tuple[Step, ...], tuple[Step, ...]]  # direction, before, after


def _verb_mode(kind: str) -> tuple[str, str]:
    """("lock" or "unlock", the mode as the kind spells it: "read",
    "percpu_write")."""
    mode, _, verb = kind.rpartition("_")
    return verb, mode


def helper_halves(before: list[FunctionPrograms], after: list[FunctionPrograms],
            inlined: set[str]) -> dict[str, list[Half]]:
    """Functions that only take, or only release, locks of the rule on
    every path: a lock API's halves, to be composed.  A half may name
    several objects in several modes (iocaps_double_lock(): the current
    domain's lock for reading and the target's in the mode its flag
    says, in domain-id order)."""
    out: dict[str, list[Half]] = {}
    for b, a in zip(before, after, strict=True):
        if b.function in inlined:
            continue
        by_shape = {shape(seq): seq for seq in a.sequences}
        got: list[Half] = []
        for seq in b.sequences:
            if not seq:
                continue
            verbs = {_verb_mode(k)[0] for k, _ in seq}
            twin = by_shape.get(shape(seq))
            if len(verbs) != 1 or twin is None:
                got = []
                break
            got.append(("release" if verbs == {"unlock"} else "acquire", seq, twin))
        if got:
            out[b.function] = got
    return out


def _undoing(acquire: tuple[Step, ...], release: tuple[Step, ...]) -> dict[str, str] | None:
    """The release path's lock keys as the acquire path's objects, when the
    release undoes exactly what the acquire took (each object in its mode,
    as often); None when it does not, or when nothing says which of its
    objects is which.  Keys spelt alike are one object (``currd->lock`` in
    both helpers); one key left on each side is the parameter both take
    (``l->lock`` and ``m->lock`` for the same argument)."""
    take = list(dict.fromkeys(key for _, key in acquire))
    give = list(dict.fromkeys(key for _, key in release))
    if len(take) != len(give):
        return None
    bound = {k: k for k in give if k in take}
    rest_g = [k for k in give if k not in bound]
    rest_t = [k for k in take if k not in bound]
    if len(rest_g) > 1:
        return None
    bound.update(zip(rest_g, rest_t, strict=True))
    held = sorted((_verb_mode(k)[1], key) for k, key in acquire)
    freed = sorted((_verb_mode(k)[1], bound[key]) for k, key in release)
    return bound if held == freed else None


def compose_halves(fn: str, seq: tuple[Step, ...], halves: dict[str, list[Half]]
             ) -> list[tuple[str, tuple[Step, ...], tuple[Step, ...]]]:
    """Programs pairing fn's half-path seq with every path of another half
    that undoes it (the same objects, each in its mode): acquire, then
    release."""
    direction, sb, sa = next(h for h in halves[fn] if h[1] == seq)
    out = []
    for other, hs in sorted(halves.items()):
        for d2, ob, oa in hs:
            if d2 == direction:
                continue
            first_b, second_b = (sb, ob) if direction == "acquire" else (ob, sb)
            first_a, second_a = (sa, oa) if direction == "acquire" else (oa, sa)
            bb, ba = _undoing(first_b, second_b), _undoing(first_a, second_a)
            if bb is None or ba is None:
                continue
            pb = first_b + tuple((k, bb[key]) for k, key in second_b)
            pa = first_a + tuple((k, ba[key]) for k, key in second_a)
            names = (fn, other) if direction == "acquire" else (other, fn)
            out.append((f"{names[0]}+{names[1]}", pb, pa))
    return out


def _rank(seq: tuple[Step, ...]) -> dict[str, int]:
    names: dict[str, int] = {}
    for _, key in seq:
        names.setdefault(key, len(names))
    return names


def _call_args(text: str, name: str) -> list[str] | None:
    m = re.search(rf"\b{re.escape(name)}\s*\(", text)
    if m is None:
        return None
    depth, start, args = 1, m.end(), []
    for i in range(m.end(), len(text)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(text[start:i].strip())
                return [re.sub(r"\s+", "", a) for a in args]
        elif c == "," and depth == 1:
            args.append(text[start:i].strip())
            start = i + 1
    return None


def _bind(key: str, bound: dict[str, str]) -> str:
    """``key`` with its leading name bound: ``bound[p]`` replaces ``p``;
    ``bound["p->"]`` replaces ``p->`` (a parameter pointing into an object:
    ``hvm->lock`` as ``d->arch.hvm.lock``)."""
    m = re.match(r"([A-Za-z_]\w*)(.*)$", key)
    if m is None:
        return key
    name, rest = m.groups()
    into = bound.get(name + "->")
    if into is not None and rest.startswith("->"):
        return into + rest[2:]
    if name not in bound:
        return key
    return bound[name] + rest


def analyse(root: Path, rel: str, raw: bytes, headers: HeaderIndex | None = None,
            config: AnalysisConfig | None = None) -> FileAnalysis:
    config = config or AnalysisConfig.load()
    src = parse_bytes(rel, raw, config.macros)
    fa = FileAnalysis(config, src, headers if headers is not None else
                      header_index((root / rel).resolve()))
    fa.relevant()  # which functions reach a lock: summaries are made only for those
    return fa


def function_programs(fa: FileAnalysis, names: Iterable[str], keep: Keep, percpu: bool,
                      field_name: str, depth: int = 1,
                      inlined: set[str] | None = None) -> list[FunctionPrograms]:
    """Each function's lock sequences; ``inlined`` collects the same-file
    helpers whose paths were inlined into a caller's."""
    walker = _Walker(fa, keep, percpu, field_name)
    if inlined is not None:
        walker.inlined = inlined
    out = []
    for name in names:
        f = fa.function(name)
        fp = FunctionPrograms(fa.src.path, name)
        if f is None:
            fp.problems.append("not found in the file")
        else:
            fa.prepare(f)
            if f.skip:
                fp.problems.append(f.skip)
            if f.cfg is None or not f.cfg.complete:
                # Paths of a partial graph are not the function's paths.
                fp.unwalked = f.skip or "incomplete parse"
                out.append(fp)
                continue
            before = walker.long_cut
            paths = walker.paths(f, depth)
            fp.long_cut = walker.long_cut - before
            if name in walker.truncated:
                fp.truncated = True
                fp.problems.append(f"more than {MAX_STATES} path states: long paths left out")
            for path in paths:
                if not path.consistent() or path.steps in fp.sequences:
                    continue
                fp.sequences.append(path.steps)
                if path.assumes:
                    fp.address_ordered.add(path.steps)
        out.append(fp)
    return out


def abstract(seq: tuple[Step, ...], owner: str | None, swap: bool = False) -> Program:
    """A program on locks A, B, ... (named by first use); a ``cs`` after each acquire."""
    names: dict[str, str] = {}
    for _, key in seq:
        names.setdefault(key, _NAMES[len(names) % len(_NAMES)])
    if swap and len(names) == 2:
        a, b = list(names)
        names = {a: names[b], b: names[a]}
    ops: list[Op] = []
    for kind, key in seq:
        ops.append(Op(kind, names[key], owner if kind.startswith("percpu") else None))
        if kind.endswith("_lock"):
            ops.append(Op("cs"))
    return Program(tuple(ops))


def balanced(seq: tuple[Step, ...]) -> bool:
    """Every lock is released as often as taken, never before it is taken."""
    held: dict[str, int] = {}
    for kind, key in seq:
        held[key] = held.get(key, 0) + (1 if kind.endswith("_lock") else -1)
        if held[key] < 0:
            return False
    return not any(held.values())


def shape(seq: tuple[Step, ...]) -> tuple[tuple[str, int], ...]:
    """A sequence up to lock names and the percpu prefix: what pairs before with after."""
    rank = _rank(seq)
    return tuple((kind.removeprefix("percpu_"), rank[key]) for kind, key in seq)


# -- a conversion's before/after programs ---------------------------------------------
