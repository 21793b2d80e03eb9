/* names.c - which command a name runs, after rename-command.
 *
 * The checks in access.c and identity.c go by a command's original name:
 * DEBUG and MODULE (protected), EVAL and EVALSHA (scripts out of memory),
 * ACL (the module asks ACL GETUSER). rename-command (config file only, fixed
 * while Redis runs) can give those other names. Read once at load:
 *   - a guarded command renamed (COMMAND LIST, which lists original names,
 *     has it, but COMMAND INFO of its name does not answer it): every
 *     generic request's name is resolved with COMMAND INFO, which answers
 *     the original name for any name a command goes by (one more call per
 *     request, in that configuration only);
 *   - removed (rename-command X ""): nothing can run it, names stay as
 *     they are;
 *   - COMMAND itself renamed or removed: which command a name runs cannot
 *     be asked (a name may even be given to another command: rename DEBUG
 *     away and ECHO to "debug"), so the module refuses to load rather than
 *     let a renamed DEBUG run unchecked;
 *   - ACL renamed or removed: AUTH over the rings is refused with a reason
 *     (identity.c needs ACL GETUSER to keep checking a connection's user). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "module.h"

static const char *const guarded[] = {"debug", "module", "eval", "evalsha"};

static struct {
    int resolve;       /* a guarded command goes by another name: resolve every name */
    int acl_available; /* ACL under its own name */
} names;

/* The original name of the command called name (lower case, as Redis's
 * table has it) into out, or "" if there is none. */
static void original_name(RedisModuleCtx *ctx, const char *name, size_t len, char *out, size_t cap)
{
    RedisModuleCallReply *r = rm.Call(ctx, "COMMAND", "cb", "INFO", name, len);
    RedisModuleCallReply *info = r && rm.CallReplyType(r) == RM_REPLY_ARRAY && rm.CallReplyLength(r) == 1
                                     ? rm.CallReplyArrayElement(r, 0) : NULL;
    size_t n = 0;
    const char *p = info && rm.CallReplyType(info) == RM_REPLY_ARRAY && rm.CallReplyLength(info) > 0
                        ? rm.CallReplyStringPtr(rm.CallReplyArrayElement(info, 0), &n) : NULL;
    if (!p || n >= cap)
        n = 0;
    if (n)
        memcpy(out, p, n);
    out[n] = '\0';
    if (r)
        rm.FreeCallReply(r);
}

static int answers_as(RedisModuleCtx *ctx, const char *name)
{
    char got[32];
    original_name(ctx, name, strlen(name), got, sizeof got);
    return strcmp(got, name) == 0;
}

/* Does COMMAND LIST (original names of every command any name runs) have name? */
static int listed(RedisModuleCallReply *list, const char *name)
{
    size_t n = list && rm.CallReplyType(list) == RM_REPLY_ARRAY ? rm.CallReplyLength(list) : 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = rm.CallReplyStringPtr(rm.CallReplyArrayElement(list, i), &len);
        if (p && len == strlen(name) && memcmp(p, name, len) == 0)
            return 1;
    }
    return 0;
}

int names_init(RedisModuleCtx *ctx, char *err, size_t cap)
{
    names.resolve = 0;
    if (answers_as(ctx, "command")) {
        RedisModuleCallReply *list = rm.Call(ctx, "COMMAND", "c", "LIST");
        for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
            names.resolve |= listed(list, guarded[i]) && !answers_as(ctx, guarded[i]);
        names.acl_available = answers_as(ctx, "acl");
        if (list)
            rm.FreeCallReply(list);
        return 0;
    }
    snprintf(err, cap, "COMMAND is renamed or removed: without it the module cannot tell which command a name "
             "runs (another command may go by DEBUG's name while DEBUG goes by another), so it cannot keep "
             "protected commands and scripts out of memory refused; keep COMMAND's name");
    return -1;
}

int names_acl_available(void) { return names.acl_available; }

const char *names_resolve(RedisModuleCtx *ctx, const char *name, size_t len, char *buf, size_t cap,
                          size_t *out_len)
{
    *out_len = len;
    if (!names.resolve)
        return name;
    original_name(ctx, name, len, buf, cap);
    if (!buf[0]) /* no such command: Redis will say so */
        return name;
    *out_len = strlen(buf);
    return buf;
}

int name_is(const char *p, size_t n, const char *w)
{
    const char *nul = memchr(p, '\0', n);
    size_t len = nul ? (size_t)(nul - p) : n;
    return len == strlen(w) && strncasecmp(p, w, len) == 0;
}
