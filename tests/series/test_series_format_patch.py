"""The diff, diffstat and whole mails are compared with the real `git format-patch`."""

from __future__ import annotations

from pathlib import Path

import pytest
from _seriesutil import commit, format_patch, run_git, series_inproc, stat_and_diff

from xenpatch import git
from xenpatch.series import diff as gdiff

LINES = "".join(f"line {i} of a file that is long enough to move\n" for i in range(1, 80))


def _ours(repo: Path, sha: str) -> tuple[bytes, bytes]:
    changes = git.commit_changes(repo, sha)
    stat = (gdiff.diffstat(changes) + gdiff.summary(changes)).encode()
    return stat, gdiff.diff(changes, git.abbreviator(repo))


@pytest.fixture
def history(make_repo) -> tuple[Path, dict[str, str]]:
    """One repository whose commits cover every kind of change git can mail."""
    repo = make_repo()
    shas: dict[str, str] = {}
    commit(repo, {"README": "base\n", "xen/common/a.c": LINES, "tools/run.sh": "#!/bin/sh\n",
                  "docs/old.txt": "old\n" * 10, "docs/gone.txt": "bye\n"}, "base")
    shas["modify"] = commit(repo, {"xen/common/a.c": LINES.replace("line 40 ", "LINE 40 ")},
                            "common: modify one line")
    shas["new"] = commit(repo, {"xen/include/new.h": "#define NEW 1\n"}, "add a header")
    shas["empty-new"] = commit(repo, {"xen/include/empty.h": ""}, "add an empty file")
    shas["delete"] = commit(repo, {"docs/gone.txt": None}, "delete a file")
    shas["no-eol"] = commit(repo, {"xen/include/new.h": "#define NEW 2"}, "drop the newline")
    shas["eol-back"] = commit(repo, {"xen/include/new.h": "#define NEW 2\n#define X\n"},
                              "newline back")
    (repo / "docs/renamed").mkdir()
    run_git(repo, "mv", "docs/old.txt", "docs/renamed/new.txt")
    shas["rename"] = commit(repo, {}, "pure rename")
    run_git(repo, "mv", "xen/common/a.c", "xen/common/b.c")
    shas["rename-edit"] = commit(
        repo, {"xen/common/b.c": LINES.replace("line 40 ", "LINE 40 ") + "tail\n"},
        "rename with an edit")
    (repo / "tools/run.sh").chmod(0o755)
    run_git(repo, "add", "tools/run.sh")
    shas["mode"] = commit(repo, {}, "make a script executable")
    shas["mode-edit"] = commit(repo, {"tools/run.sh": "#!/bin/sh\necho hi\n"}, "edit script")
    shas["spaces"] = commit(repo, {"docs/with space.txt": "x\n", "docs/tab\there": "y\n"},
                            "odd names")
    shas["utf8-name"] = commit(repo, {"docs/caf\u00e9.txt": "z\n"}, "non-ASCII name")
    big = "".join(f"{i}\n" for i in range(300))
    shas["scaled"] = commit(
        repo,
        {"xen/arch/x86/a/very/deep/directory/structure/with/a/long/file_name_here.c": big,
         "x.c": "1\n2\n"},
        "wide and long diffstat")
    shas["latin1"] = commit(repo, {"legacy.c": "/* caf\u00e9 */\nint x;\n".encode("latin-1")},
                            "a Latin-1 file")
    shas["latin1-edit"] = commit(
        repo, {"legacy.c": "/* caf\u00e9 au lait */\nint x;\n".encode("latin-1")},
        "edit the Latin-1 file")
    shas["binary"] = commit(repo, {"img.bin": b"\x00\x01\x02" * 50}, "binary file")
    blob = bytes(range(256)) * 40
    shas["binary-edit"] = commit(repo, {"img.bin": blob}, "binary grows")
    shas["binary-delta"] = commit(repo, {"img.bin": blob[:5000] + b"x" + blob[5001:]},
                                  "binary one byte")
    run_git(repo, "mv", "img.bin", "moved.bin")
    shas["binary-rename"] = commit(repo, {}, "binary renamed")
    shas["binary-delete"] = commit(repo, {"moved.bin": None}, "binary gone")
    shas["funcname"] = commit(
        repo,
        {"f.c": "static int a_function_with_a_name_so_long_that_git_cuts_it_at_eighty_bytes"
                "(int x,  \n" + "\n".join(f"    x{i};" for i in range(20)) + "\n}\n"},
        "function context")
    shas["funcname-edit"] = commit(
        repo, {"f.c": (repo / "f.c").read_text().replace("x15;", "y15;")}, "edit in function")
    return repo, shas


KINDS = ["modify", "new", "empty-new", "delete", "no-eol", "eol-back", "rename", "rename-edit",
         "mode", "mode-edit", "spaces", "utf8-name", "scaled", "funcname-edit", "latin1",
         "latin1-edit"]


@pytest.mark.parametrize("kind", KINDS)
def test_diff_and_diffstat_equal_git_format_patch(history, kind):
    repo, shas = history
    want_stat, want_diff = stat_and_diff(format_patch(repo, shas[kind]))
    got_stat, got_diff = _ours(repo, shas[kind])
    assert got_stat == want_stat
    assert got_diff == want_diff


@pytest.mark.parametrize("kind", ["binary", "binary-edit", "binary-delta", "binary-rename",
                                  "binary-delete"])
def test_binary_patches_equal_git(history, kind):
    """libgit2 deflates at zlib's default level; git at level 1 — re-deflated."""
    repo, shas = history
    want_stat, want_diff = stat_and_diff(format_patch(repo, shas[kind]))
    got_stat, got_diff = _ours(repo, shas[kind])
    assert got_stat == want_stat
    assert got_diff == want_diff
    assert b"GIT binary patch" in got_diff or kind == "binary-rename"


def test_renames_use_gits_similarity_not_libgit2s(history):
    repo, shas = history
    stat, diff = _ours(repo, shas["rename-edit"])
    assert b"rename xen/common/{a.c => b.c} (" in stat
    assert b"similarity index" in diff


def _normalise(mbox: bytes) -> bytes:
    """Only what is expected to differ: Message-ID spelling/time and signature."""
    out = []
    for line in mbox.split(b"\n"):
        low = line.lower()
        if low.startswith((b"message-id:", b"in-reply-to:", b"references:")):
            continue
        out.append(line)
    return b"\n".join(out)


def _mk_full(make_repo) -> tuple[Path, str]:
    repo = make_repo()
    commit(repo, {"a.c": LINES}, "base")
    run_git(repo, "config", "user.name", "Zo\u00eb Ma\u00eftre")
    commit(repo, {"a.c": LINES.replace("line 3 ", "LINE 3 ")},
           "x86/mm: a subject long enough that git has to fold it across two lines of the "
           "mail header", signoff=True)
    commit(repo, {"b.c": "b\n"}, "common: body with non-ASCII \u2014 text\n\nCaf\u00e9 au lait.")
    commit(repo, {"c.c": "c\n"}, "tools: subject only, no body", signoff=False)
    commit(repo, {"d.c": "d\n"},
           "xen: \u00fcnicode subject that is long enough to need more than one encoded word "
           "in the header")
    return repo, run_git(repo, "rev-parse", "HEAD~4").decode().strip()


def test_whole_patch_mails_equal_git_format_patch(make_repo, tmp_path):
    """Headers (From: encoding, Subject folding and RFC 2047, Date, MIME),
    body, trailers, diffstat and diff: all byte-equal to git's own mails."""
    repo, base = _mk_full(make_repo)
    gitout = tmp_path / "git"
    run_git(repo, "format-patch", "-q", "--thread", "--cover-letter", "-v1",
            "--signature=xenpatch 0.1.0", "-o", str(gitout), f"{base}..HEAD")
    ours = tmp_path / "ours"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(ours), "--no-maintainers") == 0
    git_files = sorted(p.name for p in gitout.iterdir())
    our_files = sorted(p.name for p in ours.iterdir())
    assert our_files == git_files
    for name in git_files:
        if "cover-letter" in name:
            continue
        assert _normalise((ours / name).read_bytes()) == _normalise((gitout / name).read_bytes())
