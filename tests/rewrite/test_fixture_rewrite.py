"""The rewrite on the embedded fixture tree, through the real CLI.

Expected diffs are checked in (fixtures/expected/) and compared byte for
byte; git applies them and gcc compiles the result.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from xensource import ROOT

from xenpatch.cli import main

FIXTURE = ROOT / "fixtures" / "xen"
EXPECTED = ROOT / "fixtures" / "expected"
RULES = ROOT / "rules"
GCC = ["gcc", "-std=gnu99", "-fsyntax-only", "-Wall", "-Werror"]


def xp(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "xen-tree"))


@pytest.mark.parametrize("rule", ["grant_table", "event_lock"])
def test_diff_matches_expected_bytes(capsys: pytest.CaptureFixture[str], rule: str) -> None:
    code, out, err = xp(capsys, "rewrite", "--rule", str(RULES / f"{rule}.toml"), str(FIXTURE))
    assert code == 0, err
    assert out.encode() == (EXPECTED / f"{rule}.diff").read_bytes()
    assert "warning" not in err and "error" not in err


@pytest.mark.parametrize("rule", ["grant_table", "event_lock"])
def test_expected_diff_applies_and_compiles(tree: Path, rule: str) -> None:
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    subprocess.run(["git", "apply", str(EXPECTED / f"{rule}.diff")], cwd=tree, check=True)
    c_files = sorted((tree / "xen").rglob("*.c"))
    assert c_files
    for c_file in c_files:
        res = subprocess.run([*GCC, "-I", str(tree / "xen" / "include"), str(c_file)],
                             capture_output=True, text=True)
        assert res.returncode == 0, f"{c_file}: {res.stderr}"


def test_in_place_then_idempotent(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    rule = str(RULES / "grant_table.toml")
    code, out, err = xp(capsys, "rewrite", "--rule", rule, "--in-place", str(tree))
    assert code == 0, err
    assert out == ""
    assert "wrote 5 files, 64 sites" in err
    # The written tree is the expected diff applied.
    check = Path(shutil.copytree(FIXTURE, tree.parent / "check"))
    subprocess.run(["git", "init", "-q", str(check)], check=True)
    subprocess.run(["git", "apply", str(EXPECTED / "grant_table.diff")], cwd=check, check=True)
    shutil.rmtree(check / ".git")
    assert subprocess.run(["diff", "-r", str(check), str(tree)]).returncode == 0
    code, out, err = xp(capsys, "rewrite", "--rule", rule, str(tree))
    assert (code, out) == (0, "")


def test_crlf_file_stays_crlf(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    xp(capsys, "rewrite", "--rule", str(RULES / "grant_table.toml"), "--in-place", str(tree))
    data = (tree / "xen/common/compat_crlf.c").read_bytes()
    assert b"grant_read_lock(d->grant_table);\r\n" in data
    assert data.count(b"\n") == data.count(b"\r\n")


def test_json_reports_every_site(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = xp(capsys, "rewrite", "--json", "--rule", str(RULES / "grant_table.toml"),
                      str(FIXTURE))
    assert code == 0
    report = json.loads(out)
    sites = report["sites"]
    assert {s["type"] for s in sites} == {"struct grant_table *"}
    by_api: dict[str, int] = {}
    for s in sites:
        by_api[s["old"].split("(")[0]] = by_api.get(s["old"].split("(")[0], 0) + 1
    # 58 lock/unlock sites, 2 read-locked asserts, 3 write-locked asserts, 1 init.
    assert sum(by_api[a] for a in ("read_lock", "read_unlock", "write_lock",
                                   "write_unlock")) == 58
    assert (by_api["rw_is_locked"], by_api["rw_is_write_locked"], by_api["rwlock_init"]) == (
        2, 3, 1)
    first = next(s for s in sites if s["function"] == "double_gt_lock")
    assert first == {"file": "xen/common/grant_table.c", "line": 194,
                     "function": "double_gt_lock", "old": "write_lock(&lgt->lock)",
                     "new": "grant_write_lock(lgt)", "type": "struct grant_table *"}
    assert "dlog" not in out  # another struct's field named 'lock'


def test_not_a_xen_tree(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = xp(capsys, "rewrite", "--rule", str(RULES / "grant_table.toml"),
                        str(tmp_path))
    assert code == 2 and out == ""
    assert err == f"xenpatch: {tmp_path}: not a Xen tree (no xen/include/xen and xen/common)\n"


def test_tree_without_percpu_rwlock(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    spinlock = tree / "xen/include/xen/spinlock.h"
    spinlock.write_text(spinlock.read_text().replace("percpu_rwlock_t", "percpu_rwlock_XX"))
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    code, out, err = xp(capsys, "rewrite", "--in-place", "--rule",
                        str(RULES / "grant_table.toml"), str(tree))
    assert code == 1 and out == ""
    assert "lacks the percpu rwlock infrastructure" in err
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before


def test_non_utf8_file_is_reported_and_left_alone(capsys: pytest.CaptureFixture[str],
                                                  tree: Path) -> None:
    bad = tree / "xen/common/latin1.c"
    bad.write_bytes(b"/* caf\xe9 */\n"
                    b"void f(struct domain *d) { read_lock(&d->grant_table->lock); }\n")
    code, out, err = xp(capsys, "rewrite", "--in-place", "--rule",
                        str(RULES / "grant_table.toml"), str(tree))
    assert code == 0
    assert "xen/common/latin1.c:1: warning: skipped: not UTF-8 (byte 6)" in err.splitlines()
    assert bad.read_bytes().startswith(b"/* caf\xe9 */")
    assert b"grant_read_lock" in (tree / "xen/common/grant_table.c").read_bytes()


def test_unresolved_call_is_reported(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    extra = tree / "xen/common/mystery.c"
    extra.write_text("#include <xen/sched.h>\n\nvoid f(void)\n{\n"
                     "    read_lock(&nobody_knows->lock);\n}\n")
    argv = ["rewrite", "--rule", str(RULES / "grant_table.toml"), str(tree)]
    code, _, err = xp(capsys, *argv)
    assert code == 0
    assert ("xen/common/mystery.c:5: warning: not converted: cannot resolve the type of "
            "'nobody_knows' in 'read_lock(&nobody_knows->lock)': 'nobody_knows' is not "
            "declared in scope or in the tree") in err
    code, _, _ = xp(capsys, *argv[:1], "--strict", *argv[1:])
    assert code == 1


def test_bad_rule_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rule = tmp_path / "r.toml"
    rule.write_text((RULES / "grant_table.toml").read_text().replace("[lock]", "[lok]"))
    code, out, err = xp(capsys, "rewrite", "--rule", str(rule), str(FIXTURE))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and "lok: unknown key" in err


def test_failed_write_leaves_tree_as_it_was(capsys: pytest.CaptureFixture[str], tree: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The third rename fails: the two files already renamed are put back."""
    import os

    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    real_replace = os.replace
    calls = []

    def failing_replace(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    code, _, err = xp(capsys, "rewrite", "--in-place", "--rule",
                      str(RULES / "grant_table.toml"), str(tree))
    assert code == 2
    assert "No space left on device" in err
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before


def test_lock_passed_by_pointer_is_reported(capsys: pytest.CaptureFixture[str],
                                            tree: Path) -> None:
    extra = tree / "xen/common/forward.c"
    extra.write_text("#include <xen/spinlock.h>\n\nvoid take(rwlock_t *l)\n{\n"
                     "    read_lock(l);\n}\n")
    code, out, err = xp(capsys, "rewrite", "--rule", str(RULES / "grant_table.toml"), str(tree))
    assert code == 0
    assert ("xen/common/forward.c:5: warning: not converted: cannot resolve the type of 'l' in "
            "'read_lock(l)': the lock is passed as 'l', not as the address of a struct field, "
            "so the struct it belongs to cannot be known") in err.splitlines()
    assert "forward.c" not in out


def test_field_with_something_between_type_and_name(capsys: pytest.CaptureFixture[str],
                                                    tree: Path) -> None:
    header = tree / "xen/include/xen/grant_table.h"
    text = header.read_text()
    old = "    rwlock_t              lock;"
    assert text.count(old) == 1
    header.write_text(text.replace(old, "    rwlock_t /* gt */     lock;"))
    code, out, err = xp(capsys, "rewrite", "--rule", str(RULES / "grant_table.toml"), str(tree))
    assert code == 1 and out == ""
    assert "error: cannot retype 'struct grant_table.lock': '/* gt */' stands between" in err


@pytest.mark.parametrize("api", ["write_trylock", "read_lock_irqsave", "rw_is_write_locked_by_me"])
def test_rwlock_call_without_percpu_form_is_refused(capsys: pytest.CaptureFixture[str],
                                                    tree: Path, api: str) -> None:
    # The set of rwlock calls comes from rules/locks.toml, the lint's table.
    extra = tree / "xen/common/odd.c"
    args = "&d->grant_table->lock, flags" if api.endswith("irqsave") else "&d->grant_table->lock"
    extra.write_text("#include <xen/sched.h>\n#include <xen/grant_table.h>\n\n"
                     f"void f(struct domain *d, unsigned long flags)\n{{\n    {api}({args});\n}}\n")
    code, out, err = xp(capsys, "rewrite", "--rule", str(RULES / "grant_table.toml"), str(tree))
    assert code == 1 and out == ""
    assert f"percpu_rwlock_t has no equivalent of {api}()" in err
