"""Against the public history: the tree before eede22972f, converted by the rule,
must equal the upstream commit on every code line of the four files it touched,
and touch nothing else; only the wording of the two comments may differ."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT, copy_tree
from upstream_check import compare

from xenpatch.rewrite.edits import write_atomically
from xenpatch.rewrite.run import run_rule
from xenpatch.rules import load_rule


def test_grant_table_conversion_reproduces_upstream(xen2016: Path) -> None:
    matched, total, stray = compare(xen2016)
    assert total >= 60  # the code lines eede22972f changes in these files
    assert matched == total
    assert stray == []


def test_second_run_changes_nothing(xen2016: Path, tmp_path: Path) -> None:
    tree = copy_tree(xen2016, tmp_path / "t")
    rule = load_rule(ROOT / "rules" / "grant_table.toml")
    first = run_rule(tree, rule, jobs=2)
    write_atomically(tree, {p: first.new[p] for p in first.changed})
    second = run_rule(tree, rule, jobs=2)
    assert not second.plan.errors
    assert second.changed == []
    assert second.plan.sites == []
