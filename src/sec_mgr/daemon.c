/* daemon.c - the cxl_sec_mgr daemon: start-up (config, descriptor budget,
 * manager key, sockets, audit log, state, the grant changes since the last
 * run), one event loop (base/loop.h) over the TCP listener, the fabric
 * socket (docs/FABRIC.md), the control socket and every connection, reload on SIGHUP, and stop. All sockets are
 * non-blocking and every connection has a deadline (the handshake, an idle
 * channel, a control request), so a slow or dead peer never holds up the
 * others; which connections are taken is admit.c's, what they say conn.c's.
 * Signals are blocked outside the loop's wait, so a SIGHUP or SIGTERM is
 * never missed between a check and the wait. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cxl/error.h"
#include "cxl/util.h"
#include "base/addr.h"
#include "daemon.h"

#define LISTEN_BACKLOG 1024

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_flag = 1;
    else
        stop_flag = 1;
}

/* ---- listeners ---------------------------------------------------------------------------- */

/* The node listener (TCP), its messages as they always were. */
static int tcp_listen(const char *hostport, int *out)
{
    struct cxl_net_addr a;
    int rc = cxl_net_addr_parse_tcp("--listen", hostport, &a);
    if (rc == 0 && (*out = cxl_net_listen(&a, LISTEN_BACKLOG)) < 0)
        rc = cxl_fail_errno(CXL_ESYS, "--listen %s", hostport);
    return rc;
}

/* ---- the loop -------------------------------------------------------------------------------- */

#define TAG_LISTEN 1u  /* event tags; a connection's is its address */
#define TAG_CONTROL 2u
#define TAG_FABRIC 3u
#define EVENTS_PER_WAKE 256

/* What a wait brought: the listeners are served after the connections. */
struct turn {
    struct mgr_daemon *d;
    int nodes, control, fabric;
};

static void watch_pool(struct mgr_daemon *d, const struct mgr_pool *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct mgr_conn *c = p->c[i];
        uint32_t want = cxl_buf_len(&c->pending) ? EPOLLOUT : EPOLLIN;
        if (c->fd >= 0 && cxl_loop_watch(&d->loop, c->fd, &c->watched, want, (uintptr_t)c) != 0)
            conn_close(c); /* freed by admit_sweep */
    }
}

/* The listeners (the TCP one unless it rests) and every connection: its
 * output while it has some, else its input. */
static void watch_all(struct mgr_daemon *d)
{
    int rest = d->listen_rest_until > cxl_now_ms();
    cxl_loop_watch(&d->loop, d->listen_fd, &d->listen_mask, rest ? 0 : EPOLLIN, TAG_LISTEN);
    cxl_loop_watch(&d->loop, d->control_fd, &d->control_mask, EPOLLIN, TAG_CONTROL);
    if (d->fabric_fd >= 0)
        cxl_loop_watch(&d->loop, d->fabric_fd, &d->fabric_mask, rest ? 0 : EPOLLIN, TAG_FABRIC);
    watch_pool(d, &d->ctl);
    watch_pool(d, &d->chans);
    watch_pool(d, &d->hs);
}

static void on_sighup(struct mgr_daemon *d)
{
    char msg[2048];
    reload_flag = 0;
    int rc = reload_config(d, "SIGHUP", msg, sizeof msg);
    fprintf(stderr, "cxl_sec_mgr: reload (SIGHUP): %s%s\n", rc ? "not applied: " : "", msg);
}

static void on_event(void *ctx, uint64_t tag, uint32_t events)
{
    struct turn *t = ctx;
    struct mgr_conn *c = (struct mgr_conn *)(uintptr_t)tag;
    (void)events;
    if (reload_flag) /* a SIGHUP during the wait: the new config before any request */
        on_sighup(t->d);
    if (tag == TAG_LISTEN)
        t->nodes = 1;
    else if (tag == TAG_CONTROL)
        t->control = 1;
    else if (tag == TAG_FABRIC)
        t->fabric = 1;
    else if (c->fd < 0)
        return; /* closed earlier in this turn */
    else if (cxl_buf_len(&c->pending))
        conn_flush(c);
    else if (c->kind == CONN_NODE)
        conn_node_readable(t->d, c);
    else
        conn_control_readable(t->d, c);
}

static int serve(struct mgr_daemon *d, const sigset_t *wait_mask)
{
    int rc = 0;
    while (!stop_flag) {
        struct turn t = {.d = d};
        watch_all(d);
        if ((rc = cxl_loop_wait(&d->loop, admit_next_ms(d, policy_next_ms(d)), wait_mask, on_event, &t)) < 0)
            break;
        rc = 0;
        if (reload_flag)
            on_sighup(d);
        admit_sweep(d);
        if (t.control)
            admit_accept_control(d);
        if (t.nodes)
            admit_accept_nodes(d);
        if (t.fabric)
            admit_accept_fabric(d);
        admit_promote(d);
        policy_tick(d);
    }
    return stop_flag ? 0 : rc;
}

/* ---- start and stop ------------------------------------------------------------------------ */

/* Grant changes since the last run: regions that lost a holder rotate. */
static int apply_grant_changes(struct mgr_daemon *d)
{
    char msg[1024];
    int rc = holders_apply(d, msg, sizeof msg);
    if (msg[0])
        fprintf(stderr, "cxl_sec_mgr: regions that lost a holder since the last run, rotated "
                "without grace: %s\n", msg);
    if (d->state.loaded_version == 1)
        fprintf(stderr, "cxl_sec_mgr: %s: a version 1 state file has no record of who held "
                "each region: recorded now (a grant removed before this start is not noticed; "
                "`rotate` the regions concerned)\n", d->state.path);
    return rc;
}

static int start(struct mgr_daemon *d, const char *config_path, const char *listen)
{
    int rc;
    char note[256];
    if (config_load(config_path, 1, &d->cfg, stderr) != 0)
        return cxl_fail(CXL_EINVAL, "%s: not started (cxl_sec_mgr check --config %s)",
                        config_path, config_path);
    if ((rc = admit_budget(&d->cfg, &d->lim, note, sizeof note)) != 0 ||
        (rc = admit_init(d)) != 0) /* first: the reserve gets a low descriptor */
        return rc;
    if (note[0])
        fprintf(stderr, "cxl_sec_mgr: %s\n", note);
    noise_init(&d->noise, d->lim.log_refusals);
    /* the sockets first: a second daemon stops before it touches any file */
    if ((rc = cxl_node_key_load(d->cfg.manager_key, &d->key)) != 0 ||
        (rc = control_listen(d->cfg.control, &d->control_fd)) != 0 ||
        (rc = tcp_listen(listen, &d->listen_fd)) != 0 ||
        (rc = fabric_listen(d)) != 0 ||
        (rc = cxl_loop_open(&d->loop, EVENTS_PER_WAKE)) != 0 ||
        (rc = audit_open(&d->audit, d->cfg.audit)) != 0 ||
        (rc = state_open(&d->state, &d->cfg, &d->audit)) != 0)
        return rc;
    policy_mark_revoked(d, 1);
    snprintf(d->listen_addr, sizeof d->listen_addr, "%s", listen);
    return apply_grant_changes(d);
}

static void stop(struct mgr_daemon *d)
{
    admit_free_all(d);
    cxl_loop_close(&d->loop);
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    if (d->control_fd >= 0) {
        close(d->control_fd);
        unlink(d->cfg.control);
    }
    fabric_close(d);
    noise_summaries(&d->noise, &d->audit, cxl_now_ms(), 1);
    audit_close(&d->audit);
    state_close(&d->state);
    cxl_node_key_wipe(&d->key);
    config_free(&d->cfg);
}

/* Handlers for SIGINT, SIGTERM (stop) and SIGHUP (reload), blocked except
 * inside the loop's wait (wait_mask). */
static void signals(sigset_t *wait_mask)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigset_t block;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        sigaction(sigs[i], &sa, NULL);
        sigaddset(&block, sigs[i]);
    }
    signal(SIGPIPE, SIG_IGN);
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigdelset(wait_mask, sigs[i]);
}

int daemon_run(const char *config_path, const char *listen)
{
    struct mgr_daemon d = {.listen_fd = -1, .control_fd = -1, .control_spare_fd = -1, .fabric_fd = -1,
                           .audit = {.fd = -1}, .loop = {.ep = -1}};
    sigset_t wait_mask;
    signals(&wait_mask);
    int rc = start(&d, config_path, listen);
    if (rc == 0) {
        const struct mgr_limits *l = &d.lim;
        fprintf(stderr, "cxl_sec_mgr: listening on %s: %zu nodes, %zu regions, %zu grants; "
                "control %s%s%s; rotate %u s, refresh %u s; limits: %u channels (%u per node), "
                "%u handshakes (%u per source, %u s), %u control\n", listen, d.cfg.n_nodes,
                d.cfg.n_regions, d.cfg.n_grants, d.cfg.control, d.cfg.fabric[0] ? "; fabric " : "",
                d.cfg.fabric, d.cfg.rotate_s,
                d.cfg.refresh_s, l->max_channels, l->max_channels_per_node, l->max_handshakes,
                l->max_handshakes_per_source, l->handshake_timeout_s, l->max_control);
        rc = serve(&d, &wait_mask);
        if (rc)
            fprintf(stderr, "cxl_sec_mgr: %s\n", cxl_last_error());
        fprintf(stderr, "cxl_sec_mgr: stopped\n");
    } else {
        fprintf(stderr, "cxl_sec_mgr: %s\n", cxl_last_error());
    }
    stop(&d);
    return rc ? MGR_EXIT_FAIL : MGR_EXIT_OK;
}
