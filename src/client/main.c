/* main.c - cxl_ring_direct: Redis over the shared-memory ring, one command
 * or a benchmark. */
#include "client.h"

int main(int argc, char **argv)
{
    struct client_opts o;
    int rc = options_parse(argc, argv, &o);
    if (rc != CLIENT_EXIT_OK)
        return rc;
    return o.bench ? bench_run(&o) : oneshot_run(&o);
}
