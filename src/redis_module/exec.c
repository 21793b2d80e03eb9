/* exec.c - run ring requests inside Redis. GET/SET/DEL use the low-level key
 * API (no command parsing, no reply encoding); CMD runs any command through
 * RedisModule_Call and returns Redis's own RESP bytes. All of it runs with
 * Redis's lock held (thread driver) or on Redis's main thread (event-loop
 * driver), never concurrently with Redis. */
#include <stdlib.h>
#include <string.h>

#include "module.h"

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define MAX_STACK_ARGS 64

struct executor {
    RedisModuleCtx *ctx; /* detached thread-safe context: our fake client */
    int take_lock;
};

static void lock(void *ud)
{
    struct executor *e = ud;
    rm.ThreadSafeContextLock(e->ctx);
}

static void unlock(void *ud)
{
    struct executor *e = ud;
    rm.ThreadSafeContextUnlock(e->ctx);
}

static void exec_get(struct executor *e, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    RedisModuleString *name = rm.CreateString(e->ctx, (const char *)r->key, r->klen);
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
    rm.FreeString(e->ctx, name);
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

static void exec_set(struct executor *e, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    RedisModuleString *name = rm.CreateString(e->ctx, (const char *)r->key, r->klen);
    RedisModuleKey *k = rm.OpenKey(e->ctx, name, RM_READ | RM_WRITE);
    if (set_value(e, k, r) != 0)
        cxl_kv_reply_error(rp, "ERR SET failed");
    else if (r->expire_ms && rm.SetExpire(k, (long long)r->expire_ms) != RM_OK)
        cxl_kv_reply_error(rp, "ERR SET: cannot set the expiry");
    else
        cxl_kv_reply(rp, CXL_KV_OK, "", 0);
    rm.CloseKey(k);
    rm.FreeString(e->ctx, name);
}

static void exec_del(struct executor *e, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    RedisModuleString *name = rm.CreateString(e->ctx, (const char *)r->key, r->klen);
    RedisModuleKey *k = rm.OpenKey(e->ctx, name, RM_READ | RM_WRITE);
    int existed = rm.KeyType(k) != RM_KEYTYPE_EMPTY;
    if (existed)
        rm.DeleteKey(k);
    cxl_kv_reply_int(rp, existed);
    rm.CloseKey(k);
    rm.FreeString(e->ctx, name);
}

/* Any command: argv[0] is the name; flags: '!' propagate to AOF/replicas like
 * a client command, 'E' return errors as replies, 'v' an argv array. */
static void exec_cmd(struct executor *e, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    RedisModuleString *stack[MAX_STACK_ARGS];
    RedisModuleString **argv = r->argc <= MAX_STACK_ARGS ? stack : malloc(r->argc * sizeof *argv);
    if (!argv) {
        cxl_kv_reply_error(rp, "ERR out of memory for %u arguments", r->argc);
        return;
    }
    char name[64];
    struct cxl_kv_args it;
    cxl_kv_args_init(&it, r);
    uint32_t n = 0, len;
    const uint8_t *arg;
    int rc;
    while ((rc = cxl_kv_args_next(&it, &arg, &len)) == 1)
        argv[n++] = rm.CreateString(e->ctx, (const char *)arg, len);
    if (rc < 0 || n != r->argc) {
        cxl_kv_reply_error(rp, "ERR protocol: %s", rc < 0 ? cxl_last_error() : "argument count changed");
    } else {
        size_t nlen;
        const char *p = rm.StringPtrLen(argv[0], &nlen);
        if (nlen == 0 || nlen >= sizeof name || memchr(p, '\0', nlen)) {
            cxl_kv_reply_error(rp, "ERR unknown command '%.*s'", (int)(nlen < 60 ? nlen : 60), p);
        } else {
            memcpy(name, p, nlen);
            name[nlen] = '\0';
            RedisModuleCallReply *reply = rm.Call(e->ctx, name, "!Ev", argv + 1, (size_t)(n - 1));
            size_t plen = 0;
            const char *proto = reply ? rm.CallReplyProto(reply, &plen) : NULL;
            if (proto && plen <= UINT32_MAX)
                cxl_kv_reply(rp, CXL_KV_REPLY, proto, (uint32_t)plen);
            else
                cxl_kv_reply_error(rp, "ERR command '%s' could not be run", name);
            if (reply)
                rm.FreeCallReply(reply);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        rm.FreeString(e->ctx, argv[i]);
    if (argv != stack)
        free(argv);
}

static void execute(void *ud, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    struct executor *e = ud;
    switch (r->op) {
    case CXL_KV_GET: exec_get(e, r, rp); break;
    case CXL_KV_SET: exec_set(e, r, rp); break;
    case CXL_KV_DEL: exec_del(e, r, rp); break;
    case CXL_KV_CMD: exec_cmd(e, r, rp); break;
    default: cxl_kv_reply_error(rp, "ERR unknown op %u", r->op); break;
    }
}

struct executor *executor_create(RedisModuleCtx *load_ctx, int take_lock)
{
    struct executor *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->ctx = rm.GetDetachedThreadSafeContext(load_ctx);
    e->take_lock = take_lock;
    return e;
}

void executor_destroy(struct executor *e)
{
    if (!e)
        return;
    rm.FreeThreadSafeContext(e->ctx);
    free(e);
}

struct cxl_kv_executor executor_callbacks(struct executor *e)
{
    return (struct cxl_kv_executor){
        .ud = e,
        .begin = e->take_lock ? lock : NULL,
        .end = e->take_lock ? unlock : NULL,
        .execute = execute,
    };
}
