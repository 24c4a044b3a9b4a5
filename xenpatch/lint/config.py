"""The lint's configuration: the analysis configuration of a rules
directory plus the checks ``lint.toml`` enables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xenpatch.analysis.config import AnalysisConfig, analysis_fields, read_lint_toml, rules_dir
from xenpatch.lint.checks import CHECKS


@dataclass(frozen=True)
class LintConfig(AnalysisConfig):
    enabled: frozenset[str] = frozenset(CHECKS)

    @staticmethod
    def load(rules: Path | None = None) -> LintConfig:
        d = rules or rules_dir()
        data = read_lint_toml(d)
        enabled = frozenset(data.get("checks", {}).get("enabled", list(CHECKS)))
        unknown = enabled - set(CHECKS)
        if unknown:
            raise ValueError(f"{d / 'lint.toml'}: unknown check IDs {sorted(unknown)}")
        return LintConfig(**analysis_fields(d, data), enabled=enabled)


def lint_rules_dir() -> Path:
    return rules_dir()
