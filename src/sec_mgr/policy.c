/* policy.c - the decisions of the running cxl_sec_mgr (docs/SECURITY.md,
 * "Requests on the channel", "Revocation, bounded"): which node gets which
 * region's keys (a ring's: node keys or the region key by grant mode; a
 * range's: the region key to every granted node), rotation (on request and
 * periodic, with a grace of 2 x refresh for the previous epoch), revocation
 * (the node's grants go, its key is refused for good, every region it held
 * moves to a new epoch with no grace). Every grant, refusal, rotation and
 * revocation is audited; refusals and revocations also go to stderr;
 * refusals of peers that never authenticated are rate-limited (noise.c). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cxl/error.h"
#include "sec_mgr.h"

static uint64_t grace_ms(const struct mgr_daemon *d)
{
    return 2ull * d->cfg.refresh_s * 1000u;
}

int policy_lookup(void *daemon, uint16_t id, uint8_t pub[32])
{
    const struct mgr_daemon *d = daemon;
    const struct mgr_node *n = config_node_by_id(&d->cfg, id);
    if (!n)
        return -1;
    memcpy(pub, n->pub, 32);
    return 0;
}

void policy_refuse_peer(struct mgr_daemon *d, int have_id, uint16_t node_id, const char *reason,
                        const char *peer)
{
    if (!noise_allow(&d->noise, noise_kind(reason), cxl_now_ms()))
        return;
    const struct mgr_node *n = have_id ? config_node_by_id(&d->cfg, node_id) : NULL;
    char id[8] = "?";
    if (have_id)
        snprintf(id, sizeof id, "%u", node_id);
    audit_log(&d->audit, 1, "refuse node=%s(%s) reason=%s peer=%s", id, n ? n->name : "?",
              reason, peer);
}

/* ---- KEYS and PING ------------------------------------------------------------------- */

static int refuse(struct mgr_daemon *d, const struct mgr_node *n, const char *region,
                  const char *reason, uint8_t *reply, size_t cap)
{
    audit_log(&d->audit, 1, "refuse node=%u(%s) region=%s reason=%s", n->id, n->name, region,
              reason);
    return cxl_sec_reply_refuse(reason, reply, cap);
}

/* What a grant hands out (docs/SECURITY.md, "Keys"): of a ring, to a client
 * (rw) its node keys K(r, e, n), to the server (serve) the region keys and
 * the region's clients with their Redis users; of a range (a publication
 * every granted host seals or opens), the region keys K(r, e) to every
 * grant, with no clients. */
static int bind_keys(const struct mgr_daemon *d, const struct mgr_node *n, const struct mgr_region *cr,
                     enum mgr_grant_mode mode, struct cxl_region_keys *k)
{
    if (cr->kind == MGR_REGION_RANGE) {
        k->binding = CXL_SEC_BIND_REGION;
        return 0;
    }
    if (mode == MGR_GRANT_SERVE) {
        k->binding = CXL_SEC_BIND_REGION;
        size_t ri = (size_t)(cr - d->cfg.regions);
        for (size_t i = 0; i < d->cfg.n_grants; i++) {
            const struct mgr_grant *g = &d->cfg.grants[i];
            if (!g->active || g->region != ri || g->mode != MGR_GRANT_RW || d->cfg.nodes[g->node].revoked)
                continue;
            struct cxl_region_client *c = &k->clients[k->n_clients++];
            c->node = d->cfg.nodes[g->node].id;
            snprintf(c->user, sizeof c->user, "%s", d->cfg.nodes[g->node].user);
        }
        return 0;
    }
    k->binding = CXL_SEC_BIND_NODE;
    int rc = cxl_node_region_key(k->key, n->id, k->key);
    if (rc == 0 && k->has_prev)
        rc = cxl_node_region_key(k->prev_key, n->id, k->prev_key);
    return rc;
}

static int grant(struct mgr_daemon *d, const struct mgr_node *n, const struct mgr_region *cr,
                 enum mgr_grant_mode mode, uint8_t *reply, size_t cap)
{
    struct mgr_region_state *r = state_region(&d->state, cr->name);
    static struct cxl_region_keys k; /* large (the client list); one request at a time */
    if (!r) /* cannot happen: state_open gives every configured region an epoch */
        return cxl_fail(CXL_EPROTO, "region %s has no state", cr->name);
    int rc = state_keys(&d->state, r, d->cfg.refresh_s * 1000u, &k);
    if (rc == 0)
        rc = bind_keys(d, n, cr, mode, &k);
    if (rc == 0)
        rc = cxl_sec_reply_keys(&k, reply, cap);
    cxl_region_keys_wipe(&k);
    if (rc >= 0)
        audit_log(&d->audit, 0, "grant node=%u(%s) region=%s epoch=%llu%s", n->id, n->name,
                  cr->name, (unsigned long long)r->epoch, mode == MGR_GRANT_SERVE ? " mode=serve" : mode == MGR_GRANT_RO ? " mode=ro" : "");
    return rc;
}

int policy_request(struct mgr_daemon *d, uint16_t node_id, const uint8_t pub[32],
                      const uint8_t *msg, size_t len, const struct mgr_req_conn *on,
                      uint8_t *reply, size_t cap)
{
    struct cxl_sec_request q;
    const struct mgr_node *n = config_node_by_id(&d->cfg, node_id);
    int rc = cxl_sec_request_parse(msg, len, &q);
    if (rc)
        return rc;
    if (!n || sodium_memcmp(n->pub, pub, 32) != 0) /* reconfigured since the handshake */
        return cxl_fail(CXL_EPROTO, "node %u is not configured with this key now", node_id);
    if (q.kind == CXL_SEC_REQ_PING)
        return cxl_sec_reply_pong(reply, cap);
    if (q.kind == CXL_SEC_REQ_FD) {
        int none = -1;
        return fabric_request(d, n, q.region, on && on->on_fabric, on ? on->sock : -1,
                              on ? on->pass_fd : &none, reply, cap);
    }
    const struct mgr_region *r = q.kind == CXL_SEC_REQ_KEYS_RING
                                     ? config_region_by_ring(&d->cfg, q.ring)
                                     : config_region_by_name(&d->cfg, q.region);
    char label[MGR_NAME_MAX + 16];
    if (r)
        snprintf(label, sizeof label, "%s", r->name);
    else if (q.kind == CXL_SEC_REQ_KEYS_RING)
        snprintf(label, sizeof label, "ring:%u", q.ring);
    else
        snprintf(label, sizeof label, "%s", q.region);
    if (!r)
        return refuse(d, n, label, "unknown-region", reply, cap);
    if (n->revoked)
        return refuse(d, n, label, "revoked", reply, cap);
    const struct mgr_grant *g = config_grant(&d->cfg, (size_t)(n - d->cfg.nodes), (size_t)(r - d->cfg.regions));
    if (!g)
        return refuse(d, n, label, "no-grant", reply, cap);
    return grant(d, n, r, g->mode, reply, cap);
}

/* ---- rotate --------------------------------------------------------------------------- */

static int rotate_one(struct mgr_daemon *d, const char *name, const char *reason, char *msg,
                      size_t cap)
{
    struct mgr_region_state *r = state_region(&d->state, name);
    if (!r)
        return cxl_fail(CXL_EINVAL, "region %s has no state", name);
    uint64_t before = r->epoch;
    int rc = state_new_epoch(&d->state, r, grace_ms(d));
    if (r->epoch == before)
        return rc; /* no new epoch (the only failure after one: the state file) */
    audit_log(&d->audit, 0, "rotate region=%s epoch=%llu reason=%s", name,
              (unsigned long long)r->epoch, reason);
    size_t used = strlen(msg);
    snprintf(msg + used, cap - used, "%s%s=%llu", used ? " " : "", name,
             (unsigned long long)r->epoch);
    return rc;
}

int policy_not_saved(struct mgr_daemon *d, char *msg, size_t cap)
{
    char why[256];
    snprintf(why, sizeof why, "%s", cxl_last_error());
    size_t used = strlen(msg);
    snprintf(msg + used, cap - used, "; but the state file %s was not saved (%s): a restart "
             "now would return to the old epochs", d->state.path, why);
    return CXL_ESYS;
}

int policy_rotate(struct mgr_daemon *d, const char *region, const char *reason, char *msg,
                  size_t cap)
{
    int rc = 0;
    msg[0] = '\0';
    if (region && !config_region_by_name(&d->cfg, region)) {
        snprintf(msg, cap, "unknown region '%s'", region);
        return CXL_EINVAL;
    }
    snprintf(msg, cap, "new epochs:");
    for (size_t i = 0; i < d->cfg.n_regions; i++) {
        const char *name = d->cfg.regions[i].name;
        if (region && strcmp(region, name) != 0)
            continue;
        int one = rotate_one(d, name, reason, msg, cap);
        rc = rc ? rc : one;
    }
    return rc ? policy_not_saved(d, msg, cap) : 0;
}

/* ---- revoke ---------------------------------------------------------------------------- */

/* Every region n held: grant dropped, new epoch without grace; the names
 * and epochs into regions / epochs. */
static int revoke_regions(struct mgr_daemon *d, const struct mgr_node *n, char *regions,
                          char *epochs, size_t cap)
{
    size_t ni = (size_t)(n - d->cfg.nodes);
    int rc = 0;
    regions[0] = epochs[0] = '\0';
    for (size_t i = 0; i < d->cfg.n_grants; i++) {
        struct mgr_grant *g = &d->cfg.grants[i];
        if (g->node != ni || !g->active)
            continue;
        g->active = 0;
        const char *name = d->cfg.regions[g->region].name;
        struct mgr_region_state *r = state_region(&d->state, name);
        int one = r ? state_new_epoch(&d->state, r, 0) : cxl_fail(CXL_EINVAL, "no state");
        rc = rc ? rc : one;
        fabric_retire(d, name, "revoke");
        size_t lr = strlen(regions), le = strlen(epochs);
        snprintf(regions + lr, cap - lr, "%s%s", lr ? "," : "", name);
        snprintf(epochs + le, cap - le, "%s%llu", le ? "," : "",
                 (unsigned long long)(r ? r->epoch : 0));
    }
    if (!regions[0]) {
        snprintf(regions, cap, "-");
        snprintf(epochs, cap, "-");
    }
    return rc;
}

int policy_revoke(struct mgr_daemon *d, const char *node, char *msg, size_t cap)
{
    struct mgr_node *n = config_node_by_name(&d->cfg, node);
    if (!n) {
        snprintf(msg, cap, "unknown node '%s'", node);
        return CXL_EINVAL;
    }
    if (n->revoked) {
        snprintf(msg, cap, "node %u(%s) was already revoked", n->id, n->name);
        return 0;
    }
    n->revoked = 1;
    int rc = state_add_revoked(&d->state, n->pub, n->name);
    char regions[1024], epochs[512];
    int rrc = revoke_regions(d, n, regions, epochs, sizeof epochs);
    rc = rc ? rc : rrc;
    holders_record(d); /* it held them; rotated above: not a loss to rotate again */
    if (rc == 0)
        rc = state_save(&d->state);
    audit_log(&d->audit, 1, "revoke node=%u(%s) regions=%s epoch=%s", n->id, n->name, regions,
              epochs);
    snprintf(msg, cap, "revoked node=%u(%s) regions=%s epoch=%s; remove its node and grant "
             "lines from %s (its key stays refused)", n->id, n->name, regions, epochs,
             d->cfg.path);
    return rc ? policy_not_saved(d, msg, cap) : 0;
}

void policy_mark_revoked(struct mgr_daemon *d, int verbose)
{
    for (size_t i = 0; i < d->cfg.n_nodes; i++) {
        struct mgr_node *n = &d->cfg.nodes[i];
        if (!state_is_revoked(&d->state, n->pub))
            continue;
        n->revoked = 1;
        if (verbose)
            fprintf(stderr, "cxl_sec_mgr: %s:%d: node %u(%s) holds a revoked key (state file): "
                    "it is refused; remove it from the config, or give it a new key\n",
                    d->cfg.path, n->line, n->id, n->name);
    }
}

/* ---- the timer ---------------------------------------------------------------------------- */

void policy_tick(struct mgr_daemon *d)
{
    uint64_t now_s = (cxl_wall_ns() / 1000000u) / 1000;
    char msg[256];
    for (size_t i = 0; d->cfg.rotate_s && i < d->cfg.n_regions; i++) {
        const struct mgr_region_state *r = state_region(&d->state, d->cfg.regions[i].name);
        if (r && now_s >= r->rotated_at_s + d->cfg.rotate_s) {
            msg[0] = '\0';
            if (rotate_one(d, r->name, "period", msg, sizeof msg) != 0)
                fprintf(stderr, "cxl_sec_mgr: periodic rotation of %s: %s\n", r->name,
                        cxl_last_error());
        }
    }
    if (d->state.dirty) {
        if (state_save(&d->state) == 0)
            fprintf(stderr, "cxl_sec_mgr: state file %s saved\n", d->state.path);
    }
    noise_summaries(&d->noise, &d->audit, cxl_now_ms(), 0);
}

int policy_next_ms(const struct mgr_daemon *d)
{
    uint64_t now = (cxl_wall_ns() / 1000000u), best = 1000;
    for (size_t i = 0; d->cfg.rotate_s && i < d->cfg.n_regions; i++) {
        const struct mgr_region_state *r = state_region(&d->state, d->cfg.regions[i].name);
        uint64_t due = r ? (r->rotated_at_s + d->cfg.rotate_s) * 1000u : now;
        uint64_t left = due > now ? due - now : 0;
        if (left < best)
            best = left;
    }
    return (int)best;
}
