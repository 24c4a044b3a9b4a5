/*
 * User-space stand-ins for what Xen's xen/include/xen/rwlock.h (4.17, and 4.7 to
 * 4.16 for XENPATCH_LOCK_TREES),
 * xen/common/rwlock.c and xen/common/spinlock.c need from the rest of the
 * hypervisor: types, atomics, barriers, per-CPU variables (one array slot
 * per simulated CPU = thread), preempt and IRQ state, ASSERT/BUG.
 *
 * Written for xenpatch's differential test of its lock model; no Xen code
 * here.  Every stub header under include/ just includes this file.
 */
#ifndef XENSHIM_H
#define XENSHIM_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef int64_t s_time_t;
typedef bool bool_t;

#define NR_CPUS 8

#define always_inline inline __attribute__((always_inline))
#define cf_check
#define __init
#define __initcall(f)
#define __read_mostly
#define __used_section(s) __attribute__((used, section(s)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define BUILD_BUG_ON(c) ((void)sizeof(char[1 - 2 * !!(c)]))
#define printk(...) fprintf(stderr, __VA_ARGS__)

/* The harness: which simulated CPU this thread is, and what it is doing. */
extern __thread int xs_cpu;
extern __thread int xs_preempt;
extern __thread int xs_in_irq;
extern __thread int xs_irq_off;
void xs_assert_failed(const char *expr, const char *file, int line);
void xs_bug(const char *file, int line);

#define smp_processor_id() ((unsigned int)xs_cpu)
#define preempt_disable() (xs_preempt++)
#define preempt_enable() (xs_preempt--)
#define in_irq() (xs_in_irq != 0)
#define local_irq_is_enabled() (!xs_irq_off)
#define local_irq_disable() (xs_irq_off = 1)
#define local_irq_enable() (xs_irq_off = 0)
#define local_irq_save(f) ((f) = (unsigned long)xs_irq_off, xs_irq_off = 1)
#define local_irq_restore(f) (xs_irq_off = (int)(f))

#ifndef NDEBUG
#define ASSERT(p) do { if (unlikely(!(p))) xs_assert_failed(#p, __FILE__, __LINE__); } while (0)
#else
#define ASSERT(p) do { if (0 && (p)) {} } while (0)
#endif
#define BUG() xs_bug(__FILE__, __LINE__)
#define BUG_ON(p) do { if (unlikely(p)) BUG(); } while (0)

/*
 * Counting (tests/cost/count.c builds with -DXS_COUNT): every atomic RMW,
 * every store made through a primitive and every full barrier is reported
 * with its address, so that the cost model's per-operation counts can be
 * checked against Xen's own code.  Without XS_COUNT the notes vanish.
 */
enum { XS_RMW, XS_STORE, XS_MB };
#ifdef XS_COUNT
void xs_count(int what, const volatile void *p);
#define XS_NOTE(what, p) xs_count(what, (const volatile void *)(p))
#else
#define XS_NOTE(what, p) ((void)0)
#endif

/* Barriers: sequentially consistent where Xen has a full barrier. */
#define barrier() __asm__ __volatile__("" ::: "memory")
#define smp_mb() (XS_NOTE(XS_MB, NULL), __atomic_thread_fence(__ATOMIC_SEQ_CST))
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define cpu_relax() __asm__ __volatile__("pause" ::: "memory")
#define arch_lock_acquire_barrier() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define arch_lock_release_barrier() __atomic_thread_fence(__ATOMIC_RELEASE)
#define arch_lock_relax() cpu_relax()
#define arch_lock_signal() ((void)0)
#define arch_lock_signal_wmb() ((void)0)
#define block_lock_speculation() ((void)0)
#define lock_evaluate_nospec(x) (x)

/* Atomics. */
typedef struct { int counter; } atomic_t;
#define ATOMIC_INIT(i) { (i) }
#define read_atomic(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define cmpxchg(p, o, n) (XS_NOTE(XS_RMW, p), __sync_val_compare_and_swap(p, o, n))
/* the 2016 write_unlock */
#define xchg(p, v) (XS_NOTE(XS_RMW, p), __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST))
#define arch_fetch_and_add(p, x) (XS_NOTE(XS_RMW, p), __atomic_fetch_add(p, x, __ATOMIC_SEQ_CST))
/* x86 add_sized is a plain (unlocked) add of the owner's word. */
#define add_sized(p, x) (XS_NOTE(XS_STORE, p), \
                         __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (x), \
                                          __ATOMIC_RELEASE))
static inline int atomic_read(const atomic_t *v)
{ return __atomic_load_n(&v->counter, __ATOMIC_RELAXED); }
static inline int atomic_add_return(int i, atomic_t *v)
{ XS_NOTE(XS_RMW, v); return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST); }
static inline void atomic_sub(int i, atomic_t *v)
{ XS_NOTE(XS_RMW, v); __atomic_sub_fetch(&v->counter, i, __ATOMIC_SEQ_CST); }
static inline void atomic_and(int m, atomic_t *v)
{ XS_NOTE(XS_RMW, v); __atomic_and_fetch(&v->counter, m, __ATOMIC_SEQ_CST); }
static inline void atomic_inc(atomic_t *v)
{ XS_NOTE(XS_RMW, v); __atomic_add_fetch(&v->counter, 1, __ATOMIC_SEQ_CST); }
static inline void atomic_dec(atomic_t *v)
{ XS_NOTE(XS_RMW, v); __atomic_sub_fetch(&v->counter, 1, __ATOMIC_SEQ_CST); }
static inline int atomic_cmpxchg(atomic_t *v, int old, int new)
{ XS_NOTE(XS_RMW, v); return __sync_val_compare_and_swap(&v->counter, old, new); }

/* Per-CPU variables: an array indexed by simulated CPU. */
#define DEFINE_PER_CPU(type, name) __typeof__(type) per_cpu__##name[NR_CPUS]
#define DECLARE_PER_CPU(type, name) extern __typeof__(type) per_cpu__##name[NR_CPUS]
#define per_cpu(name, cpu) (per_cpu__##name[cpu])
#define this_cpu(name) (per_cpu__##name[smp_processor_id()])
#define get_per_cpu_var(name) (per_cpu__##name[0])
#define this_cpu_ptr(p) ((p)[smp_processor_id()])
#define per_cpu_ptr(p, cpu) ((p)[cpu])

/* CPU masks, enough for NR_CPUS <= 64. */
typedef struct { unsigned long bits; } cpumask_t;
extern cpumask_t cpu_online_map;
#define cpumask_copy(d, s) ((d)->bits = (s)->bits)
#define __cpumask_clear_cpu(c, m) ((m)->bits &= ~(1UL << (c)))
#define cpumask_empty(m) ((m)->bits == 0)
#define for_each_cpu(c, m) \
    for ((c) = 0; (c) < NR_CPUS; (c)++) if ((m)->bits & (1UL << (c)))

#endif /* XENSHIM_H */
