/* test_plumbing.c - the base layer's plumbing that the gateway, the tunnel,
 * the RESP client and cxl_sec_mgr share: the byte buffer (base/buf.h: a
 * fixed one pushes back, a growable one grows up to its limit, compaction
 * keeps the bytes), addresses (base/addr.h: parsing and its messages,
 * listen/accept/connect on loopback, a connect bounded in time) and the
 * event loop (base/loop.h: watch, change, unwatch, tags, timeouts), and the
 * back-off's deeper sleep once a wait is idle (cxl/wait.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "base/addr.h"
#include "base/buf.h"
#include "base/loop.h"
#include "cxl/wait.h"

static void test_fixed(void)
{
    struct cxl_buf b;
    CHECK_EQ(cxl_buf_alloc(&b, 8), 0);
    CHECK_EQ(cxl_buf_append(&b, "abcdef", 6), 0);
    CHECK(cxl_buf_tail(&b, 3) == NULL); /* full: back-pressure, no growth */
    CHECK_EQ(b.cap, 8);
    b.start += 4;                       /* "ef" left: compaction makes room */
    CHECK_EQ(cxl_buf_append(&b, "ghijkl", 6), 0);
    CHECK_EQ(cxl_buf_len(&b), 8);
    CHECK(memcmp(b.data + b.start, "efghijkl", 8) == 0);
    CHECK_EQ(cxl_buf_resize(&b, 32), 0); /* larger, same bytes, still fixed */
    CHECK(memcmp(b.data + b.start, "efghijkl", 8) == 0);
    CHECK(cxl_buf_tail(&b, 25) == NULL);
    cxl_buf_free(&b);
    struct cxl_buf none = {0}; /* a zeroed buffer holds nothing */
    CHECK(cxl_buf_tail(&none, 1) == NULL);
    CHECK_EQ(cxl_buf_alloc(&none, 0), 0);
    CHECK(cxl_buf_tail(&none, 1) == NULL);
}

static void test_growable(void)
{
    struct cxl_buf b = cxl_buf_growable(CXL_BUF_GROWS);
    CHECK_EQ(cxl_buf_append(&b, "", 0), 0);
    CHECK_EQ(b.cap, 0);
    CHECK_EQ(cxl_buf_append(&b, "x", 1), 0);
    CHECK_EQ(b.cap, CXL_BUF_FIRST);
    CHECK(cxl_buf_tail(&b, 3 * CXL_BUF_FIRST) != NULL); /* doubles: 4 x first */
    CHECK_EQ(b.cap, 4 * CXL_BUF_FIRST);
    CHECK(cxl_buf_tail_exact(&b, 10 * CXL_BUF_FIRST) != NULL); /* exactly */
    CHECK_EQ(b.cap, 1 + 10 * CXL_BUF_FIRST);
    CHECK_EQ(b.data[b.start], 'x');
    b.start = b.end; /* consumed */
    cxl_buf_trim(&b, 1024); /* big and empty: given back, still growable */
    CHECK(b.data == NULL && b.cap == 0 && b.limit == CXL_BUF_GROWS);
    CHECK_EQ(cxl_buf_append(&b, "y", 1), 0);
    cxl_buf_free(&b);
    struct cxl_buf lim = cxl_buf_growable(100);
    CHECK(cxl_buf_tail(&lim, 60) != NULL);
    CHECK_EQ(lim.cap, 100); /* doubling stops at the limit */
    CHECK(cxl_buf_tail(&lim, 101) == NULL);
    cxl_buf_free(&lim);
}

static void test_addr_parse(void)
{
    struct cxl_net_addr a;
    CHECK_EQ(cxl_net_addr_parse("--listen", "127.0.0.1:6380", &a), 0);
    CHECK(a.n >= 1 && !a.is_unix && strcmp(a.text, "127.0.0.1:6380") == 0);
    CHECK_EQ(cxl_net_addr_parse("--listen", "[::1]:6380", &a), 0);
    CHECK_EQ(cxl_net_addr_parse("--unix", "unix:/tmp/x.sock", &a), 0);
    CHECK(a.is_unix && a.n == 1);
    CHECK_FAILS(cxl_net_addr_parse("--listen", "127.0.0.1", &a), CXL_EINVAL, "--listen: '127.0.0.1' is not HOST:PORT");
    CHECK_FAILS(cxl_net_addr_parse("--listen", "", &a), CXL_EINVAL, "--listen: needs HOST:PORT or unix:/path");
    CHECK_FAILS(cxl_net_addr_parse("--listen", "[]:5", &a), CXL_EINVAL, "--listen: '[]:5' has no host");
    CHECK_FAILS(cxl_net_addr_parse("--unix", "unix:", &a), CXL_EINVAL, "--unix: unix: needs a path");
    CHECK_FAILS(cxl_net_addr_parse("--connect", "no.such.host.invalid:1", &a), CXL_EINVAL,
                "--connect: cannot resolve 'no.such.host.invalid'");
    /* TCP only: "unix:" is a host name, resolution failures as cxl_sec_mgr says them */
    CHECK_FAILS(cxl_net_addr_parse_tcp("--listen", "unix:/x", &a), CXL_EINVAL, "--listen: '/x' is not a");
    CHECK_FAILS(cxl_net_addr_parse_tcp("manager address", "no.such.host.invalid:1", &a), CXL_EINVAL,
                "manager address no.such.host.invalid:1: ");
}

/* The kernel's choice of a free port on loopback. */
static int listen_any(struct cxl_net_addr *a)
{
    CHECK_EQ(cxl_net_addr_parse("--listen", "127.0.0.1:1", a), 0);
    ((struct sockaddr_in *)&a->sa[0])->sin_port = 0;
    int fd = cxl_net_listen(a, 4);
    CHECK(fd >= 0);
    socklen_t len = sizeof a->sa[0];
    getsockname(fd, (struct sockaddr *)&a->sa[0], &len);
    return fd;
}

struct seen {
    uint64_t tag;
    uint32_t events;
    int n;
};

static void on_event(void *ctx, uint64_t tag, uint32_t events)
{
    struct seen *s = ctx;
    s->tag = tag;
    s->events = events;
    s->n++;
}

static void test_connect_and_loop(void)
{
    struct cxl_net_addr a;
    int lfd = listen_any(&a);
    struct cxl_loop loop;
    CHECK_EQ(cxl_loop_open(&loop, 8), 0);
    uint32_t lmask = 0;
    struct seen s = {0};
    CHECK_EQ(cxl_loop_watch(&loop, lfd, &lmask, EPOLLIN, 42), 0);
    CHECK_EQ(cxl_loop_wait(&loop, 0, NULL, on_event, &s), 0); /* nothing yet */
    CHECK_EQ(cxl_net_accept(lfd, NULL), -1);
    CHECK_EQ(errno, EAGAIN);
    int pending, cfd = cxl_net_connect(&a, 1, &pending);
    CHECK(cfd >= 0);
    CHECK_EQ(cxl_loop_wait(&loop, 1000, NULL, on_event, &s), 1);
    CHECK(s.tag == 42 && (s.events & EPOLLIN));
    struct sockaddr_storage peer;
    int sfd = cxl_net_accept(lfd, &peer);
    CHECK(sfd >= 0);
    char name[64];
    cxl_net_sockaddr_name(&peer, name, sizeof name);
    CHECK(strncmp(name, "127.0.0.1:", 10) == 0);
    CHECK_EQ(cxl_loop_watch(&loop, lfd, &lmask, 0, 42), 0); /* paused */
    CHECK_EQ(lmask, 0);
    /* a buffer sent over it comes out the other side */
    struct cxl_buf out = cxl_buf_growable(CXL_BUF_GROWS);
    CHECK_EQ(cxl_buf_append(&out, "PING", 4), 0);
    CHECK_EQ(cxl_buf_send(&out, cfd), 0);
    CHECK_EQ(cxl_buf_len(&out), 0);
    uint32_t smask = 0;
    CHECK_EQ(cxl_loop_watch(&loop, sfd, &smask, EPOLLIN | EPOLLOUT, 7), 0);
    CHECK_EQ(cxl_loop_watch(&loop, sfd, &smask, EPOLLIN, 7), 0); /* changed */
    s = (struct seen){0};
    CHECK_EQ(cxl_loop_wait(&loop, 1000, NULL, on_event, &s), 1);
    CHECK(s.tag == 7 && s.events == EPOLLIN);
    char got[4];
    CHECK_EQ(read(sfd, got, 4), 4);
    CHECK(memcmp(got, "PING", 4) == 0);
    cxl_buf_free(&out);
    close(sfd);
    close(cfd);
    /* a connect within a time, to a port nobody listens on any more */
    close(lfd);
    CHECK_FAILS(cxl_net_connect_within(&a, 500), CXL_ESYS, "cannot connect to 127.0.0.1:1");
    CHECK_FAILS(cxl_net_connect(&a, 0, NULL), CXL_ESYS, "cannot connect to 127.0.0.1:1");
    cxl_loop_close(&loop);
}

/* Sleeps double up to max_sleep_us; past idle_after of one wait, up to
 * idle_sleep_us; work (done) starts the next wait at the shallow ceiling. */
static void test_backoff_idle(void)
{
    struct cxl_backoff b;
    cxl_backoff_init(&b, 0, 0, 100);
    cxl_backoff_set_idle(&b, 100, 50); /* not deeper than max_sleep_us: off */
    CHECK_EQ(b.idle_sleep_us, 0u);
    cxl_backoff_set_idle(&b, 20, 800);
    uint32_t most_shallow = 0;
    for (int i = 0; i < 10000 && b.sleep_us < 800; i++) {
        cxl_backoff_wait(&b);
        if (b.now_ns - b.wait_start_ns < 20000000u && b.sleep_us > most_shallow)
            most_shallow = b.sleep_us; /* before idle_after: the usual ceiling */
    }
    CHECK_EQ(most_shallow, 100u);
    CHECK_EQ(b.sleep_us, 800u);
    cxl_backoff_wait(&b);
    CHECK_EQ(b.sleep_us, 800u); /* the idle ceiling holds */
    cxl_backoff_done(&b);
    for (int i = 0; i < 8; i++)
        cxl_backoff_wait(&b);
    CHECK_EQ(b.sleep_us, 100u); /* a new wait: shallow again */
}

/* One wait of the back-off until it gives the CPU away (a yield or a sleep):
 * how long it spun, in ns. */
static uint64_t spin_of_one_wait(struct cxl_backoff *b)
{
    uint64_t yields = b->yields, sleeps = b->sleeps;
    while (b->yields == yields && b->sleeps == sleeps)
        cxl_backoff_wait(b);
    uint64_t spun = b->now_ns - b->wait_start_ns;
    cxl_backoff_done(b);
    return spun;
}

/* A dense stream (CXL_BACKOFF_DENSE_ARM short waits in a row) spins up to
 * busy_spin_us; CXL_BACKOFF_DENSE_WAITS longer waits end it; a pair of
 * requests does not start it; busy_spin_us not above spin_us is off. */
static void short_waits(struct cxl_backoff *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        cxl_backoff_wait(b);
        cxl_backoff_done(b); /* work at once */
    }
}

static void test_backoff_dense(void)
{
    struct cxl_backoff b;
    cxl_backoff_init(&b, 100, 1000, 100);
    cxl_backoff_set_busy(&b, 50); /* not above spin_us: off */
    CHECK_EQ(b.busy_spin_ns, 0u);
    short_waits(&b, 2 * CXL_BACKOFF_DENSE_ARM);
    CHECK_EQ(b.dense, 0u);
    cxl_backoff_set_busy(&b, 5000);
    CHECK(spin_of_one_wait(&b) < 5000000u); /* not dense: spin_us */
    for (int pair = 0; pair < 40; pair++) { /* pairs: one short wait after each long one */
        short_waits(&b, 1);
        CHECK(spin_of_one_wait(&b) < 5000000u);
    }
    CHECK_EQ(b.dense, 0u);
    short_waits(&b, CXL_BACKOFF_DENSE_ARM - 1);
    CHECK_EQ(b.dense, 0u);
    short_waits(&b, 1); /* the stream is dense */
    CHECK_EQ(b.dense, CXL_BACKOFF_DENSE_WAITS);
    CHECK(spin_of_one_wait(&b) >= 5000000u); /* busy_spin_us */
    CHECK_EQ(b.dense, CXL_BACKOFF_DENSE_WAITS - 1);
    for (uint32_t i = 1; i < CXL_BACKOFF_DENSE_WAITS; i++) { /* longer than spin_us */
        b.wait_start_ns = cxl_now_ns() - 200000u;
        cxl_backoff_done(&b);
    }
    CHECK_EQ(b.dense, 0u); /* the stream stopped or slowed down */
    CHECK(spin_of_one_wait(&b) < 5000000u);
}

int main(void)
{
    test_backoff_idle();
    test_backoff_dense();
    test_fixed();
    test_growable();
    test_addr_parse();
    test_connect_and_loop();
    return check_summary("test_plumbing");
}
