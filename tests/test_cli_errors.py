"""Bad input and a bad environment: one line naming the file, exit 2, never a
traceback -- for every case issue 11 lists, through the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from xensource import ROOT

from xenpatch.cli import main

FIXTURE = ROOT / "fixtures" / "xen"
RULES = ROOT / "rules"
GT = RULES / "grant_table.toml"
ENV = {"GIT_AUTHOR_NAME": "Ann Dev", "GIT_AUTHOR_EMAIL": "ann@example.org",
       "GIT_COMMITTER_NAME": "Ann Dev", "GIT_COMMITTER_EMAIL": "ann@example.org"}


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "tree"))


def one_line(capsys: pytest.CaptureFixture[str], argv: list[str], names: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err and names in lines[0], err
    return lines[0]


def _rule_with(tmp_path: Path, old: str, new: str, name: str = "rule.toml") -> Path:
    text = GT.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


def test_bad_macros_toml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "macros.toml").write_text("[[[\n")
    line = one_line(capsys, ["lint", "--jobs", "2", "--rules", str(rules),
                             str(FIXTURE / "xen" / "common")], "macros.toml")
    assert str(rules) in line


def test_rules_folder_with_several_bad_files(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.toml").write_text("x =\n")
    (bad / "b.toml").write_text("y = [\n")
    one_line(capsys, ["lint", "--jobs", "2", "--rules", str(bad),
                      str(FIXTURE / "xen" / "common")], str(bad))


def test_missing_c_template(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                            tree: Path) -> None:
    rule = _rule_with(tmp_path, 'template = "wrappers/percpu.c.j2"',
                      'template = "wrappers/missing.c.j2"')
    one_line(capsys, ["rewrite", "--rule", str(rule), str(tree)], "missing.c.j2")


def test_broken_c_template(capsys: pytest.CaptureFixture[str], tmp_path: Path, tree: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.rewrite import render

    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "wrappers" / "percpu.c.j2").write_text("{% if %}\n")
    monkeypatch.setattr(render, "templates_dir", lambda: templates)
    line = one_line(capsys, ["rewrite", "--rule", str(GT), str(tree)], "percpu.c.j2")
    assert ":1:" in line  # the line of the template


@pytest.mark.parametrize("value", ["/etc", "~/x"])
def test_absolute_paths_entry(capsys: pytest.CaptureFixture[str], tmp_path: Path, tree: Path,
                              value: str) -> None:
    rule = _rule_with(tmp_path, 'paths = ["xen"]', f'paths = ["{value}"]')
    line = one_line(capsys, ["rewrite", "--rule", str(rule), str(tree)], str(rule))
    assert ":14: paths:" in line and "absolute" in line


@pytest.mark.parametrize("value", ["../outside", "escape"])
def test_paths_leading_out_of_the_tree_are_refused(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path, tree: Path,
                                                    value: str) -> None:
    """``..`` and a symlink out of the tree: in-place would write there."""
    outside = tmp_path / "outside"
    shutil.copytree(FIXTURE / "xen", outside)
    (tree / "escape").symlink_to(outside)
    before = {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    rule = _rule_with(tmp_path, 'paths = ["xen"]', f'paths = ["{value}"]')
    line = one_line(capsys, ["rewrite", "--in-place", "--force", "--rule", str(rule),
                             str(tree)], str(rule))
    assert "outside the tree" in line
    assert {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("cmd", ["rewrite", "lint"])
def test_negative_jobs(capsys: pytest.CaptureFixture[str], tree: Path, cmd: str) -> None:
    argv = ["rewrite", "--rule", str(GT), "--jobs", "-1", str(tree)] if cmd == "rewrite" \
        else ["lint", "--jobs", "-1", str(tree)]
    one_line(capsys, argv, "jobs")


def test_lint_output_folder_or_input_refused(capsys: pytest.CaptureFixture[str],
                                             tree: Path) -> None:
    victim = tree / "xen" / "common" / "grant_table.c"
    before = victim.read_bytes()
    one_line(capsys, ["lint", "-o", str(tree), str(victim)], str(tree))
    one_line(capsys, ["lint", "-o", str(victim), str(victim)], str(victim))
    # the same file by another name
    one_line(capsys, ["lint", "-o", str(victim.parent / ".." / "common" / victim.name),
                      str(tree / "xen")], victim.name)
    assert victim.read_bytes() == before
    # a source file that is not an input: '-o' before the file meant to be linted
    other = tree / "xen" / "common" / "event_channel.c"
    kept = other.read_bytes()
    one_line(capsys, ["lint", "-o", str(other), str(victim)], str(other))
    assert other.read_bytes() == kept


def test_lint_output_is_written_whole(capsys: pytest.CaptureFixture[str], tree: Path,
                                      tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code = main(["lint", "--format", "json", "-o", str(out), str(tree / "xen" / "common")])
    assert code in (0, 1)
    assert out.read_text().startswith("{") and sorted(p.name for p in tmp_path.iterdir()
                                                      ) == ["report.json", "tree"]


def test_stdout_on_a_full_device(tree: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "xenpatch.cli", "rewrite", "--rule",
                               str(GT), str(tree)], stdout=full, stderr=subprocess.PIPE,
                              text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == ["xenpatch: stdout: No space left on device"]


def test_pygit2_error(capsys: pytest.CaptureFixture[str], tree: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    subprocess.run(["git", "add", "-A"], cwd=tree, check=True)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=tree, check=True,
                   env={**os.environ, **ENV})
    (tree / ".git" / "index").write_bytes(b"not an index")
    one_line(capsys, ["rewrite", "--commit", "--rule", str(GT), str(tree)], "index")


def test_every_error_class_derives_from_the_base() -> None:
    """A new error class of xenpatch must be one the central handler knows."""
    import importlib
    import pkgutil

    import xenpatch
    from xenpatch.errors import XenpatchError

    internal = {"TooManyStates", "Crash", "_Yield", "_Blocked"}  # control flow, never shown
    found = []
    for mod in pkgutil.walk_packages(xenpatch.__path__, "xenpatch."):
        module = importlib.import_module(mod.name)
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, Exception)
                    and obj.__module__ == module.__name__ and name not in internal):
                found.append(obj)
                assert issubclass(obj, XenpatchError), f"{mod.name}.{name}"
    assert len(found) >= 10


@pytest.mark.parametrize("cmd", ["rewrite", "difftest"])
def test_a_refused_plan_exits_1_for_rewrite_and_difftest(
        capsys: pytest.CaptureFixture[str], tree: Path, cmd: str) -> None:
    """A lock call the conversion cannot express: the plan is refused, and
    both commands say so with the same status."""
    (tree / "xen" / "common" / "odd.c").write_text(
        "#include <xen/sched.h>\n#include <xen/grant_table.h>\n\n"
        "void f(struct domain *d)\n{\n    write_trylock(&d->grant_table->lock);\n}\n")
    code = main([cmd, "--rule", str(GT), str(tree)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "no equivalent of write_trylock()" in err and "cannot be converted" in err


@pytest.mark.parametrize("cmd,status", [("rewrite", 1), ("difftest", 1), ("cost", 2)])
def test_a_refused_plan_lists_its_sites_above_one_line(
        capsys: pytest.CaptureFixture[str], tree: Path, cmd: str, status: int) -> None:
    """Each command that plans the conversion lists the sites it cannot
    convert, then one line naming the rule file; an option the line
    suggests is one the command has."""
    (tree / "xen" / "common" / "odd.c").write_text(
        "#include <xen/sched.h>\n#include <xen/grant_table.h>\n\n"
        "void f(struct domain *d)\n{\n    write_trylock(&d->grant_table->lock);\n}\n")
    model = ["--lock-model", "q417"] if cmd == "cost" else []
    code = main([cmd, "--rule", str(GT), *model, str(tree)])
    lines = capsys.readouterr().err.splitlines()
    assert code == status, lines
    assert lines[-1].startswith(f"xenpatch: {GT}: refused: 1 site ")
    assert lines[-1].count("xenpatch:") == 1
    assert any(line.startswith("xen/common/odd.c:6: error: ") for line in lines[:-1])
    if cmd == "rewrite":
        assert "--allow-partial converts the others" in lines[-1]
    else:
        assert "--allow-partial" not in lines[-1].replace("rewrite --allow-partial", "")


_LEAK = "int f(void)\n{\n    spin_lock(&l);\n    return 0;\n}\n"


def _closed(fd: int, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI run with standard stream ``fd`` closed (``>&-``)."""
    keep = 2 if fd == 1 else 1
    return subprocess.run(
        [sys.executable, "-c", "import sys; from xenpatch.cli import main; sys.exit(main())",
         *argv], cwd=cwd, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: os.close(fd), pass_fds=(keep,))


def test_a_closed_stdout_is_a_write_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text(_LEAK)
    done = _closed(1, ["lint", "a.c"], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == ["xenpatch: stdout: Bad file descriptor"]
    # Nothing to write there: nothing wrong.
    (tmp_path / "b.c").write_text("int g(void)\n{\n    return 0;\n}\n")
    assert _closed(1, ["lint", "b.c"], tmp_path).returncode == 0
    # The report written elsewhere: the findings' exit code.
    done = _closed(1, ["lint", "-o", "r.json", "--format", "json", "a.c"], tmp_path)
    assert done.returncode == 1, done.stderr
    assert '"XL001"' in (tmp_path / "r.json").read_text()


def test_a_closed_stderr_leaves_the_report_and_its_exit_code(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text(_LEAK)
    done = _closed(2, ["lint", "a.c"], tmp_path)
    assert done.returncode == 1
    assert "warning:" in done.stdout and "[XL001]" in done.stdout
