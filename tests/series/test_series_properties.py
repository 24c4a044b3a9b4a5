"""Property tests: header encodings decode back, and the diffstat layout
matches git's for generated names and change sizes."""

from __future__ import annotations

import email.header
import quopri
import re
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenpatch import git
from xenpatch.series import diff as gdiff
from xenpatch.series import mail

WORD = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)


@given(st.lists(WORD, min_size=1, max_size=20), st.integers(0, 40))
def test_folded_subject_keeps_the_words_and_the_width(words, used):
    text = " ".join(words)
    folded = mail.wrap_header(text, used)
    assert re.sub(r"\n ", " ", folded) == text
    lines = folded.split("\n")
    assert all(line.startswith(" ") for line in lines[1:])
    for i, line in enumerate(lines):
        width = len(line) + (used if i == 0 else 0)
        # a line may only be too long when it is a single unbreakable word
        assert width <= 78 or " " not in line.strip()


@given(st.text(min_size=1, max_size=200).filter(lambda t: "\n" not in t and "\r" not in t),
       st.booleans())
def test_rfc2047_round_trip(text, address):
    encoded = mail.rfc2047(text, 9, address=address)
    assert all(len(line) <= 76 for line in (" " * 9 + encoded).split("\n"))
    decoded = str(email.header.make_header(email.header.decode_header(
        encoded.replace("\n ", " "))))
    assert decoded == text


@given(st.binary(max_size=400))
def test_quoted_printable_round_trip(data):
    encoded = mail.quoted_printable(data)
    assert all(len(line) <= 76 for line in encoded.split("\n"))
    assert "\r" not in encoded
    assert quopri.decodestring(encoded.encode("ascii")) == data


# A path component git takes: not only dots, no option, not ".git" (the
# repository's own folder: a hypothesis run drew it in CI).
NAME = st.text("abcdefghijklmnopqrstuvwxyz_-.", min_size=1, max_size=25).filter(
    lambda n: n.strip(".") and not n.startswith("-") and n != ".git")
TREE = st.dictionaries(
    st.lists(NAME, min_size=1, max_size=4).map("/".join),
    st.tuples(st.integers(0, 400), st.integers(0, 400)),
    min_size=1, max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREE)
def test_diffstat_layout_equals_git(tree):
    """Names long and short, changes big and small: width, truncation with
    '...', scaling of the +/- graph and the summary line are git's."""
    paths = sorted(tree)
    # a path cannot be both a file and a directory
    if any(b.startswith(a + "/") for a in paths for b in paths):
        return
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True,  # noqa: E731
                                        capture_output=True).stdout
        run("init", "-q")
        run("config", "user.name", "A")
        run("config", "user.email", "a@b")
        for path, (old, _new) in tree.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text("".join(f"old {i}\n" for i in range(old)))
        run("add", "-A")
        run("commit", "-q", "-m", "base")
        for path, (old, new) in tree.items():
            keep = min(old, new) // 2
            (repo / path).write_text("".join(f"old {i}\n" for i in range(keep))
                                     + "".join(f"new {i}\n" for i in range(new - keep)))
        run("add", "-A")
        run("commit", "-q", "--allow-empty", "-m", "change")
        want = run("diff", "--stat=72", "--summary", "HEAD~1", "HEAD").decode()
        changes = git.commit_changes(repo, git.resolve(repo, "HEAD"))
        got = gdiff.diffstat(changes) + gdiff.summary(changes)
        assert got == want
