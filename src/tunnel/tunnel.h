/* tunnel.h - cxl_sodium_tunnel: the software-encryption baseline for native
 * Redis (docs/TUNNEL.md). A client end takes plain TCP (or Unix) connections
 * and carries each over one encrypted TCP connection to a server end, which
 * opens a plain connection to the backend (Redis) for it. Per connection:
 * the mutual X25519 handshake of docs/SECURITY.md, then one
 * crypto_secretstream_xchacha20poly1305 stream per direction.
 *
 *   options.c  flags, validated with messages that name them
 *   keys.c     this end's key file and the peer's public key
 * The handshake and framing of one connection, on buffers, are the security
 * layer's (src/lib/sec/tunnel_crypt.[ch], tunnel_hello.c), as is the proof of
 * the client end's key in its first frame.
 *   relay.c    the epoll loop: connections, buffers, back-pressure,
 *              handshake slots */
#ifndef CXL_TUNNEL_H
#define CXL_TUNNEL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "base/addr.h"
#include "sec/tunnel_crypt.h"

#define TUN_EXIT_OK 0
#define TUN_EXIT_FAIL 1
#define TUN_EXIT_USAGE 2

/* ---- options ---------------------------------------------------------------------- */

enum tun_mode { TUN_CLIENT, TUN_SERVER };

struct tun_opts {
    enum tun_mode mode;
    struct cxl_net_addr listen;
    struct cxl_net_addr target;    /* --connect (client) or --backend (server) */
    const char *key_path;      /* this end's key pair */
    const char *peer_key_path; /* the other end's public key */
    uint32_t max_conns;
    uint32_t max_handshakes;   /* connections still in their handshake, at most */
    uint32_t handshake_ms;     /* handshake (and backend connect) deadline */
    int quiet;
};

int tun_options_parse(int argc, char **argv, struct tun_opts *o);

/* ---- keys ------------------------------------------------------------------------- */

/* key_path: a key file of cxl_sec_mgr keygen (mode 0600; a manager-public
 * line is ignored). peer_path: the peer's key file (then it must be 0600
 * too), a file with a line `public <64 hex>`, or the 64 hex digits alone. */
int tun_keys_load(const char *key_path, const char *peer_path, struct tun_keys *k);
void tun_keys_wipe(struct tun_keys *k);

/* ---- the loop (relay.c) ----------------------------------------------------------------- */

int tun_run(const struct tun_opts *o, const struct tun_keys *k);

#endif
