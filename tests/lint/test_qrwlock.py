"""The recursive-read check (XL016) follows the tree's own rwlock: reported
under the queued rwlock and under the counter with a writer bit before it
(both make a new reader wait for a waiting writer), not under the
reader-preferring lock of the oldest trees (the same text)."""

from __future__ import annotations

import pytest

from lint.test_fixtures import expected
from xenpatch.analysis.rwera import (
    queued_rwlock_text,
    tree_has_queued_rwlock,
    tree_readers_wait_for_writers,
)
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

TREES = fixtures_dir() / "lint" / "qrwlock"
NESTED = TREES / "queued" / "common" / "nested.c"


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def test_the_trees_say_which_rwlock_they_have() -> None:
    assert tree_has_queued_rwlock(TREES / "queued")
    assert not tree_has_queued_rwlock(TREES / "counter")
    assert not tree_has_queued_rwlock(None)
    assert not queued_rwlock_text(None)
    assert tree_readers_wait_for_writers(TREES / "queued")
    assert tree_readers_wait_for_writers(TREES / "counter")
    assert not tree_readers_wait_for_writers(TREES / "readers")
    assert not tree_readers_wait_for_writers(None)


def test_recursive_reads_under_a_queued_rwlock(config: LintConfig) -> None:
    got = sorted((f.line, f.check) for f in lint_file(NESTED, "nested.c", config).findings)
    assert got == expected(NESTED)
    assert {c for _, c in got} == {"XL016"}


def test_the_same_reads_under_the_counter_rwlock(config: LintConfig) -> None:
    # 4.3-4.6: the writer sets RW_WRITE_FLAG, then waits for the readers in;
    # the second read spins on the flag (runtime: L6 deadlocks under rw16).
    elsewhere = TREES / "counter" / "common" / "nested.c"
    res = lint_file(elsewhere, "nested.c", config, raw=NESTED.read_bytes())
    assert res.error is None
    assert sorted((f.line, f.check) for f in res.findings) == expected(NESTED)


def test_the_same_reads_under_a_reader_preferring_rwlock(config: LintConfig) -> None:
    elsewhere = TREES / "readers" / "common" / "nested.c"
    res = lint_file(elsewhere, "nested.c", config, raw=NESTED.read_bytes())
    assert res.error is None
    assert [f for f in res.findings if f.check == "XL016"] == []


def test_switched_off_it_is_silent(config: LintConfig) -> None:
    from dataclasses import replace

    off = replace(config, enabled=config.enabled - {"XL016"})
    assert lint_file(NESTED, "nested.c", off).findings == []
