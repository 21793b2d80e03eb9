/* mode.c - what cxl_graph does in each mode (docs/GRAPH.md, "Modes"):
 * Native loads the graph and runs the kernel; publish loads it and writes it
 * into the region; attach waits for a publication and runs on it; auto lets
 * exactly one of several starters publish (the winner of the region's
 * compare-and-swap), the others attach. Crypto and Secure fetch the region
 * key first (a shared secret file, or cxl_sec_mgr by ACL). With --fabric
 * the region is the memfd cxl_sec_mgr hands this node by its ACL
 * (docs/FABRIC.md): a publisher seals it after READY, a read-only grant
 * only attaches. Every run can append one CSV row with the original
 * prototype's columns. */
#define _GNU_SOURCE /* F_ADD_SEALS, F_SEAL_WRITE */
#include "graph.h"
#include "region.h"

#include <fcntl.h>
#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>
#include <unistd.h>

#include "cxl/error.h"
#include "cxl/keyring.h"
#include "cxl/wait.h"
#include "report/csv.h"
#include "sec/seal.h"
#include "sec/sec.h"

struct run {
    const struct graph_cli *c;
    struct graph_region *region;
    struct graph g;
    int have_graph;
    struct graph_seal_key key;
    double attach_ms, publish_ms;
    int fabric_fd;          /* --fabric: the region's memfd; -1: none */
    char fabric_name[96];
    char err[512];
};

/* --- the region's descriptor from the fabric (docs/FABRIC.md) */

static int fetch_fabric(struct run *r)
{
    const struct graph_cli *c = r->c;
    struct cxl_node_key k;
    struct cxl_mgr_conn *mc = NULL;
    struct cxl_sec_fd_grant g;
    int rc = cxl_node_key_load(c->shared.sec.key, &k);
    if (rc == 0)
        rc = cxl_mgr_connect_unix(c->shared.fabric, c->shared.sec.node_id, &k, 5000, &mc);
    if (rc == 0)
        rc = cxl_mgr_get_region_fd(mc, c->region, &r->fabric_fd, &g);
    cxl_mgr_close(mc);
    cxl_node_key_wipe(&k);
    if (rc != 0) {
        snprintf(r->err, sizeof r->err, "--fabric %s, region '%s': %s", c->shared.fabric, c->region,
                 cxl_last_error());
        return -1;
    }
    snprintf(r->fabric_name, sizeof r->fabric_name, "fabric region %.63s", c->region);
    printf("Fabric: region %s, %s descriptor, %" PRIu64 " bytes%s\n", c->region,
           g.access == CXL_SEC_FD_RO ? "read-only" : "read-write", g.size,
           g.seals & F_SEAL_WRITE ? ", sealed (F_SEAL_WRITE)" : "");
    return 0;
}

/* --- the key of a sealed graph */

static int fetch_key(struct run *r)
{
    const struct cxl_sec_opts *so = &r->c->shared.sec;
    struct cxl_keyring *kr = NULL;
    struct cxl_ring_keys k;
    int rc = cxl_keyring_open_opts(so, &kr);
    if (rc == 0)
        rc = cxl_keyring_region_keys(kr, r->c->region, &k);
    cxl_keyring_close(kr);
    if (rc != 0) {
        snprintf(r->err, sizeof r->err, "the key of region '%s': %s", r->c->region, cxl_last_error());
        return -1;
    }
    memcpy(r->key.key, k.key, 32);
    r->key.epoch = k.epoch;
    r->key.has_prev = k.has_prev;
    r->key.prev_epoch = k.prev_epoch;
    memcpy(r->key.prev_key, k.prev_key, 32);
    r->key.from_manager = so->secure;
    snprintf(r->key.region, sizeof r->key.region, "%s", r->c->region);
    cxl_ring_keys_wipe(&k);
    return 0;
}

/* --- what graph the command line asks for */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* The provenance of the graph the command line names; 0 when it names none. */
static int wanted(const struct graph_cli *c, struct graph_provenance *p)
{
    memset(p, 0, sizeof *p);
    if (!c->file && c->scale < 0)
        return 0;
    int weighted = strcmp(c->kernel, "sssp") == 0;
    uint64_t h = fnv1a(0xcbf29ce484222325ull, &weighted, sizeof weighted);
    if (c->file) {
        struct stat st;
        memcpy(p->generator, "file", 4);
        p->scale = p->degree = -1;
        h = fnv1a(h, c->file, strlen(c->file));
        if (stat(c->file, &st) == 0) {
            h = fnv1a(h, &st.st_size, sizeof st.st_size);
            h = fnv1a(h, &st.st_mtim, sizeof st.st_mtim);
        }
        h = fnv1a(h, &c->symmetrize, sizeof c->symmetrize);
    } else {
        memcpy(p->generator, c->uniform ? "uniform" : "kron", c->uniform ? 7 : 4);
        p->scale = c->scale;
        p->degree = c->degree;
        p->seed = 27491095;
    }
    p->source_hash = h;
    return 1;
}

/* --- the steps */

static struct graph_region_opts region_opts(const struct run *r)
{
    const struct graph_cli *c = r->c;
    return (struct graph_region_opts){
        .medium = c->shared.medium, .node_id = c->shared.node_id,
        .attach_timeout_ms = c->attach_timeout_ms, .delay_ns = c->shared.delay.latency_ns,
        .zero_copy = c->zero_copy != 0, .pretouch = c->pretouch, .expect_generation = c->expect_generation,
        .expect_publication = c->expect_publication_given ? c->expect_publication : NULL,
        .key = c->shared.sec.crypto || c->shared.sec.secure ? &r->key : NULL,
        .use_fd = r->fabric_fd >= 0, .fd = r->fabric_fd, .fd_name = r->fabric_name};
}

static int publish(struct run *r, const struct graph_provenance *prov)
{
    double t0 = omp_get_wtime();
    if (graph_region_publish(r->region, &r->g, prov, r->err, sizeof r->err) != 0)
        return -1;
    r->publish_ms = (omp_get_wtime() - t0) * 1e3;
    graph_print_time("Publish Time", r->publish_ms / 1e3);
    if (r->fabric_fd >= 0) { /* READY: nobody writes it any more, not even this node */
        if (graph_region_seal(r->region, r->err, sizeof r->err) != 0)
            return -1;
        printf("Fabric: region %s sealed (F_SEAL_WRITE)\n", r->c->region);
    }
    graph_free(&r->g);
    r->have_graph = 0;
    return 0;
}

static int attach(struct run *r, const struct graph_provenance *want)
{
    double t0 = omp_get_wtime();
    if (graph_region_attach(r->region, &r->g, want, r->err, sizeof r->err) != 0)
        return -1;
    r->have_graph = 1;
    r->attach_ms = (omp_get_wtime() - t0) * 1e3;
    graph_print_time("Attach Time", r->attach_ms / 1e3);
    const struct graph_region_header *h = graph_region_header(r->region);
    char prov[160], id[33];
    graph_provenance_describe(&h->prov, prov, sizeof prov);
    sodium_bin2hex(id, sizeof id, h->publication_id, sizeof h->publication_id);
    if (graph_region_sealed(r->region))
        printf("Fabric: sealed region: validated once at attach (zero-copy: every id checked once, the kernels "
               "unchecked), not re-checked after each trial\n");
    printf("Graph region: %s offset %" PRIu64 ", generation %" PRIu64 ", publication %s by node %u, %s, "
           "%s, delay %u ns\n", graph_region_path(r->region), r->c->shared.medium.map_offset, h->generation,
           id, h->owner_node, prov, graph_mode_label(r->c), r->c->shared.delay.latency_ns);
    graph_print_size(&r->g);
    return 0;
}

static int attach_named(struct run *r)
{
    struct graph_provenance want;
    return attach(r, wanted(r->c, &want) ? &want : NULL);
}

/* Loads, claims and publishes (publish, or auto when this starter wins), then attaches. */
static int publish_or_attach(struct run *r)
{
    struct graph_provenance want;
    int named = wanted(r->c, &want);
    int mine = r->c->cxl_mode == GRAPH_PUBLISH ||
               (r->c->cxl_mode == GRAPH_AUTO && graph_region_claim(r->region, &want, 0) == 1);
    if (mine) {
        if (r->c->cxl_mode == GRAPH_PUBLISH)
            graph_region_claim(r->region, &want, 1);
        if (graph_load(&r->g, r->c) != 0) {
            graph_region_abandon(r->region);
            snprintf(r->err, sizeof r->err, "no graph to publish");
            return -1;
        }
        r->have_graph = 1;
        if (publish(r, &want) != 0) {
            graph_region_abandon(r->region);
            return -1;
        }
        if (r->c->publish_only)
            return 1;
    }
    return attach(r, named ? &want : NULL);
}

static int after_trial(void *ud)
{
    struct run *r = ud;
    if (graph_faulted(&r->g))
        return 1; /* graph_run says which element */
    if (graph_region_check(r->region, r->err, sizeof r->err) == 0)
        return 0;
    fprintf(stderr, "cxl_graph: %s\n", r->err);
    return 1;
}

/* --- the CSV row (docs/GRAPH.md, "Output and benchmark") */

static const char CSV_HEADER[] =
    "label,vm,kernel,scale,degree,trials,omp_threads,edge_traversals,avg_time_s,throughput_teps,"
    "mode,host,delay_ns,median_s,min_s,max_s,attach_ms,publish_ms,verified";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int write_csv(const struct run *r, const struct graph_run_result *res)
{
    const struct graph_cli *c = r->c;
    FILE *f = cxl_csv_append(c->csv, CSV_HEADER);
    if (!f) {
        fprintf(stderr, "cxl_graph: --csv %s: %s\n", c->csv, cxl_last_error());
        return -1;
    }
    int n = res->trials;
    double sum = 0, *t = res->times;
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    for (int i = 0; i < n; i++)
        sum += t[i];
    double avg = n ? sum / n : 0, med = !n ? 0 : n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    int64_t degree = r->g.n ? graph_edges(&r->g) / r->g.n : 0;
    cxl_csv_field(f, c->label);
    fputc(',', f);
    cxl_csv_field(f, c->vm);
    fprintf(f, ",%s,%d,%lld,%d,%d,", c->kernel, c->file ? -1 : c->scale, (long long)degree, n,
            omp_get_max_threads());
    if (res->edges > 0 && avg > 0)
        fprintf(f, "%.0f,%.9f,%.1f,", res->edges, avg, res->edges / avg);
    else
        fprintf(f, ",%.9f,,", avg);
    fprintf(f, "%s,", graph_mode_label(c));
    cxl_csv_field(f, c->host);
    fprintf(f, ",%u,%.9f,%.9f,%.9f,%.3f,%.3f,%s\n", c->shared.delay.latency_ns, med, n ? t[0] : 0, n ? t[n - 1] : 0,
            r->attach_ms, r->publish_ms, res->verified < 0 ? "" : res->verified ? "PASS" : "FAIL");
    int rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0 || rc)
        fprintf(stderr, "cxl_graph: --csv %s: write failed\n", c->csv);
    return rc;
}

static int run_kernel(struct run *r)
{
    struct graph_run_result res = {0};
    struct graph_run_ctl ctl = {after_trial, r};
    int rc = graph_run(&r->g, r->c, r->region ? &ctl : NULL, &res);
    if (rc == 0 && r->c->csv && write_csv(r, &res) != 0)
        rc = 1;
    graph_run_result_free(&res);
    return rc;
}

int graph_main(const struct graph_cli *c)
{
    struct run *r = cxl_crypto_init() == 0 ? sodium_malloc(sizeof *r) : NULL; /* the key: locked, wiped */
    int rc;
    if (!r) {
        fprintf(stderr, "cxl_graph: out of memory\n");
        return 1;
    }
    memset(r, 0, sizeof *r);
    r->c = c;
    r->fabric_fd = -1;
    if (c->cxl_mode == GRAPH_NATIVE) {
        r->have_graph = graph_load(&r->g, c) == 0;
        rc = r->have_graph ? run_kernel(r) : 1;
    } else {
        struct graph_region_opts o;
        int sealed = c->shared.sec.crypto || c->shared.sec.secure;
        rc = sealed && fetch_key(r) != 0 ? -1 : 0;
        if (rc == 0 && c->shared.fabric)
            rc = fetch_fabric(r);
        o = region_opts(r);
        if (rc == 0)
            rc = graph_region_open(&o, &r->region, r->err, sizeof r->err);
        if (rc == 0 && graph_region_readonly(r->region) && c->cxl_mode != GRAPH_ATTACH) {
            snprintf(r->err, sizeof r->err, "--fabric: region '%s' is read-only here (%s): it can only be "
                     "attached (--cxl-mode attach)", c->region,
                     graph_region_sealed(r->region) ? "sealed after its publication" : "an ro grant");
            rc = -1;
        }
        if (rc == 0 && c->cxl_mode != GRAPH_ATTACH)
            rc = graph_region_check_writable(r->region, 0, r->err, sizeof r->err); /* before the claim */
        if (rc == 0)
            rc = c->cxl_mode == GRAPH_ATTACH ? attach_named(r) : publish_or_attach(r);
        if (rc < 0)
            fprintf(stderr, "cxl_graph: %s\n", r->err);
        rc = rc < 0 ? 1 : rc == 1 ? 0 : run_kernel(r);
    }
    if (r->have_graph)
        graph_free(&r->g);
    graph_region_close(r->region);
    if (r->fabric_fd >= 0)
        close(r->fabric_fd);
    sodium_free(r);
    return rc;
}
