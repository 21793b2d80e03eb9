/* admit.c - who gets a connection to cxl_sec_mgr, and who is dropped for
 * whom (docs/SECURITY.md, "Daemon limits"). Three pools with their own
 * limits, so no kind of peer can take another's place:
 *
 *   control    max-control connections; the control socket also has a
 *              descriptor of its own held in reserve, so it is served even
 *              when the process is out of descriptors
 *   handshakes max-handshakes peers that have not authenticated, at most
 *              max-handshakes-per-source from one address (IPv6: one /64),
 *              each with handshake-timeout for the whole handshake. When
 *              either limit is reached, the peer that made the least
 *              progress goes, the newcomer included (it is read once before
 *              the choice): first one that has stalled (1 s in its stage),
 *              then one that sent nothing, then one with part of message 1,
 *              last one waiting for message 3; among equals the one that
 *              has waited longest
 *   channels   max-channels authenticated channels, at most
 *              max-channels-per-node of one node id; beyond, the least
 *              recently used channel of that node (or of all) is closed
 *
 * The descriptor budget: the soft RLIMIT_NOFILE is raised to cover every
 * pool plus FD_BASE; default limits that do not fit under the hard limit
 * are lowered (and said so), configured ones make the start or the reload
 * fail. If accept() still runs out of descriptors, the listener rests for
 * 100 ms instead of spinning. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cxl/error.h"
#include "base/addr.h"
#include "base/loop.h"
#include "daemon.h"

#define FD_BASE 32u        /* stdio, listeners, epoll, audit, spare, state/master/config files, slack */
#define STALL_MS 1000u     /* this long in one handshake stage: no progress */
#define ACCEPT_BATCH 32    /* node connections accepted per turn of the loop */
#define CONTROL_BATCH 8
#define REST_MS 100u       /* the listener's rest when out of descriptors */

/* ---- the descriptor budget ------------------------------------------------------------ */

static uint64_t fds_needed(const struct mgr_limits *l)
{
    return FD_BASE + 1ull + l->max_control + l->max_channels + l->max_handshakes;
}

/* Default pool sizes lowered to fit avail descriptors (4/5 to channels). */
static int shrink(struct mgr_limits *l, uint64_t hard, char *note, size_t cap)
{
    uint64_t avail = hard > FD_BASE + 1u + l->max_control ? hard - FD_BASE - 1u - l->max_control : 0;
    if (avail < 16)
        return cxl_fail(CXL_EINVAL, "only %llu descriptors (ulimit -Hn): too few to serve",
                        (unsigned long long)hard);
    l->max_channels = (uint32_t)(avail * 4 / 5);
    l->max_handshakes = (uint32_t)(avail - l->max_channels);
    if (l->max_channels_per_node > l->max_channels)
        l->max_channels_per_node = l->max_channels;
    if (l->max_handshakes_per_source > l->max_handshakes)
        l->max_handshakes_per_source = l->max_handshakes;
    snprintf(note, cap, "ulimit -Hn is %llu: max-channels %u and max-handshakes %u (lowered "
             "from the defaults; configure them, or raise the limit)", (unsigned long long)hard,
             l->max_channels, l->max_handshakes);
    return 0;
}

/* The fabric's descriptors (docs/FABRIC.md): its listener, a memfd per
 * range region, one more for the moment of a grant. */
static uint64_t fabric_fds(const struct mgr_config *c)
{
    uint64_t n = 0;
    for (size_t i = 0; c->fabric[0] && i < c->n_regions; i++)
        n += c->regions[i].kind == MGR_REGION_RANGE;
    return c->fabric[0] ? n + 2 : 0;
}

int admit_budget(const struct mgr_config *c, struct mgr_limits *out, char *note, size_t cap)
{
    uint64_t hard, extra = fabric_fds(c);
    *out = c->lim;
    note[0] = '\0';
    if (cxl_fd_limit_raise(0, &hard) != 0)
        return cxl_fail_errno(CXL_ESYS, "getrlimit");
    if (extra >= hard)
        return cxl_fail(CXL_EINVAL, "the fabric's %llu range regions need more descriptors than the hard "
                        "limit (ulimit -Hn) %llu", (unsigned long long)(extra - 2), (unsigned long long)hard);
    hard -= extra;
    uint64_t need = fds_needed(out);
    if (need > hard) {
        const int *line = c->line;
        if (line[MGR_SET_MAX_CHANNELS] || line[MGR_SET_MAX_HANDSHAKES] || line[MGR_SET_MAX_CONTROL])
            return cxl_fail(CXL_EINVAL, "max-channels %u + max-handshakes %u + max-control %u "
                            "need %llu descriptors; the hard limit (ulimit -Hn) is %llu%s: lower "
                            "them or raise it", out->max_channels, out->max_handshakes,
                            out->max_control, (unsigned long long)need, (unsigned long long)hard,
                            extra ? " once the fabric's descriptors are set aside" : "");
        int rc = shrink(out, hard, note, cap);
        if (rc)
            return rc;
        need = fds_needed(out);
    }
    need += extra;
    if (cxl_fd_limit_raise(need, &hard) != 0)
        return cxl_fail_errno(CXL_ESYS, "raising the descriptor limit to %llu", (unsigned long long)need);
    return 0;
}

/* ---- pools ------------------------------------------------------------------------------- */

static int pool_add(struct mgr_pool *p, struct mgr_conn *c)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        struct mgr_conn **a = realloc(p->c, cap * sizeof *a);
        if (!a)
            return cxl_fail(CXL_ESYS, "out of memory");
        p->c = a, p->cap = cap;
    }
    p->c[p->n++] = c;
    return 0;
}

/* Take connection i out of p (the last one takes its place). */
static struct mgr_conn *pool_take(struct mgr_pool *p, size_t i)
{
    struct mgr_conn *c = p->c[i];
    p->c[i] = p->c[--p->n];
    return c;
}

static void pool_drop(struct mgr_pool *p, size_t i)
{
    struct mgr_conn *c = pool_take(p, i);
    conn_close(c);
    free(c);
}

/* Expired connections closed; closed ones freed. */
static void pool_sweep(struct mgr_daemon *d, struct mgr_pool *p, uint64_t now)
{
    for (size_t i = 0; i < p->n;) {
        struct mgr_conn *c = p->c[i];
        if (c->fd >= 0 && now >= c->deadline)
            conn_expire(d, c);
        if (c->fd < 0)
            pool_drop(p, i);
        else
            i++;
    }
}

void admit_sweep(struct mgr_daemon *d)
{
    uint64_t now = cxl_now_ms();
    pool_sweep(d, &d->hs, now);
    pool_sweep(d, &d->chans, now);
    pool_sweep(d, &d->ctl, now);
    if (d->control_spare_fd < 0) /* given to a control connection: take it back */
        d->control_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void admit_free_all(struct mgr_daemon *d)
{
    struct mgr_pool *pools[] = {&d->hs, &d->chans, &d->ctl};
    for (size_t k = 0; k < 3; k++) {
        while (pools[k]->n)
            pool_drop(pools[k], 0);
        free(pools[k]->c);
        memset(pools[k], 0, sizeof *pools[k]);
    }
    if (d->control_spare_fd >= 0)
        close(d->control_spare_fd);
    d->control_spare_fd = -1;
}

int admit_init(struct mgr_daemon *d)
{
    d->control_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (d->control_spare_fd < 0) /* a nicety, not a condition to serve */
        fprintf(stderr, "cxl_sec_mgr: no descriptor in reserve for the control socket "
                "(/dev/null: %s)\n", strerror(errno));
    return 0;
}

static int pool_next(const struct mgr_pool *p, uint64_t now, int t)
{
    for (size_t i = 0; i < p->n; i++) {
        uint64_t left = p->c[i]->deadline > now ? p->c[i]->deadline - now : 0;
        if (left < (uint64_t)t)
            t = (int)left;
    }
    return t;
}

int admit_next_ms(const struct mgr_daemon *d, int t)
{
    uint64_t now = cxl_now_ms();
    if (d->listen_rest_until > now && d->listen_rest_until - now < (uint64_t)t)
        t = (int)(d->listen_rest_until - now);
    t = pool_next(&d->hs, now, t);
    t = pool_next(&d->chans, now, t);
    return pool_next(&d->ctl, now, t);
}

/* ---- handshakes: who goes when the pool is full ----------------------------------------- */

/* -1 stalled, 0 nothing sent, 1 part of message 1, 2 waiting for message 3. */
static int progress(const struct mgr_conn *c, uint64_t now)
{
    if (now - c->since >= STALL_MS)
        return -1;
    return c->stage == ST_MSG3 ? 2 : c->got_bytes ? 1 : 0;
}

/* The peer to drop among the handshakes (those from src's source only, if
 * src): least progress, then longest waiting. */
static size_t victim(const struct mgr_pool *p, const struct mgr_conn *src, uint64_t now)
{
    size_t best = 0;
    int best_p = 3;
    for (size_t i = 0; i < p->n; i++) {
        const struct mgr_conn *c = p->c[i];
        if (src && memcmp(c->src, src->src, sizeof c->src) != 0)
            continue;
        int pr = progress(c, now);
        if (pr < best_p || (pr == best_p && c->stamp < p->c[best]->stamp))
            best = i, best_p = pr;
    }
    return best;
}

static size_t same_source(const struct mgr_pool *p, const struct mgr_conn *src)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += memcmp(p->c[i]->src, src->src, sizeof src->src) == 0;
    return n;
}

/* Drop handshake i for the newcomer (audited as `evicted`, or `full` when
 * it is the newcomer); 1 if that was the newcomer. */
static int drop_handshake(struct mgr_daemon *d, size_t i, const struct mgr_conn *newcomer)
{
    struct mgr_conn *c = d->hs.c[i];
    int was_new = c == newcomer;
    policy_refuse_peer(d, c->have_id, c->node_id, was_new ? "full" : "evicted", c->peer);
    pool_drop(&d->hs, i);
    return was_new;
}

/* The newcomer c (last in the pool) is in: trim the pool to its limits. */
static void fit_handshakes(struct mgr_daemon *d, struct mgr_conn *c)
{
    uint64_t now = cxl_now_ms();
    int gone = 0;
    while (!gone && same_source(&d->hs, c) > d->lim.max_handshakes_per_source)
        gone = drop_handshake(d, victim(&d->hs, c, now), c);
    while (d->hs.n > d->lim.max_handshakes)
        gone |= drop_handshake(d, victim(&d->hs, NULL, now), gone ? NULL : c);
}

/* ---- accepting ----------------------------------------------------------------------------- */

static void source_of(const struct sockaddr_storage *ss, struct mgr_conn *c)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(c->src, 0, sizeof c->src);
    if (ss->ss_family == AF_INET) {
        c->src[0] = 4;
        memcpy(c->src + 1, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr.s6_addr;
        int v4 = memcmp(a, v4mapped, 12) == 0;
        c->src[0] = v4 ? 4 : 6;
        memcpy(c->src + 1, v4 ? a + 12 : a, v4 ? 4 : 8); /* IPv6: the /64 */
    }
}

/* Say it at most once a second. */
static void rare(uint64_t *last, const char *what)
{
    uint64_t now = cxl_now_ms();
    if (now - *last < 1000 && *last)
        return;
    *last = now;
    fprintf(stderr, "cxl_sec_mgr: %s\n", what);
}

static void admit_node(struct mgr_daemon *d, int fd, const struct sockaddr_storage *ss, int fabric)
{
    cxl_net_nodelay(fd);
    struct mgr_conn *c = conn_new(fd, CONN_NODE, cxl_now_ms() + conn_handshake_ms(d));
    if (!c)
        return;
    c->on_fabric = fabric;
    cxl_net_sockaddr_name(ss, c->peer, sizeof c->peer);
    source_of(ss, c);
    if (pool_add(&d->hs, c) != 0) {
        conn_close(c);
        free(c);
        return;
    }
    conn_node_readable(d, c); /* message 1 is usually there already: progress first */
    if (c->fd < 0)
        pool_drop(&d->hs, d->hs.n - 1);
    else
        fit_handshakes(d, c);
}

/* Node connections from a listener: the TCP port, or the fabric socket
 * (its peers are one source for the per-source limit: all are local). */
static void accept_from(struct mgr_daemon *d, int listen_fd, int fabric)
{
    static uint64_t said;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        int fd = cxl_net_accept(listen_fd, &ss);
        if (fd >= 0) {
            admit_node(d, fd, &ss, fabric);
            continue;
        }
        if (cxl_net_out_of_fds(errno)) {
            d->listen_rest_until = cxl_now_ms() + REST_MS;
            rare(&said, "out of descriptors or memory at accept: the listener rests 100 ms");
        }
        return;
    }
}

void admit_accept_nodes(struct mgr_daemon *d)
{
    accept_from(d, d->listen_fd, 0);
}

void admit_accept_fabric(struct mgr_daemon *d)
{
    accept_from(d, d->fabric_fd, 1);
}

void admit_accept_control(struct mgr_daemon *d)
{
    static uint64_t said;
    for (int i = 0; i < CONTROL_BATCH; i++) {
        int fd = cxl_net_accept(d->control_fd, NULL);
        if (fd < 0 && cxl_net_out_of_fds(errno) && d->control_spare_fd >= 0) {
            close(d->control_spare_fd); /* the reserve is for this */
            d->control_spare_fd = -1;
            fd = cxl_net_accept(d->control_fd, NULL);
        }
        if (fd < 0)
            return;
        if (!control_peer_ok(fd) || d->ctl.n >= d->lim.max_control) {
            rare(&said, "control connection refused (another user, or max-control reached)");
            close(fd);
            continue;
        }
        struct mgr_conn *c = conn_new(fd, CONN_CONTROL, cxl_now_ms() + CONTROL_MS);
        if (c && pool_add(&d->ctl, c) != 0) {
            conn_close(c);
            free(c);
        } else if (c) {
            snprintf(c->peer, sizeof c->peer, "control");
        }
    }
}

/* ---- channels ------------------------------------------------------------------------------ */

/* The least recently used channel (of node id only, if node >= 0). */
static size_t lru(const struct mgr_pool *p, int node)
{
    size_t best = p->n;
    for (size_t i = 0; i < p->n; i++)
        if ((node < 0 || p->c[i]->node_id == node) &&
            (best == p->n || p->c[i]->stamp < p->c[best]->stamp))
            best = i;
    return best;
}

static size_t node_channels(const struct mgr_pool *p, uint16_t node)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += p->c[i]->node_id == node;
    return n;
}

static void add_channel(struct mgr_daemon *d, struct mgr_conn *c)
{
    static uint64_t said;
    if (pool_add(&d->chans, c) != 0) {
        conn_close(c);
        free(c);
        return;
    }
    while (node_channels(&d->chans, c->node_id) > d->lim.max_channels_per_node) {
        rare(&said, "a node reached max-channels-per-node: its least recently used channel closed");
        pool_drop(&d->chans, lru(&d->chans, c->node_id));
    }
    while (d->chans.n > d->lim.max_channels) {
        rare(&said, "max-channels reached: the least recently used channel closed");
        pool_drop(&d->chans, lru(&d->chans, -1));
    }
}

void admit_promote(struct mgr_daemon *d)
{
    for (size_t i = 0; i < d->hs.n;) {
        if (d->hs.c[i]->fd >= 0 && d->hs.c[i]->stage == ST_READY)
            add_channel(d, pool_take(&d->hs, i));
        else
            i++;
    }
}

/* Closed, not freed: this runs inside the event loop (a RELOAD request). */
static size_t close_stale(struct mgr_daemon *d, struct mgr_pool *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct mgr_conn *c = p->c[i];
        if (c->fd < 0 || c->stage == ST_MSG1 || !c->have_id)
            continue;
        const struct mgr_node *node = config_node_by_id(&d->cfg, c->node_id);
        if (!node || memcmp(node->pub, c->pub, 32) != 0) {
            conn_close(c);
            n++;
        }
    }
    return n;
}

size_t admit_drop_stale(struct mgr_daemon *d)
{
    return close_stale(d, &d->chans) + close_stale(d, &d->hs);
}
