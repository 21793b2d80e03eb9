/* config.c - the configuration file of cxl_sec_mgr: one statement per line,
 * `#` starts a comment anywhere, words separated by blanks; relative paths
 * are relative to the file's directory. The parser reports every error with
 * its line number and goes on, so `check` lists them all: unknown keyword,
 * wrong number of words, settings given twice, bad numbers, bad names,
 * duplicate node ids / names / keys, bad hex, duplicate regions and rings,
 * overlapping ranges, grants to unknown nodes or regions, duplicate grants,
 * and (check_files) files that are missing, unreadable or not 0600. */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cxl/error.h"
#include "cxl/ring.h"
#include "cxl/util.h"
#include "sec_mgr.h"

#define MAX_WORDS 8
#define LINE_MAX_LEN 4096

struct parser {
    struct mgr_config *c;
    FILE *errs;
    int errors;
    int line;
    int rotate_line, refresh_line;
    char dir[MGR_PATH_MAX];
};

static void err(struct parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(struct parser *p, int line, const char *fmt, ...)
{
    p->errors++;
    if (!p->errs)
        return;
    va_list ap;
    if (line > 0)
        fprintf(p->errs, "%s:%d: ", p->c->path, line);
    else
        fprintf(p->errs, "%s: ", p->c->path);
    va_start(ap, fmt);
    vfprintf(p->errs, fmt, ap);
    va_end(ap);
    fputc('\n', p->errs);
}

/* Split a line into words in place; a # starts a comment. */
static int split(char *s, char **w)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    int n = 0;
    for (char *tok = strtok(s, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n"), n++)
        if (n <= MAX_WORDS)
            w[n] = tok;
    return n;
}

static int need_words(struct parser *p, int argc, int want, const char *usage)
{
    if (argc == want)
        return 0;
    err(p, p->line, "'%s' takes %d value%s, %d given", usage, want - 1, want == 2 ? "" : "s",
        argc - 1);
    return -1;
}

/* ---- settings ------------------------------------------------------------------ */

static void set_path(struct parser *p, char *dst, int *line, const char *kw, const char *val)
{
    if (*line) {
        err(p, p->line, "'%s' given twice (first at line %d)", kw, *line);
        return;
    }
    int n = val[0] == '/' ? snprintf(dst, MGR_PATH_MAX, "%s", val)
                          : snprintf(dst, MGR_PATH_MAX, "%s/%s", p->dir, val);
    if (n >= MGR_PATH_MAX)
        err(p, p->line, "%s: path too long", kw);
    *line = p->line;
}

static void set_seconds(struct parser *p, uint32_t *dst, int *line, const char *kw,
                        const char *val, uint32_t min, uint32_t max)
{
    if (*line)
        err(p, p->line, "'%s' given twice (first at line %d)", kw, *line);
    else if (cxl_parse_u32(kw, val, min, max, dst) != 0)
        err(p, p->line, "%s", cxl_last_error());
    *line = p->line;
}

/* ---- node, region, grant ----------------------------------------------------------- */

/* Room for element n of arr (capacity: 8, then doubling at powers of two). */
static void *grow(void *arr, size_t n, size_t size)
{
    if ((n > 0 && n < 8) || (n & (n - 1)))
        return arr;
    void *p = realloc(arr, (n ? 2 * n : 8) * size);
    if (!p) {
        fprintf(stderr, "cxl_sec_mgr: out of memory\n");
        exit(MGR_EXIT_FAIL);
    }
    return p;
}

static int check_name(struct parser *p, const char *what, const char *name)
{
    if (cxl_sec_name_valid(name))
        return 0;
    err(p, p->line, "%s name '%.64s': 1..%u of letters, digits, '_', '.', '-', starting with "
        "a letter", what, name, CXL_SEC_REGION_MAX);
    return -1;
}

static void add_node(struct parser *p, char **w)
{
    struct mgr_config *c = p->c;
    struct mgr_node n = {.line = p->line};
    uint32_t id;
    int bad = 0;
    if (cxl_parse_u32("node id", w[1], 1, 65535, &id) != 0) {
        err(p, p->line, "%s", cxl_last_error());
        bad = 1;
    }
    n.id = (uint16_t)id;
    bad |= check_name(p, "node", w[2]) != 0;
    if (!bad)
        snprintf(n.name, sizeof n.name, "%s", w[2]);
    if (cxl_hex32_parse(w[3], strlen(w[3]), n.pub) != 0) {
        err(p, p->line, "node %s: public key: expected 64 hex digits (an X25519 public key)", w[2]);
        bad = 1;
    }
    for (size_t i = 0; i < c->n_nodes && !bad; i++) {
        const struct mgr_node *o = &c->nodes[i];
        if (o->id == n.id)
            err(p, p->line, "duplicate node id %u (first at line %d)", n.id, o->line), bad = 1;
        else if (strcmp(o->name, n.name) == 0)
            err(p, p->line, "duplicate node name '%s' (first at line %d)", n.name, o->line), bad = 1;
        else if (memcmp(o->pub, n.pub, 32) == 0)
            err(p, p->line, "node %s has the same public key as node %s (line %d)", n.name,
                o->name, o->line), bad = 1;
    }
    if (bad)
        return;
    c->nodes = grow(c->nodes, c->n_nodes, sizeof n);
    c->nodes[c->n_nodes++] = n;
}

static int parse_region_kind(struct parser *p, int argc, char **w, struct mgr_region *r)
{
    if (strcmp(w[2], "ring") == 0) {
        if (need_words(p, argc, 4, "region <name> ring <n>") != 0)
            return -1;
        r->kind = MGR_REGION_RING;
        if (cxl_parse_u32("ring", w[3], 0, CXL_MAX_RINGS - 1, &r->ring) == 0)
            return 0;
    } else if (strcmp(w[2], "range") == 0) {
        if (need_words(p, argc, 5, "region <name> range <offset> <length>") != 0)
            return -1;
        r->kind = MGR_REGION_RANGE;
        if (cxl_parse_u64("range offset", w[3], 0, UINT64_MAX, &r->offset) == 0 &&
            cxl_parse_u64("range length", w[4], 0, UINT64_MAX, &r->length) == 0) {
            if (r->length && r->length <= UINT64_MAX - r->offset)
                return 0;
            cxl_fail(CXL_EINVAL, r->length ? "range passes the end of the 64-bit space"
                                           : "range length must be at least 1");
        }
    } else {
        err(p, p->line, "region %s: kind '%.32s': must be 'ring' or 'range'", w[1], w[2]);
        return -1;
    }
    err(p, p->line, "region %s: %s", w[1], cxl_last_error());
    return -1;
}

static int region_clash(struct parser *p, const struct mgr_region *r, const struct mgr_region *o)
{
    if (strcmp(o->name, r->name) == 0)
        err(p, p->line, "duplicate region name '%s' (first at line %d)", r->name, o->line);
    else if (r->kind == MGR_REGION_RING && o->kind == MGR_REGION_RING && r->ring == o->ring)
        err(p, p->line, "region %s: ring %u is already region %s (line %d)", r->name, r->ring,
            o->name, o->line);
    else if (r->kind == MGR_REGION_RANGE && o->kind == MGR_REGION_RANGE &&
             r->offset < o->offset + o->length && o->offset < r->offset + r->length)
        err(p, p->line, "region %s: range 0x%llx+0x%llx overlaps region %s (line %d)", r->name,
            (unsigned long long)r->offset, (unsigned long long)r->length, o->name, o->line);
    else
        return 0;
    return -1;
}

static void add_region(struct parser *p, int argc, char **w)
{
    struct mgr_config *c = p->c;
    if (argc < 3) {
        err(p, p->line, "'region <name> ring <n>' or 'region <name> range <offset> <length>'");
        return;
    }
    struct mgr_region r = {.line = p->line};
    if (check_name(p, "region", w[1]) != 0 || parse_region_kind(p, argc, w, &r) != 0)
        return;
    snprintf(r.name, sizeof r.name, "%s", w[1]);
    for (size_t i = 0; i < c->n_regions; i++)
        if (region_clash(p, &r, &c->regions[i]) != 0)
            return;
    c->regions = grow(c->regions, c->n_regions, sizeof r);
    c->regions[c->n_regions++] = r;
}

static void add_grant(struct parser *p, char **w)
{
    struct mgr_config *c = p->c;
    struct mgr_node *n = config_node_by_name(c, w[1]);
    struct mgr_region *r = config_region_by_name(c, w[2]);
    if (!n)
        err(p, p->line, "grant to unknown node '%.64s' (a node line must come first)", w[1]);
    if (!r)
        err(p, p->line, "grant of unknown region '%.64s' (a region line must come first)", w[2]);
    if (strcmp(w[3], "rw") != 0)
        err(p, p->line, "grant mode '%.16s': only 'rw' (a region key both reads and writes)",
            w[3]);
    if (!n || !r || strcmp(w[3], "rw") != 0)
        return;
    struct mgr_grant g = {.node = (size_t)(n - c->nodes), .region = (size_t)(r - c->regions),
                          .line = p->line, .active = 1};
    for (size_t i = 0; i < c->n_grants; i++)
        if (c->grants[i].node == g.node && c->grants[i].region == g.region) {
            err(p, p->line, "duplicate grant of %s to %s (first at line %d)", r->name, n->name,
                c->grants[i].line);
            return;
        }
    c->grants = grow(c->grants, c->n_grants, sizeof g);
    c->grants[c->n_grants++] = g;
}

/* ---- one line ------------------------------------------------------------------------- */

static void statement(struct parser *p, int argc, char **w)
{
    struct mgr_config *c = p->c;
    static const struct { const char *kw; size_t off, line_off; } paths[] = {
        {"manager-key", offsetof(struct mgr_config, manager_key), offsetof(struct mgr_config, manager_key_line)},
        {"master", offsetof(struct mgr_config, master), offsetof(struct mgr_config, master_line)},
        {"state", offsetof(struct mgr_config, state), offsetof(struct mgr_config, state_line)},
        {"audit", offsetof(struct mgr_config, audit), offsetof(struct mgr_config, audit_line)},
        {"control", offsetof(struct mgr_config, control), offsetof(struct mgr_config, control_line)},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (strcmp(w[0], paths[i].kw) == 0) {
            if (need_words(p, argc, 2, paths[i].kw) == 0)
                set_path(p, (char *)c + paths[i].off, (int *)((char *)c + paths[i].line_off),
                         paths[i].kw, w[1]);
            return;
        }
    if (strcmp(w[0], "rotate") == 0) {
        if (need_words(p, argc, 2, "rotate") == 0)
            set_seconds(p, &c->rotate_s, &p->rotate_line, "rotate", w[1], 0, 366u * 86400);
    } else if (strcmp(w[0], "refresh") == 0) {
        if (need_words(p, argc, 2, "refresh") == 0)
            set_seconds(p, &c->refresh_s, &p->refresh_line, "refresh", w[1], 1, 86400);
    } else if (strcmp(w[0], "node") == 0) {
        if (need_words(p, argc, 4, "node <id> <name> <public key>") == 0)
            add_node(p, w);
    } else if (strcmp(w[0], "region") == 0) {
        add_region(p, argc, w);
    } else if (strcmp(w[0], "grant") == 0) {
        if (need_words(p, argc, 4, "grant <node> <region> rw") == 0)
            add_grant(p, w);
    } else {
        err(p, p->line, "unknown keyword '%.32s' (manager-key, master, state, audit, control, "
            "rotate, refresh, node, region, grant)", w[0]);
    }
}

/* ---- the files the config names ----------------------------------------------------- */

static void check_private(struct parser *p, const char *kw, const char *path, int line,
                          int must_exist)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || must_exist)
            err(p, line, "%s %s: %s", kw, path, strerror(errno));
        return; /* created at first start */
    }
    if (cxl_private_file_check(path) != 0)
        err(p, line, "%s: %s", kw, cxl_last_error());
}

static void check_files(struct parser *p)
{
    struct mgr_config *c = p->c;
    if (c->manager_key_line) {
        struct cxl_node_key k;
        if (cxl_node_key_load(c->manager_key, &k) != 0)
            err(p, c->manager_key_line, "manager-key: %s", cxl_last_error());
        cxl_node_key_wipe(&k);
    }
    if (c->master_line)
        check_private(p, "master", c->master, c->master_line, 0);
    if (c->state_line)
        check_private(p, "state", c->state, c->state_line, 0);
    if (c->audit_line)
        check_private(p, "audit", c->audit, c->audit_line, 0);
    struct stat st;
    if (c->control_line && stat(c->control, &st) == 0 && !S_ISSOCK(st.st_mode))
        err(p, c->control_line, "control %s: exists and is not a socket", c->control);
}

static void check_complete(struct parser *p)
{
    const struct mgr_config *c = p->c;
    const struct { const char *kw; int line; } need[] = {
        {"manager-key", c->manager_key_line}, {"master", c->master_line},
        {"state", c->state_line}, {"audit", c->audit_line}, {"control", c->control_line},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!need[i].line)
            err(p, 0, "no '%s' statement", need[i].kw);
    if (c->rotate_s && c->rotate_s < 2 * c->refresh_s)
        err(p, p->rotate_line ? p->rotate_line : p->refresh_line,
            "rotate %u: must be 0 or at least 2 x refresh (%u s)", c->rotate_s, c->refresh_s);
}

int config_load(const char *path, int files, struct mgr_config *c, FILE *errs)
{
    memset(c, 0, sizeof *c);
    c->rotate_s = 3600;
    c->refresh_s = 1;
    struct parser p = {.c = c, .errs = errs};
    snprintf(c->path, sizeof c->path, "%s", path);
    char tmp[MGR_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(p.dir, sizeof p.dir, "%s", dirname(tmp));
    FILE *f = fopen(path, "r");
    if (!f) {
        err(&p, 0, "cannot open: %s", strerror(errno));
        return p.errors;
    }
    char line[LINE_MAX_LEN];
    char *w[MAX_WORDS + 1];
    while (fgets(line, sizeof line, f)) {
        p.line++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            err(&p, p.line, "line longer than %d bytes", LINE_MAX_LEN - 2);
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        int argc = split(line, w);
        if (argc > MAX_WORDS)
            err(&p, p.line, "too many words");
        else if (argc > 0)
            statement(&p, argc, w);
    }
    fclose(f);
    check_complete(&p);
    if (files)
        check_files(&p);
    return p.errors;
}

void config_free(struct mgr_config *c)
{
    free(c->nodes);
    free(c->regions);
    free(c->grants);
    memset(c, 0, sizeof *c);
}

/* ---- lookups ------------------------------------------------------------------------------ */

struct mgr_node *config_node_by_id(const struct mgr_config *c, uint16_t id)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].id == id)
            return &c->nodes[i];
    return NULL;
}

struct mgr_node *config_node_by_name(const struct mgr_config *c, const char *name_or_id)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (strcmp(c->nodes[i].name, name_or_id) == 0)
            return &c->nodes[i];
    size_t n = strlen(name_or_id);
    if (n == 0 || n > 5 || strspn(name_or_id, "0123456789") != n)
        return NULL;
    unsigned long id = strtoul(name_or_id, NULL, 10);
    return id <= 65535 ? config_node_by_id(c, (uint16_t)id) : NULL;
}

struct mgr_region *config_region_by_ring(const struct mgr_config *c, uint32_t ring)
{
    for (size_t i = 0; i < c->n_regions; i++)
        if (c->regions[i].kind == MGR_REGION_RING && c->regions[i].ring == ring)
            return &c->regions[i];
    return NULL;
}

struct mgr_region *config_region_by_name(const struct mgr_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_regions; i++)
        if (strcmp(c->regions[i].name, name) == 0)
            return &c->regions[i];
    return NULL;
}

int config_granted(const struct mgr_config *c, size_t ni, size_t ri)
{
    for (size_t i = 0; i < c->n_grants; i++)
        if (c->grants[i].active && c->grants[i].node == ni && c->grants[i].region == ri)
            return 1;
    return 0;
}
