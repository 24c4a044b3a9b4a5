"""Recipients compared with the real scripts/get_maintainer.pl --no-git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _seriesutil import commit, run_git, xen_source_tree

from xenpatch.series import series as series_mod
from xenpatch.series.maintainers import Maintainers, patch_files

XEN_FILES = [
    "xen/arch/x86/mm.c", "xen/arch/arm/mm.c", "xen/common/grant_table.c",
    "xen/common/sched/core.c", "xen/drivers/passthrough/vtd/iommu.c",
    "xen/drivers/passthrough/amd/iommu_init.c", "xen/arch/x86/hvm/svm/svm.c",
    "xen/arch/x86/hvm/vmx/vmx.c", "xen/arch/x86/acpi/boot.c", "xen/drivers/acpi/tables.c",
    "tools/libs/light/libxl_create.c", "tools/xenstore/xenstored_core.c",
    "tools/ocaml/libs/xc/xenctrl.ml", "docs/misc/xen-command-line.pandoc",
    "xen/include/public/xen.h", "xen/common/event_channel.c",
    "xen/arch/x86/cpu/microcode/amd.c", "xen/xsm/flask/hooks.c", "xen/common/argo.c",
    "tools/firmware/hvmloader/hvmloader.c", "stubdom/Makefile", "xen/drivers/char/ns16550.c",
    "xen/common/livepatch.c", "xen/arch/x86/x86_emulate/x86_emulate.c",
    "xen/drivers/passthrough/device_tree.c", "xen/arch/arm/vgic.c", "tools/misc/xenpm.c",
    "xen/common/efi/boot.c", "xen/arch/x86/mm/shadow/common.c", "xen/drivers/vpci/msi.c",
    "README",
]
# patches spanning owners, a rename and a new file
XEN_MULTI = [
    ("xen/common/grant_table.c", "xen/arch/x86/mm.c", "xen/arch/arm/mm.c"),
    ("tools/misc/xenpm.c", "xen/common/sched/core.c"),
]


def _get_maintainer(tree: Path, script: Path, patch: Path) -> set[str]:
    proc = subprocess.run(["perl", str(script), "--no-git", str(patch)], cwd=tree,
                          capture_output=True, text=True, check=True)
    return {line for line in proc.stdout.splitlines() if line.strip()}


def _build_and_compare(repo: Path, base: str, tree: Path, script: Path, tmp: Path) -> int:
    """Build the series twice (with and without recipients: get_maintainer
    reads K: keywords from the whole mail, which must not see its own To/Cc)
    and compare every patch's To+Cc with what the perl script says."""
    with_r = series_mod.build(repo, series_mod.Options(spec=f"{base}..HEAD", now=1))
    bare = series_mod.build(repo, series_mod.Options(spec=f"{base}..HEAD", now=1,
                                                      maintainers=False))
    compared = 0
    for ours, plain in zip(with_r.patches, bare.patches, strict=True):
        path = tmp / plain.filename
        path.write_text(plain.text)
        want = _get_maintainer(tree, script, path)
        got = set(ours.to) | set(ours.cc)
        assert got == want, f"{plain.filename}: files {plain.files}"
        compared += 1
    union = set(with_r.cover.to) | set(with_r.cover.cc)
    assert union == set().union(*[set(p.to) | set(p.cc) for p in with_r.patches])
    return compared


@pytest.mark.xen
@pytest.mark.slow
def test_recipients_equal_get_maintainer_on_xen_417(tmp_path):
    src = xen_source_tree()
    tree = tmp_path / "xen"
    shutil.copytree(src, tree, symlinks=True)
    run_git(tree, "init", "-q", "-b", "main")
    run_git(tree, "config", "user.name", "Ann Dev")
    run_git(tree, "config", "user.email", "ann@example.org")
    run_git(tree, "add", "-A")
    run_git(tree, "commit", "-q", "-m", "Xen 4.17 as Debian ships it")
    base = run_git(tree, "rev-parse", "HEAD").decode().strip()
    for path in XEN_FILES:
        text = (tree / path).read_bytes() + b"\n/* touched by a test */\n"
        commit(tree, {path: text}, f"touch {path}")
    for paths in XEN_MULTI:
        commit(tree, {p: (tree / p).read_bytes() + b"/* again */\n" for p in paths},
               f"touch {len(paths)} areas")
    run_git(tree, "mv", "xen/drivers/vpci/msi.c", "xen/drivers/vpci/msi2.c")
    commit(tree, {}, "vpci: rename a file")
    commit(tree, {"xen/arch/x86/hvm/new_file.c": "int x;\n"}, "x86/hvm: new file")
    out = tmp_path / "perl-in"
    out.mkdir()
    compared = _build_and_compare(tree, base, tree, tree / "scripts/get_maintainer.pl", out)
    assert compared >= 20


SYNTHETIC = """\
Intro text, not a section.
\tM: Mail patches to: FullName <address@domain>

ALPHA DRIVERS
M:\tAlice Example <alice@example.org>
R:\tRob O'Reviewer <rob@example.org>
S:\tMaintained
F:\tdrivers/alpha
F:\tdrivers/net/*.c
X:\tdrivers/alpha/legacy/
K:\tspinlock_t\\s+alpha_lock

BETA {BRACES}
M:\tBeta Person <beta@example.org>
L:\tbeta-list@example.org (moderated for non-subscribers)
S:\tOdd Fixes
F:\tlib/{one,two,three}.c
F:\t*/beta/
N:\tgamma

DOCS
M:\tDora Docs <dora@example.org>
S:\tSupported
F:\tdocs/

THE REST
M:\tRest One <rest1@example.org>
M:\tRest Two <rest2@example.org>
L:\tdevel@lists.example.org
S:\tSupported
F:\t*
F:\t*/
V:\txen-maintainers-1
"""


def test_parser_rules_on_a_synthetic_file():
    dirs = {"drivers", "drivers/alpha", "drivers/net", "lib", "docs"}
    m = Maintainers.parse(SYNTHETIC, dirs.__contains__)

    def addrs(files: list[str], text: str = "") -> set[str]:
        return {r.address for r in m.recipients(files, text)}

    alice = "Alice Example <alice@example.org>"
    rob = "\"Rob O'Reviewer\" <rob@example.org>"
    rest = {"Rest One <rest1@example.org>", "Rest Two <rest2@example.org>",
            "devel@lists.example.org"}
    # a directory named without slash matches everything below it
    assert addrs(["drivers/alpha/deep/x.c"]) == {alice, rob, "devel@lists.example.org"}
    # X: excludes; THE REST then owns the file alone and is kept
    assert addrs(["drivers/alpha/legacy/old.c"]) == rest
    # '*' does not cross a directory
    assert alice in addrs(["drivers/net/e1000.c"])
    assert alice not in addrs(["drivers/net/sub/e1000.c"])
    # braces, '*/dir/' and N: regexes
    assert "Beta Person <beta@example.org>" in addrs(["lib/two.c"])
    assert "Beta Person <beta@example.org>" not in addrs(["lib/four.c"])
    assert "Beta Person <beta@example.org>" in addrs(["tools/beta/x.py"])
    assert "Beta Person <beta@example.org>" in addrs(["tools/gamma.c"])
    # K: keywords in the patch text pull a section in
    assert alice in addrs(["README"], "+++ b/README\n+spinlock_t  alpha_lock;\n")
    # a patch touching only THE REST's files and one owned file keeps THE REST
    assert rest <= addrs(["docs/a.txt", "Makefile"])
    assert not (rest - {"devel@lists.example.org"}) & addrs(["docs/a.txt"])


def test_synthetic_file_against_get_maintainer(make_repo, tmp_path):
    src = xen_source_tree()
    repo = make_repo()
    files = {"MAINTAINERS": SYNTHETIC, "drivers/alpha/a.c": "a\n",
             "drivers/alpha/legacy/l.c": "l\n", "drivers/net/n.c": "n\n",
             "drivers/net/sub/s.c": "s\n", "lib/two.c": "2\n", "lib/four.c": "4\n",
             "tools/beta/b.py": "b\n", "tools/gamma.c": "g\n", "docs/d.txt": "d\n",
             "Makefile": "all:\n"}
    base = commit(repo, files, "base")
    for path in sorted(files):
        if path != "MAINTAINERS":
            commit(repo, {path: files[path] + "more\n"}, f"touch {path}")
    commit(repo, {"README": "spinlock_t alpha_lock;\n"}, "keyword in the diff")
    commit(repo, {"README2": "x\n"}, "keyword spinlock_t alpha_lock in the message")
    commit(repo, {"docs/d.txt": "e\n", "Makefile": "x:\n"}, "docs and the rest")
    script = tmp_path / "get_maintainer.pl"
    shutil.copy(src / "scripts/get_maintainer.pl", script)
    perl_in = tmp_path / "perl-in"
    perl_in.mkdir()
    assert _build_and_compare(repo, base, repo, script, perl_in) == 13


def test_patch_files_reads_what_get_maintainer_reads():
    text = ("diff --git a/x/old.c b/x/new.c\nsimilarity index 90%\nrename from x/old.c\n"
            "rename to x/new.c\n--- a/x/old.c\n+++ b/x/new.c\n"
            " mode change 100644 => 100755 tools/run.sh\n")
    assert patch_files(text) == ["tools/run.sh", "x/new.c", "x/old.c"]
