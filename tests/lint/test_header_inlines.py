"""``xenpatch lint DIR`` also lints the static inline functions of the
headers under DIR, once each (not once per C file including them)."""

from __future__ import annotations

from collections import Counter

from lint.test_fixtures import expected
from xenpatch.lint.inputs import collect_files
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

DIR = fixtures_dir() / "lint" / "headers"


def test_header_inlines_linted_once() -> None:
    files = collect_files([DIR])
    assert any(name.endswith("ring.h") for _, name in files)
    results = lint_files(files, jobs=1, tree=False)
    found = Counter((r.path.rsplit("/", 1)[-1], f.line, f.check)
                    for r in results for f in r.findings)
    want = Counter(("ring.h", line, check) for line, check in expected(DIR / "ring.h"))
    assert found == want


def test_a_named_c_file_does_not_lint_its_headers() -> None:
    # The hook's case: the files named are linted, nothing more.
    p = DIR / "producer.c"
    results = lint_files([(p, p.name)], jobs=1, tree=False)
    assert [r.path for r in results] == ["producer.c"]
    assert [f for r in results for f in r.findings] == []
