"""The lint after a conversion: a raw rwlock call left on the converted lock
is XL004 even in a file that shows no percpu use of it, because the header
now declares the field percpu_rwlock_t."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from xensource import ROOT

from xenpatch.cli import main
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file

LEFTOVER = """#include <xen/sched.h>

int count_ports(struct domain *d)
{
    int n;

    read_lock(&d->event_lock);
    n = d->max_evtchns;
    read_unlock(&d->event_lock);
    return n;
}
"""


def test_missed_site_is_xl004_after_the_rewrite(tmp_path: Path) -> None:
    tree = Path(shutil.copytree(ROOT / "fixtures" / "xen", tmp_path / "t"))
    leftover = tree / "xen" / "common" / "leftover.c"
    config = LintConfig.load()

    leftover.write_text(LEFTOVER)
    # Before: event_lock is an rwlock_t, the calls are right.
    assert lint_file(leftover, "leftover.c", config).findings == []

    assert main(["rewrite", "--in-place", "--rule",
                 str(ROOT / "rules" / "event_lock.toml"), str(tree)]) == 0
    # The rewrite converted the file's calls too; put the raw ones back, as
    # a site the conversion missed (a new patch written against the old API).
    assert "read_lock(&d->event_lock)" not in leftover.read_text()
    leftover.write_text(LEFTOVER)
    # A new process: the header index is read once per process.
    r = subprocess.run([sys.executable, "-m", "xenpatch.cli", "lint", "leftover.c"],
                       cwd=leftover.parent, capture_output=True, text=True, check=False)
    assert r.returncode == 1, r.stderr
    found = [(line.split(": warning: ")[0], line.rsplit("[", 1)[1].rstrip("]"))
             for line in r.stdout.splitlines()]
    assert found == [("leftover.c:7:5", "XL004"), ("leftover.c:9:5", "XL004")]
