"""What a conversion does to lock discipline: the lint's findings it adds.

A mechanical conversion is exact call by call and can still be wrong as a
whole.  Two read holds of one percpu rwlock owner on a CPU (two domains'
locks in ``iocaps_double_lock()``) were two plain rwlock reads, harmless;
as percpu reads they are legal but slow, and with the mirror image on
another CPU and writers on both they deadlock (docs: xen-locks H4, L10).
The 2016 grant table patch settled such places by hand.  So the files a
conversion changes are linted as they are and as the conversion leaves
them, in a copy of the tree's ``xen/`` holding the converted files (the
converted files need the converted headers: the field's new type, the
wrappers), and the findings the conversion adds are compared as ``lint
--since`` compares them (fingerprints, never lines).

The lint runs without the tree's summaries (``lint_checked()``: no cache
of the user's is read or written): a percpu read nested through another
file's helper is not seen here; ``series --check`` and the lint itself,
run on the converted tree, see what the tree's summaries add.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xenpatch.lint.findings import Finding
    from xenpatch.rewrite.run import Result


@dataclass(frozen=True)
class Recheck:
    """The lint's findings a conversion adds, and where it could not look."""

    added: list[Finding]
    # One line per gap in the lint's coverage of the converted files after
    # the conversion that is in a converted function or new with the
    # conversion (a function no longer analysed): "adds no finding" says
    # nothing of those.
    unchecked: list[str]


def recheck(root: Path, result: Result) -> Recheck:
    """The lint's findings in the C files ``result`` changes that the
    conversion adds, paths relative to ``root``, in report order, and the
    converted functions the lint could not analyse; nothing when the lint
    capability is not installed."""
    try:
        from xenpatch.lint import api
    except ImportError:
        return Recheck([], [])
    files = [p for p in result.changed if p.endswith(".c")]
    if not files:
        return Recheck([], [])
    # Anything the lint prints goes to stderr: stdout carries the diff or
    # the JSON report.
    with contextlib.redirect_stdout(sys.stderr), \
            tempfile.TemporaryDirectory(prefix="xenpatch-recheck-") as tmp:
        before = api.lint_checked([root / p for p in files], root)
        after_root = Path(tmp)
        _converted_copy(root, after_root, result)
        after = api.lint_checked([after_root / p for p in files], after_root)
    texts = ({p: result.old[p] for p in files}, {p: result.new[p] for p in files})
    converted = {(s.path, s.function) for s in result.plan.sites}
    had = before.gap_functions()
    unchecked = after.gaps(lambda path, fn: (path, fn) in converted or (path, fn) not in had)
    return Recheck(api.new_findings_of(before.findings, after.findings, texts), unchecked)


# What a build leaves in a tree, which no lint reads (a built Xen holds
# hundreds of megabytes of it).
_BUILT = shutil.ignore_patterns("*.o", "*.a", "*.d", "*.cmd", "*.gz", "*.efi", "*.bin",
                                "*.map", "*.elf", "xen-syms*", ".git")


def _converted_copy(root: Path, dest: Path, result: Result) -> None:
    """``root``'s top folders the conversion touches, copied into ``dest``
    (symbolic links kept as links, build outputs left out), with the tree's
    MISRA deviation list (the lint's suppressions read it), the converted
    files written over them."""
    for top in sorted({p.split("/", 1)[0] for p in result.changed}):
        shutil.copytree(root / top, dest / top, symlinks=True, ignore=_BUILT)
    safe = Path("docs", "misra", "safe.json")
    if (root / safe).is_file():
        (dest / safe).parent.mkdir(parents=True)
        shutil.copyfile(root / safe, dest / safe)
    for p in result.changed:
        target = dest / p
        if target.is_symlink():
            target.unlink()
        target.write_bytes(result.new[p])


__all__ = ["Recheck", "recheck"]
