"""XL017 (lint/irqsafe.py): a lock taken with IRQs known off at one take and
known on at another.  The shapes of fixtures/lint/irqsafe.c with their
notes, the era of the tree deciding which lock kinds count
(fixtures/lint/irqsafe_era/), and the rules' validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xenpatch.analysis.functions import FunctionInfo
from xenpatch.errors import XenpatchError
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.findings import Finding
from xenpatch.lint.irqsafe import Era, era_kinds, identity, load_eras
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "irqsafe.c"
ERA = fixtures_dir() / "lint" / "irqsafe_era"


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


@pytest.fixture(scope="module")
def found(config: LintConfig) -> dict[str, Finding]:
    return {f.function: f for f in lint_file(FIXTURE, FIXTURE.name, config).findings
            if f.check == "XL017"}


def _line(path: Path, text: str, after: str = "") -> int:
    """The first line holding ``text`` past the first holding ``after``."""
    lines = path.read_text().splitlines()
    start = next(n for n, t in enumerate(lines) if after in t)
    return next(n for n, t in enumerate(lines[start:], start + 1) if text in t)


@pytest.mark.parametrize(("fn", "other_fn", "other"), [
    ("devs_lookup", "devs_setup_irq", "spin_lock_irqsave(&devs_lock"),
    ("chan_kick", "chan_exit", "spin_lock_irq(&ch->lock"),
    ("queue_remove", "queue_add", "spin_lock(&queue_lock"),  # under another irqsave
    ("ring_push", "ring_flush", "spin_lock(&r->lock"),  # entered with IRQs off
    ("log_drain", "log_interrupt", "spin_lock_irqsave(&the_log"),  # a tasklet: IRQs on
    ("chan_interrupt", "chan_idle_enter", "spin_lock(&chan_lock"),  # a handler: IRQs on
    ("op_on_cpu", "op_poll", "spin_lock_irqsave(&op_lock"),  # a hypercall continuation
])
def test_reported_with_note(found: dict[str, Finding], fn: str, other_fn: str,
                            other: str) -> None:
    f = found[fn]
    line = _line(FIXTURE, other, f" {other_fn}(")
    assert f"IRQs off at line {line} (in '{other_fn}')" in f.message
    # The first step names the other take; the path still ends at the take.
    assert f.flow[0].line == line and f"in '{other_fn}'" in f.flow[0].note
    assert "IRQs off" in f.flow[0].note
    assert f.flow[-1].line == f.line


def test_quiet_twins(found: dict[str, Finding]) -> None:
    # unknown state, mixed paths, a bare lock pointer, a trylock with IRQs
    # off, two structs' fields, consistent takes, an entry other files decide
    assert set(found) == {"devs_lookup", "chan_kick", "queue_remove", "ring_push",
                          "log_drain", "chan_interrupt", "op_on_cpu"}


def test_era_decides_kinds(config: LintConfig, tmp_path: Path) -> None:
    checked = ERA / "checked" / "common" / "rwtakes.c"
    got = [f for f in lint_file(checked, checked.name, config).findings if f.check == "XL017"]
    assert [f.function for f in got] == ["table_peek"]
    # The same text in a tree whose rwlock.h latches nothing: rwlocks do not count.
    tree = tmp_path / "xen"
    shutil.copytree(ERA / "unchecked", tree)
    (tree / "common").mkdir()
    copy = tree / "common" / "rwtakes.c"
    shutil.copy(checked, copy)
    assert not [f for f in lint_file(copy, copy.name, config).findings if f.check == "XL017"]
    assert era_kinds(config.irqsafe_eras, ERA / "checked") == {"spin", "rw", "percpu"}
    assert era_kinds(config.irqsafe_eras, tree) == {"spin"}
    assert era_kinds(config.irqsafe_eras, None) == {"spin"}


def test_rwlocks_latched_before_the_queued_rwlock(config: LintConfig, tmp_path: Path) -> None:
    # Up to 4.6 common/spinlock.c's _read_lock()/_write_lock() call
    # check_lock() on every acquire: the same text is reported there.
    tree = tmp_path / "xen"
    shutil.copytree(ERA / "inspinlock", tree)
    copy = tree / "common" / "rwtakes.c"
    shutil.copy(ERA / "checked" / "common" / "rwtakes.c", copy)
    got = [f for f in lint_file(copy, copy.name, config).findings if f.check == "XL017"]
    assert [f.function for f in got] == ["table_peek"]
    assert era_kinds(config.irqsafe_eras, tree) == {"spin", "rw"}


def test_check_off_without_eras(config: LintConfig) -> None:
    from dataclasses import replace

    bare = replace(config, irqsafe_eras=())
    assert not [f for f in lint_file(FIXTURE, FIXTURE.name, bare).findings
                if f.check == "XL017"]


@pytest.mark.parametrize("data", [
    "nope", [{"covers": []}], [{"covers": ["mutex"]}], [{"covers": ["spin"], "file": "x"}],
])
def test_bad_eras(data: object) -> None:
    with pytest.raises(XenpatchError):
        load_eras(data, "lint.toml")


def test_eras_in_order() -> None:
    eras = load_eras([{"covers": ["spin", "rw"], "file": "a.h", "contains": "x"},
                      {"covers": ["spin"]}], "t")
    assert eras == (Era(frozenset({"spin", "rw"}), "a.h", "x"), Era(frozenset({"spin"})))


_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@given(_NAME, _NAME, st.sampled_from(["->", "."]))
def test_identity_needs_a_type(var: str, fld: str, sep: str) -> None:
    """A variable's lock is a class only through its declared struct type:
    untyped, void * and the lock pointer itself name no class; a name no
    variable has is file scope."""
    key = f"{var}{sep}{fld}"
    info = FunctionInfo("f", [var], {}, {}, set(), set())
    assert identity(info, key) is None
    info.param_types[var] = "void*"
    assert identity(info, key) is None
    info.param_types[var] = "structfoo*"
    assert identity(info, key) == ("structfoo*", f"{sep}{fld}")
    assert identity(info, f"*{var}") is None
    other = FunctionInfo("g", [], {}, {}, set(), set())
    assert identity(other, key) == ("", key)
