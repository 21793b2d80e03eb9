/* owner.c - ring ownership (claim, heartbeat, reclaim, release) and server
 * presence (docs/RING.md, "Ownership" and "Server presence and restart").
 * The owner CAS is the only read-modify-write in the medium. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cxl/util.h"
#include "cxl/wait.h"
#include "ring/layout.h"

/* What a claimant has seen of one ring's owner while waiting. */
struct owner_watch {
    uint64_t word;
    uint64_t heartbeat;
    uint64_t since_ns;
};

static int pid_gone(uint32_t pid)
{
    return pid != 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Is the owner of r dead? Needs to have watched it for a while. */
static int owner_dead(const struct cxl_ring_ctl *r, struct owner_watch *w, uint64_t word,
                      uint64_t now, uint32_t reclaim_ms)
{
    uint64_t hb = __atomic_load_n(&r->heartbeat, __ATOMIC_ACQUIRE);
    if (w->since_ns == 0 || w->word != word || w->heartbeat != hb) {
        *w = (struct owner_watch){.word = word, .heartbeat = hb, .since_ns = now};
        return 0;
    }
    uint64_t quiet_ms = (now - w->since_ns) / 1000000u;
    /* Same host and the process is gone: a few missed beats are enough (the
     * wait guards against pid namespaces where kill() cannot see the owner). */
    if (r->host_id == cxl_host_id() && pid_gone(r->owner_pid))
        return quiet_ms >= 3 * CXL_HEARTBEAT_MS;
    return quiet_ms >= reclaim_ms;
}

/* Client-owned indices that are out of range, or in the exhausted range,
 * are reset to the server's; a server index there counts as 0 (the server
 * rebases its own: kv_server.c, repair()). */
static void adopt_queues(struct cxl_ring_ctl *r, uint32_t slots)
{
    uint64_t head = cxl_load_acquire(&r->req_head.value);
    uint64_t tail = cxl_load_acquire(&r->req_tail.value);
    if (head >= CXL_POS_REBASE)
        head = 0;
    if (tail >= CXL_POS_REBASE || tail - head > slots)
        cxl_store_release(&r->req_tail.value, head);
    tail = cxl_load_acquire(&r->resp_tail.value);
    head = cxl_load_acquire(&r->resp_head.value);
    if (tail >= CXL_POS_REBASE)
        tail = 0;
    if (head >= CXL_POS_REBASE || tail - head > slots)
        cxl_store_release(&r->resp_head.value, tail);
}

static int install(struct cxl_layout *l, uint32_t ring, uint64_t old, uint16_t node,
                   struct cxl_claim *c)
{
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, ring);
    uint64_t word = cxl_owner_word(cxl_owner_gen(old) + 1, CXL_OWNER_OWNED, node);
    if (!__atomic_compare_exchange_n(&r->owner_word, &old, word, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return 0;
    *c = (struct cxl_claim){.layout = l, .ring = ring, .gen = cxl_owner_gen(word),
                            .node_id = node, .word = word};
    int rc = cxl_random_bytes(c->session, sizeof c->session);
    if (rc) {
        __atomic_store_n(&r->owner_word, cxl_owner_word(c->gen, CXL_OWNER_FREE, 0), __ATOMIC_RELEASE);
        return rc;
    }
    r->owner_pid = (uint32_t)getpid();
    r->host_id = cxl_host_id();
    memcpy(r->session, c->session, sizeof c->session);
    __atomic_store_n(&r->heartbeat, 0, __ATOMIC_RELEASE);
    adopt_queues(r, l->geo.slots);
    c->req_tail0 = cxl_load_acquire(&r->req_tail.value);
    return 1;
}

/* One attempt on one ring: 1 claimed, 0 not now, <0 error. */
static int try_ring(struct cxl_layout *l, uint32_t ring, uint16_t node, int allow_steal,
                    struct owner_watch *w, uint32_t reclaim_ms, struct cxl_claim *c)
{
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, ring);
    uint64_t word = __atomic_load_n(&r->owner_word, __ATOMIC_ACQUIRE);
    uint32_t state = cxl_owner_state(word);
    if (state != CXL_OWNER_OWNED) /* free, or garbage written by someone */
        return install(l, ring, word, node, c);
    if (allow_steal && owner_dead(r, w, word, cxl_now_ns(), reclaim_ms))
        return install(l, ring, word, node, c);
    return 0;
}

int cxl_ring_claim(struct cxl_layout *l, int ring, uint16_t node_id,
                   const struct cxl_claim_opts *o, struct cxl_claim *c)
{
    uint32_t rings = l->geo.ring_count;
    if (ring >= (int)rings)
        return cxl_fail(CXL_EINVAL, "ring %d does not exist (ring_count = %u)", ring, rings);
    uint32_t reclaim_ms = o && o->reclaim_ms ? o->reclaim_ms : CXL_DEFAULT_RECLAIM_MS;
    uint32_t wait_ms = o ? o->wait_ms : 0;
    struct owner_watch watch[CXL_MAX_RINGS] = {{0}};
    uint32_t first = ring < 0 ? 0 : (uint32_t)ring;
    uint32_t last = ring < 0 ? rings - 1 : (uint32_t)ring;
    uint64_t deadline = cxl_now_ns() + (uint64_t)wait_ms * 1000000u;
    for (;;) {
        /* free rings first, then dead owners */
        for (int steal = 0; steal <= 1; steal++)
            for (uint32_t i = first; i <= last; i++) {
                int rc = try_ring(l, i, node_id, steal, &watch[i], reclaim_ms, c);
                if (rc != 0)
                    return rc < 0 ? rc : 0;
            }
        if (cxl_now_ns() >= deadline)
            break;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (ring >= 0) {
        struct cxl_ring_state st;
        cxl_layout_ring_state(l, (uint32_t)ring, &st);
        return cxl_fail(CXL_EBUSY, "ring %d is owned by node %u (pid %u, gen %u) and its owner is alive",
                        ring, st.owner_node, st.owner_pid, st.owner_gen);
    }
    return cxl_fail(CXL_EBUSY, "all %u rings are owned by live clients", rings);
}

static int check_owned(const struct cxl_claim *c, uint64_t *now_word)
{
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(c->layout, c->ring);
    uint64_t w = __atomic_load_n(&r->owner_word, __ATOMIC_ACQUIRE);
    if (now_word)
        *now_word = w;
    if (w == c->word)
        return 0;
    return cxl_fail(CXL_ELOST, "ring %u: lost ownership (now node %u, gen %u, state %u; ours was gen %u)",
                    c->ring, cxl_owner_node(w), cxl_owner_gen(w), cxl_owner_state(w), c->gen);
}

int cxl_ring_heartbeat(struct cxl_claim *c)
{
    int rc = check_owned(c, NULL);
    if (rc)
        return rc;
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(c->layout, c->ring);
    __atomic_store_n(&r->heartbeat, ++c->beats, __ATOMIC_RELEASE);
    return 0;
}

int cxl_ring_release(struct cxl_claim *c)
{
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(c->layout, c->ring);
    uint64_t expect = c->word;
    uint64_t free_word = cxl_owner_word(c->gen, CXL_OWNER_FREE, 0);
    if (!__atomic_compare_exchange_n(&r->owner_word, &expect, free_word, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return check_owned(c, NULL);
    return 0;
}

/* --- server presence ------------------------------------------------------ */

int cxl_server_announce(struct cxl_layout *l, uint32_t node_id, uint64_t *gen, uint8_t nonce[16])
{
    struct cxl_hdr *h = cxl_hdr_of(l);
    uint8_t n[16];
    int rc = cxl_random_bytes(n, sizeof n);
    if (rc)
        return rc;
    memcpy(h->server_nonce, n, sizeof n); /* before the new gen is visible */
    if (nonce)
        memcpy(nonce, n, sizeof n);
    uint64_t g = __atomic_add_fetch(&h->server_gen, 1, __ATOMIC_SEQ_CST);
    h->server_pid = (uint32_t)getpid();
    h->server_node = node_id;
    cxl_server_heartbeat(l);
    if (gen)
        *gen = g;
    return 0;
}

void cxl_server_heartbeat(struct cxl_layout *l)
{
    struct cxl_hdr *h = cxl_hdr_of(l);
    __atomic_store_n(&h->server_heartbeat, h->server_heartbeat + 1, __ATOMIC_RELEASE);
}

void cxl_server_state(const struct cxl_layout *l, struct cxl_server_state *st)
{
    const struct cxl_hdr *h = cxl_hdr_of(l);
    *st = (struct cxl_server_state){
        .gen = __atomic_load_n(&h->server_gen, __ATOMIC_ACQUIRE),
        .heartbeat = __atomic_load_n(&h->server_heartbeat, __ATOMIC_ACQUIRE),
        .pid = h->server_pid,
        .node = h->server_node,
    };
    memcpy(st->nonce, h->server_nonce, sizeof st->nonce);
}

void cxl_server_set_ring_state(struct cxl_layout *l, uint32_t ring, uint32_t state,
                               uint32_t reason)
{
    if (ring >= l->geo.ring_count)
        return;
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, ring);
    r->srv_state = state;
    r->srv_reason = reason;
    __atomic_store_n(&r->srv_events, r->srv_events + 1, __ATOMIC_RELEASE);
}
