/* ring_stress.c - two real processes, every ring, millions of messages.
 *
 * The test formats a /dev/shm medium and starts itself twice (posix_spawn of
 * /proc/self/exe): a server that consumes requests on every ring and echoes
 * them, and a client that claims every ring and drives them round robin with
 * random batch sizes. Messages have random lengths from 0 B to several slots;
 * each carries its id (ref) and a checksum of its payload (arg2). Both sides
 * check order, content and count: no loss, no duplication, no corruption.
 * The server rewinds a request whenever its response does not fit yet. */
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "check.h"
#include "fixture.h"
#include "cxl/util.h"
#include "cxl/wait.h"

#define OP_DATA 1
#define OP_END 2
#define MAX_BATCH 32

extern char **environ;

struct opts {
    const char *path;
    const char *role;
    uint64_t messages; /* per ring */
    uint32_t rings, slot_size, max_slots;
    uint64_t map_size;
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Deterministic payload of message id on ring r; both sides can rebuild it. */
static uint32_t payload_len(const struct opts *o, uint32_t ring, uint64_t id)
{
    uint64_t s = (id + 1) * 0x9E3779B97F4A7C15ull ^ ring;
    rng_next(&s);
    uint64_t max = (uint64_t)o->max_slots * o->slot_size - CXL_MSG_HDR_MAX;
    /* mostly small, sometimes several slots */
    return (uint32_t)(rng_next(&s) % 8 == 0 ? rng_next(&s) % (max + 1) : rng_next(&s) % 200);
}

static void payload_fill(uint8_t *p, uint32_t len, uint32_t ring, uint64_t id)
{
    uint64_t s = (id * 31 + ring) | 1;
    for (uint32_t i = 0; i < len; i++)
        p[i] = i % 8 == 0 ? (uint8_t)rng_next(&s) : (uint8_t)(p[i - 1] + 1);
}

static struct cxl_layout *attach(const struct opts *o)
{
    struct cxl_medium_config cfg;
    cxl_medium_config_init(&cfg);
    cfg.path = o->path;
    cfg.map_size = 0;
    struct cxl_medium *m;
    struct cxl_layout *l;
    if (cxl_medium_open(&cfg, &m) || cxl_layout_attach(m, &l)) {
        fprintf(stderr, "%s: attach: %s\n", o->role, cxl_last_error());
        exit(3);
    }
    return l;
}

static void detach(struct cxl_layout *l)
{
    struct cxl_medium *m = cxl_layout_medium(l);
    cxl_layout_close(l);
    cxl_medium_close(m);
}

static int fail(const char *role, uint32_t ring, uint64_t id, const char *what)
{
    fprintf(stderr, "%s: ring %u message %llu: %s %s\n", role, ring, (unsigned long long)id, what,
            cxl_last_error());
    return 1;
}

/* --- server: echo every request, verifying it ------------------------------ */

struct srv_ring {
    struct cxl_queue req, resp;
    uint64_t expect;
    int ended;
};

/* Serve one batch on one ring; returns messages handled or -1 on error. */
static int serve_ring(const struct opts *o, struct srv_ring *s, uint32_t ring)
{
    struct cxl_msg m;
    int n = 0, rc;
    while (n < MAX_BATCH && (rc = cxl_queue_peek(&s->req, &m)) == 1) {
        if (m.hdr.ref != s->expect)
            return fail("server", ring, m.hdr.ref, "out of order, expected another id") * -1;
        if (m.hdr.op == OP_DATA &&
            (m.hdr.len != payload_len(o, ring, m.hdr.ref) || cxl_fnv1a64(m.payload, m.hdr.len) != m.hdr.arg2))
            return -fail("server", ring, m.hdr.ref, "bad length or checksum");
        struct cxl_msg_hdr h = {.op = m.hdr.op, .ref = m.hdr.ref, .arg2 = m.hdr.arg2};
        uint8_t *payload;
        rc = cxl_queue_reserve(&s->resp, &h, m.hdr.len, &payload);
        if (rc == CXL_EAGAIN) { /* response does not fit yet: retry later */
            cxl_queue_rewind(&s->req, &m);
            rc = 0; /* not a failure of peek, even as the batch's first */
            break;
        }
        if (rc)
            return -fail("server", ring, m.hdr.ref, "reserve response");
        memcpy(payload, m.payload, m.hdr.len);
        s->expect++;
        s->ended |= m.hdr.op == OP_END;
        n++;
    }
    if (n == 0 && rc < 0)
        return -fail("server", ring, s->expect, "peek");
    cxl_queue_submit(&s->resp); /* responses first: they copied from requests */
    cxl_queue_release(&s->req);
    return n;
}

static int run_server(const struct opts *o)
{
    struct cxl_layout *l = attach(o);
    cxl_server_announce(l, 0, NULL, NULL);
    struct srv_ring rs[CXL_MAX_RINGS];
    for (uint32_t r = 0; r < o->rings; r++) {
        rs[r] = (struct srv_ring){0};
        if (cxl_queue_init(&rs[r].req, l, r, CXL_REQ, CXL_CONSUMER) ||
            cxl_queue_init(&rs[r].resp, l, r, CXL_RESP, CXL_PRODUCER))
            return fail("server", r, 0, "queue init");
    }
    struct cxl_backoff b;
    cxl_backoff_init(&b, 20, 200, 100);
    uint32_t ended = 0;
    while (ended < o->rings) {
        int work = 0;
        ended = 0;
        for (uint32_t r = 0; r < o->rings; r++) {
            int n = serve_ring(o, &rs[r], r);
            if (n < 0)
                return 1;
            work += n;
            ended += rs[r].ended;
        }
        if (work)
            cxl_backoff_done(&b);
        else
            cxl_backoff_wait(&b);
    }
    uint64_t total = 0;
    for (uint32_t r = 0; r < o->rings; r++)
        total += rs[r].req.stats.msgs;
    printf("server: %llu requests verified and echoed, waited %.1f ms\n", (unsigned long long)total,
           b.waited_ns / 1e6);
    detach(l);
    return 0;
}

/* --- client: drive every ring, verify every response ------------------------- */

struct cli_ring {
    struct cxl_claim claim;
    struct cxl_queue req, resp;
    uint64_t sent, got;
    uint8_t *stage; /* the next payload, composed privately */
};

static int send_batch(const struct opts *o, struct cli_ring *c, uint32_t ring, uint64_t *rng)
{
    uint32_t k = 1 + (uint32_t)(rng_next(rng) % MAX_BATCH);
    for (uint32_t i = 0; i < k && c->sent <= o->messages; i++) {
        int end = c->sent == o->messages;
        uint32_t len = end ? 0 : payload_len(o, ring, c->sent);
        payload_fill(c->stage, len, ring, c->sent); /* private: never read back from the medium */
        struct cxl_msg_hdr h = {.op = end ? OP_END : OP_DATA, .ref = c->sent,
                                .arg2 = cxl_fnv1a64(c->stage, len)};
        uint8_t *payload;
        int rc = cxl_queue_reserve(&c->req, &h, len, &payload);
        if (rc == CXL_EAGAIN)
            break;
        if (rc)
            return fail("client", ring, c->sent, "reserve");
        memcpy(payload, c->stage, len);
        c->sent++;
    }
    cxl_queue_submit(&c->req);
    return 0;
}

static int recv_all(const struct opts *o, struct cli_ring *c, uint32_t ring, int *work)
{
    struct cxl_msg m;
    int rc;
    uint8_t expect[CXL_MAX_SLOT_SIZE / 64];
    while ((rc = cxl_queue_peek(&c->resp, &m)) == 1) {
        if (m.hdr.ref != c->got)
            return fail("client", ring, m.hdr.ref, "response out of order");
        uint32_t len = m.hdr.op == OP_END ? 0 : payload_len(o, ring, c->got);
        if (m.hdr.len != len || cxl_fnv1a64(m.payload, len) != m.hdr.arg2)
            return fail("client", ring, c->got, "response length or checksum");
        uint32_t k = len < sizeof expect ? len : (uint32_t)sizeof expect;
        payload_fill(expect, k, ring, c->got);
        if (memcmp(expect, m.payload, k) != 0)
            return fail("client", ring, c->got, "response content");
        c->got++;
        (*work)++;
    }
    cxl_queue_release(&c->resp);
    return rc < 0 ? fail("client", ring, c->got, "peek") : 0;
}

static int run_client(const struct opts *o)
{
    struct cxl_layout *l = attach(o);
    struct cli_ring cs[CXL_MAX_RINGS];
    struct cxl_claim_opts co = {.wait_ms = 5000};
    for (uint32_t r = 0; r < o->rings; r++) {
        cs[r] = (struct cli_ring){.stage = malloc((size_t)o->max_slots * o->slot_size)};
        if (!cs[r].stage || cxl_ring_claim(l, (int)r, 1, &co, &cs[r].claim) ||
            cxl_queue_init(&cs[r].req, l, r, CXL_REQ, CXL_PRODUCER) ||
            cxl_queue_init(&cs[r].resp, l, r, CXL_RESP, CXL_CONSUMER))
            return fail("client", r, 0, "claim/init");
    }
    uint64_t rng = 0x1234567, t0 = cxl_now_ns(), last = t0, done_rings = 0;
    struct cxl_backoff b;
    cxl_backoff_init(&b, 20, 200, 100);
    while (done_rings < o->rings) {
        int work = 0;
        done_rings = 0;
        for (uint32_t r = 0; r < o->rings; r++) {
            struct cli_ring *c = &cs[r];
            if (c->sent <= o->messages && send_batch(o, c, r, &rng))
                return 1;
            if (recv_all(o, c, r, &work))
                return 1;
            done_rings += c->got == o->messages + 1;
        }
        if (work)
            cxl_backoff_done(&b);
        else
            cxl_backoff_wait(&b);
        uint64_t now = cxl_now_ns();
        if (now - last > 2000000000ull) {
            fprintf(stderr, "client: %llu/%llu messages per ring\n", (unsigned long long)cs[0].got,
                    (unsigned long long)o->messages);
            last = now;
        }
        if ((now - t0) / 1000000000ull > 600)
            return fail("client", 0, cs[0].got, "gave up after 600 s");
    }
    double s = (cxl_now_ns() - t0) / 1e9;
    uint64_t total = 0, bytes = 0, pads = 0;
    for (uint32_t r = 0; r < o->rings; r++) {
        total += cs[r].got;
        bytes += cs[r].req.stats.bytes;
        pads += cs[r].req.stats.pads;
        free(cs[r].stage);
        if (cxl_ring_release(&cs[r].claim))
            return fail("client", r, 0, "release");
    }
    printf("client: %llu round trips on %u rings verified in %.2f s (%.2f M/s, %.1f MB payload, %llu pads)\n",
           (unsigned long long)total, o->rings, s, total / s / 1e6, bytes / 1e6, (unsigned long long)pads);
    detach(l);
    return 0;
}

/* --- orchestration ---------------------------------------------------------------- */

static pid_t spawn_role(const struct opts *o, const char *role)
{
    char msgs[32], rings[16], slot[16], maxs[16];
    snprintf(msgs, sizeof msgs, "%llu", (unsigned long long)o->messages);
    snprintf(rings, sizeof rings, "%u", o->rings);
    snprintf(slot, sizeof slot, "%u", o->slot_size);
    snprintf(maxs, sizeof maxs, "%u", o->max_slots);
    char *argv[] = {"ring_stress", "--role", (char *)role, "--path", (char *)o->path, "--messages", msgs,
                    "--rings", rings, "--slot-size", slot, "--max-slots", maxs, NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) != 0) {
        perror("posix_spawn");
        return -1;
    }
    return pid;
}

static int wait_role(pid_t pid, const char *role)
{
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "ring_stress: %s failed (%s %d)\n", role, WIFEXITED(status) ? "exit" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 1;
}

static int run_test(struct opts *o)
{
    struct fixture f;
    if (fixture_open(&f, "/dev/shm", o->map_size, o->rings, o->slot_size) != 0) {
        fprintf(stderr, "ring_stress: %s\n", cxl_last_error());
        return 1;
    }
    o->path = f.path;
    const struct cxl_geometry *g = cxl_layout_geometry(f.layout);
    printf("ring_stress: %u rings x %u slots of %u B, %llu messages per ring, up to %u slots each\n",
           g->ring_count, g->slots, g->slot_size, (unsigned long long)o->messages, o->max_slots);
    fflush(stdout);
    pid_t srv = spawn_role(o, "server");
    pid_t cli = srv > 0 ? spawn_role(o, "client") : -1;
    int bad = cli < 0;
    if (cli > 0)
        bad |= wait_role(cli, "client");
    if (bad && srv > 0)
        kill(srv, SIGKILL);
    if (srv > 0)
        bad |= wait_role(srv, "server");
    for (uint32_t r = 0; r < g->ring_count && !bad; r++)
        bad |= cxl_layout_check_ring(f.layout, r) != 0;
    fixture_close(&f);
    printf("ring_stress: %s\n", bad ? "FAILED" : "ok");
    return bad;
}

int main(int argc, char **argv)
{
    struct opts o = {.role = "test", .messages = 500000, .rings = 4, .slot_size = 256, .max_slots = 6,
                     .map_size = 8 << 20};
    static const struct option longopts[] = {
        {"role", 1, 0, 'r'},     {"path", 1, 0, 'p'},      {"messages", 1, 0, 'n'},
        {"rings", 1, 0, 'R'},    {"slot-size", 1, 0, 's'}, {"max-slots", 1, 0, 'x'},
        {"map-size", 1, 0, 'm'}, {0, 0, 0, 0},
    };
    int c, rc = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1 && rc == 0) {
        switch (c) {
        case 'r': o.role = optarg; break;
        case 'p': o.path = optarg; break;
        case 'n': rc = cxl_parse_u64("--messages", optarg, 1, 1ull << 40, &o.messages); break;
        case 'R': rc = cxl_parse_u32("--rings", optarg, 1, CXL_MAX_RINGS, &o.rings); break;
        case 's': rc = cxl_parse_u32("--slot-size", optarg, 64, 65536, &o.slot_size); break;
        case 'x': rc = cxl_parse_u32("--max-slots", optarg, 1, 64, &o.max_slots); break;
        case 'm': rc = cxl_parse_size("--map-size", optarg, &o.map_size); break;
        default: return 2;
        }
    }
    if (rc) {
        fprintf(stderr, "ring_stress: %s\n", cxl_last_error());
        return 2;
    }
    if (strcmp(o.role, "server") == 0)
        return run_server(&o);
    if (strcmp(o.role, "client") == 0)
        return run_client(&o);
    return run_test(&o);
}
