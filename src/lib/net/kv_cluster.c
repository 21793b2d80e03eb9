/* kv_cluster.c - the slot-aware Redis Cluster client (net/kv_cluster.h):
 * the nodes and their connections (a ring for a pod node, a RESP socket for
 * the others and for ASK), the slot owner table, the queue of requests in
 * submission order (each with a private copy, to resend on a redirection or
 * a dead node, and once answered a private copy of its result), and the
 * rules for MOVED, ASK, TRYAGAIN, CLUSTERDOWN and dead nodes.
 *
 * A request resent after its node died may have run there already: for
 * GET, SET and DEL (and any idempotent command) running it twice does no
 * harm; a non-idempotent command (INCR) may count twice. Redis Cluster's
 * own clients have the same window. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cxl/cluster.h"
#include "cxl/error.h"
#include "cxl/wait.h"
#include "net/kv_cluster.h"
#include "net/kv_cluster_map.h"
#include "net/pod_map.h"
#include "net/kv_socket.h"
#include "net/resp_conn.h"

#define ASKING_TAG UINT64_MAX
#define MS 1000000ull
#define REFRESH_EVERY_NS (100 * MS) /* a full map refresh at most this often */
#define DEAD_RETRY_NS (200 * MS)    /* a node that failed: no new connection before */
#define MAX_BACKOFF_NS (200 * MS)

enum req_state { REQ_UNSENT, REQ_INFLIGHT, REQ_DONE };

struct req {
    uint64_t tag; /* the caller's */
    uint16_t op;
    int argc;
    const char **argv; /* the private copy: argv, lens and the bytes, in mem */
    size_t *lens;
    void *mem;
    int slot;     /* -1: no key */
    int state;
    int node, via_sock; /* in flight to */
    int ask_node;       /* ASK: the next send goes there, over TCP, after ASKING */
    uint32_t redirects, retries;
    uint64_t retry_at, trouble_since; /* TRYAGAIN, CLUSTERDOWN, a dead node: since when */
    struct cxl_kv_result res;         /* REQ_DONE: res.data in res_mem */
    uint8_t *res_mem;
};

#define CXL_NODE_ID_LEN 40

struct node {
    char addr[CXL_NODE_ADDR_MAX];
    char id[CXL_NODE_ID_LEN + 1];   /* from CLUSTER SLOTS ("": not known yet) */
    const struct cxl_pod_node *pod; /* NULL: over TCP only */
    struct cxl_kv *ring;
    struct cxl_kvs *sock;
    int ring_unusable;      /* its ring failed or would not open: TCP from then on */
    uint64_t retry_conn_at; /* failed: no new connection before this */
    uint64_t down_since;    /* failing since (0: up) */
    int dirty;              /* sent to since the last flush */
};

struct cmd_keys {
    char name[32]; /* lower case */
    int first, last, step;
};

struct cxl_kvc {
    struct cxl_kvc_config cfg;
    int tls;
    struct cxl_pod_map pod;
    struct node **nodes;
    int nnodes, seed_node;
    int16_t owner[CXL_CLUSTER_SLOTS]; /* node index, -1: unknown */
    struct req *q;                    /* requests of seq [head, tail), at seq & (cap - 1) */
    uint64_t cap, head, tail, unsent;
    struct cmd_keys *cmds;
    int ncmds;
    struct cxl_conn *ctl; /* for CLUSTER SLOTS and COMMAND INFO */
    int ctl_node;
    int refresh_wanted;
    uint64_t last_refresh;
    uint8_t *returned; /* the data of the result returned last */
    struct cxl_kvc_stats st;
};

static struct req *at(struct cxl_kvc *k, uint64_t seq) { return &k->q[seq & (k->cap - 1)]; }

/* --- nodes and their connections ------------------------------------------------------- */

static int node_index(struct cxl_kvc *k, const char *addr)
{
    for (int i = 0; i < k->nnodes; i++)
        if (strcmp(k->nodes[i]->addr, addr) == 0)
            return i;
    if (k->nnodes >= 32767)
        return cxl_fail(CXL_EINVAL, "more than 32767 cluster nodes");
    struct node **grown = realloc(k->nodes, (size_t)(k->nnodes + 1) * sizeof *grown);
    struct node *n = calloc(1, sizeof *n);
    if (grown)
        k->nodes = grown;
    if (!grown || !n) {
        free(n);
        return cxl_fail(CXL_ESYS, "out of memory");
    }
    snprintf(n->addr, sizeof n->addr, "%s", addr);
    n->pod = cxl_pod_map_find_addr(&k->pod, addr);
    k->nodes[k->nnodes] = n;
    return k->nnodes++;
}

static void conn_addr(const struct cxl_kvc *k, const struct node *n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", k->tls ? "tls:" : "", n->addr);
}

static struct cxl_conn_opts conn_opts(const struct cxl_kvc *k)
{
    return (struct cxl_conn_opts){.timeout_ms = k->cfg.kv.timeout_ms, .tls_ca_file = k->cfg.tls_ca_file,
                                  .tls_ca_hint = k->cfg.tls_ca_hint};
}

static int open_sock(struct cxl_kvc *k, struct node *n)
{
    char addr[CXL_NODE_ADDR_MAX + 8];
    struct cxl_conn_opts o = conn_opts(k);
    conn_addr(k, n, addr, sizeof addr);
    int rc = cxl_kvs_open(addr, &o, &n->sock);
    if (rc == 0 && k->cfg.kv.password && (rc = cxl_kvs_auth(n->sock, k->cfg.kv.user, k->cfg.kv.password)) != 0) {
        cxl_kvs_close(n->sock);
        n->sock = NULL;
    }
    return rc;
}

/* A pod node's ring; one that will not open (no free ring, no server) leaves the node to TCP. */
/* Is the Redis behind the ring the node the pod map says it is? A map that
 * names another node's medium would send keyless commands (DBSIZE, FLUSHALL
 * ...) to the wrong Redis: its CLUSTER MYID must be the node's id. */
static int ring_is_node(struct node *n)
{
    if (!n->id[0])
        return 1; /* not known yet (not a master of any slot): keyed requests are judged by the node */
    const char *argv[] = {"CLUSTER", "MYID"};
    size_t lens[] = {7, 4};
    struct cxl_kv_result r;
    char want[64];
    int w = snprintf(want, sizeof want, "$%d\r\n%s\r\n", CXL_NODE_ID_LEN, n->id);
    if (cxl_kv_command(n->ring, 2, argv, lens, &r) == CXL_KV_REPLY && r.len == (uint32_t)w && !memcmp(r.data, want, (size_t)w))
        return 1;
    cxl_fail(CXL_EINVAL, "the medium %s the pod map names for cluster node %s is not that node's (its Redis is "
             "another node, or not a cluster node): reached over TCP instead", n->pod->medium, n->addr);
    return 0;
}

static void open_ring(struct cxl_kvc *k, struct node *n)
{
    struct cxl_kv_config c = k->cfg.kv;
    c.medium.path = n->pod->medium;
    c.medium.map_offset = n->pod->offset;
    c.ring = n->pod->ring;
    if (cxl_kv_open(&c, &n->ring) != 0 || !ring_is_node(n)) {
        cxl_kv_close(n->ring);
        n->ring = NULL;
        n->ring_unusable = 1;
        k->st.ring_fallbacks++;
    }
}

static int uses_sock(const struct node *n, const struct req *q)
{
    return q->ask_node >= 0 || !n->pod || n->ring_unusable;
}

/* The connection a request goes over, opened if need be: 0 or a CXL_E* code. */
static int connect_node(struct cxl_kvc *k, struct node *n, int sock)
{
    if (sock ? n->sock != NULL : n->ring != NULL)
        return 0;
    if (cxl_now_ns() < n->retry_conn_at)
        return cxl_fail(CXL_ESERVER, "cluster node %s failed a moment ago", n->addr);
    if (!sock)
        open_ring(k, n);
    /* a socket when asked for one (an ASK goes over TCP even to a pod node
     * whose ring is open), or when the ring would not open */
    int rc = !sock && n->ring ? 0 : open_sock(k, n);
    if (rc == 0)
        n->down_since = 0;
    return rc;
}

static void close_node(struct node *n)
{
    cxl_kv_close(n->ring);
    cxl_kvs_close(n->sock);
    n->ring = NULL;
    n->sock = NULL;
}

/* --- the control connection: CLUSTER SLOTS, COMMAND INFO ------------------------------- */

static int ctl_open(struct cxl_kvc *k, int ni)
{
    struct node *n = k->nodes[ni];
    char addr[CXL_NODE_ADDR_MAX + 8];
    struct cxl_conn_opts o = conn_opts(k);
    conn_addr(k, n, addr, sizeof addr);
    if (cxl_conn_open(addr, &o, &k->ctl) != 0)
        return -1;
    k->ctl_node = ni;
    const uint8_t *rep;
    size_t len;
    if (k->cfg.kv.password) {
        const char *argv[3] = {"AUTH"};
        int argc = 1;
        if (k->cfg.kv.user)
            argv[argc++] = k->cfg.kv.user;
        argv[argc++] = k->cfg.kv.password;
        if (cxl_conn_call(k->ctl, argc, argv, &rep, &len) != 0 || len < 3 || memcmp(rep, "+OK", 3) != 0) {
            cxl_conn_close(k->ctl);
            k->ctl = NULL;
            return cxl_fail(CXL_EDENIED, "cluster node %s refused AUTH", n->addr);
        }
    }
    return 0;
}

/* One command over the control connection, to any node that answers (the
 * current one, then every known node not failed lately, in turn). */
static int ctl_call(struct cxl_kvc *k, int argc, const char **argv, const uint8_t **rep, size_t *len)
{
    if (k->ctl && cxl_conn_call(k->ctl, argc, argv, rep, len) == 0)
        return 0;
    cxl_conn_close(k->ctl);
    k->ctl = NULL;
    uint64_t now = cxl_now_ns();
    int from = k->ctl_node + 1;
    for (int i = 0; i < k->nnodes; i++) {
        int ni = (from + i) % k->nnodes;
        if (now < k->nodes[ni]->retry_conn_at || ctl_open(k, ni) != 0)
            continue;
        if (cxl_conn_call(k->ctl, argc, argv, rep, len) == 0)
            return 0;
        cxl_conn_close(k->ctl);
        k->ctl = NULL;
    }
    char last[300]; /* (cxl_fail writes where cxl_last_error points) */
    snprintf(last, sizeof last, "%s", cxl_last_error());
    return cxl_fail(CXL_ESERVER, "no cluster node answers (the last: %s)", last);
}

struct slots_fill {
    struct cxl_kvc *k;
    int rc;
};

static int fill_range(void *ctx, uint32_t first, uint32_t last, const char *host, size_t hlen, int port,
                      const char *id, size_t idlen)
{
    struct slots_fill *f = ctx;
    char addr[CXL_NODE_ADDR_MAX];
    if (hlen == 0) { /* the node asked, by the address we reached it at */
        const char *ours = f->k->nodes[f->k->ctl_node]->addr;
        hlen = (size_t)(strrchr(ours, ':') - ours);
        host = ours;
    }
    if (hlen > 100) /* never a shortened name: that would be another host */
        return f->rc = cxl_fail(CXL_EPROTO, "CLUSTER SLOTS names a host of %zu bytes (at most 100)", hlen);
    snprintf(addr, sizeof addr, "%.*s:%d", (int)hlen, host, port);
    int ni = node_index(f->k, addr);
    if (ni < 0)
        return f->rc = ni;
    if (idlen == CXL_NODE_ID_LEN)
        memcpy(f->k->nodes[ni]->id, id, idlen);
    for (uint32_t s = first; s <= last; s++)
        f->k->owner[s] = (int16_t)ni;
    return 0;
}

/* The whole slot map again, from any node. */
static int refresh_map(struct cxl_kvc *k)
{
    const char *argv[] = {"CLUSTER", "SLOTS"};
    const uint8_t *rep;
    size_t len;
    k->last_refresh = cxl_now_ns();
    int rc = ctl_call(k, 2, argv, &rep, &len);
    if (rc)
        return rc;
    memset(k->owner, 0xff, sizeof k->owner);
    struct slots_fill f = {k, 0};
    rc = cxl_cluster_slots_parse(rep, len, fill_range, &f);
    k->st.refreshes++;
    if (rc == 0 && f.rc == 0)
        k->refresh_wanted = 0;
    return rc ? rc : f.rc;
}

static void refresh_if_due(struct cxl_kvc *k)
{
    if (k->refresh_wanted && cxl_now_ns() - k->last_refresh >= REFRESH_EVERY_NS)
        refresh_map(k); /* a failure: tried again after REFRESH_EVERY_NS */
}

/* The key positions of a command (COMMAND INFO, once per name): the first
 * key's argument index, 0 for none. */
static int first_key(struct cxl_kvc *k, const char *name, size_t len)
{
    char lower[32];
    if (len == 0 || len >= sizeof lower)
        return 0;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[len] = 0;
    for (int i = 0; i < k->ncmds; i++)
        if (strcmp(k->cmds[i].name, lower) == 0)
            return k->cmds[i].first;
    const char *argv[] = {"COMMAND", "INFO", lower};
    const uint8_t *rep;
    size_t rlen;
    struct cmd_keys c = {0};
    memcpy(c.name, lower, len + 1);
    if (ctl_call(k, 3, argv, &rep, &rlen) != 0 || cxl_command_info_parse(rep, rlen, &c.first, &c.last, &c.step) != 0)
        return 1; /* not learnt: guess the first argument (a wrong guess costs a MOVED) */
    struct cmd_keys *grown = realloc(k->cmds, (size_t)(k->ncmds + 1) * sizeof *grown);
    if (grown) {
        k->cmds = grown;
        k->cmds[k->ncmds++] = c;
    }
    return c.first;
}

/* --- the queue ------------------------------------------------------------------------------ */

static int grow_queue(struct cxl_kvc *k)
{
    uint64_t cap = k->cap ? 2 * k->cap : 64;
    struct req *q = calloc(cap, sizeof *q);
    if (!q)
        return cxl_fail(CXL_ESYS, "out of memory");
    for (uint64_t s = k->head; s < k->tail; s++)
        q[s & (cap - 1)] = *at(k, s);
    free(k->q);
    k->q = q;
    k->cap = cap;
    return 0;
}

static int enqueue(struct cxl_kvc *k, uint16_t op, uint64_t tag, int argc, const char *const *argv,
                   const size_t *lens, int slot)
{
    if (k->tail - k->head == k->cap && grow_queue(k) != 0)
        return CXL_ESYS;
    size_t bytes = (size_t)argc * (sizeof(char *) + sizeof(size_t));
    for (int i = 0; i < argc; i++)
        bytes += lens[i] + 1;
    void *mem = malloc(bytes);
    if (!mem)
        return cxl_fail(CXL_ESYS, "out of memory");
    struct req *q = at(k, k->tail);
    *q = (struct req){.tag = tag, .op = op, .argc = argc, .mem = mem, .slot = slot, .state = REQ_UNSENT,
                      .node = -1, .ask_node = -1};
    q->argv = mem;
    q->lens = (size_t *)(q->argv + argc);
    char *p = (char *)(q->lens + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i], lens[i]);
        p[lens[i]] = 0;
        q->argv[i] = p;
        q->lens[i] = lens[i];
        p += lens[i] + 1;
    }
    k->tail++;
    k->unsent++;
    return 0;
}

static void complete(struct req *q, const struct cxl_kv_result *r)
{
    q->res = *r;
    q->res.tag = q->tag;
    q->res.op = q->op;
    q->res_mem = r->len ? malloc(r->len) : NULL;
    if (q->res_mem)
        memcpy(q->res_mem, r->data, r->len);
    else
        q->res.len = 0;
    q->res.data = q->res_mem;
    q->state = REQ_DONE;
}

static void complete_error(struct req *q, int status, const char *text)
{
    struct cxl_kv_result r = {.status = status, .data = (const uint8_t *)text, .len = (uint32_t)strlen(text)};
    complete(q, &r);
}

/* Send it again later; past its bound (since its trouble began, or its
 * node's when since is earlier), complete it with r instead (r NULL: with
 * status and text). */
static void requeue_since(struct cxl_kvc *k, struct req *q, uint64_t delay_ns, uint32_t bound_ms, uint64_t since,
                          const struct cxl_kv_result *r, int status, const char *text)
{
    uint64_t now = cxl_now_ns();
    if (bound_ms && !q->trouble_since)
        q->trouble_since = now;
    if (bound_ms && since && since < q->trouble_since)
        q->trouble_since = since;
    if (bound_ms && now - q->trouble_since > bound_ms * MS) {
        if (r)
            complete(q, r);
        else
            complete_error(q, status, text);
        return;
    }
    q->state = REQ_UNSENT;
    q->node = -1;
    q->retry_at = now + delay_ns;
    k->unsent++;
}

static void requeue(struct cxl_kvc *k, struct req *q, uint64_t delay_ns, uint32_t bound_ms,
                    const struct cxl_kv_result *r, int status, const char *text)
{
    requeue_since(k, q, delay_ns, bound_ms, 0, r, status, text);
}

static uint64_t backoff(struct req *q)
{
    uint64_t d = MS << (q->retries < 8 ? q->retries : 8);
    q->retries++;
    return d < MAX_BACKOFF_NS ? d : MAX_BACKOFF_NS;
}

/* --- sending ---------------------------------------------------------------------------------- */

static int default_node(struct cxl_kvc *k)
{
    uint64_t now = cxl_now_ns();
    if (now >= k->nodes[k->seed_node]->retry_conn_at)
        return k->seed_node;
    for (int i = 0; i < k->nnodes; i++)
        if (now >= k->nodes[i]->retry_conn_at)
            return i;
    return k->seed_node;
}

static int route(struct cxl_kvc *k, const struct req *q)
{
    if (q->ask_node >= 0)
        return q->ask_node;
    return q->slot >= 0 && k->owner[q->slot] >= 0 ? k->owner[q->slot] : default_node(k);
}

static int submit_to(struct node *n, int sock, const struct req *q, uint64_t seq)
{
    const char *const *a = q->argv;
    const size_t *l = q->lens;
    switch (q->op) {
    case CXL_KV_GET:
        return sock ? cxl_kvs_submit_get(n->sock, a[0], (uint32_t)l[0], seq)
                    : cxl_kv_submit_get(n->ring, a[0], (uint32_t)l[0], seq);
    case CXL_KV_SET:
        return sock ? cxl_kvs_submit_set(n->sock, a[0], (uint32_t)l[0], a[1], (uint32_t)l[1], 0, seq)
                    : cxl_kv_submit_set(n->ring, a[0], (uint32_t)l[0], a[1], (uint32_t)l[1], 0, seq);
    case CXL_KV_DEL:
        return sock ? cxl_kvs_submit_del(n->sock, a[0], (uint32_t)l[0], seq)
                    : cxl_kv_submit_del(n->ring, a[0], (uint32_t)l[0], seq);
    default:
        return sock ? cxl_kvs_submit_command(n->sock, q->argc, a, l, seq)
                    : cxl_kv_submit_command(n->ring, q->argc, a, l, seq);
    }
}

static void node_failed(struct cxl_kvc *k, int ni, int status, const char *why);

/* Send one unsent request: 0, or non-zero if it cannot go now (it stays
 * queued, or it completed with an error). */
static int send_req(struct cxl_kvc *k, uint64_t seq)
{
    struct req *q = at(k, seq);
    int ni = route(k, q);
    struct node *n = k->nodes[ni];
    int sock = uses_sock(n, q);
    uint64_t now = cxl_now_ns();
    if (!(sock ? n->sock != NULL : n->ring != NULL) && now < n->retry_conn_at) {
        /* it failed a moment ago: wait for its retry time (not a new failure,
         * which would push that time back again and again) */
        char why[400];
        snprintf(why, sizeof why, "cluster node %s unusable for %u ms", n->addr, k->cfg.failover_ms);
        k->unsent--;
        requeue_since(k, q, n->retry_conn_at - now, k->cfg.failover_ms, n->down_since, NULL, CXL_ESERVER, why);
        return CXL_ESERVER;
    }
    int rc = connect_node(k, n, sock);
    if (rc == 0 && sock != uses_sock(n, q)) /* the ring would not open: TCP */
        sock = 1;
    if (rc) { /* refused, or failed a moment ago: try again shortly, up to the failover bound */
        char err[200], why[400];
        snprintf(err, sizeof err, "%s", cxl_last_error());
        snprintf(why, sizeof why, "cluster node %s unusable for %u ms: %s", n->addr, k->cfg.failover_ms, err);
        node_failed(k, ni, rc, err);
        k->unsent--;
        requeue_since(k, q, DEAD_RETRY_NS / 2, k->cfg.failover_ms, n->down_since, NULL, rc, why);
        return rc;
    }
    if (q->ask_node >= 0) {
        const char *asking[] = {"ASKING"};
        size_t alen[] = {6};
        cxl_kvs_submit_command(n->sock, 1, asking, alen, ASKING_TAG);
    }
    rc = submit_to(n, sock, q, seq);
    if (rc == CXL_EAGAIN)
        return rc; /* the ring is full: after the next results */
    k->unsent--;
    if (rc) { /* never fits, or the ring is lost */
        if (rc == CXL_E2BIG)
            complete_error(q, rc, cxl_last_error());
        else {
            requeue(k, q, 0, k->cfg.failover_ms, NULL, rc, cxl_last_error());
            node_failed(k, ni, rc, cxl_last_error());
        }
        return rc;
    }
    q->state = REQ_INFLIGHT;
    q->node = ni;
    q->via_sock = sock;
    q->ask_node = -1;
    n->dirty = 1;
    return 0;
}

static void flush_nodes(struct cxl_kvc *k)
{
    for (int i = 0; i < k->nnodes; i++) {
        struct node *n = k->nodes[i];
        if (!n->dirty)
            continue;
        if (n->ring)
            cxl_kv_flush(n->ring);
        if (n->sock)
            cxl_kvs_flush(n->sock);
        n->dirty = 0;
    }
}

/* Send the unsent requests in submission order, up to the first that cannot go yet. */
static void send_unsent(struct cxl_kvc *k)
{
    uint64_t now = cxl_now_ns();
    for (uint64_t s = k->head; s < k->tail && k->unsent; s++) {
        struct req *q = at(k, s);
        if (q->state != REQ_UNSENT)
            continue;
        if (q->retry_at > now || send_req(k, s) != 0)
            break; /* keep the order: what follows waits */
    }
    flush_nodes(k);
}

/* --- results ---------------------------------------------------------------------------------- */

/* A node is gone (refused, closed, its ring's server silent): drop its
 * connections, resend what was in flight to it once the map says where. */
static void node_failed(struct cxl_kvc *k, int ni, int status, const char *why)
{
    struct node *n = k->nodes[ni];
    char text[300];
    snprintf(text, sizeof text, "cluster node %s unusable for %u ms: %s", n->addr, k->cfg.failover_ms, why);
    if (n->ring) { /* the ring failed: the node over TCP from now on */
        n->ring_unusable = 1;
        k->st.ring_fallbacks++;
    }
    close_node(n);
    n->retry_conn_at = cxl_now_ns() + DEAD_RETRY_NS;
    if (!n->down_since)
        n->down_since = cxl_now_ns();
    k->st.node_failures++;
    k->refresh_wanted = 1;
    for (uint64_t s = k->head; s < k->tail; s++) {
        struct req *q = at(k, s);
        if (q->state == REQ_INFLIGHT && q->node == ni)
            requeue_since(k, q, DEAD_RETRY_NS / 2, k->cfg.failover_ms, n->down_since, NULL, status, text);
    }
}

/* The error text of a result, if it is one: MOVED &c come as CXL_KV_ERR
 * (GET/SET/DEL) or as a CXL_KV_REPLY whose RESP bytes are "-...". */
static enum cxl_redirect redirect_of(const struct cxl_kv_result *r, uint32_t *slot, char *addr, size_t cap)
{
    if (r->status == CXL_KV_ERR)
        return cxl_redirect_parse(r->data, r->len, slot, addr, cap);
    if (r->status == CXL_KV_REPLY && r->len > 1 && r->data[0] == '-')
        return cxl_redirect_parse(r->data + 1, r->len - 1, slot, addr, cap);
    return CXL_REDIR_NONE;
}

/* MOVED/ASK's node: an empty host is the replying node's. */
static int redirect_node(struct cxl_kvc *k, int from, const char *addr)
{
    char full[2 * CXL_NODE_ADDR_MAX];
    if (addr[0] == ':') {
        const char *h = k->nodes[from]->addr;
        snprintf(full, sizeof full, "%.*s%s", (int)(strrchr(h, ':') - h), h, addr);
        addr = full;
    }
    return node_index(k, addr);
}

static void on_redirect(struct cxl_kvc *k, struct req *q, int from, enum cxl_redirect kind, uint32_t slot,
                        const char *addr, const struct cxl_kv_result *r)
{
    if (kind == CXL_REDIR_TRYAGAIN || kind == CXL_REDIR_DOWN) {
        k->st.retried++;
        if (kind == CXL_REDIR_DOWN)
            k->refresh_wanted = 1;
        requeue(k, q, backoff(q), kind == CXL_REDIR_DOWN ? k->cfg.failover_ms : k->cfg.retry_ms, r, 0, NULL);
        return;
    }
    int ni = ++q->redirects > k->cfg.max_redirects ? -1 : redirect_node(k, from, addr);
    if (ni < 0) { /* too many, or no room for the node: the caller gets the redirection */
        complete(q, r);
        return;
    }
    if (kind == CXL_REDIR_MOVED) {
        k->st.moved++;
        k->owner[slot] = (int16_t)ni;
        q->slot = (int)slot;
        k->refresh_wanted = 1;
    } else {
        k->st.asked++;
        q->ask_node = ni;
    }
    requeue(k, q, 0, 0, NULL, 0, NULL);
}

static void on_result(struct cxl_kvc *k, int ni, int via_sock, const struct cxl_kv_result *r)
{
    if (r->tag == ASKING_TAG || r->tag < k->head || r->tag >= k->tail)
        return;
    struct req *q = at(k, r->tag);
    if (q->state != REQ_INFLIGHT || q->node != ni || q->via_sock != via_sock)
        return; /* an answer nobody waits for any more */
    if (r->status < 0) { /* this node's transport failed */
        node_failed(k, ni, r->status, r->len ? (const char *)r->data : cxl_strerror(r->status));
        return;
    }
    uint32_t slot;
    char addr[CXL_NODE_ADDR_MAX];
    enum cxl_redirect kind = redirect_of(r, &slot, addr, sizeof addr);
    if (kind == CXL_REDIR_NONE)
        complete(q, r);
    else
        on_redirect(k, q, ni, kind, slot, addr, r);
}

/* Take every result ready on every connection. */
static void poll_nodes(struct cxl_kvc *k)
{
    struct cxl_kv_result r;
    for (int i = 0; i < k->nnodes; i++) {
        int rc = 1;
        while (k->nodes[i]->ring && (rc = cxl_kv_poll(k->nodes[i]->ring, &r)) == 1)
            on_result(k, i, 0, &r);
        if (rc < 0)
            node_failed(k, i, rc, cxl_last_error());
        rc = 1;
        while (k->nodes[i]->sock && (rc = cxl_kvs_poll(k->nodes[i]->sock, &r)) == 1)
            on_result(k, i, 1, &r);
        if (rc < 0)
            node_failed(k, i, rc, cxl_last_error());
    }
}

static void progress(struct cxl_kvc *k)
{
    refresh_if_due(k);
    send_unsent(k);
    poll_nodes(k);
}

/* Hand the head over if it is done. */
static int pop_done(struct cxl_kvc *k, struct cxl_kv_result *r)
{
    if (k->head == k->tail || at(k, k->head)->state != REQ_DONE)
        return 0;
    struct req *q = at(k, k->head++);
    free(k->returned);
    k->returned = q->res_mem;
    free(q->mem);
    *r = q->res;
    return 1;
}

/* Wait for the head's own connection (its answer comes from there), or
 * until it may be sent again. */
static void block_on_head(struct cxl_kvc *k)
{
    struct req *q = at(k, k->head);
    struct cxl_kv_result r;
    if (q->state == REQ_INFLIGHT) {
        struct node *n = k->nodes[q->node];
        int ni = q->node, sock = q->via_sock;
        int rc = sock ? cxl_kvs_wait(n->sock, &r) : cxl_kv_wait(n->ring, &r);
        if (rc == 1)
            on_result(k, ni, sock, &r);
        else
            node_failed(k, ni, rc ? rc : CXL_EPROTO, rc ? cxl_last_error() : "no reply");
        return;
    }
    uint64_t now = cxl_now_ns(), wait = q->retry_at > now ? q->retry_at - now : 0;
    struct timespec ts = {0, (long)(wait < MS ? (wait > 20000 ? wait : 20000) : MS)};
    nanosleep(&ts, NULL);
}

/* --- the calls -------------------------------------------------------------------------------- */

static int parse_seed(struct cxl_kvc *k, const char *seed, char *addr, size_t cap)
{
    const char *a = seed ? seed : "";
    k->tls = strncmp(a, "tls:", 4) == 0;
    a += k->tls ? 4 : 0;
    const char *colon = strrchr(a, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == a || !colon[1] || *end || port <= 0 || port > 65535 || strlen(a) >= cap)
        return cxl_fail(CXL_EINVAL, "cluster seed '%s': expected HOST:PORT (or tls:HOST:PORT) of a node", seed ? seed : "");
    memcpy(addr, a, strlen(a) + 1);
    return 0;
}

int cxl_kvc_open(const struct cxl_kvc_config *c, struct cxl_kvc **out)
{
    char seed[CXL_NODE_ADDR_MAX];
    struct cxl_kvc *k = calloc(1, sizeof *k);
    if (!k)
        return cxl_fail(CXL_ESYS, "out of memory");
    k->cfg = *c;
    k->cfg.retry_ms = c->retry_ms ? c->retry_ms : 2000;
    k->cfg.failover_ms = c->failover_ms ? c->failover_ms : 15000;
    k->cfg.max_redirects = c->max_redirects ? c->max_redirects : 16;
    memset(k->owner, 0xff, sizeof k->owner);
    int rc = parse_seed(k, c->seed, seed, sizeof seed);
    if (rc == 0 && c->pod_map)
        rc = cxl_pod_map_load(c->pod_map, &k->pod);
    if (rc == 0 && (k->seed_node = node_index(k, seed)) < 0)
        rc = k->seed_node;
    if (rc == 0 && (rc = refresh_map(k)) != 0) {
        char why[300]; /* (cxl_fail writes where cxl_last_error points) */
        snprintf(why, sizeof why, "%s", cxl_last_error());
        rc = cxl_fail(rc, "cluster seed %s: cannot learn the slot map: %s", c->seed, why);
    }
    if (rc) {
        cxl_kvc_close(k);
        return rc;
    }
    *out = k;
    return 0;
}

void cxl_kvc_close(struct cxl_kvc *k)
{
    if (!k)
        return;
    for (int i = 0; i < k->nnodes; i++) {
        close_node(k->nodes[i]);
        free(k->nodes[i]);
    }
    for (uint64_t s = k->head; s < k->tail; s++) {
        free(at(k, s)->mem);
        free(at(k, s)->res_mem);
    }
    cxl_conn_close(k->ctl);
    cxl_pod_map_free(&k->pod);
    free(k->nodes);
    free(k->q);
    free(k->cmds);
    free(k->returned);
    free(k);
}

static int submit(struct cxl_kvc *k, uint16_t op, uint64_t tag, int argc, const char *const *argv,
                  const size_t *lens, int slot)
{
    int rc = enqueue(k, op, tag, argc, argv, lens, slot);
    if (rc == 0 && k->unsent == 1)
        send_req(k, k->tail - 1); /* not flushed: the caller flushes, or waits */
    return rc;
}

int cxl_kvc_submit_get(struct cxl_kvc *k, const void *key, uint32_t klen, uint64_t tag)
{
    const char *argv[] = {key};
    size_t lens[] = {klen};
    return submit(k, CXL_KV_GET, tag, 1, argv, lens, cxl_cluster_slot(key, klen));
}

int cxl_kvc_submit_set(struct cxl_kvc *k, const void *key, uint32_t klen, const void *val, uint32_t vlen,
                       uint64_t tag)
{
    const char *argv[] = {key, val};
    size_t lens[] = {klen, vlen};
    return submit(k, CXL_KV_SET, tag, 2, argv, lens, cxl_cluster_slot(key, klen));
}

int cxl_kvc_submit_del(struct cxl_kvc *k, const void *key, uint32_t klen, uint64_t tag)
{
    const char *argv[] = {key};
    size_t lens[] = {klen};
    return submit(k, CXL_KV_DEL, tag, 1, argv, lens, cxl_cluster_slot(key, klen));
}

int cxl_kvc_submit_command(struct cxl_kvc *k, int argc, const char *const *argv, const size_t *argvlen,
                           uint64_t tag)
{
    if (argc < 1)
        return cxl_fail(CXL_EINVAL, "an empty command");
    int first = first_key(k, argv[0], argvlen[0]);
    int slot = first > 0 && first < argc ? cxl_cluster_slot(argv[first], argvlen[first]) : -1;
    return submit(k, CXL_KV_CMD, tag, argc, argv, argvlen, slot);
}

void cxl_kvc_flush(struct cxl_kvc *k)
{
    send_unsent(k);
}

int cxl_kvc_poll(struct cxl_kvc *k, struct cxl_kv_result *r)
{
    if (pop_done(k, r))
        return 1;
    progress(k);
    return pop_done(k, r);
}

int cxl_kvc_wait(struct cxl_kvc *k, struct cxl_kv_result *r)
{
    for (;;) {
        if (pop_done(k, r))
            return 1;
        if (k->head == k->tail)
            return 0;
        progress(k);
        if (pop_done(k, r))
            return 1;
        block_on_head(k);
    }
}

void cxl_kvc_get_stats(const struct cxl_kvc *k, struct cxl_kvc_stats *st) { *st = k->st; }

void cxl_kvc_ring_stats(const struct cxl_kvc *k, struct cxl_kv_stats *st)
{
    *st = (struct cxl_kv_stats){0};
    for (int i = 0; i < k->nnodes; i++) {
        struct cxl_kv_stats s;
        if (!k->nodes[i]->ring)
            continue;
        cxl_kv_get_stats(k->nodes[i]->ring, &s);
        st->submitted += s.submitted, st->completed += s.completed, st->full += s.full, st->lost += s.lost;
        st->timeouts += s.timeouts, st->stale += s.stale, st->waited_ns += s.waited_ns, st->sleeps += s.sleeps;
    }
}
