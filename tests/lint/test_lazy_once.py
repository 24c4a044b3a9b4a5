"""One file of a tree linted from an empty cache is linted once, with the
other files' summaries, when a whole-tree run's second pass surely lints it
so (lint/once.py); its findings stay the whole-tree run's in every case."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import cold_runs, count_lints, small_tree
from xenpatch.lint.once import plain_takes
from xenpatch.lint.run import lint_files

# A helper that takes and drops its argument's lock (a take-only summary),
# and one that drops it (more than a take).
HELPERS = """struct domain { spinlock_t log_lock; int n; };

void log_dom(struct domain *d)
{
    spin_lock(&d->log_lock);
    d->n++;
    spin_unlock(&d->log_lock);
}

void drop_log(struct domain *d)
{
    spin_unlock(&d->log_lock);
}
"""

FILES = {
    # The take-only helper called with its lock held: a self-deadlock only
    # its summary shows (and the second pass runs because a lock is held).
    "common/held.c": """struct domain { spinlock_t log_lock; int n; };
void log_dom(struct domain *d);

void under(struct domain *d)
{
    spin_lock(&d->log_lock);
    log_dom(d); /* expect: XL010 */
    spin_unlock(&d->log_lock);
}
""",
    # The same helper where nothing is held, in a file naming its lock
    # elsewhere: the whole-tree run keeps its first pass.
    "common/free.c": """struct domain { spinlock_t log_lock; int n; };
void log_dom(struct domain *d);

void outside(struct domain *d)
{
    log_dom(d);
}

void after(struct domain *d)
{
    spin_lock(&d->log_lock);
    d->n++;
    spin_unlock(&d->log_lock);
    log_dom(d);
}

int count(struct domain *d)
{
    int n;

    spin_lock(&d->log_lock);
    n = d->n;
    spin_unlock(&d->log_lock);
    return n;
}
""",
    # The releasing helper: without its summary the lock seems leaked.
    "common/drops.c": """struct domain { spinlock_t log_lock; int n; };
void drop_log(struct domain *d);

void handed(struct domain *d)
{
    spin_lock(&d->log_lock);
    d->n = 0;
    drop_log(d);
}
""",
    # A file defining a helper of the same name as another file's (each
    # architecture's): its own definition is what it calls.
    "arch/y/own.c": """struct domain { spinlock_t log_lock; int n; };

void drop_log(struct domain *d)
{
    d->n = 1;
}

void mine(struct domain *d)
{
    spin_lock(&d->log_lock);
    drop_log(d);
}
""",
}


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    return small_tree(tmp_path / "xen", {"common/log.c": HELPERS, **FILES})


def _found(results) -> dict[str, list[tuple[int, str]]]:
    return {r.path: sorted((f.line, f.check) for f in r.findings) for r in results}


def test_one_lint_where_the_second_pass_surely_runs(
        tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(tree.rglob("*.c"))
    whole = _found(lint_files([(p, str(p.relative_to(tree))) for p in files], jobs=1))
    # The shapes are there: each helper's summary changes a finding.
    assert whole["common/held.c"] == [(7, "XL010")]
    assert whole["common/drops.c"] == []
    assert whole["arch/y/own.c"] == [(12, "XL001")]
    alone = _found(lint_files([(tree / "common/drops.c", "common/drops.c")], jobs=1,
                              tree=False))
    assert alone["common/drops.c"] == [(9, "XL001")]

    linted = count_lints(monkeypatch)
    for rel, r in cold_runs(tree, FILES, tmp_path, monkeypatch, linted):
        assert _found([r])[rel] == whole[rel], rel
        if rel in ("common/held.c", "common/drops.c"):
            # Once, with the helpers' summaries.
            assert linted == [(rel, True)], rel
        if rel == "common/free.c":
            # Where nothing is held, the first pass's result stands (the
            # text, a call after a lock operation, may make the lint with
            # the summaries run first: its held calls say no).
            assert linted[-1] == (rel, False), linted
        # Warm: nothing linted again.
        linted.clear()
        [r] = lint_files([(tree / rel, rel)], jobs=1)
        assert _found([r])[rel] == whole[rel] and linted == [], rel


def test_plain_takes_only() -> None:
    """A take decided by an argument, a try-like helper's, or one with
    out-parameters may change the caller's paths: not plain."""
    from xenpatch.analysis.locktable import Effect, Summary

    take = Effect("take", "spin", "write", "plain", "$0->l", None, "f", inferred=True)
    assert plain_takes(Summary((take,), None))
    assert not plain_takes(Summary((take,), "nz"))
    assert not plain_takes(Summary((take,), None, guard=1))
    assert not plain_takes(Summary((take,), None, outs=((1, "nz", "zero"),)))
    from dataclasses import replace

    assert not plain_takes(Summary((replace(take, when="$1"),), None))
    # On an argument's say: plain enough when the lint says it tracked
    # nothing for it (FileResult.when_tracked).
    assert plain_takes(Summary((replace(take, when="$1"),), None), said=True)
    assert not plain_takes(Summary((replace(take, nonnull="$1"),), None), said=True)
    assert not plain_takes(Summary((replace(take, mode_arg="$1"),), None), said=True)
    assert not plain_takes(Summary((take,), "nz"), said=True)
    assert not plain_takes(Summary((replace(take, action="release"),), None))
