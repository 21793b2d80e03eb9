/* main.c - cxl_resp_gateway: any Redis client, over the shared-medium ring. */
#include <malloc.h>
#include <stdio.h>

#include "gateway.h"

#define MMAP_THRESHOLD_BYTES (256 * 1024)

int main(int argc, char **argv)
{
    struct gw_opts o;
    int rc = gw_options_parse(argc, argv, &o);
    if (rc != GW_EXIT_OK)
        return rc;
    /* Big buffers (a client's 60 MB argument) always in their own mappings:
     * grown by mremap without a copy, given back to the system when freed.
     * glibc's sliding threshold would put them on the heap after the first
     * one was freed, where growing copies and freeing keeps the memory. */
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    if (cxl_keyring_open_opts(&o.sec, &o.kv.keys) != 0) {
        fprintf(stderr, "cxl_resp_gateway: %s\n", cxl_last_error());
        return GW_EXIT_FAIL;
    }
    rc = gw_run(&o);
    cxl_keyring_close(o.kv.keys);
    cxl_pod_map_free(&o.pod);
    return rc;
}
