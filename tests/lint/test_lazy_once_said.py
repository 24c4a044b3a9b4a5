"""The one-lint of a cold single file (lint/once.py) with another file's
helper that takes a lock on its argument's say (``when``: vfree() takes
vm_lock for a non-NULL pointer): such a take changes no path unless the
lint tracks that argument for it alone, which the lint tells
(FileResult.when_tracked).  Where it tracks nothing the file is linted
once, as grant_table.c calls vfree(t->maptrack); where it does, the calls
made holding a lock by the functions no tracking reaches
(FileResult.held_untracked) are the first pass's too, and witness alone;
where they do not, both passes run; the findings are the whole-tree run's
either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import cold_runs, count_lints, small_tree
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.run import lint_files

# A take on the argument's say, and a take-only helper of the caller's lock.
_HELPERS = """struct domain { spinlock_t log_lock; int n; void *buf; };
static spinlock_t vm_lock;
static int vm_count;

void vm_release(void *p)
{
    if ( !p )
        return;
    spin_lock(&vm_lock);
    vm_count--;
    spin_unlock(&vm_lock);
}

void log_dom(struct domain *d)
{
    spin_lock(&d->log_lock);
    d->n++;
    spin_unlock(&d->log_lock);
}
"""

_DECLS = """struct domain { spinlock_t log_lock; int n; void *buf; };
void vm_release(void *p);
void log_dom(struct domain *d);
"""

# A header inline passing its own parameter on: what calls it with a
# variable makes the lint track that variable, though the file itself
# passes none to the helper.
_HEADER = """struct buf { spinlock_t lock; int n; };
void vm_release(void *p);

static inline void release_buf(void *b)
{
    vm_release(b);
}

static inline void buf_clear(struct buf *b)
{
    spin_lock(&b->lock);
    b->n = 0;
    spin_unlock(&b->lock);
}
"""

FILES = {
    # The argument is no variable: nothing tracked, linted once.
    "common/field.c": _DECLS + """
void teardown(struct domain *d)
{
    spin_lock(&d->log_lock);
    vm_release(d->buf);
    log_dom(d); /* expect: XL010 */
    spin_unlock(&d->log_lock);
}
""",
    # A variable, tracked anyway: it decides whether the lock is dropped.
    "common/tracked.c": _DECLS + """
void put(struct domain *d, void *p)
{
    spin_lock(&d->log_lock);
    vm_release(p);
    log_dom(d); /* expect: XL010 */
    if ( p )
    {
        d->n++;
        spin_unlock(&d->log_lock);
        return;
    }
    spin_unlock(&d->log_lock);
}
""",
    # A variable tracked for the take alone: the paths through "goto out"
    # are then told apart, and grab() becomes a guarded lock.
    "common/grab.c": _DECLS + """
static void grab(struct domain *d, void *p)
{
    if ( !p )
        goto out;
    spin_lock(&d->log_lock);
    vm_release(p);
    return;
 out:
    d->n = 0;
}

void user(struct domain *d)
{
    grab(d, d);
    log_dom(d);
    spin_unlock(&d->log_lock);
}
""",
    # A variable tracked for the take alone, in a function that holds no
    # lock: another one's held call witnesses for the first pass.
    "common/apart.c": _DECLS + """
void drop(void *p)
{
    vm_release(p);
}

void put(struct domain *d)
{
    spin_lock(&d->log_lock);
    vm_release(d->buf);
    log_dom(d); /* expect: XL010 */
    spin_unlock(&d->log_lock);
}
""",
    # The text passes no variable to the helper, a header inline does.
    "common/inline.c": "#include <xen/buf.h>\n" + _DECLS + """
void drop(struct domain *d, void *q)
{
    spin_lock(&d->log_lock);
    vm_release(d->buf);
    release_buf(q);
    log_dom(d);
    spin_unlock(&d->log_lock);
}
""",
}


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = small_tree(tmp_path / "xen", {"common/vm.c": _HELPERS, **FILES})
    (xen / "include" / "xen" / "buf.h").write_text(_HEADER)
    return xen


def _found(results) -> dict[str, list[tuple[int, str]]]:
    return {r.path: sorted((f.line, f.check) for f in r.findings) for r in results}


def test_when_tracked_says_what_the_take_alone_tracks(tree: Path) -> None:
    """Linted with the helpers' summaries: a variable is tracked for the
    take alone in grab.c and inline.c, in neither of the others."""
    config = LintConfig.load()
    helpers = lint_file(tree / "common/vm.c", "common/vm.c", config)
    assert helpers.exports["vm_release"].effects[0].when == "$0"
    for rel, tracked in (("common/field.c", False), ("common/tracked.c", False),
                         ("common/grab.c", True), ("common/inline.c", True),
                         ("common/apart.c", True)):
        r = lint_file(tree / rel, rel, config, helpers.exports)
        assert r.when_tracked is tracked, rel
        # Without the summaries, only grab()'s own take on its argument's
        # say (its lock, taken when p is not NULL) is there, and user()
        # passes a variable to it.
        assert lint_file(tree / rel, rel, config).when_tracked is (rel == "common/grab.c"), rel


def test_held_untracked_are_the_first_pass_calls(tree: Path) -> None:
    """What a function reaching a tracking one calls holding a lock may be
    the lint's own (grab.c: grab() a guarded lock, user() then holds it at
    log_dom(): left out); the other functions' held calls are the first
    pass's (apart.c: put()'s, though drop() tracks its argument)."""
    config = LintConfig.load()
    helpers = lint_file(tree / "common/vm.c", "common/vm.c", config)
    for rel in FILES:
        first = lint_file(tree / rel, rel, config)
        r = lint_file(tree / rel, rel, config, helpers.exports)
        assert r.held_untracked <= first.held_calls, rel
        if not r.when_tracked:
            assert r.held_untracked == r.held_calls, rel
    grab = lint_file(tree / "common/grab.c", "common/grab.c", config, helpers.exports)
    assert "log_dom" in grab.held_calls and "log_dom" not in grab.held_untracked
    apart = lint_file(tree / "common/apart.c", "common/apart.c", config, helpers.exports)
    assert "log_dom" in apart.held_untracked


def test_one_lint_with_a_take_on_an_argument(
        tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(tree.rglob("*.c"))
    whole = _found(lint_files([(p, str(p.relative_to(tree))) for p in files], jobs=1))
    assert whole["common/field.c"] == [(9, "XL010")]
    assert whole["common/tracked.c"] == [(9, "XL010")]
    assert whole["common/apart.c"] == [(14, "XL010")]

    linted = count_lints(monkeypatch)
    for rel, r in cold_runs(tree, FILES, tmp_path, monkeypatch, linted):
        assert _found([r])[rel] == whole[rel], rel
        if rel in ("common/field.c", "common/tracked.c", "common/apart.c"):
            # Once, with the summaries: the second pass surely runs (in
            # apart.c, put()'s held call says so, drop() tracks p).
            assert linted == [(rel, True)], linted
        else:
            # The first pass runs: in inline.c the lint run first tracked a
            # variable for the take alone in what holds the lock at
            # log_dom() and is no witness; in grab.c no lock operation is
            # seen before log_dom() in the text (once.after_acquires()).
            assert (rel, False) in linted, (rel, linted)
            assert linted[0] == ((rel, True) if rel == "common/inline.c" else (rel, False))
