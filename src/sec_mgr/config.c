/* config.c - the configuration file of cxl_sec_mgr: one statement per line,
 * `#` starts a comment anywhere, words separated by blanks; relative paths
 * are relative to the file's directory. Every keyword is a row of one table
 * (keywords[]: settings with their range and default, and the repeatable
 * node / region / grant statements with their parsers); grant modes are a
 * table too (grant_modes[]). The parser reports every error with its line
 * number and goes on, so `check` lists them all: unknown keyword,
 * wrong number of words, settings given twice, bad numbers, bad names,
 * duplicate node ids / names / keys, bad hex, duplicate regions and rings,
 * overlapping ranges, grants to unknown nodes or regions, duplicate grants,
 * a per-source / per-node limit above its pool's, and (check_files) files
 * that are missing, unreadable or not 0600. */
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

/* node <id> <name> <public key> [user <redis user>] */
static void add_node(struct parser *p, int argc, char **w)
{
    struct mgr_config *c = p->c;
    if (argc != 4 && !(argc == 6 && strcmp(w[4], "user") == 0)) {
        err(p, p->line, "'node <id> <name> <public key> [user <redis user>]': %d words given", argc);
        return;
    }
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
    if (argc == 6 && !cxl_sec_user_valid(w[5])) {
        err(p, p->line, "node %s: user '%.64s': 1..%u printable characters, no blank or '#'", w[2], w[5],
            CXL_SEC_USER_MAX);
        bad = 1;
    } else if (argc == 6) {
        snprintf(n.user, sizeof n.user, "%s", w[5]);
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

/* Grant modes: what a region key lets a node do. To add one: a row here and
 * an enum mgr_grant_mode value. */
static const struct {
    const char *name;
    const char *meaning;
} grant_modes[] = {
    [MGR_GRANT_RW] = {"rw", "a ring's client: its node key; a range: the region key"},
    [MGR_GRANT_SERVE] = {"serve", "a ring's server: the region key and its clients; a range: the region key"},
    [MGR_GRANT_RO] = {"ro", "a range only: the region key and a read-only descriptor on the fabric socket"},
};
#define N_GRANT_MODES (sizeof grant_modes / sizeof grant_modes[0])

static int parse_grant_mode(struct parser *p, const char *word, enum mgr_grant_mode *mode)
{
    char list[256] = "";
    for (size_t i = 0, used = 0; i < N_GRANT_MODES; i++) {
        if (strcmp(word, grant_modes[i].name) == 0)
            return *mode = (enum mgr_grant_mode)i, 0;
        used += (size_t)snprintf(list + used, sizeof list - used, "%s'%s' (%s)", i ? ", " : "",
                                 grant_modes[i].name, grant_modes[i].meaning);
    }
    err(p, p->line, "grant mode '%.16s': one of %s", word, list);
    return -1;
}

static void add_grant(struct parser *p, int argc, char **w)
{
    struct mgr_config *c = p->c;
    struct mgr_node *n = config_node_by_name(c, w[1]);
    struct mgr_region *r = config_region_by_name(c, w[2]);
    enum mgr_grant_mode mode = MGR_GRANT_RW;
    (void)argc;
    if (!n)
        err(p, p->line, "grant to unknown node '%.64s' (a node line must come first)", w[1]);
    if (!r)
        err(p, p->line, "grant of unknown region '%.64s' (a region line must come first)", w[2]);
    if (parse_grant_mode(p, w[3], &mode) != 0 || !n || !r)
        return;
    if (mode == MGR_GRANT_RO && r->kind != MGR_REGION_RANGE) {
        err(p, p->line, "grant mode 'ro' is for range regions; %s is a ring", r->name);
        return;
    }
    struct mgr_grant g = {.node = (size_t)(n - c->nodes), .region = (size_t)(r - c->regions),
                          .mode = mode, .line = p->line, .active = 1};
    for (size_t i = 0; i < c->n_grants; i++)
        if (c->grants[i].node == g.node && c->grants[i].region == g.region) {
            err(p, p->line, "duplicate grant of %s to %s (first at line %d)", r->name, n->name,
                c->grants[i].line);
            return;
        }
    c->grants = grow(c->grants, c->n_grants, sizeof g);
    c->grants[c->n_grants++] = g;
}

/* ---- the keyword table ----------------------------------------------------------------- */

enum kw_type { KW_PATH, KW_NUMBER, KW_STATEMENT };

/* One statement of the file. Settings (KW_PATH, KW_NUMBER) take one value,
 * stored at off in struct mgr_config, and may be given once; statements
 * (KW_STATEMENT) may repeat and have their own parser. To add one: a row
 * here (and, for a setting, an enum mgr_setting value and a field). */
struct keyword {
    const char *kw;
    enum kw_type type;
    int setting;          /* settings: enum mgr_setting */
    size_t off;           /* settings: char[MGR_PATH_MAX] or uint32_t in mgr_config */
    uint32_t min, max, def; /* KW_NUMBER */
    int required;         /* a config without it is an error */
    int words;            /* statements: words including the keyword (0: the parser checks) */
    const char *usage;    /* statements: shown for a wrong number of words */
    void (*parse)(struct parser *p, int argc, char **w);
};

#define PATH(k, s, f) {k, KW_PATH, s, offsetof(struct mgr_config, f), 0, 0, 0, 1, 2, NULL, NULL}
#define NUMBER(k, s, f, lo, hi, d) \
    {k, KW_NUMBER, s, offsetof(struct mgr_config, f), lo, hi, d, 0, 2, NULL, NULL}
#define STATEMENT(k, n, u, fn) {k, KW_STATEMENT, -1, 0, 0, 0, 0, 0, n, u, fn}

static const struct keyword keywords[] = {
    PATH("manager-key", MGR_SET_MANAGER_KEY, manager_key),
    PATH("master", MGR_SET_MASTER, master),
    PATH("state", MGR_SET_STATE, state),
    PATH("audit", MGR_SET_AUDIT, audit),
    PATH("control", MGR_SET_CONTROL, control),
    /* optional: the fabric's Unix socket (docs/FABRIC.md) */
    {"fabric", KW_PATH, MGR_SET_FABRIC, offsetof(struct mgr_config, fabric), 0, 0, 0, 0, 2, NULL, NULL},
    NUMBER("rotate", MGR_SET_ROTATE, rotate_s, 0, 366u * 86400, 3600),
    NUMBER("refresh", MGR_SET_REFRESH, refresh_s, 1, 86400, 1),
    NUMBER("max-control", MGR_SET_MAX_CONTROL, lim.max_control, 1, 1024, 16),
    NUMBER("max-channels", MGR_SET_MAX_CHANNELS, lim.max_channels, 1, 1000000, 1024),
    NUMBER("max-channels-per-node", MGR_SET_MAX_CHANNELS_PER_NODE, lim.max_channels_per_node, 1,
           1000000, 64),
    NUMBER("max-handshakes", MGR_SET_MAX_HANDSHAKES, lim.max_handshakes, 1, 1000000, 256),
    NUMBER("max-handshakes-per-source", MGR_SET_MAX_HANDSHAKES_PER_SOURCE,
           lim.max_handshakes_per_source, 1, 1000000, 32),
    NUMBER("handshake-timeout", MGR_SET_HANDSHAKE_TIMEOUT, lim.handshake_timeout_s, 1, 600, 5),
    NUMBER("log-refusals", MGR_SET_LOG_REFUSALS, lim.log_refusals, 1, 100000, 10),
    STATEMENT("node", 0, NULL, add_node),
    STATEMENT("region", 0, NULL, add_region),
    STATEMENT("grant", 4, "grant <node> <region> <mode>", add_grant),
};
#define N_KEYWORDS (sizeof keywords / sizeof keywords[0])

const char *config_setting_name(enum mgr_setting s)
{
    for (size_t i = 0; i < N_KEYWORDS; i++)
        if (keywords[i].type != KW_STATEMENT && keywords[i].setting == (int)s)
            return keywords[i].kw;
    return "?";
}

static void set_value(struct parser *p, const struct keyword *k, const char *val)
{
    struct mgr_config *c = p->c;
    int *line = &c->line[k->setting];
    if (*line) {
        err(p, p->line, "'%s' given twice (first at line %d)", k->kw, *line);
        return;
    }
    *line = p->line;
    if (k->type == KW_PATH) {
        char *dst = (char *)c + k->off;
        int n = val[0] == '/' ? snprintf(dst, MGR_PATH_MAX, "%s", val)
                              : snprintf(dst, MGR_PATH_MAX, "%s/%s", p->dir, val);
        if (n >= MGR_PATH_MAX)
            err(p, p->line, "%s: path too long", k->kw);
    } else if (cxl_parse_u32(k->kw, val, k->min, k->max, (uint32_t *)((char *)c + k->off)) != 0) {
        err(p, p->line, "%s", cxl_last_error());
    }
}

static void unknown_keyword(struct parser *p, const char *word)
{
    char list[512] = "";
    for (size_t i = 0, used = 0; i < N_KEYWORDS && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 keywords[i].kw);
    err(p, p->line, "unknown keyword '%.32s' (%s)", word, list);
}

static void statement(struct parser *p, int argc, char **w)
{
    for (size_t i = 0; i < N_KEYWORDS; i++) {
        const struct keyword *k = &keywords[i];
        if (strcmp(w[0], k->kw) != 0)
            continue;
        if (k->words && need_words(p, argc, k->words, k->usage ? k->usage : k->kw) != 0)
            return;
        if (k->type == KW_STATEMENT)
            k->parse(p, argc, w);
        else
            set_value(p, k, w[1]);
        return;
    }
    unknown_keyword(p, w[0]);
}

static void set_defaults(struct mgr_config *c)
{
    for (size_t i = 0; i < N_KEYWORDS; i++)
        if (keywords[i].type == KW_NUMBER)
            *(uint32_t *)((char *)c + keywords[i].off) = keywords[i].def;
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
    const int *line = c->line;
    if (line[MGR_SET_MANAGER_KEY]) {
        struct cxl_node_key k;
        if (cxl_node_key_load(c->manager_key, &k) != 0)
            err(p, line[MGR_SET_MANAGER_KEY], "manager-key: %s", cxl_last_error());
        cxl_node_key_wipe(&k);
    }
    if (line[MGR_SET_MASTER])
        check_private(p, "master", c->master, line[MGR_SET_MASTER], 0);
    if (line[MGR_SET_STATE])
        check_private(p, "state", c->state, line[MGR_SET_STATE], 0);
    if (line[MGR_SET_AUDIT])
        check_private(p, "audit", c->audit, line[MGR_SET_AUDIT], 0);
    struct stat st;
    if (line[MGR_SET_CONTROL] && stat(c->control, &st) == 0 && !S_ISSOCK(st.st_mode))
        err(p, line[MGR_SET_CONTROL], "control %s: exists and is not a socket", c->control);
    if (line[MGR_SET_FABRIC] && stat(c->fabric, &st) == 0 && !S_ISSOCK(st.st_mode))
        err(p, line[MGR_SET_FABRIC], "fabric %s: exists and is not a socket", c->fabric);
}

/* A limit that must not exceed another (the per-source / per-node share of a pool). */
static void check_share(struct parser *p, enum mgr_setting part, uint32_t pv, enum mgr_setting whole,
                        uint32_t wv)
{
    const int *line = p->c->line;
    if (pv > wv)
        err(p, line[part] ? line[part] : line[whole], "%s %u: more than %s (%u)",
            config_setting_name(part), pv, config_setting_name(whole), wv);
}

static void check_complete(struct parser *p)
{
    const struct mgr_config *c = p->c;
    const int *line = c->line;
    for (size_t i = 0; i < N_KEYWORDS; i++)
        if (keywords[i].required && !line[keywords[i].setting])
            err(p, 0, "no '%s' statement", keywords[i].kw);
    if (c->rotate_s && c->rotate_s < 2 * c->refresh_s)
        err(p, line[MGR_SET_ROTATE] ? line[MGR_SET_ROTATE] : line[MGR_SET_REFRESH],
            "rotate %u: must be 0 or at least 2 x refresh (%u s)", c->rotate_s, c->refresh_s);
    check_share(p, MGR_SET_MAX_CHANNELS_PER_NODE, c->lim.max_channels_per_node,
                MGR_SET_MAX_CHANNELS, c->lim.max_channels);
    check_share(p, MGR_SET_MAX_HANDSHAKES_PER_SOURCE, c->lim.max_handshakes_per_source,
                MGR_SET_MAX_HANDSHAKES, c->lim.max_handshakes);
    for (size_t r = 0; r < c->n_regions; r++) { /* a ring server's keys reply lists them all */
        size_t clients = 0;
        if (c->regions[r].kind == MGR_REGION_RANGE)
            continue; /* a range has no server, so no client list */
        for (size_t i = 0; i < c->n_grants; i++)
            clients += c->grants[i].region == r && c->grants[i].mode == MGR_GRANT_RW;
        if (clients > CXL_SEC_MAX_CLIENTS)
            err(p, c->regions[r].line, "region %s: %zu clients (rw grants), at most %u", c->regions[r].name,
                clients, CXL_SEC_MAX_CLIENTS);
    }
}

int config_load(const char *path, int files, struct mgr_config *c, FILE *errs)
{
    memset(c, 0, sizeof *c);
    set_defaults(c);
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

const struct mgr_grant *config_grant(const struct mgr_config *c, size_t ni, size_t ri)
{
    for (size_t i = 0; i < c->n_grants; i++)
        if (c->grants[i].active && c->grants[i].node == ni && c->grants[i].region == ri)
            return &c->grants[i];
    return NULL;
}
