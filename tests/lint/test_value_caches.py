"""The per-process caches of the file analysis answer for the object asked
about, never for another one that happens to have had the same id().

CPython reuses a freed object's id for the next object of its size, so a
cache keyed by ``id(config)`` hands a new configuration the old one's seed
names, which decide whether a file is parsed at all.  Each test makes every
object's id the same (what reuse looks like, without relying on the
allocator) and checks that two different objects still get their own
answers.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path

import pytest

from xenpatch.analysis import headers as headers_mod
from xenpatch.analysis.headers import HeaderIndex, inline_ids
from xenpatch.analysis.locktable import LockTable, OpSpec
from xenpatch.lint import filelint
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.reaching import calls_any


@pytest.fixture
def same_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every object the caches look at has id 1."""
    for mod in (filelint, headers_mod):
        monkeypatch.setattr(mod, "id", lambda _o: 1, raising=False)


def _config(take: str, drop: str) -> LintConfig:
    ops = {
        take: OpSpec(take, "acquire", "spin", "write", "plain", 0, None),
        drop: OpSpec(drop, "release", "spin", "write", "plain", 0, None),
    }
    return replace(LintConfig.load(), table=LockTable(ops, {}))


LEAK = "void f(spinlock_t *l)\n{\n    {take}(l);\n}}\n"


@pytest.mark.usefixtures("same_ids")
def test_a_new_config_gets_its_own_seed_names(tmp_path: Path) -> None:
    c = tmp_path / "a.c"
    c.write_text("void f(spinlock_t *l)\n{\n    take_b(l);\n}\n")
    first = _config("take_a", "drop_a")
    # take_b is nothing to the first config: the file is not even parsed.
    assert not lint_file(c, "a.c", first).parsed
    del first
    gc.collect()
    second = _config("take_b", "drop_b")
    got = lint_file(c, "a.c", second)
    assert got.parsed
    assert [f.check for f in got.findings] == ["XL001"]


@pytest.mark.usefixtures("same_ids")
def test_inline_ids_follow_the_index() -> None:
    one = HeaderIndex(None, inlines={"f": b"static inline void f(void) { g(); }",
                                     "g": b"static inline void g(void) { }"})
    two = HeaderIndex(None, inlines={"f": b"static inline void f(void) { h(); }",
                                     "h": b"static inline void h(void) { }"})
    assert inline_ids(one, "f") == (frozenset({b"g"}), ("g",))
    assert inline_ids(two, "f") == (frozenset({b"h"}), ("h",))


def _tree(root: Path, helper: str, op: str = "spin_lock") -> Path:
    """A minimal Xen tree whose header has one inline calling ``op``, and a
    C file calling the inline."""
    inc = root / "xen" / "include" / "xen"
    inc.mkdir(parents=True)
    (inc / "spinlock.h").write_text(
        f"static inline void {helper}(spinlock_t *l)\n{{\n    {op}(l);\n}}\n")
    c = root / "xen" / "common" / "x.c"
    c.parent.mkdir(parents=True)
    c.write_text(f"void f(spinlock_t *l)\n{{\n    {helper}(l);\n}}\n")
    return c


@pytest.mark.usefixtures("same_ids")
def test_reaching_names_follow_the_index(tmp_path: Path) -> None:
    names = frozenset({"spin_lock"})
    a = _tree(tmp_path / "a", "helper_a")
    b = _tree(tmp_path / "b", "helper_b")
    assert calls_any(a, names)
    # b's index is another object: its helper reaches spin_lock too.
    assert calls_any(b, names)


def test_an_inline_is_parsed_as_its_own_tree_defines_it(tmp_path: Path) -> None:
    """Two trees (or two architectures' headers) define one inline two ways:
    each file's analysis sees its own definition, whichever came first."""
    config = LintConfig.load()
    takes = _tree(tmp_path / "a", "lock_it", "spin_lock")
    drops = _tree(tmp_path / "b", "lock_it", "spin_unlock")
    assert [f.check for f in lint_file(takes, "a.c", config).findings] == ["XL001"]
    # Here lock_it releases the caller's lock: f() does too, no leak.
    assert lint_file(drops, "b.c", config).findings == []
