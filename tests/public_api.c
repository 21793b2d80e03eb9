/* public_api.c - the library as a user sees it: built with include/cxl/ alone
 * (no -Isrc/lib, see the Makefile), it formats a medium, serves a tiny
 * key-value store on it from a thread with the serving engine, and talks to
 * it with the client: SET, GET, a missing key, DEL. It proves the public
 * headers are complete and self-contained, and shows the shape of a program
 * built on them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cxl/cluster.h"
#include "cxl/error.h"
#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "cxl/kvproto.h"
#include "cxl/kvserver.h"
#include "cxl/medium.h"
#include "cxl/ring.h"
#include "cxl/util.h"
#include "cxl/wait.h"

static int checks, failed;
#define CHECK(c) (checks++, (c) ? (void)0 : (void)(failed++, fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c)))

/* The store: one key, enough to show the executor's shape. */
struct store {
    char key[64], val[64];
    uint32_t klen, vlen;
    int has;
};

static void execute(void *ud, const struct cxl_kv_request *rq, struct cxl_kv_reply *rp)
{
    struct store *s = ud;
    int same = s->has && rq->klen == s->klen && memcmp(rq->key, s->key, s->klen) == 0;
    switch (rq->op) {
    case CXL_KV_SET:
        if (rq->klen > sizeof s->key || rq->vlen > sizeof s->val) {
            cxl_kv_reply_error(rp, "ERR too long for this store");
            return;
        }
        memcpy(s->key, rq->key, rq->klen), s->klen = rq->klen;
        memcpy(s->val, rq->val, rq->vlen), s->vlen = rq->vlen;
        s->has = 1;
        cxl_kv_reply(rp, CXL_KV_OK, NULL, 0);
        return;
    case CXL_KV_GET:
        cxl_kv_reply(rp, same ? CXL_KV_OK : CXL_KV_NIL, same ? s->val : NULL, same ? s->vlen : 0);
        return;
    case CXL_KV_DEL:
        s->has = s->has && !same;
        cxl_kv_reply_int(rp, same);
        return;
    default:
        cxl_kv_reply_error(rp, "ERR unknown op %u", rq->op);
    }
}

struct serving {
    struct cxl_kv_server *server;
    volatile int stop;
};

static void *serve(void *arg)
{
    struct serving *sv = arg;
    cxl_kv_server_run(sv->server, &sv->stop);
    return NULL;
}

static int result(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    cxl_kv_flush(kv);
    return cxl_kv_wait(kv, r) == 1 ? r->status : -1000;
}

int main(void)
{
    char path[] = "/dev/shm/cxl_public_api_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return perror("mkstemp"), 1;
    close(fd);

    struct cxl_medium_config mc;
    cxl_medium_config_init(&mc);
    mc.path = path;
    mc.map_size = 4u << 20;
    mc.create = 1;
    struct cxl_medium *m = NULL;
    struct cxl_layout *l = NULL;
    struct cxl_format_params fp = {.ring_count = 2, .slot_size = 256};
    CHECK(cxl_medium_open(&mc, &m) == 0 && cxl_layout_format(m, &fp, &l) == 0);
    if (failed) {
        fprintf(stderr, "%s\n", cxl_last_error());
        unlink(path);
        return 1;
    }

    CHECK(cxl_cluster_slot("somekey", 7) == 11058); /* what CLUSTER KEYSLOT says */

    struct store st = {0};
    struct cxl_kv_executor ex = {.ud = &st, .execute = execute};
    struct cxl_kv_server_config sc = {.batch = 16};
    struct serving sv = {0};
    pthread_t th;
    CHECK(cxl_kv_server_create(l, &sc, &ex, &sv.server) == 0);
    CHECK(pthread_create(&th, NULL, serve, &sv) == 0);

    struct cxl_kv_config kc;
    cxl_kv_config_init(&kc);
    kc.medium.path = path;
    struct cxl_kv *kv = NULL;
    CHECK(cxl_kv_open(&kc, &kv) == 0);
    struct cxl_kv_result r;
    if (kv) {
        CHECK(cxl_kv_submit_set(kv, "greeting", 8, "hello", 5, 0, 1) == 0);
        CHECK(result(kv, &r) == CXL_KV_OK && r.tag == 1);
        CHECK(cxl_kv_submit_get(kv, "greeting", 8, 2) == 0);
        CHECK(result(kv, &r) == CXL_KV_OK && r.len == 5 && memcmp(r.data, "hello", 5) == 0);
        CHECK(cxl_kv_submit_get(kv, "other", 5, 3) == 0);
        CHECK(result(kv, &r) == CXL_KV_NIL);
        CHECK(cxl_kv_submit_del(kv, "greeting", 8, 4) == 0);
        CHECK(result(kv, &r) == CXL_KV_INT && r.integer == 1);
        cxl_kv_close(kv);
    } else {
        fprintf(stderr, "cxl_kv_open: %s\n", cxl_last_error());
    }

    sv.stop = 1;
    pthread_join(th, NULL);
    cxl_kv_server_destroy(sv.server);
    cxl_layout_close(l);
    cxl_medium_close(m);
    unlink(path);
    printf("public_api: %d checks, %d failed\n", checks, failed);
    return failed != 0;
}
