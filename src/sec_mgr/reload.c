/* reload.c - `reload` (SIGHUP, or RELOAD on the control socket): the daemon
 * reads its configuration file again (the path it was started with) and
 * either applies all of it or none of it (docs/SECURITY.md, "Grant changes,
 * bounded"):
 *
 *   - a config with errors is not applied: the old one keeps running, and
 *     the reply (and stderr) has every error with its line number;
 *   - the files read only at start (manager-key, master, state, audit,
 *     control) cannot change: such a config is refused, naming the setting;
 *     the listen address is a flag, not in the file;
 *   - limits that do not fit the descriptors are refused like at start;
 *   - otherwise the new nodes, regions, grants and settings are in force at
 *     once; keys revoked stay revoked; every region that lost a holder moves
 *     to a new epoch without grace (holders.c); channels of nodes removed or
 *     given another key are closed.
 * Every reload is audited: `reload config=P by=B ...`. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "daemon.h"

static const struct {
    enum mgr_setting s;
    size_t off;
} start_only[] = {
    {MGR_SET_MANAGER_KEY, offsetof(struct mgr_config, manager_key)},
    {MGR_SET_MASTER, offsetof(struct mgr_config, master)},
    {MGR_SET_STATE, offsetof(struct mgr_config, state)},
    {MGR_SET_AUDIT, offsetof(struct mgr_config, audit)},
    {MGR_SET_CONTROL, offsetof(struct mgr_config, control)},
    {MGR_SET_FABRIC, offsetof(struct mgr_config, fabric)},
};

/* "a\nb\n" -> "a; b" into out. */
static size_t join_lines(const char *text, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = text; *p && o + 3 < cap; p++) {
        if (*p != '\n')
            out[o++] = *p;
        else if (p[1])
            out[o++] = ';', out[o++] = ' ';
    }
    out[o] = '\0';
    return o;
}

/* The new config, or why it cannot be applied (msg; the error count). */
static int load(struct mgr_daemon *d, struct mgr_config *nc, char *msg, size_t cap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *errs = open_memstream(&text, &len);
    int errors = config_load(d->cfg.path, 1, nc, errs);
    if (errs)
        fclose(errs);
    if (errors) {
        if (text)
            fputs(text, stderr);
        size_t used = text ? join_lines(text, msg, cap) : 0;
        snprintf(msg + used, cap - used, "%s(%d error%s; not applied, the daemon keeps its "
                 "configuration)", used ? " " : "", errors, errors == 1 ? "" : "s");
    }
    free(text);
    return errors;
}

static int start_only_changed(const struct mgr_config *old, const struct mgr_config *nc,
                              char *msg, size_t cap)
{
    for (size_t i = 0; i < sizeof start_only / sizeof start_only[0]; i++) {
        const char *a = (const char *)old + start_only[i].off;
        const char *b = (const char *)nc + start_only[i].off;
        if (strcmp(a, b) != 0) {
            snprintf(msg, cap, "%s:%d: %s changed (%s -> %s): it is read at start only; restart "
                     "the daemon for it (not applied, the daemon keeps its configuration)",
                     nc->path, nc->line[start_only[i].s], config_setting_name(start_only[i].s),
                     a, b);
            return -1;
        }
    }
    return 0;
}

/* Put nc in force (taking it over). rotated: what holders_apply rotated. */
static int apply(struct mgr_daemon *d, struct mgr_config *nc, const struct mgr_limits *lim,
                 char *rotated, size_t cap, size_t *closed)
{
    struct mgr_config old = d->cfg;
    d->cfg = *nc;
    memset(nc, 0, sizeof *nc);
    config_free(&old);
    if (lim->log_refusals != d->lim.log_refusals) {
        noise_summaries(&d->noise, &d->audit, cxl_now_ms(), 1);
        noise_init(&d->noise, lim->log_refusals);
    }
    d->lim = *lim;
    policy_mark_revoked(d, 1);
    int rc = state_add_regions(&d->state, &d->cfg, &d->audit);
    int hrc = holders_apply(d, rotated, cap);
    *closed = admit_drop_stale(d);
    return rc ? rc : hrc;
}

int reload_config(struct mgr_daemon *d, const char *by, char *msg, size_t cap)
{
    struct mgr_config nc;
    struct mgr_limits lim;
    char note[256] = "", rotated[1024];
    size_t closed = 0;
    int rc = CXL_EINVAL;
    if (load(d, &nc, msg, cap) != 0 || start_only_changed(&d->cfg, &nc, msg, cap) != 0) {
        /* msg says why */
    } else if (admit_budget(&nc, &lim, note, sizeof note) != 0) {
        snprintf(msg, cap, "%s (not applied, the daemon keeps its configuration)", cxl_last_error());
    } else {
        rc = apply(d, &nc, &lim, rotated, sizeof rotated, &closed);
        snprintf(msg, cap, "reloaded %s: %zu nodes, %zu regions, %zu grants; %s%s%s", d->cfg.path,
                 d->cfg.n_nodes, d->cfg.n_regions, d->cfg.n_grants,
                 rotated[0] ? "rotated without grace (a holder lost it): " : "no region lost a holder",
                 rotated, closed ? "; closed the channels of removed or re-keyed nodes" : "");
        if (note[0]) {
            size_t used = strlen(msg);
            snprintf(msg + used, cap - used, "; %s", note);
        }
        audit_log(&d->audit, 0, "reload config=%s by=%s nodes=%zu regions=%zu grants=%zu "
                  "rotated=%s", d->cfg.path, by, d->cfg.n_nodes, d->cfg.n_regions,
                  d->cfg.n_grants, rotated[0] ? rotated : "-");
        return rc ? policy_not_saved(d, msg, cap) : 0;
    }
    config_free(&nc);
    audit_log(&d->audit, 1, "reload config=%s by=%s refused", d->cfg.path, by);
    return rc;
}
