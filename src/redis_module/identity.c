/* identity.c - who a ring request runs as (docs/SERVER.md, "Rights").
 *
 * A TCP client of Redis is a connection with a user: the default user until
 * it authenticates, refused with NOAUTH while Redis requires authentication.
 * Over the rings the same holds per *connection of a ring's client*: the
 * request's connection number (docs/KV.md, "Identity"; 0 is the ring's own,
 * a gateway numbers its clients' connections) has the user it authenticated
 * as with AUTH or HELLO ... AUTH, until RESET or until the ring is claimed
 * again (a new session forgets every connection). A connection that has not
 * authenticated runs as the ring's user - the node's user from cxl_sec_mgr
 * on a secure ring, else the module's user.N= / user= argument, naming one
 * being the operator's explicit grant - or, with none named, as Redis's
 * default user, and then only if Redis does not require authentication.
 *
 * A connection stays authenticated while Redis would accept its AUTH again
 * (users.c says when and how that is checked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sec/sec.h"
#include "module.h"

static const char NOAUTH_TEXT[] = "NOAUTH Authentication required.";
static const char HELLO_NOAUTH[] = "NOAUTH HELLO must be called with the client already authenticated, "
                                   "otherwise the HELLO AUTH <user> <pass> option can be used to authenticate "
                                   "the client and select the RESP protocol version at the same time";
static const char WRONGPASS[] = "WRONGPASS invalid username-password pair or user is disabled.";
static const char NO_ACL[] = "ERR AUTH over the ring is not available: the ACL command is renamed or removed, "
                             "and the module needs ACL GETUSER to keep checking a connection's user; name the "
                             "ring's user with the module's user.N= instead";

struct ring_ident {
    uint32_t session;
    uint16_t node;                 /* the claimant's node: a new session if it changes */
    int known;                     /* session seen */
    struct conn_auth *conn;        /* [conn_len] */
    uint32_t conn_len;             /* grown to the highest connection that authenticated */
    /* secure ring: the claimant node's user from cxl_sec_mgr, as of a keyring version */
    RedisModuleString *node_user;
    uint16_t nu_node;
    uint64_t nu_version;
    int nu_known;
};

struct identity {
    RedisModuleCtx *ctx;
    uint32_t rings, conn_cap;      /* connections per ring: max_conns + 1 (0: the ring's own) */
    RedisModuleString **ring_user; /* [rings]: the ring's configured user, or NULL */
    RedisModuleString *default_user;
    struct cxl_keyring *keys;      /* secure mode: nodes' users come from cxl_sec_mgr */
    struct ring_ident *r;
    struct users *users;           /* the connections that authenticated, by user */
};

static struct conn_auth *conn_at(void *ud, uint32_t ref)
{
    struct identity *id = ud;
    return &id->r[ref >> 16].conn[ref & 0xffff];
}

struct identity *identity_create(RedisModuleCtx *ctx, const struct module_config *c, uint32_t rings,
                                 struct cxl_keyring *keys)
{
    struct identity *id = calloc(1, sizeof *id);
    if (!id || !(id->r = calloc(rings, sizeof *id->r)) || !(id->ring_user = calloc(rings, sizeof *id->ring_user)) ||
        !(id->users = users_create(ctx, conn_at, id))) {
        identity_destroy(id);
        return NULL;
    }
    id->ctx = ctx;
    id->rings = rings;
    id->keys = c->secure ? keys : NULL;
    id->conn_cap = c->max_conns + 1;
    id->default_user = rm.CreateString(ctx, "default", 7);
    for (uint32_t i = 0; i < rings; i++) {
        const char *u = i < CXL_MAX_RINGS && c->ring_user[i][0] ? c->ring_user[i] : c->user;
        if (*u)
            id->ring_user[i] = rm.CreateString(ctx, u, strlen(u));
    }
    return id;
}

static void forget_conns(struct identity *id, struct ring_ident *r)
{
    for (uint32_t c = 0; c < r->conn_len; c++)
        users_detach(id->users, &r->conn[c]);
    free(r->conn);
    r->conn = NULL;
    r->conn_len = 0;
}

void identity_destroy(struct identity *id)
{
    if (!id)
        return;
    for (uint32_t i = 0; id->r && i < id->rings; i++) {
        forget_conns(id, &id->r[i]);
        if (id->r[i].node_user)
            rm.FreeString(id->ctx, id->r[i].node_user);
    }
    for (uint32_t i = 0; id->ring_user && i < id->rings; i++)
        if (id->ring_user[i])
            rm.FreeString(id->ctx, id->ring_user[i]);
    if (id->default_user)
        rm.FreeString(id->ctx, id->default_user);
    users_destroy(id->users);
    free(id->r);
    free(id->ring_user);
    free(id);
}

/* A new claim of the ring is a new client: its connections start afresh. */
static struct ring_ident *ring_of(struct identity *id, const struct cxl_kv_request *req)
{
    struct ring_ident *r = &id->r[req->ring];
    if (!r->known || r->session != req->session || r->node != req->node) {
        forget_conns(id, r);
        r->session = req->session;
        r->node = req->node;
        r->known = 1;
    }
    return r;
}

/* The Redis user cxl_sec_mgr names for the request's node (its keys opened
 * the request: the node is authenticated), or NULL. Looked up again when
 * the node or the keyring changes. */
static RedisModuleString *node_user(struct identity *id, struct ring_ident *r, const struct cxl_kv_request *req)
{
    if (!id->keys)
        return NULL;
    uint64_t v = cxl_keyring_version(id->keys);
    if (r->nu_known && r->nu_node == req->node && r->nu_version == v)
        return r->node_user;
    char name[CXL_SEC_USER_MAX + 1];
    if (r->node_user)
        rm.FreeString(id->ctx, r->node_user);
    r->node_user = NULL;
    if (cxl_keyring_client(id->keys, req->ring, req->node, name, sizeof name) == 1 && name[0])
        r->node_user = rm.CreateString(id->ctx, name, strlen(name));
    r->nu_node = req->node;
    r->nu_version = v;
    r->nu_known = 1;
    return r->node_user;
}

int identity_who(struct identity *id, const struct cxl_kv_request *req, RedisModuleString **user)
{
    struct ring_ident *r = ring_of(id, req);
    if (req->conn < r->conn_len && (*user = users_name(&r->conn[req->conn])) != NULL)
        return 1;
    if ((*user = node_user(id, r, req)) != NULL)
        return 1;
    if (id->ring_user[req->ring]) {
        *user = id->ring_user[req->ring];
        return 1;
    }
    *user = id->default_user;
    return !access_state.auth_required;
}

const char *identity_noauth_text(void)
{
    return NOAUTH_TEXT;
}

/* --- AUTH, HELLO, RESET ------------------------------------------------------------ */

/* The connection is now user name (NULL: none), who proved password pass. */
static int set_conn_user(struct identity *id, const struct cxl_kv_request *req, const char *name, size_t len,
                         const char *pass, size_t plen)
{
    struct ring_ident *r = ring_of(id, req);
    if (req->conn >= id->conn_cap)
        return -1;
    if (req->conn >= r->conn_len) { /* grow to the connection (in steps of 64) */
        if (!name)
            return 0; /* RESET of a connection that never authenticated */
        uint32_t n = (req->conn | 63u) + 1;
        struct conn_auth *p = realloc(r->conn, n * sizeof *p);
        if (!p)
            return -1;
        memset(p + r->conn_len, 0, (n - r->conn_len) * sizeof *p);
        r->conn = p;
        r->conn_len = n;
    }
    struct conn_auth *c = &r->conn[req->conn];
    users_detach(id->users, c);
    return name ? users_attach(id->users, c, (uint32_t)req->ring << 16 | req->conn, name, len, pass, plen) : 0;
}

static void reply_error(struct cxl_kv_reply *rp, const char *text)
{
    cxl_kv_reply_error(rp, "%s", text);
}

static void reply_raw(struct cxl_kv_reply *rp, const char *resp)
{
    cxl_kv_reply(rp, CXL_KV_REPLY, resp, (uint32_t)strlen(resp));
}

/* Check user/password with Redis's own AUTH (on a temporary client: it
 * changes nothing here). 1 = good, 0 = refused (*reply holds Redis's
 * answer, to be freed), -1 = could not ask. */
static int check_password(struct identity *id, const char *user, size_t ulen, const char *pass, size_t plen,
                          RedisModuleCallReply **reply)
{
    *reply = user ? rm.Call(id->ctx, "AUTH", "bb", user, ulen, pass, plen)
                  : rm.Call(id->ctx, "AUTH", "b", pass, plen);
    if (!*reply)
        return -1;
    size_t n;
    const char *p = rm.CallReplyProto(*reply, &n);
    return p && n >= 3 && memcmp(p, "+OK", 3) == 0;
}

static void cmd_auth(struct identity *id, const struct cxl_kv_request *req, const struct cmd_args *a,
                     struct cxl_kv_reply *rp)
{
    if (a->argc < 2 || a->argc > 3) {
        reply_error(rp, a->argc < 2 ? "ERR wrong number of arguments for 'auth' command" : "ERR syntax error");
        return;
    }
    if (!names_acl_available()) {
        reply_error(rp, NO_ACL);
        return;
    }
    const char *user = a->argc == 3 ? a->ptr[1] : NULL;
    size_t ulen = a->argc == 3 ? a->len[1] : 0;
    RedisModuleCallReply *reply;
    int ok = check_password(id, user, ulen, a->ptr[a->argc - 1], a->len[a->argc - 1], &reply);
    if (ok == 1 && set_conn_user(id, req, user ? user : "default", user ? ulen : 7, a->ptr[a->argc - 1],
                                 a->len[a->argc - 1]) != 0) {
        cxl_kv_reply_error(rp, "ERR connection %u of this ring is past the module's max_conns", req->conn);
    } else if (ok >= 0) {
        size_t n;
        const char *p = rm.CallReplyProto(reply, &n);
        cxl_kv_reply(rp, CXL_KV_REPLY, p, (uint32_t)n); /* +OK, WRONGPASS, or Redis's other text */
    } else {
        reply_error(rp, "ERR AUTH could not be checked");
    }
    if (reply)
        rm.FreeCallReply(reply);
}

static void cmd_reset(struct identity *id, const struct cxl_kv_request *req, struct cxl_kv_reply *rp)
{
    set_conn_user(id, req, NULL, 0, NULL, 0);
    reply_raw(rp, "+RESET\r\n");
}

/* The map HELLO answers (RESP2: a flat array), as Redis builds it. */
static void hello_reply(struct identity *id, const struct cxl_kv_request *req, struct cxl_kv_reply *rp)
{
    int v = rm.GetServerVersion(), flags = rm.GetContextFlags(id->ctx);
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    const char *mode = (flags & RM_CTX_FLAGS_CLUSTER) ? "cluster" : "standalone";
    const char *role = (flags & RM_CTX_FLAGS_SLAVE) ? "replica" : "master";
    unsigned long long client_id = 1 + (unsigned long long)req->ring * 65536u + req->conn;
    RedisModuleCallReply *mods = rm.Call(id->ctx, "MODULE", "c", "LIST");
    size_t mlen = 0;
    const char *mproto = mods ? rm.CallReplyProto(mods, &mlen) : NULL;
    if (!mproto)
        mproto = "*0\r\n", mlen = 4;
    char head[400];
    int n = snprintf(head, sizeof head,
                     "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$%zu\r\n%s\r\n$5\r\nproto\r\n:2\r\n"
                     "$2\r\nid\r\n:%llu\r\n$4\r\nmode\r\n$%zu\r\n%s\r\n$4\r\nrole\r\n$%zu\r\n%s\r\n$7\r\nmodules\r\n",
                     strlen(version), version, client_id, strlen(mode), mode, strlen(role), role);
    char *out = malloc((size_t)n + mlen);
    if (out) {
        memcpy(out, head, (size_t)n);
        memcpy(out + n, mproto, mlen);
        cxl_kv_reply(rp, CXL_KV_REPLY, out, (uint32_t)((size_t)n + mlen));
        free(out);
    } else {
        reply_error(rp, "ERR out of memory");
    }
    if (mods)
        rm.FreeCallReply(mods);
}

/* An option (matched as Redis does, up to a NUL) */
static int word_is(const struct cmd_args *a, uint32_t i, const char *w)
{
    return name_is(a->ptr[i], a->len[i], w);
}

/* The command's name, exactly: one with a NUL is refused whole (exec.c) */
static int command_is(const struct cmd_args *a, const char *w)
{
    return a->len[0] == strlen(w) && strncasecmp(a->ptr[0], w, a->len[0]) == 0;
}

/* HELLO [protover [AUTH user pass] [SETNAME name]], checked in Redis's
 * order (version, options, authentication); RESP3 is then refused. */
static void cmd_hello(struct identity *id, const struct cxl_kv_request *req, const struct cmd_args *a,
                      struct cxl_kv_reply *rp)
{
    long long v = 2;
    if (a->argc >= 2) {
        char ver[24];
        char *end;
        size_t n = a->len[1] < sizeof ver - 1 ? a->len[1] : sizeof ver - 1;
        memcpy(ver, a->ptr[1], n);
        ver[n] = '\0';
        v = strtoll(ver, &end, 10);
        if (n == 0 || *end || n != a->len[1]) {
            reply_error(rp, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (v < 2 || v > 3) {
            reply_error(rp, "NOPROTO unsupported protocol version");
            return;
        }
    }
    for (uint32_t j = 2; j < a->argc; j++) {
        uint32_t more = a->argc - 1 - j;
        if (word_is(a, j, "AUTH") && more >= 2 && !names_acl_available()) {
            reply_error(rp, NO_ACL);
            return;
        } else if (word_is(a, j, "AUTH") && more >= 2) {
            RedisModuleCallReply *reply;
            int ok = check_password(id, a->ptr[j + 1], a->len[j + 1], a->ptr[j + 2], a->len[j + 2], &reply);
            if (reply)
                rm.FreeCallReply(reply);
            if (ok != 1 || set_conn_user(id, req, a->ptr[j + 1], a->len[j + 1], a->ptr[j + 2], a->len[j + 2]) != 0) {
                reply_error(rp, WRONGPASS);
                return;
            }
            j += 2;
        } else if (word_is(a, j, "SETNAME") && more >= 1) {
            for (size_t k = 0; k < a->len[j + 1]; k++)
                if (a->ptr[j + 1][k] < '!' || a->ptr[j + 1][k] > '~') {
                    reply_error(rp, "ERR Client names cannot contain spaces, newlines or special characters.");
                    return;
                }
            j++;
        } else {
            cxl_kv_reply_error(rp, "ERR Syntax error in HELLO option '%.*s'", (int)(a->len[j] > 64 ? 64 : a->len[j]),
                               a->ptr[j]);
            return;
        }
    }
    RedisModuleString *user;
    if (!identity_who(id, req, &user))
        reply_error(rp, HELLO_NOAUTH);
    else if (v == 3)
        reply_error(rp, "NOPROTO unsupported protocol version (the cxl ring speaks RESP2 only)");
    else
        hello_reply(id, req, rp);
}

int identity_command(struct identity *id, const struct cxl_kv_request *req, const struct cmd_args *a,
                     struct cxl_kv_reply *rp)
{
    if (command_is(a, "AUTH"))
        cmd_auth(id, req, a, rp);
    else if (command_is(a, "HELLO"))
        cmd_hello(id, req, a, rp);
    else if (command_is(a, "RESET") && a->argc == 1)
        cmd_reset(id, req, rp);
    else
        return 0;
    return 1;
}

void identity_recheck(struct identity *id, int periodic)
{
    users_check(id->users, periodic);
}
