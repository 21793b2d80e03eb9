/* state.c - what cxl_sec_mgr must not forget across restarts: the master
 * secret (its own 0600 file, created at first start) and the state file
 * (0600, replaced atomically on every change): the epoch of every region
 * ever configured - kept when a region leaves the config, so bringing it
 * back never reuses an epoch -, the nodes that held each region when it was
 * last recorded (so a restart with a grant removed rotates: holders.c), and
 * the public keys revoked for good. The keys a node is handed are derived
 * here, K(r, e), and nowhere stored.
 *
 * State file, one statement per line (version 1 files, without `holders`
 * lines, are read too; the next save writes version 2):
 *   cxl-sec-state 2
 *   region <name> <epoch> <prev epoch or 0> <grace until, unix ms> <rotated at, unix s>
 *   holders <name> <fingerprint>,<fingerprint>,... | -     (after its region line)
 *   revoked <public key hex> <node name>
 * A holder fingerprint is cxl_key_fingerprint() of the node's public key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "cxl/error.h"
#include "cxl/util.h"
#include "sec_mgr.h"

#define STATE_MAX (4u << 20)
#define STATE_VERSION 2
#define EPOCH_MAX UINT32_MAX /* epochs travel as u32 in sealed ring messages */

static int load_master(struct mgr_state *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        int rc = cxl_secret_file_create(path, s->master);
        if (rc == 0)
            fprintf(stderr, "cxl_sec_mgr: created the master secret %s (mode 0600)\n", path);
        return rc;
    }
    return cxl_secret_file_load(path, s->master);
}

static struct mgr_region_state *add_region(struct mgr_state *s, const char *name)
{
    struct mgr_region_state *r = realloc(s->regions, (s->n_regions + 1) * sizeof *r);
    if (!r)
        return NULL;
    s->regions = r;
    r = &s->regions[s->n_regions++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

int state_add_revoked(struct mgr_state *s, const uint8_t pub[32], const char *name)
{
    if (state_is_revoked(s, pub))
        return 0;
    uint8_t (*k)[32] = realloc(s->revoked, (s->n_revoked + 1) * sizeof *k);
    if (k)
        s->revoked = k;
    char (*n)[MGR_NAME_MAX] = realloc(s->revoked_names, (s->n_revoked + 1) * sizeof *n);
    if (n)
        s->revoked_names = n;
    if (!k || !n)
        return cxl_fail(CXL_ESYS, "out of memory");
    memcpy(s->revoked[s->n_revoked], pub, 32);
    snprintf(s->revoked_names[s->n_revoked], MGR_NAME_MAX, "%s", name);
    s->n_revoked++;
    return 0;
}

int state_is_revoked(const struct mgr_state *s, const uint8_t pub[32])
{
    for (size_t i = 0; i < s->n_revoked; i++)
        if (sodium_memcmp(s->revoked[i], pub, 32) == 0)
            return 1;
    return 0;
}

/* ---- the state file ---------------------------------------------------------------- */

static int parse_region_line(struct mgr_state *s, int lineno, char **w)
{
    uint64_t v[4];
    const char *what[4] = {"epoch", "previous epoch", "grace end", "rotation time"};
    for (int i = 0; i < 4; i++)
        if (cxl_parse_u64(what[i], w[2 + i], 0, UINT64_MAX, &v[i]) != 0)
            return cxl_fail(CXL_EINVAL, "%s:%d: %s", s->path, lineno, cxl_last_error());
    if (!cxl_sec_name_valid(w[1]) || v[0] == 0 || v[0] > EPOCH_MAX || v[1] >= v[0])
        return cxl_fail(CXL_EINVAL, "%s:%d: bad region entry", s->path, lineno);
    if (state_region(s, w[1]))
        return cxl_fail(CXL_EINVAL, "%s:%d: region %s twice", s->path, lineno, w[1]);
    struct mgr_region_state *r = add_region(s, w[1]);
    if (!r)
        return cxl_fail(CXL_ESYS, "out of memory");
    r->epoch = v[0], r->prev_epoch = v[1], r->grace_until_ms = v[2], r->rotated_at_s = v[3];
    return 0;
}

static int fp_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int fp_valid(const char *t, size_t len)
{
    return len == CXL_SEC_FINGERPRINT_LEN && strspn(t, "0123456789abcdef") >= len;
}

/* holders <region> <fp>,<fp>,... | - */
static int parse_holders_line(struct mgr_state *s, int lineno, char **w)
{
    struct mgr_region_state *r = state_region(s, w[1]);
    if (!r || r->has_holders)
        return cxl_fail(CXL_EINVAL, "%s:%d: holders of %s: %s", s->path, lineno, w[1],
                        r ? "given twice" : "no region line before it");
    size_t n = strcmp(w[2], "-") == 0 ? 0 : 1;
    for (const char *c = w[2]; n && *c; c++)
        n += *c == ',';
    mgr_fp *fps = n ? calloc(n, sizeof *fps) : NULL;
    if (n && !fps)
        return cxl_fail(CXL_ESYS, "out of memory");
    char *save = NULL, *t = n ? strtok_r(w[2], ",", &save) : NULL;
    size_t got = 0;
    for (; t && got < n; t = strtok_r(NULL, ",", &save), got++) {
        if (!fp_valid(t, strlen(t)))
            break;
        memcpy(fps[got], t, CXL_SEC_FINGERPRINT_LEN + 1);
    }
    if (got != n || t) {
        free(fps);
        return cxl_fail(CXL_EINVAL, "%s:%d: holders of %s: malformed", s->path, lineno, w[1]);
    }
    if (n)
        qsort(fps, n, sizeof *fps, fp_cmp);
    state_set_holders(r, fps, n);
    return 0;
}

static int parse_line(struct mgr_state *s, int lineno, char *line, int *version)
{
    char *w[8];
    int n = 0;
    for (char *t = strtok(line, " \t\r"); t && n < 8; t = strtok(NULL, " \t\r"))
        w[n++] = t;
    if (n == 0 || w[0][0] == '#')
        return 0;
    if (n == 2 && strcmp(w[0], "cxl-sec-state") == 0 && !*version &&
        (strcmp(w[1], "1") == 0 || strcmp(w[1], "2") == 0))
        return *version = w[1][0] - '0', 0;
    if (!*version)
        return cxl_fail(CXL_EINVAL, "%s:%d: not a cxl_sec_mgr state file (version 1 or 2)",
                        s->path, lineno);
    if (n == 6 && strcmp(w[0], "region") == 0)
        return parse_region_line(s, lineno, w);
    if (n == 3 && strcmp(w[0], "holders") == 0 && *version >= 2)
        return parse_holders_line(s, lineno, w);
    uint8_t pub[32];
    if (n == 3 && strcmp(w[0], "revoked") == 0 && cxl_hex32_parse(w[1], strlen(w[1]), pub) == 0)
        return state_add_revoked(s, pub, w[2]);
    return cxl_fail(CXL_EINVAL, "%s:%d: unknown or malformed line", s->path, lineno);
}

static int load_state(struct mgr_state *s)
{
    struct stat st;
    if (stat(s->path, &st) != 0 && errno == ENOENT)
        return 0; /* first start */
    char *buf = malloc(STATE_MAX);
    size_t len;
    if (!buf)
        return cxl_fail(CXL_ESYS, "out of memory");
    int rc = cxl_private_file_read(s->path, buf, STATE_MAX, &len), version = 0, lineno = 0;
    for (char *p = buf, *nl; rc == 0 && p < buf + len; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            nl = buf + len;
        *nl = '\0';
        rc = parse_line(s, ++lineno, p, &version);
    }
    if (rc == 0 && !version)
        rc = cxl_fail(CXL_EINVAL, "%s: empty; expected a cxl_sec_mgr state file", s->path);
    s->loaded_version = version;
    free(buf);
    return rc;
}

int state_save(struct mgr_state *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return cxl_fail_errno(CXL_ESYS, "open_memstream");
    fprintf(f, "# cxl_sec_mgr state: epochs and holders per region, revoked node keys. "
               "Written by the daemon (temporary file + rename).\ncxl-sec-state %d\n",
            STATE_VERSION);
    for (size_t i = 0; i < s->n_regions; i++) {
        const struct mgr_region_state *r = &s->regions[i];
        fprintf(f, "region %s %llu %llu %llu %llu\n", r->name, (unsigned long long)r->epoch,
                (unsigned long long)r->prev_epoch, (unsigned long long)r->grace_until_ms,
                (unsigned long long)r->rotated_at_s);
        if (!r->has_holders)
            continue;
        fprintf(f, "holders %s ", r->name);
        for (size_t h = 0; h < r->n_holders; h++)
            fprintf(f, "%s%s", h ? "," : "", r->holders[h]);
        fprintf(f, "%s\n", r->n_holders ? "" : "-");
    }
    for (size_t i = 0; i < s->n_revoked; i++) {
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, s->revoked[i], 32);
        fprintf(f, "revoked %s %s\n", hex, s->revoked_names[i]);
    }
    fclose(f);
    int rc = text ? cxl_private_file_write(s->path, text, len, 1) : cxl_fail(CXL_ESYS, "out of memory");
    free(text);
    s->dirty = rc != 0;
    return rc;
}

int state_add_regions(struct mgr_state *s, const struct mgr_config *c, struct mgr_audit *a)
{
    for (size_t i = 0; i < c->n_regions; i++) {
        if (state_region(s, c->regions[i].name))
            continue;
        struct mgr_region_state *r = add_region(s, c->regions[i].name);
        if (!r)
            return cxl_fail(CXL_ESYS, "out of memory");
        r->epoch = 1;
        r->rotated_at_s = (cxl_wall_ns() / 1000000u) / 1000;
        audit_log(a, 0, "rotate region=%s epoch=1 reason=new", r->name);
    }
    return 0;
}

int state_open(struct mgr_state *s, const struct mgr_config *c, struct mgr_audit *a)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", c->state);
    int rc = load_master(s, c->master);
    if (rc == 0)
        rc = load_state(s);
    if (rc == 0)
        rc = state_add_regions(s, c, a);
    if (rc == 0)
        rc = state_save(s);
    return rc;
}

void state_set_holders(struct mgr_region_state *r, mgr_fp *fps, size_t n)
{
    free(r->holders);
    r->holders = fps;
    r->n_holders = n;
    r->has_holders = 1;
}

void state_close(struct mgr_state *s)
{
    sodium_memzero(s->master, sizeof s->master);
    for (size_t i = 0; i < s->n_regions; i++)
        free(s->regions[i].holders);
    free(s->regions);
    free(s->revoked);
    free(s->revoked_names);
    memset(s, 0, sizeof *s);
}

struct mgr_region_state *state_region(const struct mgr_state *s, const char *name)
{
    for (size_t i = 0; i < s->n_regions; i++)
        if (strcmp(s->regions[i].name, name) == 0)
            return &s->regions[i]; /* regions is not const: like strchr */
    return NULL;
}

int state_new_epoch(struct mgr_state *s, struct mgr_region_state *r, uint64_t grace_ms)
{
    if (r->epoch >= EPOCH_MAX)
        return cxl_fail(CXL_EINVAL, "region %s: no epochs left", r->name);
    uint64_t now = (cxl_wall_ns() / 1000000u);
    r->prev_epoch = grace_ms ? r->epoch : 0;
    r->grace_until_ms = grace_ms ? now + grace_ms : 0;
    r->epoch++;
    r->rotated_at_s = now / 1000;
    return state_save(s);
}

int state_keys(const struct mgr_state *s, const struct mgr_region_state *r, uint32_t valid_ms,
               struct cxl_region_keys *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->region, sizeof out->region, "%s", r->name);
    out->epoch = r->epoch;
    out->valid_for_ms = valid_ms;
    int rc = cxl_region_key(s->master, r->name, r->epoch, out->key);
    if (rc == 0 && r->prev_epoch && (cxl_wall_ns() / 1000000u) < r->grace_until_ms) {
        out->has_prev = 1;
        out->prev_epoch = r->prev_epoch;
        rc = cxl_region_key(s->master, r->name, r->prev_epoch, out->prev_key);
    }
    if (rc)
        cxl_region_keys_wipe(out);
    return rc;
}
