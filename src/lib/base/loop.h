/* base/loop.h - the one event loop's mechanics, over epoll (level-triggered):
 * a descriptor is watched with an interest mask (EPOLLIN, EPOLLOUT, ...) and
 * a 64-bit tag of the caller's (a slot and generation, a pointer) that
 * comes back with its events; one wait at a time, with a timeout and
 * optionally a signal mask, hands each event to the caller's function.
 * What to watch when (back-pressure, pausing a listener, deadlines) is the
 * program's: the gateway, the tunnel and cxl_sec_mgr each keep theirs.
 * Also: stopping on SIGINT/SIGTERM, and raising the descriptor limit such a
 * loop needs. */
#ifndef CXL_BASE_LOOP_H
#define CXL_BASE_LOOP_H

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>

struct cxl_loop {
    int ep;
    int max_events;
    struct epoll_event *events;
};

/* An event for the descriptor watched with tag. */
typedef void cxl_loop_fn(void *ctx, uint64_t tag, uint32_t events);

/* At most max_events handed out per wait. 0, or CXL_ESYS with a message. */
int cxl_loop_open(struct cxl_loop *l, int max_events);
void cxl_loop_close(struct cxl_loop *l); /* the descriptors watched stay open */

/* Watch fd for want (0: not at all), *mask being what it is watched for now
 * (0: not watched; updated on success). Adds, changes or removes fd as
 * needed; nothing when want is *mask. 0, or -1 with errno. A descriptor
 * closed is no longer watched: set its mask to 0 then. */
int cxl_loop_watch(struct cxl_loop *l, int fd, uint32_t *mask, uint32_t want, uint64_t tag);

/* One wait of at most timeout_ms (0: none, -1: no limit); sigmask, if not
 * NULL, is the signal mask during the wait (epoll_pwait). Each event goes to
 * fn(ctx, tag, events) in turn. The number of events (0: timed out or a
 * signal came), or CXL_ESYS with a message. */
int cxl_loop_wait(struct cxl_loop *l, int timeout_ms, const sigset_t *sigmask, cxl_loop_fn *fn, void *ctx);

/* A loop that runs until SIGINT or SIGTERM: cxl_loop_stop_on_signals sets
 * them up (and ignores SIGPIPE: a peer gone is an error return); then
 * cxl_loop_stopping says whether one came. */
void cxl_loop_stop_on_signals(void);
int cxl_loop_stopping(void);

/* The descriptor budget of a program's loop: the soft RLIMIT_NOFILE raised
 * to need (0: left as it is), at most to the hard limit, which *hard says
 * (UINT64_MAX: none). 0, or -1 with errno when it could not be raised. What
 * to do when the hard limit is too low is the program's. */
int cxl_fd_limit_raise(uint64_t need, uint64_t *hard);

#endif
