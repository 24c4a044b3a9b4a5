"""Reports for editors and code review: the path as gcc's note lines, SARIF
relative to the repository's top with fingerprints that survive edits
elsewhere, GitLab's Code Quality report and the README's CI job."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lint.snippets import LEAK
from xenpatch.lint.cli import main
from xenpatch.paths import fixtures_dir, project_root

SCHEMA = json.loads(Path(__file__).with_name("sarif-schema-2.1.0.json").read_text())
BASIC = fixtures_dir() / "lint" / "basic.c"
_WARNING = re.compile(r"^(.+):(\d+):(\d+): warning: .+ \[XL\d{3}\]$")
_NOTE = re.compile(r"^(.+):(\d+):(\d+): note: .+$")


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _lint(argv: list[str], capsys) -> tuple[int, str]:
    rc = main(argv)
    return rc, capsys.readouterr().out


# --- text ---------------------------------------------------------------


def test_text_prints_each_step_as_a_note(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.c").write_text(LEAK)
    rc, out = _lint([str(tmp_path / "bad.c")], capsys)
    assert rc == 1
    lines = out.splitlines()
    assert lines[0].endswith("bad.c:6:9: warning: 'l' taken at line 4 is still held at this "
                             "return [XL001]")
    notes = lines[1:]
    assert notes and all(_NOTE.match(n) for n in notes), notes
    # The path starts where the lock is taken and ends at the return.
    assert notes[0].endswith("bad.c:4:5: note: 'l' taken here")
    assert re.search(r"bad\.c:5:\d+: note: 'x' is true", "\n".join(notes))
    assert notes[-1].endswith("bad.c:6:9: note: returns here")


def test_quiet_keeps_one_line_per_finding(capsys) -> None:
    rc, full = _lint([str(BASIC)], capsys)
    rc_q, quiet = _lint(["-q", str(BASIC)], capsys)
    assert rc == rc_q == 1
    q = quiet.splitlines()
    assert q and all(_WARNING.match(x) for x in q)
    assert [x for x in full.splitlines() if ": warning: " in x] == q
    assert len(full.splitlines()) > len(q)


# --- SARIF --------------------------------------------------------------


def _sarif(argv: list[str], capsys, cwd: Path | None = None) -> dict:
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        rc = main(["--format", "sarif", *argv])
    finally:
        os.chdir(old)
    assert rc in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_sarif_uris_are_relative_to_the_git_top(tmp_path: Path, capsys) -> None:
    repo = tmp_path / "repo"
    (repo / "xen" / "common").mkdir(parents=True)
    (repo / "xen" / "common" / "bad.c").write_text(LEAK)
    _git(repo, "init", "-q")
    # Run from a subfolder, naming the file relative to it.
    doc = _sarif(["common/bad.c"], capsys, cwd=repo / "xen")
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == repo.resolve().as_uri() + "/"
    [res] = run["results"]
    art = res["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": "xen/common/bad.c", "uriBaseId": "SRCROOT"}
    flow = res["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(flow) >= 2
    assert all(s["location"]["physicalLocation"]["artifactLocation"] == art for s in flow)
    assert all(s["location"]["message"]["text"] for s in flow)


def test_sarif_without_git_is_relative_to_the_folder_given(tmp_path: Path, capsys) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "bad.c").write_text(LEAK)
    if any((p / ".git").exists() for p in [tmp_path, *tmp_path.parents]):
        pytest.skip("the temporary folder is inside a git work tree")
    doc = _sarif([str(tmp_path / "tree")], capsys)
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == (tmp_path / "tree").resolve().as_uri() \
        + "/"
    [res] = run["results"]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sub/bad.c"


def _fingerprints(doc: dict) -> dict[str, tuple[str, int]]:
    out = {}
    for r in doc["runs"][0]["results"]:
        [(_, fp)] = r["partialFingerprints"].items()
        assert fp not in out, "two findings share a fingerprint"
        out[fp] = (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
    return out


def test_fingerprints_stay_when_lines_are_inserted_at_the_top(tmp_path: Path, capsys) -> None:
    f = tmp_path / "basic.c"
    f.write_text(BASIC.read_text())
    before = _fingerprints(_sarif([str(f)], capsys))
    assert len(before) >= 5
    f.write_text("/* one */\n/* two */\n\n#include <xen/lib.h>\n" + BASIC.read_text())
    after = _fingerprints(_sarif([str(f)], capsys))
    assert set(after) == set(before)
    assert all(after[fp] == (rule, line + 4) for fp, (rule, line) in before.items())


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=6))
def test_fingerprints_stay_when_comment_lines_go_anywhere(tmp_path_factory, capsys,
                                                          where: list[int]) -> None:
    """A comment line inserted between any two lines (not in a macro's
    continuation) changes lines, not fingerprints."""
    text = BASIC.read_text().splitlines(keepends=True)
    d = tmp_path_factory.mktemp("fp")
    f = d / "basic.c"
    f.write_text("".join(text))
    before = _fingerprints(_sarif([str(f)], capsys))
    slots = [i for i in range(len(text) + 1) if i == 0 or not text[i - 1].rstrip().endswith("\\")]
    for w in sorted((slots[w % len(slots)] for w in where), reverse=True):
        text.insert(w, "/* inserted */\n")
    f.write_text("".join(text))
    after = _fingerprints(_sarif([str(f)], capsys))
    assert set(after) == set(before)
    assert [r for r, _ in sorted(after.values())] == [r for r, _ in sorted(before.values())]


# --- GitLab Code Quality --------------------------------------------------

_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def _check_codequality(doc: object, files: set[str]) -> None:
    """The fields GitLab documents for a Code Quality report."""
    assert isinstance(doc, list) and doc
    prints = set()
    for issue in doc:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in _SEVERITIES
        path = issue["location"]["path"]
        assert path in files, path  # relative to the repository's top
        begin = issue["location"]["lines"]["begin"]
        assert isinstance(begin, int) and begin >= 1
        prints.add(issue["fingerprint"])
    assert len(prints) == len(doc)


def test_codequality_fields(tmp_path: Path, capsys) -> None:
    repo = tmp_path / "repo"
    (repo / "xen").mkdir(parents=True)
    shutil.copy(BASIC, repo / "xen" / "basic.c")
    _git(repo, "init", "-q")
    rc, out = _lint(["--format", "codequality", str(repo / "xen")], capsys)
    assert rc == 1
    doc = json.loads(out)
    _check_codequality(doc, {"xen/basic.c"})
    rc, text = _lint(["-q", str(repo / "xen")], capsys)
    lines = sorted(int(m.group(2)) for x in text.splitlines() if (m := _WARNING.match(x)))
    assert sorted(i["location"]["lines"]["begin"] for i in doc) == lines


def _readme_job() -> dict:
    readme = (project_root() / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    jobs = [j for b in blocks for j in yaml.safe_load(b).values()
            if isinstance(j, dict) and "codequality" in j.get("artifacts", {}).get("reports", {})]
    assert len(jobs) == 1, "the README has one GitLab job with a Code Quality report"
    return jobs[0]


@pytest.mark.slow
def test_readme_gitlab_job_runs(tmp_path: Path) -> None:
    """The README's .gitlab-ci.yml job, its xenpatch line run as GitLab would
    (in the repository's top) on the fixture tree with a lock leak added."""
    job = _readme_job()
    [cmd] = [line for line in job["script"] if line.split()[0] == "xenpatch"]
    repo = tmp_path / "repo"
    shutil.copytree(fixtures_dir() / "xen", repo)
    (repo / "xen" / "common" / "leak.c").write_text(LEAK)
    _git(repo, "init", "-q")
    exe = Path(sys.executable).with_name("xenpatch")
    argv = shlex.split(cmd)
    r = subprocess.run([str(exe), *argv[1:]], cwd=repo, capture_output=True, text=True)
    allowed = job.get("allow_failure", {}).get("exit_codes", [])
    assert r.returncode in [0, *allowed] and r.returncode == 1, r.stderr
    report = repo / job["artifacts"]["reports"]["codequality"]
    doc = json.loads(report.read_text())
    # The fixture tree's own finding (grant_table.c's transitive domain
    # kept for the copy, the rcu kind's intentional hand-off) comes too.
    _check_codequality(doc, {"xen/common/leak.c", "xen/common/grant_table.c"})
    assert [i["location"]["lines"]["begin"] for i in doc
            if i["location"]["path"] == "xen/common/leak.c"] == [6]


# --- progress -------------------------------------------------------------


def _run_with_stderr(argv: list[str], tty: bool) -> tuple[int, str]:
    """``xenpatch lint`` with stderr on a pseudo-terminal or a pipe."""
    import pty

    exe = Path(sys.executable).with_name("xenpatch")
    if not tty:
        r = subprocess.run([str(exe), "lint", *argv], capture_output=True, text=True)
        return r.returncode, r.stderr
    master, slave = pty.openpty()
    p = subprocess.Popen([str(exe), "lint", *argv], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(), b"".join(chunks).decode()


def test_progress_on_a_terminal_only(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(3):
        (tree / f"f{i}.c").write_text(LEAK)
    rc, err = _run_with_stderr(["-j", "1", str(tree)], tty=True)
    assert rc == 1
    assert "\rxenpatch lint: 3/3 files" in err, repr(err)
    assert "1/3 files" in err
    # The progress line is cleared at the end.
    assert err.rstrip("\r\n").endswith("\r\x1b[K"), repr(err)
    rc, err = _run_with_stderr(["-j", "1", str(tree)], tty=False)
    assert rc == 1
    assert err == ""
