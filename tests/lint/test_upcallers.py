"""The IRQ facts a file's callers in other files give it, for a run on
that file alone (lint/upcallers.py): linting one file of a tree with the
tree summaries reports what linting the whole tree reports for it.
fixtures/lint/upcallers/ is a small tree: common/runner.c's runner_flush()
is called with IRQs off by arch/halt.c and on by common/pool.c (its
_irq pair is wrong in halt.c's context); runner_reset()'s IRQs-off
caller's own state is unknown (no context); common/switch.c stores
fast_switch_to() in the ->switch_to field common/sched.c calls through
with IRQs off (its _irq pair is wrong there).  fixtures/lint/irqcalls/
(test_irqcalls.py) adds an entry settled over the tree and a field the
file calls through itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xenpatch.lint.inputs import display as _display
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREES = [fixtures_dir() / "lint" / "upcallers", fixtures_dir() / "lint" / "irqcalls"]


def _seen(results) -> dict[str, list[tuple[int, str, str, tuple[str, ...]]]]:
    return {r.path: sorted((f.line, f.check, f.message, tuple(s.note for s in f.flow))
                           for f in r.findings) for r in results}


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.mark.parametrize("tree", TREES, ids=lambda p: p.name)
def test_one_file_alone_reports_what_the_whole_tree_does(tree: Path) -> None:
    files = [(p, _display(p)) for p in sorted(tree.rglob("*.c"))]
    # XL017 across files too (lint/lazywitness.py finds the files needed),
    # but a plain take with IRQs on of a lock another file takes _irq: the
    # whole-tree run's.
    whole = {p: [f for f in got if " with IRQs on, but it is taken with IRQs off in another "
                 "file, at " not in f[2]]
             for p, got in _seen(lint_files(files, jobs=1, tree=False)).items()}
    for _ in range(2):  # from an empty cache, then warm
        alone = {}
        for item in files:
            alone.update(_seen(lint_files([item], jobs=1, tree=True)))
        assert alone == whole


def test_the_context_is_named() -> None:
    tree = TREES[0]
    runner = tree / "common" / "runner.c"
    [r] = lint_files([(runner, _display(runner))], jobs=1, tree=True)
    [f] = r.findings
    assert (f.function, f.check) == ("runner_flush", "XL011")
    assert f.flow[0].note.startswith("'runner_flush' called with IRQs off by 'halt_pool' (")


def test_a_changed_caller_is_read_again(tmp_path: Path) -> None:
    """The facts follow the callers' text: the teardown turning IRQs off
    no more takes the finding away on the next run of runner.c alone."""
    root = tmp_path / "tree"
    shutil.copytree(TREES[0], root)
    runner = root / "common" / "runner.c"
    assert [f.check for f in lint_files([(runner, "runner.c")], jobs=1, tree=True)[0].findings] \
        == ["XL011"]
    halt = root / "arch" / "halt.c"
    halt.write_text(halt.read_text().replace("    local_irq_disable();\n", ""))
    assert lint_files([(runner, "runner.c")], jobs=1, tree=True)[0].findings == []


def test_a_caller_whose_state_is_unknown_gives_no_context(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(TREES[0], root)
    halt = root / "arch" / "halt.c"
    halt.write_text(halt.read_text().replace("local_irq_disable();", "halts++;"))
    runner = root / "common" / "runner.c"
    assert lint_files([(runner, "runner.c")], jobs=1, tree=True)[0].findings == []


def test_a_field_the_file_stores_in_gives_its_callers_state() -> None:
    switch = TREES[0] / "common" / "switch.c"
    [r] = lint_files([(switch, _display(switch))], jobs=1, tree=True)
    assert [(f.function, f.check) for f in r.findings] == [("fast_switch_to", "XL011")]


def test_a_field_named_where_no_call_shows_is_unknown(tmp_path: Path) -> None:
    """A macro's argument may be a call through the field the text does
    not show: what the calls agree on is then not known."""
    root = tmp_path / "tree"
    shutil.copytree(TREES[0], root)
    (root / "common" / "hook.c").write_text(
        "#include <xen/spinlock.h>\n#include <asm/switch.h>\n"
        "#define CALL_HOOK(s, f, c) ((s)->ops->f((s), (c)))\n"
        "void hook_run(struct switcher *s)\n{\n    CALL_HOOK(s, switch_to, 0);\n}\n")
    switch = root / "common" / "switch.c"
    assert lint_files([(switch, "switch.c")], jobs=1, tree=True)[0].findings == []


def test_a_broken_record_of_the_callers_is_read_again(tmp_path: Path) -> None:
    """What is kept of the callers lives in one file per tree, written
    whole or not at all; one that does not read (cut short, another
    version's) is computed again."""
    runner = TREES[0] / "common" / "runner.c"
    item = (runner, _display(runner))
    first = _seen(lint_files([item], jobs=1, tree=True))
    [kept] = (tmp_path / "cache" / "lint" / "upcallers").glob("*.json")
    for broken in (kept.read_text()[:40], '{"format": 0}', "[]"):
        kept.write_text(broken)
        assert _seen(lint_files([item], jobs=1, tree=True)) == first


def test_an_unwritable_record_is_only_slower(tmp_path: Path) -> None:
    runner = TREES[0] / "common" / "runner.c"
    item = (runner, _display(runner))
    lint = tmp_path / "cache" / "lint"
    lint.mkdir(parents=True)
    (lint / "upcallers").write_text("")  # a file where the folder goes
    for _ in range(2):
        [r] = lint_files([item], jobs=1, tree=True)
        assert [f.check for f in r.findings] == ["XL011"]
    assert sorted(p.name for p in lint.iterdir() if p.name.startswith(".tmp")) == []


def test_an_edit_of_the_file_keeps_its_callers_contexts(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(TREES[0], root)
    runner = root / "common" / "runner.c"
    before = lint_files([(runner, "runner.c")], jobs=1, tree=True)[0].findings
    for i in range(2):
        runner.write_text(runner.read_text() + f"/* edit {i} */\n")
        assert lint_files([(runner, "runner.c")], jobs=1, tree=True)[0].findings == before
    # An edit that makes the function static leaves no other file's call.
    runner.write_text(runner.read_text().replace("int runner_flush(", "static int runner_flush("))
    assert lint_files([(runner, "runner.c")], jobs=1, tree=True)[0].findings == []


def test_a_lock_asked_of_the_tree_is_no_name_to_search_callers_of() -> None:
    # irqwitness.ASK keys share the call facts' prefix: they are a lock's
    # (upchains.py answers them), never a function whose callers are read.
    from xenpatch.analysis.irqentry import WANT, WITNESS, field_summary
    from xenpatch.lint.irqwitness import ASK
    from xenpatch.lint.upcallers import wanted

    want = field_summary(WANT)
    entry, ctx, fields = wanted({f"{ASK}structirq_desc#->lock": want,
                                 f"{WITNESS}pin_route_set|on": want,
                                 "%irq:->()runner_flush": want})
    assert (entry, ctx, fields) == ({"runner_flush"}, {"pin_route_set|on"}, frozenset())
