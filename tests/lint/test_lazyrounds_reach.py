"""What the lazy plan's later round (lazyrounds.py) takes a definer's
function to reach from its text, before parsing anything: the file's own
functions followed, each body to its end."""

from __future__ import annotations

from pathlib import Path

from xenpatch.lint.lazyrounds import _Closure

TEXT = b"""\
void asked(void)
{
    local();
}

static void local(void)
{
    far_away();
}

void next_one(void)
{
    takes_a_lock();
}
"""


def test_a_body_reaches_what_it_calls_not_the_next_declaration(tmp_path: Path) -> None:
    path = tmp_path / "xen" / "common" / "f.c"
    path.parent.mkdir(parents=True)
    path.write_bytes(TEXT)
    # local()'s text ends at its "}": next_one() (and what it calls) is
    # the next declaration, not a call of local()'s.
    assert _Closure(path, TEXT).reached("asked") == {"far_away"}
    assert _Closure(path, TEXT).reached("next_one") == {"takes_a_lock"}
