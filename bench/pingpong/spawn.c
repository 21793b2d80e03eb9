/* spawn.c - the processes of the ring ping-pong benchmark: starting the echo
 * server (fork + exec of /proc/self/exe --role echo, so it maps the medium on
 * its own, like a second host), stopping and reaping it, killing it
 * (echo_kill: main.c's exit and signal handler calls it on every exit path of
 * the client; PR_SET_PDEATHSIG if the client is SIGKILLed), and pinning.
 * Failures return -1 with a struct pp_err. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pingpong.h"

#define READY_TIMEOUT_MS 10000

static volatile pid_t g_child;    /* running echo server, 0 if none */
static int g_child_fd = -1;       /* its ready/stats pipe */

/* --- killing it: on every exit path of the client ----------------------- */

void echo_kill(void)
{
    pid_t p = g_child;
    if (p > 0) {
        kill(p, SIGKILL);
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
        }
        g_child = 0;
    }
}

int pin_to(int cpu, const char *who, struct pp_err *err)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return pp_fail(err, "%s: cannot pin to CPU %d: %s (use --no-pin)", who, cpu,
                       strerror(errno));
    return 0;
}

uint64_t involuntary_switches(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_nivcsw : 0;
}

/* --- starting the echo server --------------------------------------------------- */

/* The server's command line: the flags it needs, as text. */
struct echo_argv {
    char map_size[32], delay[32], dmodel[16], dbw[32], fd[16], cpu[16], spin[16], lines[16], bslot[32],
        payload[16];
    const char *argv[32];
};

static void echo_argv(const struct opts *o, struct echo_argv *e, enum impl impl, const char *path,
                      int ready_fd)
{
    snprintf(e->map_size, sizeof e->map_size, "%" PRIu64, o->map_size);
    snprintf(e->delay, sizeof e->delay, "%u", o->delay_ns);
    snprintf(e->dmodel, sizeof e->dmodel, "%s", cxl_delay_kind_name(o->delay.model));
    snprintf(e->dbw, sizeof e->dbw, "%.3f", o->delay.bw_mbps / 1000.0);
    snprintf(e->fd, sizeof e->fd, "%d", ready_fd);
    snprintf(e->cpu, sizeof e->cpu, "%d", o->pin ? 1 : -1);
    snprintf(e->spin, sizeof e->spin, "%u", o->echo_spin);
    snprintf(e->lines, sizeof e->lines, "%u", o->bare_lines);
    snprintf(e->bslot, sizeof e->bslot, "%" PRIu64, o->bare_slot);
    snprintf(e->payload, sizeof e->payload, "%u", o->payload);
    const char **a = e->argv;
    *a++ = "ring_pingpong";
    *a++ = "--role";           *a++ = "echo";
    *a++ = "--impl";           *a++ = impl_name(impl);
    *a++ = "--path";           *a++ = path;
    *a++ = "--map-size";       *a++ = e->map_size;
    *a++ = "--delay-ns";       *a++ = e->delay;
    *a++ = "--delay-model";    *a++ = e->dmodel;
    *a++ = "--delay-bw-gbps";  *a++ = e->dbw;
    *a++ = "--echo-spin";      *a++ = e->spin;
    *a++ = "--ready-fd";       *a++ = e->fd;
    *a++ = "--cpu";            *a++ = e->cpu;
    *a++ = "--bare-lines";     *a++ = e->lines;
    *a++ = "--bare-slot-size"; *a++ = e->bslot;
    *a++ = "--payload";        *a++ = e->payload;
    if (o->prefault)
        *a++ = "--prefault";
    if (o->hugepage)
        *a++ = "--hugepage";
    *a = NULL;
}

/* Fork and exec; the child keeps fds[1] as its ready fd. Returns the
 * child's pid, or -1. */
static pid_t fork_echo(const struct opts *o, enum impl impl, const char *path, int fds[2],
                       struct pp_err *err)
{
    struct echo_argv e;
    echo_argv(o, &e, impl, path, fds[1]);
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        return pp_fail(err, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* die with the client even if it is SIGKILLed */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        fcntl(fds[1], F_SETFD, 0); /* keep the ready fd across exec */
        execv("/proc/self/exe", (char *const *)e.argv);
        fprintf(stderr, "ring_pingpong: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Read the server's first line into info (up to the newline): 0, or -1 if
 * nothing came for READY_TIMEOUT_MS. */
static int read_ready_line(int fd, char *info, size_t infolen)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    size_t len = 0;
    info[0] = '\0';
    while (len + 1 < infolen) {
        int r = poll(&p, 1, READY_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, info + len, infolen - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        info[len] = '\0';
        if (strchr(info, '\n'))
            break;
    }
    return 0;
}

/* Start the server for impl on the medium at path and wait for its ready
 * line (returned in info): 0, or -1 (the exit handler kills a server that
 * started but did not answer). */
int spawn_echo(const struct opts *o, enum impl impl, const char *path, char *info, size_t infolen,
               struct pp_err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return pp_fail(err, "pipe: %s", strerror(errno));
    pid_t pid = fork_echo(o, impl, path, fds, err);
    if (pid < 0)
        return -1;
    g_child = pid;
    close(fds[1]);
    if (read_ready_line(fds[0], info, infolen) != 0)
        return pp_fail(err, "echo server (%s, pid %d) not ready after %d ms", impl_name(impl),
                       (int)pid, READY_TIMEOUT_MS);
    g_child_fd = fds[0];
    if (strncmp(info, "ready ", 6) != 0) {
        int status = 0;
        waitpid(pid, &status, 0);
        g_child = 0;
        return pp_fail(err, "echo server (%s) failed to start (exit status %d)", impl_name(impl),
                       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    char *nl = strchr(info, '\n');
    if (nl)
        *nl = '\0';
    return 0;
}

/* The client's watchdog: is the server still there? Its pid (0: none), or
 * -1 if it died, err saying how. */
int echo_check_alive(const char *what, struct pp_err *err)
{
    int status;
    pid_t p = g_child;
    if (p > 0 && waitpid(p, &status, WNOHANG) == p) {
        g_child = 0;
        if (WIFSIGNALED(status))
            return pp_fail(err, "echo server was killed by signal %d while the client %s",
                           WTERMSIG(status), what);
        return pp_fail(err, "echo server exited with status %d while the client %s",
                       WEXITSTATUS(status), what);
    }
    return (int)p;
}

/* --- stopping it ------------------------------------------------------------------- */

/* The server's stats line, read after it exited: 0 or -1. */
static int read_echo_stats(struct echo_stats *st, struct pp_err *err)
{
    char buf[256];
    size_t len = 0;
    ssize_t n;
    while (len + 1 < sizeof buf && (n = read(g_child_fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(g_child_fd);
    g_child_fd = -1;
    *st = (struct echo_stats){0};
    if (sscanf(buf, "stats batches=%" SCNu64 " msgs=%" SCNu64 " empty=%" SCNu64, &st->batches,
               &st->msgs, &st->empty) != 3)
        return pp_fail(err, "echo server did not report its stats (got '%s')", buf);
    return 0;
}

/* Reap the server, which the client has sent the stop message, and read
 * its stats: what it did and how often it was preempted. 0 or -1. */
int stop_echo(enum impl impl, struct echo_stats *st, struct pp_err *err)
{
    pid_t pid = g_child;
    int status = 0;
    for (int i = 0; i < 5000; i++) {
        struct rusage ru;
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid) {
            g_child = 0;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return pp_fail(err, "echo server (%s) ended badly (status 0x%x)", impl_name(impl),
                               status);
            if (read_echo_stats(st, err) != 0)
                return -1;
            st->preempted = (uint64_t)ru.ru_nivcsw;
            return 0;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return pp_fail(err, "echo server (%s, pid %d) did not exit after the stop message",
                   impl_name(impl), (int)pid);
}
