/* cxl/wait.h - clocks, waiting with back-off, and the delay model.
 *
 * cxl_backoff: call cxl_backoff_wait() each time a poll finds nothing and
 * cxl_backoff_done() when it finds work. For the first spin_us of a wait it
 * spins with pause, until yield_us it yields the CPU, then it sleeps with
 * doubling intervals up to max_sleep_us. Once a wait has lasted idle_after
 * (cxl_backoff_set_idle), the doubling goes on up to idle_sleep_us: a
 * long-idle waiter wakes less often (each wake-up is a context switch) at the
 * price of a slower first answer after the idle spell. A dense stream
 * (cxl_backoff_set_busy: 16 waits in a row found work within spin_us) spins
 * up to busy_spin_us instead, while it stays dense: a waiter that gives its
 * CPU away for a moment in the middle of a stream comes back to a busier CPU
 * (on 2 cores, a read's p99 went from 20 us to 150 us in 3 of 16 YCSB runs).
 * It accounts the time spent waiting. While work keeps arriving it costs
 * nothing but a counter.
 */
#ifndef CXL_WAIT_H
#define CXL_WAIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_BACKOFF_DEFAULT_MAX_SLEEP_US 1000u

struct cxl_backoff {
    uint32_t step;
    uint32_t max_sleep_us;
    uint32_t sleep_us;
    uint32_t idle_sleep_us; /* ceiling once idle_ns has passed (0: max_sleep_us) */
    uint64_t idle_ns;       /* a wait this long is idle */
    uint64_t spin_ns, yield_ns; /* phase ends, from the start of a wait */
    uint64_t busy_spin_ns;  /* the spin phase of a dense stream (0: off) */
    uint32_t dense;         /* waits left at busy_spin_ns (0: not dense) */
    uint32_t short_waits;   /* waits in a row that found work within spin_ns */
    uint64_t wait_start_ns; /* 0 while not waiting */
    uint64_t now_ns;        /* clock at the last check */
    uint64_t waited_ns;     /* total time between first miss and work */
    uint64_t spins, yields, sleeps;
    uint64_t slept_ns;      /* time asked for in sleeps */
};

void cxl_backoff_init(struct cxl_backoff *b, uint32_t spin_us, uint32_t yield_us,
                      uint32_t max_sleep_us);
/* The deeper ceiling of a long wait: after idle_after_ms of one wait, sleeps
 * double up to idle_sleep_us (0, or not above max_sleep_us: no deeper sleep). */
void cxl_backoff_set_idle(struct cxl_backoff *b, uint32_t idle_after_ms, uint32_t idle_sleep_us);
/* A dense stream's spin phase: once CXL_BACKOFF_DENSE_ARM waits in a row found
 * work within spin_us (no wait at all counts as one), waits spin up to
 * busy_spin_us (0, or not above spin_us: off), until CXL_BACKOFF_DENSE_WAITS
 * waits longer than spin_us have passed with no new run of short ones (the
 * stream stopped or slowed down); a stream of single requests or pairs never
 * starts it. Ending it at the first wait the spin did not catch brought the
 * tails back (on 2 cores a synchronous client's stream has such gaps). The
 * yield and sleep phases keep their times from the start of the wait. */
#define CXL_BACKOFF_DENSE_ARM 16u
#define CXL_BACKOFF_DENSE_WAITS 64u
void cxl_backoff_set_busy(struct cxl_backoff *b, uint32_t busy_spin_us);
void cxl_backoff_wait(struct cxl_backoff *b);
void cxl_backoff_done(struct cxl_backoff *b);

/* The clocks, in one place: CLOCK_MONOTONIC in ns and in ms (timeouts,
 * deadlines, rates), CLOCK_REALTIME in ns (what other hosts can compare). */
uint64_t cxl_now_ns(void);
static inline uint64_t cxl_now_ms(void) { return cxl_now_ns() / 1000000u; }
uint64_t cxl_wall_ns(void);

static inline void cxl_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* Delay model: a calibrated busy wait. ticks come from cxl_delay_ticks(ns). */
uint64_t cxl_delay_ticks(uint32_t ns);
void cxl_delay_spin(uint64_t ticks);
/* Ticks one 64-B line takes at bw_mbps MB/s, times 65536 (0 if bw_mbps is 0). */
uint64_t cxl_delay_line_q16(uint32_t bw_mbps);

/* The delay model of the queues (docs/RING.md, "The delay model"): latency_ns
 * 0 is off. mlp: L per dependent access and per publish, the bandwidth term
 * per line; serial: L per access, in series (the model before issue 15). */
enum cxl_delay_kind { CXL_DELAY_MLP = 0, CXL_DELAY_SERIAL = 1 };
#define CXL_DELAY_BW_DEFAULT_MBPS 25000u /* 25 GB/s: one PCIe 5.0 x8 Type-3 device */
struct cxl_delay_model {
    uint32_t latency_ns;       /* L: the extra latency of a miss over local DRAM */
    uint32_t bw_mbps;          /* mlp: the device's bandwidth in MB/s (0: the default) */
    enum cxl_delay_kind model;
};
/* "mlp" / "serial"; parse: 0, or CXL_EINVAL naming name and value. */
const char *cxl_delay_kind_name(enum cxl_delay_kind k);
int cxl_delay_kind_parse(const char *name, const char *value, enum cxl_delay_kind *out);
/* "mlp L=150ns BW=25GB/s", "serial L=150ns" or "off", for every output. */
const char *cxl_delay_model_str(const struct cxl_delay_model *d, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
