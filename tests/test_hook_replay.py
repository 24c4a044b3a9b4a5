"""bench/hook_replay.py's own logic on a history made here (the Xen mirror
is not needed): the commits touching xen/ C files replayed oldest first in
one clone, the patch mode (``--since C^``) reporting only what each commit
adds, the plain hook everything in the files it touches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from gitrepo import bench, git

from xenpatch.paths import fixtures_dir

SHAPES = fixtures_dir() / "lint" / "hookreplay"


def _bench() -> ModuleType:
    return bench("hook_replay")


@pytest.fixture()
def history(tmp_path: Path) -> Path:
    """A bare repository (as the mirror is) whose master has: a README (no C file: not replayed),
    tbl.c with one leak, then tbl.c with that leak moved down and a second
    one added, then a commit touching only a file outside xen/."""
    r = tmp_path / "work"
    (r / "xen" / "include" / "xen").mkdir(parents=True)
    (r / "xen" / "include" / "xen" / "spinlock.h").write_text("/* the lock API */\n")
    (r / "README").write_text("base\n")
    git(r, "init", "-q", "-b", "master")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "base")
    (r / "xen" / "common").mkdir()
    for name, msg in (("first.c", "add tbl.c"), ("second.c", "tbl_put()")):
        shutil.copy(SHAPES / name, r / "xen" / "common" / "tbl.c")
        git(r, "add", "-A")
        git(r, "commit", "-q", "-m", msg)
    (r / "tools").mkdir()
    (r / "tools" / "x.c").write_text("int x;\n")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "tools only")
    git(tmp_path, "clone", "-q", "--bare", str(r), "mirror")
    return tmp_path / "mirror"


def test_patch_mode_reports_what_each_commit_adds(history: Path, tmp_path: Path) -> None:
    bench = _bench()
    rows = bench.replay(history, "master", 10, None, tmp_path / "cache")
    assert [r["subject"] for r in rows] == ["add tbl.c", "tbl_put()"]
    first, second = rows
    assert first["files"] == second["files"] == ["xen/common/tbl.c"]
    # The file is new in the first commit: its leak is what the commit adds.
    assert first["patch"]["exit"] == 1
    assert [f["function"] for f in first["patch"]["findings"]] == ["tbl_get"]
    # The second adds tbl_put()'s leak only: tbl_get()'s moved, it is not new.
    assert second["patch"]["exit"] == 1
    assert [f["function"] for f in second["patch"]["findings"]] == ["tbl_put"]
    assert sorted(f["function"] for f in second["plain"]["findings"]) == ["tbl_get", "tbl_put"]
    # The old finding keeps its fingerprint across the move.
    [old] = first["plain"]["findings"]
    assert old["fingerprint"] in {f["fingerprint"] for f in second["plain"]["findings"]}
    assert not any(r[m]["trouble"] for r in rows for m in ("patch", "plain"))
    figs = bench.summary(rows)
    assert figs["replayed"] == 2 and figs["files"] == 2
    assert figs["patch_blocks"] == figs["plain_blocks"] == [r["commit"] for r in rows]


def test_json_and_count(history: Path, tmp_path: Path, capsys) -> None:
    bench = _bench()
    out = tmp_path / "replay.json"
    assert bench.main(["--mirror", str(history), "--count", "1", "--json", str(out),
                       "--cache", str(tmp_path / "cache")]) == 0
    doc = json.loads(out.read_text())
    # --count takes the newest commits touching xen/ C files.
    [row] = doc["commits"]
    assert row["subject"] == "tbl_put()"
    assert doc["figures"]["patch_blocks"] == [row["commit"]]
    assert "1 commit(s) blocked" in capsys.readouterr().out


def test_no_mirror_is_skipped(tmp_path: Path, capsys) -> None:
    assert _bench().main(["--mirror", str(tmp_path / "absent")]) == 0
    assert capsys.readouterr().out.strip() == "skipped: no mirror"


def test_progress_and_status_are_no_trouble() -> None:
    bench = _bench()
    err = ("\r3/7\r7/7\nxenpatch lint: incomplete: 1 check(s) left undecided\n")
    assert bench.trouble(err) == ""
    assert "Traceback" in bench.trouble(err + "Traceback (most recent call last):\n")


def _run(exit_: int, stderr: str = "", findings: list[dict] | None = None) -> dict:
    return {"exit": exit_, "findings": findings or [], "wall": 1.0, "cpu": 1.0,
            "stderr": stderr, "trouble": stderr}


def test_a_crash_is_no_block_and_extra_findings_are_named() -> None:
    bench = _bench()
    leak = {"path": "a.c", "function": "f", "id": "XL001", "lock": "l", "line": 3}
    rows = [
        {"commit": "c1", "files": ["a.c"], "patch": _run(0), "plain": _run(1, "Traceback ...")},
        {"commit": "c2", "files": ["a.c"], "patch": _run(1, findings=[leak]), "plain": _run(0)},
    ]
    figs = bench.summary(rows)
    assert figs["crashes"] == ["c1"] and figs["plain_blocks"] == []
    assert figs["patch_blocks"] == ["c2"] and figs["patch_not_in_plain"] == ["c2"]
