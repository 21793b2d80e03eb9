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
 *   - COMMAND itself renamed: a guarded command missing under its own name
 *     cannot be told apart from one renamed, so the module refuses to load
 *     rather than let a renamed DEBUG run unchecked;
 *   - ACL renamed or removed: AUTH over the rings is refused with a reason
 *     (identity.c needs ACL GETUSER to keep checking a connection's user). */
#include <errno.h>
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

/* Without COMMAND: is name callable under its own name? (NAME HELP changes
 * nothing for the guarded commands and ACL; an arity error still means it
 * exists.) */
static int callable(RedisModuleCtx *ctx, const char *name)
{
    errno = 0;
    RedisModuleCallReply *r = rm.Call(ctx, name, "c", "HELP");
    int missing = !r && errno == ENOENT;
    if (r)
        rm.FreeCallReply(r);
    return !missing;
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
    for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
        if (!callable(ctx, guarded[i])) {
            snprintf(err, cap, "COMMAND is renamed, and %s is not there under its own name: the module "
                     "cannot tell which name runs it (protected commands, scripts out of memory); "
                     "keep COMMAND's name, or %s's", guarded[i], guarded[i]);
            return -1;
        }
    names.acl_available = callable(ctx, "acl");
    return 0;
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
