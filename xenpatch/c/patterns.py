"""Regex pieces the text scans of C sources share (no C front end: a warm
run's scans import this alone)."""

from __future__ import annotations

import re
from functools import lru_cache

# The rest of a directive's line with its continuation lines: what
# (?:\\\r?\n|[^\n])* matches, greedily, written as runs of a line's bytes
# and a newline after a backslash (or backslash and CR) as it is met: the
# regex engine then scans runs instead of trying two branches at each byte
# (about three times quicker over a tree's headers; the same matches,
# tests/lint/test_directive_patterns.py).  Possessive: each pattern ends
# with it, nothing after it to give bytes back to.
LINE_REST = rb"[^\n]*+(?:(?<=\\)\n[^\n]*+|(?<=\\\r)\n[^\n]*+)*+"

# A function-like #define opening a line (after blanks: directives(), which
# finds it by its "#" rather than trying every byte for a line start): its
# name, its parameters' text, its body with its continuation lines.  (The
# runs of blanks, the name and the parameters possessive: what follows
# each cannot match its last byte, so no other split of them matches.)
FN_DEFINE = re.compile(rb"#[ \t]*+define[ \t]++([A-Za-z_]\w*+)\(([^)]*+)\)(" + LINE_REST + rb")")


# Bytes a \w of a bytes pattern matches.
_WORD = re.compile(rb"\w+")


@lru_cache(maxsize=1024)
def whole_word(name: bytes) -> re.Pattern[bytes]:
    r"""``re.compile(rb"\b" + re.escape(name) + rb"\b")``, written to start
    with the name itself where it is all word bytes (an identifier's name):
    a pattern led by ``\b`` is tried at every byte of the text, one led by
    a literal is searched for (three to five times quicker over a C file).
    Before such a name, ``\b`` is "no word byte before it" and after it "no
    word byte after it": the same matches (tests/lint/test_cold5_cuts.py)."""
    esc = re.escape(name)
    if not _WORD.fullmatch(name):
        return re.compile(rb"\b" + esc + rb"\b")
    return re.compile(esc + rb"(?<!\w" + esc + rb")(?!\w)")
