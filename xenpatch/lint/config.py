"""The lint's configuration: the analysis configuration of a rules
directory plus the checks ``lint.toml`` enables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xenpatch.analysis.config import AnalysisConfig, analysis_fields, read_lint_toml, rules_dir
from xenpatch.lint.checks import CHECKS
from xenpatch.lint.irqsafe import Era, load_eras


@dataclass(frozen=True)
class LintConfig(AnalysisConfig):
    enabled: frozenset[str] = frozenset(CHECKS)
    # XL017: the lock kinds Xen's check_lock() covers, by the tree's era.
    irqsafe_eras: tuple[Era, ...] = ()
    # Calls after which check_lock() checks nothing (spin_debug_disable()).
    irqsafe_unchecked: frozenset[str] = frozenset()
    # Calls that arm it again (spin_debug_enable(), analysis/unarmed.py).
    irqsafe_enables: frozenset[str] = frozenset()

    @staticmethod
    def load(rules: Path | None = None) -> LintConfig:
        d = rules or rules_dir()
        data = read_lint_toml(d)
        enabled = frozenset(data.get("checks", {}).get("enabled", list(CHECKS)))
        unknown = enabled - set(CHECKS)
        if unknown:
            raise ValueError(f"{d / 'lint.toml'}: unknown check IDs {sorted(unknown)}")
        eras = load_eras(data.get("irqsafe", {}).get("era"), str(d / "lint.toml"))
        unchecked = data.get("irqsafe", {}).get("unchecked", [])
        if not isinstance(unchecked, list) or not all(isinstance(n, str) for n in unchecked):
            raise ValueError(f"{d / 'lint.toml'}: irqsafe.unchecked must list function names")
        enables = data.get("irqsafe", {}).get("enables", [])
        if not isinstance(enables, list) or not all(isinstance(n, str) for n in enables):
            raise ValueError(f"{d / 'lint.toml'}: irqsafe.enables must list function names")
        return LintConfig(**analysis_fields(d, data), enabled=enabled, irqsafe_eras=eras,
                          irqsafe_unchecked=frozenset(unchecked),
                          irqsafe_enables=frozenset(enables))


def lint_rules_dir() -> Path:
    return rules_dir()
