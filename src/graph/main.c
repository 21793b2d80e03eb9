/* main.c - cxl_graph: GAPBS's kernels on a CSR graph (docs/GRAPH.md). Parses
 * the command line, loads the graph, runs the kernel. Exit 0; 1 on a runtime
 * error or a failed verification; 2 on a usage error. */
#include "graph.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    struct graph_cli cli;
    struct graph g;
    char err[512];
    int rc = graph_cli_parse(&cli, argc, argv, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "cxl_graph: %s\n", err);
        return rc < 0 ? 2 : 0;
    }
    if (graph_load(&g, &cli) != 0)
        return 1;
    rc = graph_run(&g, &cli);
    graph_free(&g);
    return rc;
}
