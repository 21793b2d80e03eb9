/* wait.c - monotonic clock, spin/yield/sleep back-off, and the calibrated
 * busy wait of the delay model (docs/RING.md, "Waiting" and "The delay model"). */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "cxl/error.h"
#include "cxl/util.h"
#include "cxl/wait.h"

uint64_t cxl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cxl_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void cxl_backoff_init(struct cxl_backoff *b, uint32_t spin_us, uint32_t yield_us,
                      uint32_t max_sleep_us)
{
    *b = (struct cxl_backoff){0};
    b->spin_ns = (uint64_t)spin_us * 1000;
    b->yield_ns = b->spin_ns + (uint64_t)yield_us * 1000;
    b->max_sleep_us = max_sleep_us ? max_sleep_us : CXL_BACKOFF_DEFAULT_MAX_SLEEP_US;
}

void cxl_backoff_set_idle(struct cxl_backoff *b, uint32_t idle_after_ms, uint32_t idle_sleep_us)
{
    b->idle_ns = (uint64_t)idle_after_ms * 1000000;
    b->idle_sleep_us = idle_sleep_us > b->max_sleep_us ? idle_sleep_us : 0;
}

void cxl_backoff_set_busy(struct cxl_backoff *b, uint32_t busy_spin_us)
{
    uint64_t ns = (uint64_t)busy_spin_us * 1000;
    b->busy_spin_ns = ns > b->spin_ns ? ns : 0;
}

void cxl_backoff_wait(struct cxl_backoff *b)
{
    uint32_t step = b->step++;
    /* the spin phase: spin_ns, or busy_spin_ns while the stream is dense */
    uint64_t spin = b->dense && b->busy_spin_ns ? b->busy_spin_ns : b->spin_ns;
    if (b->wait_start_ns == 0)
        b->wait_start_ns = b->now_ns = cxl_now_ns();
    else if (step % 16 == 0 || b->now_ns - b->wait_start_ns >= spin)
        b->now_ns = cxl_now_ns(); /* while spinning, read the clock now and then */
    uint64_t waited = b->now_ns - b->wait_start_ns;
    if (waited < spin) {
        for (int i = 0; i < 4; i++)
            cxl_cpu_relax();
        b->spins++;
        return;
    }
    if (waited < b->yield_ns) {
        sched_yield();
        b->yields++;
        return;
    }
    /* sleeping: past idle_ns of this wait, the deeper ceiling */
    uint32_t ceiling = b->idle_sleep_us && waited >= b->idle_ns ? b->idle_sleep_us : b->max_sleep_us;
    b->sleep_us = b->sleep_us ? b->sleep_us * 2 : 1;
    if (b->sleep_us > ceiling)
        b->sleep_us = ceiling;
    struct timespec ts = {(time_t)(b->sleep_us / 1000000), (long)(b->sleep_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    b->sleeps++;
    b->slept_ns += (uint64_t)b->sleep_us * 1000;
}

void cxl_backoff_done(struct cxl_backoff *b)
{
    uint64_t waited = 0;
    if (b->wait_start_ns) {
        waited = cxl_now_ns() - b->wait_start_ns;
        b->waited_ns += waited;
        b->wait_start_ns = 0;
    }
    if (waited < b->spin_ns) { /* a short wait (or none): CXL_BACKOFF_DENSE_ARM in a row make it dense */
        if (b->short_waits < CXL_BACKOFF_DENSE_ARM)
            b->short_waits++;
        if (b->short_waits == CXL_BACKOFF_DENSE_ARM && b->busy_spin_ns)
            b->dense = CXL_BACKOFF_DENSE_WAITS;
    } else { /* a longer wait the dense spin caught: one of its waits spent */
        b->short_waits = 0;
        b->dense -= b->dense > 0;
    }
    b->step = 0;
    b->sleep_us = 0;
}

/* --- delay model ----------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
static inline uint64_t read_ticks(void) { return __builtin_ia32_rdtsc(); }
#else
static inline uint64_t read_ticks(void) { return cxl_now_ns(); }
#endif

/* Ticks per microsecond, measured once against CLOCK_MONOTONIC over ~5 ms. */
static double ticks_per_us(void)
{
    static double cached;
    if (cached > 0)
        return cached;
    uint64_t t0 = cxl_now_ns(), c0 = read_ticks();
    while (cxl_now_ns() - t0 < 5000000ull)
        cxl_cpu_relax();
    uint64_t t1 = cxl_now_ns(), c1 = read_ticks();
    double v = (double)(c1 - c0) * 1000.0 / (double)(t1 - t0);
    cached = v > 0 ? v : 1000.0;
    return cached;
}

uint64_t cxl_delay_ticks(uint32_t ns)
{
    if (ns == 0)
        return 0;
    uint64_t t = (uint64_t)(ticks_per_us() * ns / 1000.0);
    return t ? t : 1;
}

void cxl_delay_spin(uint64_t ticks)
{
    uint64_t end = read_ticks() + ticks;
    while ((int64_t)(read_ticks() - end) < 0)
        cxl_cpu_relax();
}

uint64_t cxl_delay_line_q16(uint32_t bw_mbps)
{
    if (bw_mbps == 0)
        return 0;
    /* MB/s = bytes per us: a line takes 64 / bw_mbps us */
    return (uint64_t)(ticks_per_us() * 64.0 * 65536.0 / (double)bw_mbps);
}

const char *cxl_delay_kind_name(enum cxl_delay_kind k)
{
    return k == CXL_DELAY_SERIAL ? "serial" : "mlp";
}

int cxl_delay_kind_parse(const char *name, const char *value, enum cxl_delay_kind *out)
{
    if (value && strcmp(value, "mlp") == 0)
        *out = CXL_DELAY_MLP;
    else if (value && strcmp(value, "serial") == 0)
        *out = CXL_DELAY_SERIAL;
    else
        return cxl_fail(CXL_EINVAL, "%s: '%s' is not a delay model (serial or mlp)", name, value ? value : "");
    return 0;
}

const char *cxl_delay_model_str(const struct cxl_delay_model *d, char *buf, size_t cap)
{
    if (d->latency_ns == 0)
        snprintf(buf, cap, "off");
    else if (d->model == CXL_DELAY_SERIAL)
        snprintf(buf, cap, "serial L=%uns", d->latency_ns);
    else {
        uint32_t bw = d->bw_mbps ? d->bw_mbps : CXL_DELAY_BW_DEFAULT_MBPS;
        if (bw % 1000 == 0)
            snprintf(buf, cap, "mlp L=%uns BW=%uGB/s", d->latency_ns, bw / 1000);
        else
            snprintf(buf, cap, "mlp L=%uns BW=%.3gGB/s", d->latency_ns, bw / 1000.0);
    }
    return buf;
}
