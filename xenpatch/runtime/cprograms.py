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
from xenpatch.analysis.events import OpAct
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.headers import HeaderIndex, header_index
from xenpatch.analysis.locktable import Effect
from xenpatch.analysis.unit import FunctionUnit
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

    def alternatives(self, f: FunctionUnit, node_id: int, depth: int) -> list[Path_]:
        """What a node adds to a path: one or several (inlined callees) pieces."""
        acts = f.info.acts[node_id] if node_id < len(f.info.acts) else []
        ops = [a for a in acts if isinstance(a, OpAct)]
        node = f.cfg.nodes[node_id]
        text = node.ast.text.decode() if node.ast is not None else ""
        # A call of the function itself: its paths, on the callee's locks.
        if depth > 0 and re.search(rf"\b{re.escape(f.name)}\s*\(", text):
            args = _call_args(text, f.name)
            if args is not None:
                bound = dict(zip(f.info.params, args, strict=False))
                return [p.bind(bound) for p in self.paths(f, depth - 1)] or [Path_(())]
        if not ops:
            return [Path_(())]
        via = {a.effect.via for a in ops}
        helper = next((v for v in via if self.fa.function(v) is not None and v != f.name), None)
        if helper is not None and len(via) == 1:
            h = self.fa.function(helper)
            assert h is not None
            self.fa.prepare(h)
            summary = self.fa.summary_of(helper)
            if h.info is not None and h.cfg is not None and summary is not None:
                # The summary's $i templates, matched to the caller's keys.
                template = {s.key: a.effect.key
                            for s, a in zip(summary.effects, ops, strict=False)}
                suffix = f"->{self.field}"
                bound = {p: template[f"${i}{suffix}"].removesuffix(suffix)
                         for i, p in enumerate(h.info.params) if f"${i}{suffix}" in template}
                return [p.bind(bound) for p in self.paths(h, 0)] or [Path_(())]
        steps = []
        for a in ops:
            if self.keep(a.effect, a.line):
                kind = _op_kind(a.effect, self.percpu)
                if kind is not None:
                    steps.append((kind, a.effect.key))
        return [Path_(tuple(steps))]

    def address_test(self, f: FunctionUnit, node_id: int) -> tuple[str, str, str] | None:
        """(left key, operator, right key) when a condition compares two lock objects."""
        node = f.cfg.nodes[node_id]
        if node.kind is not Kind.COND or node.ast is None or len(node.succ) != 2:
            return None
        m = _ADDR_TEST.match(node.ast.text.decode())
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
        return {a.effect.key for acts in f.info.acts for a in acts
                if isinstance(a, OpAct) and self.keep(a.effect, a.line)}

    def paths(self, f: FunctionUnit, depth: int) -> list[Path_]:
        """Every path's operations on the lock, up to MAX_OPS of them."""
        self.fa.prepare(f)
        if f.cfg is None or f.info is None:
            return []
        found: set[Path_] = set()
        start = (f.cfg.entry, Path_(()))
        seen = {start}
        # Breadth first: when the state bound cuts the walk, what is lost is
        # the longest paths (lock operations repeated in loops), not whole branches.
        work = deque([start])
        while work:
            if len(seen) >= MAX_STATES:
                self.truncated.add(f.name)
                break
            node_id, path = work.popleft()
            node = f.cfg.nodes[node_id]
            if node.kind is Kind.ABORT:
                continue
            test = self.address_test(f, node_id)
            for extra in self.alternatives(f, node_id, depth):
                steps = path.steps + extra.steps
                if len(steps) > MAX_OPS:
                    continue
                here = Path_(steps, path.assumes + extra.assumes)
                if node.kind is Kind.EXIT or not node.succ:
                    found.add(here)
                    continue
                for i, succ in enumerate(node.succ):
                    nxt = here
                    if test is not None:
                        nxt = Path_(steps, here.assumes + ((*test, i == 0),))
                    state = (succ, nxt)
                    if state not in seen:
                        seen.add(state)
                        work.append(state)
        return sorted(found, key=lambda p: (len(p.steps), p.steps, p.assumes))


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
    m = re.match(r"([A-Za-z_]\w*)(.*)$", key)
    if m is None or m.group(1) not in bound:
        return key
    return bound[m.group(1)] + m.group(2)


def analyse(root: Path, rel: str, raw: bytes, headers: HeaderIndex | None = None,
            config: AnalysisConfig | None = None) -> FileAnalysis:
    config = config or AnalysisConfig.load()
    src = parse_bytes(rel, raw, config.macros)
    fa = FileAnalysis(config, src, headers if headers is not None else
                      header_index((root / rel).resolve()))
    fa.relevant()  # which functions reach a lock: summaries are made only for those
    return fa


def function_programs(fa: FileAnalysis, names: Iterable[str], keep: Keep, percpu: bool,
                      field_name: str, depth: int = 1) -> list[FunctionPrograms]:
    walker = _Walker(fa, keep, percpu, field_name)
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
            paths = walker.paths(f, depth)
            if name in walker.truncated:
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


@dataclass
class ConversionPrograms:
    """Per function: the paired programs, and what could not be paired."""

    pairs: list[tuple[str, Program, Program]] = field(default_factory=list)
    locks: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    functions: int = 0


def conversion_programs(root: Path, rule, result, only: set[str] | None = None,
                        per_function: int = 4) -> ConversionPrograms:
    """Programs of every function a conversion touches, before and after it.

    ``result`` is the rewrite's Result: its site lines say which calls of the
    old source are on the converted lock (types decided that, not names);
    the new source is analysed as written, so the after-programs come from
    what the converted code really calls (the wrappers included).
    """
    import shutil
    import tempfile

    out = ConversionPrograms()
    sites: dict[str, dict[str, set[int]]] = {}
    for s in result.plan.sites:
        if s.function != "(macro)":
            sites.setdefault(s.path, {}).setdefault(s.function, set()).add(s.line)
    config = AnalysisConfig.load()
    owner = rule.lock.owner
    seen: set[tuple[Program, Program]] = set()
    with tempfile.TemporaryDirectory(prefix="xenpatch-difftest-") as tmp:
        after_root = Path(tmp) / "tree"
        shutil.copytree(root, after_root, symlinks=True,
                        ignore=shutil.ignore_patterns(".git"))
        for rel in result.changed:
            (after_root / rel).write_bytes(result.new[rel])
        for rel in sorted(sites):
            if not rel.endswith(".c"):
                continue
            lines = {line for fn_lines in sites[rel].values() for line in fn_lines}
            names = sorted(n for n in sites[rel] if only is None or n in only)
            if not names:
                continue
            before_fa = analyse(root, rel, result.old.get(rel, (root / rel).read_bytes()),
                                config=config)
            after_fa = analyse(after_root, rel, result.new.get(rel, (root / rel).read_bytes()),
                               config=config)
            before = function_programs(before_fa, names, lambda e, line, lines=lines: line in lines,
                                       False, rule.lock.field)
            after = function_programs(
                after_fa, names,
                lambda e, line: e.kind == "percpu" and (e.owner or "").strip("&") == owner,
                True, rule.lock.field)
            for b, a in zip(before, after, strict=True):
                out.functions += 1
                for p in b.problems + a.problems:
                    out.problems.append(f"{rel}: {b.function}: {p}")
                by_shape = {shape(seq): seq for seq in a.sequences}
                kept = 0
                unbalanced = 0
                for seq in b.sequences:
                    if not seq:
                        continue
                    if not balanced(seq):
                        # A lock helper's half, or conditions the path walk
                        # cannot correlate: callers and the lint cover these.
                        unbalanced += 1
                        continue
                    twin = by_shape.get(shape(seq))
                    if twin is None:
                        out.problems.append(f"{rel}: {b.function}: a path's lock operations "
                                            f"changed shape in the conversion: {seq}")
                        continue
                    if kept >= per_function:
                        break
                    kept += 1
                    swaps = (False, True) if seq not in b.address_ordered else (False,)
                    for swap in swaps:
                        pb, pa = abstract(seq, None, swap), abstract(twin, owner, swap)
                        if (pb, pa) in seen:
                            continue
                        seen.add((pb, pa))
                        label = f"{b.function}#{kept}{'~' if swap else ''}"
                        out.pairs.append((label, pb, pa))
                if unbalanced and not kept:
                    out.problems.append(f"{rel}: {b.function}: no path both takes and "
                                        f"releases the lock ({unbalanced} one-sided paths)")
    used = sorted({op.lock for _, p, _ in out.pairs for op in p.ops if op.lock})
    out.locks = tuple(used)
    return out
