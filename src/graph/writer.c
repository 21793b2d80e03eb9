/* writer.c - a graph to GAPBS's serialized format (.sg, or .wsg when
 * weighted): bool directed, int64 m (directed edges stored), int64 n,
 * int64 out offsets[n+1], out neighbours[m], and when directed the in
 * offsets and in neighbours. */
#include "graph.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int graph_write_sg(const struct graph *g, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char directed = g->directed ? 1 : 0;
    size_t esz = g->weighted ? sizeof(struct graph_wnode) : sizeof(graph_node);
    int ok = fwrite(&directed, 1, 1, f) == 1 && fwrite(&g->m, 8, 1, f) == 1 &&
             fwrite(&g->n, 8, 1, f) == 1 &&
             fwrite(g->out_index, 8, (size_t)g->n + 1, f) == (size_t)g->n + 1 &&
             fwrite(g->out_neigh, esz, (size_t)g->m, f) == (size_t)g->m;
    if (ok && g->directed)
        ok = fwrite(g->in_index, 8, (size_t)g->n + 1, f) == (size_t)g->n + 1 &&
             fwrite(g->in_neigh, esz, (size_t)g->m, f) == (size_t)g->m;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok)
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
    return ok ? 0 : -1;
}
