/* main.c - cxl_ring_direct: Redis over the shared-memory ring, one command
 * or a benchmark. */
#include <stdio.h>

#include "client.h"

int main(int argc, char **argv)
{
    struct client_opts o;
    int rc = options_parse(argc, argv, &o);
    if (rc != CLIENT_EXIT_OK)
        return rc;
    if (cxl_keyring_open_opts(&o.sec, &o.kv.keys) != 0) {
        fprintf(stderr, "cxl_ring_direct: %s\n", cxl_last_error());
        return CLIENT_EXIT_FAIL;
    }
    rc = o.bench ? bench_run(&o) : oneshot_run(&o);
    cxl_keyring_close(o.kv.keys);
    return rc;
}
