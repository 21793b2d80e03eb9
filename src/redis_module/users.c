/* users.c - the ring connections authenticated as each Redis user, and
 * whether Redis would still accept their AUTH (docs/SERVER.md, "Rights").
 *
 * Every user ring connections authenticated as has an entry: its name (the
 * string they run as), its connections (ring << 16 | connection number, each
 * connection's conn_auth holding the SHA-256 of the password it proved), and
 * a digest of what ACL GETUSER said of the user at its last check. Checking
 * an entry asks ACL GETUSER once; only when the answer differs from the last
 * one are its connections looked at: each stays while the user exists, is
 * on, and is nopass or still has the connection's password.
 *
 * When. A command filter sees every command before Redis checks or runs it
 * (from any client, authenticated or not):
 *   - ACL SETUSER / DELUSER and CONFIG SET requirepass (the default user)
 *     mark the entries of the users they name; marked entries are checked
 *     before the next ring request. Names no connection runs as cost
 *     nothing; a marked entry costs one ACL GETUSER: what the command did.
 *   - ACL LOAD and EXEC (a transaction the filter cannot see into) ask for
 *     a check of every entry (one ACL GETUSER per user). Since anyone can
 *     send them, such a check runs only once 9 times the last full check's
 *     duration has passed since it ended: at most a tenth of the time.
 *   - Every entry is checked once a second, whatever was asked.
 * All of it runs under Redis's lock: the filter on Redis's thread, the
 * checks in ring passes. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/wait.h"
#include "module.h"

#define RECHECK_NS 1000000000ull /* every entry checked at least this often */

struct user_entry {
    struct user_entry *next;       /* hash chain */
    RedisModuleString *name;       /* what its connections run as */
    uint64_t hash;
    uint32_t *conn;                /* [n]: ring << 16 | connection */
    uint32_t n, cap;
    int marked;                    /* named by a command since the last check */
    int known;                     /* digest is of the last check's answer */
    uint8_t digest[crypto_generichash_BYTES];
};

struct users {
    RedisModuleCtx *ctx;
    struct conn_auth *(*conn_at)(void *ud, uint32_t ref);
    void *ud;
    struct user_entry **bucket;    /* [nbucket], a power of two */
    uint32_t nbucket, entries, marked;
    uint64_t authed;               /* connections with a user */
    int all_asked;                 /* ACL LOAD or EXEC seen */
    uint64_t checked_ns;           /* the last full check ended */
    uint64_t next_ok_ns;           /* no asked-for full check before */
    struct users_stats st;
};

static struct users *watched; /* the filter's: one per module */

static uint64_t name_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: names are the operator's, not an attacker's */
    while (n--)
        h = (h ^ (uint8_t)*p++) * 1099511628211ull;
    return h;
}

struct users *users_create(RedisModuleCtx *ctx, struct conn_auth *(*conn_at)(void *ud, uint32_t ref), void *ud)
{
    struct users *u = calloc(1, sizeof *u);
    if (!u || !(u->bucket = calloc(16, sizeof *u->bucket))) {
        free(u);
        return NULL;
    }
    u->ctx = ctx;
    u->conn_at = conn_at;
    u->ud = ud;
    u->nbucket = 16;
    watched = u;
    return u;
}

static void free_entry(struct users *u, struct user_entry *e)
{
    rm.FreeString(u->ctx, e->name);
    free(e->conn);
    free(e);
    u->entries--;
}

void users_destroy(struct users *u)
{
    if (!u)
        return;
    if (watched == u)
        watched = NULL;
    for (uint32_t b = 0; b < u->nbucket; b++)
        for (struct user_entry *e = u->bucket[b], *next; e; e = next) {
            next = e->next;
            free_entry(u, e);
        }
    free(u->bucket);
    free(u);
}

static struct user_entry *find(struct users *u, const char *p, size_t n, uint64_t h)
{
    for (struct user_entry *e = u->bucket[h & (u->nbucket - 1)]; e; e = e->next) {
        size_t en;
        const char *ep = rm.StringPtrLen(e->name, &en);
        if (e->hash == h && en == n && memcmp(ep, p, n) == 0)
            return e;
    }
    return NULL;
}

static void grow_buckets(struct users *u)
{
    uint32_t nb = u->nbucket * 2;
    struct user_entry **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* longer chains, still right */
    for (uint32_t i = 0; i < u->nbucket; i++)
        for (struct user_entry *e = u->bucket[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(u->bucket);
    u->bucket = b;
    u->nbucket = nb;
}

static struct user_entry *find_or_add(struct users *u, const char *p, size_t n)
{
    uint64_t h = name_hash(p, n);
    struct user_entry *e = find(u, p, n, h);
    if (e || !(e = calloc(1, sizeof *e)))
        return e;
    e->name = rm.CreateString(u->ctx, p, n);
    e->hash = h;
    if (u->entries + 1 > u->nbucket)
        grow_buckets(u);
    e->next = u->bucket[h & (u->nbucket - 1)];
    u->bucket[h & (u->nbucket - 1)] = e;
    u->entries++;
    return e;
}

int users_attach(struct users *u, struct conn_auth *c, uint32_t ref, const char *name, size_t len,
                 const char *pass, size_t plen)
{
    struct user_entry *e = find_or_add(u, name, len);
    if (!e)
        return -1;
    if (e->n == e->cap) {
        uint32_t cap = e->cap ? 2 * e->cap : 4;
        uint32_t *p = realloc(e->conn, cap * sizeof *p);
        if (!p)
            return -1; /* an entry left empty goes at the next check */
        e->conn = p;
        e->cap = cap;
    }
    c->user = e;
    c->pos = e->n;
    e->conn[e->n++] = ref;
    e->known = 0; /* authenticated under what Redis says now, which the digest may not be */
    crypto_hash_sha256(c->pass_hash, (const unsigned char *)pass, plen);
    u->authed++;
    return 0;
}

void users_detach(struct users *u, struct conn_auth *c)
{
    struct user_entry *e = c->user;
    if (!e)
        return;
    uint32_t last = e->conn[--e->n];
    if (c->pos != e->n) { /* the last connection takes its place */
        e->conn[c->pos] = last;
        u->conn_at(u->ud, last)->pos = c->pos;
    }
    c->user = NULL;
    sodium_memzero(c->pass_hash, sizeof c->pass_hash);
    u->authed--; /* the entry, empty, goes at the next check */
}

RedisModuleString *users_name(const struct conn_auth *c)
{
    return c->user ? c->user->name : NULL;
}

/* --- checks ------------------------------------------------------------------------------ */

/* What ACL GETUSER says of a user: "flags" holds on / nopass, "passwords"
 * the SHA-256 hex of each password. A deleted user, or no answer, is off:
 * fail closed (answered 0: not to be remembered). */
struct user_state {
    int answered, on, nopass;
    uint8_t (*pass)[crypto_hash_sha256_BYTES];
    size_t npass;
};

static int elem_is(RedisModuleCallReply *r, size_t i, const char *w)
{
    size_t n;
    const char *p = rm.CallReplyStringPtr(rm.CallReplyArrayElement(r, i), &n);
    return p && n == strlen(w) && memcmp(p, w, n) == 0;
}

static void read_passwords(struct user_state *s, RedisModuleCallReply *v, size_t vn)
{
    if (vn == 0 || s->pass)
        return;
    if (!(s->pass = calloc(vn, sizeof *s->pass))) {
        s->on = s->answered = 0; /* cannot tell: fail closed */
        return;
    }
    for (size_t j = 0; j < vn; j++) {
        size_t hn, got;
        const char *h = rm.CallReplyStringPtr(rm.CallReplyArrayElement(v, j), &hn);
        if (h && sodium_hex2bin(s->pass[s->npass], crypto_hash_sha256_BYTES, h, hn, NULL, &got, NULL) == 0 &&
            got == crypto_hash_sha256_BYTES)
            s->npass++;
    }
}

static void read_user(struct users *u, struct user_state *s, RedisModuleString *name)
{
    RedisModuleCallReply *r = rm.Call(u->ctx, "ACL", "cs", "GETUSER", name);
    int type = r ? rm.CallReplyType(r) : -1;
    s->answered = type == RM_REPLY_ARRAY || type == RM_REPLY_NULL;
    size_t n = type == RM_REPLY_ARRAY ? rm.CallReplyLength(r) : 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        RedisModuleCallReply *v = rm.CallReplyArrayElement(r, i + 1);
        size_t vn = rm.CallReplyType(v) == RM_REPLY_ARRAY ? rm.CallReplyLength(v) : 0;
        for (size_t j = 0; elem_is(r, i, "flags") && j < vn; j++) {
            s->on |= elem_is(v, j, "on");
            s->nopass |= elem_is(v, j, "nopass");
        }
        if (elem_is(r, i, "passwords"))
            read_passwords(s, v, vn);
    }
    if (r)
        rm.FreeCallReply(r);
}

static void digest_of(const struct user_state *s, uint8_t out[crypto_generichash_BYTES])
{
    crypto_generichash_state st;
    uint8_t flags[2] = {(uint8_t)s->on, (uint8_t)s->nopass};
    crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
    crypto_generichash_update(&st, flags, sizeof flags);
    for (size_t i = 0; i < s->npass; i++)
        crypto_generichash_update(&st, s->pass[i], crypto_hash_sha256_BYTES);
    crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

static int still_valid(const struct user_state *s, const uint8_t hash[crypto_hash_sha256_BYTES])
{
    int known = 0;
    for (size_t i = 0; i < s->npass; i++)
        known |= sodium_memcmp(s->pass[i], hash, crypto_hash_sha256_BYTES) == 0;
    return s->on && (s->nopass || known);
}

/* Ask ACL GETUSER of e's user; look at its connections if the answer
 * changed. Returns how many were dropped. */
static uint64_t check_entry(struct users *u, struct user_entry *e)
{
    struct user_state s = {0};
    uint8_t d[crypto_generichash_BYTES];
    uint64_t dropped = 0;
    read_user(u, &s, e->name);
    digest_of(&s, d);
    u->st.users_asked++;
    if (!s.answered || !e->known || sodium_memcmp(d, e->digest, sizeof d) != 0) {
        u->st.conns_examined += e->n;
        for (uint32_t i = e->n; i-- > 0;) { /* from the end: a detach moves the last into i */
            struct conn_auth *c = u->conn_at(u->ud, e->conn[i]);
            if (!still_valid(&s, c->pass_hash)) {
                users_detach(u, c);
                dropped++;
            }
        }
        memcpy(e->digest, d, sizeof d);
        e->known = s.answered;
    }
    free(s.pass);
    return dropped;
}

/* Check every entry, or (all == 0) the marked ones; entries left without
 * connections go. */
static void check(struct users *u, int all)
{
    uint64_t dropped = 0;
    for (uint32_t b = 0; b < u->nbucket; b++)
        for (struct user_entry **pp = &u->bucket[b], *e; (e = *pp) != NULL;) {
            if ((all || e->marked) && e->n)
                dropped += check_entry(u, e);
            e->marked = 0;
            if (e->n == 0) {
                *pp = e->next;
                free_entry(u, e);
            } else {
                pp = &e->next;
            }
        }
    u->marked = 0;
    u->st.checks++;
    u->st.full_checks += all;
    u->st.dropped += dropped;
    if (dropped)
        rm.Log(u->ctx, "notice", "cxl ring: %llu ring connection(s) no longer authenticated: their user was "
               "deleted or turned off, or no longer has the password they used", (unsigned long long)dropped);
}

void users_check(struct users *u, int periodic)
{
    if (!periodic && !u->marked && !u->all_asked)
        return; /* the common case, before each ring request */
    uint64_t now = cxl_now_ns();
    int due = periodic && now - u->checked_ns >= RECHECK_NS;
    int asked = u->all_asked && now >= u->next_ok_ns;
    if (!due && !asked && !u->marked)
        return;
    check(u, due || asked);
    if (!due && !asked)
        return;
    uint64_t end = cxl_now_ns();
    u->all_asked = 0;
    u->checked_ns = end;
    u->next_ok_ns = end + 9 * (end - now);
}

int users_stats(struct users_stats *out)
{
    if (!watched)
        return -1;
    *out = watched->st;
    out->authenticated = watched->authed;
    return 0;
}

/* --- the command filter ------------------------------------------------------------------- */

static void mark(struct users *u, const char *p, size_t n)
{
    struct user_entry *e = find(u, p, n, name_hash(p, n));
    if (e && !e->marked) {
        e->marked = 1;
        u->marked++;
    }
}

static int arg_is(RedisModuleCommandFilterCtx *f, int i, const char *w)
{
    size_t n;
    const char *p = rm.StringPtrLen(rm.CommandFilterArgGet(f, i), &n);
    return name_is(p, n, w);
}

/* A renamed ACL or CONFIG is not recognized here; the check once a second
 * covers it. */
static void on_command(RedisModuleCommandFilterCtx *f)
{
    int argc = rm.CommandFilterArgsCount(f);
    if (!watched || argc < 1)
        return;
    if (argc >= 3 && arg_is(f, 0, "acl") && (arg_is(f, 1, "setuser") || arg_is(f, 1, "deluser"))) {
        for (int i = 2; i < (arg_is(f, 1, "setuser") ? 3 : argc); i++) {
            size_t n;
            const char *p = rm.StringPtrLen(rm.CommandFilterArgGet(f, i), &n);
            mark(watched, p, n);
        }
    } else if (argc >= 4 && arg_is(f, 0, "config") && arg_is(f, 1, "set")) {
        for (int i = 2; i < argc; i += 2)
            if (arg_is(f, i, "requirepass"))
                mark(watched, "default", 7);
    } else if ((argc >= 2 && arg_is(f, 0, "acl") && arg_is(f, 1, "load")) || arg_is(f, 0, "exec")) {
        watched->all_asked = 1;
    }
}

void users_watch(RedisModuleCtx *ctx)
{
    rm.RegisterCommandFilter(ctx, on_command, 0);
}
