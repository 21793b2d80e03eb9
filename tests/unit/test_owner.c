/* test_owner.c - ring ownership across real processes: claim, busy, release,
 * reclaim of a dead owner, a stalled owner losing its ring, claim races, and
 * server presence. Children map the medium themselves, by path. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"
#include "fixture.h"
#include "cxl/wait.h"
#include "ring/layout.h"

static const char *medium_path;

/* A child's own attach (its own mapping, at its own address). */
static struct cxl_layout *child_attach(void)
{
    struct cxl_medium_config cfg;
    cxl_medium_config_init(&cfg);
    cfg.path = medium_path;
    cfg.map_size = 0;
    struct cxl_medium *m;
    struct cxl_layout *l;
    if (cxl_medium_open(&cfg, &m) || cxl_layout_attach(m, &l)) {
        fprintf(stderr, "child attach: %s\n", cxl_last_error());
        _exit(90);
    }
    return l;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void test_claim_release(struct cxl_layout *l)
{
    struct cxl_claim a, b;
    struct cxl_claim_opts now = {.wait_ms = 0};
    CHECK_EQ(cxl_ring_claim(l, 0, 1, &now, &a), 0);
    CHECK_EQ(a.ring, 0);
    uint32_t gen = a.gen;
    CHECK_FAILS(cxl_ring_claim(l, 0, 2, &now, &b), CXL_EBUSY, "owned by node 1");
    CHECK_EQ(cxl_ring_claim(l, -1, 2, &now, &b), 0); /* any: a free one */
    CHECK_EQ(b.ring, 1);
    CHECK_EQ(cxl_ring_heartbeat(&a), 0);
    struct cxl_ring_state st;
    CHECK_EQ(cxl_layout_ring_state(l, 0, &st), 0);
    CHECK_EQ(st.owner_node, 1);
    CHECK_EQ(st.owner_state, CXL_OWNER_OWNED);
    CHECK_EQ(st.heartbeat, 1);
    CHECK_EQ(st.owner_pid, getpid());
    CHECK_EQ(cxl_ring_release(&a), 0);
    CHECK_EQ(cxl_ring_release(&b), 0);
    CHECK_EQ(cxl_ring_claim(l, 0, 3, &now, &a), 0);
    CHECK_EQ(a.gen, gen + 1);
    /* a stale handle cannot release or beat */
    struct cxl_claim old = a;
    old.word = cxl_owner_word(gen, CXL_OWNER_OWNED, 1);
    CHECK_FAILS(cxl_ring_release(&old), CXL_ELOST, "lost ownership");
    CHECK_FAILS(cxl_ring_heartbeat(&old), CXL_ELOST, "now node 3");
    CHECK_EQ(cxl_ring_release(&a), 0);
}

/* A child claims and exits without releasing: reclaimable soon (same host). */
static void test_dead_owner(struct cxl_layout *l)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct cxl_claim c;
        _exit(cxl_ring_claim(child_attach(), 2, 7, NULL, &c) == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct cxl_claim c;
    struct cxl_claim_opts o = {.wait_ms = 5000, .reclaim_ms = 60000};
    uint64_t t0 = cxl_now_ns();
    CHECK_EQ(cxl_ring_claim(l, 2, 8, &o, &c), 0);
    uint64_t ms = (cxl_now_ns() - t0) / 1000000;
    printf("dead same-host owner reclaimed after %llu ms\n", (unsigned long long)ms);
    CHECK(ms < 2000); /* not the 60 s reclaim timeout */
    CHECK_EQ(cxl_ring_release(&c), 0);
}

/* A live owner that beats keeps its ring; stopped, it loses it after the
 * timeout and learns so at its next heartbeat. */
static void test_stalled_owner(struct cxl_layout *l)
{
    int pipefd[2];
    CHECK_EQ(pipe(pipefd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct cxl_claim c;
        struct cxl_layout *cl = child_attach();
        if (cxl_ring_claim(cl, 3, 9, NULL, &c) != 0)
            _exit(91);
        /* pretend to be on another host so that only the heartbeat counts */
        cxl_ring_ctl_of(cl, 3)->host_id ^= 1;
        if (write(pipefd[1], "x", 1) != 1)
            _exit(92);
        for (;;) {
            int rc = cxl_ring_heartbeat(&c);
            if (rc == CXL_ELOST)
                _exit(0);
            if (rc)
                _exit(93);
            sleep_ms(20);
        }
    }
    char x;
    CHECK_EQ(read(pipefd[0], &x, 1), 1);
    struct cxl_claim c;
    struct cxl_claim_opts o = {.wait_ms = 600, .reclaim_ms = 300};
    CHECK_FAILS(cxl_ring_claim(l, 3, 10, &o, &c), CXL_EBUSY, "alive");
    kill(pid, SIGSTOP);
    o.wait_ms = 3000;
    uint64_t t0 = cxl_now_ns();
    CHECK_EQ(cxl_ring_claim(l, 3, 10, &o, &c), 0);
    uint64_t ms = (cxl_now_ns() - t0) / 1000000;
    CHECK(ms >= 300);
    kill(pid, SIGCONT);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* saw CXL_ELOST */
    CHECK_EQ(cxl_ring_release(&c), 0);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* Many processes race for one ring: exactly one wins each round. */
static void test_race(struct cxl_layout *l)
{
    enum { RACERS = 4, ROUNDS = 40 };
    volatile uint64_t *go = (volatile uint64_t *)((uint8_t *)cxl_medium_base(cxl_layout_medium(l)) + 2048);
    for (int round = 0; round < ROUNDS; round++) {
        *go = 0;
        pid_t pids[RACERS];
        for (int i = 0; i < RACERS; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                struct cxl_layout *cl = child_attach();
                volatile uint64_t *cgo = (volatile uint64_t *)((uint8_t *)cxl_medium_base(cxl_layout_medium(cl)) + 2048);
                while (!*cgo)
                    cxl_cpu_relax();
                struct cxl_claim c;
                struct cxl_claim_opts now = {.wait_ms = 0};
                int rc = cxl_ring_claim(cl, 0, (uint16_t)(100 + i), &now, &c);
                _exit(rc == 0 ? 10 : rc == CXL_EBUSY ? 11 : 12);
            }
        }
        sleep_ms(5);
        *go = 1;
        int winners = 0, losers = 0;
        for (int i = 0; i < RACERS; i++) {
            int status;
            waitpid(pids[i], &status, 0);
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            winners += code == 10;
            losers += code == 11;
        }
        CHECK_EQ(winners, 1);
        CHECK_EQ(losers, RACERS - 1);
        /* free the ring for the next round */
        struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, 0);
        r->owner_word = cxl_owner_word(cxl_owner_gen(r->owner_word), CXL_OWNER_FREE, 0);
    }
    *go = 0;
}

/* A claimant resets client-owned indices that are out of range. */
static void test_adopt(struct cxl_layout *l)
{
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, 1);
    r->req_tail.value = r->req_head.value + 1000000;
    r->resp_head.value = r->resp_tail.value + 5;
    CHECK_EQ(cxl_layout_check_ring(l, 1), CXL_ECORRUPT);
    struct cxl_claim c;
    struct cxl_claim_opts now = {.wait_ms = 0};
    CHECK_EQ(cxl_ring_claim(l, 1, 4, &now, &c), 0);
    CHECK_EQ(cxl_layout_check_ring(l, 1), 0);
    CHECK_EQ(c.req_tail0, r->req_head.value);
    CHECK_EQ(cxl_ring_release(&c), 0);
}

static void test_server(struct cxl_layout *l)
{
    uint64_t g1, g2;
    struct cxl_server_state st;
    uint8_t n1[16], n2[16];
    CHECK_EQ(cxl_server_announce(l, 5, &g1, n1), 0);
    CHECK_EQ(cxl_server_announce(l, 5, &g2, n2), 0);
    CHECK(memcmp(n1, n2, 16) != 0);
    CHECK_EQ(g2, g1 + 1);
    cxl_server_state(l, &st);
    uint64_t hb = st.heartbeat;
    CHECK_EQ(st.gen, g2);
    CHECK_EQ(st.pid, getpid());
    CHECK_EQ(st.node, 5);
    CHECK(memcmp(st.nonce, n2, 16) == 0);
    cxl_server_heartbeat(l);
    cxl_server_state(l, &st);
    CHECK_EQ(st.heartbeat, hb + 1);
    cxl_server_set_ring_state(l, 2, CXL_SRV_RING_BROKEN, 3);
    struct cxl_ring_state rs;
    CHECK_EQ(cxl_layout_ring_state(l, 2, &rs), 0);
    CHECK_EQ(rs.srv_state, CXL_SRV_RING_BROKEN);
    CHECK_EQ(rs.srv_reason, 3);
    CHECK_EQ(rs.srv_events, 1);
}

int main(void)
{
    struct fixture f;
    CHECK_EQ(fixture_open(&f, "/dev/shm", 1 << 20, 4, 1024), 0);
    medium_path = f.path;
    test_claim_release(f.layout);
    test_dead_owner(f.layout);
    test_stalled_owner(f.layout);
    test_race(f.layout);
    test_adopt(f.layout);
    test_server(f.layout);
    fixture_close(&f);
    return check_summary("test_owner");
}
