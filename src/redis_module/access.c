/* access.c - the checks Redis makes for a TCP client before it runs a
 * command, and that RedisModule_Call does not make, applied to every ring
 * request (docs/SERVER.md, "Rights"): protected commands (DEBUG and MODULE,
 * as enable-debug-command / enable-module-command say; a ring client counts
 * as a remote connection), ACL permissions on the fast paths with Redis's
 * own NOPERM texts, the ACL texts of commands refused inside
 * RedisModule_Call, writes on a read-only replica, and deny-oom when
 * maxmemory is reached without an eviction policy. What these depend on (the
 * configuration, the default user's password state, the role) is read from
 * Redis at load and again at most once per ACCESS_REFRESH_MS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "module.h"

#define ACCESS_REFRESH_MS 1000

static const char NOPERM_KEYS[] = "NOPERM this user has no permissions to access one of the keys used as arguments";
static const char READONLY_TEXT[] = "READONLY You can't write against a read only replica.";
static const char OOM_TEXT[] = "OOM command not allowed when used memory > 'maxmemory'.";

struct access_state access_state;

/* --- what the checks depend on ------------------------------------------------- */

/* CONFIG GET name -> "yes" */
static int config_is_yes(RedisModuleCtx *ctx, const char *name)
{
    RedisModuleCallReply *r = rm.Call(ctx, "CONFIG", "cc", "GET", name);
    int yes = 0;
    if (r && rm.CallReplyType(r) == RM_REPLY_ARRAY && rm.CallReplyLength(r) == 2) {
        size_t n;
        const char *v = rm.CallReplyStringPtr(rm.CallReplyArrayElement(r, 1), &n);
        yes = v && n == 3 && strncasecmp(v, "yes", 3) == 0;
    }
    if (r)
        rm.FreeCallReply(r);
    return yes;
}

/* INFO replication's connected_slaves > 0. */
static int has_replicas(RedisModuleCtx *ctx)
{
    RedisModuleCallReply *r = rm.Call(ctx, "INFO", "c", "replication");
    size_t n = 0;
    const char *t = r && rm.CallReplyType(r) == RM_REPLY_STRING ? rm.CallReplyStringPtr(r, &n) : NULL;
    static const char key[] = "\nconnected_slaves:";
    int yes = 1; /* no answer: assume there are */
    for (size_t i = 0; t && i + sizeof key < n; i++)
        if (!memcmp(t + i, key, sizeof key - 1)) {
            yes = t[i + sizeof key - 1] != '0';
            break;
        }
    if (r)
        rm.FreeCallReply(r);
    return yes;
}

/* Does Redis make a new connection authenticate? As authRequired() says for
 * a client that has not: when the default user has a password or is off. */
static int default_user_needs_auth(RedisModuleCtx *ctx)
{
    RedisModuleCallReply *r = rm.Call(ctx, "ACL", "cc", "GETUSER", "default");
    int on = 0, nopass = 0;
    size_t n = r && rm.CallReplyType(r) == RM_REPLY_ARRAY ? rm.CallReplyLength(r) : 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        size_t klen;
        const char *k = rm.CallReplyStringPtr(rm.CallReplyArrayElement(r, i), &klen);
        if (!k || klen != 5 || memcmp(k, "flags", 5) != 0)
            continue;
        RedisModuleCallReply *flags = rm.CallReplyArrayElement(r, i + 1);
        for (size_t j = 0; j < rm.CallReplyLength(flags); j++) {
            size_t flen;
            const char *f = rm.CallReplyStringPtr(rm.CallReplyArrayElement(flags, j), &flen);
            on |= f && flen == 2 && memcmp(f, "on", 2) == 0;
            nopass |= f && flen == 6 && memcmp(f, "nopass", 6) == 0;
        }
    }
    if (r)
        rm.FreeCallReply(r);
    return !(on && nopass); /* no answer at all: fail closed */
}

void access_refresh(RedisModuleCtx *ctx, int force)
{
    long long now = rm.Milliseconds();
    struct access_state *a = &access_state;
    if (!force && now - a->checked_ms < ACCESS_REFRESH_MS)
        return;
    a->checked_ms = now;
    a->auth_required = default_user_needs_auth(ctx);
    int flags = rm.GetContextFlags(ctx);
    a->readonly_replica = (flags & RM_CTX_FLAGS_SLAVE) && (flags & RM_CTX_FLAGS_READONLY);
    a->deny_oom = (flags & RM_CTX_FLAGS_MAXMEMORY) && !(flags & RM_CTX_FLAGS_EVICT);
    a->propagates = (flags & RM_CTX_FLAGS_AOF) || has_replicas(ctx);
    if (force) { /* immutable settings: read once */
        a->debug_allowed = config_is_yes(ctx, "enable-debug-command");
        a->module_allowed = config_is_yes(ctx, "enable-module-command");
    }
}

/* --- protected commands ------------------------------------------------------------- */

/* DEBUG, and the subcommands of MODULE that load or unload code (Redis 7.0
 * flags those "protected"; MODULE LIST is not), by their original names
 * (name: names_resolve of the request's first word). */

int access_protected(const char *name, size_t len, const struct cmd_args *a, char *text, size_t cap)
{
    static const char *module_protected[] = {"load", "loadex", "unload", NULL};
    int debug = name_is(name, len, "debug");
    int module = name_is(name, len, "module") && a->argc > 1;
    for (int i = 0; module && module_protected[i]; i++)
        if (name_is(a->ptr[1], a->len[1], module_protected[i]))
            module = 2;
    if (!debug && module != 2)
        return 0;
    if (debug ? access_state.debug_allowed : access_state.module_allowed)
        return 0;
    snprintf(text, cap, "ERR %s command not allowed. If the %s option is set to \"local\", you can run it "
             "from a local connection, otherwise you need to set this option in the configuration file, "
             "and then restart the server.", debug ? "DEBUG" : "MODULE",
             debug ? "enable-debug-command" : "enable-module-command");
    return 1;
}

/* --- scripts out of memory ------------------------------------------------------------ */

/* Redis lets a script without a shebang (and EVALSHA, decided by the script
 * it names) start out of memory, then refuses its first deny-oom write with
 * the OOM state it saved when the client's command began - a state only
 * processCommand sets, never RedisModule_Call, so over the ring such a
 * script would write. It is refused whole here instead (stricter than
 * Redis for a script that only reads). Scripts with a shebang and
 * functions carry flags that RedisModule_Call's deny-oom check reads. */
const char *access_script_oom(const char *name, size_t len, const struct cmd_args *a)
{
    if (!access_state.deny_oom || a->argc < 2)
        return NULL;
    int eval = name_is(name, len, "eval");
    int evalsha = name_is(name, len, "evalsha");
    if (eval && a->len[1] >= 2 && memcmp(a->ptr[1], "#!", 2) == 0)
        return NULL;
    if ((eval || evalsha) && rm.GetUsedMemoryRatio() > 1.0f)
        return OOM_TEXT;
    return NULL;
}

/* --- fast paths ------------------------------------------------------------------------ */

static RedisModuleString *cmd_name[4];
static RedisModuleString *empty_value;

int access_init(RedisModuleCtx *ctx, char *err, size_t cap)
{
    static const char *fast[] = {NULL, "GET", "SET", "DEL"};
    for (int i = 1; i < 4; i++)
        cmd_name[i] = rm.CreateString(ctx, fast[i], 3);
    empty_value = rm.CreateString(ctx, "", 0);
    access_refresh(ctx, 1);
    return names_init(ctx, err, cap);
}

void access_fini(RedisModuleCtx *ctx)
{
    access_forget_users();
    for (int i = 1; i < 4; i++)
        if (cmd_name[i])
            rm.FreeString(ctx, cmd_name[i]);
    if (empty_value)
        rm.FreeString(ctx, empty_value);
    memset(cmd_name, 0, sizeof cmd_name);
    empty_value = NULL;
}

/* The ACL user of the last fast path, kept while nothing can have changed
 * the ACL: within one pass, until a generic command runs (it could be ACL
 * SETUSER or DELUSER) - never across passes, when Redis's own clients run. */
static struct {
    char name[CXL_USER_NAME_MAX];
    size_t len;
    RedisModuleUser *user;
} last_user;

void access_forget_users(void)
{
    if (last_user.user)
        rm.FreeModuleUser(last_user.user);
    last_user.user = NULL;
}

/* The ACL user called name, if it exists and is on (NULL otherwise): a
 * user turned off runs nothing, on the fast paths as on the generic one
 * (where RedisModule_AuthenticateClientWithACLUser refuses it). */
static RedisModuleUser *user_of(RedisModuleCtx *ctx, RedisModuleString *name)
{
    size_t n;
    const char *p = rm.StringPtrLen(name, &n);
    if (last_user.user && n == last_user.len && memcmp(p, last_user.name, n) == 0)
        return last_user.user;
    access_forget_users();
    RedisModuleUser *u = rm.GetModuleUserFromUserName(name);
    if (u && rm.AuthenticateClientWithACLUser(ctx, p, n, NULL, NULL, NULL) != RM_OK) {
        rm.FreeModuleUser(u); /* off */
        return NULL;
    }
    if (u) /* the context's own user again (run_as sets it per command) */
        rm.AuthenticateClientWithACLUser(ctx, "default", 7, NULL, NULL, NULL);
    if (u && n < sizeof last_user.name) { /* longer names are not cached */
        memcpy(last_user.name, p, n);
        last_user.len = n;
        last_user.user = u;
    }
    return u;
}

static const char *denial_text(RedisModuleCtx *ctx, RedisModuleString *user_name, const struct cmd_args *a,
                               char *text, size_t cap);

/* Why user may not run GET/SET/DEL key, in Redis's words: the command,
 * unless a selector allows the command but not the key (ACL DRYRUN tells;
 * without ACL, the key is tried alone). */
static const char *fast_denial(RedisModuleCtx *ctx, RedisModuleUser *u, RedisModuleString *user_name, uint16_t op,
                               RedisModuleString *key, char *text, size_t cap)
{
    const char *verb = op == CXL_KV_GET ? "get" : op == CXL_KV_SET ? "set" : "del";
    if (names_acl_available()) {
        size_t klen;
        const char *ptr[3] = {verb, rm.StringPtrLen(key, &klen), ""};
        size_t len[3] = {3, klen, 0};
        struct cmd_args a = {op == CXL_KV_SET ? 3 : 2, ptr, len};
        return denial_text(ctx, user_name, &a, text, cap);
    }
    int kflags = op == CXL_KV_GET ? RM_CMD_KEY_ACCESS
                 : op == CXL_KV_SET ? RM_CMD_KEY_UPDATE | RM_CMD_KEY_INSERT : RM_CMD_KEY_DELETE;
    if (rm.ACLCheckKeyPermissions(u, key, kflags) != RM_OK)
        return NOPERM_KEYS;
    snprintf(text, cap, "NOPERM this user has no permissions to run the '%s' command", verb);
    return text;
}

/* GET/SET/DEL of key as user (user name: RedisModuleString): NULL when
 * its ACL allows it, else Redis's error text. */
const char *access_fast_acl(RedisModuleCtx *ctx, RedisModuleString *user_name, uint16_t op, RedisModuleString *key,
                            char *text, size_t cap)
{
    RedisModuleUser *u = user_of(ctx, user_name);
    if (!u)
        return access_no_user(user_name, text, cap);
    RedisModuleString *argv[3] = {cmd_name[op], key, empty_value};
    const char *why = NULL;
    int cached = u == last_user.user;
    if (rm.ACLCheckCommandPermissions(u, argv, op == CXL_KV_SET ? 3 : 2) != RM_OK)
        why = fast_denial(ctx, u, user_name, op, key, text, cap);
    if (!cached)
        rm.FreeModuleUser(u);
    return why;
}

/* The server's state refusing GET/SET/DEL: deny-oom, a read-only replica
 * (checked after the ACL and the cluster's slots, as processCommand does). */
const char *access_fast_state(uint16_t op)
{
    if (op == CXL_KV_SET && access_state.deny_oom && rm.GetUsedMemoryRatio() > 1.0f)
        return OOM_TEXT;
    if (op != CXL_KV_GET && access_state.readonly_replica)
        return READONLY_TEXT;
    return NULL;
}

const char *access_no_user(RedisModuleString *user_name, char *text, size_t cap)
{
    size_t n;
    const char *p = rm.StringPtrLen(user_name, &n);
    snprintf(text, cap, "NOAUTH the ACL user '%.*s' this ring connection runs as does not exist or is "
             "disabled", (int)(n > 64 ? 64 : n), p);
    return text;
}

/* --- blocking commands ------------------------------------------------------------------- */

/* Redis 7.0's commands flagged "blocking" (XREAD and XREADGROUP only with
 * BLOCK). A ring request cannot block: the ring's later requests would wait
 * behind it. RedisModule_Call runs them as if their timeout had passed at
 * once; when that gives data it is the answer, when it gives the timeout's
 * null the client is told that the command would have blocked, instead of
 * a null that reads as "the timeout passed". */
static int is_blocking(const struct cmd_args *a)
{
    static const char *always[] = {"blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax",
                                   "bzmpop", NULL};
    for (int i = 0; always[i]; i++)
        if (name_is(a->ptr[0], a->len[0], always[i]))
            return 1;
    int xread = name_is(a->ptr[0], a->len[0], "xread") || name_is(a->ptr[0], a->len[0], "xreadgroup");
    for (uint32_t i = 1; xread && i < a->argc; i++)
        if (name_is(a->ptr[i], a->len[i], "block"))
            return 1;
    return 0;
}

const char *access_blocking_refusal(const struct cmd_args *a, const char *reply, size_t len, char *text,
                                    size_t cap)
{
    int null = (len == 5 && (memcmp(reply, "*-1\r\n", 5) == 0 || memcmp(reply, "$-1\r\n", 5) == 0));
    if (!null || !is_blocking(a))
        return NULL;
    snprintf(text, cap, "ERR %.*s would block: nothing to return yet, and commands over the cxl ring do not "
             "block (the ring's later requests would wait behind it); poll again, or use a direct connection",
             (int)(a->len[0] > 20 ? 20 : a->len[0]), a->ptr[0]);
    return text;
}

/* --- texts of refusals inside RedisModule_Call ------------------------------------------- */

/* ACL DRYRUN says why user may not run a command: "This user has no
 * permissions to run the 'x' command" / "... access the 'k' key" / "... the
 * 'c' channel". Redis answers a TCP client with the command's full name, or
 * without naming the key or channel. */
static int ends_quote(const char *q2, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - q2) >= n && memcmp(q2, word, n) == 0;
}

static const char *denial_text(RedisModuleCtx *ctx, RedisModuleString *user_name, const struct cmd_args *a,
                               char *text, size_t cap)
{
    RedisModuleString **dry = malloc(((size_t)a->argc + 2) * sizeof *dry);
    if (!dry)
        return NOPERM_KEYS;
    dry[0] = rm.CreateString(ctx, "DRYRUN", 6);
    dry[1] = user_name;
    for (uint32_t i = 0; i < a->argc; i++)
        dry[i + 2] = rm.CreateString(ctx, a->ptr[i], a->len[i]);
    RedisModuleCallReply *r = rm.Call(ctx, "ACL", "v", dry, (size_t)a->argc + 2);
    rm.FreeString(ctx, dry[0]);
    for (uint32_t i = 0; i < a->argc; i++)
        rm.FreeString(ctx, dry[i + 2]);
    free(dry);
    size_t n = 0;
    const char *why = r && rm.CallReplyType(r) == RM_REPLY_STRING ? rm.CallReplyStringPtr(r, &n) : NULL;
    const char *end = why ? why + n : NULL;
    const char *q1 = why ? memchr(why, '\'', n) : NULL;
    const char *q2 = q1 ? memchr(q1 + 1, '\'', (size_t)(end - q1 - 1)) : NULL;
    const char *out = NOPERM_KEYS;
    if (q2 && ends_quote(q2, end, "' command")) {
        int len = (int)(q2 - q1 - 1);
        snprintf(text, cap, "NOPERM this user has no permissions to run the '%.*s' command", len > 100 ? 100 : len,
                 q1 + 1);
        out = text;
    } else if (q2 && ends_quote(q2, end, "' channel")) {
        out = "NOPERM this user has no permissions to access one of the channels used as arguments";
    }
    if (r)
        rm.FreeCallReply(r);
    return out;
}

const char *access_call_refusal(RedisModuleCtx *ctx, const char *err, size_t len, RedisModuleString *user_name,
                                const struct cmd_args *a, char *text, size_t cap)
{
    static const char acl[] = "-ERR acl verification failed";
    static const char nowrite[] = "-ERR Write command '";
    if (len >= sizeof acl - 1 && memcmp(err, acl, sizeof acl - 1) == 0)
        return denial_text(ctx, user_name, a, text, cap);
    if (len >= sizeof nowrite - 1 && memcmp(err, nowrite, sizeof nowrite - 1) == 0)
        return READONLY_TEXT;
    return NULL;
}
