"""The "rcu" lock kind (on in rules/lint.toml): RCU domain
references taken through an out-parameter (the remote lookups return 0 on
success, rules/locks.toml's success = "zero") are followed like trylocks.
Each fixture under fixtures/lint/rcu/ states its findings as
``/* expect: ID */``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from lint.test_fixtures import expected
from xenpatch.analysis.locktable import LockTableError, load_lock_table, resolve
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir, rules_dir

FIXTURES = sorted((fixtures_dir() / "lint" / "rcu").glob("*.c"))


@pytest.fixture(scope="module")
def rcu_rules() -> Path:
    """The packaged rules: the kind is on by default."""
    return rules_dir()


@pytest.fixture(scope="module")
def rcu_off(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rules with the kind removed from lint.toml's kinds."""
    d = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(rules_dir(), d)
    lint = (d / "lint.toml").read_text()
    lint, n = re.subn(r'^kinds = \[([^\]]*), "rcu"\]', r"kinds = [\1]", lint, flags=re.M)
    assert n == 1
    (d / "lint.toml").write_text(lint)
    return d


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_rcu_fixture(path: Path, rcu_rules: Path) -> None:
    result = lint_file(path, path.name, LintConfig.load(rcu_rules))
    assert result.error is None
    assert sorted((f.line, f.check) for f in result.findings) == expected(path)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_rcu_kind_can_be_switched_off(path: Path, rcu_off: Path) -> None:
    assert lint_file(path, path.name, LintConfig.load(rcu_off)).findings == []


def test_a_definition_of_an_op_is_the_apis_own(rcu_rules: Path) -> None:
    path = fixtures_dir() / "lint" / "rcu" / "opdefined.c"
    result = lint_file(path, path.name, LintConfig.load(rcu_rules))
    assert [(n, why) for n, _, why in result.skipped] == [
        ("rcu_lock_domain", "implements the lock API")]
    assert {f.function for f in result.findings} == {"domain_pause_leak"}


def test_success_zero_only_for_a_try(tmp_path: Path) -> None:
    bad = tmp_path / "locks.toml"
    bad.write_text('[op.x]\naction = "acquire"\nkind = "spin"\nlock = 0\nsuccess = "zero"\n')
    with pytest.raises(LockTableError, match="success"):
        load_lock_table(bad)


def test_returns_lock_only_for_a_take(tmp_path: Path) -> None:
    bad = tmp_path / "locks.toml"
    bad.write_text('[op.x]\naction = "release"\nkind = "rcu"\nlock = 0\nreturns = "lock"\n')
    with pytest.raises(LockTableError, match="returns"):
        load_lock_table(bad)


def test_returns_lock_names_the_target(tmp_path: Path) -> None:
    """x = op(d) of an op returning its lock argument names the lock *x;
    without a target, *d."""
    good = tmp_path / "locks.toml"
    good.write_text('[op.x]\naction = "acquire"\nkind = "rcu"\nlock = 0\nreturns = "lock"\n')
    table = load_lock_table(good)
    assert [e.key for e in resolve(table, "x", ["d"], target="t")] == ["*t"]
    assert [e.key for e in resolve(table, "x", ["d"])] == ["*d"]
