/* redis_harness.h - start and stop real redis-server processes with the
 * cxl_ring module for the tests: a free port, a private directory for its
 * log, readiness checked over TCP. */
#ifndef CXL_TEST_REDIS_HARNESS_H
#define CXL_TEST_REDIS_HARNESS_H

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "net/resp_conn.h"

extern char **environ;

struct redis_proc {
    pid_t pid;
    uint16_t port;
    char addr[64];
    char log[400];
    char errlog[420]; /* redis-server's stderr: sanitizer reports land here */
};

static inline uint16_t harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return 0;
    close(fd);
    return ntohs(sa.sin_port);
}

static inline void harness_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Connect and PING until it answers (or timeout). 0 when ready. */
static inline int redis_wait_ready(struct redis_proc *r, unsigned timeout_ms)
{
    for (unsigned waited = 0; waited < timeout_ms; waited += 50) {
        struct cxl_conn *c;
        if (cxl_conn_open(r->addr, &(struct cxl_conn_opts){.timeout_ms = 1000}, &c) == 0) {
            const char *argv[] = {"CXLRING.INFO"};
            const uint8_t *rep;
            size_t len;
            /* a Redis that requires authentication answers NOAUTH: up, too */
            int ok = cxl_conn_call(c, 1, argv, &rep, &len) == 0 &&
                     (rep[0] == '*' || (len > 7 && memcmp(rep, "-NOAUTH", 7) == 0));
            cxl_conn_close(c);
            if (ok)
                return 0;
        }
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            r->pid = 0;
            return -1; /* exited: the log says why */
        }
        harness_sleep_ms(50);
    }
    return -1;
}

/* Start redis-server on a free port with the module; server_args (NULL or
 * NULL terminated) are more redis-server arguments ("--requirepass", "x"),
 * module_args a NULL terminated list of "key=value" words. Reuses r->port
 * if set. */
static inline int redis_start_with(struct redis_proc *r, const char *const *server_args, const char *module,
                                   const char *const *module_args, const char *logdir)
{
    if (!r->port)
        r->port = harness_free_port();
    snprintf(r->addr, sizeof r->addr, "127.0.0.1:%u", r->port);
    snprintf(r->log, sizeof r->log, "%s/redis-%u.log", logdir, r->port);
    snprintf(r->errlog, sizeof r->errlog, "%s.stderr", r->log);
    char port[8];
    snprintf(port, sizeof port, "%u", r->port);
    const char *argv[96] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--logfile", r->log, "--dir", logdir};
    int n = 13;
    for (int i = 0; server_args && server_args[i] && n < 60; i++)
        argv[n++] = server_args[i];
    argv[n++] = "--loadmodule";
    argv[n++] = module;
    for (int i = 0; module_args && module_args[i] && n < 94; i++)
        argv[n++] = module_args[i];
    argv[n] = NULL;
    r->pid = fork();
    if (r->pid < 0)
        return -1;
    if (r->pid == 0) { /* dies with the test, even if the test crashes */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(r->errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        /* a sanitizer-built module needs the runtimes preloaded into Redis */
        const char *preload = getenv("CXL_TEST_REDIS_PRELOAD");
        if (preload && *preload) {
            setenv("LD_PRELOAD", preload, 1);
            setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1", 1);
            setenv("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1", 1);
        }
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    return redis_wait_ready(r, 10000);
}

static inline int redis_start(struct redis_proc *r, const char *module, const char *const *module_args,
                              const char *logdir)
{
    return redis_start_with(r, NULL, module, module_args, logdir);
}

/* Absolute paths of what a test runs from BUILD (redis-server chdirs to
 * --dir, so relative ones would break), and BUILD/test-logs/TEST made. */
static inline int harness_paths(const char *build, const char *test, char module[512], char tool[512],
                                char mgr_tool[512], char logdir[300])
{
    char cmd[400], abs[PATH_MAX];
    snprintf(logdir, 300, "%.150s/test-logs/%.100s", build, test);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", logdir);
    if (system(cmd) != 0)
        return -1;
    snprintf(module, 512, "%.300s/cxl_ring.so", build);
    snprintf(tool, 512, "%.300s/bin/cxl_ring_direct", build);
    snprintf(mgr_tool, 512, "%.300s/bin/cxl_sec_mgr", build);
    char *paths[] = {logdir, module, tool, mgr_tool};
    size_t caps[] = {300, 512, 512, 512};
    for (int i = 0; i < 4; i++)
        if (realpath(paths[i], abs))
            snprintf(paths[i], caps[i], "%s", abs);
    return 0;
}

/* Does a line of the file (a log) contain text? */
static inline int harness_file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Run a shell command line; its stdout and stderr in out (NUL-ended).
 * Returns its exit status (-1 if it did not exit normally). */
static inline int harness_run(const char *cmdline, char *out, size_t cap)
{
    char line[1400];
    snprintf(line, sizeof line, "%s 2>&1", cmdline);
    FILE *p = popen(line, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = '\0';
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Did redis-server's stderr get a sanitizer report? */
static inline int redis_sanitizer_report(const struct redis_proc *r)
{
    FILE *f = fopen(r->errlog, "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "ERROR: AddressSanitizer") || strstr(line, "runtime error:")) {
            fprintf(stderr, "redis-server: %s", line);
            found = 1;
        }
    if (f)
        fclose(f);
    return found;
}

static inline void redis_stop(struct redis_proc *r, int sig)
{
    if (r->pid <= 0)
        return;
    kill(r->pid, sig);
    int status;
    waitpid(r->pid, &status, 0);
    r->pid = 0;
}

/* One command over TCP; returns the reply bytes copied into buf (NUL-ended). */
static inline int redis_tcp(const struct redis_proc *r, int argc, const char *const *argv, char *buf,
                            size_t buflen)
{
    struct cxl_conn *c;
    if (cxl_conn_open(r->addr, NULL, &c) != 0)
        return -1;
    const uint8_t *rep;
    size_t len;
    int rc = cxl_conn_call(c, argc, argv, &rep, &len);
    if (rc == 0) {
        size_t n = len < buflen - 1 ? len : buflen - 1;
        memcpy(buf, rep, n);
        buf[n] = '\0';
    }
    cxl_conn_close(c);
    return rc;
}

/* A test program's named scenarios: those named in argv[2..] run (all of
 * them when none is), each reported "name: ok" or "name: FAILED". */
struct harness_scenario {
    const char *name;
    void (*fn)(void);
};

static inline void harness_run_scenarios(int argc, char **argv, const struct harness_scenario *sc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int wanted = argc <= 2;
        for (int a = 2; a < argc; a++)
            wanted |= strcmp(argv[a], sc[i].name) == 0;
        if (!wanted)
            continue;
        int before = check_failures;
        sc[i].fn();
        printf("%s: %s\n", sc[i].name, check_failures == before ? "ok" : "FAILED");
        fflush(stdout);
    }
}

#endif
