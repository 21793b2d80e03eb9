/* oneshot.c - one command over the ring (or, with --cluster, to the node
 * of its key's slot), its reply printed as redis-cli prints it. GET, SET
 * (on the ring with EX/PX) and DEL of one key take the fast paths;
 * everything else goes as a generic command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "net/resp.h"

/* SET k v [EX s | PX ms]: fast path; 0 with *ttl_ms, or -1 if it needs CMD */
static int fast_set_ttl(int argc, char **argv, uint64_t *ttl_ms)
{
    *ttl_ms = 0;
    if (argc == 3)
        return 0;
    if (argc != 5)
        return -1;
    char *end;
    unsigned long long v = strtoull(argv[4], &end, 10);
    if (*end || v == 0 || argv[4][0] == '-')
        return -1;
    if (strcasecmp(argv[3], "PX") == 0)
        *ttl_ms = v;
    else if (strcasecmp(argv[3], "EX") == 0 && v < (1ull << 40))
        *ttl_ms = v * 1000;
    else
        return -1;
    return 0;
}

static size_t *arg_lens(int argc, char **argv)
{
    size_t *lens = malloc((size_t)argc * sizeof *lens);
    for (int i = 0; lens && i < argc; i++)
        lens[i] = strlen(argv[i]);
    return lens;
}

static int submit(struct cxl_kv *kv, int argc, char **argv)
{
    uint64_t ttl;
    if (argc == 2 && strcasecmp(argv[0], "GET") == 0)
        return cxl_kv_submit_get(kv, argv[1], (uint32_t)strlen(argv[1]), 0);
    if (argc == 2 && strcasecmp(argv[0], "DEL") == 0)
        return cxl_kv_submit_del(kv, argv[1], (uint32_t)strlen(argv[1]), 0);
    if (argc >= 3 && strcasecmp(argv[0], "SET") == 0 && fast_set_ttl(argc, argv, &ttl) == 0)
        return cxl_kv_submit_set(kv, argv[1], (uint32_t)strlen(argv[1]), argv[2],
                                 (uint32_t)strlen(argv[2]), ttl, 0);
    size_t *lens = arg_lens(argc, argv);
    if (!lens)
        return CXL_ESYS;
    int rc = cxl_kv_submit_command(kv, argc, (const char *const *)argv, lens, 0);
    free(lens);
    return rc;
}

/* The same through the cluster client: GET, SET k v and DEL fast, the rest generic. */
static int submit_any(struct cxl_kv_any *db, int argc, char **argv)
{
    if (argc == 2 && strcasecmp(argv[0], "GET") == 0)
        return cxl_kv_any_get(db, argv[1], (uint32_t)strlen(argv[1]), 0);
    if (argc == 2 && strcasecmp(argv[0], "DEL") == 0)
        return cxl_kv_any_del(db, argv[1], (uint32_t)strlen(argv[1]), 0);
    if (argc == 3 && strcasecmp(argv[0], "SET") == 0)
        return cxl_kv_any_set(db, argv[1], (uint32_t)strlen(argv[1]), argv[2], (uint32_t)strlen(argv[2]), 0);
    size_t *lens = arg_lens(argc, argv);
    if (!lens)
        return CXL_ESYS;
    int rc = cxl_kv_any_command(db, argc, (const char *const *)argv, lens, 0);
    free(lens);
    return rc;
}

/* Print a fast-path result the way redis-cli prints the equivalent reply. */
static int print_result(const struct cxl_kv_result *r, int raw)
{
    switch (r->status) {
    case CXL_KV_OK:
        if (r->op == CXL_KV_GET) {
            if (raw)
                fwrite(r->data, 1, r->len, stdout);
            else
                cxl_resp_print_quoted(stdout, r->data, r->len);
            putchar('\n');
        } else {
            puts("OK");
        }
        return 0;
    case CXL_KV_NIL: puts(raw ? "" : "(nil)"); return 0;
    case CXL_KV_INT: printf(raw ? "%lld\n" : "(integer) %lld\n", (long long)r->integer); return 0;
    case CXL_KV_ERR:
        printf(raw ? "%.*s\n\n" : "(error) %.*s\n", (int)r->len, (const char *)r->data);
        return 0;
    case CXL_KV_REPLY:
        if (cxl_resp_print(stdout, r->data, r->len, raw) < 0) {
            fprintf(stderr, "cxl_ring_direct: bad reply from the server: %s\n", cxl_last_error());
            return -1;
        }
        return 0;
    default:
        fprintf(stderr, "cxl_ring_direct: %s: %.*s\n", cxl_strerror(r->status), (int)r->len,
                (const char *)r->data);
        return -1;
    }
}

static int oneshot_cluster(const struct client_opts *o)
{
    struct cxl_kv_any *db;
    if (transport_open(o, 0, &db) != 0) {
        fprintf(stderr, "cxl_ring_direct: %s\n", cxl_last_error());
        return CLIENT_EXIT_FAIL;
    }
    int rc = submit_any(db, o->argc, o->argv);
    struct cxl_kv_result r;
    if (rc == 0 && (rc = cxl_kv_any_wait(db, &r)) == 1)
        rc = print_result(&r, o->raw);
    else
        fprintf(stderr, "cxl_ring_direct: %s\n", rc == 0 ? "no reply" : cxl_last_error()), rc = -1;
    struct cxl_kvc_stats st;
    cxl_kv_any_cluster_stats(db, &st);
    if (st.ring_fallbacks) /* said, not hidden: the pod map promised a ring */
        fprintf(stderr, "cxl_ring_direct: warning: %llu pod node(s) reached over TCP: the ring of its medium "
                        "could not be opened or failed (check the pod map)\n", (unsigned long long)st.ring_fallbacks);
    cxl_kv_any_close(db);
    return rc == 0 ? CLIENT_EXIT_OK : CLIENT_EXIT_FAIL;
}

int oneshot_run(const struct client_opts *o)
{
    if (o->cluster)
        return oneshot_cluster(o);
    struct cxl_kv_config cfg = o->kv;
    cfg.claim_wait_ms = cfg.claim_wait_ms ? cfg.claim_wait_ms : 3000;
    struct cxl_kv *kv;
    if (cxl_kv_open(&cfg, &kv) != 0) {
        fprintf(stderr, "cxl_ring_direct: %s\n", cxl_last_error());
        return CLIENT_EXIT_FAIL;
    }
    int rc = submit(kv, o->argc, o->argv);
    struct cxl_kv_result r;
    if (rc == 0 && (rc = cxl_kv_wait(kv, &r)) == 1)
        rc = print_result(&r, o->raw);
    else /* the submit, or the wait (the ring lost, repaired, timed out ...), failed: say why */
        fprintf(stderr, "cxl_ring_direct: %s\n", rc == 0 ? "no reply" : cxl_last_error()), rc = -1;
    cxl_kv_close(kv);
    return rc == 0 ? CLIENT_EXIT_OK : CLIENT_EXIT_FAIL;
}
