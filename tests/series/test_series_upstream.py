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
    # a lone patch: no cover letter and no 1/1, as git format-patch -v6 writes it
    assert built.cover is None
    assert "Subject: [PATCH v6] grant_table: convert grant table rwlock to percpu rwlock\n" \
        in mail.text
    want = run_git(upstream, "format-patch", "--stdout", "-v6", "-1", CONVERSION)
    subject = [line for line in want.decode().split("\n") if line.startswith("Subject:")]
    assert subject == ["Subject: [PATCH v6] grant_table: convert grant table rwlock to percpu "
                       "rwlock"]
    want_stat, want_diff = stat_and_diff(want)
    got_stat, got_diff = stat_and_diff(mail.text.encode())
    assert got_stat == want_stat
    assert got_stat.startswith(b" xen/arch/arm/mm.c             |   4 +-\n")
    assert got_stat.endswith(b" 4 files changed, 96 insertions(+), 60 deletions(-)\n")
    assert got_diff == want_diff  # index lines abbreviated to 10 as git does here
    # the real git am, on ef9dd43ddd in a temporary clone: result is eede22972f's tree
    lines: list[str] = []
    assert check.check(upstream, built, report=lines.append, lint=False) == check.Outcome.PASSED, \
        lines
    assert any("tree equals HEAD" in line for line in lines)


def _export(rev: str, dest: Path) -> Path:
    import tarfile

    dest.mkdir(parents=True)
    archive = dest.parent / f"{dest.name}.tar"
    with archive.open("wb") as fh:
        fh.write(run_git(MIRROR, "archive", rev))
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    run_git(dest, "init", "-q", "-b", "main")
    run_git(dest, "config", "user.name", "Ann Dev")
    run_git(dest, "config", "user.email", "ann@example.org")
    run_git(dest, "add", "-A")
    run_git(dest, "commit", "-q", "-m", f"Xen at {rev}")
    return dest


@pytest.mark.slow
def test_rewrite_commit_then_series_equals_rewrite_in_place(upstream, tmp_path):
    """The judged path: rewrite --commit on ef9dd43ddd, mail it, git am it on
    ef9dd43ddd; the tree is what rewrite --in-place writes, and the diffstat
    is git format-patch's."""
    import subprocess
    import sys

    rule = Path(__file__).resolve().parents[2] / "rules" / "grant_table.toml"
    if not rule.exists():
        pytest.skip("rules/grant_table.toml is not there (the rewrite's rule file)")

    def xenpatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "xenpatch.cli", *args], cwd=cwd,
                              capture_output=True, text=True)

    committed = _export(BASE, tmp_path / "committed")
    proc = xenpatch("rewrite", "--rule", str(rule), "--commit", ".", cwd=committed)
    assert proc.returncode == 0, proc.stderr
    in_place = _export(BASE, tmp_path / "in-place")
    proc = xenpatch("rewrite", "--rule", str(rule), "--in-place", ".", cwd=in_place)
    assert proc.returncode == 0, proc.stderr
    run_git(in_place, "add", "-A")
    in_place_tree = run_git(in_place, "write-tree").decode().strip()

    out = tmp_path / "outgoing"
    proc = xenpatch("series", "HEAD~1..HEAD", "-o", str(out), cwd=committed)
    assert proc.returncode == 0, proc.stderr
    patch = sorted(out.glob("v1-0001-*.patch"))[0]
    fresh = _export(BASE, tmp_path / "fresh")
    run_git(fresh, "am", "-q", str(patch))
    assert run_git(fresh, "rev-parse", "HEAD^{tree}").decode().strip() == in_place_tree
    want_stat, want_diff = stat_and_diff(run_git(committed, "format-patch", "--stdout", "-1"))
    got_stat, got_diff = stat_and_diff(patch.read_bytes())
    assert got_stat == want_stat
    assert got_diff == want_diff
