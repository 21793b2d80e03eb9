/* driver.c - who calls the serving engine, and when (docs/SERVER.md has the
 * measurements behind the choice).
 *
 * thread (default): a module thread watches the rings; when requests wait it
 *   takes Redis's lock (the module GIL, free while Redis sleeps in epoll) and
 *   serves a batch over all rings. While Redis is busy with its own clients it
 *   seldom sleeps, so Redis's main thread also serves the rings from its
 *   before-sleep hook (once per event-loop iteration, lock already held).
 *   The two never run at once: both hold the lock. No syscall on the hot path;
 *   idle rings back off to sleeps of max_sleep_us.
 * thread-only: the thread without the hook (kept to measure the hook).
 * eventloop: only Redis's main thread serves, from the before-sleep hook; a
 *   watcher thread that sees requests while Redis sleeps wakes it through an
 *   eventfd registered with EventLoopAdd. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cxl/wait.h"
#include "module.h"

#define EVENTLOOP_MAX_PASSES 64

struct driver {
    enum serve_mode mode;
    struct cxl_kv_server *server;
    pthread_t thread;
    int thread_started;
    volatile int stop;
    int efd;
    volatile int wake_pending; /* eventloop: a wake-up is in flight */
};

/* --- thread ------------------------------------------------------------------ */

static void *serve_thread(void *arg)
{
    struct driver *d = arg;
    cxl_kv_server_run(d->server, &d->stop);
    return NULL;
}

/* --- the before-sleep hook (thread and eventloop) ---------------------------------- */

static struct driver *hooked_driver; /* the event callback has no user data */

static void on_event_loop(RedisModuleCtx *ctx, struct rm_event e, uint64_t sub, void *data)
{
    (void)ctx, (void)e, (void)data;
    struct driver *d = hooked_driver;
    if (!d || sub != RM_SUBEVENT_BEFORE_SLEEP)
        return;
    __atomic_store_n(&d->wake_pending, 0, __ATOMIC_RELEASE);
    /* Redis holds its lock here, so the serving thread is not polling */
    for (int i = 0; i < EVENTLOOP_MAX_PASSES && cxl_kv_server_pending(d->server) &&
                    cxl_kv_server_poll(d->server) > 0; i++)
        ;
}

static int hook_event_loop(RedisModuleCtx *ctx, struct driver *d, char *err, size_t errlen)
{
    hooked_driver = d;
    struct rm_event ev = {RM_EVENT_EVENTLOOP, 1};
    if (rm.SubscribeToServerEvent(ctx, ev, on_event_loop) != RM_OK) {
        snprintf(err, errlen, "cannot subscribe to the event-loop server event");
        return -1;
    }
    return 0;
}

/* --- eventloop -------------------------------------------------------------------------- */

static void on_wake(int fd, void *user_data, int mask)
{
    (void)user_data, (void)mask;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        return; /* nothing to do: the before-sleep hook serves the rings */
}

/* Watches the rings while Redis sleeps and wakes it when requests arrive. */
static void *watch_thread(void *arg)
{
    struct driver *d = arg;
    struct cxl_backoff b;
    cxl_backoff_init(&b, 20, 200, 200);
    while (!d->stop) {
        if (!__atomic_load_n(&d->wake_pending, __ATOMIC_ACQUIRE) && cxl_kv_server_pending(d->server)) {
            __atomic_store_n(&d->wake_pending, 1, __ATOMIC_RELEASE);
            uint64_t one = 1;
            if (write(d->efd, &one, sizeof one) < 0 && errno != EAGAIN)
                break;
            cxl_backoff_done(&b);
        } else {
            cxl_backoff_wait(&b);
        }
        cxl_kv_server_beat(d->server); /* the main thread may sleep for long */
    }
    return NULL;
}

static int start_eventloop(RedisModuleCtx *ctx, struct driver *d, char *err, size_t errlen)
{
    d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->efd < 0) {
        snprintf(err, errlen, "eventfd failed");
        return -1;
    }
    if (rm.EventLoopAdd(d->efd, RM_EVENTLOOP_READABLE, on_wake, d) != RM_OK) {
        snprintf(err, errlen, "EventLoopAdd failed");
        return -1;
    }
    if (hook_event_loop(ctx, d, err, errlen) != 0)
        return -1;
    if (pthread_create(&d->thread, NULL, watch_thread, d) != 0) {
        snprintf(err, errlen, "cannot start the watcher thread");
        return -1;
    }
    d->thread_started = 1;
    return 0;
}

/* --- both ---------------------------------------------------------------------------- */

int driver_start(RedisModuleCtx *ctx, enum serve_mode mode, struct cxl_kv_server *s,
                 struct driver **out, char *err, size_t errlen)
{
    struct driver *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    d->mode = mode;
    d->server = s;
    d->efd = -1;
    int rc;
    if (mode == SERVE_EVENTLOOP) {
        rc = start_eventloop(ctx, d, err, errlen);
    } else {
        rc = mode == SERVE_THREAD ? hook_event_loop(ctx, d, err, errlen) : 0;
        if (rc == 0 && (rc = pthread_create(&d->thread, NULL, serve_thread, d)) != 0)
            snprintf(err, errlen, "cannot start the serving thread");
        d->thread_started = rc == 0;
    }
    if (rc) {
        driver_stop(d);
        return -1;
    }
    *out = d;
    return 0;
}

void driver_stop(struct driver *d)
{
    if (!d)
        return;
    __atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
    if (d->thread_started)
        pthread_join(d->thread, NULL);
    if (d->efd >= 0) {
        rm.EventLoopDel(d->efd, RM_EVENTLOOP_READABLE);
        close(d->efd);
    }
    if (hooked_driver == d)
        hooked_driver = NULL;
    free(d);
}
