/* main.c - cxl_resp_gateway: any Redis client, over the shared-medium ring. */
#include <stdio.h>

#include "gateway.h"

int main(int argc, char **argv)
{
    struct gw_opts o;
    int rc = gw_options_parse(argc, argv, &o);
    if (rc != GW_EXIT_OK)
        return rc;
    if (cxl_keyring_open_opts(&o.sec, &o.kv.keys) != 0) {
        fprintf(stderr, "cxl_resp_gateway: %s\n", cxl_last_error());
        return GW_EXIT_FAIL;
    }
    rc = gw_run(&o);
    cxl_keyring_close(o.kv.keys);
    return rc;
}
