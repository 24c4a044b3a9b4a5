"""Adapter from the conversion rules (``rules/*.toml``, xenpatch.rules) to
what the analysis needs: the wrappers a rule declares (``grant_read_lock(gt)`` is a
percpu read of ``gt->lock`` with owner ``grant_rwlock``) and the struct
fields it makes percpu_rwlock_t, with their owner."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.analysis.locktable import Wrapper

# Rule files that are not conversion rules.
_NOT_CONVERSIONS = {"locks.toml", "lint.toml", "macros.toml"}


@dataclass(frozen=True)
class RuleFacts:
    wrappers: dict[str, Wrapper] = field(default_factory=dict)
    # (struct type as lint spells it, "->field") -> owner
    percpu_fields: dict[tuple[str, str], str] = field(default_factory=dict)


def load_rule_facts(rules_dir: Path) -> RuleFacts:
    try:
        from xenpatch.rules import RuleError, load_rule
    except ImportError:  # the rules module is optional for lint
        return RuleFacts()
    facts = RuleFacts()
    for path in sorted(rules_dir.glob("*.toml")):
        if path.name in _NOT_CONVERSIONS:
            continue
        try:
            rule = load_rule(path)
        except (RuleError, OSError, ValueError):
            continue  # `xenpatch rewrite` reports bad rules; lint need not
        lock = rule.lock
        if lock.new_type != "percpu_rwlock_t":
            continue
        facts.percpu_fields[("struct" + lock.struct, "->" + lock.field)] = lock.owner
        w = rule.wrappers
        if w.mode != "functions":
            continue
        for api in ("read_lock", "read_unlock", "write_lock", "write_unlock"):
            name = w.for_api(api)
            if name:
                facts.wrappers[name] = Wrapper(
                    name, "percpu_" + api, (lock.owner, f"&$0->{lock.field}")
                )
    return facts
