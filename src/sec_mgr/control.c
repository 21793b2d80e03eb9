/* control.c - the control socket of cxl_sec_mgr: a Unix socket of mode 0600
 * that only the daemon's own user (or root) may use. One request line per
 * connection, one reply line:
 *
 *   REVOKE <node name or id>   ->  OK revoked node=... | ERR ...
 *   ROTATE [<region>]          ->  OK new epochs: ring0=3 ... | ERR ...
 *   RELOAD                     ->  OK reloaded ... | ERR <line-numbered errors> ...
 *   PING                       ->  OK pong
 *
 * The daemon's side (listen, peer check, the requests) and the clients
 * behind `cxl_sec_mgr revoke`, `rotate`, `reload` and `ping`. */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cxl/error.h"
#include "base/addr.h"
#include "sec_mgr.h"

#define CONTROL_TIMEOUT_MS 10000

static int unix_addr(const char *path, struct cxl_net_addr *a)
{
    if (cxl_net_addr_unix(path, a) != 0)
        return cxl_fail(CXL_EINVAL, "control socket path too long (at most %zu bytes): %s",
                        sizeof ((struct sockaddr_un *)0)->sun_path - 1, path);
    return 0;
}

/* A socket file left by a daemon that died is removed; a live one is an error. */
static int clear_stale(const char *path, const struct cxl_net_addr *a)
{
    switch (cxl_net_unix_claim(a)) {
    case 0: return 0;
    case CXL_EINVAL: return cxl_fail(CXL_EINVAL, "control socket %s: exists and is not a socket", path);
    case CXL_EBUSY:
        return cxl_fail(CXL_EBUSY, "control socket %s answers: another cxl_sec_mgr is running", path);
    default: return cxl_fail_errno(CXL_ESYS, "cannot remove the stale socket %s", path);
    }
}

/* Born 0600 (the umask while it is bound), then listening. */
int control_listen(const char *path, int *out)
{
    struct cxl_net_addr a;
    int rc = unix_addr(path, &a);
    if (rc || (rc = clear_stale(path, &a)) != 0)
        return rc;
    mode_t old = umask(0177);
    int fd = cxl_net_listen(&a, 16);
    umask(old);
    if (fd < 0 || chmod(path, 0600) != 0) {
        rc = cxl_fail_errno(CXL_ESYS, "control socket %s", path);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int control_peer_ok(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return 0;
    return cr.uid == geteuid() || cr.uid == 0;
}

void control_handle(struct mgr_daemon *d, const char *line, char *reply, size_t cap)
{
    char msg[2048];
    int rc;
    msg[0] = '\0';
    if (strcmp(line, "PING") == 0) {
        snprintf(reply, cap, "OK pong");
        return;
    }
    if (strncmp(line, "REVOKE ", 7) == 0 && line[7])
        rc = policy_revoke(d, line + 7, msg, sizeof msg);
    else if (strcmp(line, "ROTATE") == 0)
        rc = policy_rotate(d, NULL, "request", msg, sizeof msg);
    else if (strncmp(line, "ROTATE ", 7) == 0 && line[7])
        rc = policy_rotate(d, line + 7, "request", msg, sizeof msg);
    else if (strcmp(line, "RELOAD") == 0)
        rc = reload_config(d, "control", msg, sizeof msg);
    else if (strncmp(line, "RETIRE ", 7) == 0 && line[7])
        rc = fabric_retire_request(d, line + 7, msg, sizeof msg);
    else
        rc = CXL_EINVAL, snprintf(msg, sizeof msg,
                                  "unknown request (REVOKE NODE, ROTATE [REGION], RELOAD, RETIRE REGION, PING)");
    snprintf(reply, cap, "%s %s", rc ? "ERR" : "OK", msg);
}

/* ---- the clients ------------------------------------------------------------------------ */

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* Send one line, read the reply line (bounded by CONTROL_TIMEOUT_MS). */
static int control_call(const char *path, const char *line, char *reply, size_t cap)
{
    struct cxl_net_addr a;
    int rc = unix_addr(path, &a);
    if (rc)
        return rc;
    int fd = cxl_net_connect(&a, 0, NULL);
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "control socket %s (is the daemon running?)", path);
    size_t have = 0;
    rc = send_all(fd, line, strlen(line)) ? cxl_fail_errno(CXL_ESYS, "send") : 0;
    while (rc == 0 && have < cap - 1 && !memchr(reply, '\n', have)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, CONTROL_TIMEOUT_MS);
        ssize_t got = n > 0 ? recv(fd, reply + have, cap - 1 - have, 0) : -1;
        if (n == 0)
            rc = cxl_fail(CXL_ETIMEDOUT, "the daemon did not answer in %d ms", CONTROL_TIMEOUT_MS);
        else if (got < 0 && errno != EINTR)
            rc = cxl_fail_errno(CXL_ESYS, "control socket");
        else if (got == 0)
            break;
        else if (got > 0)
            have += (size_t)got;
    }
    close(fd);
    reply[have] = '\0';
    char *nl = strchr(reply, '\n');
    if (nl)
        *nl = '\0';
    if (rc == 0 && !have)
        rc = cxl_fail(CXL_EPROTO, "the daemon closed the control connection without a reply");
    return rc;
}

/* The control socket's path from the config. For `reload` a config with
 * errors is fine as long as it names the socket: the daemon reports the
 * errors (line-numbered) and keeps its configuration. */
static int control_path(const struct mgr_opts *o, char *path, size_t cap)
{
    struct mgr_config c;
    int errors = config_load(o->config, 0, &c, NULL);
    int ok = errors == 0 || (o->cmd == MGR_CMD_RELOAD && c.line[MGR_SET_CONTROL]);
    snprintf(path, cap, "%s", c.control);
    config_free(&c);
    if (!ok) { /* again, to print the errors */
        config_load(o->config, 0, &c, stderr);
        config_free(&c);
    }
    return ok ? 0 : -1;
}

int cmd_control(const struct mgr_opts *o)
{
    static const char *const verbs[] = {[MGR_CMD_REVOKE] = "REVOKE", [MGR_CMD_ROTATE] = "ROTATE",
                                        [MGR_CMD_RELOAD] = "RELOAD", [MGR_CMD_PING] = "PING",
                                        [MGR_CMD_RETIRE] = "RETIRE"};
    char path[MGR_PATH_MAX];
    if (control_path(o, path, sizeof path) != 0)
        return MGR_EXIT_FAIL;
    char line[160], reply[4096];
    const char *verb = verbs[o->cmd];
    snprintf(line, sizeof line, "%s%s%s\n", verb, o->arg ? " " : "", o->arg ? o->arg : "");
    int rc = control_call(path, line, reply, sizeof reply);
    if (rc) {
        fprintf(stderr, "cxl_sec_mgr: %s\n", cxl_last_error());
        return MGR_EXIT_FAIL;
    }
    if (strncmp(reply, "OK ", 3) == 0) {
        printf("%s\n", reply + 3);
        return MGR_EXIT_OK;
    }
    fprintf(stderr, "cxl_sec_mgr: %s\n", strncmp(reply, "ERR ", 4) == 0 ? reply + 4 : reply);
    return MGR_EXIT_FAIL;
}
