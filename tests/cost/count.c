/*
 * Runs each lock operation of Xen's own lock code once, on one thread, and
 * prints what it did to shared memory, for tests/cost/test_shim_counts.py:
 *
 *   OP rmw=R stores=S mb=M
 *
 * R: atomic read-modify-writes on the lock or the per-CPU slots (the shim's
 * primitives report them, built with -DXS_COUNT); S: stores to them, through
 * a primitive (add_sized) or plain (a field that changed with no primitive
 * aimed at it); M: full barriers (smp_mb).  Written for xenpatch; no Xen code.
 */
#include <stdlib.h>
#include <string.h>

#include <xen/rwlock.h>

__thread int xs_cpu;
__thread int xs_preempt;
__thread int xs_in_irq;
__thread int xs_irq_off;
cpumask_t cpu_online_map;

static spinlock_t S;
static rwlock_t R;
static percpu_rwlock_t P;
static percpu_rwlock_t *cls[NR_CPUS];

struct field { const char *name; const void *at; size_t size; unsigned char before[64]; };
static struct field fields[] = {
    { "S", &S, sizeof(S) },
#ifdef RW_WRITE_FLAG
    /* the 2016 counter rwlock: one word (and its debug field) */
    { "R", &R, sizeof(R) },
    { "P.rwlock", &P.rwlock, sizeof(P.rwlock) },
#else
    { "R.cnts", &R.cnts, sizeof(R.cnts) },
    { "R.lock", &R.lock, sizeof(R.lock) },
    { "P.cnts", &P.rwlock.cnts, sizeof(P.rwlock.cnts) },
    { "P.lock", &P.rwlock.lock, sizeof(P.rwlock.lock) },
#endif
    { "P.writer_activating", &P.writer_activating, sizeof(P.writer_activating) },
    { "slot0", &cls[0], sizeof(cls[0]) },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static int n_rmw, n_prim_store, n_mb;
static int aimed[NFIELDS];

void xs_assert_failed(const char *expr, const char *file, int line)
{
    printf("A %s %s:%d\n", expr, file, line);
    exit(1);
}

void xs_bug(const char *file, int line)
{
    printf("B %s:%d\n", file, line);
    exit(1);
}

static int field_of(const volatile void *p)
{
    const char *c = (const char *)p;
    for ( unsigned i = 0; i < NFIELDS; i++ )
        if ( c >= (const char *)fields[i].at && c < (const char *)fields[i].at + fields[i].size )
            return (int)i;
    return -1;
}

void xs_count(int what, const volatile void *p)
{
    int f;
    if ( what == XS_MB )
    {
        n_mb++;
        return;
    }
    f = field_of(p);
    if ( f < 0 )
        return;  /* not the lock's memory (e.g. the debug counters) */
    aimed[f] = 1;
    if ( what == XS_RMW )
        n_rmw++;
    else
        n_prim_store++;
}

static void begin(void)
{
    n_rmw = n_prim_store = n_mb = 0;
    for ( unsigned i = 0; i < NFIELDS; i++ )
    {
        aimed[i] = 0;
        memcpy(fields[i].before, fields[i].at, fields[i].size);
    }
}

static void end(const char *op)
{
    int plain = 0;
    for ( unsigned i = 0; i < NFIELDS; i++ )
        if ( !aimed[i] && memcmp(fields[i].before, fields[i].at, fields[i].size) )
            plain++;
    printf("%s rmw=%d stores=%d mb=%d\n", op, n_rmw, n_prim_store + plain, n_mb);
}

#define RUN(name, stmt) do { begin(); stmt; end(name); } while ( 0 )

int main(void)
{
    xs_cpu = 0;
    cpu_online_map.bits = 1;
    spin_lock_init(&S);
    rwlock_init(&R);
    P = (percpu_rwlock_t)PERCPU_RW_LOCK_UNLOCKED(&cls[0]);

    RUN("spin_lock", spin_lock(&S));
    RUN("spin_unlock", spin_unlock(&S));
    RUN("read_lock", read_lock(&R));
    RUN("read_unlock", read_unlock(&R));
    RUN("write_lock", write_lock(&R));
    RUN("write_unlock", write_unlock(&R));
    RUN("percpu_read_lock", _percpu_read_lock(&cls[0], &P));
    RUN("percpu_read_unlock", _percpu_read_unlock(&cls[0], &P));
    RUN("percpu_write_lock", _percpu_write_lock(&cls[0], &P));
    RUN("percpu_write_unlock", _percpu_write_unlock(&cls[0], &P));
    return 0;
}
