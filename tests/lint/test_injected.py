"""Lock bugs injected into Debian's Xen 4.17 (tests/lint/injection.py finds
the sites by a scan of the tree), each file linted alone as the pre-commit
hook lints it, from an empty cache of the tree's summaries: every one is
reported with the expected check, at the injected line, with its path (the
lock and the bug's lines among the ``note:`` steps).  bench/injected.py
measures the same on the other releases and on master."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.injection import FLAG, Injection, injections
from xenpatch.lint.findings import Finding
from xenpatch.lint.inputs import collect_files
from xenpatch.lint.run import lint_files

pytestmark = [pytest.mark.xen, pytest.mark.slow]

# A take two files away: the whole-tree run's rounds follow it, the hook's
# later round through its second hop (lint/heldtakers.py).
TWO_FILES = "self-deadlock-extern2"
SHAPES = {"early-return-recursive", "early-return", "double-release",
          "percpu-reread-helper", "self-deadlock-callee", "self-deadlock-extern",
          "wrong-release-mode", "early-return-wrapper", "percpu-write-under-read",
          "early-return-extern-acquire", TWO_FILES}


@pytest.fixture(scope="module")
def every(xen417: Path) -> tuple[Path, list[Injection]]:
    xen = xen417 / "xen"
    return xen, injections(xen, per_shape=4)


@pytest.fixture(scope="module")
def planted(every: tuple[Path, list[Injection]]) -> tuple[Path, list[Injection]]:
    xen, injs = every
    return xen, [i for i in injs if i.shape in SHAPES]


def _lint(xen: Path, inj: Injection, text: bytes | None = None) -> list[Finding]:
    path = xen / inj.rel
    [r] = lint_files([(path, str(path))], jobs=1,
                     contents={path: inj.text if text is None else text})
    return r.findings


def test_every_shape_has_sites(planted: tuple[Path, list[Injection]]) -> None:
    _, injs = planted
    assert {i.shape for i in injs} == SHAPES
    assert all(sum(i.shape == s for i in injs) == 4 for s in SHAPES)


def test_each_injected_bug_is_reported_with_its_path(
        planted: tuple[Path, list[Injection]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    xen, injs = planted
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path))
    missed = []
    for inj in injs:
        found = _lint(xen, inj)
        hits = [f for f in found if f.check == inj.check and f.line == inj.line]
        if not hits:
            there = [(f.line, f.check) for f in found if f.function == inj.function]
            missed.append(f"{inj}: {there}")
            continue
        [f] = hits[:1]
        assert f.function == inj.function, inj
        shown = {s.line for s in f.flow}
        assert set(inj.path_lines) - {inj.line} <= shown, (inj, f.flow)
        if inj.check == "XL001":
            # gcc's layout: where the lock was taken, the branch, the return.
            notes = [s.note for s in f.flow]
            assert any("taken here" in n for n in notes), (inj, notes)
            assert f"'{FLAG}' is true" in notes, (inj, notes)
            assert notes[-1] == "returns here", (inj, notes)
    assert not missed, missed


def test_the_same_files_without_the_bug_have_no_such_finding(
        planted: tuple[Path, list[Injection]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The findings come from the injection: the untouched file has none of
    that check in the function at the injected line, nor at the line that
    is there once the injected lines are taken out (so the test above
    cannot pass by accident).  A finding of the same check elsewhere in the
    function may be the tree's own (4.17's vpci_msi_arch_update() returns
    holding pcidevs_lock on one path, a real leak)."""
    xen, injs = planted
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path))
    by_file: dict[str, list[Injection]] = {}
    for inj in injs:
        by_file.setdefault(inj.rel, []).append(inj)
    for rel, some in by_file.items():
        raw = (xen / rel).read_bytes()
        found = _lint(xen, some[0], raw)
        for inj in some:
            shift = inj.text.count(b"\n") - raw.count(b"\n")
            before = [f for f in found if f.function == inj.function and f.check == inj.check
                      and f.line in (inj.line, inj.line - shift)]
            assert not before, (inj, before)


def test_a_take_two_files_away_is_reported_by_the_whole_tree_run(
        every: tuple[Path, list[Injection]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tree linted whole with one such injection per file: each is
    reported at the call, the path naming the take's function and file."""
    xen, injs = every
    batch: dict[str, Injection] = {}
    for inj in injs:
        if inj.shape == TWO_FILES:
            batch.setdefault(inj.rel, inj)
    assert len(batch) >= 2
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path))
    results = lint_files(collect_files([xen]), jobs=2,
                         contents={xen / r: inj.text for r, inj in batch.items()})
    for rel, inj in batch.items():
        [r] = [r for r in results if r.path.endswith("/" + rel)]
        hits = [f for f in r.findings if (f.check, f.line) == (inj.check, inj.line)]
        assert hits, (inj, [(f.line, f.check) for f in r.findings if f.function == inj.function])
        assert "called by" in hits[0].message, hits[0].message
