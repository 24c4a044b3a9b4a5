"""Regex pieces the text scans of C sources share (no C front end: a warm
run's scans import this alone)."""

from __future__ import annotations

# The rest of a directive's line with its continuation lines: what
# (?:\\\r?\n|[^\n])* matches, greedily, written as runs of a line's bytes
# and a newline after a backslash (or backslash and CR) as it is met: the
# regex engine then scans runs instead of trying two branches at each byte
# (about three times quicker over a tree's headers; the same matches,
# tests/lint/test_directive_patterns.py).  Possessive: each pattern ends
# with it, nothing after it to give bytes back to.
LINE_REST = rb"[^\n]*+(?:(?<=\\)\n[^\n]*+|(?<=\\\r)\n[^\n]*+)*+"
