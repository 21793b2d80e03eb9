/* module.h - the pieces of cxl_ring.so: its configuration (config.c), the
 * executor that runs ring requests in Redis (exec.c), the drivers that call
 * the serving engine from a thread or from Redis's event loop (driver.c), and
 * the CXLRING.* commands (commands.c). module.c ties them together. */
#ifndef CXL_MODULE_H
#define CXL_MODULE_H

#include <stdint.h>

#include "config/options.h"
#include "cxl/keyring.h"
#include "cxl/kvserver.h"
#include "cxl/medium.h"
#include "cxl/ring.h"
#include "rm_api.h"

#define CXL_USER_NAME_MAX 128 /* longest ACL user name in the module's arguments, + 1 */

enum serve_mode { SERVE_THREAD = 0, SERVE_EVENTLOOP = 1, SERVE_THREAD_ONLY = 2 };

struct module_config {
    struct cxl_shared_opts shared;  /* as given: arguments, then the environment */
    struct cxl_medium_config medium;
    struct cxl_format_params format;
    struct cxl_delay_model delay;
    uint32_t batch;
    uint32_t max_sleep_us;
    uint32_t spin_us, yield_us; /* idle back-off of the serving thread */
    uint32_t busy_spin_us;      /* its spin while a stream is dense (0: off) */
    int busy_spin_given;        /* busy_spin_us= was given (else the engine's default) */
    uint32_t idle_after_ms, idle_sleep_us; /* its deeper sleep once idle (the options table) */
    uint32_t node_id;
    enum serve_mode serve;
    int secure, crypto;    /* docs/SECURITY.md: manager keys, or a shared key file */
    char path[256];
    char sec_mgr[256];     /* secure: HOST:PORT of cxl_sec_mgr */
    char key[256];         /* secure: this node's key file */
    char key_file[256];    /* crypto: the shared secret file */
    char user[CXL_USER_NAME_MAX];                  /* user=: every ring's Redis ACL user */
    char ring_user[CXL_MAX_RINGS][CXL_USER_NAME_MAX]; /* user.N=: ring N's (over user=) */
    uint32_t max_conns;    /* connections per ring with their own identity (a gateway's clients) */
};

/* Parse "key=value" module arguments over the CXL_RING_* environment
 * defaults. Returns 0, or -1 with a message in err. */
int config_parse(struct module_config *c, RedisModuleString **argv, int argc, char *err,
                 size_t errlen);
const char *serve_mode_name(enum serve_mode m);

/* The executor: GET/SET/DEL on the key API, CMD through RedisModule_Call,
 * each as its connection's Redis user (exec.c). */
struct executor;
struct executor *executor_create(RedisModuleCtx *load_ctx, int take_lock, const struct module_config *c,
                                 uint32_t rings, struct cxl_keyring *keys, char *err, size_t cap);
void executor_destroy(struct executor *e);
struct cxl_kv_executor executor_callbacks(struct executor *e);

/* A CMD request's arguments (pointers into the request). */
struct cmd_args {
    uint32_t argc;
    const char **ptr;
    size_t *len;
};

/* Who a request runs as (identity.c). identity_who: 1 = *user is the
 * Redis user the request's connection runs as; 0 = not authenticated
 * (answer identity_noauth_text()). identity_command: AUTH, HELLO and RESET
 * on the request's connection; 1 if it was one of them (answered). */
struct identity;
struct identity *identity_create(RedisModuleCtx *ctx, const struct module_config *c, uint32_t rings,
                                 struct cxl_keyring *keys);
void identity_destroy(struct identity *id);
int identity_who(struct identity *id, const struct cxl_kv_request *req, RedisModuleString **user);
const char *identity_noauth_text(void);
/* Forget the authentication of connections Redis would not accept again
 * (users_check): called before each ring request, and with periodic set
 * at every ring pass. */
void identity_recheck(struct identity *id, int periodic);
int identity_command(struct identity *id, const struct cxl_kv_request *req, const struct cmd_args *a,
                     struct cxl_kv_reply *rp);

/* The ring connections authenticated as each Redis user (users.c): a
 * connection's conn_auth is attached to its user's entry (ref: ring << 16 |
 * connection; conn_at finds a conn_auth by ref), detached on RESET, a new
 * session or when users_check finds Redis would not accept its AUTH again.
 * users_watch registers, at load, the command filter that says when. */
struct user_entry;
struct conn_auth {
    struct user_entry *user;                      /* NULL: not authenticated */
    uint32_t pos;                                 /* in its entry's connections */
    uint8_t pass_hash[32];                        /* SHA-256 of the password it proved */
};
struct users;
struct users *users_create(RedisModuleCtx *ctx, struct conn_auth *(*conn_at)(void *ud, uint32_t ref), void *ud);
void users_destroy(struct users *u);
int users_attach(struct users *u, struct conn_auth *c, uint32_t ref, const char *name, size_t len,
                 const char *pass, size_t plen);
void users_detach(struct users *u, struct conn_auth *c);
RedisModuleString *users_name(const struct conn_auth *c);
void users_check(struct users *u, int periodic);
struct users_stats {
    uint64_t authenticated;  /* connections with a user now */
    uint64_t checks, full_checks;
    uint64_t users_asked;    /* ACL GETUSER calls */
    uint64_t conns_examined; /* connections looked at (their user's answer had changed) */
    uint64_t dropped;        /* authentications forgotten */
};
int users_stats(struct users_stats *out); /* -1 before load */
void users_watch(RedisModuleCtx *ctx);

/* The checks Redis makes for a TCP client that RedisModule_Call does not
 * (access.c). What they depend on, read from Redis at most once a second. */
struct access_state {
    long long checked_ms;
    int auth_required;    /* the default user has a password or is off */
    int debug_allowed, module_allowed; /* enable-debug-command / enable-module-command yes */
    int readonly_replica; /* writes refused */
    int deny_oom;         /* maxmemory set without an eviction policy */
    int propagates;       /* an AOF or replicas: writes are sent on (exec.c wakes Redis for them) */
};
extern struct access_state access_state;
int access_init(RedisModuleCtx *ctx, char *err, size_t cap);
void access_fini(RedisModuleCtx *ctx);
void access_refresh(RedisModuleCtx *ctx, int force);
/* Drop the cached ACL user (anything may have changed the ACL since). */
void access_forget_users(void);
/* DEBUG / MODULE refused: 1 with Redis's text in text. */
int access_protected(const char *name, size_t len, const struct cmd_args *a, char *text, size_t cap);
/* GET/SET/DEL of key as user: NULL when its ACL allows it, else Redis's
 * error text; then access_fast_state: deny-oom, a read-only replica. */
const char *access_fast_acl(RedisModuleCtx *ctx, RedisModuleString *user, uint16_t op, RedisModuleString *key,
                            char *text, size_t cap);
const char *access_fast_state(uint16_t op);
const char *access_no_user(RedisModuleString *user, char *text, size_t cap);
/* A blocking command (BLPOP ...) that found nothing: the error that says
 * it would have blocked, or NULL (reply: what RedisModule_Call answered). */
const char *access_blocking_refusal(const struct cmd_args *a, const char *reply, size_t len, char *text,
                                    size_t cap);
/* A script whose writes Redis would refuse out of memory but that
 * RedisModule_Call would let write (EVAL without a shebang, EVALSHA):
 * Redis's OOM text while deny-oom holds and memory is over maxmemory. */
const char *access_script_oom(const char *name, size_t len, const struct cmd_args *a);
/* The names commands go by after rename-command (names.c): names_init at
 * load (-1 with err if they cannot be told apart); names_resolve gives the
 * original name of a request's first word (itself when nothing guarded is
 * renamed, or when it names no command). */
int names_init(RedisModuleCtx *ctx, char *err, size_t cap);
const char *names_resolve(RedisModuleCtx *ctx, const char *name, size_t len, char *buf, size_t cap,
                          size_t *out_len);
int names_acl_available(void);
/* Does the command or subcommand name p (n bytes) match w, as Redis's tables
 * match names: case-insensitively, and only up to a NUL (Redis compares
 * them with strcasecmp, so "load\0x" can find LOAD)? */
int name_is(const char *p, size_t n, const char *w);
/* A refusal RedisModule_Call made (err = its error reply), in the words
 * Redis uses for a TCP client; NULL if err is not one. */
const char *access_call_refusal(RedisModuleCtx *ctx, const char *err, size_t len, RedisModuleString *user,
                                const struct cmd_args *a, char *text, size_t cap);

/* On a Redis Cluster node (cluster.c, docs/CLUSTER.md): the slot map cached
 * from CLUSTER NODES, kept current at every pass (cluster_pass); a ring
 * request for keys this node does not serve answered as redis-server answers
 * a TCP client. Nothing happens on a node without cluster mode. */
struct cluster_stats {
    int enabled, state_ok, replica;
    char node_id[41];
    long long age_ms;                 /* since the map was read (-1: never) */
    uint64_t refreshes, refresh_errors;
    uint64_t refresh_ns;              /* the last refresh took (CLUSTER NODES, CLUSTER INFO, parsing) */
    uint64_t state_ns;                /* the last state check took (CLUSTER INFO) */
    uint64_t checks;                  /* GET/SET/DEL judged */
    uint64_t redirects;               /* MOVED, ASK, CROSSSLOT, TRYAGAIN, CLUSTERDOWN answered */
};
int cluster_init(RedisModuleCtx *ctx, uint32_t rings, uint32_t conns_per_ring, char *err, size_t cap);
int cluster_enabled(void);
void cluster_pass(RedisModuleCtx *ctx);
/* GET/SET/DEL of key: NULL = serve it here, else Redis's error text. */
const char *cluster_check_key(RedisModuleCtx *ctx, const struct cxl_kv_request *r, RedisModuleString *key,
                              char *text, size_t cap);
/* RedisModule_Call refused a command for a non-local key or a down cluster
 * (err, its error reply): the answer a TCP client gets, or NULL. */
const char *cluster_call_refusal(RedisModuleCtx *ctx, const struct cmd_args *a, const char *err, size_t len,
                                 char *text, size_t cap);
/* Any command judged by its keys before it runs (where RedisModule_Call
 * would refuse it for another reason first: a read-only replica, OOM). */
const char *cluster_check_command(RedisModuleCtx *ctx, const struct cmd_args *a, char *text, size_t cap);
/* ASKING / READONLY / READWRITE on a ring connection: 1 if a was one (answered). */
int cluster_session_command(const struct cxl_kv_request *r, const struct cmd_args *a, struct cxl_kv_reply *rp);
void cluster_session_reset(const struct cxl_kv_request *r);
/* Before anything else of each request: its connection's flags, ASKING used up. */
void cluster_request_begin(const struct cxl_kv_request *r);
int cluster_stats(struct cluster_stats *out);
void cluster_my_slots(char *out, size_t cap);

/* Keys of a secure ring: fetched at load, refreshed by a thread (keys.c). */
struct keys_refresher;
int keys_start(const struct module_config *c, uint32_t rings, struct cxl_keyring **kr,
               struct keys_refresher **out, char *err, size_t errlen);
void keys_stop(struct keys_refresher *k);
const char *keys_mode_name(const struct module_config *c);

/* Drivers. */
struct driver;
int driver_start(RedisModuleCtx *ctx, enum serve_mode mode, struct cxl_kv_server *s,
                 struct driver **out, char *err, size_t errlen);
void driver_stop(struct driver *d);

/* The module's global state (one instance per Redis). */
struct cxl_module {
    struct module_config cfg;
    struct cxl_medium *medium;
    struct cxl_layout *layout;
    struct cxl_kv_server *server;
    struct executor *exec;
    struct driver *driver;
    struct cxl_keyring *keys;
    struct keys_refresher *refresher;
};
extern struct cxl_module cxl_mod;

int commands_register(RedisModuleCtx *ctx);

#endif
