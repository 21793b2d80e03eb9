/* loop.c - the event loop's mechanics (base/loop.h): the epoll set, watching
 * a descriptor (add, change, remove from one call), one wait handing out its
 * events; stopping on SIGINT/SIGTERM; raising the descriptor limit. Used by cxl_resp_gateway,
 * cxl_sodium_tunnel and cxl_sec_mgr. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cxl/error.h"
#include "base/loop.h"

int cxl_loop_open(struct cxl_loop *l, int max_events)
{
    *l = (struct cxl_loop){.ep = epoll_create1(EPOLL_CLOEXEC), .max_events = max_events};
    if (l->ep < 0)
        return cxl_fail_errno(CXL_ESYS, "epoll_create1");
    l->events = calloc((size_t)max_events, sizeof *l->events);
    if (l->events)
        return 0;
    cxl_loop_close(l);
    return cxl_fail(CXL_ESYS, "out of memory");
}

void cxl_loop_close(struct cxl_loop *l)
{
    if (l->ep >= 0)
        close(l->ep);
    free(l->events);
    *l = (struct cxl_loop){.ep = -1};
}

int cxl_loop_watch(struct cxl_loop *l, int fd, uint32_t *mask, uint32_t want, uint64_t tag)
{
    if (want == *mask)
        return 0;
    struct epoll_event ev = {.events = want, .data.u64 = tag};
    int op = !*mask ? EPOLL_CTL_ADD : want ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    if (epoll_ctl(l->ep, op, fd, &ev) != 0 && op != EPOLL_CTL_DEL)
        return -1;
    *mask = want;
    return 0;
}

int cxl_loop_wait(struct cxl_loop *l, int timeout_ms, const sigset_t *sigmask, cxl_loop_fn *fn, void *ctx)
{
    int n = epoll_pwait(l->ep, l->events, l->max_events, timeout_ms, sigmask);
    if (n < 0)
        return errno == EINTR ? 0 : cxl_fail_errno(CXL_ESYS, "epoll_wait");
    for (int i = 0; i < n; i++)
        fn(ctx, l->events[i].data.u64, l->events[i].events);
    return n;
}

int cxl_fd_limit_raise(uint64_t need, uint64_t *hard)
{
    struct rlimit rl;
    *hard = UINT64_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_max != RLIM_INFINITY)
        *hard = rl.rlim_max;
    if (rl.rlim_cur >= need) /* RLIM_INFINITY included */
        return 0;
    rl.rlim_cur = need < *hard ? need : *hard;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

void cxl_loop_stop_on_signals(void)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
}

int cxl_loop_stopping(void)
{
    return stop_signal != 0;
}
