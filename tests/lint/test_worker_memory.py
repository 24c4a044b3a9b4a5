"""What a whole-tree run's workers let go of between passes (issue 10:
their peak RSS): a kept parse no later round can take (rounds.asked_later())
and the dataflow runs kept with each fill (reuse._slim()).  Neither may
change an answer: the later rounds never ask for a parse let go of, and
the findings are those of a run keeping everything."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from lint.trees import small_tree
from xenpatch.lint import reuse, rounds, workers
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

# Fixture trees whose whole-tree runs have second passes and later rounds.
TREES = [fixtures_dir() / "lint" / d
         for d in ("rounds", "rounds4", "crossfile", "roundskept", "hookrounds")]


# A file no later round lints again: parsed (it names the lock API), it
# calls nothing holding a lock, and nothing calls its function holding one.
_ALONE = """\
struct tally {
    spinlock_t lock;
    unsigned long n;
};

void tally_init(struct tally *t)
{
    spin_lock_init(&t->lock);
    t->n = 0;
}
"""


def whole(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          ) -> dict[str, list[object]]:
    """The fixture's files as a Xen tree's, linted whole with an empty
    cache (as bench/lint.py runs it: the first passes give the name index
    too): path -> findings."""
    n = len(list(tmp_path.iterdir()))
    files: dict[str, str | Path] = {
        p.relative_to(root).as_posix(): p
        for p in sorted([*root.rglob("*.c"), *root.rglob("*.h")])}
    files["common/tally_alone.c"] = _ALONE
    xen = small_tree(tmp_path / f"t{n}" / "xen", files)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / f"t{n}" / "cache"))
    rels = [r for r in files if r.endswith(".c")]
    return {r.path: r.findings for r in lint_files([(xen / r, r) for r in rels], jobs=1)}


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool, bool]]:
    """Each workers.again call: (file, of a later round?, ``later``)."""
    calls: list[tuple[str, bool, bool]] = []
    again = workers.again

    def spied(item, own, exports, raw=None, held=frozenset(), only=None,  # type: ignore[no-untyped-def]
              later=True):
        calls.append((item[1], only is not None, later))
        return again(item, own, exports, raw, held, only, later)

    monkeypatch.setattr(workers, "again", spied)
    return calls


def test_a_parse_let_go_is_never_asked_for_by_a_later_round(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy(monkeypatch)
    late = 0
    for root in TREES:
        calls.clear()
        whole(root, tmp_path, monkeypatch)
        second = {name: later for name, is_late, later in calls if not is_late}
        for name, is_late, _ in calls:
            if is_late:
                late += 1
                assert second[name], (root.name, name)
    # Not vacuous: the later rounds ran, and some parse was let go of.
    assert late


def test_some_parse_is_let_go_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy(monkeypatch)
    for root in TREES:
        whole(root, tmp_path, monkeypatch)
    assert {name for name, is_late, later in calls if not is_late and not later} == \
        {"common/tally_alone.c"}


def _findings(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              ) -> dict[str, list[str]]:
    return {p: [repr(f) for f in fs] for p, fs in whole(root, tmp_path, monkeypatch).items()}


@pytest.mark.parametrize("root", TREES, ids=lambda p: p.name)
def test_the_findings_are_those_of_a_run_keeping_everything(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = _findings(root, tmp_path, monkeypatch)
    keeping = reuse.keeping

    @contextmanager
    def everything(budget=None, runs=True):  # type: ignore[no-untyped-def]
        with keeping(budget, True):
            yield

    monkeypatch.setattr(reuse, "keeping", everything)
    monkeypatch.setattr(rounds, "asked_later", lambda first, named: [True] * len(first))
    assert _findings(root, tmp_path, monkeypatch) == now
