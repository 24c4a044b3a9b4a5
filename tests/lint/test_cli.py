"""The lint subcommand: exit codes, formats, trees and file lists, --jobs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lint.snippets import LEAK
from xenpatch.lint import api
from xenpatch.lint.cli import main
from xenpatch.paths import fixtures_dir, project_root

LINT = fixtures_dir() / "lint"
CLEAN = """static DEFINE_SPINLOCK(l);
void ok(void)
{
    spin_lock(&l);
    spin_unlock(&l);
}
"""


def test_clean_exits_0(tmp_path: Path, capsys) -> None:
    (tmp_path / "ok.c").write_text(CLEAN)
    assert main([str(tmp_path / "ok.c")]) == 0
    assert capsys.readouterr().out == ""


def test_findings_exit_1(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.c").write_text(LEAK)
    assert main([str(tmp_path / "bad.c")]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("bad.c:6:9: warning: 'l' taken at line 4 is still "
                                        "held at this return [XL001]")


def test_missing_file_exits_2(tmp_path: Path) -> None:
    assert main([str(tmp_path / "nope.c")]) == 2


def test_no_paths_exits_2() -> None:
    assert main([]) == 2


def test_bad_jobs_exits_2() -> None:
    assert main(["--jobs", "0", str(LINT)]) == 2


def _without_dac_override() -> None:
    """In the child, before exec: drop the capabilities that let root read
    any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from the bounding set,
    so that even as root a mode-0 file is unreadable."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_unreadable_exits_2(tmp_path: Path) -> None:
    """A file the process may not read: one line naming it, exit 2.  CI runs
    as root, which reads anything; the check runs in a child without the
    capabilities that allow that, whoever runs the tests."""
    import os

    p = tmp_path / "locked.c"
    p.write_text(CLEAN)
    p.chmod(0)
    try:
        proc = subprocess.run([sys.executable, "-m", "xenpatch.cli", "lint", str(p)],
                              capture_output=True, text=True,
                              preexec_fn=_without_dac_override if os.getuid() == 0 else None)
    finally:
        p.chmod(0o644)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "locked.c" in lines[0] and "Permission denied" in lines[0], lines


def test_tree_and_stable_order_across_jobs(tmp_path: Path, capsys) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(LINT, tree / "sub")
    (tree / "leak.c").write_text(LEAK)
    assert main(["--jobs", "1", "--format", "json", str(tree)]) == 1
    one = json.loads(capsys.readouterr().out)
    assert main(["--jobs", "3", "--format", "json", str(tree)]) == 1
    three = json.loads(capsys.readouterr().out)
    assert one == three
    keys = [(f["path"], f["line"], f["col"], f["id"]) for f in one["findings"]]
    assert keys == sorted(keys)
    assert {Path(f["path"]).name for f in one["findings"]} >= {"leak.c", "basic.c"}


def test_sarif_output_file(tmp_path: Path) -> None:
    out = tmp_path / "r.sarif"
    assert main(["--format", "sarif", "-o", str(out), str(LINT / "percpu.c")]) == 1
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_list_checks(capsys) -> None:
    assert main(["--list-checks"]) == 0
    assert "XL001" in capsys.readouterr().out


def test_api_lint_paths(tmp_path: Path, capsys) -> None:
    (tmp_path / "ok.c").write_text(CLEAN)
    assert api.lint_paths([tmp_path / "ok.c"]) == 0
    (tmp_path / "bad.c").write_text(LEAK)
    assert api.lint_paths([tmp_path]) == 1
    assert "[XL001]" in capsys.readouterr().out
    assert api.lint_paths([tmp_path / "missing.c"]) == 2
    # A function it could not analyse: the CLI's exit 3, not a clean 0.
    (tmp_path / "odd.c").write_text(CLEAN.replace("{", "{ int q = 1 @ 2;", 1))
    assert api.lint_paths([tmp_path / "odd.c"]) == 3
    assert main([str(tmp_path / "odd.c")]) == 3


def test_not_utf8_is_linted(tmp_path: Path) -> None:
    p = tmp_path / "latin1.c"
    p.write_bytes(b"/* caf\xe9 */\n" + LEAK.encode())
    assert main([str(p)]) == 1


def test_module_entry_point(tmp_path: Path) -> None:
    (tmp_path / "bad.c").write_text(LEAK)
    r = subprocess.run([sys.executable, "-m", "xenpatch.lint.cli", str(tmp_path / "bad.c")],
                       capture_output=True, text=True, cwd=project_root())
    assert r.returncode == 1 and "[XL001]" in r.stdout


def test_unparsed_function_is_reported(tmp_path: Path, capsys) -> None:
    p = tmp_path / "broken.c"
    p.write_text(LEAK + "void g(void)\n{\n    spin_lock(&l);\n    h(;\n    spin_unlock(&l);\n}\n")
    assert main(["--format", "json", str(p)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(n["function"], n["reason"].split(" at ")[0]) for n in doc["not_analysed"]] == [
        ("g", "unparsed code")
    ]
    assert main([str(p)]) == 1
    assert "1 function(s) not analysed" in capsys.readouterr().err


def test_a_gap_in_coverage_is_not_a_clean_run(tmp_path: Path, capsys) -> None:
    """No vacuous success: without findings, a function that could not be
    analysed makes the run incomplete (exit 3), unless --partial accepts
    that; the lock API's own definitions are out of scope, not a gap."""
    p = tmp_path / "broken.c"
    p.write_text("static DEFINE_SPINLOCK(l);\nint h(int);\n"
                 "void g(void)\n{\n    spin_lock(&l);\n    h(;\n    spin_unlock(&l);\n}\n")
    assert main([str(p)]) == 3
    err = capsys.readouterr().err
    assert "incomplete: 1 function(s) could not be analysed" in err
    assert main(["--partial", str(p)]) == 0
    assert "1 function(s) not analysed, 1 of them a gap" in capsys.readouterr().err
    api = tmp_path / "api.c"
    api.write_text("void _spin_lock(spinlock_t *lock)\n{\n    while ( lock->v ) ;\n}\n"
                   "static DEFINE_SPINLOCK(l);\nvoid ok(void)\n{\n    spin_lock(&l);\n"
                   "    spin_unlock(&l);\n}\n")
    assert main([str(api)]) == 0
    assert "1 function(s) not analysed (each implements the lock API)" in \
        capsys.readouterr().err


@pytest.mark.parametrize(
    ("file", "text", "reason"),
    [
        ("lint.toml", '\n[cfg.arch.x86bad]\nCONFIG_X = "yes"\n', "must map symbols to true/false"),
        ("lint.toml", "\n[checks.extra]\n[values", "lint.toml: "),  # not TOML
        ("locks.toml", '\n[wrapper.bad_guard]\nop = "spin_lock"\nargs = ["$0"]\nguard = -1\n',
         "guard must be an argument index"),
    ],
)
def test_bad_rules_are_one_line_exit_2(tmp_path: Path, capsys, file: str, text: str,
                                       reason: str) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(project_root() / "rules", rules)
    with (rules / file).open("a", encoding="utf-8") as f:
        f.write(text)
    assert main(["--rules", str(rules), str(fixtures_dir() / "lint" / "basic.c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(rules / file) in err[0] and reason in err[0]


def test_lint_imports_no_other_capability() -> None:
    """``xenpatch lint`` (the pre-commit hook's run) builds its own
    subcommand only: the other capabilities' CLIs are not imported."""
    import subprocess
    import sys

    code = ("import sys; from xenpatch.cli import main; main(['lint', '--list-checks']); "
            "print(sorted(m for m in sys.modules if m.startswith(('xenpatch.rewrite', "
            "'xenpatch.series', 'xenpatch.runtime', 'xenpatch.cost'))), file=sys.stderr)")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert got.stderr.strip().splitlines()[-1] == "[]"
    assert "XL001" in got.stdout
    # The command line as a whole still lists them all.
    code = "from xenpatch.cli import build_parser; build_parser().print_help()"
    helped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert "lint" in helped and "rewrite" in helped and "series" in helped


def test_process_ends_with_everything_written(tmp_path: Path) -> None:
    """``xenpatch lint`` ends its process without the interpreter's teardown
    (cli._exit_at_once): its output, piped or to --output, and the tree
    cache are whole, and its exit status is the run's."""
    from lint.trees import small_tree

    tree = small_tree(tmp_path / "xen", {"common/bad.c": LEAK})
    env = {**os.environ, "XENPATCH_CACHE": str(tmp_path / "cache")}
    args = [sys.executable, "-m", "xenpatch.cli", "lint"]
    piped = subprocess.run([*args, "common/bad.c"], capture_output=True, text=True,
                           cwd=tree, env=env)
    assert piped.returncode == 1, piped.stderr
    assert "[XL001]" in piped.stdout and piped.stdout.endswith("\n")
    out = tmp_path / "out.json"
    written = subprocess.run([*args, "--format", "json", "--output", str(out), "common/bad.c"],
                             capture_output=True, text=True, cwd=tree, env=env)
    assert written.returncode == 1, written.stderr
    assert [f["id"] for f in json.loads(out.read_text())["findings"]] == ["XL001"]
    [kept] = (tmp_path / "cache" / "lint").glob("*.json")
    assert "common/bad.c" in json.loads(kept.read_text())["exports"]
