"""The analysis configuration of a rules directory: the lock table (with
the conversion rules' wrappers), the CFG's and masking's macro tables, the
implementation files to leave alone, percpu owners and value rules.

The lint adds its check selection on top (xenpatch.lint.config); the
runtime's lock programs use this as it is.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from xenpatch.analysis.irqstate import IrqTable, load_irq_table
from xenpatch.analysis.locktable import LockTable, load_lock_table, read_locks_toml
from xenpatch.analysis.rulewrappers import load_rule_facts
from xenpatch.analysis.values import ValueRules
from xenpatch.c.cfg import CfgConfig, load_cfg_config
from xenpatch.c.masking import MacroTable, default_macro_table, load_macro_table

T = TypeVar("T")


def rules_dir() -> Path:
    from xenpatch.paths import rules_dir as packaged

    return packaged()


def read_lint_toml(d: Path) -> dict[str, Any]:
    """``lint.toml`` of a rules directory (the analysis settings live there
    too); a file that is not TOML is a ValueError naming it."""
    try:
        return tomllib.loads((d / "lint.toml").read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{d / 'lint.toml'}: {exc}") from None


@dataclass(frozen=True)
class AnalysisConfig:
    table: LockTable
    cfg: CfgConfig
    macros: MacroTable
    implementation: tuple[str, ...] = ()
    # From the conversion rules: percpu lock shape -> owner.
    rule_owners: tuple[tuple[tuple[str, str], str], ...] = ()
    values: ValueRules = ValueRules()
    irq: IrqTable = IrqTable()  # locks.toml's [irq] and [irqflags]
    # locks.toml's [reentry] panics: acquires of a recursive lock that stop
    # the hypervisor when this CPU already holds it (mm-locks.h's mm_lock()):
    # a function calling one cannot have been entered holding that lock.
    nonreentrant: frozenset[str] = frozenset()
    # What is derived from this configuration (header inlines parsed with its
    # macro table): init=False, so dataclasses.replace() starts a new one.
    _derived: dict[Hashable, Any] = field(
        default_factory=dict, init=False, compare=False, repr=False)

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """``make()``, once per configuration and key."""
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            got = self._derived[key] = make()
            return got

    @staticmethod
    def load(rules: Path | None = None) -> AnalysisConfig:
        d = rules or rules_dir()
        return AnalysisConfig(**analysis_fields(d, read_lint_toml(d)))


def analysis_fields(d: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The AnalysisConfig fields of rules directory ``d`` whose lint.toml
    is ``data`` (for AnalysisConfig and the lint's subclass)."""
    facts = load_rule_facts(d)
    locks = read_locks_toml(d / "locks.toml")
    table = load_lock_table(d / "locks.toml", locks)
    # The lock table's own wrappers win over a rule's.
    table = LockTable(table.ops, {**facts.wrappers, **table.wrappers})
    kinds = data.get("checks", {}).get("kinds", ["spin", "rw", "percpu"])
    table = table.without_kinds({"spin", "rw", "percpu", "rcu"} - set(kinds))
    return {
        "table": table,
        "cfg": load_cfg_config(d / "lint.toml"),
        "macros": load_macro_table(d / "macros.toml") if (d / "macros.toml").is_file()
        else default_macro_table(),
        "implementation": tuple(data.get("skip", {}).get("implementation", [])),
        "rule_owners": tuple(sorted(facts.percpu_fields.items())),
        "values": ValueRules.from_toml(data.get("values", {}), str(d / "lint.toml")),
        "irq": load_irq_table(d / "locks.toml", locks),
        "nonreentrant": _names(locks.get("reentry", {}).get("panics", []),
                               d / "locks.toml", "reentry.panics"),
    }


def _names(value: object, path: Path, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{path}: {where} must be a list of names")
    return frozenset(value)
