"""A function filled again with other answers (a tree's second pass, where
one of its calls now resolves to another file's helper) takes again the
fill of each CFG node whose questions get the same answers
(actions.fill_actions(earlier=...), kept.Fill.nodes): only the nodes
whose answers changed are worked out anew, and the result is the fill
made from nothing."""

from __future__ import annotations

from pathlib import Path

from xenpatch.analysis.events import OpAct
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.headers import header_index
from xenpatch.analysis.kept import Fill
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.source import SourceFile
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import _parse

SRC = b"""\
struct box { spinlock_t lock; int n; };

void fill_box(struct box *b, int x)
{
    int y = x + 1;

    if ( y > 2 )
        y = 3;
    spin_lock(&b->lock);
    refresh_box(b);
    b->n = y;
    spin_unlock(&b->lock);
}
"""

# Another file's refresh_box() takes a lock of its own (its summary in a
# tree's second pass).
TAKES = {"refresh_box": Summary((Effect("take", "spin", "", "plain", "&refresh_lock", None,
                                        "refresh_box"),), None)}


CONFIG = LintConfig.load(None)


def _filled(tmp_path: Path, src: SourceFile | None, external: dict[str, Summary] | None
            ) -> tuple[SourceFile, FunctionUnit, Fill]:
    config = CONFIG
    path = tmp_path / "box.c"
    if src is None:
        path.write_bytes(SRC)
        src = _parse(str(path), SRC, config, path)
    fa = FileAnalysis(config, src, header_index(path), external)
    fa.relevant()
    f = fa.fns["fill_box"]
    fa.prepare(f)
    key = ("filled", f.node.start_byte, f.node.end_byte, f.name)
    return src, f, src.derived[key]


def test_a_refill_takes_again_the_nodes_whose_answers_stand(tmp_path: Path) -> None:
    src, _, first = _filled(tmp_path, None, None)
    _, f, again = _filled(tmp_path, src, TAKES)
    assert again is not first
    changed = [i for i, (a, b) in enumerate(zip(first.nodes, again.nodes, strict=True))
               if a is not b]
    # Only the node calling refresh_box() was filled anew.
    assert len(changed) == 1
    assert f.cfg is not None and "refresh_box" in src.text(f.cfg.nodes[changed[0]].ast)
    # ... and the fill is the one made from nothing with those answers.
    (tmp_path / "fresh").mkdir()
    _, g, fresh = _filled(tmp_path / "fresh", None, TAKES)
    assert f.info == g.info
    assert fresh.asked == again.asked
    assert any(isinstance(a, OpAct) for a in again.nodes[changed[0]][2] or ())
