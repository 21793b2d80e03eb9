/* keygen.c - the node-side subcommands of cxl_sec_mgr: `keygen` (a node's
 * or the manager's key pair, mode 0600; for a node, the manager's public key
 * from the config and the `node` line to paste into it) and the debugging
 * `fetch` (connect as a node, ask for a region's keys, print the epochs and
 * key FINGERPRINTS, never a key). `check` is here too: it is the config
 * parser's report. */
#include <libgen.h>
#include <string.h>

#include <sodium.h>

#include "cxl/error.h"
#include "sec_mgr.h"

static int fail(const char *what)
{
    fprintf(stderr, "cxl_sec_mgr: %s%s%s\n", what ? what : "", what ? ": " : "", cxl_last_error());
    return MGR_EXIT_FAIL;
}

/* ---- keygen ------------------------------------------------------------------------ */

/* --name, else the key file's name without its extension, else node<id>. */
static void default_name(const struct mgr_opts *o, uint16_t id, char *name, size_t cap)
{
    char tmp[MGR_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", o->out);
    char *base = basename(tmp), *dot = strchr(base, '.');
    if (dot)
        *dot = '\0';
    if (o->name)
        snprintf(name, cap, "%s", o->name);
    else if (cxl_sec_name_valid(base))
        snprintf(name, cap, "%s", base);
    else
        snprintf(name, cap, "node%u", id);
}

/* The manager's public key and a free id / unused name, from the config. */
static int from_config(const struct mgr_opts *o, struct cxl_node_key *k, uint16_t *id,
                       char *name, size_t cap)
{
    struct mgr_config c;
    struct cxl_node_key mgr;
    int errors = config_load(o->config, 0, &c, stderr), rc = MGR_EXIT_FAIL;
    if (errors) {
        fprintf(stderr, "cxl_sec_mgr: %s: fix the config first (cxl_sec_mgr check)\n", o->config);
    } else if (cxl_node_key_load(c.manager_key, &mgr) != 0) {
        fail("manager-key");
    } else {
        memcpy(k->manager_public, mgr.public_key, 32);
        k->has_manager_public = 1;
        for (size_t i = 0; !o->node_id_given && i < c.n_nodes; i++)
            if (c.nodes[i].id >= *id)
                *id = (uint16_t)(c.nodes[i].id + 1);
        default_name(o, *id, name, cap);
        const struct mgr_node *dup = config_node_by_id(&c, *id);
        const struct mgr_node *dupn = config_node_by_name(&c, name);
        if (dup || dupn)
            fprintf(stderr, "cxl_sec_mgr: %s:%d: node %s is already in the config (choose "
                    "another --id / --name)\n", c.path, (dup ? dup : dupn)->line,
                    dup ? "id" : "name");
        else
            rc = MGR_EXIT_OK;
    }
    cxl_node_key_wipe(&mgr);
    config_free(&c);
    return rc;
}

int cmd_keygen(const struct mgr_opts *o)
{
    struct cxl_node_key k;
    uint16_t id = o->node_id_given ? o->node_id : 1;
    char name[MGR_NAME_MAX];
    if (cxl_node_key_generate(&k) != 0)
        return fail("keygen");
    int rc = MGR_EXIT_OK;
    if (!o->manager && o->config)
        rc = from_config(o, &k, &id, name, sizeof name);
    else if (!o->manager)
        default_name(o, id, name, sizeof name);
    if (rc == MGR_EXIT_OK && !o->manager && !cxl_sec_name_valid(name)) {
        fprintf(stderr, "cxl_sec_mgr: --name %s: 1..63 letters, digits, '_', '.', '-', starting "
                "with a letter\n", name);
        rc = MGR_EXIT_USAGE;
    }
    if (rc == MGR_EXIT_OK && cxl_key_file_write(o->out, &k, o->force) != 0)
        rc = fail(strstr(cxl_last_error(), "already exists") ? "keygen (--force replaces it)"
                                                             : "keygen");
    char pub[65];
    sodium_bin2hex(pub, sizeof pub, k.public_key, 32);
    cxl_node_key_wipe(&k);
    if (rc != MGR_EXIT_OK)
        return rc;
    if (o->manager) {
        fprintf(stderr, "cxl_sec_mgr: wrote the manager key pair %s (0600); config line:\n", o->out);
        printf("manager-key %s\n", o->out);
        return MGR_EXIT_OK;
    }
    fprintf(stderr, "cxl_sec_mgr: wrote %s (0600)%s; add this line to the config:\n", o->out,
            o->config ? "" : " WITHOUT the manager's public key (use --config): it cannot "
                             "connect until it has one");
    printf("node %u %s %s\n", id, name, pub);
    return MGR_EXIT_OK;
}

/* ---- check ---------------------------------------------------------------------------- */

int cmd_check(const struct mgr_opts *o)
{
    struct mgr_config c;
    int errors = config_load(o->config, 1, &c, stderr);
    if (errors)
        fprintf(stderr, "%s: %d error%s\n", o->config, errors, errors == 1 ? "" : "s");
    else
        printf("%s: ok: %zu nodes, %zu regions, %zu grants; rotate %u s, refresh %u s\n",
               o->config, c.n_nodes, c.n_regions, c.n_grants, c.rotate_s, c.refresh_s);
    config_free(&c);
    return errors ? MGR_EXIT_FAIL : MGR_EXIT_OK;
}

/* ---- fetch (debugging) ---------------------------------------------------------------- */

static void print_keys(const struct cxl_region_keys *k)
{
    char fp[CXL_SEC_FINGERPRINT_LEN + 1], pfp[CXL_SEC_FINGERPRINT_LEN + 1] = "-";
    cxl_key_fingerprint(k->key, fp);
    if (k->has_prev)
        cxl_key_fingerprint(k->prev_key, pfp);
    printf("region=%s epoch=%llu key=%s has_prev=%d prev_epoch=%llu prev_key=%s "
           "valid_for_ms=%u binding=%s", k->region, (unsigned long long)k->epoch, fp, k->has_prev,
           (unsigned long long)k->prev_epoch, pfp, k->valid_for_ms,
           k->binding == CXL_SEC_BIND_REGION ? "region" : "node");
    if (k->binding == CXL_SEC_BIND_REGION) {
        printf(" clients=");
        for (uint32_t i = 0; i < k->n_clients; i++)
            printf("%s%u:%s", i ? "," : "", k->clients[i].node, k->clients[i].user[0] ? k->clients[i].user : "-");
        if (!k->n_clients)
            printf("-");
    }
    printf("\n");
}

int cmd_fetch(const struct mgr_opts *o)
{
    struct cxl_node_key k;
    struct cxl_mgr_conn *c = NULL;
    static struct cxl_region_keys keys; /* large: the client list */
    if (cxl_node_key_load(o->key, &k) != 0)
        return fail("fetch");
    int rc = cxl_mgr_connect(o->mgr, o->node_id, &k, o->timeout_ms, &c);
    cxl_node_key_wipe(&k);
    if (rc == 0 && o->ping)
        rc = cxl_mgr_ping(c);
    else if (rc == 0 && o->ring_given)
        rc = cxl_mgr_get_keys_ring(c, o->ring, &keys);
    else if (rc == 0)
        rc = cxl_mgr_get_keys_name(c, o->region, &keys);
    if (rc == 0 && o->ping)
        printf("PONG\n");
    else if (rc == 0)
        print_keys(&keys);
    cxl_region_keys_wipe(&keys);
    cxl_mgr_close(c);
    return rc ? fail("fetch") : MGR_EXIT_OK;
}
