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
from clicall import xp
from xensource import ROOT

FIXTURE = ROOT / "fixtures" / "xen"
EXPECTED = ROOT / "fixtures" / "expected"
RULES = ROOT / "rules"
GCC = ["gcc", "-std=gnu99", "-fsyntax-only", "-Wall", "-Werror"]


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


def _snapshot(tree: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}


def test_non_utf8_file_with_a_site_refuses_the_plan(capsys: pytest.CaptureFixture[str],
                                                    tree: Path) -> None:
    bad = tree / "xen/common/latin1.c"
    bad.write_bytes(b"/* caf\xe9 */\n"
                    b"void f(struct domain *d) { read_lock(&d->grant_table->lock); }\n")
    before = _snapshot(tree)
    argv = ["rewrite", "--in-place", "--rule", str(RULES / "grant_table.toml"), str(tree)]
    code, out, err = xp(capsys, *argv)
    assert code == 1 and out == ""
    assert ("xen/common/latin1.c:2: error: 'read_lock(&d->grant_table->lock)' not converted: "
            "not UTF-8 (byte 6)") in err.splitlines()
    assert _snapshot(tree) == before
    code, out, err = xp(capsys, *argv[:1], "--allow-partial", *argv[1:])
    assert code == 1
    assert "wrote 5 files, 64 sites; 1 sites remain" in err
    assert bad.read_bytes().startswith(b"/* caf\xe9 */")
    assert b"grant_read_lock" in (tree / "xen/common/grant_table.c").read_bytes()


def test_non_utf8_file_without_a_site_is_skipped(capsys: pytest.CaptureFixture[str],
                                                 tree: Path) -> None:
    (tree / "xen/common/latin1.c").write_bytes(b"/* caf\xe9 */\nint x(void) { return 1; }\n")
    code, _, err = xp(capsys, "rewrite", "--in-place", "--rule",
                      str(RULES / "grant_table.toml"), str(tree))
    assert code == 0, err
    assert b"grant_read_lock" in (tree / "xen/common/grant_table.c").read_bytes()


@pytest.mark.parametrize("body, reason", [
    ("    read_lock(&nobody_knows->lock);\n",
     "cannot resolve the type of 'nobody_knows' in 'read_lock(&nobody_knows->lock)': "
     "'nobody_knows' is not declared in scope or in the tree"),
    ("    if (x {\n    read_lock(&d->grant_table->lock);\n",
     "was not understood by the parse"),
    ("    x = = 1;\n    read_lock(&d->grant_table->lock);\n",
     "is in f(), which does not parse cleanly"),
])
def test_unconvertible_site_refuses_everything(capsys: pytest.CaptureFixture[str], tree: Path,
                                               body: str, reason: str) -> None:
    """Nothing is written, the site is listed with its reason; --strict is the default."""
    extra = tree / "xen/common/mystery.c"
    extra.write_text("#include <xen/sched.h>\n\nvoid f(struct domain *d, int x)\n{\n"
                     + body + "}\n")
    line = 4 + body.count("\n")
    before = _snapshot(tree)
    for flags in ([], ["--strict"], ["--in-place"], ["--in-place", "--strict"]):
        code, out, err = xp(capsys, "rewrite", *flags, "--rule",
                            str(RULES / "grant_table.toml"), str(tree))
        assert code == 1 and out == "", flags
        assert f"xen/common/mystery.c:{line}: error: " in err
        assert reason in err
        assert "nothing written" in err
    assert _snapshot(tree) == before
    code, out, _ = xp(capsys, "rewrite", "--json", "--rule", str(RULES / "grant_table.toml"),
                      str(tree))
    report = json.loads(out)
    assert code == 1 and report["status"] == "refused"
    assert [(r["file"], r["line"]) for r in report["remaining"]] == [
        ("xen/common/mystery.c", line)]


def test_current_and_macros_are_followed(capsys: pytest.CaptureFixture[str],
                                         tree: Path) -> None:
    """current expands (the tree's #define) to a call whose return type is known;
    a function-like macro's body is followed with its argument; ?: and casts too."""
    (tree / "xen/common/idioms.c").write_text(
        "#include <xen/sched.h>\n#include <xen/grant_table.h>\n\n"
        "#define dom_gt(dom) ((dom)->grant_table)\n\n"
        "void f(struct domain *d, void *p, int c)\n{\n"
        "    read_lock(&current->domain->grant_table->lock);\n"
        "    read_unlock(&dom_gt(d)->lock);\n"
        "    read_lock(&(c ? d->grant_table : NULL)->lock);\n"
        "    read_unlock(&((struct grant_table *)p)->lock);\n"
        "}\n")
    # The function pairs no lock with its release (it is made of spellings):
    # converted, its reads nest under the release's entry hold (XL006,
    # test_recheck.py's subject), which --no-check leaves unasked.
    code, out, err = xp(capsys, "rewrite", "--json", "--no-check", "--rule",
                        str(RULES / "grant_table.toml"), str(tree))
    assert code == 0, err
    report = json.loads(out)
    mine = [s["new"] for s in report["sites"] if s["file"] == "xen/common/idioms.c"]
    assert mine == ["grant_read_lock(current->domain->grant_table)",
                    "grant_read_unlock(dom_gt(d))",
                    "grant_read_lock((c ? d->grant_table : NULL))",
                    "grant_read_unlock(((struct grant_table *)p))"]


def test_site_above_the_wrappers_is_refused(capsys: pytest.CaptureFixture[str],
                                            tree: Path) -> None:
    """An inline function of the struct's own header, above the struct's end, would
    call a wrapper that is defined after the struct."""
    header = tree / "xen/include/xen/grant_table.h"
    text = header.read_text()
    anchor = "/* Per-domain grant information. */\n"
    early = ("struct grant_table;\nstatic inline void early(struct grant_table *gt)\n{\n"
             "    read_lock(&gt->lock);\n}\n\n")
    header.write_text(text.replace(anchor, early + anchor))
    line = header.read_text().splitlines().index("    read_lock(&gt->lock);") + 1
    code, out, err = xp(capsys, "rewrite", "--rule", str(RULES / "grant_table.toml"), str(tree))
    assert code == 1 and out == ""
    assert (f"xen/include/xen/grant_table.h:{line}: error: 'read_lock(&gt->lock)' comes before "
            "the end of struct grant_table") in err


def test_lock_address_passed_to_a_helper_is_refused(capsys: pytest.CaptureFixture[str],
                                                    tree: Path) -> None:
    """helper(&gt->lock) would receive a percpu lock where it expects an rwlock_t *;
    another lock kind's call on a same-named field (spin_lock(&d->dlog.lock)) is no escape."""
    (tree / "xen/common/escape.c").write_text(
        "#include <xen/sched.h>\n#include <xen/grant_table.h>\n\nvoid helper(rwlock_t *l);\n\n"
        "void g(struct domain *d)\n{\n    read_lock(&d->grant_table->lock);\n"
        "    helper(&d->grant_table->lock);\n    spin_lock(&d->dlog.lock);\n"
        "    read_unlock(&d->grant_table->lock);\n}\n")
    code, out, err = xp(capsys, "rewrite", "--rule", str(RULES / "grant_table.toml"), str(tree))
    assert code == 1 and out == ""
    refused = [line for line in err.splitlines() if ": error: " in line]
    assert refused == ["xen/common/escape.c:9: error: the lock's address is taken in "
                       "'helper(&d->grant_table->lock)' (g()), not by an rwlock call: it would "
                       "pass a percpu_rwlock_t * where an rwlock_t * is expected; convert by hand"]


def test_already_converted_is_nothing_to_do(capsys: pytest.CaptureFixture[str],
                                            tree: Path) -> None:
    rule = str(RULES / "grant_table.toml")
    code, _, err = xp(capsys, "rewrite", "--rule", rule, "--in-place", str(tree))
    assert code == 0, err
    after = _snapshot(tree)
    header = (tree / "xen/include/xen/grant_table.h").read_text().splitlines()
    line = header.index("    percpu_rwlock_t       lock;") + 1
    for flags in (["--in-place"], []):
        code, out, err = xp(capsys, "rewrite", "--rule", rule, *flags, str(tree))
        assert (code, out) == (0, "")
        assert f"grant_table: nothing to do: xen/include/xen/grant_table.h:{line}: " in err
        assert "is a percpu_rwlock_t already" in err
    assert _snapshot(tree) == after


def test_second_commit_with_nothing_to_do_exits_0(capsys: pytest.CaptureFixture[str],
                                                  tree: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    argv = ["rewrite", "--commit", "--rule", "grant_table", str(tree)]
    code, _, err = xp(capsys, *argv)
    assert code == 0, err
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    code, _, err = xp(capsys, *argv)
    assert code == 0 and "nothing to do" in err
    assert subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout == head


@pytest.mark.parametrize("key, old, new", [
    ("lock.owner", 'owner = "grant_rwlock"', 'owner = "max_grant_frames"'),
    ("wrappers.read_lock", 'read_lock = "grant_read_lock"', 'read_lock = "double_gt_lock"'),
])
def test_name_already_in_the_tree_is_refused(capsys: pytest.CaptureFixture[str], tree: Path,
                                             tmp_path: Path, key: str, old: str,
                                             new: str) -> None:
    rule = tmp_path / "r.toml"
    rule.write_text((RULES / "grant_table.toml").read_text().replace(old, new))
    before = _snapshot(tree)
    code, out, err = xp(capsys, "rewrite", "--in-place", "--rule", str(rule), str(tree))
    assert code == 2 and out == ""
    name = new.split('"')[1]
    first = next(line for line in err.splitlines() if "already in the tree" in line)
    path, line = first.split(":")[:2]
    assert name in (tree / path).read_text().splitlines()[int(line) - 1]
    assert f"'{name}' ({key} of {rule}:" in first
    assert _snapshot(tree) == before


@pytest.mark.parametrize("key", ["rw_is_locked", "rw_is_write_locked", "rwlock_init"])
def test_keep_that_would_not_compile_is_refused(capsys: pytest.CaptureFixture[str], tree: Path,
                                                tmp_path: Path, key: str) -> None:
    text = (RULES / "grant_table.toml").read_text()
    old = next(line for line in text.splitlines() if line.startswith(f"{key} ="))
    rule = tmp_path / "r.toml"
    rule.write_text(text.replace(old, f'{key} = "keep"'))
    code, _, err = xp(capsys, "rewrite", "--rule", str(rule), str(tree))
    assert code == 1
    assert f"(calls.{key} = \"keep\"), but {key}() takes an rwlock_t" in err
    assert f"the tree would not compile ({rule}:" in err


def test_call_key_naming_no_function_of_the_tree(capsys: pytest.CaptureFixture[str],
                                                 tree: Path, tmp_path: Path) -> None:
    rule = tmp_path / "r.toml"
    rule.write_text((RULES / "grant_table.toml").read_text().replace(
        'rw_is_write_locked = "percpu_rw_is_write_locked"', 'rw_is_write_locked = "no_such_fn"'))
    code, _, err = xp(capsys, "rewrite", "--rule", str(rule), str(tree))
    assert code == 1
    assert "calls.rw_is_write_locked: the tree's headers have no 'no_such_fn'" in err


def test_misspelled_field_names_its_line(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    rule = tmp_path / "r.toml"
    rule.write_text((RULES / "grant_table.toml").read_text().replace('field = "lock"',
                                                                      'field = "lokc"'))
    line = next(i for i, t in enumerate(rule.read_text().splitlines(), 1) if "lokc" in t)
    code, _, err = xp(capsys, "rewrite", "--rule", str(rule), str(FIXTURE))
    assert code == 1
    assert (f"{rule}:{line}: error: no definition of 'struct grant_table' has a field "
            "'lokc' (looked in ") in err


def test_field_under_a_condition(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    """DECLARE, wrappers and DEFINE sit under the field's #ifdef: gcc compiles the
    result with the option and without it."""
    header = tree / "xen/include/xen/grant_table.h"
    text = header.read_text()
    old = "    rwlock_t              lock;\n"
    header.write_text(text.replace(old, "#ifdef CONFIG_GT_LOCK\n" + old + "#endif\n"))
    code, _, err = xp(capsys, "rewrite", "--in-place", "--rule",
                      str(RULES / "grant_table.toml"), str(tree))
    assert code == 0, err
    new = header.read_text()
    assert "#ifdef CONFIG_GT_LOCK\nDECLARE_PERCPU_RWLOCK_GLOBAL(grant_rwlock);\n#endif\n" in new
    assert "\n#ifdef CONFIG_GT_LOCK\nstatic inline void grant_read_lock(" in new
    gt = (tree / "xen/common/grant_table.c").read_text()
    assert "#ifdef CONFIG_GT_LOCK\nDEFINE_PERCPU_RWLOCK_GLOBAL(grant_rwlock);\n#endif\n" in gt
    # Without the option, nothing else of the conversion is left visible.
    res = subprocess.run([*GCC, "-I", str(tree / "xen" / "include"),
                          str(tree / "xen/include/xen/grant_table.h")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([*GCC, "-DCONFIG_GT_LOCK", "-I", str(tree / "xen" / "include"),
                          str(tree / "xen/common/grant_table.c")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_bundled_rule_by_name_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = xp(capsys, "rewrite", "--list-rules")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["event_lock", "grant_table", "p2m"]
    code, out, _ = xp(capsys, "rewrite", "--rule", "grant_table", str(FIXTURE))
    assert code == 0 and out.encode() == (EXPECTED / "grant_table.diff").read_bytes()
    code, out, err = xp(capsys, "rewrite", "--rule", "no_such_rule", str(FIXTURE))
    assert code == 2 and "bundled: event_lock, grant_table, p2m" in err


def test_bad_rule_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rule = tmp_path / "r.toml"
    rule.write_text((RULES / "grant_table.toml").read_text().replace("[lock]", "[lok]"))
    code, out, err = xp(capsys, "rewrite", "--rule", str(rule), str(FIXTURE))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and "lok: unknown key" in err


def test_json_answers_a_refused_rule(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rule = tmp_path / "r.toml"
    rule.write_text((RULES / "grant_table.toml").read_text().replace("[lock]", "[lok]"))
    code, out, err = xp(capsys, "rewrite", "--json", "--rule", str(rule), str(FIXTURE))
    assert code == 2
    report = json.loads(out)
    assert report["status"] == "bad input" and "lok: unknown key" in report["error"]


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
    assert code == 1 and out == ""
    assert ("xen/common/forward.c:5: error: cannot resolve the type of 'l' in "
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


@pytest.mark.parametrize("api", ["write_trylock", "read_lock_irqsave", "rw_is_write_locked_by_me",
                                 "_read_lock"])
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


def test_the_xen_folder_itself_is_taken_as_its_tree(capsys: pytest.CaptureFixture[str]) -> None:
    # Standing in the hypervisor's folder and giving "." must not be a refusal:
    # the diff is the one of the folder holding it, with the same paths.
    rule = str(RULES / "grant_table.toml")
    code, out, err = xp(capsys, "rewrite", "--rule", rule, str(FIXTURE / "xen"))
    assert code == 0, err
    assert out.encode() == (EXPECTED / "grant_table.diff").read_bytes()


def test_a_folder_named_xen_that_is_not_the_hypervisor_is_refused(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "xen").mkdir()
    code, out, err = xp(capsys, "rewrite", "--rule", str(RULES / "grant_table.toml"),
                        str(tmp_path / "xen"))
    assert code == 2 and out == ""
    assert err.startswith(f"xenpatch: {tmp_path / 'xen'}: not a Xen tree")


def test_paths_without_the_common_headers(capsys: pytest.CaptureFixture[str], tree: Path,
                                          tmp_path: Path) -> None:
    # A rule narrowed to one architecture reads no common header: the tree does
    # have percpu_rwlock_t, so saying it lacks the infrastructure would be false.
    text = (RULES / "grant_table.toml").read_text()
    assert 'paths = ["xen"]' in text
    rule = tmp_path / "narrow.toml"
    rule.write_text(text.replace('paths = ["xen"]', 'paths = ["xen/common"]'))
    code, out, err = xp(capsys, "rewrite", "--rule", str(rule), str(tree))
    assert code == 1 and out == ""
    assert "lacks the percpu rwlock infrastructure" not in err
    assert ("no file under the rule's paths (xen/common) defines percpu_rwlock_t" in err
            and 'add "xen/include" to paths' in err)


@pytest.mark.parametrize(("headers", "example"), [
    ("xen/arch/{}/include/asm", '"xen/arch/arm", "xen/include", "xen/common"'),
    # Before 4.18 the architectures' headers sit in xen/include/asm-ARCH:
    # narrowing to xen/include would keep both, so the example names one.
    ("xen/include/asm-{}", '"xen/arch/arm", "xen/include/xen", "xen/include/public", '
                           '"xen/include/asm-arm", "xen/common"'),
])
def test_one_definition_per_architecture(capsys: pytest.CaptureFixture[str], tree: Path,
                                         tmp_path: Path, headers: str, example: str) -> None:
    for arch in ("arm", "x86"):
        header = tree / headers.format(arch) / "p2m.h"
        header.parent.mkdir(parents=True, exist_ok=True)
        header.write_text("struct p2m_domain {\n    rwlock_t lock;\n    int x;\n};\n")
    rule = tmp_path / "p2m.toml"
    rule.write_text((RULES / "grant_table.toml").read_text()
                    .replace('struct = "grant_table"', 'struct = "p2m_domain"'))
    code, out, err = xp(capsys, "rewrite", "--rule", str(rule), str(tree))
    assert code == 1 and out == ""
    assert "'struct p2m_domain' has 2 definitions with a field 'lock'" in err
    assert ("one per architecture, so narrow the rule's paths to one, e.g. "
            f"paths = [{example}]") in err
