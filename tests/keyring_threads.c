/* keyring_threads.c - one keyring shared by several threads, as
 * `cxl_ring_direct --threads N --secure` shares it: each connection's
 * heartbeat thread fetches its ring's keys when they are due, through the
 * keyring's one channel to cxl_sec_mgr. Fetches from four threads at once
 * must each get their ring's keys (a real cxl_sec_mgr, refresh 1 s).
 * Usage: keyring_threads BUILD_DIR */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "sec_harness.h"
#include "cxl/keyring.h"

#define THREADS 4
#define FETCHES 150

static struct cxl_keyring *kr;

static void *fetcher(void *arg)
{
    uint32_t ring = (uint32_t)(uintptr_t)arg;
    uintptr_t failed = 0;
    for (int i = 0; i < FETCHES; i++) {
        struct cxl_ring_keys k;
        if (cxl_keyring_fetch(kr, ring) != 0 || cxl_keyring_lookup(kr, ring, &k) != 0) {
            if (!failed)
                fprintf(stderr, "  ring %u, fetch %d: %s\n", ring, i, cxl_last_error());
            failed++;
            continue;
        }
        cxl_ring_keys_wipe(&k);
    }
    return (void *)failed;
}

int main(int argc, char **argv)
{
    const char *build = argc > 1 ? argv[1] : "build";
    char module[512], tool[512], mgr_tool[512], logdir[300], dir[64] = "/tmp/cxl-keyring.XXXXXX", key[300];
    if (harness_paths(build, "keyring_threads", module, tool, mgr_tool, logdir) != 0 || !mkdtemp(dir))
        return 1;
    struct sec_mgr m;
    sec_init(&m, dir, mgr_tool);
    int rc = sec_provision(&m, THREADS, 1) | sec_add_node(&m, 1, "client", key, sizeof key);
    for (int r = 0; r < THREADS; r++) {
        char region[16];
        snprintf(region, sizeof region, "ring%d", r);
        rc |= sec_add_grant(&m, "client", region, "rw");
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(sec_make_master(&m), 0);
    CHECK_EQ(sec_start(&m, 1, key), 0);
    CHECK_EQ(cxl_keyring_open_manager(m.addr, 1, key, &kr), 0);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; kr && i < THREADS; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, fetcher, (void *)i), 0);
    uintptr_t failed = 0;
    for (int i = 0; kr && i < THREADS; i++) {
        void *f;
        pthread_join(t[i], &f);
        failed += (uintptr_t)f;
    }
    printf("%d threads x %d fetches on one keyring: %lu failed\n", THREADS, FETCHES, (unsigned long)failed);
    CHECK_EQ(failed, 0);
    cxl_keyring_close(kr);
    CHECK_EQ(sec_stop(&m, SIGTERM), 0);
    CHECK(!sec_sanitizer_report(&m));
    snprintf(key, sizeof key, "rm -rf %s", dir);
    CHECK_EQ(system(key), 0);
    return check_summary("keyring_threads");
}
