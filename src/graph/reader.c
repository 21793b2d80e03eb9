/* reader.c - graphs from files, by suffix: .el / .wel (text edge lists, "u v"
 * or "u v w" a line), .gr (DIMACS: "a u v w", ids from 1), .mtx (Matrix
 * Market coordinates, ids from 1; "symmetric" entries read both ways), built
 * directed unless symmetrized, and .sg / .wsg
 * (GAPBS's serialized CSR: bool directed, int64 m, int64 n, int64 offsets[n+1],
 * neighbours[m], then the in-arrays when directed). A file is hostile input:
 * every count, offset and id is checked before use; errors name the file. */
#include "graph.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* The text formats: one edge a line, comments and headers skipped. */
enum text_format { FMT_EL, FMT_WEL, FMT_GR, FMT_MTX };

static enum text_format text_format_of(const char *path)
{
    return has_suffix(path, ".wel") ? FMT_WEL : has_suffix(path, ".gr") ? FMT_GR
         : has_suffix(path, ".mtx") ? FMT_MTX : FMT_EL;
}

struct text_state {
    enum text_format fmt;
    int mtx_size_seen;  /* .mtx: the "rows cols nnz" line came */
    int mtx_pattern;    /* .mtx: no values */
    int symmetric;      /* .mtx: "symmetric": each entry read in both directions */
};

/* 0 = an edge in u v w, 1 = a line to skip, -1 = malformed. */
static int parse_line(struct text_state *st, const char *line, long long *u, long long *v,
                      long long *w)
{
    char extra;
    double dw = 1;
    *w = 1;
    if (strspn(line, " \t\r\n") == strlen(line))
        return 1;
    switch (st->fmt) {
    case FMT_EL: return sscanf(line, "%lld %lld %c", u, v, &extra) == 2 ? 0 : -1;
    case FMT_WEL: return sscanf(line, "%lld %lld %lld %c", u, v, w, &extra) == 3 ? 0 : -1;
    case FMT_GR:
        if (line[0] == 'c' || line[0] == 'p')
            return 1;
        if (sscanf(line, "a %lld %lld %lld %c", u, v, w, &extra) != 3)
            return -1;
        break;
    case FMT_MTX:
        if (line[0] == '%') {
            if (strncmp(line, "%%MatrixMarket", 14) == 0) {
                st->mtx_pattern = strstr(line, "pattern") != NULL;
                st->symmetric = strstr(line, "symmetric") != NULL;
            }
            return 1;
        }
        if (!st->mtx_size_seen) {
            st->mtx_size_seen = 1;
            return sscanf(line, "%lld %lld %lld", u, v, w) == 3 ? 1 : -1;
        }
        if (sscanf(line, "%lld %lld %lf", u, v, &dw) < (st->mtx_pattern ? 2 : 3))
            return -1;
        *w = (long long)dw;
        break;
    }
    (*u)--; /* .gr and .mtx count from 1 */
    (*v)--;
    return 0;
}

static const char *format_hint(enum text_format f)
{
    static const char *const hints[] = {"\"u v\"", "\"u v w\"", "\"a u v w\" (ids from 1)",
                                        "\"u v [w]\" (ids from 1)"};
    return hints[f];
}

int graph_read_edges(struct graph_edges *el, const char *path, char *err, size_t errlen)
{
    struct text_state st = {.fmt = text_format_of(path)};
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    *el = (struct graph_edges){.weighted = st.fmt != FMT_EL, .max_node = -1};
    char line[512];
    int64_t lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        long long u, v, w;
        lineno++;
        int got = parse_line(&st, line, &u, &v, &w);
        if (got == 1)
            continue;
        if (got < 0 || u < 0 || v < 0 || u > INT32_MAX - 1 || v > INT32_MAX - 1) {
            snprintf(err, errlen, "%s:%lld: expected %s with node ids in range", path,
                     (long long)lineno, format_hint(st.fmt));
            rc = -1;
        } else if (graph_edges_push(el, (graph_node)u, (graph_node)v, (graph_weight)w) != 0 ||
                   (st.symmetric && u != v &&
                    graph_edges_push(el, (graph_node)v, (graph_node)u, (graph_weight)w) != 0)) {
            snprintf(err, errlen, "%s: out of memory at line %lld", path, (long long)lineno);
            rc = -1;
        }
    }
    fclose(f);
    if (st.fmt == FMT_MTX && st.mtx_pattern)
        el->weighted = 0;
    if (rc != 0) {
        free(el->e);
        el->e = NULL;
    }
    return (int)rc;
}

static int read_el(struct graph *g, const char *path, int symmetrize, char *err, size_t errlen)
{
    struct graph_edges el;
    if (graph_read_edges(&el, path, err, errlen) != 0)
        return -1;
    int rc = graph_build(g, &el, !symmetrize, 0, err, errlen);
    free(el.e);
    return rc;
}

int graph_is_edge_list(const char *path)
{
    return has_suffix(path, ".el") || has_suffix(path, ".wel") || has_suffix(path, ".gr") ||
           has_suffix(path, ".mtx");
}

struct sg_cursor {
    const char *path;
    FILE *f;
    char *err;
    size_t errlen;
};

static void *sg_array(struct sg_cursor *c, int64_t count, size_t esz, const char *what)
{
    void *p = malloc((size_t)(count ? count : 1) * esz);
    if (!p) {
        snprintf(c->err, c->errlen, "%s: out of memory for %s", c->path, what);
        return NULL;
    }
    if (fread(p, esz, (size_t)count, c->f) != (size_t)count) {
        snprintf(c->err, c->errlen, "%s: truncated in %s", c->path, what);
        free(p);
        return NULL;
    }
    return p;
}

static int sg_check(struct sg_cursor *c, const graph_offset *index, const void *neigh,
                    int64_t n, int64_t m, int weighted, const char *side)
{
    if (index[0] != 0 || index[n] != m) {
        snprintf(c->err, c->errlen, "%s: %s offsets run from %lld to %lld, not 0 to m = %lld",
                 c->path, side, (long long)index[0], (long long)index[n], (long long)m);
        return -1;
    }
    for (int64_t u = 0; u < n; u++)
        if (index[u + 1] < index[u]) {
            snprintf(c->err, c->errlen, "%s: %s offsets decrease at node %lld", c->path, side,
                     (long long)u);
            return -1;
        }
    for (int64_t i = 0; i < m; i++) {
        graph_node v = weighted ? ((const struct graph_wnode *)neigh)[i].v
                                : ((const graph_node *)neigh)[i];
        if (v < 0 || v >= n) {
            snprintf(c->err, c->errlen, "%s: %s neighbour %lld = %d is not a node (n = %lld)",
                     c->path, side, (long long)i, v, (long long)n);
            return -1;
        }
    }
    return 0;
}

static int sg_side(struct sg_cursor *c, int64_t n, int64_t m, int weighted, const char *side,
                   graph_offset **index, void **neigh)
{
    size_t esz = weighted ? sizeof(struct graph_wnode) : sizeof(graph_node);
    *index = sg_array(c, n + 1, sizeof(graph_offset), "the offsets");
    *neigh = *index ? sg_array(c, m, esz, "the neighbours") : NULL;
    if (!*neigh)
        return -1;
    return sg_check(c, *index, *neigh, n, m, weighted, side);
}

static int read_sg(struct graph *g, const char *path, int weighted, char *err, size_t errlen)
{
    struct sg_cursor c = {path, fopen(path, "rb"), err, errlen};
    if (!c.f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char directed;
    int64_t m, n;
    struct graph_owned *own = calloc(1, sizeof(*own));
    memset(g, 0, sizeof(*g));
    g->owned = own;
    int rc = -1;
    if (!own || fread(&directed, 1, 1, c.f) != 1 || fread(&m, 8, 1, c.f) != 1 ||
        fread(&n, 8, 1, c.f) != 1)
        snprintf(err, errlen, "%s: truncated header", path);
    else if (directed > 1 || n < 0 || m < 0 || n > INT32_MAX || m > ((int64_t)1 << 40))
        snprintf(err, errlen, "%s: bad header (directed %u, %lld nodes, %lld edges)", path,
                 directed, (long long)n, (long long)m);
    else if (sg_side(&c, n, m, weighted, "out", &own->out_index, &own->out_neigh) == 0 &&
             (!directed || sg_side(&c, n, m, weighted, "in", &own->in_index, &own->in_neigh) == 0))
        rc = 0;
    fclose(c.f);
    if (rc != 0) {
        graph_free(g);
        return -1;
    }
    *g = (struct graph){n, m, directed, weighted, own->out_index, own->out_neigh,
                        directed ? own->in_index : own->out_index,
                        directed ? own->in_neigh : own->out_neigh, own};
    return 0;
}

int graph_read(struct graph *g, const char *path, int symmetrize, char *err, size_t errlen)
{
    if (graph_is_edge_list(path))
        return read_el(g, path, symmetrize, err, errlen);
    if (has_suffix(path, ".sg"))
        return read_sg(g, path, 0, err, errlen);
    if (has_suffix(path, ".wsg"))
        return read_sg(g, path, 1, err, errlen);
    snprintf(err, errlen, "%s: unknown suffix (-f takes .el .wel .gr .mtx .sg .wsg)", path);
    return -1;
}
