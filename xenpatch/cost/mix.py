"""A converted lock's read/write mix, from a tree (docs/cost-model.md, "Mix").

The sites are the difftest's: the rewrite plans the conversion (which calls
are on the lock is decided by types, not names), and every converted
function's paths on the old source give its sequences of lock operations.
A function's read and write acquisitions are averaged over its paths (each
path equally likely, nothing better being known), then weighted by how
often the function runs: a profile's counts when given, else 1 each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.cost.counts import CostError

_WEIGHT = re.compile(r"^\s*([A-Za-z_]\w*)\s+(\d+(?:\.\d+)?)\s*$")


@dataclass
class FunctionMix:
    function: str
    paths: int
    reads: float  # read acquisitions per call, averaged over paths
    writes: float
    weight: float


@dataclass
class Mix:
    rule: str
    model: str  # the tree's lock model (era.detect)
    evidence: str
    functions: list[FunctionMix] = field(default_factory=list)
    unweighted: list[str] = field(default_factory=list)  # profile names not converted
    notes: list[str] = field(default_factory=list)

    @property
    def reads(self) -> float:
        return sum(f.reads * f.weight for f in self.functions)

    @property
    def writes(self) -> float:
        return sum(f.writes * f.weight for f in self.functions)

    @property
    def write_fraction(self) -> float:
        total = self.reads + self.writes
        return self.writes / total if total else 0.0


def read_weights(path: Path) -> dict[str, float]:
    """``function count`` lines; ``#`` starts a comment."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    out: dict[str, float] = {}
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        m = _WEIGHT.match(line)
        if m is None:
            raise CostError(f"{path}:{no}: expected 'function count', got {raw.strip()!r}")
        if m.group(1) in out:
            raise CostError(f"{path}:{no}: {m.group(1)} given twice")
        out[m.group(1)] = float(m.group(2))
    if not out:
        raise CostError(f"{path}: no 'function count' lines")
    return out


def _acquires(kind: str) -> str | None:
    """'r' or 'w' for an acquisition of the (old, rwlock_t) lock, else None."""
    if "unlock" in kind:
        return None
    if kind.startswith("read_"):
        return "r"
    if kind.startswith("write_"):
        return "w"
    return None


def tree_mix(tree: Path, rule_path: Path | str, weights: dict[str, float] | None,
             model: str | None = None) -> Mix:
    """The mix of the lock ``rule_path`` (a file, or a bundled rule's name)
    converts, in ``tree``; the tree's
    lock model from its headers unless ``model`` is given."""
    from xenpatch.rewrite.run import NOT_MODELLED, TreeError, refusal, refused_sites, run_rule
    from xenpatch.rules import RuleError, find_rule
    from xenpatch.runtime.conversion import conversion_programs
    from xenpatch.runtime.era import EraError, detect

    try:
        rule = find_rule(rule_path, tree=tree)
        if model is None:
            era = detect(tree)
            model, evidence = era.lock_model, era.evidence
        else:
            evidence = f"--lock-model {model}"
        result = run_rule(tree, rule)
    except (RuleError, TreeError, EraError) as exc:
        raise CostError(str(exc)) from None
    if result.plan.clashes:
        raise CostError(str(result.plan.clashes[0]))
    refused = refusal(rule, result.plan, NOT_MODELLED)
    if refused is not None:
        raise CostError(refused, details=refused_sites(result.plan))
    mix = Mix(rule.name, model, evidence)
    if result.plan.nothing_to_do:
        mix.notes.append(f"nothing to convert: {result.plan.nothing_to_do}")
        return mix
    progs = conversion_programs(tree, rule, result)
    for name, seqs in sorted(progs.sequences.items()):
        reads = writes = 0
        for seq in seqs:
            for kind, _key in seq:
                a = _acquires(kind)
                reads += a == "r"
                writes += a == "w"
        weight = 1.0 if weights is None else weights.get(name, 0.0)
        mix.functions.append(FunctionMix(name, len(seqs), reads / len(seqs),
                                         writes / len(seqs), weight))
    if weights is not None:
        known = {f.function for f in mix.functions}
        mix.unweighted = sorted(set(weights) - known)
    for cov in progs.incomplete:
        # a cut path of a function the profile never runs changes nothing
        if weights is None or cov.in_macro or weights.get(cov.function, 0.0) > 0:
            mix.notes.append("incomplete: " + cov.describe())
    return mix
