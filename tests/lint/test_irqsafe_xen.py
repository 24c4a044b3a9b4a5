"""XL017 on Debian's Xen 4.17, file by file as the pre-commit hook lints:
a tasklet function taking plainly a file-scope lock the file takes with
``spin_lock_irqsave()`` (an IRQ-unsafe take of an IRQ-safe lock) is planted
at the end of files found by a scan, and each is reported at the planted
take with a note at one of the file's IRQ-off takes of that lock.  The
unplanted tree has no XL017 (docs/lint-findings/xen-4.17.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xenpatch.lint.run import lint_files

pytestmark = [pytest.mark.xen, pytest.mark.slow]

_DEFINED = re.compile(rb"^static\s+DEFINE_SPINLOCK\(\s*(\w+)\s*\)", re.M)

PLANT = """
static void cf_check xenpatch_planted_work(void *unused)
{
    spin_lock(&%(lock)s);
    spin_unlock(&%(lock)s);
}

static void xenpatch_planted_setup(struct tasklet *t)
{
    tasklet_init(t, xenpatch_planted_work, NULL);
}
"""


def _sites(xen: Path, most: int) -> list[tuple[Path, str]]:
    """(file, lock) for file-scope spinlocks the file takes with _irqsave."""
    out: list[tuple[Path, str]] = []
    for p in sorted(xen.rglob("*.c")):
        raw = p.read_bytes()
        for m in _DEFINED.finditer(raw):
            name = m.group(1)
            if re.search(rb"spin_lock_irqsave\s*\(\s*&" + name + rb"\s*,", raw):
                out.append((p, name.decode()))
                break
        if len(out) == most:
            break
    return out


def test_planted_irq_unsafe_take_is_reported(xen417: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path))
    xen = xen417 / "xen"
    sites = _sites(xen, 6)
    assert len(sites) == 6
    missed = []
    for path, lock in sites:
        raw = path.read_bytes()
        text = raw + (PLANT % {"lock": lock}).encode()
        line = raw.count(b"\n") + 4  # the planted spin_lock()
        [r] = lint_files([(path, str(path))], jobs=1, contents={path: text})
        hits = [f for f in r.findings if f.check == "XL017" and f.line == line]
        if not hits:
            missed.append(f"{path.relative_to(xen)} {lock}")
            continue
        f = hits[0]
        assert f.function == "xenpatch_planted_work"
        other = raw.decode(errors="replace").splitlines()[f.flow[0].line - 1]
        assert lock in other and "IRQs off" in f.flow[0].note, (f, other)
        assert [x for x in r.findings if x.check == "XL017" and x is not f] == []
    assert missed == []
