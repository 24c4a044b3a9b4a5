"""How much of the upstream conversions (eede22972f, 66ea5ed478) the rules reproduce.

    .venv/bin/python bench/upstream_2016.py

Exports ef9dd43ddd from the public Xen history (XENPATCH_XEN_MIRROR, default
/work/.mirror/xen-project+xen/repo), runs rules/grant_table.toml on it and
prints: upstream code lines reproduced / changed upstream, stray differences,
the wall time of the rewrite and of `git apply --check` of its diff.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from conftest import git_tree_at  # noqa: E402
from upstream_check import GRANT_TABLE, P2M, compare  # noqa: E402

from xenpatch.rewrite.run import run_rule  # noqa: E402
from xenpatch.rules import load_rule  # noqa: E402


def main() -> int:
    for up in (GRANT_TABLE, P2M):
        with tempfile.TemporaryDirectory() as tmp:
            tree = git_tree_at(up.parent, Path(tmp) / "tree")
            t0 = time.perf_counter()
            result = run_rule(tree, load_rule(ROOT / "rules" / up.rule), jobs=2)
            elapsed = time.perf_counter() - t0
            (Path(tmp) / "d.diff").write_text(result.diff())
            subprocess.run(["git", "init", "-q", str(tree)], check=True)
            check = subprocess.run(["git", "apply", "--check", str(Path(tmp) / "d.diff")],
                                   cwd=tree, capture_output=True, text=True)
            matched, total, stray = compare(tree, up)
        print(f"== rules/{up.rule} on {up.parent} vs {up.commit}")
        print(f"upstream code lines reproduced: {matched}/{total}")
        print(f"stray code-line differences:    {len(stray)}")
        print(f"sites converted:                {len(result.plan.sites)}")
        print(f"files scanned:                  {result.files_scanned}")
        print(f"rewrite wall time (jobs=2):     {elapsed:.2f} s")
        print(f"git apply --check:              {'ok' if check.returncode == 0 else check.stderr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
