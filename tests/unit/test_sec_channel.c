/* test_sec_channel.c - the node <-> manager channel (docs/SECURITY.md, "The
 * handshake"): a manager thread and a node over socketpairs, with a
 * man-in-the-middle relay thread that can flip a byte of any frame, repeat
 * one or record them. Success and key agreement; a wrong secret for the id;
 * an unknown id; a wrong manager key; every byte of messages 1, 2 and 3
 * tampered; a recorded handshake replayed; truncated, empty, oversized and
 * slow frames; encrypted frames tampered, replayed, reordered, reflected and
 * moved between sessions; the KEYS/PING requests and replies. Every failure
 * must be a clean error code (the harness runs this under ASan+UBSan too). */
#define _GNU_SOURCE
#include <pthread.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "sec/sec.h"

#define T_MS 2000

static struct cxl_node_key mgr_key, node1, node2; /* nodes 1 and 2 are configured */

static int lookup(void *ctx, uint16_t id, uint8_t pub[32])
{
    (void)ctx;
    if (id == 1)
        memcpy(pub, node1.public_key, 32);
    else if (id == 2)
        memcpy(pub, node2.public_key, 32);
    else
        return -1;
    return 0;
}

static int is_clean_error(int rc)
{
    return rc == CXL_EPROTO || rc == CXL_ECRYPTO || rc == CXL_EDENIED || rc == CXL_ETIMEDOUT;
}

/* ---- the manager thread ------------------------------------------------------------ */

struct mgr_side {
    int fd;
    int echo;          /* after the handshake, echo frames until an error */
    uint32_t timeout;  /* 0: T_MS */
    int rc, echo_rc;   /* results */
    uint16_t node;
    uint16_t peer;     /* cxl_sec_chan_peer */
    char err[256], echo_err[256];
};

static void *mgr_main(void *arg)
{
    struct mgr_side *m = arg;
    struct cxl_sec_chan *c = NULL;
    m->rc = cxl_sec_accept(m->fd, &mgr_key, lookup, NULL, m->timeout ? m->timeout : T_MS, &c,
                           &m->node);
    snprintf(m->err, sizeof m->err, "%s", cxl_last_error());
    if (m->rc) {
        close(m->fd);
        return NULL;
    }
    m->peer = cxl_sec_chan_peer(c);
    uint8_t buf[4096];
    size_t n;
    while (m->echo && (m->echo_rc = cxl_sec_chan_recv(c, buf, sizeof buf, &n)) == 0)
        if ((m->echo_rc = cxl_sec_chan_send(c, buf, n)) != 0)
            break;
    snprintf(m->echo_err, sizeof m->echo_err, "%s", cxl_last_error());
    cxl_sec_chan_free(c);
    return NULL;
}

/* ---- the man in the middle --------------------------------------------------------- */

struct relay {
    int a, b;                 /* a: towards the node, b: towards the manager */
    int dir, frame, byte;     /* flip `byte` of frame number `frame` in direction dir */
    int dup_dir, dup_frame;   /* send this frame twice */
    int swap_dir, swap_frame; /* hold this frame and send it after the next one */
    uint8_t rec[2][8][128];   /* the first frames of each direction (0: n->m) */
    size_t rec_len[2][8];
    int count[2];
};

static void relay_init(struct relay *r)
{
    memset(r, 0, sizeof *r);
    r->dir = r->dup_dir = r->swap_dir = -1;
}

static int forward(struct relay *r, int d, uint8_t *held, size_t *held_len)
{
    int from = d == 0 ? r->a : r->b, to = d == 0 ? r->b : r->a;
    uint8_t body[CXL_SEC_FRAME_MAX];
    size_t n;
    if (cxl_sec_frame_read(from, body, sizeof body, &n, T_MS) != 0)
        return -1;
    int k = r->count[d]++;
    if (k < 8 && n <= 128) {
        memcpy(r->rec[d][k], body, n);
        r->rec_len[d][k] = n;
    }
    if (d == r->dir && k == r->frame && (size_t)r->byte < n)
        body[r->byte] ^= 0x01;
    if (d == r->swap_dir && k == r->swap_frame) { /* hold it back */
        memcpy(held, body, n);
        *held_len = n;
        return 0;
    }
    int rc = cxl_sec_frame_write(to, body, n, T_MS);
    if (rc == 0 && d == r->dup_dir && k == r->dup_frame)
        rc = cxl_sec_frame_write(to, body, n, T_MS);
    if (rc == 0 && *held_len && d == r->swap_dir) {
        rc = cxl_sec_frame_write(to, held, *held_len, T_MS);
        *held_len = 0;
    }
    return rc ? -1 : 0;
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    static _Thread_local uint8_t held[CXL_SEC_FRAME_MAX];
    size_t held_len = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = r->a, .events = POLLIN}, {.fd = r->b, .events = POLLIN}};
        if (poll(p, 2, T_MS) <= 0)
            break;
        int d = (p[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 0 : 1;
        if (forward(r, d, held, &held_len) != 0)
            break;
    }
    close(r->a); /* both ends now see the connection close */
    close(r->b);
    return NULL;
}

/* ---- one session: node in this thread, manager and relay in threads ------------------- */

struct session {
    uint16_t id;
    const struct cxl_node_key *key;
    struct relay relay;
    struct mgr_side mgr;
    int node_rc;
    struct cxl_sec_chan *chan; /* the node's, when node_rc == 0 */
    pthread_t mt, rt;
    int node_fd;
};

static void session_start(struct session *s, uint16_t id, const struct cxl_node_key *k, int echo)
{
    int np[2], mp[2];
    s->id = id;
    s->key = k;
    s->mgr = (struct mgr_side){.echo = echo};
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, np) || socketpair(AF_UNIX, SOCK_STREAM, 0, mp)) {
        perror("socketpair");
        exit(2);
    }
    s->node_fd = np[0];
    s->relay.a = np[1];
    s->relay.b = mp[0];
    s->mgr.fd = mp[1];
    pthread_create(&s->mt, NULL, mgr_main, &s->mgr);
    pthread_create(&s->rt, NULL, relay_main, &s->relay);
    s->chan = NULL;
    s->node_rc = cxl_sec_initiate(s->node_fd, id, k, T_MS, &s->chan);
}

static void session_end(struct session *s)
{
    if (s->node_rc == 0)
        cxl_sec_chan_free(s->chan); /* closes node_fd */
    else
        close(s->node_fd);
    pthread_join(s->mt, NULL);
    pthread_join(s->rt, NULL);
}

/* ---- the tests --------------------------------------------------------------------------- */

static void test_success(void)
{
    struct session s;
    relay_init(&s.relay);
    session_start(&s, 1, &node1, 1);
    CHECK_EQ(s.node_rc, 0);
    if (s.node_rc == 0) {
        /* key agreement: frames both ways open, in order, several times */
        for (int i = 0; i < 5; i++) {
            char msg[64], back[64];
            size_t n = 0;
            snprintf(msg, sizeof msg, "hello %d from node 1", i);
            CHECK_EQ(cxl_sec_chan_send(s.chan, msg, strlen(msg)), 0);
            CHECK_EQ(cxl_sec_chan_recv(s.chan, back, sizeof back, &n), 0);
            CHECK(n == strlen(msg) && memcmp(msg, back, n) == 0);
        }
    }
    session_end(&s);
    CHECK_EQ(s.mgr.rc, 0);
    CHECK_EQ(s.mgr.node, 1);
    CHECK_EQ(s.mgr.peer, 1);
    CHECK_EQ(s.mgr.echo_rc, CXL_EPROTO); /* the node closed */
    CHECK_EQ(s.relay.rec_len[0][0], CXL_SEC_MSG1_BYTES);
    CHECK_EQ(s.relay.rec_len[1][0], CXL_SEC_MSG2_BYTES);
    CHECK_EQ(s.relay.rec_len[0][1], CXL_SEC_MSG3_BYTES);
    CHECK(memcmp(s.relay.rec[0][0], "CXLS\x01\x01\x00", 7) == 0);
    /* the encrypted frames carry no plaintext */
    CHECK_EQ(s.relay.rec_len[0][2], strlen("hello 0 from node 1") + CXL_SEC_TAG_BYTES);
    CHECK(memmem(s.relay.rec[0][2], s.relay.rec_len[0][2], "hello", 5) == NULL);
}

static void test_wrong_secret(void)
{
    struct cxl_node_key fake = node2; /* node 2's key pair, claiming id 1 */
    struct session s;
    relay_init(&s.relay);
    session_start(&s, 1, &fake, 0);
    CHECK_EQ(s.node_rc, CXL_ECRYPTO);
    CHECK(strstr(cxl_last_error(), "confirmation did not verify") != NULL);
    session_end(&s);
    CHECK(s.mgr.rc != 0 && is_clean_error(s.mgr.rc));
    CHECK_EQ(s.mgr.node, 1);
    CHECK_EQ(s.relay.count[0], 1); /* the node never sent message 3 */
}

static void test_unknown_id(void)
{
    struct session s;
    relay_init(&s.relay);
    session_start(&s, 7, &node1, 0);
    CHECK_EQ(s.node_rc, CXL_ECRYPTO); /* the same as a wrong key: no oracle */
    session_end(&s);
    CHECK_EQ(s.mgr.rc, CXL_EDENIED);
    CHECK(strstr(s.mgr.err, "node 7 is not configured") != NULL);
    CHECK_EQ(s.relay.rec_len[1][0], CXL_SEC_MSG2_BYTES); /* answered like anyone else */
}

static void test_wrong_manager_key(void)
{
    struct cxl_node_key k = node1;
    memcpy(k.manager_public, node2.public_key, 32);
    struct session s;
    relay_init(&s.relay);
    session_start(&s, 1, &k, 0);
    CHECK_EQ(s.node_rc, CXL_ECRYPTO);
    session_end(&s);
    CHECK(s.mgr.rc != 0);
    k.has_manager_public = 0;
    struct cxl_sec_chan *c;
    CHECK_FAILS(cxl_sec_initiate(-1, 1, &k, T_MS, &c), CXL_EINVAL, "manager-public");
}

/* Flip each byte of message `frame` in direction dir: nobody may succeed
 * where the flip should be seen, and every failure is a clean code. */
static void test_tamper(int dir, int frame, int bytes)
{
    int bad = 0;
    for (int b = 0; b < bytes; b++) {
        struct session s;
        relay_init(&s.relay);
        s.relay.dir = dir, s.relay.frame = frame, s.relay.byte = b;
        session_start(&s, 1, &node1, 0);
        int node_rc = s.node_rc;
        session_end(&s);
        int ok = s.mgr.rc != 0 && is_clean_error(s.mgr.rc); /* the manager never accepts */
        if (dir == 0 && frame == 1)
            ok = ok && node_rc == 0 && s.mgr.rc == CXL_ECRYPTO; /* only the manager can tell */
        else
            ok = ok && is_clean_error(node_rc);
        if (!ok && bad++ < 3)
            fprintf(stderr, "tamper dir %d frame %d byte %d: node %s, manager %s (%s)\n", dir,
                    frame, b, cxl_strerror(node_rc), cxl_strerror(s.mgr.rc), s.mgr.err);
    }
    CHECK_EQ(bad, 0);
}

/* A recorded successful handshake, replayed: message 1 and 3 to a new
 * manager, message 2 to a new node. */
static void test_replay_handshake(void)
{
    struct session s;
    relay_init(&s.relay);
    session_start(&s, 1, &node1, 0);
    CHECK_EQ(s.node_rc, 0);
    session_end(&s);
    CHECK_EQ(s.mgr.rc, 0);

    int sp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    struct mgr_side m = {.fd = sp[1]};
    pthread_t t;
    pthread_create(&t, NULL, mgr_main, &m);
    uint8_t m2[128];
    size_t n;
    CHECK_EQ(cxl_sec_frame_write(sp[0], s.relay.rec[0][0], s.relay.rec_len[0][0], T_MS), 0);
    CHECK_EQ(cxl_sec_frame_read(sp[0], m2, sizeof m2, &n, T_MS), 0);
    CHECK(n == CXL_SEC_MSG2_BYTES && memcmp(m2, s.relay.rec[1][0], n) != 0); /* fresh e_m */
    CHECK_EQ(cxl_sec_frame_write(sp[0], s.relay.rec[0][1], s.relay.rec_len[0][1], T_MS), 0);
    pthread_join(t, NULL);
    close(sp[0]);
    CHECK_EQ(m.rc, CXL_ECRYPTO);
    CHECK(strstr(m.err, "did not prove") != NULL);

    struct cxl_sec_hs *hs;
    struct cxl_sec_chan *c = NULL;
    uint8_t m1[CXL_SEC_MSG1_BYTES], m3[CXL_SEC_MSG3_BYTES];
    CHECK_EQ(cxl_sec_hs_start(&node1, 1, m1, &hs), 0);
    CHECK_FAILS(cxl_sec_hs_finish(hs, s.relay.rec[1][0], s.relay.rec_len[1][0], m3, &c),
                CXL_ECRYPTO, "confirmation");
    CHECK(c == NULL);
    /* a failed handshake is dead: no second try */
    CHECK_FAILS(cxl_sec_hs_finish(hs, s.relay.rec[1][0], s.relay.rec_len[1][0], m3, &c),
                CXL_EINVAL, "not waiting");
    cxl_sec_hs_free(hs);
}

/* Raw bytes to a manager thread; its result. */
static int manager_given(const uint8_t *bytes, size_t len, int close_after, uint32_t timeout,
                         char *err, size_t errcap)
{
    int sp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    struct mgr_side m = {.fd = sp[1], .timeout = timeout};
    pthread_t t;
    pthread_create(&t, NULL, mgr_main, &m);
    if (len && write(sp[0], bytes, len) != (ssize_t)len)
        perror("write");
    if (close_after)
        shutdown(sp[0], SHUT_WR);
    pthread_join(t, NULL);
    close(sp[0]);
    snprintf(err, errcap, "%s", m.err);
    return m.rc;
}

static void test_bad_frames(void)
{
    char err[256];
    uint8_t buf[80] = {0};
    struct cxl_sec_hs *hs;
    uint8_t m1[CXL_SEC_MSG1_BYTES];
    CHECK_EQ(cxl_sec_hs_start(&node1, 1, m1, &hs), 0);
    cxl_sec_hs_free(hs);

    /* oversized and empty length prefixes */
    buf[0] = 0x70, buf[1] = 0x11, buf[2] = 0x01; /* 70000 */
    CHECK_EQ(manager_given(buf, 4, 0, 0, err, sizeof err), CXL_EPROTO);
    CHECK(strstr(err, "frame length 70000") != NULL);
    memset(buf, 0, 4);
    CHECK_EQ(manager_given(buf, 4, 0, 0, err, sizeof err), CXL_EPROTO);
    CHECK(strstr(err, "frame length 0") != NULL);
    /* larger than message 1 */
    buf[0] = 40;
    CHECK_EQ(manager_given(buf, 44, 0, 0, err, sizeof err), CXL_EPROTO);
    CHECK(strstr(err, "at most 39") != NULL);
    /* shorter than message 1 */
    buf[0] = 38;
    memcpy(buf + 4, m1, 38);
    CHECK_EQ(manager_given(buf, 42, 0, 0, err, sizeof err), CXL_EPROTO);
    CHECK(strstr(err, "message 1 has 38 bytes") != NULL);
    /* truncated: the length says 39, 10 bytes come, then the end */
    buf[0] = 39;
    CHECK_EQ(manager_given(buf, 14, 1, 0, err, sizeof err), CXL_EPROTO);
    CHECK(strstr(err, "truncated") != NULL);
    /* half a length prefix, then the end */
    CHECK_EQ(manager_given(buf, 2, 1, 0, err, sizeof err), CXL_EPROTO);
    /* nothing at all: the timeout */
    CHECK_EQ(manager_given(buf, 0, 0, 200, err, sizeof err), CXL_ETIMEDOUT);
    /* a slow sender: 10 bytes, then silence */
    CHECK_EQ(manager_given(buf, 14, 0, 200, err, sizeof err), CXL_ETIMEDOUT);
    /* bad magic, bad version */
    memcpy(buf + 4, m1, 39);
    buf[4] = 'X';
    CHECK_EQ(manager_given(buf, 43, 0, 0, err, sizeof err), CXL_EPROTO);
    CHECK(strstr(err, "magic") != NULL);
    memcpy(buf + 4, m1, 39);
    buf[8] = 2;
    CHECK_EQ(manager_given(buf, 43, 0, 0, err, sizeof err), CXL_EPROTO);
    CHECK(strstr(err, "version 2") != NULL);
    /* a low-order ephemeral key (all zero) */
    memcpy(buf + 4, m1, 39);
    memset(buf + 4 + 7, 0, 32);
    CHECK_EQ(manager_given(buf, 43, 0, 0, err, sizeof err), CXL_ECRYPTO);

    /* the node's side: an oversized message 2, a silent manager */
    int sp[2];
    struct cxl_sec_chan *c;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    uint8_t big[4 + 65] = {65};
    CHECK_EQ(write(sp[1], big, sizeof big), (ssize_t)sizeof big);
    CHECK_FAILS(cxl_sec_initiate(sp[0], 1, &node1, T_MS, &c), CXL_EPROTO, "at most 64");
    close(sp[0]);
    close(sp[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    CHECK_FAILS(cxl_sec_initiate(sp[0], 1, &node1, 200, &c), CXL_ETIMEDOUT, "in time");
    close(sp[0]);
    close(sp[1]);
}

/* A node and a manager channel from the handshake on buffers. */
static void pair(struct cxl_sec_chan **n, struct cxl_sec_chan **m)
{
    uint8_t m1[CXL_SEC_MSG1_BYTES], m2[CXL_SEC_MSG2_BYTES], m3[CXL_SEC_MSG3_BYTES];
    struct cxl_sec_hs *hn, *hm;
    *n = *m = NULL;
    CHECK_EQ(cxl_sec_hs_start(&node2, 2, m1, &hn), 0);
    CHECK_EQ(cxl_sec_hs_answer(&mgr_key, lookup, NULL, m1, sizeof m1, m2, &hm), 0);
    CHECK_EQ(cxl_sec_hs_node(hm), 2);
    CHECK_EQ(cxl_sec_hs_known(hm), 1);
    CHECK_EQ(cxl_sec_hs_finish(hn, m2, sizeof m2, m3, n), 0);
    CHECK_EQ(cxl_sec_hs_confirm(hm, m3, sizeof m3, m), 0);
    /* a finished handshake cannot be driven again */
    CHECK_FAILS(cxl_sec_hs_confirm(hm, m3, sizeof m3, m), CXL_EINVAL, "not waiting");
    cxl_sec_hs_free(hn);
    cxl_sec_hs_free(hm);
}

struct frame {
    uint8_t b[4 + 64 + CXL_SEC_TAG_BYTES];
    size_t n;
};

static void seal(struct cxl_sec_chan *c, const char *text, struct frame *f)
{
    CHECK_EQ(cxl_sec_chan_seal(c, text, strlen(text), f->b, sizeof f->b, &f->n), 0);
}

static int open_f(struct cxl_sec_chan *c, const struct frame *f, char *out)
{
    size_t n = 0;
    int rc = cxl_sec_chan_open(c, f->b + 4, f->n - 4, out, 63, &n);
    out[rc == 0 ? n : 0] = '\0';
    return rc;
}

static void test_encrypted_frames(void)
{
    struct cxl_sec_chan *n, *m, *n2, *m2;
    struct frame f[3], g, r;
    char out[64];
    pair(&n, &m);
    seal(n, "KEYS ring 0", &f[0]);
    seal(n, "KEYS ring 1", &f[1]);
    seal(n, "PING", &f[2]);
    CHECK_EQ(f[0].b[0], 11 + CXL_SEC_TAG_BYTES);
    CHECK_EQ(open_f(m, &f[0], out), 0);
    CHECK(strcmp(out, "KEYS ring 0") == 0);
    /* replayed: the counter moved on */
    CHECK_FAILS(open_f(m, &f[0], out), CXL_ECRYPTO, "replayed or out of order");
    /* and the channel is closed for good */
    CHECK_FAILS(open_f(m, &f[1], out), CXL_EPROTO, "closed");
    CHECK_FAILS(cxl_sec_chan_seal(m, "x", 1, g.b, sizeof g.b, &g.n), CXL_EPROTO, "closed");
    cxl_sec_chan_free(n);
    cxl_sec_chan_free(m);

    /* reordered */
    pair(&n, &m);
    seal(n, "one", &f[0]);
    seal(n, "two", &f[1]);
    CHECK_FAILS(open_f(m, &f[1], out), CXL_ECRYPTO, "frame 0 from node 2");
    cxl_sec_chan_free(n);
    cxl_sec_chan_free(m);

    /* every byte of a frame body tampered */
    int bad = 0;
    for (size_t b = 4; b < 4 + 3 + CXL_SEC_TAG_BYTES; b++) {
        pair(&n, &m);
        seal(n, "abc", &g);
        g.b[b] ^= 0x80;
        if (open_f(m, &g, out) != CXL_ECRYPTO)
            bad++;
        cxl_sec_chan_free(n);
        cxl_sec_chan_free(m);
    }
    CHECK_EQ(bad, 0);

    /* too short to hold a tag */
    pair(&n, &m);
    seal(n, "abc", &g);
    CHECK_EQ(cxl_sec_chan_open(m, g.b + 4, 15, out, 63, &g.n), CXL_EPROTO);
    cxl_sec_chan_free(n);
    cxl_sec_chan_free(m);

    /* reflected (a node's own frame back to it) and moved between sessions */
    pair(&n, &m);
    pair(&n2, &m2);
    seal(n, "abc", &g);
    CHECK_EQ(open_f(n, &g, out), CXL_ECRYPTO);
    seal(m2, "reply", &r);
    CHECK_EQ(open_f(n2, &r, out), 0); /* right session: fine */
    seal(m2, "reply", &r);
    CHECK_EQ(open_f(m, &r, out), CXL_ECRYPTO); /* another session's frame */
    /* a message too large for a frame */
    static uint8_t huge[CXL_SEC_FRAME_MAX];
    size_t hn;
    CHECK_FAILS(cxl_sec_chan_seal(m2, huge, CXL_SEC_MSG_MAX + 1, huge, sizeof huge, &hn),
                CXL_E2BIG, "at most");
    cxl_sec_chan_free(n);
    cxl_sec_chan_free(m);
    cxl_sec_chan_free(n2);
    cxl_sec_chan_free(m2);
}

/* On the socket, through the relay: a frame tampered, repeated, swapped. */
static void test_encrypted_on_wire(void)
{
    for (int kind = 0; kind < 3; kind++) {
        struct session s;
        relay_init(&s.relay);
        if (kind == 0)
            s.relay.dir = 0, s.relay.frame = 3, s.relay.byte = 5; /* the 2nd encrypted frame */
        else if (kind == 1)
            s.relay.dup_dir = 0, s.relay.dup_frame = 2;
        else
            s.relay.swap_dir = 0, s.relay.swap_frame = 2;
        session_start(&s, 1, &node1, 1);
        CHECK_EQ(s.node_rc, 0);
        char back[64];
        size_t n;
        int rc = 0;
        if (s.node_rc == 0) {
            cxl_sec_chan_set_timeout(s.chan, 500);
            rc = cxl_sec_chan_send(s.chan, "first", 5);
            if (rc == 0 && kind != 2)
                rc = cxl_sec_chan_recv(s.chan, back, sizeof back, &n);
            if (rc == 0)
                rc = cxl_sec_chan_send(s.chan, "second", 6);
            if (rc == 0)
                rc = cxl_sec_chan_recv(s.chan, back, sizeof back, &n);
        }
        CHECK(rc != 0 && is_clean_error(rc)); /* the manager closed: EPROTO, or timed out */
        session_end(&s);
        CHECK_EQ(s.mgr.rc, 0);
        CHECK_EQ(s.mgr.echo_rc, CXL_ECRYPTO);
        CHECK(strstr(s.mgr.echo_err, "failed authentication") != NULL);
    }
}

/* ---- requests and replies --------------------------------------------------------------- */

static void test_requests(void)
{
    struct cxl_sec_request q;
    CHECK_EQ(cxl_sec_request_parse((const uint8_t *)"PING", 4, &q), 0);
    CHECK_EQ(q.kind, CXL_SEC_REQ_PING);
    CHECK_EQ(cxl_sec_request_parse((const uint8_t *)"KEYS ring 7\n", 12, &q), 0);
    CHECK(q.kind == CXL_SEC_REQ_KEYS_RING && q.ring == 7);
    CHECK_EQ(cxl_sec_request_parse((const uint8_t *)"KEYS ring 4294967295", 20, &q), 0);
    CHECK_EQ(q.ring, 4294967295u);
    CHECK_EQ(cxl_sec_request_parse((const uint8_t *)"KEYS name graph", 15, &q), 0);
    CHECK(q.kind == CXL_SEC_REQ_KEYS_NAME && strcmp(q.region, "graph") == 0);
    const char *bad[] = {"", "PING ", "ping", "KEYS ring", "KEYS ring -1", "KEYS ring 4294967296",
                         "KEYS ring 1x", "KEYS ring  1", "KEYS name ", "KEYS name a b",
                         "KEYS name 9lives", "KEYS name a/b", "KEYS foo 1", "\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(cxl_sec_request_parse((const uint8_t *)bad[i], strlen(bad[i]), &q), CXL_EPROTO);
    CHECK_EQ(cxl_sec_request_parse((const uint8_t *)"PI\0G", 4, &q), CXL_EPROTO);

    static struct cxl_region_keys k, got;
    k = (struct cxl_region_keys){.region = "ring1", .epoch = 7, .has_prev = 1, .prev_epoch = 6,
                                 .valid_for_ms = 1000, .binding = CXL_SEC_BIND_NODE};
    memset(k.key, 0xaa, 32);
    memset(k.prev_key, 0xbb, 32);
    uint8_t buf[1024];
    int n = cxl_sec_reply_keys(&k, buf, sizeof buf);
    CHECK_EQ(n, 88 + 5);
    CHECK_EQ(cxl_sec_reply_keys_parse(buf, (size_t)n, "ring 1", &got), 0);
    CHECK(got.epoch == 7 && got.has_prev == 1 && got.prev_epoch == 6 && got.valid_for_ms == 1000);
    CHECK(memcmp(got.key, k.key, 32) == 0 && memcmp(got.prev_key, k.prev_key, 32) == 0);
    CHECK(strcmp(got.region, "ring1") == 0 && got.binding == CXL_SEC_BIND_NODE && got.n_clients == 0);
    /* every truncation, and a bad has_prev or binding flag, are protocol
     * errors (the name has its length: a reply cut or padded is malformed) */
    int bad_n = 0;
    for (int len = 0; len < n; len++)
        if (cxl_sec_reply_keys_parse(buf, (size_t)len, "ring 1", &got) != CXL_EPROTO)
            bad_n++;
    CHECK_EQ(bad_n, 0);
    CHECK_EQ(cxl_sec_reply_keys_parse(buf, (size_t)n + 1, "ring 1", &got), CXL_EPROTO);
    buf[1 + 8 + 32 + 1 + 8 + 32 + 4] = 2; /* binding */
    CHECK_EQ(cxl_sec_reply_keys_parse(buf, (size_t)n, "ring 1", &got), CXL_EPROTO);
    /* a server's reply: the region key and the ring's clients with their users */
    k.binding = CXL_SEC_BIND_REGION;
    k.n_clients = 3;
    k.clients[0] = (struct cxl_region_client){.node = 2, .user = "alice"};
    k.clients[1] = (struct cxl_region_client){.node = 65535, .user = ""};
    k.clients[2] = (struct cxl_region_client){.node = 7, .user = "bob:with-punct!"};
    n = cxl_sec_reply_keys(&k, buf, sizeof buf);
    CHECK_EQ(n, 88 + 5 + 2 + 3 * 3 + 5 + 15);
    CHECK_EQ(cxl_sec_reply_keys_parse(buf, (size_t)n, "ring 1", &got), 0);
    CHECK(got.binding == CXL_SEC_BIND_REGION && got.n_clients == 3 && got.clients[0].node == 2 &&
          strcmp(got.clients[0].user, "alice") == 0 && got.clients[1].node == 65535 && got.clients[1].user[0] == 0 &&
          strcmp(got.clients[2].user, "bob:with-punct!") == 0);
    bad_n = 0;
    for (int len = 0; len < n; len++)
        if (cxl_sec_reply_keys_parse(buf, (size_t)len, "ring 1", &got) != CXL_EPROTO)
            bad_n++;
    CHECK_EQ(bad_n, 0);
    buf[n - 15 - 1] = 70; /* a user length past the end */
    CHECK_EQ(cxl_sec_reply_keys_parse(buf, (size_t)n, "ring 1", &got), CXL_EPROTO);
    n = cxl_sec_reply_keys(&k, buf, sizeof buf);
    buf[n - 1] = ' '; /* a blank in a user name */
    CHECK_EQ(cxl_sec_reply_keys_parse(buf, (size_t)n, "ring 1", &got), CXL_EPROTO);
    CHECK(cxl_sec_reply_keys(&(struct cxl_region_keys){.region = "r", .binding = CXL_SEC_BIND_NODE,
                                                         .n_clients = 1}, buf, sizeof buf) < 0);
    k.binding = CXL_SEC_BIND_NODE;
    k.n_clients = 0;
    n = cxl_sec_reply_keys(&k, buf, sizeof buf);
    CHECK_EQ(n, 88 + 5);
    buf[1 + 8 + 32] = 2;
    CHECK_EQ(cxl_sec_reply_keys_parse(buf, (size_t)n, "ring 1", &got), CXL_EPROTO);
    n = cxl_sec_reply_refuse("no-grant", buf, sizeof buf);
    CHECK_FAILS(cxl_sec_reply_keys_parse(buf, (size_t)n, "ring 1", &got), CXL_EDENIED,
                "refused ring 1: no-grant");
    buf[3] = '\n';
    CHECK_FAILS(cxl_sec_reply_keys_parse(buf, (size_t)n, "ring 1", &got), CXL_EDENIED, "no?grant");
}

/* A tiny manager for cxl_mgr_*: ring 1 -> keys, anything else refused, one
 * malformed reply for "KEYS name broken". */
static void *tiny_manager(void *arg)
{
    struct mgr_side *m = arg;
    struct cxl_sec_chan *c;
    if ((m->rc = cxl_sec_accept(m->fd, &mgr_key, lookup, NULL, T_MS, &c, &m->node)) != 0) {
        close(m->fd);
        return NULL;
    }
    uint8_t req[256], rep[256];
    size_t n;
    struct cxl_sec_request q;
    while (cxl_sec_chan_recv(c, req, sizeof req, &n) == 0) {
        int len;
        struct cxl_region_keys k = {.region = "ring1", .epoch = 3, .valid_for_ms = 1500};
        memset(k.key, 0x33, 32);
        if (cxl_sec_request_parse(req, n, &q) != 0)
            break;
        if (q.kind == CXL_SEC_REQ_PING)
            len = cxl_sec_reply_pong(rep, sizeof rep);
        else if (q.kind == CXL_SEC_REQ_KEYS_RING && q.ring == 1)
            len = cxl_sec_reply_keys(&k, rep, sizeof rep);
        else if (q.kind == CXL_SEC_REQ_KEYS_NAME && strcmp(q.region, "broken") == 0)
            len = 3, memset(rep, 0, 3);
        else
            len = cxl_sec_reply_refuse("no-grant", rep, sizeof rep);
        if (cxl_sec_chan_send(c, rep, (size_t)len) != 0)
            break;
    }
    cxl_sec_chan_free(c);
    return NULL;
}

static void test_mgr_conn(void)
{
    int sp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    struct mgr_side m = {.fd = sp[1]};
    pthread_t t;
    pthread_create(&t, NULL, tiny_manager, &m);
    struct cxl_mgr_conn *c = NULL;
    struct cxl_region_keys k;
    CHECK_EQ(cxl_mgr_attach(sp[0], 2, &node2, T_MS, &c), 0);
    if (c) {
        CHECK_EQ(cxl_mgr_ping(c), 0);
        CHECK_EQ(cxl_mgr_get_keys_ring(c, 1, &k), 0);
        CHECK(k.epoch == 3 && !k.has_prev && k.valid_for_ms == 1500 && k.key[31] == 0x33);
        CHECK(strcmp(k.region, "ring1") == 0);
        cxl_region_keys_wipe(&k);
        CHECK(k.key[0] == 0 && k.epoch == 0);
        CHECK_FAILS(cxl_mgr_get_keys_ring(c, 2, &k), CXL_EDENIED, "refused ring 2: no-grant");
        CHECK_EQ(cxl_mgr_ping(c), 0); /* still usable after a refusal */
        CHECK_FAILS(cxl_mgr_get_keys_name(c, "graph", &k), CXL_EDENIED, "region graph");
        CHECK_FAILS(cxl_mgr_get_keys_name(c, "a b", &k), CXL_EINVAL, "not a region name");
        CHECK_FAILS(cxl_mgr_get_keys_name(c, "broken", &k), CXL_EPROTO, "malformed");
        CHECK_FAILS(cxl_mgr_ping(c), CXL_EPROTO, "closed"); /* broken after that */
        cxl_mgr_close(c);
    }
    pthread_join(t, NULL);
    CHECK_EQ(m.rc, 0);
    CHECK_EQ(m.node, 2);
    cxl_mgr_close(NULL);
    /* connect to nothing */
    struct cxl_node_key k1 = node1;
    CHECK_FAILS(cxl_mgr_connect("127.0.0.1:1", 1, &k1, 500, &c), CXL_ESYS, "manager at 127.0.0.1:1");
    CHECK_FAILS(cxl_mgr_connect("nohostport", 1, &k1, 500, &c), CXL_EINVAL, "HOST:PORT");
}

int main(void)
{
    if (cxl_node_key_generate(&mgr_key) || cxl_node_key_generate(&node1) ||
        cxl_node_key_generate(&node2)) {
        fprintf(stderr, "keygen: %s\n", cxl_last_error());
        return 2;
    }
    memcpy(node1.manager_public, mgr_key.public_key, 32);
    memcpy(node2.manager_public, mgr_key.public_key, 32);
    node1.has_manager_public = node2.has_manager_public = 1;

    test_success();
    test_wrong_secret();
    test_unknown_id();
    test_wrong_manager_key();
    test_tamper(0, 0, CXL_SEC_MSG1_BYTES);
    test_tamper(1, 0, CXL_SEC_MSG2_BYTES);
    test_tamper(0, 1, CXL_SEC_MSG3_BYTES);
    test_replay_handshake();
    test_bad_frames();
    test_encrypted_frames();
    test_encrypted_on_wire();
    test_requests();
    test_mgr_conn();
    cxl_node_key_wipe(&mgr_key);
    cxl_node_key_wipe(&node1);
    cxl_node_key_wipe(&node2);
    return check_summary("test_sec_channel");
}
