"""The upstream grant table conversion (eede22972f on ef9dd43ddd), mailed by
xenpatch: `git am` takes it, and its diffstat and diff are git's to the byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _seriesutil import run_git, stat_and_diff

from xenpatch.series import check
from xenpatch.series import series as series_mod

MIRROR = Path(os.environ.get("XENPATCH_XEN_MIRROR", "/work/.mirror/xen-project+xen/repo"))
BASE, CONVERSION = "ef9dd43ddd", "eede22972f"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (MIRROR / "HEAD").exists():
        pytest.skip(f"no clone of the public Xen history at {MIRROR} (XENPATCH_XEN_MIRROR)")
    repo = tmp_path_factory.mktemp("upstream") / "xen"
    # --shared: the 170 MB of history stay where they are
    run_git(repo.parent, "clone", "-q", "--shared", "--no-checkout", str(MIRROR), str(repo))
    run_git(repo, "config", "user.name", "Ann Dev")
    run_git(repo, "config", "user.email", "ann@example.org")
    return repo


@pytest.mark.slow
def test_upstream_conversion_applies_and_matches_format_patch(upstream, tmp_path):
    built = series_mod.build(upstream, series_mod.Options(spec=f"{BASE}..{CONVERSION}",
                                                           version=6))
    assert len(built.patches) == 1
    mail = built.patches[0]
    assert "Subject: [PATCH v6 1/1] grant_table: convert grant table rwlock to percpu\n rwlock" \
        in mail.text
    want = run_git(upstream, "format-patch", "--stdout", "-1", CONVERSION)
    want_stat, want_diff = stat_and_diff(want)
    got_stat, got_diff = stat_and_diff(mail.text.encode())
    assert got_stat == want_stat
    assert got_stat.startswith(b" xen/arch/arm/mm.c             |   4 +-\n")
    assert got_stat.endswith(b" 4 files changed, 96 insertions(+), 60 deletions(-)\n")
    assert got_diff == want_diff  # index lines abbreviated to 10 as git does here
    # the real git am, on ef9dd43ddd in a temporary clone: result is eede22972f's tree
    lines: list[str] = []
    assert check.check(upstream, built, report=lines.append, lint=False), lines
    assert any("tree equals HEAD" in line for line in lines)
