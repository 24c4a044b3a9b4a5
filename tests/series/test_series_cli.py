"""`xenpatch series` end to end: git am of the output, bad input, versions,
range-diff, --check with lint and build."""

from __future__ import annotations

from pathlib import Path

import pytest
from _seriesutil import commit, run_git, series

from xenpatch.series import versions

MAINTAINERS = """\
Descriptive text at the top is not a section.

GRANT TABLES
M:\tGrant Keeper <gk@example.org>
R:\tRita Reviewer <rita@example.org>
S:\tSupported
F:\txen/common/grant_table.c
F:\txen/include/xen/grant_table.h

THE REST
M:\tBoss One <boss@example.org>
L:\txen-devel@lists.example.org
S:\tSupported
F:\t*
F:\t*/
V:\txen-maintainers-1
"""


@pytest.fixture
def three(make_repo) -> tuple[Path, str]:
    """A base and three commits touching different owners."""
    repo = make_repo()
    base = commit(repo, {"MAINTAINERS": MAINTAINERS, "xen/common/grant_table.c": "int gt;\n",
                         "xen/include/xen/grant_table.h": "#define G\n",
                         "tools/misc.c": "int m;\n"}, "base")
    commit(repo, {"xen/common/grant_table.c": "int gt;\nint lock;\n"},
           "grant_table: convert grant table rwlock to percpu rwlock")
    commit(repo, {"xen/include/xen/grant_table.h": "#define G 1\n"}, "grant_table: header")
    commit(repo, {"tools/misc.c": "int m2;\n"}, "tools: misc")
    return repo, base


def _am_in_fresh_repo(repo: Path, base: str, files: list[Path], tmp: Path) -> str:
    fresh = tmp / "fresh"
    run_git(tmp, "clone", "-q", "--no-checkout", str(repo), str(fresh))
    run_git(fresh, "checkout", "-q", "--detach", base)
    run_git(fresh, "config", "user.name", "Maint Ainer")
    run_git(fresh, "config", "user.email", "m@example.org")
    run_git(fresh, "am", "-q", *[str(f) for f in files])
    return run_git(fresh, "rev-parse", "HEAD^{tree}").decode().strip()


def test_series_files_thread_and_apply_with_git_am(three, tmp_path):
    repo, base = three
    out = tmp_path / "out"
    code, stdout, stderr = series(repo, f"{base}..HEAD", "-v", "3", "-o", str(out))
    assert code == 0, stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["v3-0000-cover-letter.patch",
                     "v3-0001-grant_table-convert-grant-table-rwlock-to-percpu-.patch",
                     "v3-0002-grant_table-header.patch", "v3-0003-tools-misc.patch"]
    cover = (out / names[0]).read_text()
    assert "Subject: [PATCH v3 0/3] *** SUBJECT HERE ***" in cover
    cover_id = cover.split("Message-ID: <", 1)[1].split(">", 1)[0]
    for name in names[1:]:
        text = (out / name).read_text()
        assert text.startswith("From ") and " Mon Sep 17 00:00:00 2001\n" in text
        assert f"In-Reply-To: <{cover_id}>\nReferences: <{cover_id}>\n" in text
    first = (out / names[1]).read_text()
    assert "Subject: [PATCH v3 1/3] grant_table: convert grant table rwlock to percpu\n rwlock" \
        in first
    # recipients from MAINTAINERS, as get_maintainer.pl would pick them
    assert "To: Grant Keeper <gk@example.org>\n" in first
    assert "Cc: Rita Reviewer <rita@example.org>,\n    xen-devel@lists.example.org\n" in first
    assert "boss@example.org" not in first  # THE REST steps back for owned files
    misc = (out / names[3]).read_text()
    assert "To: Boss One <boss@example.org>\n" in misc
    assert "boss@example.org" in cover and "gk@example.org" in cover  # the union
    tree = _am_in_fresh_repo(repo, base, [out / n for n in names[1:]], tmp_path)
    assert tree == run_git(repo, "rev-parse", "HEAD^{tree}").decode().strip()


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("xenpatch: ")
             and "warning" not in line]
    assert len(lines) == 1, stderr
    return lines[0]


def test_bad_input_is_one_line_and_changes_nothing(three, tmp_path, make_repo):
    repo, base = three
    out = tmp_path / "out"
    cases = [
        (["HEAD..HEAD"], "empty range"),
        ([f"{base}..HEAD", "--version", "0"], "--version: 0"),
        (["nonexistent..HEAD"], "unknown revision"),
    ]
    for args, expect in cases:
        code, _, stderr = series(repo, *args, "-o", str(out))
        assert code == 2
        assert expect in _one_line_error(stderr)
        assert not out.exists()
    # a merge in the range
    run_git(repo, "checkout", "-q", "-b", "side", base)
    commit(repo, {"side.c": "s\n"}, "side")
    run_git(repo, "checkout", "-q", "main")
    run_git(repo, "merge", "-q", "--no-edit", "side")
    code, _, stderr = series(repo, f"{base}..HEAD", "-o", str(out))
    assert code == 2 and "merge commit" in _one_line_error(stderr)
    assert not out.exists()


def test_non_utf8_message_refused(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"a": "1\n"}, "base")
    (repo / "a").write_text("2\n")
    run_git(repo, "add", "a")
    run_git(repo, "-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "-F", "-",
            stdin="caf\u00e9 latin-1\n".encode("latin-1"))
    code, _, stderr = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"))
    assert code == 2 and "not UTF-8" in _one_line_error(stderr)
    assert not (tmp_path / "o").exists()


def test_missing_signoff_is_a_warning(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"a": "1\n"}, "base")
    commit(repo, {"a": "2\n"}, "no trailer", signoff=False)
    code, _, stderr = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"))
    assert code == 0
    assert "xenpatch: warning: commit" in stderr and "Signed-off-by" in stderr
    assert (tmp_path / "o" / "v1-0001-no-trailer.patch").exists()


def test_output_folder_of_another_series_is_refused(three, tmp_path):
    repo, base = three
    out = tmp_path / "out"
    out.mkdir()
    (out / "v1-0001-something-else.patch").write_text("From x\n")
    code, _, stderr = series(repo, f"{base}..HEAD", "-o", str(out))
    assert code == 2 and "another series" in _one_line_error(stderr)
    assert sorted(p.name for p in out.iterdir()) == ["v1-0001-something-else.patch"]
    # our own earlier output is fine to rewrite
    mine = tmp_path / "mine"
    assert series(repo, f"{base}..HEAD", "-o", str(mine))[0] == 0
    assert series(repo, f"{base}..HEAD", "-o", str(mine))[0] == 0
    assert series(repo, f"{base}..HEAD", "-o", str(mine), "-v", "2")[0] == 0
    assert len(list(mine.iterdir())) == 8


def test_versions_changelogs_and_threading(three, tmp_path):
    repo, base = three
    out = tmp_path / "out"
    assert series(repo, f"{base}..HEAD", "-o", str(out), "--name", "gt")[0] == 0
    v1_cover = (out / "v1-0000-cover-letter.patch").read_text()
    v1_id = v1_cover.split("Message-ID: <", 1)[1].split(">", 1)[0]
    assert "Changes since" not in v1_cover

    # v2 lays out a section for the author and threads under the v1 cover
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out), "--name", "gt", "-v", "2",
                          "--in-reply-to", "previous")
    assert code == 0, err
    p1 = out / "v2-0001-grant_table-convert-grant-table-rwlock-to-percpu-.patch"
    text = p1.read_text()
    assert f"References: <{v1_id}>\n\t<" in text
    assert f"---\nChanges since v1:\n - {versions.PLACEHOLDER}\n\n xen/common/grant_table.c |" \
        in text
    # the author fills it in, in the mail itself
    p1.write_text(text.replace(f" - {versions.PLACEHOLDER}", " - Use the wrappers"))
    cover = out / "v2-0000-cover-letter.patch"
    cover.write_text(cover.read_text().replace("*** SUBJECT HERE ***", "Percpu grant lock")
                     .replace("*** BLURB HERE ***", "This converts the grant table lock."))

    # v3 carries v2's note and asks for the new one; the cover text is kept
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out), "--name", "gt", "-v", "3")
    assert code == 0, err
    text = (out / p1.name.replace("v2-", "v3-")).read_text()
    assert (f"---\nChanges since v2:\n - {versions.PLACEHOLDER}\nChanges since v1:\n"
            " - Use the wrappers\n\n xen/common") in text
    v3_cover = (out / "v3-0000-cover-letter.patch").read_text()
    assert "Subject: [PATCH v3 0/3] Percpu grant lock" in v3_cover
    assert "This converts the grant table lock." in v3_cover
    # git am ignores everything between --- and the diff
    tree = _am_in_fresh_repo(repo, base, sorted(out.glob("v3-000[1-9]-*.patch")), tmp_path)
    assert tree == run_git(repo, "rev-parse", "HEAD^{tree}").decode().strip()


def _header_lines(text: str) -> list[str]:
    """The pair lines of a range-diff (not the indented inner diff, not the
    paths `xenpatch series` prints after it)."""
    return [line for line in text.splitlines() if line and not line.startswith((" ", "/"))]


def test_range_diff_headers_match_git_range_diff(three, tmp_path):
    repo, base = three
    out = tmp_path / "out"
    assert series(repo, f"{base}..HEAD", "-o", str(out), "--name", "rd")[0] == 0
    v1 = run_git(repo, "rev-parse", "HEAD").decode().strip()
    # v2: keep patch 1, change patch 2, drop patch 3, add a new one
    run_git(repo, "reset", "-q", "--hard", "HEAD~2")
    commit(repo, {"xen/include/xen/grant_table.h": "#define G 2\n"}, "grant_table: header")
    commit(repo, {"xen/common/new.c": "n\n"}, "common: new file")
    code, stdout, err = series(repo, f"{base}..HEAD", "-o", str(out), "--name", "rd", "-v", "2",
                               "--range-diff")
    assert code == 0, err
    want = run_git(repo, "range-diff", "--no-color", f"{base}..{v1}", f"{base}..HEAD").decode()
    assert _header_lines(stdout) == _header_lines(want)
    assert [line.split()[2] for line in _header_lines(stdout)] == ["=", "<", "<", ">", ">"]
    assert "Range-diff against v1:" in (out / "v2-0000-cover-letter.patch").read_text()


def test_check_applies_lints_and_builds(three, tmp_path, monkeypatch):
    repo, base = three
    cover = tmp_path / "cover.txt"
    cover.write_text("grant table: percpu lock\n\nThree steps.\n")
    out = tmp_path / "out"
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out), "--check", "--cover", str(cover),
                          "--build-cmd", "test -f xen/common/grant_table.c")
    assert code == 0, err
    assert err.count("lint: no finding") == 3
    assert err.count("git am ok") == 3 and err.count("build ok") == 3
    assert "tree equals HEAD" in err
    # a build that fails on patch 2 stops the check and writes nothing
    out2 = tmp_path / "out2"
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out2), "--check", "--cover", str(cover),
                          "--build-cmd", "grep -q 'G 1' xen/include/xen/grant_table.h && false "
                          "|| true; test ! -f tools/misc2.c && "
                          "! grep -q 'G 1' xen/include/xen/grant_table.h")
    assert code == 1
    assert "patch 2/3 (grant_table: header): build failed" in err
    assert not out2.exists()
    # without a cover text (none given, none remembered for this series name)
    # the cover letter keeps git's placeholders: the check says where
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out2), "--check", "--name", "new")
    assert code == 1
    assert "v1-0000-cover-letter.patch:5: unfilled placeholder '*** SUBJECT HERE ***'" in err
    assert "unfilled placeholder '*** BLURB HERE ***'" in err
    assert not out2.exists()


def test_templates_override(three, tmp_path):
    repo, base = three
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "cover-letter.j2").write_text("From {{ sha }} Mon Sep 17 00:00:00 2001\n"
                                         "{{ subject_header }}\n\nCustom {{ undefined_key }}\n")
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"), "--templates",
                          str(tpl))
    assert code == 2 and "undefined_key" in _one_line_error(err)
    (tpl / "cover-letter.j2").write_text("From {{ sha }} Mon Sep 17 00:00:00 2001\n"
                                         "{{ subject_header }}\n\nCustom cover.\n")
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"), "--templates",
                          str(tpl))
    assert code == 0, err
    assert (tmp_path / "o/v1-0000-cover-letter.patch").read_text().endswith("\nCustom cover.\n")


def test_registered_in_the_top_level_cli(three, tmp_path):
    from xenpatch import cli

    repo, base = three
    out = tmp_path / "o"
    assert cli.main(["series", "-C", str(repo), f"{base}..HEAD", "-o", str(out)]) == 0
    assert len(list(out.iterdir())) == 4


def test_rfc_prefix_and_forked_base(three, tmp_path):
    repo, base = three
    out = tmp_path / "o"
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out), "--rfc",
                          "--subject-prefix", "PATCH", "-v", "2")
    assert code == 0, err
    assert "Subject: [RFC PATCH v2 0/3]" in (out / "v2-0000-cover-letter.patch").read_text()
    # BASE ahead of the fork point: mailed against the real parent, with a warning
    run_git(repo, "checkout", "-q", "-b", "upstream", base)
    commit(repo, {"other.c": "o\n"}, "upstream moved on")
    code, _, err = series(repo, "upstream..main", "-o", str(tmp_path / "p"))
    assert code == 0 and f"based on {base[:12]}" in err


def test_crlf_file_survives_git_am(make_repo, tmp_path):
    """A raw CR would be stripped by git am's mailsplit; the mail carries the
    body quoted-printable instead, and the diff inside is still git's."""
    import quopri

    from _seriesutil import format_patch, stat_and_diff

    repo = make_repo()
    base = commit(repo, {"dos.c": b"int a;\r\nint b;\r\n"}, "base")
    sha = commit(repo, {"dos.c": b"int a;\r\nint c;\r\n"}, "dos: change a CRLF file")
    out = tmp_path / "o"
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out))
    assert code == 0, err
    patch = out / "v1-0001-dos-change-a-CRLF-file.patch"
    text = patch.read_bytes()
    assert b"\r" not in text and b"Content-Transfer-Encoding: quoted-printable\n" in text
    head, _, body = text.partition(b"\n\n")
    decoded = head + b"\n\n" + quopri.decodestring(body)
    assert stat_and_diff(decoded) == stat_and_diff(format_patch(repo, sha))
    tree = _am_in_fresh_repo(repo, base, [patch], tmp_path)
    assert tree == run_git(repo, "rev-parse", "HEAD^{tree}").decode().strip()


def test_range_diff_pairs_a_changed_patch_like_git(make_repo, tmp_path):
    repo = make_repo()
    body = "".join(f"int v{i};\n" for i in range(40))
    base = commit(repo, {"a.c": "start\n"}, "base")
    commit(repo, {"a.c": "start\n" + body}, "a: add many variables")
    commit(repo, {"b.c": "b\n"}, "b: add b")
    out = tmp_path / "o"
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out), "--name", "x",
                          "--in-reply-to", "<earlier@example.org>")
    assert code == 0, err
    cover = (out / "v1-0000-cover-letter.patch").read_text()
    assert "In-Reply-To: <earlier@example.org>\nReferences: <earlier@example.org>\n" in cover
    v1 = run_git(repo, "rev-parse", "HEAD").decode().strip()
    run_git(repo, "reset", "-q", "--hard", base)
    commit(repo, {"a.c": "start\n" + body.replace("v17;", "w17;")}, "a: add many variables")
    commit(repo, {"b.c": "b\n"}, "b: add b")
    code, stdout, err = series(repo, f"{base}..HEAD", "-o", str(out), "--name", "x", "-v", "2",
                               "--range-diff")
    assert code == 0, err
    want = run_git(repo, "range-diff", "--no-color", f"{base}..{v1}", f"{base}..HEAD").decode()
    assert _header_lines(stdout) == _header_lines(want)
    assert [line.split()[2] for line in _header_lines(stdout)] == ["!", "="]
    assert "-+int v17;" in stdout and "++int w17;" in stdout


def test_extra_recipients_without_maintainers(three, tmp_path):
    repo, base = three
    out = tmp_path / "o"
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers",
                          "--to", "xen-devel@lists.example.org", "--cc", "J\u00fcrgen <j@x.org>",
                          "--cc", "other@x.org")
    assert code == 0, err
    text = (out / "v1-0002-grant_table-header.patch").read_text()
    assert ("To: xen-devel@lists.example.org\n"
            "Cc: =?UTF-8?q?J=C3=BCrgen?= <j@x.org>,\n    other@x.org\n\n") in text
    assert "gk@example.org" not in text
