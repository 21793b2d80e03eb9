/* noise.c - the rate limit on the audit and stderr lines of network noise
 * (docs/SECURITY.md, "Daemon limits"): refusals of peers that never
 * authenticated (malformed, timeout, unknown-node, auth-failed) and of those
 * the connection pools turned away (evicted, full). Anyone who can reach the
 * port can cause them, so each kind has its own token bucket (the library's
 * cxl_ratelimit): `log-refusals` lines a second, bursts of 5 x that; what is
 * held back is counted and summed up at most once a second per kind:
 *   refuse reason=timeout suppressed=523
 * Grants, refusals to authenticated nodes, rotations, revocations and
 * control actions never come here: they are always logged. */
#include <string.h>

#include "sec_mgr.h"

#define BURST 5u /* seconds' worth of lines a quiet kind may spend at once */
#define SUMMARY_MS 1000u

static const char *const kind_reason[NOISE_KINDS] = {
    [NOISE_MALFORMED] = "malformed", [NOISE_TIMEOUT] = "timeout",
    [NOISE_UNKNOWN_NODE] = "unknown-node", [NOISE_AUTH_FAILED] = "auth-failed",
    [NOISE_EVICTED] = "evicted", [NOISE_FULL] = "full",
};

void noise_init(struct mgr_noise *n, uint32_t rate)
{
    n->rate = rate;
    for (int k = 0; k < NOISE_KINDS; k++)
        cxl_ratelimit_init(&n->rl[k], rate, BURST * rate);
}

int noise_kind(const char *reason)
{
    for (int k = 0; k < NOISE_KINDS; k++)
        if (strcmp(reason, kind_reason[k]) == 0)
            return k;
    return -1;
}

int noise_allow(struct mgr_noise *n, int kind, uint64_t now_ms)
{
    return kind < 0 || kind >= NOISE_KINDS || cxl_ratelimit_allow(&n->rl[kind], now_ms);
}

void noise_summaries(struct mgr_noise *n, struct mgr_audit *a, uint64_t now_ms, int force)
{
    for (int k = 0; k < NOISE_KINDS; k++) {
        uint64_t held = force ? n->rl[k].suppressed
                              : cxl_ratelimit_report(&n->rl[k], now_ms, SUMMARY_MS);
        n->rl[k].suppressed = force ? 0 : n->rl[k].suppressed;
        if (held)
            audit_log(a, 1, "refuse reason=%s suppressed=%llu", kind_reason[k],
                      (unsigned long long)held);
    }
}
