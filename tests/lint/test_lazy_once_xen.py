"""The rule lazyrun._alone rests on, over every file of Xen 4.17: a file linted
with summaries that are all plain takes (once.plain_takes) holds locks at
the same calls as linted with none, wherever the lint without parses it;
and so does one linted with takes on an argument's say too (``when``:
vfree()'s), wherever that lint says it tracked no variable for them
(FileResult.when_tracked); where it did, the held calls of the functions
no tracking reaches (FileResult.held_untracked) are held calls of the lint
without.  If the analysis ever lets a take change a
path, this fails, and a cold single-file lint could then differ from the
whole-tree run's."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from xenpatch.lint import treeexports
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.once import plain_takes

pytestmark = [pytest.mark.xen, pytest.mark.slow]

_CONFIG: LintConfig | None = None


def _init() -> None:
    global _CONFIG
    _CONFIG = LintConfig.load()


def _first(p: Path):
    assert _CONFIG is not None
    r = lint_file(p, str(p), _CONFIG)
    return r.exports, r.held_calls, r.parsed


def _with(args) -> tuple[str, tuple[frozenset[str], bool, frozenset[str]]]:
    p, given = args
    assert _CONFIG is not None
    r = lint_file(p, str(p), _CONFIG, given)
    return str(p), (r.held_calls, r.when_tracked, r.held_untracked)


def test_plain_takes_change_no_held_call(xen417: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path))
    files = sorted((xen417 / "xen").rglob("*.c"))
    with ProcessPoolExecutor(2, initializer=_init) as pool:
        firsts = list(pool.map(_first, files, chunksize=8))
        tree = treeexports.tree_exports(e for e, _, _ in firsts)
        plain = {n: s for n, s in tree.items() if plain_takes(s)}
        said = {n: s for n, s in tree.items() if plain_takes(s, said=True)}
        assert len(plain) >= 50 and len(said) > len(plain)
        again = dict(pool.map(_with, [(p, said) for p in files], chunksize=8))
        # Where the takes on an argument's say made the lint track one,
        # the claim is the plain takes' alone.
        tracked = [p for p in files if again[str(p)][1]]
        untracked = {str(p): again[str(p)][2] for p in tracked}
        again.update(pool.map(_with, [(p, plain) for p in tracked], chunksize=8))
    differ = [str(p) for p, (_, held, parsed) in zip(files, firsts, strict=True)
              if parsed and again[str(p)][0] != held]
    assert differ == []
    held = {str(p): h for p, (_, h, parsed) in zip(files, firsts, strict=True) if parsed}
    assert [p for p, calls in untracked.items() if p in held and not calls <= held[p]] == []
    # Not vacuous: some tracking files keep held calls that witness.
    assert sum(1 for calls in untracked.values() if calls) >= 3
    # Not vacuous: many files hold locks at calls of those helpers, and
    # files call those taking on an argument's say, with and without a
    # variable tracked for them (4.17: 46 and 6 of 52).
    assert sum(1 for _, held, _ in firsts if held & plain.keys()) >= 10
    whens = said.keys() - plain.keys()
    calling = [p for p in files if any(w.encode() in p.read_bytes() for w in whens)]
    assert len(tracked) >= 10 and len(set(calling) - set(tracked)) >= 3
