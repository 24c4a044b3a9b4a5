"""The embedded Xen-like tree, fixtures/xen/, is what the tools and tests expect.

The tree is hand-written (no Xen text), shaped like Xen's 2016 code around the
grant table lock.  These tests check it against a real peer and against
deliberately simple, independent counts, never against xenpatch itself:

* gcc accepts every .c file.  The command, run from the repository root, is::

      gcc -std=gnu99 -fsyntax-only -Wall -Werror \\
          -I fixtures/xen/xen/include -include xen/compiler.h FILE.c

  Xen's build force-includes its config/compiler header the same way; the
  fixture headers also include what they need, so ``-include`` is optional.
  Every file also passes with ``-DNDEBUG`` (ASSERT() compiled out, and
  percpu_rwlock_t without its percpu_owner field).
* Grant table lock sites, counted by a regex over
  ``(read|write)_(un)?lock(&EXPR->lock)`` with EXPR one of the expressions
  that denote a struct grant_table: at least 40 sites in at least 15
  functions across xen/common/grant_table.c, xen/include/xen/grant_table.h
  and xen/arch/{x86,arm}/mm.c.  The exact per-function counts are pinned
  below so an edit to the fixture is a deliberate one.
* The lock calls a conversion must leave alone (entry spinlocks, maptrack
  and page_alloc locks, and an unrelated rwlock_t whose field is also called
  ``lock``) are present.
* xen/common/compat_crlf.c has CRLF line endings, every other file LF only.
* After a regex-based conversion of the grant table lock to percpu_rwlock_t
  (what upstream commit eede22972f did), and likewise of struct domain's
  event_lock, the tree still compiles; leaving one site unconverted does not
  (the lock API is typed, so gcc catches a missed site).
* MAINTAINERS covers every fixture file and uses Xen's section tags.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "fixtures" / "xen"
INCLUDE = TREE / "xen" / "include"

GCC_FLAGS = ["-std=gnu99", "-fsyntax-only", "-Wall", "-Werror"]

# Files whose grant table lock sites count towards the totals.
GRANT_FILES = (
    "xen/common/grant_table.c",
    "xen/include/xen/grant_table.h",
    "xen/arch/x86/mm.c",
    "xen/arch/arm/mm.c",
)

# Every expression in the tree that denotes a struct grant_table (locals,
# parameters and fields).  No variable of another type uses these names.
GT_EXPR = r"(?:rgt|lgt|gt|t|(?:d|e|owner|rd)->grant_table)"
SITE_RE = re.compile(rf"\b(read|write)_(lock|unlock)\(&({GT_EXPR})->lock\)")

# (file, function) -> number of read/write lock and unlock sites.
EXPECTED_SITES = {
    ("xen/common/grant_table.c", "double_gt_lock"): 4,
    ("xen/common/grant_table.c", "double_gt_unlock"): 2,
    ("xen/common/grant_table.c", "__gnttab_map_grant_ref"): 4,
    ("xen/common/grant_table.c", "__gnttab_unmap_common"): 5,
    ("xen/common/grant_table.c", "__gnttab_unmap_common_complete"): 2,
    ("xen/common/grant_table.c", "gnttab_setup_table"): 2,
    ("xen/common/grant_table.c", "gnttab_query_size"): 2,
    ("xen/common/grant_table.c", "gnttab_prepare_for_transfer"): 3,
    ("xen/common/grant_table.c", "gnttab_transfer"): 2,
    ("xen/common/grant_table.c", "__release_grant_for_copy"): 2,
    ("xen/common/grant_table.c", "__acquire_grant_for_copy"): 7,
    ("xen/common/grant_table.c", "gnttab_set_version"): 2,
    ("xen/common/grant_table.c", "gnttab_get_status_frames"): 2,
    ("xen/common/grant_table.c", "__gnttab_swap_grant_ref"): 2,
    ("xen/common/grant_table.c", "__gnttab_cache_flush"): 3,
    ("xen/common/grant_table.c", "gnttab_release_mappings"): 2,
    ("xen/common/grant_table.c", "grant_table_warn_active_grants"): 2,
    ("xen/common/grant_table.c", "gnttab_usage_print"): 2,
    ("xen/arch/x86/mm.c", "xenmem_add_to_physmap_one"): 2,
    ("xen/arch/arm/mm.c", "xenmem_add_to_physmap_one"): 2,
    ("xen/arch/arm/mm.c", "arch_gnttab_shared_gfn"): 2,
}

# Lock calls on the grant table lock that are not lock/unlock sites.
EXPECTED_OTHER_GT_CALLS = {
    ("xen/common/grant_table.c", "active_entry_acquire"): ["ASSERT(rw_is_locked(&t->lock));"],
    ("xen/common/grant_table.c", "grant_map_exists"): ["ASSERT(rw_is_locked(&rgt->lock));"],
    ("xen/common/grant_table.c", "mapkind"): [
        "ASSERT(rw_is_write_locked(&lgt->lock));",
        "ASSERT(rw_is_write_locked(&rd->grant_table->lock));",
    ],
    ("xen/common/grant_table.c", "gnttab_grow_table"): ["ASSERT(rw_is_write_locked(&gt->lock));"],
    ("xen/common/grant_table.c", "grant_table_create"): ["rwlock_init(&t->lock);"],
}
OTHER_GT_CALL_RE = re.compile(rf"(?:ASSERT\()?\b(?:rw_is_locked|rw_is_write_locked|rwlock_init)"
                              rf"\(&{GT_EXPR}->lock\)\)?;")

# Lock calls that share a file (and sometimes a field name) with the grant
# table lock but are other locks: a grant table conversion must keep them.
OTHER_LOCKS = {
    "xen/common/grant_table.c": [
        "spin_lock(&act->lock);",
        "spin_unlock(&act->lock);",
        "spin_lock(&t->maptrack_lock);",
        "spin_lock(&lgt->maptrack_lock);",
        "spin_unlock(&lgt->maptrack_lock);",
        "spin_lock_init(&t->maptrack_lock);",
        "spin_lock_init(&t->active[i][j].lock);",
        "spin_lock_init(&gt->active[i][j].lock);",
        "spin_lock(&e->page_alloc_lock);",
        "spin_unlock(&e->page_alloc_lock);",
        "read_lock(&dlog->lock);",
        "read_unlock(&dlog->lock);",
        "write_lock(&dlog->lock);",
        "write_unlock(&dlog->lock);",
    ],
    "xen/arch/x86/mm.c": ["spin_lock(&d->page_alloc_lock);", "spin_unlock(&d->page_alloc_lock);"],
    "xen/arch/arm/mm.c": ["spin_lock(&od->page_alloc_lock);", "spin_unlock(&od->page_alloc_lock);"],
    "xen/common/event_channel.c": [
        "spin_lock(&chn->lock);",
        "spin_lock_irqsave(&v->virq_lock, flags);",
    ],
}

EVENT_EXPR = r"(?:d|ld|rd|v->domain)"
EVENT_SITE_RE = re.compile(rf"\b(read|write)_(lock|unlock)\(&({EVENT_EXPR})->event_lock\)")


def c_files() -> list[Path]:
    return sorted(TREE.rglob("*.c"))


def rel(path: Path, root: Path = TREE) -> str:
    return path.relative_to(root).as_posix()


def functions(text: str) -> list[tuple[str, int, int]]:
    """(name, first line, last line) of each function definition.

    Relies on the fixture's coding style: a definition's body opens with a
    "{" alone at column 0 and closes with "}" at column 0; the name is the
    first identifier followed by "(" in the lines since the previous
    top-level construct.
    """
    lines = text.splitlines()
    out: list[tuple[str, int, int]] = []
    sig_start = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == "{":
            header = " ".join(lines[sig_start:i])
            header = re.sub(r"/\*.*?\*/", " ", header)
            name = re.search(r"([A-Za-z_]\w*)\s*\(", header)
            assert name, f"no function name before line {i + 1}: {header!r}"
            end = i
            while lines[end] != "}":
                end += 1
            out.append((name.group(1), i + 1, end + 1))
            i = end + 1
            sig_start = i
            continue
        if not line.strip() or line.rstrip().endswith((";", "*/")) or line.startswith(("#", "}")):
            sig_start = i + 1
        i += 1
    return out


def function_at(funcs: list[tuple[str, int, int]], lineno: int) -> str | None:
    for name, first, last in funcs:
        if first <= lineno <= last:
            return name
    return None


def sites(root: Path, regex: re.Pattern[str], files) -> Counter:
    counts: Counter = Counter()
    for name in files:
        text = (root / name).read_text()
        funcs = functions(text)
        for lineno, line in enumerate(text.splitlines(), 1):
            for _ in regex.finditer(line):
                counts[(name, function_at(funcs, lineno))] += 1
    return counts


def gcc(path: Path, include: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = ["gcc", *GCC_FLAGS, *extra, "-I", str(include), "-include", "xen/compiler.h", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


# --------------------------------------------------------------------------
# gcc accepts the tree as written


@needs_gcc
@pytest.mark.parametrize("path", c_files(), ids=lambda p: rel(p))
@pytest.mark.parametrize("extra", [(), ("-DNDEBUG",)], ids=["debug", "ndebug"])
def test_c_file_compiles(path: Path, extra: tuple[str, ...]) -> None:
    out = gcc(path, INCLUDE, *extra)
    assert out.returncode == 0, out.stderr


@needs_gcc
@pytest.mark.parametrize("header", sorted(INCLUDE.rglob("*.h")), ids=lambda p: rel(p, INCLUDE))
def test_header_is_self_contained(header: Path) -> None:
    src = f"#include <{rel(header, INCLUDE)}>\n"
    cmd = ["gcc", *GCC_FLAGS, "-I", str(INCLUDE), "-x", "c", "-"]
    out = subprocess.run(cmd, input=src, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


# --------------------------------------------------------------------------
# Lock sites, by an independent regex count


def test_grant_lock_sites_per_function() -> None:
    counts = sites(TREE, SITE_RE, GRANT_FILES)
    assert dict(counts) == EXPECTED_SITES
    assert None not in {fn for _, fn in counts}


def test_grant_lock_site_totals() -> None:
    counts = sites(TREE, SITE_RE, GRANT_FILES)
    assert sum(counts.values()) >= 40
    assert len(counts) >= 15
    assert sum(n for (f, _), n in counts.items() if f == "xen/common/grant_table.c") >= 30
    assert len([1 for f, _ in counts if f == "xen/common/grant_table.c"]) >= 12


def test_grant_lock_reached_through_every_expression_shape() -> None:
    text = "\n".join((TREE / f).read_text() for f in GRANT_FILES)
    for expr in ("rgt", "lgt", "gt", "t", "d->grant_table", "e->grant_table",
                 "owner->grant_table", "rd->grant_table"):
        assert f"(&{expr}->lock)" in text, expr
    gt_c = (TREE / "xen/common/grant_table.c").read_text()
    assert "    struct grant_table *lgt, *rgt;\n" in gt_c  # several declarators
    assert "    struct grant_table *gt = d->grant_table, *rgt;\n" in gt_c
    assert "    gt = d->grant_table;\n    write_lock(&gt->lock);\n" in gt_c
    # A declaration after a statement (gnu99).
    assert "    BUG_ON(d == NULL);\n    struct grant_table *gt = d->grant_table;\n" in gt_c


def test_asserts_and_init_on_the_grant_lock() -> None:
    found: dict[tuple[str, str | None], list[str]] = {}
    for name in GRANT_FILES:
        text = (TREE / name).read_text()
        funcs = functions(text)
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in OTHER_GT_CALL_RE.finditer(line):
                found.setdefault((name, function_at(funcs, lineno)), []).append(m.group(0))
    assert found == EXPECTED_OTHER_GT_CALLS
    gt_c = (TREE / "xen/common/grant_table.c").read_text()
    assert "    rwlock_init(&t->lock);\n    spin_lock_init(&t->maptrack_lock);\n" in gt_c


def test_other_locks_are_present() -> None:
    for name, calls in OTHER_LOCKS.items():
        text = (TREE / name).read_text()
        for call in calls:
            assert call in text, f"{name}: {call}"


def test_event_lock_sites() -> None:
    counts = sites(TREE, EVENT_SITE_RE, ["xen/common/event_channel.c"])
    assert sum(counts.values()) == 20
    text = (TREE / "xen/common/event_channel.c").read_text()
    assert "ASSERT(rw_is_write_locked(&d->event_lock));" in text
    assert "rwlock_init(&d->event_lock);" in text
    assert "write_lock(&v->domain->event_lock);" in text


def test_compat_crlf_file_has_grant_sites() -> None:
    counts = sites(TREE, SITE_RE, ["xen/common/compat_crlf.c"])
    assert dict(counts) == {("xen/common/compat_crlf.c", "compat_gnttab_nr_frames"): 2}


# --------------------------------------------------------------------------
# Shapes that upset tree-sitter, and the header layout the conversion edits


def test_tree_sitter_hostile_shapes_are_present() -> None:
    gt_c = (TREE / "xen/common/grant_table.c").read_text()
    for needle in (
        "static void __init gnttab_check_limits(void)",
        "static int __init gnttab_usage_init(void)",
        "__initcall(gnttab_usage_init);",
        "unsigned int __read_mostly max_grant_frames",
        "static unsigned char __initdata gnttab_usage_key",
        'integer_param("gnttab_max_frames", max_grant_frames);',
        'printk(XENLOG_WARNING "',
        'printk(XENLOG_G_DEBUG "',
        "for_each_online_cpu(cpu) {",
        "for_each_domain ( d )",
        "list_for_each_entry ( rec, &dlog->records, list )",
        "#define PIN_FAIL(lbl, err, fmt, args...)",
        "PIN_FAIL(unlock_out, GNTST_bad_gntref,",
        "container_of(dlog->records.prev, struct gnttab_dump_rec, list)",
        "case 1 ... 3:",
        "case 1 ... 2:",
        "static void cf_check gnttab_usage_print_all(unsigned char key)",
        "static DEFINE_PER_CPU(unsigned long, gnttab_op_count);",
        "goto unlock_out;",
        " unlock_out:\n",
    ):
        assert needle in gt_c, needle


def test_grant_table_header_layout() -> None:
    lines = (INCLUDE / "xen/grant_table.h").read_text().splitlines()
    lock = lines.index("    rwlock_t              lock;")
    assert lines[lock].index("lock;") + 1 == 27  # name in column 27, as upstream
    extern = lines.index("extern unsigned int max_grant_frames;")
    struct = lines.index("struct grant_table {")
    end = lines.index("};", struct)
    assert extern < struct < lock < end
    assert any(line.startswith("int grant_table_create(") for line in lines[end:])
    for line in lines[struct + 1:end]:
        m = re.match(r"    (\S.*?\S)\s+\**(\w+);$", line)
        if m and not line.strip().startswith(("/*", "*", "union", "struct grant_entry", "void")):
            # Field names line up in column 27 unless the type is too long
            # for that, when a single space separates type and name.
            col = m.start(2) + 1
            too_long = len(m.group(1)) + 4 >= 24
            assert col == 27 or (too_long and re.match(r"    \S.*\S \**\w+;$", line)), line


def test_line_endings() -> None:
    files = sorted(p for p in TREE.rglob("*") if p.is_file())
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        if rel(path) == "xen/common/compat_crlf.c":
            assert data.count(b"\r\n") == data.count(b"\n") > 0
        else:
            assert b"\r" not in data, rel(path)
        assert data.endswith(b"\n"), rel(path)


def test_no_xen_copyright_text() -> None:
    files = sorted(p for p in TREE.rglob("*") if p.is_file())
    assert len(files) > 10
    for path in files:
        text = path.read_text()
        assert "Copyright" not in text, rel(path)
        assert "@citrix.com" not in text and "@xen.org" not in text, rel(path)


# --------------------------------------------------------------------------
# The converted tree still compiles (and a missed site does not)

GRANT_WRAPPERS = """
static inline void grant_read_lock(struct grant_table *gt)
{
    percpu_read_lock(grant_rwlock, &gt->lock);
}

static inline void grant_read_unlock(struct grant_table *gt)
{
    percpu_read_unlock(grant_rwlock, &gt->lock);
}

static inline void grant_write_lock(struct grant_table *gt)
{
    percpu_write_lock(grant_rwlock, &gt->lock);
}

static inline void grant_write_unlock(struct grant_table *gt)
{
    percpu_write_unlock(grant_rwlock, &gt->lock);
}
"""


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert text.count(old) == count, (path, old)
    path.write_text(text.replace(old, new))


def convert_grant_table(root: Path) -> None:
    """Regex version of upstream eede22972f applied to the fixture tree."""
    xen = root / "xen"
    header = xen / "include/xen/grant_table.h"
    _edit(header, "    rwlock_t              lock;", "    percpu_rwlock_t       lock;")
    _edit(header, "extern unsigned int max_grant_frames;\n",
          "extern unsigned int max_grant_frames;\n\nDECLARE_PERCPU_RWLOCK_GLOBAL(grant_rwlock);\n")
    text = header.read_text()
    end = text.index("\n};\n", text.index("struct grant_table {")) + 4
    header.write_text(text[:end] + GRANT_WRAPPERS + text[end:])

    gt_c = xen / "common/grant_table.c"
    text = gt_c.read_text()
    macro = text.index("#define _active_entry(t, e)")
    after = text.index("\n", text.index("\n", macro) + 1) + 1
    text = text[:after] + "\nDEFINE_PERCPU_RWLOCK_GLOBAL(grant_rwlock);\n" + text[after:]
    gt_c.write_text(text)
    _edit(gt_c, "rwlock_init(&t->lock);", "percpu_rwlock_resource_init(&t->lock, grant_rwlock);")

    for name in (*GRANT_FILES, "xen/common/compat_crlf.c"):
        path = root / name
        data = path.read_bytes().decode()
        data = SITE_RE.sub(lambda m: f"grant_{m[1]}_{m[2]}({m[3]})", data)
        data = re.sub(rf"rw_is_write_locked\(&({GT_EXPR})->lock\)",
                      r"percpu_rw_is_write_locked(&\1->lock)", data)
        data = re.sub(rf"ASSERT\(rw_is_locked\(&({GT_EXPR})->lock\)\);",
                      r"/* ASSERT(rw_is_locked(&\1->lock)); */", data)
        path.write_bytes(data.encode())


def convert_event_lock(root: Path) -> None:
    xen = root / "xen"
    sched = xen / "include/xen/sched.h"
    _edit(sched, "    rwlock_t         event_lock;", "    percpu_rwlock_t  event_lock;")
    wrappers = "".join(
        f"\nstatic inline void domain_event_{op}(struct domain *d)\n"
        f"{{\n    percpu_{op}(domain_event_rwlock, &d->event_lock);\n}}\n"
        for op in ("read_lock", "read_unlock", "write_lock", "write_unlock")
    )
    _edit(sched, "extern struct domain *domain_list;\n",
          "extern struct domain *domain_list;\n\n"
          "DECLARE_PERCPU_RWLOCK_GLOBAL(domain_event_rwlock);\n" + wrappers)
    evc = xen / "common/event_channel.c"
    _edit(evc, "#include <xen/keyhandler.h>\n",
          "#include <xen/keyhandler.h>\n\nDEFINE_PERCPU_RWLOCK_GLOBAL(domain_event_rwlock);\n")
    _edit(evc, "rwlock_init(&d->event_lock);",
          "percpu_rwlock_resource_init(&d->event_lock, domain_event_rwlock);")
    _edit(evc, "rw_is_write_locked(&d->event_lock)", "percpu_rw_is_write_locked(&d->event_lock)")
    text = EVENT_SITE_RE.sub(lambda m: f"domain_event_{m[1]}_{m[2]}({m[3]})", evc.read_text())
    evc.write_text(text)


def compile_tree(root: Path, *extra: str) -> list[str]:
    errors = []
    for path in sorted(root.rglob("*.c")):
        out = gcc(path, root / "xen/include", *extra)
        if out.returncode != 0:
            errors.append(f"{rel(path, root)}:\n{out.stderr}")
    return errors


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "tree"
    shutil.copytree(TREE, dest)
    return dest


@needs_gcc
@pytest.mark.parametrize("extra", [(), ("-DNDEBUG",)], ids=["debug", "ndebug"])
def test_tree_compiles_after_both_conversions(tree_copy: Path, extra: tuple[str, ...]) -> None:
    convert_grant_table(tree_copy)
    assert not sites(tree_copy, SITE_RE, (*GRANT_FILES, "xen/common/compat_crlf.c"))
    assert compile_tree(tree_copy, *extra) == []
    convert_event_lock(tree_copy)
    assert not sites(tree_copy, EVENT_SITE_RE, ["xen/common/event_channel.c"])
    assert compile_tree(tree_copy, *extra) == []
    # The CRLF file kept its line endings through the conversion.
    data = (tree_copy / "xen/common/compat_crlf.c").read_bytes()
    assert b"grant_read_lock(d->grant_table);\r\n" in data


@needs_gcc
@pytest.mark.parametrize("leftover", [
    ("xen/arch/x86/mm.c", "grant_write_unlock(d->grant_table);",
     "write_unlock(&d->grant_table->lock);"),
    ("xen/common/grant_table.c", "percpu_rwlock_resource_init(&t->lock, grant_rwlock);",
     "rwlock_init(&t->lock);"),
    ("xen/common/grant_table.c", "percpu_rw_is_write_locked(&lgt->lock)",
     "rw_is_write_locked(&lgt->lock)"),
], ids=["unlock", "init", "assert"])
def test_a_missed_site_breaks_the_build(tree_copy: Path, leftover: tuple[str, str, str]) -> None:
    convert_grant_table(tree_copy)
    name, new, old = leftover
    _edit(tree_copy / name, new, old)
    errors = compile_tree(tree_copy)
    assert len(errors) == 1 and errors[0].startswith(name)


# --------------------------------------------------------------------------
# MAINTAINERS


def maintainers_sections() -> dict[str, dict[str, list[str]]]:
    text = (TREE / "MAINTAINERS").read_text()
    body = text[text.index("Maintainers List"):]
    sections: dict[str, dict[str, list[str]]] = {}
    for block in re.split(r"\n\s*\n", body)[1:]:
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines or not re.match(r"^[A-Z]:\t", lines[-1]):
            continue
        title = lines[0]
        tags: dict[str, list[str]] = {}
        for ln in lines[1:]:
            m = re.match(r"^([A-Z]):\t(.*)$", ln)
            assert m, f"bad line in {title}: {ln!r}"
            tags.setdefault(m[1], []).append(m[2])
        sections[title] = tags
    return sections


def _matches(pattern: str, path: str) -> bool:
    if pattern.endswith("/"):
        return path.startswith(pattern) or pattern in ("*/",)
    return re.fullmatch(pattern.replace(".", r"\.").replace("*", "[^/]*"), path) is not None


def test_maintainers_format_and_coverage() -> None:
    sections = maintainers_sections()
    assert "THE REST" in sections
    used = {tag for tags in sections.values() for tag in tags}
    assert {"M", "R", "L", "S", "F", "X", "K"} <= used
    for tags in sections.values():
        for addr in tags.get("M", []) + tags.get("R", []):
            assert re.fullmatch(r"[^<>]+ <[\w.+-]+@example\.org>", addr), addr
    files = [rel(p) for p in TREE.rglob("*") if p.is_file()]
    for path in files:
        owners = [t for t, tags in sections.items() if t != "THE REST"
                  and any(_matches(f, path) for f in tags.get("F", []))
                  and not any(_matches(x, path) for x in tags.get("X", []))]
        if path.startswith("xen/") and path != "xen/Makefile":
            assert owners, f"no section besides THE REST covers {path}"
