/* keys.c - the keys of a secure ring inside the module: a keyring (crypto
 * mode: derived from the shared secret; secure mode: fetched from
 * cxl_sec_mgr), filled at load, then kept fresh by the keyring's own thread,
 * which asks again whenever half a key's validity has passed (that bounds
 * how long a revoked node is still served: docs/SECURITY.md); what it hears
 * is logged here. */
#include <stdio.h>
#include <stdlib.h>

#include "cxl/wait.h"
#include "module.h"

#define SAY_EVERY_NS (10ull * 1000000000ull) /* a ring's complaints at most this often */

struct keys_refresher {
    struct cxl_keyring *kr;
    uint64_t said_ns[CXL_MAX_RINGS]; /* per ring: when its last fetch was logged */
};

const char *keys_mode_name(const struct module_config *c)
{
    return c->secure ? "secure" : c->crypto ? "crypto" : "off";
}

/* A server needs the region keys of the rings it serves (a serve grant):
 * with a client's node keys (an rw grant) it could open no client's
 * session. */
static void check_binding(struct keys_refresher *k, uint32_t ring)
{
    struct cxl_ring_keys rk;
    if (cxl_keyring_lookup(k->kr, ring, &rk) == 0 && rk.binding == CXL_KEYS_NODE)
        fprintf(stderr, "cxl ring: ring %u: this server's node %u holds the ring as a client (an rw grant); "
                "a server needs 'grant <node> <region> serve' in cxl_sec_mgr's ACL\n", ring,
                cxl_keyring_node(k->kr));
    cxl_ring_keys_wipe(&rk);
}

/* Each fetch's outcome (the keyring's thread, or keys_start's first pass):
 * a refusal, or keys of the wrong kind, said at most every 10 s per ring. */
static void report(void *ud, uint32_t ring, int rc)
{
    struct keys_refresher *k = ud;
    uint64_t now = cxl_now_ns();
    if (k->said_ns[ring] && now - k->said_ns[ring] < SAY_EVERY_NS)
        return;
    k->said_ns[ring] = now;
    if (rc)
        fprintf(stderr, "cxl ring: keys for ring %u: %s\n", ring, cxl_last_error());
    else
        check_binding(k, ring);
}

int keys_start(const struct module_config *c, uint32_t rings, struct cxl_keyring **kr,
               struct keys_refresher **out, char *err, size_t errlen)
{
    *kr = NULL;
    *out = NULL;
    if (!c->secure && !c->crypto)
        return 0;
    int rc = c->secure ? cxl_keyring_open_manager(c->sec_mgr, (uint16_t)c->node_id, c->key, kr)
                       : cxl_keyring_open_crypto(c->key_file, kr);
    struct keys_refresher *k = rc == 0 ? calloc(1, sizeof *k) : NULL;
    if (rc || !k) {
        snprintf(err, errlen, "%s", rc ? cxl_last_error() : "out of memory");
        cxl_keyring_close(*kr);
        *kr = NULL;
        return -1;
    }
    k->kr = *kr;
    cxl_keyring_on_refresh(*kr, report, k);
    for (uint32_t i = 0; i < rings && rc == 0; i++)
        rc = cxl_keyring_watch(*kr, i);
    if (rc) {
        snprintf(err, errlen, "%s", cxl_last_error());
        cxl_keyring_close(*kr);
        free(k);
        *kr = NULL;
        return -1;
    }
    cxl_keyring_refresh(*kr); /* now: rings without keys are served once the manager grants them */
    *out = k;
    return 0;
}

/* Before the keyring is closed (its thread reports to k until then). */
void keys_stop(struct keys_refresher *k)
{
    free(k);
}
