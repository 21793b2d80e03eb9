/* holders.c - who holds which region, and what happens when one stops
 * holding it (docs/SECURITY.md, "Grant changes, bounded"). The holders of a
 * region are the nodes with an active grant on it that are not revoked,
 * named in the state file by the fingerprints of their public keys. When
 * the daemon starts or reloads its config, every region whose recorded
 * holders include a key that no longer holds it (its grant or its node line
 * removed, or the node's key changed) moves to a new epoch without grace,
 * exactly as a revocation does: the lost holder has the old epoch's keys,
 * and servers stop accepting that epoch within `refresh` seconds. A region
 * whose holders only grew keeps its epoch. A region with no record yet (a
 * version 1 state file, a new region) is recorded as it is. */
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "sec_mgr.h"

static int fp_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The holders of configured region ri now: sorted fingerprints (may be
 * NULL when there are none), their number in *n; -1 when out of memory. */
static int current_holders(const struct mgr_config *c, size_t ri, mgr_fp **out, size_t *n)
{
    mgr_fp *fps = c->n_grants ? calloc(c->n_grants, sizeof *fps) : NULL;
    *out = NULL, *n = 0;
    if (c->n_grants && !fps)
        return cxl_fail(CXL_ESYS, "out of memory");
    for (size_t i = 0; i < c->n_grants; i++) {
        const struct mgr_grant *g = &c->grants[i];
        const struct mgr_node *node = &c->nodes[g->node];
        if (g->region == ri && g->active && !node->revoked)
            cxl_key_fingerprint(node->pub, fps[(*n)++]);
    }
    if (*n)
        qsort(fps, *n, sizeof *fps, fp_cmp);
    *out = fps;
    return 0;
}

/* How many recorded holders of r are not in cur (both sorted). */
static size_t lost_holders(const struct mgr_region_state *r, const mgr_fp *cur, size_t n)
{
    size_t lost = 0;
    for (size_t i = 0; n && i < r->n_holders; i++)
        lost += !bsearch(r->holders[i], cur, n, sizeof *cur, fp_cmp);
    return n ? lost : r->n_holders;
}

/* Record the current holders of region ri; *lost: how many recorded ones
 * are gone (0 when nothing was recorded). */
static int record(struct mgr_daemon *d, size_t ri, struct mgr_region_state *r, size_t *lost)
{
    mgr_fp *cur;
    size_t n;
    int rc = current_holders(&d->cfg, ri, &cur, &n);
    if (rc)
        return rc;
    *lost = r->has_holders ? lost_holders(r, cur, n) : 0;
    state_set_holders(r, cur, n);
    return 0;
}

/* One region that lost a holder: new epoch, no grace (the record set first,
 * so the save that state_new_epoch does has both). */
static int rotate_lost(struct mgr_daemon *d, struct mgr_region_state *r, size_t lost, char *msg,
                       size_t cap)
{
    uint64_t before = r->epoch;
    int rc = state_new_epoch(&d->state, r, 0);
    if (r->epoch == before)
        return rc;
    audit_log(&d->audit, 0, "rotate region=%s epoch=%llu reason=acl-change lost=%zu", r->name,
              (unsigned long long)r->epoch, lost);
    fabric_retire(d, r->name, "acl-change");
    size_t used = strlen(msg);
    snprintf(msg + used, cap - used, "%s%s=%llu", used ? " " : "", r->name,
             (unsigned long long)r->epoch);
    return rc;
}

int holders_apply(struct mgr_daemon *d, char *msg, size_t cap)
{
    int rc = 0;
    msg[0] = '\0';
    for (size_t i = 0; i < d->cfg.n_regions; i++) {
        struct mgr_region_state *r = state_region(&d->state, d->cfg.regions[i].name);
        size_t lost = 0;
        int one = r ? record(d, i, r, &lost) : cxl_fail(CXL_EINVAL, "region %s has no state",
                                                        d->cfg.regions[i].name);
        if (one == 0 && lost)
            one = rotate_lost(d, r, lost, msg, cap);
        rc = rc ? rc : one;
    }
    int saved = state_save(&d->state);
    return rc ? rc : saved;
}

void holders_record(struct mgr_daemon *d)
{
    for (size_t i = 0; i < d->cfg.n_regions; i++) {
        struct mgr_region_state *r = state_region(&d->state, d->cfg.regions[i].name);
        size_t lost;
        if (r && record(d, i, r, &lost) != 0)
            d->state.dirty = 1; /* out of memory: the old record stays, saved again later */
    }
}
