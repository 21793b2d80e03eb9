/* net/resp_conn.h - a small blocking RESP2 client over TCP or a Unix socket:
 * send a command (argv), read one reply. Used by the tests to cross-check the
 * ring against Redis's own socket, and by benchmarks as the socket baseline.
 * Pipelining: cxl_conn_send() several commands, then cxl_conn_read() as many
 * replies. */
#ifndef CXL_RESP_CONN_H
#define CXL_RESP_CONN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cxl_conn;

struct cxl_conn_opts {
    uint32_t timeout_ms;     /* each blocking read (0: 5000) */
    const char *tls_ca_file; /* tls: the CA to check the server's chain against
                              * (NULL: the system's CAs; the host name is not checked) */
    const char *tls_ca_hint; /* tls: how the user names that CA, for a failed handshake's
                              * message (NULL: "name its CA") */
};

/* "127.0.0.1:6379", "unix:/path/to/sock" or "tls:127.0.0.1:6380"; o may be
 * NULL (the defaults). */
int cxl_conn_open(const char *addr, const struct cxl_conn_opts *o, struct cxl_conn **out);
void cxl_conn_close(struct cxl_conn *c);

/* Queue a command (sent on the next read or flush). */
int cxl_conn_send(struct cxl_conn *c, int argc, const char *const *argv, const size_t *argvlen);
int cxl_conn_flush(struct cxl_conn *c);
/* Next reply: *reply points at its RESP bytes (valid until the next call). */
int cxl_conn_read(struct cxl_conn *c, const uint8_t **reply, size_t *len);
/* The same without waiting: 1 = a reply, 0 = none yet, < 0 = error. */
int cxl_conn_try_read(struct cxl_conn *c, const uint8_t **reply, size_t *len);

/* Send one command of C strings and read its reply (for tests and tools). */
int cxl_conn_call(struct cxl_conn *c, int argc, const char *const *argv, const uint8_t **reply,
                  size_t *len);

#ifdef __cplusplus
}
#endif
#endif
