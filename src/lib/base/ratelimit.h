/* base/ratelimit.h - at most N log lines a second for what a peer can cause
 * (unauthenticated noise: refused handshakes, drops, timeouts), the rest
 * counted, so a flood costs a few lines a second instead of megabytes, and a
 * periodic "K similar messages suppressed" line says how many were not
 * written. A token bucket: `per_sec` a second, bursts of `burst`. The caller
 * passes the time (milliseconds, any monotonic origin): no clock in here. */
#ifndef CXL_RATELIMIT_H
#define CXL_RATELIMIT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cxl_ratelimit {
    uint32_t per_sec, burst;
    uint64_t credit_us;   /* earned allowance, in microseconds of refill time */
    uint64_t last_ms;     /* time of the last refill */
    uint64_t suppressed;  /* not allowed since the last report */
    uint64_t reported_ms; /* time of the last report */
    int started;
};

/* per_sec >= 1, burst >= 1; starts with a full burst. */
void cxl_ratelimit_init(struct cxl_ratelimit *rl, uint32_t per_sec, uint32_t burst);

/* 1: write the line; 0: counted as suppressed, do not write it. */
int cxl_ratelimit_allow(struct cxl_ratelimit *rl, uint64_t now_ms);

/* How many were suppressed since the last report, at most once per
 * interval_ms (0 before that, or when none were): the count is then reset.
 * Call it periodically and write "K similar messages suppressed" when > 0. */
uint64_t cxl_ratelimit_report(struct cxl_ratelimit *rl, uint64_t now_ms, uint64_t interval_ms);

#ifdef __cplusplus
}
#endif
#endif
