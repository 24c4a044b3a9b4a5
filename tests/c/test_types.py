"""Type facts: which struct an expression's lock belongs to, or why it is unknown."""

from __future__ import annotations

from tree_sitter import Node

from xenpatch.c.masking import default_macro_table
from xenpatch.c.source import SourceFile, functions, parse_bytes, walk
from xenpatch.c.types import CType, FunctionScope, TypeIndex, Unknown, expr_chain, file_facts

HEADER = b"""
typedef struct { int cnt; } rwlock_t;
typedef struct grant_table grant_table_t;
struct grant_table {
    /* the lock */
    rwlock_t              lock;
    unsigned int          nr_grant_frames;
#ifndef NDEBUG
    int                   debug;
#endif
};
struct domain {
    struct grant_table *grant_table;
    union {
        struct vcpu *first;
        long pad;
    };
    rwlock_t lock;
};
struct vcpu { struct domain *domain; };
extern struct domain *hardware_domain;
struct grant_table *global_gt(void);
"""


def _index(*sources: SourceFile) -> TypeIndex:
    return TypeIndex.from_facts([file_facts(s) for s in sources])


def _parse(code: bytes, path: str = "t.c") -> SourceFile:
    return parse_bytes(path, code, default_macro_table())


def _lock_args(src: SourceFile) -> list[tuple[FunctionScope, Node]]:
    """The E of every read_lock(&E->lock) in the file, with its function scope."""
    found = []
    for fn in functions(src.root):
        scope = FunctionScope(src, fn)
        for n in walk(fn):
            if n.type != "call_expression":
                continue
            if src.text(n.child_by_field_name("function")) == "read_lock":
                arg = n.child_by_field_name("arguments").named_children[0]
                field = arg.child_by_field_name("argument")
                found.append((scope, field.child_by_field_name("argument")))
    return found


def _types(code: bytes) -> list[CType | Unknown]:
    header = _parse(HEADER, "h.h")
    src = _parse(code)
    index = _index(header, src)
    return [index.resolve(expr_chain(scope, e)) for scope, e in _lock_args(src)]


GT = CType("struct grant_table", 1)


def test_locals_params_fields_and_several_declarators() -> None:
    code = b"""
static void __init f(struct domain *d, struct vcpu *v, grant_table_t *t)
{
    struct grant_table *lgt = d->grant_table, *rgt, gtab;
    int x, *y;
    read_lock(&lgt->lock);
    read_lock(&rgt->lock);
    read_lock(&d->grant_table->lock);
    read_lock(&v->domain->grant_table->lock);
    read_lock(&t->lock);
    x = 1;
    struct grant_table *late = d->grant_table;
    read_lock(&late->lock);
    read_lock(&(lgt)->lock);
    read_lock(&hardware_domain->grant_table->lock);
}
"""
    assert _types(code) == [GT] * 8


def test_other_structs_and_shadowing() -> None:
    code = b"""
void f(struct domain *d)
{
    read_lock(&d->lock);
    {
        struct grant_table *d = 0;
        read_lock(&d->lock);
    }
    read_lock(&d->lock);
}
"""
    assert _types(code) == [
        CType("struct domain", 1),
        GT,
        CType("struct domain", 1),
    ]


def test_anonymous_union_members_and_typedef_struct() -> None:
    code = b"""
void f(struct domain *d)
{
    read_lock(&d->first->domain->grant_table->lock);
}
"""
    assert _types(code) == [GT]


def test_unknowns_carry_a_reason() -> None:
    code = b"""
void f(struct domain *d, struct mystery *m)
{
    read_lock(&nobody->lock);
    read_lock(&undeclared_fn()->lock);
    read_lock(&m->gt->lock);
    read_lock(&d->no_such_field->lock);
}
"""
    got = _types(code)
    assert all(isinstance(t, Unknown) for t in got)
    reasons = [t.reason for t in got if isinstance(t, Unknown)]
    assert "'nobody' is not declared" in reasons[0]
    assert "call to 'undeclared_fn': no declaration of it in the tree" in reasons[1]
    assert "no definition of 'struct mystery'" in reasons[2]
    assert "'struct domain' has no field 'no_such_field'" in reasons[3]


def test_container_of_gives_the_named_struct() -> None:
    code = b"""
void f(struct vcpu *v)
{
    read_lock(&container_of(v, struct grant_table, nr_grant_frames)->lock);
}
"""
    assert _types(code) == [GT]


def test_struct_facts_keep_field_spans() -> None:
    header = _parse(HEADER, "h.h")
    facts = file_facts(header)
    gt = next(s for s in facts.structs if s.name == "struct grant_table")
    fd = gt.fields["lock"]
    assert header.raw[fd.type_start : fd.type_end] == b"rwlock_t"
    assert header.col_of(fd.name_start) == 27  # Xen's column layout
    assert "debug" in gt.fields  # fields inside #ifndef blocks count
    assert header.raw[gt.leading_comment_start : gt.start].strip() == b""
    assert facts.typedefs["grant_table_t"] == CType("struct grant_table")
    assert facts.globals["hardware_domain"] == CType("struct domain", 1)
    assert facts.returns["global_gt"] == GT


def _tree(tmp_path, files: dict[str, bytes]):
    """A tree on disk, and its lazily filled index (only what a resolution asks is parsed)."""
    from xenpatch.c.defindex import TreeText

    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    text = TreeText(tmp_path, sorted(files))
    return text, TypeIndex.from_facts([], definitions=text)


IDIOMS_H = HEADER + b"""
struct vcpu *get_current(void);
#define current (get_current())
DECLARE_PER_CPU(struct vcpu *, curr_vcpu);
#define arm_current (this_cpu(curr_vcpu))
#define dom_gt(dom) ((dom)->grant_table)
#define paste(x) (gt_ ## x)
struct gt_holder { struct grant_table gts[4]; };
"""


def test_xen_idioms_resolve_through_the_trees_defines(tmp_path) -> None:
    """current (a #define calling a declared function), a per-CPU variable behind a
    macro, a function-like macro with its argument, ?:, array elements, return types."""
    text, index = _tree(tmp_path, {"xen/include/h.h": IDIOMS_H,
                                   "xen/include/unrelated.h": b"struct other { int x; };\n"})
    src = _parse(b"""
void f(struct domain *d, struct gt_holder *h, int c)
{
    read_lock(&current->domain->grant_table->lock);
    read_lock(&arm_current->domain->grant_table->lock);
    read_lock(&dom_gt(d)->lock);
    read_lock(&(c ? d->grant_table : NULL)->lock);
    read_lock(&h->gts[c].lock);
    read_lock(&global_gt()->lock);
    read_lock(&paste(x)->lock);
}
""")
    index.add(file_facts(src))
    got = [index.resolve(expr_chain(scope, e)) for scope, e in _lock_args(src)]
    assert got[:4] == [GT, GT, GT, GT]
    assert got[4] == CType("struct grant_table", 0)
    assert got[5] == GT
    assert isinstance(got[6], Unknown)  # token pasting is not followed
    assert text.parsed == ["xen/include/h.h"]  # the unrelated header was never parsed


def test_disagreeing_definitions_stay_unknown(tmp_path) -> None:
    """Two architectures' #define of one name with different types: no guess."""
    _, index = _tree(tmp_path, {
        "xen/include/h.h": HEADER,
        "xen/arch/a/include/asm/c.h": b"struct vcpu *get_a(void);\n#define cur (get_a())\n",
        "xen/arch/b/include/asm/c.h": b"struct domain *get_b(void);\n#define cur (get_b())\n",
    })
    src = _parse(b"void f(void)\n{\n    read_lock(&cur->domain->grant_table->lock);\n}\n")
    index.add(file_facts(src))
    (scope, e), = _lock_args(src)
    got = index.resolve(expr_chain(scope, e))
    assert isinstance(got, Unknown) and "several types" in got.reason


def test_every_architectures_definition_is_looked_up(tmp_path) -> None:
    """One architecture's struct already known (its header parsed for another name)
    does not hide another's, whose field the site needs."""
    _, index = _tree(tmp_path, {
        "xen/include/h.h": HEADER + b"struct arch_domain *arch_of(void);\n",
        "xen/arch/arm/include/asm/domain.h":
            b"struct hvm_domain { int params; };\nstruct arch_domain { int x; };\n",
        "xen/arch/x86/include/asm/hvm/domain.h":
            b"struct hvm_domain { int params; struct grant_table *gt; };\n",
    })
    assert index.struct_defs("struct arch_domain")  # parses arm's header, with its hvm_domain
    src = _parse(b"void f(struct hvm_domain *h)\n{\n    read_lock(&h->gt->lock);\n}\n")
    index.add(file_facts(src))
    (scope, e), = _lock_args(src)
    assert index.resolve(expr_chain(scope, e)) == GT
