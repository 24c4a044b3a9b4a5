"""The rewrite lints what it converts: a conversion that adds findings of the
lint to the files it changes says so, and is not written unless asked.

The shape is current Xen's iocaps_double_lock(): two objects' read locks
held at once, lower id first.  As plain rwlocks they are two reads; as
percpu rwlocks of one owner the second read nests under the first
(xen-locks.md H4: legal, slow, and a deadlock with its mirror image on
another CPU and writers on both), which the 2016 grant table patch had
to settle by hand.  A leak the tree already had is not the conversion's.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from capstree import FIXTURE, caps_rule, caps_tree
from clicall import xp
from xensource import ROOT

SOURCE = """\
#include <xen/types.h>
#include <xen/errno.h>
#include <xen/spinlock.h>
#include <xen/caps.h>

void caps_init(struct caps *c, unsigned int id)
{
    c->id = id;
    rwlock_init(&c->lock);
}

/* Both read-held, the lower id first. */
void caps_double_read_lock(struct caps *a, struct caps *b)
{
    if ( a->id < b->id )
    {
        read_lock(&a->lock);
        read_lock(&b->lock);
    }
    else
    {
        read_lock(&b->lock);
        read_lock(&a->lock);
    }
}

void caps_double_read_unlock(struct caps *a, struct caps *b)
{
    read_unlock(&b->lock);
    read_unlock(&a->lock);
}

unsigned long caps_get(struct caps *c)
{
    unsigned long v;

    read_lock(&c->lock);
    v = c->bits;
    read_unlock(&c->lock);
    return v;
}

int caps_set(struct caps *c, unsigned long v)
{
    write_lock(&c->lock);
    if ( !v )
        return -EINVAL;
    c->bits = v;
    write_unlock(&c->lock);
    return 0;
}
"""


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return caps_tree(tmp_path, SOURCE)


@pytest.fixture()
def rule(tmp_path: Path) -> str:
    return caps_rule(tmp_path)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": warning: " in line]


def test_the_nested_read_the_conversion_makes_is_listed(
        capsys: pytest.CaptureFixture[str], tree: Path, rule: str) -> None:
    code, out, err = xp(capsys, "rewrite", "--rule", rule, str(tree))
    assert code == 1, err
    assert "+        caps_read_lock(b);" in out  # the diff is still printed
    found = _warnings(err)
    assert found and all("[XL006]" in w and "xen/common/caps.c:" in w for w in found), err
    # Both arms' second read, each with its path as notes, at the lines of
    # the converted file (the DEFINE above them is two lines more).
    assert {w.split(":")[1] for w in found} == {"20", "25"}
    assert "note: 'a->lock' taken here" in err and "note: 'b->lock' taken here" in err
    assert "the conversion adds 2 findings of the lint" in err
    # caps_set()'s leak of the write lock was there before: not the conversion's.
    assert "caps_set" not in err and "[XL001]" not in err


def test_in_place_writes_nothing_unless_allowed(
        capsys: pytest.CaptureFixture[str], tree: Path, rule: str) -> None:
    before = _snapshot(tree)
    code, out, err = xp(capsys, "rewrite", "--rule", rule, "--in-place", str(tree))
    assert code == 1 and out == ""
    assert "nothing written" in err and "--allow-findings" in err
    assert _snapshot(tree) == before
    code, out, err = xp(capsys, "rewrite", "--rule", rule, "--in-place", "--allow-findings",
                        str(tree))
    assert code == 1, err
    assert "wrote " in err and len(_warnings(err)) == 2
    assert b"caps_read_lock(b);" in (tree / "xen/common/caps.c").read_bytes()
    # Converted, the tree has nothing left to convert and nothing to check.
    code, out, err = xp(capsys, "rewrite", "--rule", rule, str(tree))
    assert (code, out) == (0, "") and "nothing to do" in err


def test_no_check_skips_the_lint(capsys: pytest.CaptureFixture[str], tree: Path,
                                 rule: str) -> None:
    code, out, err = xp(capsys, "rewrite", "--rule", rule, "--no-check", str(tree))
    assert code == 0, err
    assert "+        caps_read_lock(b);" in out and not _warnings(err)


def test_json_lists_the_added_findings(capsys: pytest.CaptureFixture[str], tree: Path,
                                       rule: str) -> None:
    code, out, _ = xp(capsys, "rewrite", "--json", "--rule", rule, str(tree))
    report = json.loads(out)
    assert code == 1 and report["status"] == "done"
    added = report["added_findings"]
    assert [(f["path"], f["check"], f["function"]) for f in added] == [
        ("xen/common/caps.c", "XL006", "caps_double_read_lock")] * 2
    code, out, _ = xp(capsys, "rewrite", "--json", "--no-check", "--rule", rule, str(tree))
    assert code == 0 and json.loads(out)["added_findings"] is None


def test_a_clean_conversion_is_checked_and_silent(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = xp(capsys, "rewrite", "--json", "--rule",
                        str(ROOT / "rules" / "grant_table.toml"), str(FIXTURE))
    assert code == 0, err
    assert json.loads(out)["added_findings"] == []


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def test_commit_is_refused_and_head_kept(capsys: pytest.CaptureFixture[str], tree: Path,
                                         rule: str) -> None:
    _git(tree, "init", "-q")
    _git(tree, "add", "-A")
    _git(tree, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q",
         "-m", "base")
    head = _git(tree, "rev-parse", "HEAD")
    code, _, err = xp(capsys, "rewrite", "--rule", rule, "--commit", str(tree))
    assert code == 1 and "nothing written" in err
    assert _git(tree, "rev-parse", "HEAD") == head
    assert _git(tree, "status", "--porcelain") == ""



def test_converted_code_the_lint_cannot_analyse_is_not_vouched_for(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tree: Path,
        rule: str) -> None:
    # Every function with a lock is past a state bound of 1: the check
    # analyses none of them, so "adds no finding" would vouch for nothing.
    from xenpatch.analysis import dataflow

    monkeypatch.setattr(dataflow, "STATE_LIMIT", 1)
    before = _snapshot(tree)
    code, out, err = xp(capsys, "rewrite", "--json", "--rule", rule, str(tree))
    report = json.loads(out)
    assert code == 3 and report["added_findings"] == []
    unchecked = {line.split("'")[1] for line in report["unchecked"]}
    assert {"caps_get", "caps_set", "caps_double_read_lock"} <= unchecked, report["unchecked"]
    assert all(": note: '" in line and "not analysed: too many lock states" in line
               for line in report["unchecked"])
    code, out, err = xp(capsys, "rewrite", "--rule", rule, "--in-place", str(tree))
    assert code == 3, err
    assert "of the converted code (listed above)" in err and "nothing written" in err
    assert _snapshot(tree) == before
    code, out, err = xp(capsys, "rewrite", "--rule", rule, "--in-place", "--allow-findings",
                        str(tree))
    assert code == 3 and "wrote " in err
    assert b"caps_read_lock(b);" in (tree / "xen/common/caps.c").read_bytes()
