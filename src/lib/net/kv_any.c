/* kv_any.c - a Redis client over a ring, a RESP socket or a Redis Cluster
 * behind one set of calls (net/kv_any.h): each call goes to cxl_kv,
 * cxl_kvs or cxl_kvc. */
#include <stdlib.h>

#include "cxl/error.h"
#include "net/kv_any.h"
#include "net/kv_cluster.h"
#include "net/kv_socket.h"
#include "net/resp_conn.h"

struct cxl_kv_any {
    struct cxl_kv *ring;   /* exactly one of ring, sock, cluster */
    struct cxl_kvs *sock;
    struct cxl_kvc *cluster;
};

static int open_cluster(const struct cxl_kv_any_config *c, struct cxl_kv_any *db)
{
    struct cxl_kvc_config k = {.seed = c->cluster_seed, .pod_map = c->pod_map, .kv = c->kv,
                               .tls_ca_file = c->tls_ca_file, .tls_ca_hint = c->tls_ca_hint};
    return cxl_kvc_open(&k, &db->cluster);
}

static int open_socket(const struct cxl_kv_any_config *c, struct cxl_kv_any *db)
{
    struct cxl_conn_opts o = {.timeout_ms = c->kv.timeout_ms, .tls_ca_file = c->tls_ca_file,
                              .tls_ca_hint = c->tls_ca_hint};
    int rc = cxl_kvs_open(c->addr, &o, &db->sock);
    if (rc == 0 && c->kv.password)
        rc = cxl_kvs_auth(db->sock, c->kv.user, c->kv.password);
    return rc;
}

int cxl_kv_any_open(const struct cxl_kv_any_config *c, struct cxl_kv_any **out)
{
    struct cxl_kv_any *db = calloc(1, sizeof *db);
    if (!db)
        return cxl_fail(CXL_ESYS, "out of memory");
    int rc = c->addr && c->cluster_seed ? cxl_fail(CXL_EINVAL, "a socket address or a cluster seed, not both")
             : c->addr                  ? open_socket(c, db)
             : c->cluster_seed          ? open_cluster(c, db)
             : c->pod_map               ? cxl_fail(CXL_EINVAL, "a pod map needs a cluster seed")
                                        : cxl_kv_open(&c->kv, &db->ring);
    if (rc) {
        cxl_kv_any_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void cxl_kv_any_close(struct cxl_kv_any *db)
{
    if (!db)
        return;
    if (db->ring)
        cxl_kv_close(db->ring);
    if (db->sock)
        cxl_kvs_close(db->sock);
    cxl_kvc_close(db->cluster);
    free(db);
}

int cxl_kv_any_get(struct cxl_kv_any *db, const void *key, uint32_t klen, uint64_t tag)
{
    if (db->cluster)
        return cxl_kvc_submit_get(db->cluster, key, klen, tag);
    return db->ring ? cxl_kv_submit_get(db->ring, key, klen, tag) : cxl_kvs_submit_get(db->sock, key, klen, tag);
}

int cxl_kv_any_set(struct cxl_kv_any *db, const void *key, uint32_t klen, const void *val, uint32_t vlen,
                   uint64_t tag)
{
    if (db->cluster)
        return cxl_kvc_submit_set(db->cluster, key, klen, val, vlen, tag);
    return db->ring ? cxl_kv_submit_set(db->ring, key, klen, val, vlen, 0, tag)
                    : cxl_kvs_submit_set(db->sock, key, klen, val, vlen, 0, tag);
}

int cxl_kv_any_del(struct cxl_kv_any *db, const void *key, uint32_t klen, uint64_t tag)
{
    if (db->cluster)
        return cxl_kvc_submit_del(db->cluster, key, klen, tag);
    return db->ring ? cxl_kv_submit_del(db->ring, key, klen, tag) : cxl_kvs_submit_del(db->sock, key, klen, tag);
}

int cxl_kv_any_command(struct cxl_kv_any *db, int argc, const char *const *argv, const size_t *argvlen,
                       uint64_t tag)
{
    if (db->cluster)
        return cxl_kvc_submit_command(db->cluster, argc, argv, argvlen, tag);
    return db->ring ? cxl_kv_submit_command(db->ring, argc, argv, argvlen, tag)
                    : cxl_kvs_submit_command(db->sock, argc, argv, argvlen, tag);
}

void cxl_kv_any_flush(struct cxl_kv_any *db)
{
    if (db->cluster)
        cxl_kvc_flush(db->cluster);
    else if (db->ring)
        cxl_kv_flush(db->ring);
    else
        cxl_kvs_flush(db->sock);
}

int cxl_kv_any_poll(struct cxl_kv_any *db, struct cxl_kv_result *r)
{
    if (db->cluster)
        return cxl_kvc_poll(db->cluster, r);
    return db->ring ? cxl_kv_poll(db->ring, r) : cxl_kvs_poll(db->sock, r);
}

int cxl_kv_any_wait(struct cxl_kv_any *db, struct cxl_kv_result *r)
{
    if (db->cluster)
        return cxl_kvc_wait(db->cluster, r);
    if (db->ring)
        return cxl_kv_wait(db->ring, r);
    cxl_kvs_flush(db->sock);
    return cxl_kvs_wait(db->sock, r);
}

int cxl_kv_any_is_ring(const struct cxl_kv_any *db) { return db->ring != NULL; }

int cxl_kv_any_is_cluster(const struct cxl_kv_any *db) { return db->cluster != NULL; }

void cxl_kv_any_stats(const struct cxl_kv_any *db, struct cxl_kv_stats *st)
{
    if (db->cluster)
        cxl_kvc_ring_stats(db->cluster, st);
    else if (db->ring)
        cxl_kv_get_stats(db->ring, st);
    else
        *st = (struct cxl_kv_stats){0};
}

uint32_t cxl_kv_any_rings(const struct cxl_kv_any *db)
{
    return db->ring ? cxl_kv_geometry(db->ring)->ring_count : 0;
}

void cxl_kv_any_cluster_stats(const struct cxl_kv_any *db, struct cxl_kvc_stats *st)
{
    if (db->cluster)
        cxl_kvc_get_stats(db->cluster, st);
    else
        *st = (struct cxl_kvc_stats){0};
}
