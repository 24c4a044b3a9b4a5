"""The cost model's per-operation counts against Xen 4.17's own lock code.

tests/cost/count.c runs each operation once on one thread over
xen/common/rwlock.c, spinlock.c and rwlock.h (the shim of the runtime's
real-C test, built with its counting hooks) and reports the atomic RMWs and
stores on the lock's memory and the full barriers; the model's uncontended
counts (one CPU, warm caches, the 4.17 queued rwlock) must be the same.
The 2016 tree's C (the grant table conversion's parent) is checked against
the 2016 model the same way when the Xen history is at hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from xenpatch.cost.counts import uncontended

pytestmark = pytest.mark.xen

HERE = Path(__file__).resolve().parent
CSHIM = HERE.parent / "runtime" / "cshim"
XEN_FILES = ("xen/include/xen/rwlock.h", "xen/common/rwlock.c", "xen/common/spinlock.c")
LINE = re.compile(r"^(\w+) rmw=(\d+) stores=(\d+) mb=(\d+)$")


def _unavailable(reason: str) -> None:
    if os.environ.get("XENPATCH_REQUIRE_XEN") == "1":
        pytest.fail(f"XENPATCH_REQUIRE_XEN=1 but {reason}")
    pytest.skip(reason)


def _build_and_run(xen: Path, out: Path, sources: list[Path],
                   extra_inc: list[Path]) -> dict[str, tuple]:
    gcc = shutil.which("gcc")
    if gcc is None:
        _unavailable("no gcc on PATH to build Xen's lock code for user space")
    exe = out / "count"
    inc = [a for d in extra_inc for a in ("-I", str(d))]
    cmd = [str(gcc), "-O2", "-DNDEBUG", "-DXS_COUNT", "-std=gnu99", "-fgnu89-inline",
           "-pthread", "-include", str(CSHIM / "xenshim.h"), *inc, "-I", str(CSHIM / "include"),
           "-I", str(xen / "xen/include"), "-o", str(exe), str(HERE / "count.c"),
           *map(str, sources)]
    built = subprocess.run(cmd, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-4000:]
    ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    found = {}
    for line in ran.stdout.splitlines():
        m = LINE.match(line)
        assert m, line
        found[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
    return found


@pytest.fixture(scope="module")
def c_counts(xen417: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """Xen 4.17: the queued rwlock in rwlock.c, the percpu rwlock's writer there too."""
    missing = [f for f in XEN_FILES if not (xen417 / f).is_file()]
    if missing:
        _unavailable(f"{xen417}: missing {', '.join(missing)}")
    return _build_and_run(xen417, tmp_path_factory.mktemp("cost-count"),
                          [xen417 / "xen/common/rwlock.c", xen417 / "xen/common/spinlock.c"], [])


@pytest.fixture(scope="module")
def c_counts_2016(xen2016: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """The 2016 tree (skipped without the Xen history): every lock is in
    spinlock.c; two headers it includes and the shim lacks are written here,
    as bench/real_c_2016.py does."""
    out = tmp_path_factory.mktemp("cost-count16")
    inc = out / "inc16" / "xen"
    inc.mkdir(parents=True)
    (inc / "config.h").write_text("/* empty: xenshim.h provides the configuration */\n")
    (inc / "rwlock.h").write_text("#include <xen/spinlock.h>\n")
    return _build_and_run(xen2016, out, [xen2016 / "xen/common/spinlock.c"], [out / "inc16"])


OPS = {
    "spinlock": ("spin_lock", "spin_unlock"),
    "rwlock": ("read_lock", "read_unlock", "write_lock", "write_unlock"),
    "percpu": ("percpu_read_lock", "percpu_read_unlock", "percpu_write_lock",
               "percpu_write_unlock"),
}


@pytest.mark.parametrize("kind", sorted(OPS))
@pytest.mark.parametrize(("era", "counts"), [("q417", "c_counts"), ("rw16", "c_counts_2016")])
def test_model_counts_equal_the_c(kind: str, era: str, counts: str,
                                  request: pytest.FixtureRequest) -> None:
    """Xen 4.17's C against the queued model, the 2016 tree's against rw16."""
    c_ops = request.getfixturevalue(counts)
    c = uncontended(kind, era)  # type: ignore[arg-type]
    model = {**c.read_ops, **c.write_ops}
    for op in OPS[kind]:
        m = model[op]
        assert (m.rmw, m.stores, m.full_barriers) == c_ops[op], op


def test_the_c_counts_are_not_all_zero(c_counts: dict[str, tuple]) -> None:
    """The hooks are wired: the RMW of a read_lock and the barrier of the
    percpu fast path are seen (a build without XS_COUNT sees neither)."""
    assert c_counts["read_lock"][0] == 1
    assert c_counts["percpu_read_lock"] == (0, 1, 1)
