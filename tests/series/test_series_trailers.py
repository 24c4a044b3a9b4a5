"""Trailers from saved replies (`xenpatch trailers`, `series --trailers-from`),
judged against b4 on the same mailbox: `b4 am -m` collects the replies'
trailers itself and its mbox, applied with `git am`, must give the commits
xenpatch's rewrite gives."""

from __future__ import annotations

import email.message
import email.utils
import mailbox
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _seriesutil import commit, run_git, series_inproc

from xenpatch.series import cli, trailers


def _msg_id(path: Path) -> str:
    return re.search(r"^Message-ID: <(.*)>$", path.read_text(), re.M).group(1)


def _reply(msg_id: str, parent: str | None, refs: list[str], subject: str, sender: str,
           body: str, when: int) -> email.message.Message:
    m = email.message.Message()
    m["From"] = sender
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(when)
    m["Message-ID"] = f"<{msg_id}>"
    if parent:
        m["In-Reply-To"] = f"<{parent}>"
    if refs:
        m["References"] = " ".join(f"<{r}>" for r in refs)
    m["Content-Type"] = "text/plain; charset=utf-8"
    m.set_payload(body.encode("utf-8"), "utf-8")
    return m


def _quote(text: str) -> str:
    return "".join(f"> {line}\n" if line else ">\n" for line in text.split("\n"))


@pytest.fixture
def thread(make_repo, tmp_path):
    """Three patches sent as v1, and a saved thread: the series' own mails
    and the replies of three reviewers (one to the cover letter, one under
    another reply)."""
    repo = make_repo()
    base = commit(repo, {"a.c": "int a;\n", "b.c": "int b;\n", "c.c": "int c;\n"}, "base")
    commit(repo, {"a.c": "int a;\nint a2;\n"}, "a: more a")
    commit(repo, {"b.c": "int b;\nint b2;\n"}, "b: more b")
    commit(repo, {"c.c": "int c;\nint c2;\n"}, "c: more c")
    cover = tmp_path / "cover.txt"
    cover.write_text("abc: three small changes\n\nThey add one line each.\n")
    out = tmp_path / "out"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers",
                         "--cover", str(cover), "--name", "abc") == 0
    mails = sorted(out.iterdir())
    ids = [_msg_id(p) for p in mails]
    box_path = tmp_path / "thread.mbox"
    box = mailbox.mbox(str(box_path))
    for p in mails:
        box.add(mailbox.mboxMessage(p.read_bytes()))
    cover_id, p1, p2, p3 = ids
    patch1 = mails[1].read_text()
    replies = [
        _reply("r1@example.org", p1, [cover_id, p1], "Re: [PATCH v1 1/3] a: more a",
               "Rita Reviewer <rita@example.org>",
               _quote(patch1.split("\n\n", 1)[1][:200]) +
               "\nLooks right.\n\nReviewed-by: Rita Reviewer <rita@example.org>\n", 1),
        _reply("r2@example.org", cover_id, [cover_id], "Re: [PATCH v1 0/3] abc: three",
               "Boss One <boss@example.org>",
               "> They add one line each.\n\nAcked-by: Boss One <boss@example.org>\n", 2),
        _reply("r3@example.org", p3, [cover_id, p3], "Re: [PATCH v1 3/3] c: more c",
               "Tess Ter <tess@example.org>",
               "Tested-by: Tess Ter <tess@example.org>\n-- \nTess\nSigned-off-by: No One "
               "<no@example.org>\n", 3),
        _reply("r4@example.org", "r1@example.org", [cover_id, p1, "r1@example.org"],
               "Re: [PATCH v1 1/3] a: more a", "Other Reviewer <other@example.org>",
               "> Reviewed-by: Rita Reviewer <rita@example.org>\n\n"
               "Reviewed-by: Other Reviewer\n<other@example.org>\n", 4),
    ]
    for r in replies:
        box.add(mailbox.mboxMessage(r))
    box.flush()
    box.close()
    return repo, base, box_path, ids


def _messages(repo: Path, spec: str) -> list[str]:
    out = run_git(repo, "log", "--reverse", "--format=%B%x00", spec).decode()
    return [m.strip("\n") + "\n" for m in out.split("\0") if m.strip()]


def test_trailers_land_on_the_right_commits(thread):
    repo, base, box, _ = thread
    before = _messages(repo, f"{base}..HEAD")
    authors = run_git(repo, "log", "--format=%an %ae %ad", f"{base}..HEAD")
    trees = run_git(repo, "log", "--format=%T", f"{base}..HEAD")
    assert cli.main(["trailers", "-C", str(repo), str(box), f"{base}..HEAD",
                     "--dry-run"]) == 0
    assert _messages(repo, f"{base}..HEAD") == before  # a dry run changes nothing
    assert cli.main(["trailers", "-C", str(repo), str(box), f"{base}..HEAD"]) == 0
    after = _messages(repo, f"{base}..HEAD")
    sob = "Signed-off-by: Ann Dev <ann@example.org>"
    assert after[0] == (f"a: more a\n\n{sob}\nReviewed-by: Rita Reviewer <rita@example.org>\n"
                        "Reviewed-by: Other Reviewer <other@example.org>\n"
                        "Acked-by: Boss One <boss@example.org>\n")
    assert after[1] == f"b: more b\n\n{sob}\nAcked-by: Boss One <boss@example.org>\n"
    assert after[2] == (f"c: more c\n\n{sob}\nAcked-by: Boss One <boss@example.org>\n"
                        "Tested-by: Tess Ter <tess@example.org>\n")
    assert run_git(repo, "log", "--format=%an %ae %ad", f"{base}..HEAD") == authors
    assert run_git(repo, "log", "--format=%T", f"{base}..HEAD") == trees
    # a second run finds everything there already
    assert cli.main(["trailers", "-C", str(repo), str(box), f"{base}..HEAD"]) == 0
    assert _messages(repo, f"{base}..HEAD") == after


def test_reply_outside_the_thread_is_placed_by_its_quoted_diff(thread, tmp_path):
    repo, base, _, ids = thread
    out = tmp_path / "out"
    patch2 = next(out.glob("v1-0002-*.patch")).read_text()
    diff = patch2[patch2.index("diff --git"):patch2.index("\n-- \n") + 1]
    lone = _reply("x@example.org", "unknown@elsewhere", [], "Re: something else",
                  "Rita Reviewer <rita@example.org>",
                  "On a copy of it:\n" + _quote(diff) +
                  "\nReviewed-by: Rita Reviewer <rita@example.org>\n", 5)
    stray = _reply("y@example.org", "unknown@elsewhere", [], "Re: another series",
                   "Rita Reviewer <rita@example.org>",
                   "Acked-by: Rita Reviewer <rita@example.org>\n", 6)
    maildir = tmp_path / "md"
    box = mailbox.Maildir(str(maildir))
    box.add(lone)
    box.add(stray)
    proc = subprocess.run([sys.executable, "-m", "xenpatch.series.cli", "trailers", "-C",
                           str(repo), str(maildir), f"{base}..HEAD"],
                          capture_output=True, text=True)
    assert proc.returncode == 1  # one reply could not be placed: said, not hidden
    assert "Re: another series" in proc.stderr and "Acked-by: Rita" in proc.stderr
    msgs = _messages(repo, f"{base}..HEAD")
    assert msgs[1].endswith("Reviewed-by: Rita Reviewer <rita@example.org>\n")
    assert "Reviewed-by" not in msgs[0] + msgs[2]


def test_series_trailers_from_rewrites_then_mails(thread, tmp_path):
    repo, base, box, _ = thread
    out = tmp_path / "v2"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers",
                         "--name", "abc", "-v", "2", "--trailers-from", str(box)) == 0
    text = next(out.glob("v2-0002-*.patch")).read_text()
    assert "Signed-off-by: Ann Dev <ann@example.org>\nAcked-by: Boss One <boss@example.org>\n" \
        "---\n" in text
    # v2 is the same patches: their changelog sections were found by patch-id
    assert "Changes since v1:" in text


def test_bad_mailbox_is_one_line(thread, tmp_path):
    repo, base, _, _ = thread
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    proc = subprocess.run([sys.executable, "-m", "xenpatch.series.cli", "trailers", "-C",
                           str(repo), str(junk), f"{base}..HEAD"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and str(junk) in proc.stderr


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_an_empty_mailbox_says_it_holds_no_reply(thread, tmp_path, capsys, kind):
    # A mail client's folder before any reply: an empty file was "not an
    # mbox" (exit 2) while an empty maildir passed as if searched.
    repo, base, _, _ = thread
    box = tmp_path / "box"
    if kind == "mbox":
        box.write_bytes(b"")
    else:
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True)
    assert cli.main(["trailers", "-C", str(repo), str(box), f"{base}..HEAD"]) == 0
    assert capsys.readouterr().out == ("no new trailers for the commits of the range: the "
                                       "mailbox holds no reply\n")


def test_trailer_placement_follows_xens_order():
    msg = ("x: y\n\nbody\n\nReported-by: R <r@x.org>\nSigned-off-by: A <a@x.org>\n"
           "Release-Acked-by: M <m@x.org>\n")
    new = [trailers.Trailer("Tested-by", "T <t@x.org>"),
           trailers.Trailer("Reviewed-by", "V <v@x.org>"),
           trailers.Trailer("Acked-by", "M <m@x.org>"),
           trailers.Trailer("Reviewed-by", "Again V <V@X.org>")]
    got, added = trailers.add_trailers(msg, new)
    assert got == ("x: y\n\nbody\n\nReported-by: R <r@x.org>\nSigned-off-by: A <a@x.org>\n"
                   "Reviewed-by: V <v@x.org>\nAcked-by: M <m@x.org>\nTested-by: T <t@x.org>\n"
                   "Release-Acked-by: M <m@x.org>\n")
    assert len(added) == 3
    # no trailer block yet: a new paragraph
    assert trailers.add_trailers("x: y\n\nbody text\n", new[:1])[0] == \
        "x: y\n\nbody text\n\nTested-by: T <t@x.org>\n"


def test_wrapped_trailer_joined_as_git_interpret_trailers_reads_it(tmp_path):
    body = "Thanks.\n\nReviewed-by: Other Reviewer\n <other@example.org>\n"
    parsed = subprocess.run(["git", "interpret-trailers", "--parse"], input=body,
                            capture_output=True, text=True, cwd=tmp_path).stdout
    assert [t.line() for t in trailers.find_trailers(body)] == parsed.splitlines()


def _b4(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    b4 = Path(sys.executable).with_name("b4")
    if not b4.exists():
        pytest.fail("b4 is not installed (pip install -e '.[test]' installs it)")
    return subprocess.run([str(b4), "--offline-mode", *args], cwd=repo, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)


def test_b4_am_applies_the_series_and_agrees_on_the_trailers(thread, tmp_path):
    """b4 reads the same saved thread: its am-ready mbox, applied by git am
    on BASE, gives commits with the messages, authors, dates and trees that
    xenpatch's trailers rewrite gave."""
    repo, base, box, ids = thread
    run_git(repo, "config", "b4.attestation-policy", "off")
    b4out = tmp_path / "b4out"
    proc = _b4(repo, "am", "-m", str(box), "-o", str(b4out), ids[0])
    assert proc.returncode == 0, proc.stderr
    (ambox,) = b4out.glob("*.mbx")
    assert cli.main(["trailers", "-C", str(repo), str(box), f"{base}..HEAD"]) == 0
    fresh = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", str(repo), str(fresh))
    run_git(fresh, "checkout", "-q", "--detach", base)
    run_git(fresh, "config", "user.name", "Maint Ainer")
    run_git(fresh, "config", "user.email", "m@example.org")
    run_git(fresh, "am", "-q", str(ambox))
    fmt = "--format=%an <%ae> %ad %T"
    assert run_git(fresh, "log", fmt, f"{base}..HEAD") == run_git(repo, "log", fmt,
                                                                  f"{base}..HEAD")
    theirs = _messages(fresh, f"{base}..HEAD")
    ours = _messages(repo, f"{base}..HEAD")
    # The same trailers on the same commits.  The order is a policy: b4
    # puts what it collected above the sender's Signed-off-by (the kernel's
    # chain of custody), a patch's own replies before the cover's; Xen's
    # history has them below it, in ORDER's order.
    assert [sorted(m.split("\n")) for m in theirs] == [sorted(m.split("\n")) for m in ours]
    assert all(m.split("\n")[2].startswith("Signed-off-by:") for m in ours)


def test_b4_am_of_the_bare_series_gives_the_same_commits(thread, tmp_path):
    repo, base, _, ids = thread
    run_git(repo, "config", "b4.attestation-policy", "off")
    bare = tmp_path / "bare.mbox"
    box = mailbox.mbox(str(bare))
    for p in sorted((tmp_path / "out").iterdir()):
        box.add(mailbox.mboxMessage(p.read_bytes()))
    box.flush()
    box.close()
    b4out = tmp_path / "b4bare"
    proc = _b4(repo, "am", "-m", str(bare), "-o", str(b4out), ids[0])
    assert proc.returncode == 0, proc.stderr
    (ambox,) = b4out.glob("*.mbx")
    fresh = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", str(repo), str(fresh))
    run_git(fresh, "checkout", "-q", "--detach", base)
    run_git(fresh, "config", "user.name", "Maint Ainer")
    run_git(fresh, "config", "user.email", "m@example.org")
    run_git(fresh, "am", "-q", str(ambox))
    fmt = "--format=%an <%ae> %ad %T%n%B%x00"
    assert run_git(fresh, "log", fmt, f"{base}..HEAD") == run_git(repo, "log", fmt,
                                                                  f"{base}..HEAD")


def test_trailer_order_is_learnt_from_the_trees_history(thread):
    """A tree whose commits put Acked-by before Reviewed-by gets them so."""
    repo, base, box, _ = thread
    run_git(repo, "checkout", "-q", "-b", "habits", base)
    for i in range(3):
        commit(repo, {f"h{i}": "x\n"}, f"h: {i}\n\nAcked-by: A <a@example.org>\n"
               "Reviewed-by: R <r@example.org>", signoff=False)
    habit_base = run_git(repo, "rev-parse", "HEAD").decode().strip()
    # the same three patches on top (matched to v1's mails by patch-id)
    run_git(repo, "cherry-pick", "main~2", "main~1", "main")
    assert cli.main(["trailers", "-C", str(repo), str(box), f"{habit_base}..HEAD"]) == 0
    first = _messages(repo, f"{habit_base}..HEAD")[0]
    assert first.index("Acked-by: Boss One") < first.index("Reviewed-by: Rita Reviewer")
    assert first.index("Signed-off-by") < first.index("Acked-by")


MIRROR = Path("/work/.mirror/xen-project+xen/repo")


@pytest.mark.slow
def test_the_fallback_order_is_xens_history():
    """ORDER (the fallback) agrees with what Xen's history says for every
    pair of its names that history has a clear opinion on (20 or more
    commits, two to one)."""
    if not (MIRROR / "HEAD").exists():
        pytest.skip(f"no clone of the public Xen history at {MIRROR}")
    from xenpatch import git

    learnt = trailers.Precedence(git.recent_messages(MIRROR, "HEAD", 5000))
    fallback = trailers.Precedence()
    names = [n.lower() for n in trailers.ORDER if n != "Signed-off-by"]
    seen = 0
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ab, ba = learnt.pairs[(a, b)], learnt.pairs[(b, a)]
            if ab + ba >= 20 and max(ab, ba) >= 2 * min(ab, ba):
                seen += 1
                assert learnt.before(a, b) == fallback.before(a, b), (a, b)
    assert seen >= 5


def test_b4_shazam_applies_the_thread_where_xenpatch_rewrote_it(thread, tmp_path):
    """`b4 shazam` (b4 am + git am in one) on a clone at BASE: the same
    trees, authors and dates, and the same trailers, as `xenpatch trailers`."""
    repo, base, box, ids = thread
    fresh = tmp_path / "shazam"
    run_git(tmp_path, "clone", "-q", str(repo), str(fresh))
    run_git(fresh, "checkout", "-q", "-b", "applied", base)
    run_git(fresh, "config", "user.name", "Maint Ainer")
    run_git(fresh, "config", "user.email", "m@example.org")
    run_git(fresh, "config", "b4.attestation-policy", "off")
    proc = _b4(fresh, "shazam", "-m", str(box), ids[0])
    assert proc.returncode == 0, proc.stderr
    assert cli.main(["trailers", "-C", str(repo), str(box), f"{base}..HEAD"]) == 0
    fmt = "--format=%an <%ae> %ad %T"
    assert run_git(fresh, "log", fmt, f"{base}..HEAD") == run_git(repo, "log", fmt,
                                                                  f"{base}..HEAD")
    theirs = _messages(fresh, f"{base}..HEAD")
    ours = _messages(repo, f"{base}..HEAD")
    assert [sorted(m.split("\n")) for m in theirs] == [sorted(m.split("\n")) for m in ours]
