"""What a C file's function reaches in other files, read from its text
(lint/bodyreach.py): the names its body calls, through the file's own
functions, that the file does not define; C's keywords are no calls."""

from __future__ import annotations

from pathlib import Path

from xenpatch.lint.bodyreach import BodyReach

TEXT = b"""\
static void drain(struct pool *p);

static void refill(struct pool *p)
{
    while ( p->count < p->want )
        pool_grow(p);
    if ( sizeof(*p) > 64 )
        drain(p);
    return;
}

static void drain(struct pool *p)
{
    for ( ; p->count; p->count-- )
        refill(p);
    switch ( p->mode )
    {
    case 1:
        page_free(p->page);
    }
}

void pool_check(struct pool *p)
{
    p->hook = pool_grow;
    audit(p);
}
"""


def _reach(tmp_path: Path) -> BodyReach:
    path = tmp_path / "xen" / "common" / "pool.c"
    path.parent.mkdir(parents=True)
    path.write_bytes(TEXT)
    return BodyReach(path, TEXT)


def test_keywords_are_not_calls(tmp_path: Path) -> None:
    # "while (", "if (", "sizeof(", "for (", "switch (" and "return" are
    # C's, not functions of another file.
    assert _reach(tmp_path).reached("refill") == {"pool_grow", "page_free"}


def test_the_files_own_functions_are_followed_both_ways(tmp_path: Path) -> None:
    # refill() and drain() call each other: each reaches what the other
    # calls, and neither is reported (the file defines them).
    body = _reach(tmp_path)
    assert body.reached("drain") == body.reached("refill") == {"pool_grow", "page_free"}


def test_a_function_only_named_is_not_reached(tmp_path: Path) -> None:
    # pool_grow is stored, not called, in pool_check().
    body = _reach(tmp_path)
    assert body.reached("pool_check") == {"audit"}
    assert body.reached("not_defined_here") == frozenset()
