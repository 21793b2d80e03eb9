/* main.c - cxl_sodium_tunnel: Redis's TCP traffic through libsodium, the
 * software-encryption baseline of the compare matrix (docs/TUNNEL.md). */
#include <stdio.h>

#include "cxl/error.h"
#include "tunnel.h"

int main(int argc, char **argv)
{
    struct tun_opts o;
    struct tun_keys k;
    int rc = tun_options_parse(argc, argv, &o);
    if (rc != TUN_EXIT_OK)
        return rc;
    if (tun_keys_load(o.key_path, o.peer_key_path, &k) != 0) {
        fprintf(stderr, "cxl_sodium_tunnel: %s\n", cxl_last_error());
        return TUN_EXIT_FAIL;
    }
    rc = tun_run(&o, &k);
    tun_keys_wipe(&k);
    return rc;
}
