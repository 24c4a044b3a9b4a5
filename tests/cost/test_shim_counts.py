"""The cost model's per-operation counts against Xen 4.17's own lock code.

tests/cost/count.c runs each operation once on one thread over
xen/common/rwlock.c, spinlock.c and rwlock.h (the shim of the runtime's
real-C test, built with its counting hooks) and reports the atomic RMWs and
stores on the lock's memory and the full barriers; the model's uncontended
counts (one CPU, warm caches, the 4.17 queued rwlock) must be the same.
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


@pytest.fixture(scope="module")
def c_counts(xen417: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    gcc = shutil.which("gcc")
    if gcc is None:
        _unavailable("no gcc on PATH to build Xen's lock code for user space")
    missing = [f for f in XEN_FILES if not (xen417 / f).is_file()]
    if missing:
        _unavailable(f"{xen417}: missing {', '.join(missing)}")
    exe = tmp_path_factory.mktemp("cost-count") / "count"
    cmd = [str(gcc), "-O2", "-DNDEBUG", "-DXS_COUNT", "-std=gnu99", "-fgnu89-inline",
           "-pthread", "-include", str(CSHIM / "xenshim.h"), "-I", str(CSHIM / "include"),
           "-I", str(xen417 / "xen/include"), "-o", str(exe), str(HERE / "count.c"),
           str(xen417 / "xen/common/rwlock.c"), str(xen417 / "xen/common/spinlock.c")]
    built = subprocess.run(cmd, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-4000:]
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    found = {}
    for line in out.stdout.splitlines():
        m = LINE.match(line)
        assert m, line
        found[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
    return found


OPS = {
    "spinlock": ("spin_lock", "spin_unlock"),
    "rwlock": ("read_lock", "read_unlock", "write_lock", "write_unlock"),
    "percpu": ("percpu_read_lock", "percpu_read_unlock", "percpu_write_lock",
               "percpu_write_unlock"),
}


@pytest.mark.parametrize("kind", sorted(OPS))
def test_model_counts_equal_the_c(kind: str, c_counts: dict[str, tuple]) -> None:
    c = uncontended(kind, "q417")  # type: ignore[arg-type]
    model = {**c.read_ops, **c.write_ops}
    for op in OPS[kind]:
        m = model[op]
        assert (m.rmw, m.stores, m.full_barriers) == c_counts[op], op


def test_the_c_counts_are_not_all_zero(c_counts: dict[str, tuple]) -> None:
    """The hooks are wired: the RMW of a read_lock and the barrier of the
    percpu fast path are seen (a build without XS_COUNT sees neither)."""
    assert c_counts["read_lock"][0] == 1
    assert c_counts["percpu_read_lock"] == (0, 1, 1)
