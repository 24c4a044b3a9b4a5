"""What the lazy plan's later round (lazyrounds.py) reads of the definers
of a linted file's callees: what their functions reach, from their text,
before parsing anything (the file's own functions followed, each body to
its end), and which of them it analyses for a name's summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.lint import takers
from xenpatch.lint.bodyreach import BodyReach
from xenpatch.lint.lazyrounds import _changed
from xenpatch.lint.roundskept import Kept

TEXT = b"""\
void asked(void)
{
    local();
}

static void local(void)
{
    far_away();
}

void next_one(void)
{
    takes_a_lock();
}
"""


def test_a_body_reaches_what_it_calls_not_the_next_declaration(tmp_path: Path) -> None:
    path = tmp_path / "xen" / "common" / "f.c"
    path.parent.mkdir(parents=True)
    path.write_bytes(TEXT)
    # local()'s text ends at its "}": next_one() (and what it calls) is
    # the next declaration, not a call of local()'s.
    assert BodyReach(path, TEXT).reached("asked") == {"far_away"}
    assert BodyReach(path, TEXT).reached("next_one") == {"takes_a_lock"}


def _take(key: str) -> Summary:
    return Summary((Effect("take", "spin", "write", "plain", key, None, "f"),), None)


class _Cache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "cache" / "tree.json"
        self.context = "test"


class _Plan:
    def __init__(self, root: Path) -> None:
        self.cache = _Cache(root)

    def known(self, rel: str, name: str) -> Summary | None:
        return None


def _definers(tmp_path: Path) -> tuple[_Plan, dict[str, bytes]]:
    # Two files define f(); each calls g(), another file's helper that
    # does more than take locks: both are linted again (_relinted()).
    texts = {"common/small.c": b"void f(void)\n{\n    g();\n}\n",
             "arch/big.c": b"void f(void)\n{\n    g();\n    g();\n    g();\n}\n" * 4}
    for rel, text in texts.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(text)
    return _Plan(tmp_path), texts


@pytest.mark.parametrize("named", [False, True])
def test_the_first_definers_summary_decides_a_name_it_cannot_change(
        tmp_path: Path, named: bool) -> None:
    # small.c's f() now takes heap_lock.  Over both definers f()'s summary
    # is that or none (they disagree): a file that never names heap_lock
    # cannot meet the change, and big.c is not analysed for it.  A file
    # naming it needs big.c's word.
    plan, texts = _definers(tmp_path)
    asked: list[str] = []

    def summarise_with(path: Path, raw: bytes, names: frozenset[str],
                       external: object) -> dict[str, Summary]:
        asked.append(str(path.relative_to(tmp_path)))
        return {"f": _take("heap_lock")}

    tree = {"g": Summary((Effect("release", "spin", "write", "plain", "$0", None, "g"),),
                         None)}
    ids = frozenset({"f", "g"} | ({"heap_lock"} if named else set()))
    def changed(plan: _Plan, meeting: bool) -> dict[str, Summary]:
        return _changed({"f"}, {"f": sorted(texts)}, texts, tree, {}, plan,  # type: ignore[arg-type]
                        frozenset({"f"}), frozenset(), ids, summarise_with,
                        Kept(plan.cache), meeting=meeting)  # type: ignore[arg-type]

    got = changed(plan, True)
    assert asked == (["common/small.c", "arch/big.c"] if named else ["common/small.c"])
    assert got == ({"f": _take("heap_lock")} if named else {})
    asked.clear()
    # Without ``meeting`` (and nothing kept), every definer is asked: the
    # same names meet.
    plan.cache.path = tmp_path / "other" / "tree.json"
    every = changed(plan, False)
    assert sorted(asked) == sorted(texts)
    assert {n for n, s in every.items() if takers.change_meets(s, None, ids)} == set(got)
