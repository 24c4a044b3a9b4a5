"""What taking a call through a struct field as a call of every function
the tree stores in that field would give (issue 9, item 5).

    .venv/bin/python bench/fnptr_takes.py XEN_DIR

Pass 1 lints every C file of XEN_DIR alone and, per file, finds the
functions it stores into fields (analysis/fnptrs.py: ``.read = f``,
``ops->read = f``) and the locks each takes (its summary's takes).  The
tree's fields then get a summary each: the takes of all their targets, as
may-takes naming them (one target: as its own).  Pass 2 lints every file
with the tree's summaries plus those, the call of ``p->read(...)`` resolved
as ``->read`` (call_name wrapped in the workers, for this measurement only),
and prints the findings that differ from the plain pass 2, for every field
("all") and for the fields with one target in the tree ("single").  Not
built into the lint; the figures are in docs/lint-findings/other-releases.md.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tree_sitter import Node  # noqa: E402

from xenpatch.analysis import actions, fnptrs  # noqa: E402
from xenpatch.analysis.fileanalysis import FileAnalysis  # noqa: E402
from xenpatch.analysis.headers import header_index  # noqa: E402
from xenpatch.analysis.locktable import Effect, Summary  # noqa: E402
from xenpatch.c.source import SourceError, SourceFile  # noqa: E402
from xenpatch.lint.config import LintConfig  # noqa: E402
from xenpatch.lint.filelint import _parse, lint_file  # noqa: E402
from xenpatch.lint.treeexports import tree_exports  # noqa: E402

Finding = tuple[str, str, int, str]
Stored = dict[str, list[tuple[str, list[Effect]]]]
_CONFIG: list[LintConfig] = []


def _field_calls(orig: Callable[[SourceFile, Node], str | None],
                 ) -> Callable[[SourceFile, Node], str | None]:
    def call_name(src: SourceFile, call: Node) -> str | None:
        name = orig(src, call)
        fn = call.child_by_field_name("function")
        if name is not None or fn is None:
            return name
        fn = fnptrs.strip(fn)
        f = fn.child_by_field_name("field") if fn.type == "field_expression" else None
        return "->" + src.text(f) if f is not None else None

    return call_name


def _init() -> None:
    _CONFIG.append(LintConfig.load(ROOT / "rules"))
    actions.call_name = _field_calls(actions.call_name)  # type: ignore[assignment]


def _first(job: tuple[str, str]) -> tuple[str, dict[str, Summary], Stored]:
    path, rel = job
    config = _CONFIG[0]
    r = lint_file(Path(path), rel, config)
    stored: Stored = {}
    try:
        src = _parse(rel, Path(path).read_bytes(), config, Path(path))
    except (OSError, SourceError):
        return rel, r.exports, stored
    fa = FileAnalysis(config, src, header_index(Path(path)), None)
    fa.relevant()
    for field, names in fnptrs.index(src, list(fa.fns)).stored.items():
        for n in sorted(names):
            s = fa.summary_of(n)
            stored.setdefault(field, []).append(
                (n, [e for e in (s.effects if s else ()) if e.action in ("take", "acquire")]))
    return rel, r.exports, stored


def _second(job: tuple[str, str, dict[str, Summary]]) -> tuple[str, set[Finding]]:
    path, rel, external = job
    r = lint_file(Path(path), rel, _CONFIG[0], external)
    return rel, {(f.function, f.check, f.line, f.message) for f in r.findings}


def _field_summaries(targets: dict[str, list[tuple[str, str, list[Effect]]]],
                     single: bool) -> dict[str, Summary]:
    out: dict[str, Summary] = {}
    for field, ts in targets.items():
        if single and len(ts) != 1:
            continue
        effects: dict[str, Effect] = {}
        for rel, name, takes in ts:
            for e in takes:
                some = len(ts) > 1 or e.origin is not None or e.when is not None
                effects.setdefault(e.key, Effect(
                    "take", e.kind, e.mode, e.flavour, e.key, e.owner, f"->{field}",
                    inferred=True, origin=f"{name}() stored in ->{field} ({Path(rel).name})"
                    if some else None))
        out["->" + field] = Summary(tuple(effects.values()), None)
    return out


def main() -> int:
    root = Path(sys.argv[1])
    files = [(str(p), str(p.relative_to(root))) for p in sorted(root.rglob("*.c"))]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2, initializer=_init) as pool:
        first = list(pool.map(_first, files, chunksize=8))
        exports = tree_exports(e for _, e, _ in first)
        targets: dict[str, list[tuple[str, str, list[Effect]]]] = {}
        for rel, _, stored in first:
            for field, lst in stored.items():
                targets.setdefault(field, []).extend((rel, n, t) for n, t in lst)
        taking = {f: t for f, t in targets.items() if any(tk for _, _, tk in t)}
        print(f"pass 1: {time.perf_counter() - t0:.0f} s; {len(targets)} fields stored "
              f"into, {len(taking)} with a target that takes a lock")
        for f, t in sorted(taking.items()):
            names = ", ".join(f"{n}({Path(rel).name})" for rel, n, tk in t if tk)
            print(f"  ->{f}: {len(t)} targets, {sum(1 for x in t if x[2])} take: {names[:200]}")
        base = dict(pool.map(_second, [(p, r, exports) for p, r in files], chunksize=8))
        print(f"plain pass 2: {sum(map(len, base.values()))} findings")
        for variant in ("all", "single"):
            more = {**exports, **_field_summaries(taking, variant == "single")}
            got = dict(pool.map(_second, [(p, r, more) for p, r in files], chunksize=8))
            plus = [(r, f) for r in sorted(got) for f in sorted(got[r] - base.get(r, set()))]
            minus = [(r, f) for r in sorted(base) for f in sorted(base[r] - got.get(r, set()))]
            print(f"{variant}: {len(plus)} findings added, {len(minus)} removed")
            for r, f in plus:
                print(f"  + {r} {f}")
            for r, f in minus:
                print(f"  - {r} {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
