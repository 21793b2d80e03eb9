/* keys.c - the keys of a secure ring inside the module: a keyring (crypto
 * mode: derived from the shared secret; secure mode: fetched from
 * cxl_sec_mgr), filled at load, then kept fresh by a thread that asks again
 * whenever half a key's validity has passed (that bounds how long a revoked
 * node is still served: docs/SECURITY.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "module.h"

#define REFRESH_TICK_MS 100

struct keys_refresher {
    struct cxl_keyring *kr;
    uint32_t rings;
    pthread_t thread;
    volatile int stop;
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

/* Fetch every ring that is due; say so (rarely) when the manager refuses. */
static void refresh(struct keys_refresher *k, int verbose)
{
    for (uint32_t i = 0; i < k->rings; i++) {
        if (!cxl_keyring_due(k->kr, i))
            continue;
        int rc = cxl_keyring_fetch(k->kr, i);
        if (rc && verbose)
            fprintf(stderr, "cxl ring: keys for ring %u: %s\n", i, cxl_last_error());
        else if (rc == 0 && verbose)
            check_binding(k, i);
    }
}

static void *refresh_thread(void *arg)
{
    struct keys_refresher *k = arg;
    struct timespec tick = {0, REFRESH_TICK_MS * 1000000L};
    unsigned n = 0;
    while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
        refresh(k, ++n % 100 == 0); /* complaints at most every 10 s */
        nanosleep(&tick, NULL);
    }
    return NULL;
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
    k->rings = rings;
    refresh(k, 1); /* rings without keys now are served once the manager grants them */
    if (pthread_create(&k->thread, NULL, refresh_thread, k) != 0) {
        snprintf(err, errlen, "cannot start the key refresh thread");
        free(k);
        cxl_keyring_close(*kr);
        *kr = NULL;
        return -1;
    }
    *out = k;
    return 0;
}

void keys_stop(struct keys_refresher *k)
{
    if (!k)
        return;
    __atomic_store_n(&k->stop, 1, __ATOMIC_RELEASE);
    pthread_join(k->thread, NULL);
    free(k);
}
