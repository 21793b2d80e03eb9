/* cluster.c - the module on a Redis Cluster node (docs/CLUSTER.md, section
 * 1): a ring request for keys this node does not serve gets the answer
 * redis-server gives a TCP client (getNodeByQuery's rules: MOVED, ASK,
 * CROSSSLOT, TRYAGAIN, CLUSTERDOWN), never a local read or write.
 *
 * The slot map is a cache of CLUSTER NODES (owner per slot, the nodes'
 * addresses, this node's MIGRATING and IMPORTING slots) and CLUSTER INFO's
 * state, refreshed, never per request:
 *   - before the next ring request after a CLUSTER command that changes the
 *     configuration ran on this node (a command filter: SETSLOT, ADDSLOTS,
 *     FAILOVER ..., and EXEC, which may hold one);
 *   - when nodes.conf changed (Redis saves it on every slot, epoch, role or
 *     failure-state change it learns, from the bus too), looked at with one
 *     stat() at most every CLUSTER_CONF_CHECK_MS (1-4 ms: the coarse clock);
 *   - when CLUSTER INFO's cluster_current_epoch changed, read with the
 *     cluster's state every CLUSTER_STATE_MS;
 *   - and at least every CLUSTER_MAP_MS whatever happens.
 * Per request: the key's CRC16 slot and a table lookup (cluster_judge).
 *
 * The any-command path runs through RedisModule_Call, which refuses keys of
 * another node itself ("Attempted to access a non local key"): there the
 * cache only turns that refusal into Redis's TCP answer. Session flags of a
 * ring connection: ASKING (one command) and READONLY, as on TCP; the fake
 * client of RedisModule_Call cannot carry them, so they apply to GET/SET/DEL
 * and the any-command path answers as if they were not set (CLUSTER.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cxl/cluster.h"
#include "module.h"

#define NSLOTS ((int)CXL_CLUSTER_SLOTS)
#define NO_NODE 0xffff
#define CLUSTER_STATE_MS 100 /* CLUSTER INFO: the state, the epoch */
#define CLUSTER_MAP_MS 1000  /* CLUSTER NODES whatever happens */
#define CLUSTER_RECHECK_MS 5 /* a refused command re-reads a map older than this */
#define CLUSTER_CONF_CHECK_MS 2 /* (on a coarse clock: in practice every tick, 1-4 ms) */
#define NODE_ID_LEN 40
#define ENDPOINT_MAX 300

static const char CROSSSLOT[] = "CROSSSLOT Keys in request don't hash to the same slot";
static const char TRYAGAIN[] = "TRYAGAIN Multiple keys request during rehashing of slot";
static const char DOWN[] = "CLUSTERDOWN The cluster is down";
static const char DOWN_RO[] = "CLUSTERDOWN The cluster is down and only accepts read commands";
static const char UNBOUND[] = "CLUSTERDOWN Hash slot not served";
static const char ASKING_ANY[] = "TRYAGAIN the slot is importing: over the ring ASKING applies to GET, SET and "
                                 "DEL only; retry, or send this command over TCP";
/* RedisModule_Call's own refusals (module.c of Redis 7.0, 'E' flag) */
static const char CALL_NONLOCAL[] = "-ERR Attempted to access a non local key in a cluster node";
static const char CALL_DOWN_RO[] = "-ERR Can not execute a write command ";
static const char CALL_DOWN[] = "-ERR Can not execute a command ";

struct cnode {
    char id[NODE_ID_LEN + 1];
    char endpoint[ENDPOINT_MAX]; /* host:port as MOVED names it */
};

/* A slot in migration: this node's [slot->-target] or [slot-<-source]. */
struct open_slot {
    uint16_t slot, node;
};
struct open_list {
    struct open_slot *v;
    uint32_t n, cap;
};

/* A ring's connections' flags (ASKING, READONLY), allocated when one is
 * first set: one byte per connection the module accepts (max_conns + 1). */
#define CF_ASKING 1
#define CF_READONLY 2
struct ring_flags {
    uint8_t *flags;
    uint32_t session, nset;
    uint16_t node;
};

static struct cluster {
    int enabled, loaded;
    int state_ok, reads_when_down, endpoint_kind; /* 0 ip, 1 hostname, 2 unknown */
    uint16_t owner[NSLOTS];
    uint8_t open[NSLOTS / 8]; /* bit: migrating or importing here */
    struct open_list migrating, importing;
    struct cnode *nodes;
    uint32_t nnodes, nodes_cap;
    uint16_t me, my_master; /* NO_NODE: unknown / a master */
    int replica;
    char conf_path[512];
    struct stat conf_seen;
    int stale, nodes_readable;
    long long refreshed_ms, conf_checked_ms, state_checked_ms;
    uint64_t epoch;
    struct ring_flags *ring;     /* [rings] */
    uint32_t rings, conn_cap, nset; /* nset: connections with a flag, all rings */
    uint8_t cur_flags;           /* the flags of the request being run */
    struct cluster_stats st;
} cl;

/* --- the cache ------------------------------------------------------------------ */

/* Milliseconds on the kernel's coarse clock: a few ns, no syscall (every
 * pass asks; RedisModule_Milliseconds is a gettimeofday). */
static long long coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void open_mark(uint16_t slot) { cl.open[slot >> 3] |= (uint8_t)(1u << (slot & 7)); }
static int is_open(uint16_t slot) { return cl.open[slot >> 3] >> (slot & 7) & 1; }

static int node_index(const char *id, size_t len, int add)
{
    if (len != NODE_ID_LEN)
        return -1;
    for (uint32_t i = 0; i < cl.nnodes; i++)
        if (!memcmp(cl.nodes[i].id, id, len))
            return (int)i;
    if (!add || cl.nnodes >= NO_NODE)
        return -1;
    if (cl.nnodes == cl.nodes_cap) {
        uint32_t cap = cl.nodes_cap ? 2 * cl.nodes_cap : 16;
        struct cnode *n = realloc(cl.nodes, cap * sizeof *n);
        if (!n)
            return -1;
        cl.nodes = n, cl.nodes_cap = cap;
    }
    struct cnode *n = &cl.nodes[cl.nnodes];
    memset(n, 0, sizeof *n);
    memcpy(n->id, id, len);
    return (int)cl.nnodes++;
}

static int add_open(struct open_list *l, uint16_t slot, int node)
{
    if (node < 0)
        return -1;
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? 2 * l->cap : 16;
        struct open_slot *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = (struct open_slot){slot, (uint16_t)node};
    open_mark(slot);
    return 0;
}

/* "ip:port@cport[,hostname]" -> the endpoint MOVED names (getPreferredEndpoint). */
static void set_endpoint(struct cnode *n, const char *addr, size_t len)
{
    const char *at = memchr(addr, '@', len), *comma = memchr(addr, ',', len);
    const char *colon = NULL;
    for (const char *p = at ? at : addr + len; p > addr; p--)
        if (p[-1] == ':') {
            colon = p - 1;
            break;
        }
    if (!colon || !at) {
        snprintf(n->endpoint, sizeof n->endpoint, ":0");
        return;
    }
    int port = (int)(at - colon - 1);
    const char *host = addr;
    int hlen = (int)(colon - addr);
    if (cl.endpoint_kind == 1 && comma && comma + 1 < addr + len)
        host = comma + 1, hlen = (int)(addr + len - comma - 1);
    else if (cl.endpoint_kind != 0) /* unknown-endpoint, or a node without a hostname */
        host = "", hlen = 0;
    snprintf(n->endpoint, sizeof n->endpoint, "%.*s:%.*s", hlen, host, port, colon + 1);
}

static int has_flag(const char *flags, size_t len, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= len; i++)
        if ((i == 0 || flags[i - 1] == ',') && !memcmp(flags + i, w, wl) && (i + wl == len || flags[i + wl] == ','))
            return 1;
    return 0;
}

/* One slot field of a CLUSTER NODES line: "N", "A-B", "[N->-id]", "[N-<-id]". */
static int parse_slots(const char *f, size_t len, int node, int myself)
{
    char buf[64 + NODE_ID_LEN];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, f, len);
    buf[len] = '\0';
    char *end;
    if (buf[0] == '[') {
        long s = strtol(buf + 1, &end, 10);
        if (end == buf + 1 || s < 0 || s >= NSLOTS || !myself)
            return myself ? -1 : 0;
        int mig = !strncmp(end, "->-", 3), imp = !strncmp(end, "-<-", 3);
        char *id = end + 3, *close = strchr(id, ']');
        if ((!mig && !imp) || !close)
            return -1;
        int other = node_index(id, (size_t)(close - id), 1);
        return add_open(mig ? &cl.migrating : &cl.importing, (uint16_t)s, other);
    }
    long a = strtol(buf, &end, 10), b = a;
    if (end == buf)
        return -1;
    if (*end == '-')
        b = strtol(end + 1, &end, 10);
    if (*end || a < 0 || b < a || b >= NSLOTS)
        return -1;
    for (long s = a; s <= b; s++)
        cl.owner[s] = (uint16_t)node;
    return 0;
}

/* The next space-separated field of [*p, end), or NULL. */
static const char *field(const char **p, const char *end, size_t *len)
{
    if (*p >= end)
        return NULL;
    const char *f = *p, *sp = memchr(f, ' ', (size_t)(end - f));
    *len = (size_t)((sp ? sp : end) - f);
    *p = sp ? sp + 1 : end;
    return f;
}

/* One line: id addr flags master ping pong epoch link slot... */
static int parse_line(const char *p, const char *end)
{
    const char *f[8];
    size_t fl[8];
    for (int i = 0; i < 8; i++)
        if (!(f[i] = field(&p, end, &fl[i])))
            return -1;
    int node = node_index(f[0], fl[0], 1);
    if (node < 0)
        return -1;
    set_endpoint(&cl.nodes[node], f[1], fl[1]);
    int myself = has_flag(f[2], fl[2], "myself");
    if (myself) {
        cl.me = (uint16_t)node;
        cl.replica = has_flag(f[2], fl[2], "slave");
        int m = cl.replica ? node_index(f[3], fl[3], 1) : -1;
        cl.my_master = m < 0 ? NO_NODE : (uint16_t)m;
    }
    const char *s;
    size_t sl;
    while ((s = field(&p, end, &sl)) != NULL)
        if (sl && parse_slots(s, sl, node, myself) != 0)
            return -1;
    return 0;
}

static int parse_nodes(const char *text, size_t len)
{
    cl.nnodes = 0, cl.migrating.n = cl.importing.n = 0;
    cl.me = cl.my_master = NO_NODE, cl.replica = 0;
    memset(cl.owner, 0xff, sizeof cl.owner);
    memset(cl.open, 0, sizeof cl.open);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (e > p && e[-1] == '\r')
            e--;
        if (e > p && parse_line(p, e) != 0)
            return -1;
        p = nl ? nl + 1 : end;
    }
    return cl.me == NO_NODE ? -1 : 0;
}

static RedisModuleCallReply *call2(RedisModuleCtx *ctx, const char *cmd, const char *a, const char *b)
{
    return b ? rm.Call(ctx, cmd, "cc", a, b) : rm.Call(ctx, cmd, "c", a);
}

/* A string reply's text (NULL if not one). */
static const char *reply_text(RedisModuleCallReply *r, size_t *len)
{
    return r && rm.CallReplyType(r) == RM_REPLY_STRING ? rm.CallReplyStringPtr(r, len) : NULL;
}

/* CONFIG GET name -> its value, into out. */
static void config_get(RedisModuleCtx *ctx, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    RedisModuleCallReply *r = call2(ctx, "CONFIG", "GET", name);
    size_t n = 0;
    const char *v = r && rm.CallReplyType(r) == RM_REPLY_ARRAY && rm.CallReplyLength(r) == 2
                        ? rm.CallReplyStringPtr(rm.CallReplyArrayElement(r, 1), &n)
                        : NULL;
    if (v)
        snprintf(out, cap, "%.*s", (int)n, v);
    if (r)
        rm.FreeCallReply(r);
}

static void read_settings(RedisModuleCtx *ctx)
{
    char v[256];
    config_get(ctx, "cluster-allow-reads-when-down", v, sizeof v);
    cl.reads_when_down = !strcmp(v, "yes");
    config_get(ctx, "cluster-preferred-endpoint-type", v, sizeof v);
    cl.endpoint_kind = !strcmp(v, "hostname") ? 1 : !strcmp(v, "unknown-endpoint") ? 2 : 0;
    config_get(ctx, "cluster-config-file", v, sizeof v);
    snprintf(cl.conf_path, sizeof cl.conf_path, "%s", v); /* relative to Redis's dir, its cwd */
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CLUSTER INFO: cluster_state, and the current epoch (a failover or a
 * completed slot move elsewhere usually bumps it). */
static void read_state(RedisModuleCtx *ctx)
{
    long long t0 = now_ns();
    RedisModuleCallReply *r = call2(ctx, "CLUSTER", "INFO", NULL);
    size_t len = 0;
    const char *text = reply_text(r, &len);
    cl.state_ok = text && len >= 16 && !memcmp(text, "cluster_state:ok", 16);
    static const char key[] = "cluster_current_epoch:";
    const char *e = NULL;
    for (size_t i = 0; text && i + sizeof key - 1 < len && !e; i++)
        if ((i == 0 || text[i - 1] == '\n') && !memcmp(text + i, key, sizeof key - 1))
            e = text + i + sizeof key - 1;
    cl.epoch = e ? strtoull(e, NULL, 10) : 0; /* (the reply ends in CRLF: strtoull stops there) */
    if (r)
        rm.FreeCallReply(r);
    cl.state_checked_ms = coarse_ms();
    cl.st.state_ns = (uint64_t)(now_ns() - t0);
}

static int refresh(RedisModuleCtx *ctx)
{
    long long t0 = coarse_ms(), start_ns = now_ns();
    cl.stale = 0;
    cl.refreshed_ms = cl.conf_checked_ms = t0;
    read_settings(ctx); /* CONFIG SET may change them at any time */
    if (cl.conf_path[0] && stat(cl.conf_path, &cl.conf_seen) != 0)
        memset(&cl.conf_seen, 0, sizeof cl.conf_seen);
    RedisModuleCallReply *r = call2(ctx, "CLUSTER", "NODES", NULL);
    cl.nodes_readable = r != NULL;
    size_t len = 0;
    const char *text = reply_text(r, &len);
    int rc = text ? parse_nodes(text, len) : -1;
    if (r)
        rm.FreeCallReply(r);
    read_state(ctx);
    if (rc != 0) { /* fail closed: serve nothing until a map parses */
        memset(cl.owner, 0xff, sizeof cl.owner);
        cl.state_ok = 0;
        cl.st.refresh_errors++;
    }
    cl.loaded = 1;
    cl.st.refreshes++;
    cl.st.refresh_ns = (uint64_t)(now_ns() - start_ns);
    return rc;
}

static int conf_changed(void)
{
    struct stat s;
    if (!cl.conf_path[0]) /* (CONFIG renamed away: the 1 s refresh only) */
        return 0;
    if (stat(cl.conf_path, &s) != 0)
        return 1;
    return s.st_ino != cl.conf_seen.st_ino || s.st_size != cl.conf_seen.st_size ||
           s.st_mtim.tv_sec != cl.conf_seen.st_mtim.tv_sec || s.st_mtim.tv_nsec != cl.conf_seen.st_mtim.tv_nsec;
}

void cluster_pass(RedisModuleCtx *ctx)
{
    if (!cl.enabled)
        return;
    long long now = coarse_ms();
    if (cl.stale || !cl.loaded || now - cl.refreshed_ms >= CLUSTER_MAP_MS) {
        refresh(ctx);
    } else if (now - cl.state_checked_ms >= CLUSTER_STATE_MS) {
        uint64_t epoch = cl.epoch;
        read_state(ctx);
        if (cl.epoch != epoch)
            refresh(ctx);
    } else if (now - cl.conf_checked_ms >= CLUSTER_CONF_CHECK_MS) {
        cl.conf_checked_ms = now;
        if (conf_changed())
            refresh(ctx);
    }
}

/* --- configuration changes seen as they run ------------------------------------- */

static int arg_is(RedisModuleCommandFilterCtx *f, int i, const char *w)
{
    size_t n;
    const char *p = rm.StringPtrLen(rm.CommandFilterArgGet(f, i), &n);
    return name_is(p, n, w);
}

static void on_command(RedisModuleCommandFilterCtx *f)
{
    static const char *const changes[] = {"setslot", "addslots", "addslotsrange", "delslots", "delslotsrange",
                                          "flushslots", "reset", "failover", "forget", "meet", "replicate",
                                          "bumpepoch", "set-config-epoch", NULL};
    int argc = rm.CommandFilterArgsCount(f);
    if ((argc >= 1 && arg_is(f, 0, "exec")) || (argc >= 2 && arg_is(f, 0, "config") && arg_is(f, 1, "set"))) {
        cl.stale = 1; /* a transaction may hold one; settings the answers depend on */
        return;
    }
    if (argc < 2 || !arg_is(f, 0, "cluster"))
        return;
    for (int i = 0; changes[i]; i++)
        if (arg_is(f, 1, changes[i]))
            cl.stale = 1;
}

int cluster_init(RedisModuleCtx *ctx, uint32_t rings, uint32_t conns_per_ring, char *err, size_t cap)
{
    cl.enabled = (rm.GetContextFlags(ctx) & RM_CTX_FLAGS_CLUSTER) != 0;
    if (!cl.enabled)
        return 0;
    if (!(cl.ring = calloc(rings, sizeof *cl.ring))) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    cl.rings = rings, cl.conn_cap = conns_per_ring;
    rm.RegisterCommandFilter(ctx, on_command, 0);
    if (refresh(ctx) != 0 && !cl.nodes_readable) { /* a map that does not parse only fails closed */
        snprintf(err, cap, "Redis Cluster is enabled but CLUSTER NODES cannot be run (the CLUSTER command renamed "
                           "or removed?): without the slot map the module cannot tell which keys this node serves");
        return -1;
    }
    return 0;
}

int cluster_enabled(void) { return cl.enabled; }

/* --- a connection's ASKING and READONLY ----------------------------------------- */

/* The flags of a request's connection, or NULL (a connection number past
 * max_conns, as identity.c refuses it; out of memory). A new claim of the
 * ring is a new client: its connections start with none. */
static uint8_t *flags_slot(const struct cxl_kv_request *r, int add)
{
    if (r->ring >= cl.rings || r->conn >= cl.conn_cap)
        return NULL;
    struct ring_flags *f = &cl.ring[r->ring];
    if (!f->flags) {
        if (!add || !(f->flags = calloc(cl.conn_cap, 1)))
            return NULL;
        f->session = r->session, f->node = r->node;
    }
    if (f->session != r->session || f->node != r->node) {
        memset(f->flags, 0, cl.conn_cap);
        f->nset = 0, f->session = r->session, f->node = r->node;
    }
    return &f->flags[r->conn];
}

/* Set a connection's flags, counting the connections that have some. */
static void flags_set(const struct cxl_kv_request *r, uint8_t *slot, uint8_t v)
{
    struct ring_flags *f = &cl.ring[r->ring];
    f->nset += (v != 0) - (*slot != 0);
    cl.nset += (v != 0) - (*slot != 0);
    *slot = v;
}

/* A request starts: its connection's flags are the ones it is judged by,
 * and its ASKING is used up by it whatever it is and however it ends, as
 * on TCP (only the ASKING command sets it again). One load when no
 * connection has a flag, the usual case. */
void cluster_request_begin(const struct cxl_kv_request *r)
{
    uint8_t *f = cl.nset ? flags_slot(r, 0) : NULL;
    cl.cur_flags = f ? *f : 0;
    if (f && (*f & CF_ASKING))
        flags_set(r, f, (uint8_t)(*f & ~CF_ASKING));
}

/* ASKING, READONLY, READWRITE (on a cluster node): 1 if a was one (answered). */
int cluster_session_command(const struct cxl_kv_request *r, const struct cmd_args *a, struct cxl_kv_reply *rp)
{
    if (!cl.enabled || a->argc != 1)
        return 0;
    const char *p = a->ptr[0];
    size_t n = a->len[0];
    int asking = name_is(p, n, "asking"), ro = name_is(p, n, "readonly"), rw = name_is(p, n, "readwrite");
    if (!asking && !ro && !rw)
        return 0;
    uint8_t *slot = flags_slot(r, 1);
    if (!slot) {
        cxl_kv_reply_error(rp, "ERR connection %u: out of range or out of memory", r->conn);
        return 1;
    }
    uint8_t v = *slot; /* (this request used up an earlier ASKING) */
    if (asking)
        v |= CF_ASKING;
    else
        v = (uint8_t)(ro ? v | CF_READONLY : v & ~CF_READONLY);
    flags_set(r, slot, v);
    cxl_kv_reply(rp, CXL_KV_REPLY, "+OK\r\n", 5);
    return 1;
}

/* RESET: the connection's flags go. */
void cluster_session_reset(const struct cxl_kv_request *r)
{
    uint8_t *f = cl.nset ? flags_slot(r, 0) : NULL;
    if (f)
        flags_set(r, f, 0);
}

/* --- the judgement ---------------------------------------------------------------- */

static uint16_t open_node(const struct open_list *l, uint16_t slot)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].slot == slot)
            return l->v[i].node;
    return NO_NODE;
}

static const char *redirect(const char *kind, int slot, uint16_t node, char *text, size_t cap)
{
    snprintf(text, cap, "%s %d %s", kind, slot, node < cl.nnodes ? cl.nodes[node].endpoint : ":0");
    cl.st.redirects++;
    return text;
}

/* getNodeByQuery for keys[0..n) of a command that writes or not, with the
 * connection's flags: NULL = serve here, else the error text. */
static const char *judge(RedisModuleCtx *ctx, RedisModuleString *const *keys, int n, int write, uint8_t flags,
                         char *text, size_t cap)
{
    int slot = -1, multiple = 0, migrating = 0, importing = 0, missing = 0, existing = 0;
    uint16_t owner = NO_NODE;
    const char *first = NULL;
    size_t flen = 0;
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *k = rm.StringPtrLen(keys[i], &len);
        int s = (int)cxl_cluster_slot(k, len);
        if (!first) {
            first = k, flen = len, slot = s, owner = cl.owner[s];
            if (owner == NO_NODE)
                return cl.st.redirects++, UNBOUND;
            if (is_open((uint16_t)s)) {
                migrating = owner == cl.me && open_node(&cl.migrating, (uint16_t)s) != NO_NODE;
                importing = !migrating && open_node(&cl.importing, (uint16_t)s) != NO_NODE;
            }
        } else if (len != flen || memcmp(k, first, len)) {
            if (s != slot)
                return cl.st.redirects++, CROSSSLOT;
            multiple = 1;
        }
        if (migrating || importing)
            rm.KeyExists(ctx, keys[i]) ? existing++ : missing++;
    }
    if (!first)
        return NULL;
    if (!cl.state_ok && (!cl.reads_when_down || write))
        return cl.st.redirects++, cl.reads_when_down ? DOWN_RO : DOWN;
    if (migrating && missing) {
        if (existing)
            return cl.st.redirects++, TRYAGAIN;
        return redirect("ASK", slot, open_node(&cl.migrating, (uint16_t)slot), text, cap);
    }
    if (importing && (flags & CF_ASKING))
        return multiple && missing ? (cl.st.redirects++, TRYAGAIN) : NULL;
    if ((flags & CF_READONLY) && !write && cl.replica && cl.my_master == owner)
        return NULL;
    return owner != cl.me ? redirect("MOVED", slot, owner, text, cap) : NULL;
}

const char *cluster_check_key(RedisModuleCtx *ctx, const struct cxl_kv_request *r, RedisModuleString *key,
                              char *text, size_t cap)
{
    if (!cl.enabled)
        return NULL;
    if (cl.stale)
        refresh(ctx);
    cl.st.checks++;
    return judge(ctx, &key, 1, r->op != CXL_KV_GET, cl.cur_flags, text, cap);
}

/* The keys of a command as Redis's key specs find them (COMMAND
 * GETKEYSANDFLAGS: EVAL's numkeys, MSET's pairs, XREAD's STREAMS ...), and
 * whether one is written: n (0: none, or not a command with keys), or -1.
 * (Not RedisModule_GetCommandKeysWithFlags: Redis 7.0's leaks its buffer for
 * more than 256 keys.) */
static int command_keys(RedisModuleCtx *ctx, const struct cmd_args *a, RedisModuleString ***keys, int *write)
{
    *keys = NULL, *write = 0;
    RedisModuleString **argv = malloc(a->argc * sizeof *argv);
    if (!argv)
        return -1;
    for (uint32_t i = 0; i < a->argc; i++)
        argv[i] = rm.CreateString(ctx, a->ptr[i], a->len[i]);
    RedisModuleCallReply *r = rm.Call(ctx, "COMMAND", "cv", "GETKEYSANDFLAGS", argv, (size_t)a->argc);
    for (uint32_t i = 0; i < a->argc; i++)
        rm.FreeString(ctx, argv[i]);
    free(argv);
    size_t n = r && rm.CallReplyType(r) == RM_REPLY_ARRAY ? rm.CallReplyLength(r) : 0;
    RedisModuleString **k = n ? calloc(n, sizeof *k) : NULL;
    size_t got = 0;
    for (size_t i = 0; k && i < n; i++) { /* [key, [flag ...]] */
        RedisModuleCallReply *e = rm.CallReplyArrayElement(r, i), *fl;
        size_t klen;
        const char *key = e && rm.CallReplyLength(e) == 2 ? rm.CallReplyStringPtr(rm.CallReplyArrayElement(e, 0), &klen)
                                                          : NULL;
        if (!key)
            continue;
        k[got++] = rm.CreateString(ctx, key, klen);
        fl = rm.CallReplyArrayElement(e, 1);
        for (size_t j = 0; fl && j < rm.CallReplyLength(fl); j++) {
            size_t flen;
            const char *f = rm.CallReplyStringPtr(rm.CallReplyArrayElement(fl, j), &flen);
            *write |= f && flen == 2 && (!memcmp(f, "RW", 2) || !memcmp(f, "OW", 2) || !memcmp(f, "RM", 2));
        }
    }
    if (r)
        rm.FreeCallReply(r);
    if (n && !k)
        return -1;
    *keys = k;
    return (int)got;
}

static void free_keys(RedisModuleCtx *ctx, RedisModuleString **keys, int n)
{
    for (int i = 0; i < n; i++)
        rm.FreeString(ctx, keys[i]);
    free(keys);
}

/* A command judged by its keys (READONLY not honoured: RedisModule_Call
 * cannot carry it, see the top of the file). */
static const char *judge_command(RedisModuleCtx *ctx, const struct cmd_args *a, char *text, size_t cap)
{
    RedisModuleString **keys;
    int write, n = command_keys(ctx, a, &keys, &write);
    const char *answer = n > 0 ? judge(ctx, keys, n, write, cl.cur_flags & (uint8_t)~CF_READONLY, text, cap) : NULL;
    if (!answer && n > 0 && (cl.cur_flags & CF_ASKING))
        answer = ASKING_ANY;
    free_keys(ctx, keys, n > 0 ? n : 0);
    return answer;
}

static int starts(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && !memcmp(s, prefix, n);
}

/* Refresh now unless the map was read a moment ago (a flood of refused
 * commands does not re-read it for each). */
static void refresh_soon(RedisModuleCtx *ctx)
{
    if (cl.stale || coarse_ms() - cl.refreshed_ms >= CLUSTER_RECHECK_MS)
        refresh(ctx);
}

const char *cluster_call_refusal(RedisModuleCtx *ctx, const struct cmd_args *a, const char *err, size_t len,
                                 char *text, size_t cap)
{
    if (!cl.enabled)
        return NULL;
    if (starts(err, len, CALL_DOWN_RO)) /* RedisModule_Call's words for what TCP says so */
        return cl.st.redirects++, DOWN_RO;
    if (starts(err, len, CALL_DOWN))
        return cl.st.redirects++, DOWN;
    if (!starts(err, len, CALL_NONLOCAL))
        return NULL;
    refresh_soon(ctx); /* Redis refused: judge on its latest map */
    return judge_command(ctx, a, text, cap); /* NULL: Redis's own words stand */
}

const char *cluster_check_command(RedisModuleCtx *ctx, const struct cmd_args *a, char *text, size_t cap)
{
    if (!cl.enabled)
        return NULL;
    if (cl.stale)
        refresh(ctx);
    return judge_command(ctx, a, text, cap);
}

/* --- what CXLRING.INFO shows ------------------------------------------------------ */

int cluster_stats(struct cluster_stats *out)
{
    long long now_ms = coarse_ms();
    *out = cl.st;
    out->enabled = cl.enabled;
    out->state_ok = cl.state_ok;
    out->age_ms = cl.loaded ? now_ms - cl.refreshed_ms : -1;
    out->replica = cl.replica;
    snprintf(out->node_id, sizeof out->node_id, "%s", cl.me < cl.nnodes ? cl.nodes[cl.me].id : "");
    return 0;
}

/* This node's slot ranges, "0-5460 5461" (its master's for a replica). */
void cluster_my_slots(char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    uint16_t whose = cl.replica ? cl.my_master : cl.me;
    for (int s = 0; s < NSLOTS && whose != NO_NODE; s++) {
        if (cl.owner[s] != whose)
            continue;
        int e = s;
        while (e + 1 < NSLOTS && cl.owner[e + 1] == whose)
            e++;
        int w = e > s ? snprintf(out + used, cap - used, "%s%d-%d", used ? " " : "", s, e)
                      : snprintf(out + used, cap - used, "%s%d", used ? " " : "", s);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
        s = e;
    }
}
