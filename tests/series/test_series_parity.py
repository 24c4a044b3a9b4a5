"""format-patch parity beyond the diff: numbering, the cover letter (shortlog
order, wrapping, mailmap, MIME), a lone patch, threading; judged by the real
`git format-patch`, `git shortlog` and `git send-email --dry-run`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from _seriesutil import commit, run_git, series, series_inproc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenpatch.series import mail


def _subjects(folder: Path) -> list[str]:
    out = []
    for p in sorted(folder.iterdir()):
        m = re.search(r"^Subject: (\[[^]]*\])", p.read_text(), re.M)
        assert m, p
        out.append(m.group(1))
    return out


def test_twelve_patches_are_numbered_like_git(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f": "0\n"}, "base")
    for i in range(1, 13):
        commit(repo, {"f": f"{i}\n"}, f"step {i}")
    gitout = tmp_path / "git"
    run_git(repo, "format-patch", "-q", "--cover-letter", "-v2", "-o", str(gitout),
            f"{base}..HEAD")
    ours = tmp_path / "ours"
    assert series_inproc(repo, f"{base}..HEAD", "-v", "2", "-o", str(ours),
                         "--no-maintainers") == 0
    assert _subjects(ours) == _subjects(gitout)
    assert _subjects(ours)[0] == "[PATCH v2 00/12]"
    assert _subjects(ours)[1] == "[PATCH v2 01/12]"
    assert _subjects(ours)[-1] == "[PATCH v2 12/12]"


def test_single_patch_has_no_cover_letter_unless_asked(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f": "0\n"}, "base")
    commit(repo, {"f": "1\n"}, "lone change")
    plain = tmp_path / "plain"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(plain), "--no-maintainers",
                         "--in-reply-to", "<earlier@example.org>") == 0
    names = sorted(p.name for p in plain.iterdir())
    assert names == ["v1-0001-lone-change.patch"]
    text = (plain / names[0]).read_text()
    gitout = tmp_path / "git"
    run_git(repo, "format-patch", "-q", "-v1", "--thread", "--in-reply-to=earlier@example.org",
            "-o", str(gitout), f"{base}..HEAD")
    want = (gitout / names[0]).read_text()
    assert _subjects(plain) == _subjects(gitout) == ["[PATCH v1]"]
    for header in ("In-Reply-To", "References"):
        assert re.search(rf"^{header}: .*$", text, re.M).group(0) == \
            re.search(rf"^{header}: .*$", want, re.M).group(0)
    asked = tmp_path / "asked"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(asked), "--no-maintainers",
                         "--cover-letter") == 0
    assert _subjects(asked) == ["[PATCH v1 0/1]", "[PATCH v1 1/1]"]
    # regenerating that version keeps the cover letter it was asked for
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(asked), "--no-maintainers") == 0
    assert _subjects(asked) == ["[PATCH v1 0/1]", "[PATCH v1 1/1]"]
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(asked), "--no-maintainers",
                         "--no-cover-letter") == 0
    assert _subjects(asked) == ["[PATCH v1]"]


def test_without_cover_the_patches_answer_the_first(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f": "0\n"}, "base")
    commit(repo, {"f": "1\n"}, "one")
    commit(repo, {"f": "2\n"}, "two")
    out = tmp_path / "out"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers",
                         "--no-cover-letter") == 0
    first, second = sorted(out.iterdir())
    first_id = re.search(r"^Message-ID: <(.*)>$", first.read_text(), re.M).group(1)
    assert "In-Reply-To" not in first.read_text()
    assert f"In-Reply-To: <{first_id}>\nReferences: <{first_id}>\n" in second.read_text()
    assert _subjects(out) == ["[PATCH v1 1/2]", "[PATCH v1 2/2]"]


AUTHORS = ["Zed Quux", "bob lower", "\u00c9mile \u00dcbel", "Ann Dev", "\u738b\u5c0f\u660e"]


def _cover_body(text: str) -> str:
    """The cover letter from the blurb to the signature, without what may
    differ (xenpatch's change-id line; git's dates are in the headers)."""
    body = text.partition("\n\n")[2]
    return "\n".join(line for line in body.split("\n") if not line.startswith("change-id: "))


def _cover_headers(text: str) -> list[str]:
    head = text.partition("\n\n")[0]
    return [h for h in head.split("\n") if not h.startswith(("Message-ID", "Message-Id", "Date"))]


def test_cover_letter_equals_git_format_patch(make_repo, tmp_path):
    """Shortlog order (authors by strcmp, subjects in commit order),
    wrapping at 72 with 2/4 indents, mailmap names, MIME for a non-ASCII
    shortlog, diffstat and base-commit: all as git writes them."""
    repo = make_repo()
    base = commit(repo, {"f": "0\n", ".mailmap": "Zed Real <z@example.org> <z0@example.org>\n"},
                  "base")
    for i in range(9):
        who = AUTHORS[i % len(AUTHORS)]
        email = "z0@example.org" if i == 3 else f"a{i % len(AUTHORS)}@example.org"
        subject = f"area{i}: change number {i} " + "with words " * (i % 4 * 3)
        commit(repo, {"f": f"{i + 1}\n"}, subject.strip(),
               env={"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": email})
    gitout = tmp_path / "git"
    run_git(repo, "format-patch", "-q", "--thread", "--cover-letter", "-v1", f"--base={base}",
            "--signature=xenpatch 0.1.0", "-o", str(gitout), f"{base}..HEAD")
    ours = tmp_path / "ours"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(ours), "--no-maintainers") == 0
    name = "v1-0000-cover-letter.patch"
    got, want = (ours / name).read_text(), (gitout / name).read_text()
    assert _cover_headers(got) == _cover_headers(want)
    assert _cover_body(got) == _cover_body(want)
    assert "Zed Real (1):" in got
    assert "Content-Type: text/plain; charset=UTF-8" in got


def test_cover_letter_with_only_a_non_ascii_subject_declares_utf8(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f": "0\n"}, "base")
    commit(repo, {"f": "1\n"}, "docs: na\u00efve wording")
    commit(repo, {"f": "2\n"}, "docs: more")
    out = tmp_path / "out"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers") == 0
    cover = (out / "v1-0000-cover-letter.patch").read_text()
    assert "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n" in cover


def test_non_ascii_only_in_the_diff_declares_utf8_and_applies(make_repo, tmp_path):
    """git format-patch leaves such a mail without MIME headers (and git
    send-email then asks); ours declare UTF-8 and git am keeps every byte,
    a Latin-1 file's included."""
    repo = make_repo()
    base = commit(repo, {"f": "0\n", "l.c": b"/* caf\xe9 */\n"}, "base")
    commit(repo, {"f": "\u00e9t\u00e9\n", "docs/r\u00e9sum\u00e9.txt": "x\n"}, "docs: summer")
    commit(repo, {"l.c": b"/* caf\xe9 au lait */\n"}, "legacy: edit")
    out = tmp_path / "out"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers") == 0
    patches = sorted(p for p in out.iterdir() if "cover" not in p.name)
    for p in patches:
        assert "Content-Type: text/plain; charset=UTF-8" in p.read_text(errors="replace")
    fresh = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", str(repo), str(fresh))
    run_git(fresh, "checkout", "-q", "--detach", base)
    run_git(fresh, "config", "user.name", "Maint Ainer")
    run_git(fresh, "config", "user.email", "m@example.org")
    run_git(fresh, "am", "-q", *map(str, patches))
    assert run_git(fresh, "rev-parse", "HEAD^{tree}") == run_git(repo, "rev-parse", "HEAD^{tree}")


def _send_email_dry_run(repo: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    # stdin closed: a prompt reads EOF; --smtp-server=/bin/true never sends
    return subprocess.run(
        ["git", "send-email", "--dry-run", "--confirm=never", "--smtp-server=/bin/true",
         "--to=xen-devel@lists.example.org", "--no-validate", *map(str, files)],
        cwd=repo, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


def test_git_send_email_dry_run_takes_every_mail_without_a_prompt(make_repo, tmp_path):
    probe = subprocess.run(["git", "send-email", "-h"], capture_output=True, text=True)
    if "not a git command" in probe.stderr:
        pytest.fail("git send-email is not installed (Debian package git-email; "
                    "scripts/run-tests.sh installs it)")
    repo = make_repo()
    base = commit(repo, {"f": "0\n"}, "base")
    commit(repo, {"f": "\u00e9t\u00e9\n"}, "docs: summer")
    commit(repo, {"g": "1\n"}, "docs: na\u00efve wording")
    commit(repo, {"h": "1\n"}, "plain ASCII")
    cover = tmp_path / "cover.txt"
    cover.write_text("docs: three changes\n\nThey are small.\n")
    out = tmp_path / "out"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers",
                         "--cover", str(cover)) == 0
    files = sorted(out.iterdir())
    proc = _send_email_dry_run(repo, files)
    assert proc.returncode == 0, proc.stderr
    assert "do not declare a Content-Transfer-Encoding" not in proc.stdout + proc.stderr
    assert proc.stdout.count("Dry-OK. Log says:") == len(files) == 4
    # the same series from git format-patch: send-email stops at the diff-only one
    gitout = tmp_path / "git"
    run_git(repo, "format-patch", "-q", "-o", str(gitout), f"{base}..HEAD")
    proc = _send_email_dry_run(repo, sorted(gitout.iterdir()))
    assert "do not declare a Content-Transfer-Encoding" in proc.stdout + proc.stderr


_WORDS = st.sampled_from(["a", "bb", "ccc", "word", "lengthy", "x" * 30, "x" * 75,
                          "\u00e9t\u00e9", "\u738b\u5c0f", "e\u0301t\u00e9", "-", "(x)"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_WORDS, min_size=1, max_size=25),
       st.lists(st.sampled_from([" ", " ", " ", "  ", "\t"]), min_size=25, max_size=25))
def test_git_wrap_equals_git_shortlog(words, gaps):
    """strbuf_add_wrapped_text() as `git shortlog -w72,2,4` runs it (wide
    and combining characters, tabs, runs of spaces, words past the width)."""
    subject = "".join(w + g for w, g in zip(words, gaps, strict=False)).strip()
    fake_log = f"commit {'0' * 40}\nAuthor: A <a@example.org>\n\n    {subject}\n\n"
    proc = subprocess.run(["git", "shortlog", "-w72,2,4"], input=fake_log.encode(),
                          capture_output=True, cwd="/")
    want = proc.stdout.decode().split("\n", 1)[1].rstrip("\n")
    assert mail.git_wrap(subject, 2, 4, 72) == want


def test_output_lists_only_written_files(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f": "0\n"}, "base")
    commit(repo, {"f": "1\n"}, "lone")
    code, stdout, stderr = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"),
                                  "--no-maintainers")
    assert code == 0, stderr
    assert [Path(line).name for line in stdout.split()] == ["v1-0001-lone.patch"]
