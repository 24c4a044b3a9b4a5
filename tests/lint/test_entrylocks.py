"""A lock held on entry, by every caller, taken again inside (XL010 in the
callee: analysis/lockentry.py, lint/entryheld.py).

fixtures/lint/entrylocks/samefile.c: one file's static helpers, each shape
with its quiet twin (a caller not holding the lock, an escaping address, a
recursive lock, a callee handing the hold over first, a parameter's lock,
a field other files may call through).  fixtures/lint/entrylocks/tree/: the
holds come from another file's calls through a struct field (the shape of
Xen's 334ed7f65e: the core calls a driver's operations holding the lock the
driver's helper takes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

HERE = fixtures_dir() / "lint" / "entrylocks"
SAME = HERE / "samefile.c"
TREE = HERE / "tree"


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def test_same_file(config: LintConfig) -> None:
    r = lint_file(SAME, SAME.name, config)
    assert sorted((f.line, f.check) for f in r.findings) == expected(SAME)


def test_same_file_names_the_callers(config: LintConfig) -> None:
    r = lint_file(SAME, SAME.name, config)
    [f] = [f for f in r.findings if f.function == "move_locked"]
    assert "already held on entry: every caller holds it" in f.message
    assert "'move_one'" in f.message and "'move_two'" in f.message


def test_a_hold_from_the_entry_names_no_line(config: LintConfig) -> None:
    """drop_after() holds table_lock from its entry (it drops it after the
    call): the message says so, not "since line 0"."""
    r = lint_file(SAME, SAME.name, config)
    [f] = [f for f in r.findings if f.function == "drop_after"]
    assert f.message.endswith("already held on entry")
    assert "line 0" not in f.message


@pytest.mark.parametrize("fn", ["put_other", "escaping", "nest_inner", "drop_retake", "bump",
                                "take_twice",
                                "move_locked2"])
def test_quiet_twins(config: LintConfig, fn: str) -> None:
    r = lint_file(SAME, SAME.name, config)
    assert [f for f in r.findings if f.function == fn] == []


def _tree() -> dict[str, list[tuple[int, str]]]:
    files = [(p, p.name) for p in sorted(TREE.rglob("*.c"))]
    return {r.path: sorted((f.line, f.check) for f in r.findings)
            for r in lint_files(files, jobs=1, tree=False)}


def test_tree_through_fields() -> None:
    got = _tree()
    assert got == {p.name: expected(p) for p in sorted(TREE.rglob("*.c"))}
    assert got["vendor.c"] == [(12, "XL010"), (31, "XL010")]
    # sync_all(): every direct call in the other files holds devs_lock;
    # sync_some(): probe_free() holds nothing.
    assert got["sync.c"] == [(9, "XL010")]


def test_tree_notes_name_the_other_files_caller() -> None:
    files = [(p, p.name) for p in sorted(TREE.rglob("*.c"))]
    [r] = [r for r in lint_files(files, jobs=1, tree=False) if r.path == "vendor.c"]
    by_fn = {f.function: f.message for f in r.findings}
    assert "every caller holds it ('dev_flush' (devs.c:27))" in by_fn["vendor_flush"]
    # one caller's context: vendor_return() held by dev_release()'s assertion
    assert "called from 'vendor_return' (vendor.c:25), which holds it from 'dev_release' " \
        "(devs.c:21)" in by_fn["vendor_move"]


def test_alone_the_fields_are_unknown(config: LintConfig) -> None:
    p = TREE / "drv" / "vendor.c"
    assert lint_file(p, p.name, config).findings == []


def test_settle_accounts_for_every_mention(config: LintConfig) -> None:
    from xenpatch.lint import entryheld, entrysettle

    per = []
    for p in sorted(TREE.rglob("*.c")):
        per.append((p, p.name, lint_file(p, p.name, config).exports))
    got = {k[len(entryheld.FIELD):] for k in entrysettle.settle(per)
           if k.startswith(entryheld.FIELD) and "|" in k}
    # ->assign: probe.c calls it holding nothing; ->reset: named in a macro's
    # arguments; ->flush2: devs.c holds its own static local_lock.
    assert got == {"flush|drv/vendor.c", "reassign|drv/vendor.c"}


def test_statics_are_the_files_own() -> None:
    from xenpatch.lint.entryheld import file_statics

    code = b"static DEFINE_SPINLOCK(a_lock);\nstatic spinlock_t b_lock;\nspinlock_t c_lock;\n"
    assert file_statics(code) >= {"a_lock", "b_lock"}
    assert "c_lock" not in file_statics(code)


def test_hook_alone_reports_what_the_whole_tree_does(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook's run of one file (lint/upcallers.py) reads the other files'
    calls through the fields as the whole tree's settle does."""
    from xenpatch.lint.inputs import display

    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    files = [(p, display(p)) for p in sorted(TREE.rglob("*.c"))]

    def seen(results) -> dict[str, list[tuple[int, str, str]]]:
        return {r.path: sorted((f.line, f.check, f.message) for f in r.findings)
                for r in results}

    whole = seen(lint_files(files, jobs=1, tree=False))
    for _ in range(2):  # from an empty cache, then warm
        alone: dict[str, list[tuple[int, str, str]]] = {}
        for item in files:
            alone.update(seen(lint_files([item], jobs=1, tree=True)))
        assert alone == whole
    assert len(whole[display(TREE / "drv" / "vendor.c")]) == 2


def test_statics_of_every_shape() -> None:
    from xenpatch.lint.entryheld import file_statics

    code = (b"static struct { spinlock_t lock; int n; } state;\n"
            b"static int f(int x) { static int y; return x; }\n"
            b"spinlock_t shared_lock;\nstatic spinlock_t locks[4], one_more = X;\n")
    got = file_statics(code)
    assert {"state", "locks", "one_more"} <= got
    assert not got & {"shared_lock", "y", "x", "lock", "n"}
