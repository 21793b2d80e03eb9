/* exec.c - run ring requests inside Redis, as the Redis user the request's
 * connection runs as (identity.c) and after the checks Redis would make for
 * a TCP client (access.c). GET/SET/DEL use the low-level key API (no command
 * parsing, no reply encoding); CMD runs any command through RedisModule_Call
 * with ACL checks as that user and returns Redis's own RESP bytes. All of it
 * runs with Redis's lock held (thread driver) or on Redis's main thread
 * (event-loop driver), never concurrently with Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "module.h"

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define NO_TRANSACTION                                                                                  \
    "ERR MULTI and WATCH cannot run over the ring: each request runs on its own (a transaction needs a " \
    "connection of its own: use TCP)"
#define MAX_NAME 64      /* longest command name */
#define CALL_B_MAX 16    /* arguments passed as C buffers (see call_command) */

struct executor {
    RedisModuleCtx *ctx; /* detached thread-safe context: our fake client */
    int take_lock;
    int wake_fd;         /* take_lock: an eventfd in Redis's event loop (see unlock) */
    int wrote;           /* this batch ran a write (or any command: it may have written) */
    struct identity *id;
    const char **arg_ptr; /* the current CMD's arguments (pointers into the request) */
    size_t *arg_len;
    uint32_t arg_cap;
};

static void lock(void *ud)
{
    struct executor *e = ud;
    rm.ThreadSafeContextLock(e->ctx);
}

/* Redis sends what a write propagates (to replicas, the AOF) from its main
 * thread's before-sleep; asleep in epoll (up to 1/hz s) it would hold an
 * acknowledged ring write back that long - lost if the master died
 * meanwhile. After a batch that wrote, the eventfd wakes it (when there is
 * an AOF or a replica, as access.c reads once a second). */
static void unlock(void *ud)
{
    struct executor *e = ud;
    rm.ThreadSafeContextUnlock(e->ctx);
    if (e->wrote && e->wake_fd >= 0 && access_state.propagates) {
        uint64_t one = 1;
        if (write(e->wake_fd, &one, sizeof one) < 0) { /* full (EAGAIN): a wake-up is pending anyway */
        }
    }
    e->wrote = 0;
}

static void drain_wake(int fd, void *user_data, int mask)
{
    (void)user_data, (void)mask;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0) { /* EAGAIN: drained already */
    }
}

static int open_wake_fd(struct executor *e, char *err, size_t cap)
{
    e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->wake_fd < 0 || rm.EventLoopAdd(e->wake_fd, RM_EVENTLOOP_READABLE, drain_wake, NULL) != RM_OK) {
        snprintf(err, cap, "cannot add the wake-up eventfd to Redis's event loop");
        return -1;
    }
    return 0;
}

/* --- fast paths ------------------------------------------------------------------ */

static void exec_get(struct executor *e, RedisModuleString *name, struct cxl_kv_reply *rp)
{
    RedisModuleKey *k = rm.OpenKey(e->ctx, name, RM_READ);
    int type = rm.KeyType(k);
    if (type == RM_KEYTYPE_EMPTY) {
        cxl_kv_reply(rp, CXL_KV_NIL, "", 0);
    } else if (type == RM_KEYTYPE_STRING) {
        size_t len;
        const char *v = rm.StringDMA(k, &len, RM_READ);
        if (v && len <= UINT32_MAX)
            cxl_kv_reply(rp, CXL_KV_OK, v, (uint32_t)len);
        else
            cxl_kv_reply_error(rp, "ERR cannot read the value");
    } else {
        cxl_kv_reply_error(rp, WRONGTYPE);
    }
    rm.CloseKey(k);
}

/* The value written straight into the key's string: StringTruncate creates
 * a missing key at the right size or resizes an existing string in place,
 * then DMA: no value object to allocate, no delete and re-add of the key.
 * A key of another type is replaced through StringSet. Either way, as SET
 * does, an old expiry goes away. */
static int set_value(struct executor *e, RedisModuleKey *k, const struct cxl_kv_request *r)
{
    int type = rm.KeyType(k);
    /* (StringTruncate does not create a key of length 0: StringSet does) */
    if (type == RM_KEYTYPE_STRING || (type == RM_KEYTYPE_EMPTY && r->vlen > 0)) {
        if (type == RM_KEYTYPE_STRING && rm.GetExpire(k) != RM_NO_EXPIRE)
            rm.SetExpire(k, RM_NO_EXPIRE);
        size_t len;
        char *p = rm.StringTruncate(k, r->vlen) == RM_OK ? rm.StringDMA(k, &len, RM_WRITE) : NULL;
        if (!p || len != r->vlen)
            return -1;
        memcpy(p, r->val, r->vlen);
        return 0;
    }
    RedisModuleString *val = rm.CreateString(e->ctx, (const char *)r->val, r->vlen);
    int rc = rm.StringSet(k, val) == RM_OK ? 0 : -1;
    rm.FreeString(e->ctx, val); /* the keyspace holds its own reference */
    return rc;
}

/* A write of the key API reaches the replicas and the AOF only if the module
 * says it: as SET and DEL, the expiry as an absolute time (PXAT), as Redis
 * propagates SET ... PX itself. Redis sends what accumulated when its lock
 * is released (the thread driver) or the event callback returns (eventloop);
 * several writes of one batch go as one MULTI/EXEC. */
static void replicate_set(struct executor *e, RedisModuleString *name, const struct cxl_kv_request *r,
                          int with_expiry)
{
    if (with_expiry)
        rm.Replicate(e->ctx, "SET", "sbcl", name, (const char *)r->val, (size_t)r->vlen, "PXAT",
                     rm.Milliseconds() + (long long)r->expire_ms);
    else
        rm.Replicate(e->ctx, "SET", "sb", name, (const char *)r->val, (size_t)r->vlen);
}

static void exec_set(struct executor *e, RedisModuleString *name, const struct cxl_kv_request *r,
                     struct cxl_kv_reply *rp)
{
    RedisModuleKey *k = rm.OpenKey(e->ctx, name, RM_READ | RM_WRITE);
    if (set_value(e, k, r) != 0) {
        cxl_kv_reply_error(rp, "ERR SET failed");
    } else if (r->expire_ms && rm.SetExpire(k, (long long)r->expire_ms) != RM_OK) {
        replicate_set(e, name, r, 0); /* the value is written: the replicas get it too */
        cxl_kv_reply_error(rp, "ERR SET: cannot set the expiry");
    } else {
        replicate_set(e, name, r, r->expire_ms != 0);
        cxl_kv_reply(rp, CXL_KV_OK, "", 0);
    }
    e->wrote = 1;
    rm.CloseKey(k);
}

static void exec_del(struct executor *e, RedisModuleString *name, struct cxl_kv_reply *rp)
{
    RedisModuleKey *k = rm.OpenKey(e->ctx, name, RM_READ | RM_WRITE);
    int existed = rm.KeyType(k) != RM_KEYTYPE_EMPTY;
    if (existed) {
        rm.DeleteKey(k);
        rm.Replicate(e->ctx, "DEL", "s", name);
        e->wrote = 1;
    }
    cxl_kv_reply_int(rp, existed);
    rm.CloseKey(k);
}

static void exec_key_op(struct executor *e, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    RedisModuleString *user;
    if (!identity_who(e->id, r, &user)) {
        cxl_kv_reply_error(rp, "%s", identity_noauth_text());
        return;
    }
    char text[400]; /* a MOVED names a host of up to 255 bytes */
    RedisModuleString *name = rm.CreateString(e->ctx, (const char *)r->key, r->klen);
    /* in processCommand's order: ACL, the cluster's slots, then the server's state */
    const char *refused = access_fast_acl(e->ctx, user, r->op, name, text, sizeof text);
    if (!refused && cluster_enabled())
        refused = cluster_check_key(e->ctx, r, name, text, sizeof text);
    if (!refused)
        refused = access_fast_state(r->op);
    if (refused)
        cxl_kv_reply_error(rp, "%s", refused);
    else if (r->op == CXL_KV_GET)
        exec_get(e, name, rp);
    else if (r->op == CXL_KV_SET)
        exec_set(e, name, r, rp);
    else
        exec_del(e, name, rp);
    rm.FreeString(e->ctx, name);
}

/* --- any command ------------------------------------------------------------------ */

/* The request's arguments as pointers and lengths (into the request). */
static int split_args(struct executor *e, const struct cxl_kv_request *r, struct cmd_args *a)
{
    if (r->argc > e->arg_cap) {
        const char **p = realloc(e->arg_ptr, r->argc * sizeof *p);
        if (p)
            e->arg_ptr = p;
        size_t *l = p ? realloc(e->arg_len, r->argc * sizeof *l) : NULL;
        if (!l)
            return cxl_fail(CXL_ESYS, "out of memory for %u arguments", r->argc);
        e->arg_len = l;
        e->arg_cap = r->argc;
    }
    struct cxl_kv_args it;
    cxl_kv_args_init(&it, r);
    const uint8_t *arg;
    uint32_t n = 0, len;
    int rc;
    while ((rc = cxl_kv_args_next(&it, &arg, &len)) == 1 && n < r->argc) {
        e->arg_ptr[n] = (const char *)arg;
        e->arg_len[n++] = len;
    }
    if (rc < 0)
        return rc;
    if (n != r->argc)
        return cxl_fail(CXL_EPROTO, "argument count changed");
    *a = (struct cmd_args){.argc = n, .ptr = e->arg_ptr, .len = e->arg_len};
    return 0;
}

/* RedisModule_Call with the arguments as C buffers ('b'): Redis makes its
 * own string objects of them, which commands may then encode compactly
 * (SET k 1 stores an integer, as over TCP); strings passed as objects ('v')
 * are shared with us and stay raw. Up to CALL_B_MAX arguments; more go as
 * objects. */
#define B1 p[0], l[0]
#define B2 B1, p[1], l[1]
#define B3 B2, p[2], l[2]
#define B4 B3, p[3], l[3]
#define B5 B4, p[4], l[4]
#define B6 B5, p[5], l[5]
#define B7 B6, p[6], l[6]
#define B8 B7, p[7], l[7]
#define B9 B8, p[8], l[8]
#define B10 B9, p[9], l[9]
#define B11 B10, p[10], l[10]
#define B12 B11, p[11], l[11]
#define B13 B12, p[12], l[12]
#define B14 B13, p[13], l[13]
#define B15 B14, p[14], l[14]
#define B16 B15, p[15], l[15]

static RedisModuleCallReply *call_objects(RedisModuleCtx *ctx, const char *name, const char *flags,
                                          const struct cmd_args *a)
{
    uint32_t n = a->argc - 1;
    RedisModuleString **v = malloc(n * sizeof *v);
    if (!v)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        v[i] = rm.CreateString(ctx, a->ptr[i + 1], a->len[i + 1]);
    char fmt[16];
    snprintf(fmt, sizeof fmt, "%sv", flags);
    RedisModuleCallReply *reply = rm.Call(ctx, name, fmt, v, (size_t)n);
    for (uint32_t i = 0; i < n; i++)
        rm.FreeString(ctx, v[i]);
    free(v);
    return reply;
}

static RedisModuleCallReply *call_command(RedisModuleCtx *ctx, const char *name, const char *flags,
                                          const struct cmd_args *a)
{
    uint32_t n = a->argc - 1;
    if (n > CALL_B_MAX)
        return call_objects(ctx, name, flags, a);
    char fmt[16 + CALL_B_MAX];
    size_t nf = strlen(flags);
    memcpy(fmt, flags, nf);
    memset(fmt + nf, 'b', n);
    fmt[nf + n] = '\0';
    const char *const *p = a->ptr + 1;
    const size_t *l = a->len + 1;
    switch (n) {
    case 0: return rm.Call(ctx, name, fmt);
    case 1: return rm.Call(ctx, name, fmt, B1);
    case 2: return rm.Call(ctx, name, fmt, B2);
    case 3: return rm.Call(ctx, name, fmt, B3);
    case 4: return rm.Call(ctx, name, fmt, B4);
    case 5: return rm.Call(ctx, name, fmt, B5);
    case 6: return rm.Call(ctx, name, fmt, B6);
    case 7: return rm.Call(ctx, name, fmt, B7);
    case 8: return rm.Call(ctx, name, fmt, B8);
    case 9: return rm.Call(ctx, name, fmt, B9);
    case 10: return rm.Call(ctx, name, fmt, B10);
    case 11: return rm.Call(ctx, name, fmt, B11);
    case 12: return rm.Call(ctx, name, fmt, B12);
    case 13: return rm.Call(ctx, name, fmt, B13);
    case 14: return rm.Call(ctx, name, fmt, B14);
    case 15: return rm.Call(ctx, name, fmt, B15);
    default: return rm.Call(ctx, name, fmt, B16);
    }
}

/* Redis's reply, or the refusal RedisModule_Call made in Redis's TCP words. */
static const char *error_refusal(struct executor *e, const char *proto, size_t plen,
                                 RedisModuleString *user, const struct cmd_args *a, char *text, size_t cap)
{
    const char *c = cluster_enabled() ? cluster_call_refusal(e->ctx, a, proto, plen, text, cap) : NULL;
    return c ? c : access_call_refusal(e->ctx, proto, plen, user, a, text, cap);
}

static void reply_with(struct executor *e, RedisModuleCallReply *reply,
                       RedisModuleString *user, const struct cmd_args *a, struct cxl_kv_reply *rp)
{
    size_t plen = 0;
    const char *proto = reply ? rm.CallReplyProto(reply, &plen) : NULL;
    char text[400];
    const char *refusal = !proto || !plen   ? NULL
                          : proto[0] == '-' ? error_refusal(e, proto, plen, user, a, text, sizeof text)
                                            : access_blocking_refusal(a, proto, plen, text, sizeof text);
    if (refusal)
        cxl_kv_reply_error(rp, "%s", refusal);
    else if (proto && plen <= UINT32_MAX)
        cxl_kv_reply(rp, CXL_KV_REPLY, proto, (uint32_t)plen);
    else
        cxl_kv_reply_error(rp, "ERR command '%.*s' could not be run", (int)(a->len[0] < 60 ? a->len[0] : 60),
                           a->ptr[0]);
}

/* Any command, as user: '!' propagate to AOF/replicas like a client command,
 * 'E' errors as replies, 'C' ACL checks as the context's user, 'M' deny-oom
 * when maxmemory has no eviction policy, 'W' no writes on a read-only
 * replica. */
static void run_as(struct executor *e, const char *name, RedisModuleString *user,
                   const struct cmd_args *a, struct cxl_kv_reply *rp)
{
    size_t ulen;
    const char *u = rm.StringPtrLen(user, &ulen);
    char text[200];
    if (rm.AuthenticateClientWithACLUser(e->ctx, u, ulen, NULL, NULL, NULL) != RM_OK) {
        cxl_kv_reply_error(rp, "%s", access_no_user(user, text, sizeof text));
        return;
    }
    char flags[8] = "!EC";
    if (access_state.deny_oom)
        strcat(flags, "M");
    if (access_state.readonly_replica)
        strcat(flags, "W");
    access_forget_users(); /* the command may change the ACL */
    RedisModuleCallReply *reply = call_command(e->ctx, name, flags, a);
    reply_with(e, reply, user, a, rp);
    if (reply)
        rm.FreeCallReply(reply);
    /* the command may have deleted the user: never keep pointing at it */
    rm.AuthenticateClientWithACLUser(e->ctx, "default", 7, NULL, NULL, NULL);
}

static void exec_cmd(struct executor *e, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    struct cmd_args a;
    if (split_args(e, r, &a) != 0) {
        cxl_kv_reply_error(rp, "ERR protocol: %s", cxl_last_error());
        return;
    }
    if (cluster_enabled() && a.argc == 1 && name_is(a.ptr[0], a.len[0], "reset"))
        cluster_session_reset(r);
    if (identity_command(e->id, r, &a, rp)) /* AUTH, HELLO, RESET */
        return;
    char name[MAX_NAME];
    if (a.len[0] == 0 || a.len[0] >= sizeof name || memchr(a.ptr[0], '\0', a.len[0])) {
        cxl_kv_reply_error(rp, "ERR unknown command '%.*s'", (int)(a.len[0] < 60 ? a.len[0] : 60), a.ptr[0]);
        return;
    }
    memcpy(name, a.ptr[0], a.len[0]);
    name[a.len[0]] = '\0';
    RedisModuleString *user;
    char text[400], original[MAX_NAME];
    size_t olen;
    const char *oname = names_resolve(e->ctx, a.ptr[0], a.len[0], original, sizeof original, &olen);
    const char *oom, *cluster_answer;
    if (!identity_who(e->id, r, &user))
        cxl_kv_reply_error(rp, "%s", identity_noauth_text());
    else if (cluster_enabled() && cluster_session_command(r, &a, rp)) /* ASKING, READONLY, READWRITE */
        return;
    else if (access_protected(oname, olen, &a, text, sizeof text))
        cxl_kv_reply_error(rp, "%s", text);
    else if (name_is(oname, olen, "multi") || name_is(oname, olen, "watch"))
        cxl_kv_reply_error(rp, "%s", NO_TRANSACTION);
    else if (cluster_enabled() &&
             (access_state.readonly_replica || (access_state.deny_oom && rm.GetUsedMemoryRatio() > 1.0f)) &&
             (cluster_answer = cluster_check_command(e->ctx, &a, text, sizeof text)) != NULL)
        cxl_kv_reply_error(rp, "%s", cluster_answer); /* slots before the replica's and OOM refusals */
    else if ((oom = access_script_oom(oname, olen, &a)) != NULL)
        cxl_kv_reply_error(rp, "%s", oom);
    else {
        run_as(e, name, user, &a, rp);
        e->wrote = 1; /* any command may write */
    }
    identity_recheck(e->id, 0); /* it may have changed a user the next request runs as */
}

/* A pass starts: Redis's own clients may have run since the last one.
 * While Redis pauses its clients (CLIENT PAUSE, a manual CLUSTER FAILOVER)
 * nothing is served: a TCP client's commands wait too, and what a write
 * would propagate must not be sent now (Redis asserts it is not). Reads wait
 * as well: the ring does not know a request's kind before it is run. */
static int begin_pass(void *ud)
{
    struct executor *e = ud;
    if (rm.AvoidReplicaTraffic())
        return 1;
    access_forget_users();
    access_refresh(e->ctx, 0);
    cluster_pass(e->ctx);
    identity_recheck(e->id, 1);
    return 0;
}

static void execute(void *ud, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    struct executor *e = ud;
    if (cluster_enabled())
        cluster_request_begin(r);
    switch (r->op) {
    case CXL_KV_GET:
    case CXL_KV_SET:
    case CXL_KV_DEL: exec_key_op(e, r, rp); break;
    case CXL_KV_CMD: exec_cmd(e, r, rp); break;
    default: cxl_kv_reply_error(rp, "ERR unknown op %u", r->op); break;
    }
}

struct executor *executor_create(RedisModuleCtx *load_ctx, int take_lock, const struct module_config *c,
                                 uint32_t rings, struct cxl_keyring *keys, char *err, size_t cap)
{
    snprintf(err, cap, "out of memory");
    struct executor *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->ctx = rm.GetDetachedThreadSafeContext(load_ctx);
    e->take_lock = take_lock;
    e->wake_fd = -1;
    if (take_lock && open_wake_fd(e, err, cap) != 0) {
        executor_destroy(e);
        return NULL;
    }
    e->id = identity_create(e->ctx, c, rings, keys);
    if (!e->id) {
        executor_destroy(e);
        return NULL;
    }
    if (access_init(e->ctx, err, cap) != 0) {
        executor_destroy(e);
        return NULL;
    }
    return e;
}

void executor_destroy(struct executor *e)
{
    if (!e)
        return;
    if (e->wake_fd >= 0) {
        rm.EventLoopDel(e->wake_fd, RM_EVENTLOOP_READABLE);
        close(e->wake_fd);
    }
    identity_destroy(e->id);
    access_fini(e->ctx);
    rm.FreeThreadSafeContext(e->ctx);
    free(e->arg_ptr);
    free(e->arg_len);
    free(e);
}

struct cxl_kv_executor executor_callbacks(struct executor *e)
{
    return (struct cxl_kv_executor){
        .ud = e,
        .begin = e->take_lock ? lock : NULL,
        .end = e->take_lock ? unlock : NULL,
        .execute = execute,
        .pass = begin_pass,
    };
}
