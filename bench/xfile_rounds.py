"""What further rounds of cross-file summaries would give (issue 9, item 5).

    .venv/bin/python bench/xfile_rounds.py XEN_DIR [ROUNDS]

Round 1 lints every C file of XEN_DIR alone; round k lints every file with
the tree's summaries of round k-1 (tree_exports, as the runner's second
pass has them), so round 2 is what `xenpatch lint` reports today.  Prints,
per round, the wall time, the findings, how many exported summaries changed
(and in how many files), then each finding a later round adds to or removes
from round 2's.  Rounds re-lint every file: a bounded fixpoint would re-lint
only the callers of the changed names.  Measured for the decision recorded
in docs/lint-findings/other-releases.md; not a test.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xenpatch.analysis.locktable import Summary  # noqa: E402
from xenpatch.lint.config import LintConfig  # noqa: E402
from xenpatch.lint.filelint import lint_file  # noqa: E402
from xenpatch.lint.treeexports import tree_exports  # noqa: E402

Finding = tuple[str, str, int, str]
_CONFIG: list[LintConfig] = []


def _init() -> None:
    _CONFIG.append(LintConfig.load(ROOT / "rules"))


def _lint(job: tuple[str, str, dict[str, Summary] | None],
          ) -> tuple[str, set[Finding], dict[str, Summary]]:
    path, rel, external = job
    r = lint_file(Path(path), rel, _CONFIG[0], external)
    return rel, {(f.function, f.check, f.line, f.message) for f in r.findings}, r.exports


def main() -> int:
    root = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    files = sorted(root.rglob("*.c"))
    found: dict[int, dict[str, set[Finding]]] = {}
    exports: dict[str, Summary] | None = None
    with ProcessPoolExecutor(2, initializer=_init) as pool:
        for k in range(1, rounds + 1):
            t0 = time.perf_counter()
            jobs = [(str(p), str(p.relative_to(root)), exports) for p in files]
            out = list(pool.map(_lint, jobs, chunksize=8))
            found[k] = {rel: fs for rel, fs, _ in out}
            new = tree_exports(e for _, _, e in out)
            old = exports or {}
            changed = {n for n in set(new) | set(old) if old.get(n) != new.get(n)}
            where = {rel for rel, _, e in out if not changed.isdisjoint(e)}
            print(f"round {k}: {time.perf_counter() - t0:.1f} s, "
                  f"{sum(map(len, found[k].values()))} findings, {len(new)} exports, "
                  f"{len(changed)} changed (in {len(where)} files)", flush=True)
            exports = new
    for k in range(3, rounds + 1):
        for rel in sorted(found[k]):
            for f in sorted(found[k][rel] - found[2].get(rel, set())):
                print(f"  round {k} adds {rel} {f}")
            for f in sorted(found[2].get(rel, set()) - found[k][rel]):
                print(f"  round {k} removes {rel} {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
