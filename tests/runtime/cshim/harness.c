/*
 * Runs a xenpatch lock program on real threads over Xen's own lock code
 * (compiled from the Xen tree with xenshim.h) and prints one line per run:
 *
 *   R order=L:C,...  ov=L:I:J,...  obs=C:OP:V,...  fin=...
 *       acquisition order, CS overlaps seen, trylock/query results, and the
 *       final state of every lock and percpu slot
 *   S I,I,...        a run got stuck: op index of each thread (-1 = done)
 *   A C OP EXPR      an ASSERT fired on thread C in op OP
 *   B C OP WHERE     a BUG fired
 *
 * Input on stdin (written by tests/runtime/test_real_c.py):
 *   threads T / runs N / seed S / timeout_ms M / classes K
 *   lock s|r|p OWNER             (one per lock, OWNER = class index or -1)
 *   cpu NOPS, then NOPS lines "KIND LOCK CLASS"
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xen/rwlock.h>

#define MAX_LOCKS 8
#define MAX_CLASSES 4
#define MAX_OPS 64
#define MAX_EVENTS 256

__thread int xs_cpu;
__thread int xs_preempt;
__thread int xs_in_irq;
__thread int xs_irq_off;
cpumask_t cpu_online_map;

enum kind {
    K_SPIN_LOCK, K_SPIN_UNLOCK, K_SPIN_TRYLOCK, K_SPIN_LOCK_REC, K_SPIN_UNLOCK_REC,
    K_READ_LOCK, K_READ_UNLOCK, K_WRITE_LOCK, K_WRITE_UNLOCK, K_READ_TRYLOCK, K_WRITE_TRYLOCK,
    K_PR_LOCK, K_PR_UNLOCK, K_PW_LOCK, K_PW_UNLOCK, K_IS_WRITE_LOCKED,
    K_CS, K_IRQ_ENTER, K_IRQ_EXIT, K_SPIN_BARRIER, K_SPIN_IS_LOCKED, K_RW_IS_LOCKED,
    K_SPIN_TRYLOCK_REC, K_NKINDS
};
static const char *const kind_names[K_NKINDS] = {
    "spin_lock", "spin_unlock", "spin_trylock", "spin_lock_recursive", "spin_unlock_recursive",
    "read_lock", "read_unlock", "write_lock", "write_unlock", "read_trylock", "write_trylock",
    "percpu_read_lock", "percpu_read_unlock", "percpu_write_lock", "percpu_write_unlock",
    "rw_is_write_locked", "cs", "irq_enter", "irq_exit", "spin_barrier", "spin_is_locked",
    "rw_is_locked", "spin_trylock_recursive",
};

struct op { int kind, lock, cls; };
struct lockobj { char type; int owner; spinlock_t s; rwlock_t rw; percpu_rwlock_t p; };

static int nthreads, nruns, timeout_ms, nclasses, nlocks;
static unsigned seed;
static struct lockobj locks[MAX_LOCKS];
static percpu_rwlock_t *xs_class[MAX_CLASSES][NR_CPUS];
static struct op progs[NR_CPUS][MAX_OPS];
static int nops[NR_CPUS];

/* Per run: CS occupancy per lock (bit per thread), acquisition order. */
static unsigned long occ[MAX_LOCKS];
static unsigned ov_seen[MAX_LOCKS];  /* bit i*NR_CPUS+j */
static int order_ctr;
static int order_lock[MAX_EVENTS], order_cpu[MAX_EVENTS];
static int obs_val[NR_CPUS][MAX_OPS];
static volatile int cur_op[NR_CPUS];
static int gen, done_ctr;

static __thread unsigned rnd;
static __thread int held[MAX_LOCKS];

void xs_assert_failed(const char *expr, const char *file, int line)
{
    (void)file; (void)line;
    printf("A %d %d %s\n", xs_cpu, cur_op[xs_cpu], expr);
    fflush(stdout);
    _exit(0);
}

void xs_bug(const char *file, int line)
{
    printf("B %d %d %s:%d\n", xs_cpu, cur_op[xs_cpu], strrchr(file, '/') ? strrchr(file, '/') + 1 : file, line);
    fflush(stdout);
    _exit(0);
}

static unsigned next_rand(void)
{
    rnd = rnd * 1103515245u + 12345u;
    return rnd >> 16;
}

static void jitter(void)
{
    unsigned n = next_rand() % 64;
    while ( n-- )
        cpu_relax();
    if ( next_rand() % 16 == 0 )
        sched_yield();
}

static void enter_cs(int l)
{
    unsigned long others;
    held[l]++;
    others = __atomic_or_fetch(&occ[l], 1UL << xs_cpu, __ATOMIC_SEQ_CST) & ~(1UL << xs_cpu);
    for ( int j = 0; j < nthreads; j++ )
        if ( others & (1UL << j) )
            __atomic_or_fetch(&ov_seen[l], 1u << (j < xs_cpu ? j * NR_CPUS + xs_cpu
                                                               : xs_cpu * NR_CPUS + j),
                              __ATOMIC_SEQ_CST);
    int k = __atomic_fetch_add(&order_ctr, 1, __ATOMIC_SEQ_CST);
    if ( k < MAX_EVENTS ) { order_lock[k] = l; order_cpu[k] = xs_cpu; }
}

static void leave_cs(int l)
{
    if ( held[l] && --held[l] == 0 )
        __atomic_and_fetch(&occ[l], ~(1UL << xs_cpu), __ATOMIC_SEQ_CST);
}

/* The CS body: look for other holders for a while. */
static void body(void)
{
    for ( int spin = 0; spin < 200; spin++ )
    {
        for ( int l = 0; l < nlocks; l++ )
        {
            if ( !held[l] )
                continue;
            unsigned long others = __atomic_load_n(&occ[l], __ATOMIC_SEQ_CST) & ~(1UL << xs_cpu);
            for ( int j = 0; j < nthreads; j++ )
                if ( others & (1UL << j) )
                    __atomic_or_fetch(&ov_seen[l], 1u << (j < xs_cpu ? j * NR_CPUS + xs_cpu
                                                                       : xs_cpu * NR_CPUS + j),
                                      __ATOMIC_SEQ_CST);
        }
        cpu_relax();
    }
}

static void run_op(int i, const struct op *o)
{
    struct lockobj *L = &locks[o->lock < 0 ? 0 : o->lock];
    rwlock_t *rw = L->type == 'p' ? &L->p.rwlock : &L->rw;
    percpu_rwlock_t **pcd = o->cls >= 0 ? &xs_class[o->cls][0] : NULL;
    int ok;

    switch ( o->kind )
    {
    case K_SPIN_LOCK: spin_lock(&L->s); enter_cs(o->lock); break;
    case K_SPIN_UNLOCK: leave_cs(o->lock); spin_unlock(&L->s); break;
    case K_SPIN_LOCK_REC: spin_lock_recursive(&L->s); enter_cs(o->lock); break;
    case K_SPIN_UNLOCK_REC: leave_cs(o->lock); spin_unlock_recursive(&L->s); break;
    case K_READ_LOCK: read_lock(rw); enter_cs(o->lock); break;
    case K_READ_UNLOCK: leave_cs(o->lock); read_unlock(rw); break;
    case K_WRITE_LOCK: write_lock(rw); enter_cs(o->lock); break;
    case K_WRITE_UNLOCK: leave_cs(o->lock); write_unlock(rw); break;
    case K_PR_LOCK: _percpu_read_lock(pcd, &L->p); enter_cs(o->lock); break;
    case K_PR_UNLOCK: leave_cs(o->lock); _percpu_read_unlock(pcd, &L->p); break;
    case K_PW_LOCK: _percpu_write_lock(pcd, &L->p); enter_cs(o->lock); break;
    case K_PW_UNLOCK: leave_cs(o->lock); _percpu_write_unlock(pcd, &L->p); break;
    case K_IS_WRITE_LOCKED: obs_val[xs_cpu][i] = rw_is_write_locked(rw); break;
    case K_RW_IS_LOCKED: obs_val[xs_cpu][i] = rw_is_locked(rw) != 0; break;
    case K_SPIN_IS_LOCKED: obs_val[xs_cpu][i] = spin_is_locked(&L->s); break;
    case K_SPIN_BARRIER: spin_barrier(&L->s); break;
    case K_CS: body(); break;
    case K_IRQ_ENTER: xs_in_irq = 1; break;
    case K_IRQ_EXIT: xs_in_irq = 0; break;
    case K_SPIN_TRYLOCK: case K_READ_TRYLOCK: case K_WRITE_TRYLOCK: case K_SPIN_TRYLOCK_REC:
        ok = o->kind == K_SPIN_TRYLOCK_REC ? spin_trylock_recursive(&L->s)
           : o->kind == K_SPIN_TRYLOCK ? spin_trylock(&L->s)
           : o->kind == K_READ_TRYLOCK ? read_trylock(rw) : write_trylock(rw);
        obs_val[xs_cpu][i] = ok;
        if ( ok )
            enter_cs(o->lock);
        break;
    }
}

/* What releases an acquire of kind k; -1 for ops that acquire nothing. */
static int release_of(int k)
{
    switch ( k )
    {
    case K_SPIN_LOCK: case K_SPIN_TRYLOCK: return K_SPIN_UNLOCK;
    case K_SPIN_LOCK_REC: case K_SPIN_TRYLOCK_REC: return K_SPIN_UNLOCK_REC;
    case K_READ_LOCK: case K_READ_TRYLOCK: return K_READ_UNLOCK;
    case K_WRITE_LOCK: case K_WRITE_TRYLOCK: return K_WRITE_UNLOCK;
    case K_PR_LOCK: return K_PR_UNLOCK;
    case K_PW_LOCK: return K_PW_UNLOCK;
    default: return -1;
    }
}

/*
 * Index after the release matching a failed trylock, as the model does
 * (programs.skip_failed_trylock): nesting counts, so a body re-taking the
 * lock is skipped up to the release balancing the trylock, and the thread
 * never unlocks what it does not hold.
 */
static int skip_body(int cpu, int i)
{
    int want = release_of(progs[cpu][i].kind), depth = 0;
    for ( int j = i + 1; j < nops[cpu]; j++ )
    {
        if ( progs[cpu][j].lock != progs[cpu][i].lock )
            continue;
        if ( progs[cpu][j].kind == want )
        {
            if ( depth == 0 )
                return j + 1;
            depth--;
        }
        else if ( release_of(progs[cpu][j].kind) == want )
            depth++;
    }
    return nops[cpu];
}

static void *thread_main(void *arg)
{
    int my_gen = 0;
    xs_cpu = (int)(long)arg;
    rnd = seed * 7919u + (unsigned)xs_cpu;
    for ( ;; )
    {
        while ( __atomic_load_n(&gen, __ATOMIC_ACQUIRE) == my_gen )
            sched_yield();
        my_gen++;
        memset(held, 0, sizeof(held));
        xs_preempt = xs_in_irq = xs_irq_off = 0;
        for ( int i = 0; i < nops[xs_cpu]; )
        {
            const struct op *o = &progs[xs_cpu][i];
            cur_op[xs_cpu] = i;
            jitter();
            run_op(i, o);
            if ( (o->kind == K_SPIN_TRYLOCK || o->kind == K_READ_TRYLOCK ||
                  o->kind == K_WRITE_TRYLOCK || o->kind == K_SPIN_TRYLOCK_REC) &&
                 !obs_val[xs_cpu][i] )
                i = skip_body(xs_cpu, i);
            else
                i++;
        }
        cur_op[xs_cpu] = -1;
        __atomic_add_fetch(&done_ctr, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void reset(void)
{
    for ( int l = 0; l < nlocks; l++ )
    {
        struct lockobj *L = &locks[l];
        spin_lock_init(&L->s);
        rwlock_init(&L->rw);
        L->p = (percpu_rwlock_t)PERCPU_RW_LOCK_UNLOCKED(
            L->owner >= 0 ? &xs_class[L->owner][0] : NULL);
        occ[l] = 0;
        ov_seen[l] = 0;
    }
    memset(xs_class, 0, sizeof(xs_class));
    memset(obs_val, 0, sizeof(obs_val));
    order_ctr = 0;
}

static void print_rw(rwlock_t *rw)
{
#ifdef RW_WRITE_FLAG
    /* The 2016 counter rwlock: the raw word (writer bit 31, readers below). */
    printf("x%u", (unsigned)rw->lock);
#else
    unsigned c = (unsigned)atomic_read(&rw->cnts);
#ifdef _QW_SHIFT
    unsigned ws = (c & _QW_WMASK) >> _QW_SHIFT;
    int owner = ws ? (int)(c & _QW_CPUMASK) : -1;
#else
    /* 4.7-4.13: a writer byte (WAITING 1, LOCKED 0xff), no writer CPU. */
    unsigned ws = c & _QW_WMASK;
    int owner = ws ? 0 : -1;
#endif
    printf("r%d:%u:%d:%d", (int)c >> _QR_SHIFT, ws, owner,
           rw->lock.tickets.head != rw->lock.tickets.tail);
#endif
}

static void report(void)
{
    int n = order_ctr < MAX_EVENTS ? order_ctr : MAX_EVENTS;
    printf("R order=");
    for ( int k = 0; k < n; k++ )
        printf("%s%d:%d", k ? "," : "", order_lock[k], order_cpu[k]);
    printf(" ov=");
    int first = 1;
    for ( int l = 0; l < nlocks; l++ )
        for ( int i = 0; i < nthreads; i++ )
            for ( int j = i + 1; j < nthreads; j++ )
                if ( ov_seen[l] & (1u << (i * NR_CPUS + j)) )
                {
                    printf("%s%d:%d:%d", first ? "" : ",", l, i, j);
                    first = 0;
                }
    printf(" obs=");
    first = 1;
    for ( int c = 0; c < nthreads; c++ )
        for ( int i = 0; i < nops[c]; i++ )
        {
            int k = progs[c][i].kind;
            if ( k == K_SPIN_TRYLOCK || k == K_READ_TRYLOCK || k == K_WRITE_TRYLOCK ||
                 k == K_SPIN_TRYLOCK_REC || k == K_IS_WRITE_LOCKED || k == K_RW_IS_LOCKED ||
                 k == K_SPIN_IS_LOCKED )
            {
                /* A skipped trylock body has no result; the model records none either. */
                printf("%s%d:%d:%d", first ? "" : ",", c, i, obs_val[c][i]);
                first = 0;
            }
        }
    printf(" fin=");
    for ( int l = 0; l < nlocks; l++ )
    {
        struct lockobj *L = &locks[l];
        if ( l )
            printf(";");
        if ( L->type == 's' )
            printf("s%d:%d", L->s.tickets.head != L->s.tickets.tail,
                   L->s.recurse_cpu == SPINLOCK_NO_CPU ? -1 : (int)L->s.recurse_cpu);
        else if ( L->type == 'r' )
            print_rw(&L->rw);
        else
        {
            print_rw(&L->p.rwlock);
            printf(":%d", L->p.writer_activating);
        }
    }
    for ( int k = 0; k < nclasses; k++ )
    {
        printf(";c%d=", k);
        for ( int c = 0; c < nthreads; c++ )
        {
            int idx = -1;
            for ( int l = 0; l < nlocks; l++ )
                if ( xs_class[k][c] == &locks[l].p )
                    idx = l;
            printf("%s%d", c ? "," : "", idx);
        }
    }
    printf("\n");
}

static int kind_of(const char *s)
{
    for ( int k = 0; k < K_NKINDS; k++ )
        if ( !strcmp(kind_names[k], s) )
            return k;
    fprintf(stderr, "harness: unknown op %s\n", s);
    exit(2);
}

static void read_input(void)
{
    char word[64], kind[64];
    if ( scanf(" threads %d runs %d seed %u timeout_ms %d classes %d locks %d",
               &nthreads, &nruns, &seed, &timeout_ms, &nclasses, &nlocks) != 6 ||
         nthreads < 1 || nthreads > NR_CPUS || nlocks > MAX_LOCKS || nclasses > MAX_CLASSES )
    {
        fprintf(stderr, "harness: bad header\n");
        exit(2);
    }
    for ( int l = 0; l < nlocks; l++ )
        if ( scanf(" lock %63s %d", word, &locks[l].owner) != 2 )
            exit(2);
        else
            locks[l].type = word[0];
    for ( int c = 0; c < nthreads; c++ )
    {
        if ( scanf(" cpu %d", &nops[c]) != 1 || nops[c] > MAX_OPS )
            exit(2);
        for ( int i = 0; i < nops[c]; i++ )
        {
            if ( scanf(" %63s %d %d", kind, &progs[c][i].lock, &progs[c][i].cls) != 3 )
                exit(2);
            progs[c][i].kind = kind_of(kind);
        }
    }
}

int main(void)
{
    pthread_t t[NR_CPUS];
    read_input();
    cpu_online_map.bits = (1UL << nthreads) - 1;
    for ( int c = 0; c < nthreads; c++ )
        pthread_create(&t[c], NULL, thread_main, (void *)(long)c);
    for ( int run = 0; run < nruns; run++ )
    {
        struct timespec start, now;
        reset();
        done_ctr = 0;
        clock_gettime(CLOCK_MONOTONIC, &start);
        __atomic_add_fetch(&gen, 1, __ATOMIC_RELEASE);
        while ( __atomic_load_n(&done_ctr, __ATOMIC_ACQUIRE) < nthreads )
        {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if ( (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000
                 > timeout_ms )
            {
                printf("S ");
                for ( int c = 0; c < nthreads; c++ )
                    printf("%s%d", c ? "," : "", cur_op[c]);
                printf("\n");
                fflush(stdout);
                _exit(0);
            }
            sched_yield();
        }
        report();
    }
    fflush(stdout);
    _exit(0);
}
