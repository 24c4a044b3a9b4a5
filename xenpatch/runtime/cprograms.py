"""Lock programs of real C functions: the sequences of operations on one lock
along each path, for the explorer to run before and after a conversion.

The only module of the runtime that reads C.  It takes the lint's analysis of
a file (control flow, and for every node the lock effects of its calls, with
helper summaries and aliases already applied) and walks each function's
paths, keeping the effects on the converted lock.  Three things make the
programs faithful rather than syntactic:

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.c.cfg import Kind
from xenpatch.c.source import parse_bytes
from xenpatch.lint.analyze import FileAnalysis, LintConfig
from xenpatch.lint.funcinfo import OpAct
from xenpatch.lint.headers import HeaderIndex, header_index
from xenpatch.lint.lockops import Effect
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
    problems: list[str] = field(default_factory=list)


def _op_kind(e: Effect, percpu: bool) -> str | None:
    if e.action not in ("acquire", "release") or e.mode not in ("read", "write"):
        return None  # queries do not change the lock; inits happen before sharing
    verb = "lock" if e.action == "acquire" else "unlock"
    return f"{'percpu_' if percpu else ''}{e.mode}_{verb}"


_ADDR_TEST = re.compile(r"^\(?\s*([\w>.\-]+)\s*(<|>|<=|>=|==|!=)\s*([\w>.\-]+)\s*\)?$")


class _Walker:
    def __init__(self, fa: FileAnalysis, keep: Keep, percpu: bool, field_name: str) -> None:
        self.fa = fa
        self.keep = keep
        self.percpu = percpu
        self.field = field_name

    def steps_at(self, f, node_id: int, depth: int) -> list[list[Step]] | None:
        """Alternative step lists a node contributes (None: the node is plain)."""
        acts = f.info.acts[node_id] if node_id < len(f.info.acts) else []
        ops = [a for a in acts if isinstance(a, OpAct)]
        node = f.cfg.nodes[node_id]
        text = node.ast.text.decode() if node.ast is not None else ""
        # A call of the function itself: its paths, on the callee's locks.
        if depth > 0 and re.search(rf"\b{re.escape(f.name)}\s*\(", text):
            args = _call_args(text, f.name)
            if args is not None:
                inner = self.sequences(f, depth - 1)
                bound = dict(zip(f.info.params, args, strict=False))
                return [[(k, _bind(key, bound)) for k, key in seq] for seq in inner] or [[]]
        if not ops:
            return None
        via = {a.effect.via for a in ops}
        helper = next((v for v in via if v in self.fa.fns and v != f.name), None)
        if helper is not None and len(via) == 1:
            h = self.fa.fns[helper]
            self.fa.prepare(h)
            summary = self.fa.summary_of(helper)
            if h.info is not None and h.cfg is not None and summary is not None:
                # $i templates of the summary, matched to the caller's keys.
                template = {s.key: a.effect.key for s, a in zip(summary.effects, ops,
                                                                strict=False)}
                bound = {p: template.get(f"${i}->{self.field}", "").removesuffix(
                    f"->{self.field}") for i, p in enumerate(h.info.params)}
                bound = {p: v for p, v in bound.items() if v}
                inner = self.sequences(h, 0, keep_all=True)
                return [[(k, _bind(key, bound)) for k, key in seq] for seq in inner] or [[]]
        steps = []
        for a in ops:
            if not self.keep(a.effect, a.line):
                continue
            kind = _op_kind(a.effect, self.percpu)
            if kind is not None:
                steps.append((kind, a.effect.key))
        return [steps]

    def decide(self, f, node_id: int, names: dict[str, int]) -> bool | None:
        """Outcome of an address comparison of two lock objects, if it is one."""
        node = f.cfg.nodes[node_id]
        if node.kind is not Kind.COND or node.ast is None:
            return None
        m = _ADDR_TEST.match(node.ast.text.decode())
        if m is None:
            return None
        left, op, right = m.group(1), m.group(2), m.group(3)
        alias = f.info.aliases
        lk = f"{alias.get(left, left)}->{self.field}"
        rk = f"{alias.get(right, right)}->{self.field}"
        if lk not in names or rk not in names:
            return None
        a, b = names[lk], names[rk]
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b, "==": a == b,
                "!=": a != b}[op]

    def sequences(self, f, depth: int, keep_all: bool = False) -> list[tuple[Step, ...]]:
        self.fa.prepare(f)
        if f.cfg is None or f.info is None:
            return []
        saved = self.keep
        if keep_all:
            self.keep = lambda e, line: saved(e, line) or True
        try:
            return self._walk(f, depth)
        finally:
            self.keep = saved

    def _walk(self, f, depth: int) -> list[tuple[Step, ...]]:
        found: set[tuple[Step, ...]] = set()
        start = (f.cfg.entry, ())
        seen = {start}
        work = [start]
        while work and len(seen) < MAX_STATES:
            node_id, seq = work.pop()
            node = f.cfg.nodes[node_id]
            if node.kind is Kind.ABORT:
                continue
            alternatives = self.steps_at(f, node_id, depth) or [[]]
            for extra in alternatives:
                seq2 = seq + tuple(extra)
                if len(seq2) > MAX_OPS:
                    continue
                if node.kind is Kind.EXIT or not node.succ:
                    found.add(seq2)
                    continue
                succ = node.succ
                decided = self.decide(f, node_id, _rank(seq2))
                if decided is not None and len(succ) == 2:
                    succ = [succ[0] if decided else succ[1]]
                for s in succ:
                    state = (s, seq2)
                    if state not in seen:
                        seen.add(state)
                        work.append(state)
        return sorted(found)


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
            config: LintConfig | None = None) -> FileAnalysis:
    config = config or LintConfig.load()
    src = parse_bytes(rel, raw, config.macros)
    return FileAnalysis(config, src, headers if headers is not None else
                        header_index((root / rel).resolve()))


def function_programs(fa: FileAnalysis, names: Iterable[str], keep: Keep, percpu: bool,
                      field_name: str, depth: int = 1) -> list[FunctionPrograms]:
    walker = _Walker(fa, keep, percpu, field_name)
    out = []
    for name in names:
        f = fa.fns.get(name)
        fp = FunctionPrograms(fa.src.path, name)
        if f is None:
            fp.problems.append("not found in the file")
        else:
            fa.prepare(f)
            if f.skip:
                fp.problems.append(f.skip)
            fp.sequences = walker.sequences(f, depth)
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


def shape(seq: tuple[Step, ...]) -> tuple[tuple[str, int], ...]:
    """A sequence up to lock names and the percpu prefix: what pairs before with after."""
    rank = _rank(seq)
    return tuple((kind.removeprefix("percpu_"), rank[key]) for kind, key in seq)
