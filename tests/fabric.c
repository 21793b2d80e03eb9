/* fabric.c - the software fabric manager (docs/FABRIC.md) against a real
 * cxl_sec_mgr: its fabric socket hands a range region's memfd to nodes
 * that authenticate with their node key, by the ACL. Every node runs in a
 * process of its own:
 *   - pub (rw): maps the region writable, writes, cannot seal while it maps
 *     it writable (EBUSY), unmaps and seals (F_SEAL_WRITE); after that its
 *     own mmap(PROT_WRITE) and write(2) fail;
 *   - reader (ro), before and after the seal: a read-only descriptor:
 *     mmap(PROT_WRITE) and mprotect(PROT_WRITE) fail (EACCES),
 *     write/seal/ftruncate fail; its reads see pub's bytes; as another uid
 *     no upgrade through /proc/self/fd; as the manager's uid an upgraded
 *     descriptor of the sealed region still writes nothing;
 *   - other (no grant), an unknown region, a ring region, FD over TCP, a
 *     node id claimed with another node's key: nothing, audited;
 *   - hostile peers on the socket: garbage, an oversized frame, silent
 *     connections, a flood of connections, an authenticated node's
 *     malformed and oversized requests: the daemon keeps serving;
 *   - revocation: the revoked node's new requests are refused (audited),
 *     while the mapping it made stays readable (Linux cannot revoke it);
 *     the others get a new memfd from then on.
 * Usage: fabric BUILD_DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "check.h"
#include "sec_harness.h"
#include "cxl/wait.h"

#define REGION_BYTES (1u << 20)
#define PATTERN 0x5a

enum { N_PUB, N_READER, N_OTHER, N_REVOKED, N_NODES };
static const char *const names[N_NODES] = {"pub", "reader", "other", "reader2"};
static char keys[N_NODES][300];
static struct sec_mgr m;
static char sock_path[300];

static int provision(void)
{
    char admin[300];
    int rc = sec_provision(&m, 1, 1) | sec_add_node(&m, 1, "admin", admin, sizeof admin);
    rc |= sec_append(&m, "fabric fabric.sock\nregion graph range 0 0x100000\n");
    for (int i = 0; i < N_NODES; i++)
        rc |= sec_add_node(&m, 2 + (unsigned)i, names[i], keys[i], sizeof keys[i]);
    rc |= sec_add_grant(&m, "pub", "graph", "rw") | sec_add_grant(&m, "reader", "graph", "ro") |
          sec_add_grant(&m, "reader2", "graph", "ro") | sec_add_grant(&m, "admin", "ring0", "rw");
    return rc ? rc : sec_make_master(&m);
}

/* Node i's descriptor of region (over the fabric socket): 0 and *fd, or the error. */
static int get_fd(int i, uint16_t as_id, const char *region, int *fd, struct cxl_sec_fd_grant *g)
{
    struct cxl_node_key k;
    struct cxl_mgr_conn *c = NULL;
    *fd = -1;
    int rc = cxl_node_key_load(keys[i], &k);
    if (rc == 0)
        rc = cxl_mgr_connect_unix(sock_path, as_id, &k, 3000, &c);
    if (rc == 0)
        rc = cxl_mgr_get_region_fd(c, region, fd, g);
    cxl_mgr_close(c);
    cxl_node_key_wipe(&k);
    return rc;
}

static int node_fd(int i, int *fd, struct cxl_sec_fd_grant *g)
{
    return get_fd(i, (uint16_t)(2 + i), "graph", fd, g);
}

/* Run fn in a child process: its exit status (0: every check passed). */
static int in_child(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        check_count = check_failures = 0;
        _exit(fn(arg));
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int child_result(const char *who)
{
    printf("  %s (pid %d): %d checks, %d failed\n", who, (int)getpid(), check_count, check_failures);
    fflush(stdout);
    return check_failures ? 1 : 0;
}

/* ---- the publisher: write, seal, then not even it can write ------------------------ */

static int to_parent[2], from_parent[2]; /* the publisher waits while a reader looks */

static int publisher(void *arg)
{
    (void)arg;
    int fd;
    char b = 0;
    struct cxl_sec_fd_grant g;
    CHECK_EQ(node_fd(N_PUB, &fd, &g), 0);
    if (fd < 0)
        return 1;
    CHECK_EQ(g.access, CXL_SEC_FD_RW);
    CHECK_EQ(g.size, REGION_BYTES);
    CHECK(g.seals & F_SEAL_GROW && g.seals & F_SEAL_SHRINK && !(g.seals & F_SEAL_WRITE));
    CHECK(ftruncate(fd, 2 * REGION_BYTES) != 0); /* F_SEAL_GROW */
    uint8_t *p = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED)
        return 1;
    memset(p, PATTERN, REGION_BYTES);
    /* published: a reader looks at the unsealed region meanwhile */
    CHECK(write(to_parent[1], "w", 1) == 1 && read(from_parent[0], &b, 1) == 1);
    /* a writable shared mapping exists (its own): the seal is refused */
    CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
    CHECK_EQ(errno, EBUSY);
    CHECK_EQ(munmap(p, REGION_BYTES), 0);
    CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
    CHECK(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE);
    /* sealed: not even the publisher writes */
    void *w = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(w == MAP_FAILED && errno == EPERM);
    CHECK(pwrite(fd, "x", 1, 0) == -1 && errno == EPERM);
    const uint8_t *r = mmap(NULL, REGION_BYTES, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(r != MAP_FAILED && r[0] == PATTERN && r[REGION_BYTES - 1] == PATTERN);
    CHECK(mprotect((void *)r, REGION_BYTES, PROT_READ | PROT_WRITE) != 0);
    close(fd);
    return child_result("publisher (rw)");
}

/* ---- a read-only node ------------------------------------------------------------- */

static void ro_checks(int fd)
{
    void *w = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(w == MAP_FAILED && errno == EACCES);
    uint8_t *r = mmap(NULL, REGION_BYTES, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(r != MAP_FAILED);
    if (r == MAP_FAILED)
        return;
    CHECK(r[0] == PATTERN && r[REGION_BYTES / 2] == PATTERN);
    CHECK(mprotect(r, REGION_BYTES, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
    CHECK(pwrite(fd, "x", 1, 0) == -1 && errno == EBADF);
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == -1 && errno == EPERM);
    CHECK(ftruncate(fd, 0) != 0);
    /* a private writable mapping is allowed and stays private */
    uint8_t *cow = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(cow != MAP_FAILED);
    if (cow != MAP_FAILED) {
        cow[0] = 1;
        CHECK(r[0] == PATTERN);
        munmap(cow, 4096);
    }
    munmap(r, REGION_BYTES);
}

static int reopen_rw(int fd)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open(path, O_RDWR | O_CLOEXEC);
}

/* Another uid than the manager's (the test drops to nobody when it runs as
 * root): no upgrade of the read-only descriptor through /proc, no fchmod. */
static void other_uid_checks(int fd)
{
    if (geteuid() == 0 && setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) != 0)
        return;
    if (geteuid() == 0)
        return;
    int up = reopen_rw(fd);
    CHECK(up < 0 && errno == EACCES);
    if (up >= 0)
        close(up);
    CHECK(fchmod(fd, 0600) == -1 && errno == EPERM);
    printf("  as uid %u: no re-open for writing, no fchmod\n", (unsigned)geteuid());
}

/* The manager's own uid can fchmod the memfd and re-open it writable
 * (docs/FABRIC.md): once sealed, that descriptor still writes nothing. */
static void same_uid_sealed_checks(int fd)
{
    CHECK_EQ(fchmod(fd, 0600), 0);
    int up = reopen_rw(fd);
    CHECK(up >= 0);
    if (up >= 0) {
        void *w = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, up, 0);
        CHECK(w == MAP_FAILED && errno == EPERM);
        CHECK(pwrite(up, "x", 1, 0) == -1 && errno == EPERM);
        close(up);
    }
    CHECK_EQ(fchmod(fd, 0400), 0);
}

static int quiet; /* readers during the flood say nothing */

static int reader(void *arg)
{
    int sealed = arg != NULL, fd;
    struct cxl_sec_fd_grant g;
    CHECK_EQ(node_fd(N_READER, &fd, &g), 0);
    if (fd < 0)
        return 1;
    CHECK_EQ(g.access, CXL_SEC_FD_RO);
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK_EQ(!!(g.seals & F_SEAL_WRITE), sealed);
    ro_checks(fd);
    if (sealed)
        same_uid_sealed_checks(fd);
    else
        other_uid_checks(fd); /* last: it gives up the test's uid */
    close(fd);
    if (quiet)
        return check_failures ? 1 : 0;
    return child_result(sealed ? "reader (ro), sealed region" : "reader (ro), unsealed region");
}

/* The publisher writes; a reader looks before the seal, another after. */
static void publish_and_read(void)
{
    char b;
    CHECK(pipe(to_parent) == 0 && pipe(from_parent) == 0);
    fflush(NULL);
    pid_t pub = fork();
    if (pub == 0) {
        check_count = check_failures = 0;
        _exit(publisher(NULL));
    }
    CHECK(read(to_parent[0], &b, 1) == 1);
    CHECK_EQ(in_child(reader, NULL), 0);
    CHECK(write(from_parent[1], "s", 1) == 1);
    int st;
    while (waitpid(pub, &st, 0) < 0 && errno == EINTR)
        ;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_EQ(in_child(reader, "sealed"), 0);
    for (int i = 0; i < 2; i++)
        close(to_parent[i]), close(from_parent[i]);
}

/* ---- nodes that get nothing ------------------------------------------------------- */

static int nothing(void *arg)
{
    (void)arg;
    int fd;
    struct cxl_sec_fd_grant g;
    CHECK_FAILS(node_fd(N_OTHER, &fd, &g), CXL_EDENIED, "no-grant");
    CHECK_EQ(fd, -1);
    CHECK_FAILS(get_fd(N_PUB, 2, "nosuch", &fd, &g), CXL_EDENIED, "unknown-region");
    CHECK_FAILS(get_fd(N_PUB, 2, "ring0", &fd, &g), CXL_EDENIED, "not-a-range");
    /* a node id claimed with another node's key: the handshake fails */
    CHECK_EQ(get_fd(N_OTHER, 2, "graph", &fd, &g), CXL_ECRYPTO);
    CHECK_EQ(fd, -1);
    /* FD on the TCP port: no descriptor crosses TCP */
    struct cxl_node_key k;
    struct cxl_mgr_conn *c = NULL;
    CHECK_EQ(cxl_node_key_load(keys[N_PUB], &k), 0);
    CHECK_EQ(cxl_mgr_connect(m.addr, 2, &k, 3000, &c), 0);
    if (c)
        CHECK_FAILS(cxl_mgr_get_region_fd(c, "graph", &fd, &g), CXL_EDENIED, "not-fabric");
    cxl_mgr_close(c);
    cxl_node_key_wipe(&k);
    return child_result("no grant, unknown region, ring, wrong key, TCP");
}

/* ---- hostile peers on the fabric socket ------------------------------------------- */

static int raw_connect(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%.100s", sock_path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

/* Garbage, an oversized frame, silent peers held open and a flood of
 * connections; meanwhile and after, the reader still gets its descriptor. */
static void hostile(void)
{
    int idle[40], n_idle = 0, flood = 0;
    uint8_t junk[39];
    memset(junk, 0xee, sizeof junk);
    uint8_t garbage[4 + sizeof junk] = {39, 0, 0, 0};
    memcpy(garbage + 4, junk, sizeof junk);
    const uint8_t oversized[4] = {0xff, 0xff, 0xff, 0x00};
    int g1 = raw_connect(), g2 = raw_connect();
    CHECK(g1 >= 0 && g2 >= 0);
    CHECK_EQ(send(g1, garbage, sizeof garbage, MSG_NOSIGNAL), (long)sizeof garbage);
    CHECK_EQ(send(g2, oversized, sizeof oversized, MSG_NOSIGNAL), 4);
    for (int i = 0; i < 40; i++)
        if ((idle[n_idle] = raw_connect()) >= 0)
            n_idle++;
    for (int i = 0; i < 2000; i++) {
        int s = raw_connect();
        if (s >= 0) {
            flood++;
            if (i % 2)
                send(s, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(s);
        }
    }
    /* honest fetches while another process floods the socket */
    fflush(NULL);
    pid_t flooder = fork();
    if (flooder == 0) {
        for (;;) {
            int s = raw_connect();
            if (s >= 0)
                close(s);
        }
    }
    quiet = 1;
    uint64_t t0 = cxl_now_ms();
    for (int i = 0; i < 5; i++)
        CHECK_EQ(in_child(reader, "sealed"), 0);
    printf("hostile: 5 ro fetches during a connection flood: %llu ms\n",
           (unsigned long long)(cxl_now_ms() - t0));
    quiet = 0;
    kill(flooder, SIGKILL);
    while (waitpid(flooder, NULL, 0) < 0 && errno == EINTR)
        ;
    char b;
    CHECK(recv(g1, &b, 1, 0) <= 0); /* closed by the daemon */
    CHECK(recv(g2, &b, 1, 0) <= 0);
    printf("hostile: garbage and oversized frames closed; %d silent peers held; %d flood connections\n",
           n_idle, flood);
    CHECK_EQ(in_child(reader, "sealed"), 0); /* served with the silent ones still open */
    for (int i = 0; i < n_idle; i++)
        close(idle[i]);
    close(g1);
    close(g2);
    CHECK_EQ(sec_count_lines(m.audit, "reason=malformed") >= 1, 1);
}

/* An authenticated node that sends a malformed request, or one larger than
 * the daemon takes (1 KiB): its channel is closed, the others are served. */
static void authenticated_garbage(void)
{
    /* NULL: 2000 bytes */
    static const char *const bad[4] = {"FD name ../etc/passwd", "FD graph", "FD name graph extra", NULL};
    struct cxl_node_key k;
    CHECK_EQ(cxl_node_key_load(keys[N_READER], &k), 0);
    for (int i = 0; i < 4; i++) {
        int s = raw_connect();
        struct cxl_sec_chan *ch = NULL;
        CHECK_EQ(cxl_sec_initiate(s, 3, &k, 3000, &ch), 0);
        if (!ch) {
            close(s);
            continue;
        }
        char big[2000];
        memset(big, 'A', sizeof big);
        uint8_t reply[64];
        size_t n;
        int fd = -1;
        CHECK_EQ(bad[i] ? cxl_sec_chan_send(ch, bad[i], strlen(bad[i])) : cxl_sec_chan_send(ch, big, sizeof big), 0);
        CHECK(cxl_sec_chan_recv_fd(ch, reply, sizeof reply, &n, &fd) != 0); /* closed, no reply */
        CHECK_EQ(fd, -1);
        cxl_sec_chan_free(ch); /* closes s */
    }
    cxl_node_key_wipe(&k);
    CHECK(sec_count_lines(m.audit, "reason=bad-request") >= 3);
    CHECK_EQ(in_child(reader, "sealed"), 0);
}

/* ---- revocation ------------------------------------------------------------------- */

/* reader2 maps the sealed region, is revoked: its new requests are refused,
 * its mapping stays readable (Linux cannot revoke it); the region gets a
 * new memfd for the grants that follow, so what is published next is out
 * of the revoked node's reach. */
static void revocation(void)
{
    int fd, fd2;
    struct cxl_sec_fd_grant g, g2;
    CHECK_EQ(node_fd(N_REVOKED, &fd, &g), 0);
    const uint8_t *r = fd >= 0 ? mmap(NULL, REGION_BYTES, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    CHECK(r != MAP_FAILED);
    char out[512];
    CHECK_EQ(sec_revoke(&m, "reader2", out, sizeof out), 0);
    CHECK_FAILS(node_fd(N_REVOKED, &fd2, &g2), CXL_EDENIED, "revoked");
    CHECK_EQ(fd2, -1);
    /* what Linux cannot revoke: the mapping made before (docs/FABRIC.md) */
    if (r != MAP_FAILED) {
        CHECK(r[0] == PATTERN && r[REGION_BYTES - 1] == PATTERN);
        munmap((void *)r, REGION_BYTES);
    }
    if (fd >= 0)
        close(fd);
    CHECK_EQ(sec_count_lines(m.audit, "fabric refuse node=5(reader2) region=graph reason=revoked"), 1);
    CHECK_EQ(sec_count_lines(m.audit, "fabric retire region=graph reason=revoke"), 1);
    /* the others are served, from a new memfd: empty, not sealed */
    CHECK_EQ(node_fd(N_PUB, &fd2, &g2), 0);
    CHECK(g2.inode != g.inode && !(g2.seals & F_SEAL_WRITE) && g2.access == CXL_SEC_FD_RW);
    uint8_t *w = fd2 >= 0 ? mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0) : MAP_FAILED;
    CHECK(w != MAP_FAILED);
    if (w != MAP_FAILED) {
        CHECK(w[0] == 0 && w[REGION_BYTES - 1] == 0);
        munmap(w, REGION_BYTES);
    }
    if (fd2 >= 0)
        close(fd2);
    CHECK_EQ(node_fd(N_READER, &fd2, &g2), 0);
    CHECK(g2.access == CXL_SEC_FD_RO && g2.inode != g.inode);
    if (fd2 >= 0)
        close(fd2);
}

int main(int argc, char **argv)
{
    const char *build = argc > 1 ? argv[1] : "build";
    char module[512], tool[512], mgr_tool[512], logdir[300], dir[64] = "/tmp/cxl-fabric.XXXXXX";
    if (harness_paths(build, "fabric", module, tool, mgr_tool, logdir) != 0 || !mkdtemp(dir))
        return 1;
    sec_init(&m, dir, mgr_tool);
    snprintf(sock_path, sizeof sock_path, "%s/fabric.sock", dir);
    CHECK_EQ(provision(), 0);
    char admin_key[300];
    snprintf(admin_key, sizeof admin_key, "%s/admin.key", dir);
    CHECK_EQ(sec_start(&m, 1, admin_key), 0);
    if (m.pid > 0) {
        publish_and_read();
        CHECK_EQ(in_child(nothing, NULL), 0);
        hostile();
        authenticated_garbage();
        revocation();
        CHECK_EQ(sec_ping(&m, 1, admin_key), 0);
        CHECK_EQ(sec_count_lines(m.audit, "fabric grant node=2(pub) region=graph access=rw"), 2);
        CHECK(sec_count_lines(m.audit, "fabric grant node=3(reader) region=graph access=ro") >= 3);
        CHECK_EQ(sec_count_lines(m.audit, "fabric refuse node=4(other) region=graph reason=no-grant"), 1);
        CHECK_EQ(sec_count_lines(m.audit, "reason=not-fabric peer=tcp"), 1);
        CHECK_EQ(sec_count_lines(m.audit, "reason=unknown-region"), 1);
        CHECK_EQ(sec_count_lines(m.audit, "reason=not-a-range"), 1);
        CHECK(sec_count_lines(m.audit, "reason=auth-failed") >= 1);
        CHECK_EQ(sec_stop(&m, SIGTERM), 0);
        CHECK(access(sock_path, F_OK) != 0); /* removed at stop */
    }
    CHECK(!sec_sanitizer_report(&m));
    if (check_failures) {
        snprintf(module, sizeof module, "cat %.250s %.250s >&2", m.log, m.audit);
        if (system(module) != 0)
            fprintf(stderr, "(no daemon log)\n");
    }
    snprintf(module, sizeof module, "grep fabric %.250s", m.audit);
    if (system(module) != 0)
        CHECK(0);
    snprintf(module, sizeof module, "rm -rf %s", dir);
    CHECK_EQ(system(module), 0);
    return check_summary("fabric");
}
