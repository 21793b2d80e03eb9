/* ratelimit.c - a token bucket for log lines a peer can cause, and the count
 * of the lines it held back (base/ratelimit.h). */
#include "base/ratelimit.h"

void cxl_ratelimit_init(struct cxl_ratelimit *rl, uint32_t per_sec, uint32_t burst)
{
    *rl = (struct cxl_ratelimit){.per_sec = per_sec ? per_sec : 1, .burst = burst ? burst : 1};
}

/* The allowance one line costs, and the most that can be saved up. */
static uint64_t cost_us(const struct cxl_ratelimit *rl) { return 1000000u / rl->per_sec; }

int cxl_ratelimit_allow(struct cxl_ratelimit *rl, uint64_t now_ms)
{
    uint64_t cost = cost_us(rl), cap = cost * rl->burst;
    if (!rl->started) {
        rl->started = 1;
        rl->credit_us = cap;
        rl->last_ms = rl->reported_ms = now_ms;
    }
    if (now_ms > rl->last_ms) {
        uint64_t earned = (now_ms - rl->last_ms) * 1000u;
        rl->credit_us = earned >= cap || rl->credit_us >= cap - earned ? cap : rl->credit_us + earned;
        rl->last_ms = now_ms;
    }
    if (rl->credit_us >= cost) {
        rl->credit_us -= cost;
        return 1;
    }
    rl->suppressed++;
    return 0;
}

uint64_t cxl_ratelimit_report(struct cxl_ratelimit *rl, uint64_t now_ms, uint64_t interval_ms)
{
    if (!rl->suppressed || now_ms < rl->reported_ms + interval_ms)
        return 0;
    uint64_t n = rl->suppressed;
    rl->suppressed = 0;
    rl->reported_ms = now_ms;
    return n;
}
