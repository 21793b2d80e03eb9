/* main.c - cxl_graph: GAPBS's kernels on a CSR graph, private or published
 * in the shared medium (docs/GRAPH.md). Parses the command line (and the
 * original prototype's variables), then runs the mode. Exit 0; 1 on a
 * runtime error or a failed verification; 2 on a usage error. */
#include "graph.h"

#include <stdio.h>

int main(int argc, char **argv, char **envp)
{
    struct graph_cli cli;
    char err[512];
    int rc = graph_cli_parse(&cli, argc, argv, envp, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "cxl_graph: %s\n", err);
        return rc < 0 ? 2 : 0;
    }
    return graph_main(&cli);
}
