"""Suppression comments and Xen's SAF deviation tags (docs/misra/safe.json)."""

from __future__ import annotations

import json
from pathlib import Path

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file

CODE = """static DEFINE_SPINLOCK(l);
int f(int x)
{
    spin_lock(&l);
    if ( x )
        /* SAF-1-safe lock handed to the caller on this path */
        return -EINVAL;
    spin_unlock(&l);
    return 0;
}
"""


def tree(tmp_path: Path, analyser: dict) -> Path:
    (tmp_path / "docs" / "misra").mkdir(parents=True)
    safe = {
        "version": "1.0",
        "content": [
            {"id": "SAF-0-safe", "analyser": {"eclair": "MC3A2.R8.6"}, "name": "x", "text": "x"},
            {"id": "SAF-1-safe", "analyser": analyser, "name": "y", "text": "y"},
            {"id": "SAF-2-safe", "analyser": {}, "name": "Sentinel", "text": "Next ID"},
        ],
    }
    (tmp_path / "docs" / "misra" / "safe.json").write_text(json.dumps(safe))
    src = tmp_path / "xen" / "common" / "f.c"
    src.parent.mkdir(parents=True)
    src.write_text(CODE)
    return src


def checks(path: Path) -> list[str]:
    return [f.check for f in lint_file(path, path.name, LintConfig.load()).findings]


def test_saf_entry_for_xenpatch_suppresses(tmp_path: Path) -> None:
    assert checks(tree(tmp_path, {"xenpatch": "XL001", "eclair": "MC3A2.R1.1"})) == []


def test_saf_entry_as_list(tmp_path: Path) -> None:
    assert checks(tree(tmp_path, {"xenpatch": ["XL002", "XL001"]})) == []


def test_saf_entry_for_another_id_does_not(tmp_path: Path) -> None:
    assert checks(tree(tmp_path, {"xenpatch": "XL002"})) == ["XL001"]


def test_saf_entry_for_other_analysers_only_does_not(tmp_path: Path) -> None:
    assert checks(tree(tmp_path, {"eclair": "XL001"})) == ["XL001"]


def test_without_safe_json_the_tag_does_nothing(tmp_path: Path) -> None:
    p = tmp_path / "f.c"
    p.write_text(CODE)
    assert checks(p) == ["XL001"]


def test_ignore_comment_on_line(tmp_path: Path) -> None:
    p = tmp_path / "f.c"
    p.write_text(CODE.replace("return -EINVAL;", "return -EINVAL; /* xenpatch: ignore XL001 */"))
    assert checks(p) == []


def test_ignore_comment_for_other_id(tmp_path: Path) -> None:
    p = tmp_path / "f.c"
    p.write_text(CODE.replace("return -EINVAL;", "return -EINVAL; /* xenpatch: ignore XL002 */"))
    assert checks(p) == ["XL001"]


def test_ignore_comment_on_function(tmp_path: Path) -> None:
    p = tmp_path / "f.c"
    p.write_text(CODE.replace("int f(int x)", "/* xenpatch: ignore XL001 */\nint f(int x)"))
    assert checks(p) == []
