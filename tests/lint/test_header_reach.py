"""A file that names no lock operation and no other file's helper, but
reaches one through a header inline (as get_gfn_query() reaches p2m.c),
is linted with that helper's summary: the second pass chose it for that
reach, and then skipped its parse for naming none of the helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import small_tree
from xenpatch.lint.inputs import collect_files
from xenpatch.lint.run import lint_files

_HEADER = """struct pool { spinlock_t lock; int refs; };
int __pool_get(struct pool *p);
void __pool_put(struct pool *p);

static inline int pool_get(struct pool *p)
{
    return __pool_get(p);
}

static inline void pool_put(struct pool *p)
{
    __pool_put(p);
}

static inline void pool_reset(struct pool *p)
{
    spin_lock(&p->lock);
    p->refs = 0;
    spin_unlock(&p->lock);
}
"""

_POOL = """#include <xen/pool.h>

int __pool_get(struct pool *p)
{
    spin_lock(&p->lock);
    p->refs++;
    return 0;
}

void __pool_put(struct pool *p)
{
    p->refs--;
    spin_unlock(&p->lock);
}
"""

_USER = """#include <xen/pool.h>

int use_pool(struct pool *p, int x)
{
    pool_get(p);
    if ( x )
        return -1;
    pool_put(p);
    return 0;
}
"""


def test_a_helper_reached_only_through_a_header_inline_is_seen(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = small_tree(tmp_path / "xen", {"include/xen/pool.h": _HEADER,
                                        "common/pool.c": _POOL, "common/user.c": _USER})
    results = {Path(r.path).name: r for r in lint_files(collect_files([xen]), jobs=1)}
    found = [(f.function, f.check, f.line) for f in results["user.c"].findings]
    assert found == [("use_pool", "XL001", 7)]
    assert results["pool.c"].findings == []


def test_the_hook_linting_the_file_alone_finds_it_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = small_tree(tmp_path / "xen", {"include/xen/pool.h": _HEADER,
                                        "common/pool.c": _POOL, "common/user.c": _USER})
    (result,) = lint_files([(xen / "common" / "user.c", "user.c")], jobs=1)
    assert [(f.function, f.check, f.line) for f in result.findings] == [("use_pool", "XL001", 7)]


_LAYERED = """struct pool { spinlock_t lock; int refs; };

static inline void pool_take(struct pool *p)
{
    spin_lock(&p->lock);
}

static inline void pool_enter(struct pool *p)
{
    pool_take(p);
}
"""

_ENTER = """#include <xen/pool.h>

int enter_pool(struct pool *p, int x)
{
    pool_enter(p);
    if ( x )
        return -1;
    p->refs++;
    return 0;
}
"""


def test_a_file_reaching_a_lock_only_through_layered_inlines_is_parsed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pool_enter() names no lock operation itself: only pool_take(),
    which it calls, does (get_gfn_query() -> get_gfn_type() ->
    p2m_get_gfn_type_access() is of that shape)."""
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = small_tree(tmp_path / "xen", {"include/xen/pool.h": _LAYERED,
                                        "common/enter.c": _ENTER})
    (result,) = lint_files([(xen / "common" / "enter.c", "enter.c")], jobs=1)
    assert result.parsed
    assert {(f.function, f.check) for f in result.findings} == {("enter_pool", "XL001")}
