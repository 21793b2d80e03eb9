/* fabric.c - the software fabric manager inside cxl_sec_mgr
 * (docs/FABRIC.md): the fabric's Unix socket, one memfd per range region
 * (made at the first request for it: sealed against resizing, mode 0400 so
 * that nobody re-opens it writable through /proc), and the decision on an
 * `FD name <region>` request with its audit line: a read-write descriptor
 * (rw, serve), a read-only one (ro) or a refusal. The descriptor handed to
 * the connection is always a new one, the connection's to close. A region
 * that moves to a new epoch without grace (a revoke, a lost grant) gets a
 * new memfd for the grants that follow: the revoked node holds only the
 * old one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/addr.h"
#include "cxl/error.h"
#include "daemon.h"

#define FABRIC_BACKLOG 1024

int fabric_listen(struct mgr_daemon *d)
{
    struct cxl_net_addr a;
    if (!d->cfg.fabric[0])
        return 0;
    if (cxl_net_addr_unix(d->cfg.fabric, &a) != 0)
        return cxl_fail(CXL_EINVAL, "fabric %s: path too long for a Unix socket", d->cfg.fabric);
    if ((d->fabric_fd = cxl_net_listen(&a, FABRIC_BACKLOG)) < 0)
        return cxl_fail_errno(CXL_ESYS, "fabric %s: cannot listen", d->cfg.fabric);
    /* anyone may connect; only a node key gets past the handshake */
    if (chmod(d->cfg.fabric, 0666) != 0)
        return cxl_fail_errno(CXL_ESYS, "fabric %s: chmod", d->cfg.fabric);
    return 0;
}

void fabric_close(struct mgr_daemon *d)
{
    if (d->fabric_fd >= 0) {
        close(d->fabric_fd);
        unlink(d->cfg.fabric);
        d->fabric_fd = -1;
    }
    for (size_t i = 0; i < d->n_fab; i++)
        if (d->fab[i].fd >= 0)
            close(d->fab[i].fd);
    free(d->fab);
    d->fab = NULL;
    d->n_fab = 0;
}

/* 1: region had a memfd, now retired (audited); 0: it had none. */
static int retire(struct mgr_daemon *d, const char *region, const char *reason)
{
    for (size_t i = 0; i < d->n_fab; i++) {
        if (strcmp(d->fab[i].name, region) != 0)
            continue;
        close(d->fab[i].fd);
        d->fab[i] = d->fab[--d->n_fab];
        audit_log(&d->audit, 0, "fabric retire region=%s reason=%s (the next grant gets a new "
                  "memfd; holders keep the old one)", region, reason);
        return 1;
    }
    return 0;
}

void fabric_retire(struct mgr_daemon *d, const char *region, const char *reason)
{
    retire(d, region, reason);
}

int fabric_retire_request(struct mgr_daemon *d, const char *region, char *msg, size_t cap)
{
    const struct mgr_region *r = config_region_by_name(&d->cfg, region);
    if (!d->cfg.fabric[0])
        return snprintf(msg, cap, "no fabric socket is configured"), CXL_EINVAL;
    if (!r || r->kind != MGR_REGION_RANGE)
        return snprintf(msg, cap, "'%s' is not a range region", region), CXL_EINVAL;
    if (retire(d, r->name, "request"))
        snprintf(msg, cap, "region %s: the next grant gets a new, empty memfd (holders keep the old "
                 "one)", r->name);
    else
        snprintf(msg, cap, "region %s has no memfd yet: nothing to retire", r->name);
    return 0;
}

/* A new memfd of size bytes: never resized, never re-opened for writing. */
static int make_memfd(const char *name, uint64_t size)
{
    char label[MGR_NAME_MAX + 8];
    snprintf(label, sizeof label, "cxl-%s", name);
    int fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "fabric: memfd_create for region %s", name);
    if (ftruncate(fd, (off_t)size) != 0 || fchmod(fd, 0400) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
        int rc = cxl_fail_errno(CXL_ESYS, "fabric: memfd of %llu bytes for region %s",
                                (unsigned long long)size, name);
        close(fd);
        return rc;
    }
    return fd;
}

/* The region's memfd (made now if it has none): its entry, or NULL. */
static struct mgr_fabric_region *region_memfd(struct mgr_daemon *d, const struct mgr_region *r)
{
    for (size_t i = 0; i < d->n_fab; i++)
        if (strcmp(d->fab[i].name, r->name) == 0)
            return &d->fab[i];
    struct mgr_fabric_region *grown = realloc(d->fab, (d->n_fab + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    d->fab = grown;
    int fd = make_memfd(r->name, r->length);
    if (fd < 0) {
        fprintf(stderr, "cxl_sec_mgr: %s\n", cxl_last_error());
        return NULL;
    }
    struct mgr_fabric_region *f = &d->fab[d->n_fab++];
    snprintf(f->name, sizeof f->name, "%s", r->name);
    f->fd = fd;
    f->size = r->length;
    return f;
}

/* A descriptor of f for this grant: read-write (a duplicate) or read-only
 * (the memfd opened again O_RDONLY: a new open file, mode 0400 allows it). */
static int descriptor(const struct mgr_fabric_region *f, int ro)
{
    if (!ro)
        return fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", f->fd);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* The peer's pid and uid for the audit line; *same_uid: it runs as the
 * daemon's user or root, who can fchmod the memfd and re-open it writable
 * through /proc (docs/FABRIC.md, "Read-only, and whose uid"). */
static void peer_cred(int sock, char *buf, size_t cap, int *same_uid)
{
    struct ucred uc;
    socklen_t len = sizeof uc;
    *same_uid = 1;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
        snprintf(buf, cap, "pid=%ld uid=%lu", (long)uc.pid, (unsigned long)uc.uid);
        *same_uid = uc.uid == geteuid() || uc.uid == 0;
    } else {
        snprintf(buf, cap, "pid=? uid=?");
    }
}

static int refuse(struct mgr_daemon *d, const struct mgr_node *n, const char *region,
                  const char *reason, const char *cred, uint8_t *reply, size_t cap)
{
    audit_log(&d->audit, 1, "fabric refuse node=%u(%s) region=%s reason=%s %s", n->id, n->name,
              region, reason, cred);
    return cxl_sec_reply_refuse(reason, reply, cap);
}

int fabric_request(struct mgr_daemon *d, const struct mgr_node *n, const char *region,
                   int on_fabric, int sock, int *pass_fd, uint8_t *reply, size_t cap)
{
    char cred[64] = "peer=tcp";
    int same_uid = 1;
    if (on_fabric)
        peer_cred(sock, cred, sizeof cred, &same_uid);
    const struct mgr_region *r = config_region_by_name(&d->cfg, region);
    if (!on_fabric)
        return refuse(d, n, region, "not-fabric", cred, reply, cap);
    if (!r)
        return refuse(d, n, region, "unknown-region", cred, reply, cap);
    if (r->kind != MGR_REGION_RANGE)
        return refuse(d, n, region, "not-a-range", cred, reply, cap);
    if (n->revoked)
        return refuse(d, n, region, "revoked", cred, reply, cap);
    const struct mgr_grant *g = config_grant(&d->cfg, (size_t)(n - d->cfg.nodes), (size_t)(r - d->cfg.regions));
    if (!g)
        return refuse(d, n, region, "no-grant", cred, reply, cap);
    const struct mgr_fabric_region *f = region_memfd(d, r);
    int ro = g->mode == MGR_GRANT_RO;
    int fd = f ? descriptor(f, ro) : -1;
    struct stat st;
    int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
    if (fd < 0 || seals < 0 || fstat(fd, &st) != 0) {
        if (f)
            fprintf(stderr, "cxl_sec_mgr: fabric: a descriptor of region %s: %s\n", r->name,
                    strerror(errno));
        if (fd >= 0)
            close(fd);
        return refuse(d, n, region, "unavailable", cred, reply, cap);
    }
    int len = cxl_sec_reply_fd(ro ? CXL_SEC_FD_RO : CXL_SEC_FD_RW, (uint64_t)st.st_size,
                               (uint64_t)st.st_ino, (uint32_t)seals, reply, cap);
    if (len < 0) {
        close(fd);
        return len;
    }
    *pass_fd = fd;
    /* read-only before the write seal holds only against another uid: say so */
    int weak = ro && same_uid && !(seals & F_SEAL_WRITE);
    audit_log(&d->audit, 0, "fabric grant node=%u(%s) region=%s access=%s size=%llu seals=0x%x %s%s",
              n->id, n->name, r->name, ro ? "ro" : "rw", (unsigned long long)st.st_size,
              (unsigned)seals, cred, weak ? " note=ro-unsealed-same-uid" : "");
    return len;
}
