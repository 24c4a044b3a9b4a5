"""XL017 with a take's IRQ state from a caller's caller in another file,
through a file that neither locks nor moves IRQs (lint/witnesschain.py),
against another file's IRQ-safe take of the lock (irqwitness.SAFE): a
whole-tree run's search, and the hook's run of one file too, which
follows the chain only where the tree's text shows an IRQ-safe take of
the lock (lint/upchains.py).

fixtures/lint/irqchain/ is a small tree: the pin control hypercall
(arch/ctl.c, a handler public xen.h numbers: entered with IRQs on) calls
gsi_register() of arch/gsi.c, a file with no lock and no IRQ move, which
calls pin_route_set() of arch/pin.c.  There the flags saved with
route_lock are restored before the descriptor's lock is taken plainly:
IRQs are as the hypercall had them, on.  arch/desc.c takes the same
struct field's lock with spin_lock_irqsave()."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint import trees
from xenpatch.lint.fingerprints import subject
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqchain"

# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")

CHAIN = ["'gsi_register' called with IRQs on by 'do_pinctl_op' (arch/ctl.c:18)",
         "'pin_route_set' called with IRQs on by 'gsi_register' (arch/gsi.c:30)"]


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert trees.wanted(TREE)["arch/pin.c"] == [(26, "XL017")]


def test_the_finding_shows_the_chain_and_the_irq_safe_take() -> None:
    [f] = trees.whole(TREE)["arch/pin.c"]
    assert f.function == "pin_route_set"
    assert "taken with IRQs off in another file, at arch/desc.c:17 (in 'pin_desc_reset')" \
        in f.message
    notes = [s.note for s in f.flow]
    assert notes[:3] == [*CHAIN, "'desc->lock' taken with IRQs off at arch/desc.c:17, in "
                         "'pin_desc_reset' (through 'spin_lock_irqsave')"]


def _same_as_whole(root: Path) -> None:
    """The hook's run of arch/pin.c reports what the whole-tree run does:
    the other files named as the run names them (from where it runs)."""
    [w] = trees.whole(root)["arch/pin.c"]
    [a] = trees.alone(root, "arch/pin.c")
    assert (a.line, a.col, a.check, a.function, a.key, subject(a)) == \
        (w.line, w.col, w.check, w.function, w.key, subject(w))
    for got, want in zip([a.message, *(s.note for s in a.flow)],
                         [w.message, *(s.note for s in w.flow)], strict=True):
        # "arch/x.c" of the whole run is ".../tree/arch/x.c" alone.
        assert got.replace(str(root) + "/", "") == want


def test_the_hook_run_follows_the_chain_too() -> None:
    got = trees.alone(TREE, "arch/pin.c")
    assert [(f.line, f.check, f.function) for f in got] == [(26, "XL017", "pin_route_set")]
    notes = [s.note for s in got[0].flow]
    for note, want in zip(notes[:2], CHAIN, strict=True):
        head, _, where = want.rpartition(" (")
        assert note.startswith(head + " (") and note.endswith("/" + where)
    assert "at " in got[0].message and "arch/desc.c:17 (in 'pin_desc_reset')" in got[0].message


def test_the_hook_run_names_the_take_the_whole_tree_run_names(tmp_path: Path) -> None:
    # Two files take the lock IRQ-safe: a whole-tree run names the bigger
    # one's take (its files biggest first), and so does the hook's.
    root = trees.copied(TREE, tmp_path)
    (root / "arch" / "zap.c").write_text(
        "/* Zapping a pin from the timer: its descriptor IRQ-safe too." + " *" * 400 + " */\n"
        "#include <xen/spinlock.h>\n#include <xen/pin.h>\n\n"
        "void pin_zap(unsigned int pin)\n{\n    struct pin_desc *desc = pin_to_desc(pin);\n"
        "    unsigned long flags;\n\n    spin_lock_irqsave(&desc->lock, flags);\n"
        "    desc->status = 0;\n    spin_unlock_irqrestore(&desc->lock, flags);\n}\n")
    [w] = trees.whole(root)["arch/pin.c"]
    assert "at arch/zap.c:10 (in 'pin_zap')" in w.message
    _same_as_whole(root)


def test_the_hook_run_follows_no_chain_without_an_irq_safe_take(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The cost: a chain reads and analyses other files, and without an
    # IRQ-safe take of the lock its state is against nothing.
    from xenpatch.lint import forked, upchains

    # What the spies see is this process's: no child made ahead.
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    root = trees.copied(TREE, tmp_path)
    trees.edit(root / "arch" / "desc.c", "spin_lock_irqsave(&desc->lock, flags);",
               "spin_lock(&desc->lock);")
    trees.edit(root / "arch" / "desc.c", "spin_unlock_irqrestore(&desc->lock, flags);",
               "spin_unlock(&desc->lock);")

    def no_chain(*_a: object, **_k: object) -> dict[str, object]:
        raise AssertionError("a chain followed with no IRQ-safe take in the tree")

    monkeypatch.setattr(upchains, "chained", no_chain)
    assert trees.alone(root, "arch/pin.c") == []


def test_a_middle_function_moving_irqs_gives_no_state(tmp_path: Path) -> None:
    # IRQs off on one path only: the call's state is mixed, no witness.
    root = trees.copied(TREE, tmp_path)
    trees.edit(root / "arch" / "gsi.c", "    programmed[apic] |= 1UL << pin;\n",
               "    programmed[apic] |= 1UL << pin;\n    if ( trig & 2 )\n"
               "        local_irq_disable();\n")
    found = trees.found_whole(root)
    assert not any(found.values())
    assert found["arch/pin.c"] == []
    assert trees.alone(root, "arch/pin.c") == []


def test_a_constant_the_middle_function_branches_on_is_no_chain(tmp_path: Path) -> None:
    # The handler's literal picks gsi_register()'s paths: its call of
    # pin_route_set() is not claimed for all of them.
    root = trees.copied(TREE, tmp_path)
    trees.edit(root / "arch" / "gsi.c", "    if ( apic < 0 )\n",
               "    if ( trig > 3 || apic < 0 )\n")
    trees.edit(root / "arch" / "ctl.c", "gsi_register(gsi, trig)", "gsi_register(gsi, 1)")
    found = trees.found_whole(root)
    assert not any(found.values())
    assert found["arch/pin.c"] == []
    assert trees.alone(root, "arch/pin.c") == []


def test_without_an_irq_safe_take_nothing_is_reported(tmp_path: Path) -> None:
    root = trees.copied(TREE, tmp_path)
    trees.edit(root / "arch" / "desc.c", "spin_lock_irqsave(&desc->lock, flags);",
               "spin_lock(&desc->lock);")
    trees.edit(root / "arch" / "desc.c", "spin_unlock_irqrestore(&desc->lock, flags);",
               "spin_unlock(&desc->lock);")
    found = trees.found_whole(root)
    assert not any(found.values())
    assert found["arch/pin.c"] == []
    assert trees.alone(root, "arch/pin.c") == []


def test_without_the_hypercall_nothing_is_reported(tmp_path: Path) -> None:
    root = trees.copied(TREE, tmp_path)
    (root / "include" / "public" / "xen.h").unlink()
    assert not any(trees.found_whole(root).values())
    assert trees.alone(root, "arch/pin.c") == []


def test_the_chain_meets_a_take_with_irqs_off_in_the_same_file(tmp_path: Path) -> None:
    # The clean-up takes it IRQ-safe: the file's own pair (irqsafectx.py),
    # the way in still the chain's.
    root = trees.copied(TREE, tmp_path)
    trees.edit(root / "arch" / "pin.c", "    spin_lock(&desc->lock);\n    desc->vector = 0;\n"
               "    spin_unlock(&desc->lock);\n",
               "    unsigned long flags;\n\n    spin_lock_irqsave(&desc->lock, flags);\n"
               "    desc->vector = 0;\n    spin_unlock_irqrestore(&desc->lock, flags);\n")
    [f] = trees.whole(root)["arch/pin.c"]
    assert (f.line, f.function) == (26, "pin_route_set")
    assert "taken with IRQs off at line 40 (in 'pin_cleanup_interrupt')" in f.message
    assert [s.note for s in f.flow][:2] == CHAIN


MASK = ("/* With IRQs off: the pin masked around its descriptor's update. */\n"
        "void pin_mask(unsigned int pin)\n{\n    struct pin_desc *desc = pin_to_desc(pin);\n"
        "    unsigned long flags;\n\n    local_irq_save(flags);\n    spin_lock(&desc->lock);\n"
        "    desc->status |= 2;\n    spin_unlock(&desc->lock);\n    local_irq_restore(flags);\n"
        "}\n")


def test_a_chain_against_a_plain_take_needs_the_lock_irq_safe(tmp_path: Path) -> None:
    # pin_mask() takes it plainly with IRQs off.  With desc.c's take plain
    # too, every take is plain (IRQ-unsafe): a state from that far names no
    # wrong take, nothing is reported.  With desc.c's _irqsave the lock is
    # IRQ-safe: the take with IRQs on is against it, named against the
    # file's own take with IRQs off.
    root = trees.copied(TREE, tmp_path)
    with (root / "arch" / "pin.c").open("a") as f:
        f.write("\n" + MASK)
    [f] = trees.whole(root)["arch/pin.c"]
    assert (f.line, f.function) == (26, "pin_route_set")
    assert "taken with IRQs off at line 50 (in 'pin_mask')" in f.message
    trees.edit(root / "arch" / "desc.c", "spin_lock_irqsave(&desc->lock, flags);",
               "spin_lock(&desc->lock);")
    trees.edit(root / "arch" / "desc.c", "spin_unlock_irqrestore(&desc->lock, flags);",
               "spin_unlock(&desc->lock);")
    found = trees.found_whole(root)
    assert not any(found.values())
    assert found["arch/pin.c"] == []
    assert trees.alone(root, "arch/pin.c") == []


def _two_middles(tmp_path: Path) -> Path:
    """The tree with a second middle file: the handler calls acpi.c's
    acpi_route(), which calls gsi_register()."""
    root = trees.copied(TREE, tmp_path)
    (root / "arch" / "acpi.c").write_text(
        "/* Firmware routing: no lock, no IRQ move. */\n#include <xen/pin.h>\n\n"
        "int acpi_route(unsigned int gsi, unsigned int trig)\n{\n"
        "    return gsi_register(gsi, trig);\n}\n")
    trees.edit(root / "arch" / "ctl.c", "return gsi_register(gsi, trig);",
               "return acpi_route(gsi, trig);")
    trees.edit(root / "include" / "xen" / "pin.h", "int gsi_register(",
               "int acpi_route(unsigned int gsi, unsigned int trig);\nint gsi_register(")
    return root


def test_two_middle_files(tmp_path: Path) -> None:
    root = _two_middles(tmp_path)
    [f] = trees.whole(root)["arch/pin.c"]
    assert [s.note for s in f.flow][:3] == [
        "'acpi_route' called with IRQs on by 'do_pinctl_op' (arch/ctl.c:18)",
        "'gsi_register' called with IRQs on by 'acpi_route' (arch/acpi.c:6)",
        CHAIN[1]]
    _same_as_whole(root)


def test_the_chain_is_bounded(tmp_path: Path) -> None:
    # resolve() follows at most ``hops`` middle functions: two are needed.
    from xenpatch.analysis.irqentry import WITNESS
    from xenpatch.lint import witnesschain, workers
    from xenpatch.lint.filelint import lint_file

    root = _two_middles(tmp_path)
    config = workers.loaded(None)
    own = lint_file(root / "arch" / "ctl.c", "arch/ctl.c", config).exports
    every = {"acpi_route": {"on": own[f"{WITNESS}acpi_route|on"]}}
    users = {"pin_route_set": ["arch/gsi.c"], "gsi_register": ["arch/acpi.c"],
             "acpi_route": ["arch/ctl.c"]}

    def analyse(r: str, incoming):  # type: ignore[no-untyped-def]
        ext = {f"{WITNESS}{n}|{st}": s for n, by in incoming.items() for st, s in by.items()}
        return witnesschain.analysis_of(root / r, r, config, ext)

    def chained(hops: int) -> witnesschain.Witnesses:
        return witnesschain.resolve(
            {"pin_route_set": frozenset({"on"})},
            lambda ns: {n: every[n] for n in ns if n in every},
            lambda ns: {n: users.get(n, []) for n in ns}, lambda r: (root / r).read_bytes(),
            analyse, hops=hops)

    assert chained(1) == {}
    got = chained(2)["pin_route_set"]["on"]
    assert [e.via.split("|")[:3] for e in got.effects] == [
        ["gsi_register", "arch/gsi.c", "30"], ["acpi_route", "arch/acpi.c", "6"],
        ["do_pinctl_op", "arch/ctl.c", "18"]]


def test_the_hook_run_follows_the_chains_of_the_functions_taking_such_a_lock_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pin_count() is entered in a state no caller here states, and takes
    # a lock the file takes with IRQs off too (pin_count_off(): a take
    # XL017 wants pin_count()'s state for), but no file takes IRQ-safe: no
    # chain of pin_count()'s callers can matter.
    from xenpatch.lint import forked, upchains

    monkeypatch.setattr(forked, "can_fork", lambda: False)
    root = trees.copied(TREE, tmp_path)
    with (root / "arch" / "pin.c").open("a") as f:
        f.write("\nstruct pin_stat {\n    spinlock_t lock;\n    unsigned int n;\n};\n\n"
                "void pin_count(struct pin_stat *st)\n{\n    spin_lock(&st->lock);\n"
                "    st->n++;\n    spin_unlock(&st->lock);\n}\n\n"
                "void pin_count_off(struct pin_stat *st)\n{\n    unsigned long flags;\n\n"
                "    local_irq_save(flags);\n    spin_lock(&st->lock);\n    st->n--;\n"
                "    spin_unlock(&st->lock);\n    local_irq_restore(flags);\n}\n")
    asked: list[list[str]] = []
    real = upchains.chained

    def spy(cache, side, rel, state, facts, on, *rest):  # type: ignore[no-untyped-def]
        asked.append(sorted(on))
        return real(cache, side, rel, state, facts, on, *rest)

    monkeypatch.setattr(upchains, "chained", spy)
    got = trees.alone(root, "arch/pin.c")
    assert [(f.line, f.check, f.function) for f in got] == [(26, "XL017", "pin_route_set")]
    assert asked and all("pin_count" not in names for names in asked)
    assert any("pin_route_set" in names for names in asked)


def test_an_edit_of_the_file_reads_the_searches_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The searches read other files only: after an edit of pin.c the
    # tree's text is not scanned again, nor a chain followed.
    from xenpatch.lint import forked, upchains

    monkeypatch.setattr(forked, "can_fork", lambda: False)
    root = trees.copied(TREE, tmp_path)
    first = trees.alone(root, "arch/pin.c")
    trees.edit(root / "arch" / "pin.c", "    desc->status &= ~1u;\n",
               "    desc->status &= ~1u; /* edited */\n")
    scans: list[bytes] = []
    real = upchains._irq_args
    monkeypatch.setattr(upchains, "_irq_args", lambda raw: scans.append(raw) or real(raw))
    monkeypatch.setattr(upchains, "_chained", lambda *_a, **_k: pytest.fail("followed again"))
    again = trees.alone(root, "arch/pin.c")
    assert scans == []
    assert [(f.line, f.check, f.message) for f in again] == \
        [(f.line, f.check, f.message) for f in first]
