/* sec_harness.h - cxl_sec_mgr for the tests (docs/SECURITY.md, "cxl_sec_mgr"):
 * provision a private directory (the manager key, node keys made with
 * `keygen --config`, the ACL, the master secret), run the daemon on a free
 * port (it dies with the test), revoke through the control socket, count
 * audit log lines. The same steps as tests/cli_sec_mgr.sh, from C. */
#ifndef CXL_TEST_SEC_HARNESS_H
#define CXL_TEST_SEC_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "redis_harness.h" /* harness_free_port, harness_sleep_ms */
#include "sec/sec.h"

struct sec_mgr {
    char dir[256];  /* private, absolute */
    char tool[512]; /* BUILD/bin/cxl_sec_mgr, absolute */
    char conf[300], master[300], state[300], audit[300], log[300], mgr_key[300];
    char addr[64];
    pid_t pid;
};

static inline void sec_init(struct sec_mgr *m, const char *dir, const char *tool)
{
    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    snprintf(m->tool, sizeof m->tool, "%s", tool);
    snprintf(m->conf, sizeof m->conf, "%s/acl.conf", dir);
    snprintf(m->master, sizeof m->master, "%s/master.secret", dir);
    snprintf(m->state, sizeof m->state, "%s/sec.state", dir);
    snprintf(m->audit, sizeof m->audit, "%s/sec.audit", dir);
    snprintf(m->log, sizeof m->log, "%s/daemon.log", dir);
    snprintf(m->mgr_key, sizeof m->mgr_key, "%s/mgr.key", dir);
}

/* Run `cxl_sec_mgr ARGS...` in m->dir; its stdout into out (NUL-ended), its
 * stderr appended to m->log. Returns the exit status (-1: could not run). */
static inline int sec_run(const struct sec_mgr *m, const char *const *args, char *out, size_t outlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        int e = open(m->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (e >= 0)
            dup2(e, 2);
        close(fds[0]);
        const char *argv[32] = {m->tool};
        int n = 1;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        if (chdir(m->dir) == 0)
            execv(m->tool, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    char sink[256];
    for (;;) {
        ssize_t r = len + 1 < outlen ? read(fds[0], out + len, outlen - 1 - len) : read(fds[0], sink, sizeof sink);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (len + 1 < outlen)
            len += (size_t)r;
    }
    out[len] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline int sec_append(const struct sec_mgr *m, const char *text)
{
    FILE *f = fopen(m->conf, "a");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) == 0 ? rc : -1;
}

/* The manager's key pair and the head of the ACL: files, rotate 0 (on demand
 * only), refresh seconds, one region per ring ("ring<n>"). */
static inline int sec_provision(struct sec_mgr *m, unsigned rings, unsigned refresh_s)
{
    char out[512];
    const char *args[] = {"keygen", "--manager", "--out", "mgr.key", NULL};
    if (sec_run(m, args, out, sizeof out) != 0)
        return -1;
    char head[1024];
    int n = snprintf(head, sizeof head, "# the test's ACL\nmanager-key mgr.key\nmaster master.secret\n"
                     "state sec.state\naudit sec.audit\ncontrol sec.sock\nrotate 0\nrefresh %u\n", refresh_s);
    for (unsigned i = 0; i < rings && n < (int)sizeof head - 40; i++)
        n += snprintf(head + n, sizeof head - (size_t)n, "region ring%u ring %u\n", i, i);
    FILE *f = fopen(m->conf, "w");
    if (!f || fputs(head, f) < 0) {
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* A node key pair NAME.key (manager's public key filled in) and its `node`
 * line in the ACL, naming the Redis user it runs as if user is not NULL.
 * key_path receives the absolute path of the key file. */
static inline int sec_add_node_as(struct sec_mgr *m, unsigned id, const char *name, const char *user,
                                  char *key_path, size_t cap)
{
    char file[80], idtext[16], out[512];
    snprintf(file, sizeof file, "%s.key", name);
    snprintf(idtext, sizeof idtext, "%u", id);
    const char *args[] = {"keygen", "--out", file, "--config", "acl.conf", "--id", idtext, "--name", name, NULL};
    if (sec_run(m, args, out, sizeof out) != 0 || strncmp(out, "node ", 5) != 0)
        return -1;
    snprintf(key_path, cap, "%.200s/%.90s", m->dir, file);
    if (user) {
        char *nl = strchr(out, '\n');
        if (nl)
            *nl = '\0';
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, " user %s\n", user);
    }
    return sec_append(m, out);
}

static inline int sec_add_node(struct sec_mgr *m, unsigned id, const char *name, char *key_path, size_t cap)
{
    return sec_add_node_as(m, id, name, NULL, key_path, cap);
}

/* mode: "rw" (a client of the region) or "serve" (its server) */
static inline int sec_add_grant(struct sec_mgr *m, const char *node, const char *region, const char *mode)
{
    char line[160];
    snprintf(line, sizeof line, "grant %s %s %s\n", node, region, mode);
    return sec_append(m, line);
}

/* The master secret, made here (0600) so that the test knows where it is
 * (the daemon would create it at its first start otherwise). */
static inline int sec_make_master(const struct sec_mgr *m)
{
    uint8_t s[32];
    int rc = cxl_secret_file_create(m->master, s);
    sodium_memzero(s, sizeof s);
    return rc;
}

/* Ask the daemon for PONG as node id with key file key: 0 when it answers. */
static inline int sec_ping(const struct sec_mgr *m, uint16_t id, const char *key)
{
    struct cxl_node_key k;
    if (cxl_node_key_load(key, &k) != 0)
        return -1;
    struct cxl_mgr_conn *c = NULL;
    int rc = cxl_mgr_connect(m->addr, id, &k, 1000, &c);
    if (rc == 0)
        rc = cxl_mgr_ping(c);
    cxl_mgr_close(c);
    cxl_node_key_wipe(&k);
    return rc;
}

/* Start the daemon on a free port (stderr to m->log); ready when node id
 * with key file key gets a PONG. 0, or -1 (m->log says why). */
static inline int sec_start(struct sec_mgr *m, uint16_t id, const char *key)
{
    snprintf(m->addr, sizeof m->addr, "127.0.0.1:%u", harness_free_port());
    m->pid = fork();
    if (m->pid < 0)
        return -1;
    if (m->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int e = open(m->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (e >= 0)
            dup2(e, 2);
        if (chdir(m->dir) == 0)
            execl(m->tool, m->tool, "--config", m->conf, "--listen", m->addr, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (sec_ping(m, id, key) == 0)
            return 0;
        int status;
        if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
            m->pid = 0;
            return -1;
        }
        harness_sleep_ms(50);
    }
    return -1;
}

/* Stop the daemon; its exit status (0 = a clean exit on SIGTERM). */
static inline int sec_stop(struct sec_mgr *m, int sig)
{
    if (m->pid <= 0)
        return -1;
    kill(m->pid, sig);
    int status;
    while (waitpid(m->pid, &status, 0) < 0 && errno == EINTR)
        ;
    m->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* `cxl_sec_mgr revoke --config acl.conf NODE`: its exit status. */
static inline int sec_revoke(const struct sec_mgr *m, const char *node, char *out, size_t outlen)
{
    const char *args[] = {"revoke", "--config", "acl.conf", node, NULL};
    return sec_run(m, args, out, outlen);
}

/* Lines of a file that contain text (the audit log, the daemon's stderr). */
static inline int sec_count_lines(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return n;
}

/* A sanitizer report in the daemon's stderr? */
static inline int sec_sanitizer_report(const struct sec_mgr *m)
{
    return sec_count_lines(m->log, "AddressSanitizer") + sec_count_lines(m->log, "LeakSanitizer") +
           sec_count_lines(m->log, "runtime error") > 0;
}

#endif
