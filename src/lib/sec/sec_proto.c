/* sec_proto.c - the requests and replies on the manager channel
 * (docs/SECURITY.md, "Requests on the channel"): parsing requests and
 * building replies (the manager), and the node's connection: connect, run
 * the handshake, ask for a region's keys, ping. Reply buffers that carried
 * keys are wiped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "cxl/error.h"
#include "base/addr.h"
#include "sec/seal.h"
#include "sec/sec.h"
#include "cxl/util.h"
#include "sec/sec_wire.h"

#define REPLY_OK 0x00
#define REPLY_REFUSED 0x01
#define KEYS_FIXED (1 + 8 + 32 + 1 + 8 + 32 + 4 + 1 + 1) /* a keys reply before the name */
#define CLIENT_FIXED (2 + 1)                             /* a client entry before its user */
#define REQUEST_MAX 128
#define REPLY_MAX CXL_SEC_MSG_MAX

struct cxl_mgr_conn {
    struct cxl_sec_chan *chan; /* NULL once broken */
};

void cxl_region_keys_wipe(struct cxl_region_keys *k)
{
    if (k)
        sodium_memzero(k, sizeof *k);
}

/* ---- requests (the manager parses) ------------------------------------------------- */

static int parse_ring(const char *s, uint32_t *ring)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
        return -1;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > UINT32_MAX)
        return -1;
    *ring = (uint32_t)v;
    return 0;
}

int cxl_sec_request_parse(const uint8_t *msg, size_t len, struct cxl_sec_request *req)
{
    char line[REQUEST_MAX + 1];
    if (len && msg[len - 1] == '\n')
        len--;
    if (len == 0 || len > REQUEST_MAX)
        return cxl_fail(CXL_EPROTO, "request of %zu bytes", len);
    memcpy(line, msg, len);
    line[len] = '\0';
    if (strlen(line) != len)
        return cxl_fail(CXL_EPROTO, "request holds a NUL byte");
    memset(req, 0, sizeof *req);
    if (strcmp(line, "PING") == 0) {
        req->kind = CXL_SEC_REQ_PING;
        return 0;
    }
    if (strncmp(line, "KEYS ring ", 10) == 0 && parse_ring(line + 10, &req->ring) == 0) {
        req->kind = CXL_SEC_REQ_KEYS_RING;
        return 0;
    }
    if (strncmp(line, "KEYS name ", 10) == 0 && cxl_sec_name_valid(line + 10)) {
        req->kind = CXL_SEC_REQ_KEYS_NAME;
        snprintf(req->region, sizeof req->region, "%s", line + 10);
        return 0;
    }
    if (strncmp(line, "FD name ", 8) == 0 && cxl_sec_name_valid(line + 8)) {
        req->kind = CXL_SEC_REQ_FD;
        snprintf(req->region, sizeof req->region, "%.63s", line + 8);
        return 0;
    }
    return cxl_fail(CXL_EPROTO, "unknown or malformed request");
}

/* ---- replies (the manager builds, the node parses) ----------------------------------- */

int cxl_sec_reply_keys(const struct cxl_region_keys *k, uint8_t *out, size_t cap)
{
    size_t name = strnlen(k->region, sizeof k->region);
    if (name == 0 || name > CXL_SEC_REGION_MAX)
        return cxl_fail(CXL_EINVAL, "region name must be 1..%u bytes", CXL_SEC_REGION_MAX);
    int region = k->binding == CXL_SEC_BIND_REGION;
    if (k->n_clients > (region ? CXL_SEC_MAX_CLIENTS : 0))
        return cxl_fail(CXL_EINVAL, "%u clients in a keys reply", k->n_clients);
    size_t need = KEYS_FIXED + name + (region ? 2 : 0);
    for (uint32_t i = 0; i < k->n_clients; i++)
        need += CLIENT_FIXED + strnlen(k->clients[i].user, CXL_SEC_USER_MAX);
    if (cap < need)
        return cxl_fail(CXL_EINVAL, "reply buffer too small");
    uint8_t *p = out;
    *p++ = REPLY_OK;
    sec_put64(p, k->epoch), p += 8;
    memcpy(p, k->key, 32), p += 32;
    *p++ = k->has_prev ? 1 : 0;
    sec_put64(p, k->has_prev ? k->prev_epoch : 0), p += 8;
    if (k->has_prev)
        memcpy(p, k->prev_key, 32);
    else
        memset(p, 0, 32);
    p += 32;
    sec_put32(p, k->valid_for_ms), p += 4;
    *p++ = (uint8_t)k->binding;
    *p++ = (uint8_t)name;
    memcpy(p, k->region, name), p += name;
    if (region) {
        *p++ = (uint8_t)k->n_clients, *p++ = (uint8_t)(k->n_clients >> 8);
        for (uint32_t i = 0; i < k->n_clients; i++) {
            size_t u = strnlen(k->clients[i].user, CXL_SEC_USER_MAX);
            *p++ = (uint8_t)k->clients[i].node, *p++ = (uint8_t)(k->clients[i].node >> 8);
            *p++ = (uint8_t)u;
            memcpy(p, k->clients[i].user, u), p += u;
        }
    }
    return (int)(p - out);
}

int cxl_sec_reply_refuse(const char *reason, uint8_t *out, size_t cap)
{
    size_t n = strlen(reason);
    if (cap < 1 + n)
        return cxl_fail(CXL_EINVAL, "reply buffer too small");
    out[0] = REPLY_REFUSED;
    memcpy(out + 1, reason, n);
    return (int)(1 + n);
}

int cxl_sec_reply_pong(uint8_t *out, size_t cap)
{
    if (cap < 5)
        return cxl_fail(CXL_EINVAL, "reply buffer too small");
    out[0] = REPLY_OK;
    memcpy(out + 1, "PONG", 4);
    return 5;
}

/* The manager's reason, printable characters only. */
static int refused(const uint8_t *body, size_t len, const char *what)
{
    char reason[80];
    size_t n = 0;
    for (size_t i = 1; i < len && n < sizeof reason - 1; i++)
        reason[n++] = body[i] >= 0x20 && body[i] < 0x7f ? (char)body[i] : '?';
    reason[n] = '\0';
    return cxl_fail(CXL_EDENIED, "the manager refused %s: %s", what, n ? reason : "(no reason)");
}

/* The client list of a binding-REGION reply (after the region name). */
static int parse_clients(const uint8_t *p, const uint8_t *end, struct cxl_region_keys *out)
{
    if (end - p < 2)
        return -1;
    uint32_t n = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    p += 2;
    if (n > CXL_SEC_MAX_CLIENTS)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (end - p < (ptrdiff_t)CLIENT_FIXED)
            return -1;
        struct cxl_region_client *c = &out->clients[i];
        c->node = (uint16_t)(p[0] | p[1] << 8);
        size_t u = p[2];
        p += CLIENT_FIXED;
        if (u > CXL_SEC_USER_MAX || (size_t)(end - p) < u)
            return -1;
        memcpy(c->user, p, u);
        c->user[u] = '\0';
        p += u;
        if (u && !cxl_sec_user_valid(c->user))
            return -1;
    }
    out->n_clients = n;
    return p == end ? 0 : -1;
}

int cxl_sec_reply_keys_parse(const uint8_t *body, size_t len, const char *what,
                             struct cxl_region_keys *out)
{
    memset(out, 0, sizeof *out);
    if (len >= 1 && body[0] == REPLY_REFUSED)
        return refused(body, len, what);
    if (len < KEYS_FIXED + 1 || body[0] != REPLY_OK)
        return cxl_fail(CXL_EPROTO, "malformed keys reply for %s (%zu bytes)", what, len);
    const uint8_t *p = body + 1, *end = body + len;
    out->epoch = sec_get64(p), p += 8;
    memcpy(out->key, p, 32), p += 32;
    uint8_t has_prev = *p++;
    out->prev_epoch = sec_get64(p), p += 8;
    memcpy(out->prev_key, p, 32), p += 32;
    out->valid_for_ms = sec_get32(p), p += 4;
    uint8_t binding = *p++;
    size_t name = *p++;
    int bad = has_prev > 1 || binding > CXL_SEC_BIND_NODE || name == 0 || name > CXL_SEC_REGION_MAX ||
              (size_t)(end - p) < name;
    if (!bad) {
        memcpy(out->region, p, name);
        out->region[name] = '\0';
        p += name;
        out->binding = (enum cxl_sec_binding)binding;
        out->has_prev = has_prev == 1;
        bad = !cxl_sec_name_valid(out->region) ||
              (binding == CXL_SEC_BIND_REGION ? parse_clients(p, end, out) != 0 : p != end);
    }
    if (bad) {
        cxl_region_keys_wipe(out);
        return cxl_fail(CXL_EPROTO, "malformed keys reply for %s (flags, region name or client list)", what);
    }
    if (!out->has_prev) {
        sodium_memzero(out->prev_key, sizeof out->prev_key);
        out->prev_epoch = 0;
    }
    return 0;
}

/* ---- the node's connection ---------------------------------------------------------- */

int cxl_mgr_attach(int fd, uint16_t node_id, const struct cxl_node_key *k, uint32_t timeout_ms,
                   struct cxl_mgr_conn **out)
{
    struct cxl_mgr_conn *c = calloc(1, sizeof *c);
    if (!c)
        return cxl_fail(CXL_ESYS, "out of memory");
    int rc = cxl_sec_initiate(fd, node_id, k, timeout_ms, &c->chan);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* The manager's TCP address, connected within timeout_ms, its messages as
 * they always were. */
static int tcp_connect(const char *hostport, uint32_t timeout_ms, int *out)
{
    struct cxl_net_addr a;
    int rc = cxl_net_addr_parse_tcp("manager address", hostport, &a);
    if (rc == 0)
        rc = *out = cxl_net_connect_within(&a, timeout_ms);
    if (rc == CXL_ETIMEDOUT)
        return cxl_fail(rc, "manager at %s: connect: no answer in %u ms", hostport, timeout_ms);
    if (rc == CXL_ESYS)
        return cxl_fail_errno(rc, "manager at %s: connect", hostport);
    return rc < 0 ? rc : 0;
}

int cxl_mgr_connect(const char *hostport, uint16_t node_id, const struct cxl_node_key *k,
                    uint32_t timeout_ms, struct cxl_mgr_conn **out)
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    if (!k->has_manager_public)
        return cxl_fail(CXL_EINVAL, "the node key has no manager-public line (keygen --config "
                        "fills it in)");
    int fd;
    if ((rc = tcp_connect(hostport, timeout_ms, &fd)) != 0)
        return rc;
    if ((rc = cxl_mgr_attach(fd, node_id, k, timeout_ms, out)) != 0)
        close(fd);
    return rc;
}

/* One request and its reply; any failure but a refusal breaks the connection. */
static int request(struct cxl_mgr_conn *c, const char *line, uint8_t *reply, size_t cap,
                   size_t *len)
{
    if (!c->chan)
        return cxl_fail(CXL_EPROTO, "the manager connection is closed (an earlier failure)");
    int rc = cxl_sec_chan_send(c->chan, line, strlen(line));
    if (rc == 0)
        rc = cxl_sec_chan_recv(c->chan, reply, cap, len);
    if (rc) {
        cxl_sec_chan_free(c->chan);
        c->chan = NULL;
    }
    return rc;
}

static int get_keys(struct cxl_mgr_conn *c, const char *line, const char *what,
                    struct cxl_region_keys *out)
{
    uint8_t reply[REPLY_MAX];
    size_t n;
    memset(out, 0, sizeof *out);
    int rc = request(c, line, reply, sizeof reply, &n);
    if (rc == 0)
        rc = cxl_sec_reply_keys_parse(reply, n, what, out);
    sodium_memzero(reply, sizeof reply);
    if (rc == CXL_EPROTO && c->chan) { /* a reply we cannot trust: start over */
        cxl_sec_chan_free(c->chan);
        c->chan = NULL;
    }
    return rc;
}

int cxl_mgr_get_keys_ring(struct cxl_mgr_conn *c, uint32_t ring, struct cxl_region_keys *out)
{
    char line[32], what[32];
    snprintf(line, sizeof line, "KEYS ring %u", ring);
    snprintf(what, sizeof what, "ring %u", ring);
    return get_keys(c, line, what, out);
}

int cxl_mgr_get_keys_name(struct cxl_mgr_conn *c, const char *region, struct cxl_region_keys *out)
{
    if (!cxl_sec_name_valid(region))
        return cxl_fail(CXL_EINVAL, "'%s' is not a region name", region ? region : "");
    char line[16 + CXL_SEC_REGION_MAX], what[16 + CXL_SEC_REGION_MAX];
    snprintf(line, sizeof line, "KEYS name %s", region);
    snprintf(what, sizeof what, "region %s", region);
    return get_keys(c, line, what, out);
}

int cxl_mgr_ping(struct cxl_mgr_conn *c)
{
    uint8_t reply[REPLY_MAX];
    size_t n;
    int rc = request(c, "PING", reply, sizeof reply, &n);
    if (rc == 0 && (n != 5 || reply[0] != REPLY_OK || memcmp(reply + 1, "PONG", 4) != 0)) {
        rc = cxl_fail(CXL_EPROTO, "malformed PING reply (%zu bytes)", n);
        cxl_sec_chan_free(c->chan);
        c->chan = NULL;
    }
    return rc;
}

/* ---- the fabric: a region's descriptor (docs/FABRIC.md) ------------------------------- */

#define FD_REPLY (1 + 1 + 8 + 8 + 4)

int cxl_sec_reply_fd(enum cxl_sec_fd_access access, uint64_t size, uint64_t inode, uint32_t seals,
                     uint8_t *out, size_t cap)
{
    if (cap < FD_REPLY)
        return cxl_fail(CXL_EINVAL, "reply buffer too small");
    out[0] = REPLY_OK;
    out[1] = (uint8_t)access;
    sec_put64(out + 2, size);
    sec_put64(out + 10, inode);
    sec_put32(out + 18, seals);
    return FD_REPLY;
}

int cxl_sec_reply_fd_parse(const uint8_t *body, size_t len, const char *what,
                           struct cxl_sec_fd_grant *out)
{
    memset(out, 0, sizeof *out);
    if (len >= 1 && body[0] == REPLY_REFUSED)
        return refused(body, len, what);
    if (len != FD_REPLY || body[0] != REPLY_OK || (body[1] != CXL_SEC_FD_RO && body[1] != CXL_SEC_FD_RW))
        return cxl_fail(CXL_EPROTO, "malformed descriptor reply for %s (%zu bytes)", what, len);
    out->access = (enum cxl_sec_fd_access)body[1];
    out->size = sec_get64(body + 2);
    out->inode = sec_get64(body + 10);
    out->seals = sec_get32(body + 18);
    return 0;
}

/* A blocking connect: on a Unix socket whose backlog is full (a flood of
 * connections) it waits for room, up to timeout_ms (SO_SNDTIMEO), where a
 * non-blocking one would fail with EAGAIN at once. -1 with errno. */
static int unix_connect(const struct cxl_net_addr *a, uint32_t timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (const struct sockaddr *)&a->sa[0], a->len[0]) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int cxl_mgr_connect_unix(const char *path, uint16_t node_id, const struct cxl_node_key *k,
                         uint32_t timeout_ms, struct cxl_mgr_conn **out)
{
    struct cxl_net_addr a;
    int rc = cxl_crypto_init(), fd;
    if (rc)
        return rc;
    if (!k->has_manager_public)
        return cxl_fail(CXL_EINVAL, "the node key has no manager-public line (keygen --config "
                        "fills it in)");
    if (cxl_net_addr_unix(path, &a) != 0)
        return cxl_fail(CXL_EINVAL, "fabric socket %s: path too long", path);
    if ((fd = unix_connect(&a, timeout_ms)) < 0)
        return cxl_fail_errno(CXL_ESYS, "fabric socket %s: connect", path);
    if ((rc = cxl_mgr_attach(fd, node_id, k, timeout_ms, out)) != 0)
        close(fd);
    return rc;
}

/* Is fd what the authenticated reply g describes? */
static int fd_matches(int fd, const struct cxl_sec_fd_grant *g, const char *region)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    int want = g->access == CXL_SEC_FD_RO ? O_RDONLY : O_RDWR;
    if (fstat(fd, &st) != 0 || fl < 0)
        return cxl_fail_errno(CXL_EPROTO, "the descriptor of region %s", region);
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != g->size || (uint64_t)st.st_ino != g->inode ||
        (fl & O_ACCMODE) != want)
        return cxl_fail(CXL_EPROTO, "the descriptor of region %s is not the one the manager "
                        "describes (%llu bytes, inode %llu, %s)", region,
                        (unsigned long long)g->size, (unsigned long long)g->inode,
                        g->access == CXL_SEC_FD_RO ? "read-only" : "read-write");
    return 0;
}

int cxl_mgr_get_region_fd(struct cxl_mgr_conn *c, const char *region, int *fd,
                          struct cxl_sec_fd_grant *out)
{
    char line[16 + CXL_SEC_REGION_MAX + 1], what[CXL_SEC_REGION_MAX + 16];
    uint8_t reply[64];
    size_t n;
    *fd = -1;
    memset(out, 0, sizeof *out);
    if (!cxl_sec_name_valid(region))
        return cxl_fail(CXL_EINVAL, "'%s' is not a region name", region);
    if (!c->chan)
        return cxl_fail(CXL_EPROTO, "the manager connection is closed (an earlier failure)");
    snprintf(line, sizeof line, "FD name %s", region);
    snprintf(what, sizeof what, "region %s", region);
    int rc = cxl_sec_chan_send(c->chan, line, strlen(line));
    if (rc == 0)
        rc = cxl_sec_chan_recv_fd(c->chan, reply, sizeof reply, &n, fd);
    if (rc == 0)
        rc = cxl_sec_reply_fd_parse(reply, n, what, out);
    if (rc == CXL_EDENIED && *fd >= 0)
        rc = cxl_fail(CXL_EPROTO, "the manager refused %s but sent a descriptor", what);
    else if (rc == 0 && *fd < 0)
        rc = cxl_fail(CXL_EPROTO, "the manager granted %s but no descriptor came", what);
    else if (rc == 0)
        rc = fd_matches(*fd, out, region);
    if (rc && *fd >= 0)
        close(*fd), *fd = -1;
    if (rc && rc != CXL_EDENIED && c->chan) {
        cxl_sec_chan_free(c->chan);
        c->chan = NULL;
    }
    return rc;
}

void cxl_mgr_close(struct cxl_mgr_conn *c)
{
    if (!c)
        return;
    cxl_sec_chan_free(c->chan);
    free(c);
}
