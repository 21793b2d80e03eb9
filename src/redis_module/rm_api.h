/* rm_api.h - the part of the Redis module API that cxl_ring.so uses, declared
 * here from the module API documentation (we ship no Redis source).
 *
 * Redis hands a module its API by name: the first word of the context passed
 * to RedisModule_OnLoad is a lookup function, "RedisModule_GetApi", that
 * fills a function pointer given its exported name ("RedisModule_OpenKey").
 * rm_api_load() resolves every entry of struct rm_api that way and fails,
 * naming the missing function, if this Redis lacks one. */
#ifndef CXL_RM_API_H
#define CXL_RM_API_H

#include <stddef.h>
#include <stdint.h>

typedef struct RedisModuleCtx RedisModuleCtx;
typedef struct RedisModuleString RedisModuleString;
typedef struct RedisModuleKey RedisModuleKey;
typedef struct RedisModuleCallReply RedisModuleCallReply;
typedef struct RedisModuleUser RedisModuleUser;
typedef void (*rm_user_changed_fn)(uint64_t client_id, void *privdata);
typedef struct RedisModuleCommandFilterCtx RedisModuleCommandFilterCtx;
typedef struct RedisModuleCommandFilter RedisModuleCommandFilter;
typedef void (*rm_filter_fn)(RedisModuleCommandFilterCtx *filter);

typedef int (*rm_cmd_fn)(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
typedef void (*rm_eventloop_fn)(int fd, void *user_data, int mask);

/* A server event id and the version of its data (RedisModuleEvent). */
struct rm_event {
    uint64_t id;
    uint64_t dataver;
};
typedef void (*rm_event_fn)(RedisModuleCtx *ctx, struct rm_event e, uint64_t subevent, void *data);

/* Values fixed by the module API (API version 1). */
#define RM_OK 0
#define RM_ERR 1
#define RM_APIVER_1 1
#define RM_READ (1 << 0)
#define RM_WRITE (1 << 1)
#define RM_KEYTYPE_EMPTY 0
#define RM_KEYTYPE_STRING 1
#define RM_NO_EXPIRE -1
#define RM_REPLY_STRING 0
#define RM_REPLY_ERROR 1
#define RM_REPLY_INTEGER 2
#define RM_REPLY_ARRAY 3
#define RM_REPLY_NULL 4
#define RM_CTX_FLAGS_SLAVE (1 << 3)
#define RM_CTX_FLAGS_READONLY (1 << 4)
#define RM_CTX_FLAGS_CLUSTER (1 << 5)
#define RM_CTX_FLAGS_AOF (1 << 6)
#define RM_CTX_FLAGS_MAXMEMORY (1 << 8)
#define RM_CTX_FLAGS_EVICT (1 << 9)
#define RM_CMD_KEY_RW (1ULL << 1)
#define RM_CMD_KEY_OW (1ULL << 2)
#define RM_CMD_KEY_RM (1ULL << 3)
#define RM_CMD_KEY_ACCESS (1ULL << 4)
#define RM_CMD_KEY_UPDATE (1ULL << 5)
#define RM_CMD_KEY_INSERT (1ULL << 6)
#define RM_CMD_KEY_DELETE (1ULL << 7)
#define RM_EVENTLOOP_READABLE 1
#define RM_EVENT_EVENTLOOP 15          /* server event: the event loop */
#define RM_SUBEVENT_BEFORE_SLEEP 0
#define RM_SUBEVENT_AFTER_SLEEP 1

struct rm_api {
    void (*SetModuleAttribs)(RedisModuleCtx *ctx, const char *name, int ver, int apiver);
    int (*IsModuleNameBusy)(const char *name);
    int (*CreateCommand)(RedisModuleCtx *ctx, const char *name, rm_cmd_fn fn, const char *flags,
                         int firstkey, int lastkey, int keystep);
    void (*Log)(RedisModuleCtx *ctx, const char *level, const char *fmt, ...);
    const char *(*StringPtrLen)(const RedisModuleString *s, size_t *len);
    RedisModuleString *(*CreateString)(RedisModuleCtx *ctx, const char *ptr, size_t len);
    void (*FreeString)(RedisModuleCtx *ctx, RedisModuleString *s);
    RedisModuleKey *(*OpenKey)(RedisModuleCtx *ctx, RedisModuleString *name, int mode);
    void (*CloseKey)(RedisModuleKey *key);
    int (*KeyType)(RedisModuleKey *key);
    char *(*StringDMA)(RedisModuleKey *key, size_t *len, int mode);
    int (*StringSet)(RedisModuleKey *key, RedisModuleString *s);
    int (*DeleteKey)(RedisModuleKey *key);
    int (*SetExpire)(RedisModuleKey *key, long long ms);
    long long (*GetExpire)(RedisModuleKey *key);
    int (*StringTruncate)(RedisModuleKey *key, size_t newlen);
    RedisModuleCallReply *(*Call)(RedisModuleCtx *ctx, const char *cmd, const char *fmt, ...);
    const char *(*CallReplyProto)(RedisModuleCallReply *reply, size_t *len);
    void (*FreeCallReply)(RedisModuleCallReply *reply);
    RedisModuleCtx *(*GetDetachedThreadSafeContext)(RedisModuleCtx *ctx);
    void (*FreeThreadSafeContext)(RedisModuleCtx *ctx);
    void (*ThreadSafeContextLock)(RedisModuleCtx *ctx);
    void (*ThreadSafeContextUnlock)(RedisModuleCtx *ctx);
    int (*ReplyWithArray)(RedisModuleCtx *ctx, long len);
    int (*ReplyWithLongLong)(RedisModuleCtx *ctx, long long v);
    int (*ReplyWithSimpleString)(RedisModuleCtx *ctx, const char *s);
    int (*ReplyWithStringBuffer)(RedisModuleCtx *ctx, const char *buf, size_t len);
    int (*ReplyWithError)(RedisModuleCtx *ctx, const char *err);
    int (*WrongArity)(RedisModuleCtx *ctx);
    int (*EventLoopAdd)(int fd, int mask, rm_eventloop_fn fn, void *user_data);
    int (*EventLoopDel)(int fd, int mask);
    int (*SubscribeToServerEvent)(RedisModuleCtx *ctx, struct rm_event e, rm_event_fn fn);
    /* replies of internal calls */
    int (*CallReplyType)(RedisModuleCallReply *reply);
    size_t (*CallReplyLength)(RedisModuleCallReply *reply);
    RedisModuleCallReply *(*CallReplyArrayElement)(RedisModuleCallReply *reply, size_t idx);
    const char *(*CallReplyStringPtr)(RedisModuleCallReply *reply, size_t *len);
    /* ACL users: who a ring request runs as */
    RedisModuleUser *(*GetModuleUserFromUserName)(RedisModuleString *name);
    void (*FreeModuleUser)(RedisModuleUser *user);
    int (*ACLCheckCommandPermissions)(RedisModuleUser *user, RedisModuleString **argv, int argc);
    int (*ACLCheckKeyPermissions)(RedisModuleUser *user, RedisModuleString *key, int flags);
    int (*AuthenticateClientWithACLUser)(RedisModuleCtx *ctx, const char *name, size_t len,
                                         rm_user_changed_fn callback, void *privdata, uint64_t *client_id);
    /* every command Redis runs, seen before it runs: ACL changes */
    RedisModuleCommandFilter *(*RegisterCommandFilter)(RedisModuleCtx *ctx, rm_filter_fn fn, int flags);
    int (*CommandFilterArgsCount)(RedisModuleCommandFilterCtx *filter);
    RedisModuleString *(*CommandFilterArgGet)(RedisModuleCommandFilterCtx *filter, int pos);
    /* the server's state */
    int (*GetContextFlags)(RedisModuleCtx *ctx);
    int (*GetServerVersion)(void);
    float (*GetUsedMemoryRatio)(void);
    long long (*Milliseconds)(void);
    /* Redis Cluster: the keys of a command, and whether a key exists */
    int *(*GetCommandKeysWithFlags)(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int *num_keys,
                                    int **out_flags);
    int (*KeyExists)(RedisModuleCtx *ctx, RedisModuleString *key);
    void (*Free)(void *ptr);
    /* the fast paths' writes to replicas and the AOF */
    int (*Replicate)(RedisModuleCtx *ctx, const char *cmdname, const char *fmt, ...);
    int (*AvoidReplicaTraffic)(void); /* clients paused: nothing may propagate now */
};

extern struct rm_api rm;

/* Resolve rm from the OnLoad context; 0 or -1 (the missing name in *missing). */
int rm_api_load(RedisModuleCtx *ctx, const char **missing);

#endif
