"""The IRQ state other files call a function in (lint/irqcalls.py): a
non-static function's entry is the other files' word when every mention of
it in the tree is accounted for, and a file calling through a field reads
what the other files' calls agree on.  fixtures/lint/irqcalls/ is a small
tree: clock.c calls chan.c's chan_tick() from an interrupt handler that
asserts IRQs are on; chan_tick() calls chan_broadcast() through a field;
chan_idle_exit() takes the same lock with IRQs off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lint.test_fixtures import expected
from xenpatch.analysis import fnptrs
from xenpatch.analysis.irqentry import CALL_KEY, FIELD_KEY, LOCKS_KEY, WITNESS, summary_state
from xenpatch.c.source import parse_bytes
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.irqcalls import prototypes_only, settle
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqcalls"
CHAN = TREE / "arch" / "chan.c"


def _found(root: Path, jobs: int = 1) -> dict[str, list[tuple[int, str]]]:
    files = [(p, p.name) for p in sorted(root.rglob("*.c"))]
    return {r.path: sorted((f.line, f.check) for f in r.findings)
            for r in lint_files(files, jobs=jobs, tree=False)}


def _broadcast_notes(root: Path) -> list[str] | None:
    """The notes of chan_broadcast()'s finding (line 17), None if none."""
    files = [(p, p.name) for p in sorted(root.rglob("*.c"))]
    got = [[s.note for s in f.flow] for r in lint_files(files, jobs=1, tree=False)
           for f in r.findings if r.path == "chan.c" and f.line == 17]
    return got[0] if got else None


# Unsettled, chan_tick()'s entry is unknown, but clock.c's call is still one
# caller's context with IRQs on (irqsafectx.py).
_CLOCKS = "'chan_tick' called with IRQs on by 'clock_interrupt' (clock.c:16)"


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(TREE, root)
    return root


@pytest.mark.parametrize("jobs", [1, 2])
def test_whole_tree_knows_the_handler_runs_with_irqs_on(jobs: int) -> None:
    got = _found(TREE, jobs)
    assert got == {p.name: expected(p) for p in sorted(TREE.rglob("*.c"))}
    # chan_poke(): clock.c's call with IRQs on is one caller's context
    # (irqsafectx.py), its other callers unknown.
    assert got["chan.c"] == [(17, "XL017"), (55, "XL017")]


def test_the_finding_names_the_other_take() -> None:
    files = [(p, p.name) for p in sorted(TREE.rglob("*.c"))]
    [f] = [f for r in lint_files(files, jobs=1, tree=False) for f in r.findings
           if r.path == "chan.c" and f.line == 17]
    assert "in 'chan_idle_exit'" in f.message  # reached as &the_chan: its type names it
    assert f.flow[0].note != _CLOCKS  # the entry the tree settled, no context


@pytest.mark.parametrize("path", [CHAN, TREE / "arch" / "cpu.c"], ids=lambda p: p.name)
def test_alone_the_entry_is_unknown(path: Path) -> None:
    [r] = lint_files([(path, path.name)], jobs=1, tree=False)
    assert r.findings == []


def test_one_other_files_context_is_shown() -> None:
    """cpu_quiesce()'s callers disagree (smp.c: IRQs off, pool.c: on): the
    finding stands in smp.c's context, with a note naming that call."""
    files = [(p, p.name) for p in sorted(TREE.rglob("*.c"))]
    [f] = [f for r in lint_files(files, jobs=1, tree=False) for f in r.findings
           if r.path == "cpu.c"]
    assert (f.function, f.check) == ("cpu_quiesce", "XL011")
    assert f.flow[0].note == "'cpu_quiesce' called with IRQs off by 'cpu_down_local' (smp.c:14)"
    assert f.flow[-1].line == f.line


def test_a_second_definition_is_no_context(tmp_path: Path) -> None:
    """Defined once per architecture: which one smp.c's call reaches is the
    build's."""
    root = _tree(tmp_path)
    (root / "arch" / "other.c").write_text(
        "int cpu_quiesce(unsigned int cpu)\n{\n    return 0;\n}\n")
    assert _found(root)["cpu.c"] == []


def test_settled_facts() -> None:
    config = LintConfig.load()
    per = [(p, p.name, lint_file(p, p.name, config).exports) for p in sorted(TREE.rglob("*.c"))]
    clock = next(ex for p, _, ex in per if p.name == "clock.c")
    # clock.c states all three of its calls ...
    assert {k for k in clock if k.startswith(CALL_KEY) and not k.startswith(WITNESS)
            and not k.startswith(LOCKS_KEY)} == {
        CALL_KEY + "chan_tick", CALL_KEY + "chan_poke", CALL_KEY + "chan_resume"}
    got = settle(per)
    # ... but a header macro calls chan_poke() too, and power.c calls
    # chan_resume() with IRQs on: only chan_tick() is settled.
    # (The locks held by calls, lint/entrysettle.py, go apart under LOCKS_KEY.)
    assert {k: summary_state(s) for k, s in got.items() if not k.startswith(LOCKS_KEY)} == {
        CALL_KEY + "chan_tick": "on",
        # smp.c's calls with IRQs off of the teardown helpers cpu.c asks for
        # (cpu_park()'s caller's state is unknown: nothing).
        WITNESS + "cpu_quiesce|off": "off",
        WITNESS + "cpu_drain|off": "off",
        # chan.c's plain takes: its functions' callers one at a time, with
        # IRQs on too (irqsafectx.py; power.c's call of chan_resume() moves
        # them itself).
        WITNESS + "chan_tick|on": "on",
        WITNESS + "chan_poke|on": "on",
        WITNESS + "chan_resume|off": "off",
        # (chan.c asks for none: chan_resume() has no IRQ move to check.)
        # Nobody but chan.c names the field: its own calls decide.
        FIELD_KEY + "handler|arch/chan.c": "-",
    }


@pytest.mark.parametrize(("name", "text"), [
    ("asm", ("arch/entry.S", "    call chan_tick\n")),
    ("second definition", ("arch/other.c", "int chan_tick(void)\n{\n    return 0;\n}\n")),
    ("inline caller", ("include/asm/tick.h",
                       "static inline void tick_all(void)\n{\n    chan_tick();\n}\n")),
    ("address taken", ("arch/table.c", "#include <xen/spinlock.h>\nstatic DEFINE_SPINLOCK(l);\n"
                       "int (*hook)(void) = chan_tick;\nvoid f(void)\n{\n"
                       "    spin_lock(&l);\n    spin_unlock(&l);\n}\n")),
])
def test_an_unaccounted_mention_unsettles(tmp_path: Path, name: str,
                                          text: tuple[str, str]) -> None:
    root = _tree(tmp_path)
    (root / text[0]).parent.mkdir(parents=True, exist_ok=True)
    (root / text[0]).write_text(text[1])
    got = _broadcast_notes(root)
    # Defined twice, no call is a context either (which one it reaches is
    # the build's).
    assert (got[0] if got else None) == (None if name == "second definition" else _CLOCKS)


def test_another_file_calling_through_the_field_decides(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    # A caller through the field whose state nobody knows.
    (root / "arch" / "peek.c").write_text(
        "#include <xen/spinlock.h>\nstruct chan;\nstatic DEFINE_SPINLOCK(l);\n"
        "void peek(struct chan *c, struct chan_ops *o)\n{\n    spin_lock(&l);\n"
        "    spin_unlock(&l);\n    o->handler(c);\n}\n")
    # The field's calls no longer agree, but chan_tick()'s own call (its
    # entry settled: on) is one caller's context (irqsafectx.py).
    got = _broadcast_notes(root)
    assert got is not None and got[0] == "'chan_broadcast' called here with IRQs on, in 'chan_tick'"


def test_defined_once(tmp_path: Path) -> None:
    from xenpatch.lint.irqcalls import _defined_once

    (tmp_path / "a.c").write_text("int\nquiesce(int cpu)\n{\n    return cpu;\n}\n"
                                  "static void park(void)\n{\n}\n")
    (tmp_path / "b.c").write_text("void park(void)\n{\n    quiesce(1);\n}\n"
                                  "int drain(void)\n{\n    return 0;\n}\n")
    (tmp_path / "c.c").write_text("int drain(void)\n{\n    return 1;\n}\n")
    # A definition split after its type counts, a call does not, a static
    # one is its file's own; two definitions are the build's choice.
    assert _defined_once(tmp_path, {"quiesce", "park", "drain"}) == {"quiesce", "park"}


def test_prototypes_only() -> None:
    assert prototypes_only(b"int f(void);\nextern void g(int f);\n", "g")
    assert not prototypes_only(b"static inline int g(void)\n{\n    return f();\n}\n", "f")
    assert not prototypes_only(b"#define call_f() f()\n", "f")
    assert not prototypes_only(b"struct ops { int (*f)(void); };\n", "f")
    assert prototypes_only(b"int f(void) __attribute__((cold));\n", "f")


def test_comparing_an_address_calls_nothing() -> None:
    src = parse_bytes("t.c", b"static void h(void) {}\nstruct s { void (*fn)(void); } x;\n"
                      b"int is_h(void) { return x.fn == h; }\n"
                      b"void set(void) { x.fn = h; }\nvoid run(void) { x.fn(); }\n",
                      LintConfig.load().macros)
    refs = fnptrs.index(src, ["h", "is_h", "set", "run"])
    got = refs.callers("h")
    assert got is not None and len(got[0]) == 1


def test_many_names_are_found_as_few() -> None:
    from xenpatch.lint.irqcalls import _mentions

    few = {"chan_tick", "chan_poke", "handler"}
    many = few | {f"absent_name_{i}" for i in range(40)}
    got = _mentions(TREE, many)
    assert got == _mentions(TREE, few)
    assert {p.name: how for p, how in got["chan_tick"].items()} == {
        "chan.c": "def", "clock.c": "use", "chan.h": "proto"}
