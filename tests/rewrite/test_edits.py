"""Edits, diffs and writes: the invariants everything else stands on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenpatch.rewrite.edits import Edit, EditError, apply_edits, unified_diff, write_atomically


@st.composite
def text_and_edits(draw: st.DrawFn) -> tuple[bytes, list[Edit]]:
    raw = draw(st.binary(max_size=200))
    cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    edits = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):
        edits.append(Edit(a, b, draw(st.binary(max_size=8))))
    return raw, edits


@given(text_and_edits())
def test_apply_edits_equals_splicing_from_the_end(case: tuple[bytes, list[Edit]]) -> None:
    raw, edits = case
    expected = bytearray(raw)
    # Insertions at one offset keep the order they were given in.
    for e in reversed(sorted(edits, key=lambda e: (e.start, e.end))):
        expected[e.start : e.end] = e.text
    assert apply_edits(raw, edits) == bytes(expected)


def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(EditError, match="overlapping"):
        apply_edits(b"abcdef", [Edit(0, 3, b"x"), Edit(2, 4, b"y")])


# Form feed, vertical tab, lone CR, FS, NEL and U+2028 are line breaks to
# str.splitlines() but not to git: a diff split on them does not apply.
_line = st.text(alphabet="ab \t{};\f\v\r\x1c\x85\u2028", max_size=6)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    old=st.lists(_line, max_size=8),
    new=st.lists(_line, max_size=8),
    newline=st.sampled_from(["\n", "\r\n"]),
    old_eol=st.booleans(),
    new_eol=st.booleans(),
)
def test_diff_is_taken_by_git_apply(tmp_path_factory: pytest.TempPathFactory, old: list[str],
                                    new: list[str], newline: str, old_eol: bool,
                                    new_eol: bool) -> None:
    """git itself is the peer: the diff must apply and give the new bytes exactly."""
    def join(lines: list[str], eol: bool) -> bytes:
        text = newline.join(lines)
        return (text + newline if eol and lines else text).encode()

    before, after = join(old, old_eol), join(new, new_eol)
    diff = unified_diff("xen/f.c", before, after)
    if before == after:
        assert diff == ""
        return
    work = tmp_path_factory.mktemp("apply")
    (work / "xen").mkdir()
    (work / "xen" / "f.c").write_bytes(before)
    (work / "d.diff").write_text(diff, newline="")
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    res = subprocess.run(["git", "apply", "--whitespace=nowarn", "d.diff"], cwd=work,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr + diff
    assert (work / "xen" / "f.c").read_bytes() == after


def test_write_atomically_all_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_bytes(b"old a")
    (tmp_path / "b.c").write_bytes(b"old b")
    (tmp_path / "a.c").chmod(0o640)
    write_atomically(tmp_path, {"a.c": b"new a", "b.c": b"new b"})
    assert (tmp_path / "a.c").read_bytes() == b"new a"
    assert (tmp_path / "a.c").stat().st_mode & 0o777 == 0o640
    # A file in a missing folder fails the whole write: nothing changes.
    with pytest.raises(EditError):
        write_atomically(tmp_path, {"a.c": b"newer a", "nodir/c.c": b"x"})
    assert (tmp_path / "a.c").read_bytes() == b"new a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.c", "b.c"]
