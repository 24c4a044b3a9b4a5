"""Masking and parsing a C snippet for the masking tests (tests/c/test_masking*.py),
and the snippets themselves: one per shape the masker knows (SHAPES) and one
per conditional-compilation shape (IFDEF_SHAPES), each of which must parse
without an ERROR node once masked."""

from __future__ import annotations

import re

import tree_sitter_c
from tree_sitter import Language, Node, Parser, Query, QueryCursor

from xenpatch.c.masking import default_macro_table, mask

LANGUAGE = Language(tree_sitter_c.language())
PARSER = Parser(LANGUAGE)
TABLE = default_macro_table()


def masked(src: str) -> bytes:
    raw = src.encode()
    out = mask(raw, TABLE)
    assert len(out) == len(raw)
    assert [i for i, c in enumerate(out) if c == 10] == [i for i, c in enumerate(raw) if c == 10]
    return out


def errors(tree_root: Node) -> list[str]:
    found = []
    stack = [tree_root]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            found.append(f"{n.type} at {n.start_point}")
        stack.extend(n.children)
    return found


def parses_clean(src: str) -> bytes:
    out = masked(src)
    tree = PARSER.parse(out)
    assert errors(tree.root_node) == [], out.decode()
    return out


def call_names(out: bytes) -> list[str]:
    q = Query(LANGUAGE, "(call_expression function: (identifier) @f)")
    nodes = QueryCursor(q).captures(PARSER.parse(out).root_node).get("f", [])
    return sorted(n.text.decode() for n in nodes)


_COMMENT = re.compile(rb'"(?:\\.|[^"\\\n])*"|/\*.*?\*/|//[^\n]*', re.S)


def assert_comments_kept(src: str, out: bytes) -> None:
    raw = src.encode()
    for m in _COMMENT.finditer(raw):
        if m.group().startswith(b"/"):
            assert out[m.start() : m.end()] == m.group()


SHAPES = {
    "attribute macros": """
static int __init cf_check setup(void) { return 0; }
static unsigned int __read_mostly opt_x;
void init_or_livepatch noinline *poke(void *a, const void *b) { return a; }
""",
    "xsm dummy style": """
static XSM_INLINE int cf_check xsm_kexec(XSM_DEFAULT_VOID)
{
    XSM_ASSERT_ACTION(XSM_PRIV);
    return xsm_default_action(action, current->domain, NULL);
}
static XSM_INLINE int cf_check xsm_shutdown(
    XSM_DEFAULT_ARG struct domain *d1, struct domain *d2)
{
    return 0;
}
""",
    "zstd style": """
FORCE_INLINE
size_t decode(BYTE *op, const BYTE *const base) { return 0; }
ZSTD_STATIC U16 read16(const void *memPtr) { return get_unaligned((const U16 *)memPtr); }
""",
    "loop macro from the table": """
void f(void) {
    for_each_online_cpu ( cpu )
    {
        read_lock(&per_cpu(l, cpu));
    }
    list_for_each_entry(p, &head, list)
        g(p);
}
""",
    "loop macro by shape": """
void f(struct domain *d) {
    page_list_walk(pg, &d->page_list) {
        write_lock(&d->lock);
    }
}
""",
    "string prefixes": r"""
void f(void) {
    printk(XENLOG_WARNING VTDPREFIX "x=%" PRIx64 "\n", x);
    printk(KERN_ERR PREFIX
           "multi-line\n");
    asm volatile ( "repe; scas"__OS"\n\t" ::: "memory" );
}
""",
    "juxtaposed level names": r"""
void f(void) {
    dprintk(XENLOG_ERR VTDPREFIX, "no domain id %d\n", d);
}
""",
    "type arguments": """
void f(void) {
    struct foo *p = container_of(l, struct foo, list);
    cpumask_t **m = xzalloc_array(cpumask_t *, nr);
    unsigned long v = sizeof(unsigned long) + NIL(l1_pgentry_t *);
    e = list_first_entry(&h,
                         struct pending_ent, node);
    x = va_thing(args, unsigned int);
}
""",
    "declarator and type macros": """
static DEFINE_PER_CPU(unsigned int, counter);
static DEFINE_RWLOCK(my_lock);
long do_op(XEN_GUEST_HANDLE_PARAM(void) arg) { return 0; }
""",
    "typeof": """
void f(struct page_info *pg) {
    typeof(pg->count) nc = read_atomic(&pg->count), oc;
    const typeof(v->arch.area->fpu) *ctxt = v->arch.ctxt;
    BUILD_BUG_ON(!(typeof(pg->flags))SHF_x);
}
""",
    "offsetof and alignof": """
void f(void) {
    n = offsetof(struct cpu_info, regs.es) + offsetof(typeof(*evc), vmce);
    a = __alignof(v->arch.area) + alignof(*p);
}
""",
    "case ranges": """
void f(int x) {
    switch ( x )
    {
    case 1 ... 3:
    case OPC(0, 0x14)
     ... OPC(0, 0x17):
        break;
    }
}
""",
    "designated ranges": """
static const int t[] = { [0 ... 3] = 1, [4] = 2 };
""",
    "statement macros without semicolons": """
void f(int r) {
    switch ( r )
    {
    GENERATE_CASE(SCTLR, 32)
    /* a comment between */
    GENERATE_CASE(TTBR0, 32)

    default:
        break;
    }
    {
        DUMPBITS(16)
        while ( n-- )
            NEEDBITS(8)
    }
}
""",
    "statement macros before a directive": """
int f(int cmd, int b) {
    switch ( cmd )
    {
    EVTCHN_FORWARD(alloc_unbound, port)
    EVTCHN_FORWARD(bind_interdomain, local_port)
#undef EVTCHN_FORWARD
    case 3:
        break;
    }
    NEEDBITS(4)
    DUMPBITS(4)
#ifdef PKZIP_BUG_WORKAROUND
    if ( b )
#else
    if ( !b )
#endif
        return 1;
    return 0;
}
""",
    "statement macros at file scope": """
TVM_REG(AFSR0_EL1)
TVM_REG(AFSR1_EL1)
int after(void) { return 0; }
""",
    "label macros": """
int teardown(struct domain *d) {
    switch ( d->state )
    {
    case PROG_none:
    PROGRESS(gnttab_mappings):
        rc = gnttab_release_mappings(d);
    }
    return rc;
}
""",
    "empty macro arguments": """
void f(void) {
    BINOP(adc, );
    BINOP(btc, _nobyte);
}
""",
    "asm template and operand macros": r"""
static inline bool f(volatile int *v) {
    bool c;
    asm volatile ( "lock; decl %[counter]\n\t"
                   ASM_FLAG_OUT(, "setz %[zf]\n\t")
                   : [counter] "+m" (*v),
                     [zf] ASM_FLAG_OUT("=@ccz", "=qm") (c) :: "memory" );
    asm volatile ( "1: rdmsr\n2:\n"
                   _ASM_EXTABLE(1b, 2b)
                   : "=r" (c) );
    asm volatile ( "bsf -"STR(BITS_PER_LONG/8)"(%2),%0" : "=r" (c) );
    asm volatile ( safe_swapgs );
    asm volatile ( COND_LOCK(notb) " %0" : "+m" (*v) );
    return c;
}
""",
    "asm operand macros": r"""
static void f(void *addr) {
    alternative_input("", "clflush (%[addr])", X86_BUG_CLFLUSH_MONITOR,
                      [addr] "a" (addr));
    alternative_io("ds; clflush %[p]", "data16 clflush %[p]",
                   X86_FEATURE_CLFLUSHOPT,
                   /* no outputs */,
                   [p] "m" (*(const char *)(addr)));
    alternative_input("", "verw", X86_BUG_X,
                      : "rax", "rcx");
}
""",
    "register asm and attributes before an initializer": """
void f(void) {
    register unsigned long r8 asm ( "r8" ) = out;
    int q __attribute__ ((unused)) = test_and_clear_bit(1, &p->status);
}
""",
    "block macro": """
static inline int bitmap_empty(const unsigned long *src, int nbits)
{
    bitmap_switch(nbits,
        return -1,
        return !(*src & BITMAP_LAST_WORD_MASK(nbits)),
        return __bitmap_empty(src, nbits));
}
""",
    "initializer macros": """
DT_DEVICE_START(gicv2, "GICv2", DEVICE_GIC)
        .dt_match = gicv2_dt_match,
        .init = gicv2_dt_preinit,
DT_DEVICE_END

static int after(const void *data) { return 0; }
""",
    "transparent macro": r"""
void f(void) {
    asm volatile (
        GUARD(
        "    mask %[to]\n"
        )
        "    rep movsb\n"
        : [to] "+D" (to), [aux] "=&r" (dummy)
          GUARD(, [scratch1] "=&r" (dummy))
        : "[aux]" (n)
        : "memory" );
}
""",
    "define inside an initializer": """
void f(void) {
    static const int memaccess[] = {
#define ACCESS(ac) [p2m_access_##ac] = XENMEM_access_##ac
        ACCESS(n),
        ACCESS(r),
#undef ACCESS
    };
}
""",
    "define with a comment and named variadics": """
void f(void) {
#define PRINTF(fmt, args...) do { \\
    /* a comment */ \\
    printk(fmt, ## args); \\
} while (0)
    PRINTF("x");
}
""",
    "asm operands as macro arguments": """
void f(void)
{
    emulate_stub([dst] "=&c" (dst.val), "[dst]" (&src.val), "a" (*src.reg));
    asm volatile ( "mov %[a], %[b]" : [a] "=r" (x) : [b] "r" (y) );
}
""",
    "a range as a macro argument": """
void f(int sel)
{
    switch ( sel )
    {
        GENERATE_READ_REGS(32 ... 254, pr);
    case 1 ... 3:
        break;
    }
}
int h(int a, ...);
""",
    "a preprocessing number as a macro argument": """
int f(void)
{
    vcpu_must_have(3dnow);
    switch ( op )
    {
    case OPC_XOP(0a, 0x10):
        break;
    }
    g(0x1fUL, 10u, 1ULL, 1.5f, 1e5, 2lu);
    return 0;
}
""",
    "GCC's alternate keywords": r"""
typedef __signed__ int __s32;
static __inline__ int test_bit(unsigned long nr, __const__ volatile unsigned long *addr)
{
    uint64_t psr;
    __asm__ __volatile("mov %0=psr;;" : "=r" (psr) :: "memory");
    __asm __volatile("shl %0=%1" : "=r" (psr) : "r" (nr));
    return (addr[nr >> 6] >> (nr & 63)) & 1;
}
""",
    "a function specifier after the type words": """
static unsigned inline int max_frames(void)
{
    return nr_frames * RATIO;
}
static void __inline__ g(void) { spin_lock(&l); spin_unlock(&l); }
""",
}


IFDEF_SHAPES = {
    "alternative operands after an assignment": """
void f(struct page_info *top)
{
    top->type_info =
#if CONFIG_PAGING_LEVELS == 4
        PGT_l4_page_table
#elif CONFIG_PAGING_LEVELS == 3
        PGT_l3_page_table
#elif CONFIG_PAGING_LEVELS == 2
        PGT_l2_page_table
#endif
        | 1 | PGT_validated;
    spin_lock(&l);
    spin_unlock(&l);
}
""",
    "alternative declaration heads": """
#ifdef XEN
void
#else
static void
#endif
setreg(unsigned long regnum, unsigned long val)
{
    spin_lock(&l);
    spin_unlock(&l);
}
""",
    "two branches as the body of an if": """
static int parse(const char *s)
{
    int val, rc = 0;
    do {
        if ( (val = parse_bool(s)) >= 0 )
            enable = val;
        else if ( (val = parse_boolean("gfx", s)) >= 0 )
#ifdef CONFIG_GFX
            gfx = val;
#else
            no_config_param("GFX", "opt", s);
#endif
        else if ( (val = parse_boolean("inval", s)) >= 0 )
            inval = val;
        else
            rc = -EINVAL;
    } while ( *s++ );
    while ( rc-- )
#ifdef CONFIG_GFX
        gfx++;
#else
        inval++;
#endif
    return rc;
}
""",
    "two initializer lists with no comma between": """
static const struct { int a, b; } pa[] = {
#ifdef CONFIG_ARM_64
    [0] = { 1, 2 },
    [1] = { 0 }
#else
    { 1, 2 },
    { 3, 4 }
#endif
};
""",
    "else inside the #ifdef": """
int f(int a) {
    if ( a )
        g();
#ifdef CONFIG_ARM_64
    else
    {
        read_lock(&l);
    }
#endif
    return 0;
}
""",
    "else before #endif": """
int f(int a) {
#ifdef CONFIG_COMPAT
    if ( a )
    {
        read_lock(&l);
    }
    else
#endif
    {
        write_lock(&l);
    }
    return 0;
}
""",
    "if head in one branch only": """
int f(int rc) {
#ifdef CONFIG_ARM_64
    rc = probe64();
    if (rc < 0)
#endif
        rc = probe32();
    return rc;
}
""",
    "both branches head the same block": """
int f(struct vcpu *curr) {
#ifdef CONFIG_COMPAT
    if ( !curr->hcall_compat )
#else
    if ( true )
#endif
    {
        read_unlock(&l);
    }
    return 0;
}
""",
    "duplicated if heads with braces": """
int f(int a, int b) {
#ifdef CONFIG_X
    if ( a ) {
#else
    if ( b ) {
#endif
        write_unlock(&l);
    }
    return 0;
}
""",
    "operand split in an expression": """
int f(char p) {
    if ( p == 'd' ||
#ifdef CONFIG_ARM_32
         p == 'a'
#else
         p == 'x'
#endif
       )
        return 1;
    return 0;
}
""",
    "arguments split": r"""
void f(void) {
    printk("%s %s\n", xen_version(),
#ifdef CONFIG_ARM_32
           "arm32",
#else
           "arm64",
#endif
           "end");
}
""",
    "initializer split": """
void f(void) {
    static const struct p *const t[] = {
        [0] = &raw,
#ifdef CONFIG_PV
        [1] = &pv,
#endif
    };
}
""",
    "string concatenation split": r"""
void f(void) {
    printk("Compiled-in support:"
#ifdef CONFIG_INDIRECT_THUNK
           " INDIRECT_THUNK"
#endif
           "\n");
}
""",
    "asm operand lists split": r"""
static inline void f(u64 addr) {
    asm volatile ( "vmptrld %0\n"
                   :
#ifdef HAVE_AS_VMX
                   : "m" (addr),
#else
                   : "a" (&addr),
#endif
                     _ASM_BUGFRAME_INFO(BUGFRAME_bug, __LINE__, __FILE__, 0)
                   : "memory");
}
""",
    "label before #ifdef": """
int f(int v) {
    goto end;
 end:
#ifdef CONFIG_VIDEO
    if ( v )
        g();
#endif
    return 0;
}
""",
    "assembly branch": """
#ifdef __ASSEMBLY__
.macro clac
    .byte 0x0f, 0x01, 0xca
.endm
#else
static inline int f(void) { read_lock(&l); return 0; }
#endif
#ifndef __ASSEMBLY__
static inline int g(void) { write_lock(&l); return 0; }
#else
    movq %rax, (%rdi)
#endif
""",
    "#if 0 and #if 1 branches": """
int f(struct cx *cx)
{
#if 0 /* XXX not on Xen */
    if (state_table[].flags & FLAG_TLB_FLUSHED)
        leave_mm(cpu);
#endif
#if 1
    spin_lock(&cx->lock);
#else
    spin_lock(&cx->lock) +;
#endif
    return 0;
}
""",
    "function head split at file scope": """
#ifdef CONFIG_X
static int f(int a)
#else
static int f(void)
#endif
{
    return 0;
}
""",
}
