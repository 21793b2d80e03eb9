/* test_ratelimit.c - the log-line token bucket (base/ratelimit.h): a full
 * burst at the start, then per_sec a second whatever the flood; what it held
 * back is counted and reported at most once per interval; idle time refills
 * only up to the burst; a clock that does not move (or goes back) earns nothing. */
#include "check.h"
#include "base/ratelimit.h"

static int allowed(struct cxl_ratelimit *rl, uint64_t now_ms, int tries)
{
    int n = 0;
    for (int i = 0; i < tries; i++)
        n += cxl_ratelimit_allow(rl, now_ms);
    return n;
}

static void test_flood(void)
{
    struct cxl_ratelimit rl;
    cxl_ratelimit_init(&rl, 10, 20);
    CHECK_EQ(allowed(&rl, 1000, 1000), 20);           /* the burst, nothing more */
    CHECK_EQ(cxl_ratelimit_report(&rl, 1000, 1000), 0); /* not yet an interval */
    CHECK_EQ(cxl_ratelimit_report(&rl, 2000, 1000), 980);
    CHECK_EQ(cxl_ratelimit_report(&rl, 2500, 1000), 0); /* counted once */
    /* a steady flood of 10,000 a second for 10 s: 10 a second get through,
     * plus the 10 earned in the quiet second before */
    int got = 0;
    uint64_t reported = 0;
    for (uint64_t t = 2000; t < 12000; t++) {
        got += allowed(&rl, t, 10);
        reported += cxl_ratelimit_report(&rl, t, 1000);
    }
    CHECK(got >= 109 && got <= 111);
    CHECK(reported >= 100000 - 111 - 10000 && reported <= 100000 - 109); /* all but the last second's */
}

static void test_refill(void)
{
    struct cxl_ratelimit rl;
    cxl_ratelimit_init(&rl, 10, 5);
    CHECK_EQ(allowed(&rl, 0, 100), 5);
    CHECK_EQ(allowed(&rl, 0, 100), 0);     /* no time passed, nothing earned */
    CHECK_EQ(allowed(&rl, 100, 100), 1);   /* 100 ms = one line at 10/s */
    CHECK_EQ(allowed(&rl, 50, 100), 0);    /* the clock went back: nothing */
    CHECK_EQ(allowed(&rl, 3600000, 100), 5); /* an hour idle: the burst, not 36,000 */
    cxl_ratelimit_init(&rl, 0, 0);         /* clamped to 1 a second, burst 1 */
    CHECK_EQ(allowed(&rl, 0, 10), 1);
    CHECK_EQ(allowed(&rl, 999, 10), 0);
    CHECK_EQ(allowed(&rl, 1000, 10), 1);
}

int main(void)
{
    test_flood();
    test_refill();
    return check_summary("test_ratelimit");
}
