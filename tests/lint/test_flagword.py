"""Flag words and counts the path follows exactly (analysis/actions.py
``_update``, dataflow's UpdateAct): ``v |= K`` anywhere, ``v++``/``v += K``
outside loops only.  A count stepped in a loop takes a new value every
round, a state of its own each time, until the facts kept per node run out
and later tests lose theirs (map_domain_pirq() of Xen 4.17 then had "ret < 0"
true and "ret" false on one path)."""

from __future__ import annotations

from pathlib import Path

from xenpatch.analysis.events import AssignAct, UpdateAct
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.headers import header_index
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import _parse

SRC = b"""
struct s { spinlock_t lock; int n; };
int more(int i);

int count_in_loop(struct s *p, int want)
{
    int nr = 0, held = 0;

    for ( ; ; )
    {
        spin_lock(&p->lock);
        held |= 1;
        if ( ++nr == want )
            break;
        if ( held & 1 )
            spin_unlock(&p->lock);
        held &= ~1;
    }
    if ( nr && (held & 1) )
        spin_unlock(&p->lock);
    return nr;
}

int count_once(struct s *p, int x)
{
    int nr = 0;

    if ( x )
    {
        spin_lock(&p->lock);
        nr++;
    }
    if ( nr )
        spin_unlock(&p->lock);
    return nr;
}
"""


def _acts(tmp_path: Path, name: str) -> list[object]:
    path = tmp_path / "flags.c"
    path.write_bytes(SRC)
    config = LintConfig.load()
    fa = FileAnalysis(config, _parse(str(path), SRC, config, path), header_index(path), None)
    f = fa.fns[name]
    fa.prepare(f)
    assert f.info is not None
    return [a for acts in f.info.acts for a in acts]


def test_a_count_in_a_loop_is_forgotten_not_followed(tmp_path: Path) -> None:
    acts = _acts(tmp_path, "count_in_loop")
    nr = [a for a in acts if getattr(a, "var", None) == "nr" and not (
        isinstance(a, AssignAct) and a.exact == 0)]
    assert nr and all(isinstance(a, AssignAct) and a.cls is None for a in nr), nr
    # Or-ing and and-ing constants settles: followed in the loop too.
    held = [a for a in acts if isinstance(a, UpdateAct) and a.var == "held"]
    assert [a.op for a in held] == ["|"]


def test_a_count_outside_loops_is_followed(tmp_path: Path) -> None:
    acts = _acts(tmp_path, "count_once")
    assert UpdateAct("nr", "+", 1) in acts
