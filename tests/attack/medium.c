/* medium.c - the attacker's view of the medium (its mapping and the
 * positions, slots and public values of each ring), its reports to the
 * board (med_outcome, med_note, attacker_fail), the evidence from the victims
 * (the server's counters and Redis's contents over TCP, the clients'
 * counters, the manager's audit log), and holding a client at a batch
 * boundary. Exports med_*; owns am, L, G, cipher, tcp, gave_up. */
#define _GNU_SOURCE
#include "attack.h"

/* --- the attacker: the medium ------------------------------------------------------- */

struct cxl_medium *am;
struct cxl_layout *L;
const struct cxl_geometry *G;
enum cxl_cipher cipher;
struct cxl_conn *tcp;
int gave_up;

struct cxl_ring_ctl *med_ctl(uint32_t r) { return cxl_ring_ctl_of(L, r); }
uint32_t med_ring_of(int c) { return (uint32_t)c + 1; }

volatile uint64_t *med_tail_of(uint32_t r, enum cxl_dir d)
{
    return d == CXL_REQ ? &med_ctl(r)->req_tail.value : &med_ctl(r)->resp_tail.value;
}

volatile uint64_t *med_head_of(uint32_t r, enum cxl_dir d)
{
    return d == CXL_REQ ? &med_ctl(r)->req_head.value : &med_ctl(r)->resp_head.value;
}

/* The line at position pos (positions count lines of G->slot_size bytes;
 * a message starts at a line and takes as many as its header and payload
 * need: with the suite's 256 B lines, every message of the honest clients
 * and of the attacker fits in one, so one message is one position). */
uint8_t *med_slot_at(uint32_t r, enum cxl_dir d, uint64_t pos)
{
    return cxl_queue_slots_of(L, r, d) + (pos % G->slots) * G->slot_size;
}

/* Decode the packed (layout v2) header at line into the private *h, as a
 * consumer would: its size in the medium, or 0 if the line holds no
 * header (unknown flag or field bits). h->seq gets the low 32 bits. */
uint32_t med_decode(const uint8_t *line, struct cxl_msg_hdr *h)
{
    return cxl_msg_decode(line, G->slot_size, h);
}

uint32_t med_gen_of(uint32_t r)
{
    return cxl_owner_gen(__atomic_load_n(&med_ctl(r)->owner_word, __ATOMIC_ACQUIRE));
}

void med_server_nonce(uint8_t out[16]) { memcpy(out, cxl_hdr_of(L)->server_nonce, 16); }
void med_session_of(uint32_t r, uint8_t out[16]) { memcpy(out, med_ctl(r)->session, 16); }
uint16_t med_node_of(uint32_t r)
{
    return (uint16_t)cxl_owner_node(__atomic_load_n(&med_ctl(r)->owner_word, __ATOMIC_ACQUIRE));
}

/* The epoch ring r's traffic is sealed for, as anyone sees it in a header. */
uint32_t med_epoch_seen(uint32_t r)
{
    uint64_t t = cxl_load_acquire(med_tail_of(r, CXL_REQ));
    struct cxl_msg_hdr h;
    return t && med_decode(med_slot_at(r, CXL_REQ, t - 1), &h) ? h.epoch : 0;
}

void attacker_fail(const char *fmt, ...)
{
    gave_up = 1;
    if (bd->attacker_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bd->attacker_error, sizeof bd->attacker_error, fmt, ap);
    va_end(ap);
}

void med_note(const char *fmt, ...)
{
    size_t n = strlen(bd->notes);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bd->notes + n, sizeof bd->notes - n, fmt, ap);
    va_end(ap);
    n = strlen(bd->notes);
    if (n + 1 < sizeof bd->notes)
        strcat(bd->notes, "\n");
}

void med_outcome(enum kind k, int res, const char *fmt, ...)
{
    struct row *r = &bd->rows[k];
    INC(r->attempts);
    INC(*(res == DETECTED ? &r->detected : res == MISSED ? &r->missed : &r->late));
    if (res != MISSED)
        return;
    int i = __atomic_fetch_add(&bd->nmisses, 1, __ATOMIC_ACQ_REL);
    if (i >= (int)(sizeof bd->misses / sizeof bd->misses[0]))
        return;
    int n = snprintf(bd->misses[i], sizeof bd->misses[i], "%s: ", kind_name[k]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bd->misses[i] + n, sizeof bd->misses[i] - (size_t)n, fmt, ap);
    va_end(ap);
}

int med_wait_at_least(volatile uint64_t *v, uint64_t want, unsigned ms)
{
    uint64_t end = cxl_now_ns() + (uint64_t)ms * 1000000u;
    while (cxl_load_acquire(v) < want) {
        if (cxl_now_ns() > end)
            return 0;
        sched_yield();
    }
    return 1;
}

/* A copy of the newest message of r/d (its line, SLOT_SIZE bytes) if it is
 * one sealed message that fits in that one line: its packed header decodes,
 * says the position (low 32 bits), SEALED only, and header + payload (tag
 * included) end inside the line. */
int med_capture_newest(uint32_t r, enum cxl_dir d, uint8_t *out, uint64_t *pos)
{
    uint64_t t = cxl_load_acquire(med_tail_of(r, d));
    if (t == 0)
        return 0;
    memcpy(out, med_slot_at(r, d, t - 1), SLOT_SIZE);
    struct cxl_msg_hdr h;
    uint32_t hs = med_decode(out, &h);
    *pos = t - 1;
    return hs != 0 && h.seq == (uint32_t)(t - 1) && h.flags == CXL_MSG_F_SEALED && h.len >= (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) &&
           (uint64_t)hs + h.len <= SLOT_SIZE;
}

/* --- the attacker: evidence from the victims --------------------------------------------- */

static void stat_set(struct rstats *s, const char *name, long long v)
{
    if (strcmp(name, "requests") == 0)
        s->requests = v;
    else if (strcmp(name, "rejected") == 0)
        s->rejected = v;
    else if (strcmp(name, "resyncs") == 0)
        s->resyncs = v;
}

/* The server's counters per ring, over TCP (CXLRING.STATS: flat name/value
 * pairs, "+name" then ":value"). */
static int srv_stats(struct rstats st[RINGS])
{
    const char *argv[] = {"CXLRING.STATS"};
    const uint8_t *rep;
    size_t len;
    memset(st, 0, RINGS * sizeof *st);
    if (cxl_conn_call(tcp, 1, argv, &rep, &len) != 0)
        return -1;
    const char *p = (const char *)rep, *end = p + len;
    char name[32] = "";
    int ring = -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if (*p == '+') {
            snprintf(name, sizeof name, "%.*s", (int)(nl - p - 2 > 0 ? nl - p - 2 : 0), p + 1);
            if (strcmp(name, "server") == 0)
                break;
        } else if (*p == ':' && name[0]) {
            long long v = strtoll(p + 1, NULL, 10);
            if (strcmp(name, "ring") == 0)
                ring = (int)v;
            else if (ring >= 0 && ring < (int)RINGS)
                stat_set(&st[ring], name, v);
            name[0] = '\0';
        }
        p = nl + 1;
    }
    return 0;
}

void med_snap(struct snap *s)
{
    if (srv_stats(s->ring) != 0)
        attacker_fail("CXLRING.STATS over TCP failed: %s", cxl_last_error());
    for (int c = 0; c < 2; c++) {
        struct cli_board *b = &bd->cli[c];
        s->cli[c].batches = LD(b->batches);
        s->cli[c].err_server = LD(b->err_server);
        s->cli[c].err_crypto = LD(b->err_crypto);
        s->cli[c].errors = s->cli[c].err_server + s->cli[c].err_crypto + LD(b->err_other) + LD(b->submit_err);
        s->cli[c].wrong = LD(b->wrong);
        s->cli[c].kv_rejected = LD(b->kv_rejected);
        s->cli[c].kv_resyncs = LD(b->kv_resyncs);
    }
}

long long med_refused(const struct snap *a, const struct snap *b, uint32_t r)
{
    return (b->ring[r].rejected - a->ring[r].rejected) + (b->ring[r].resyncs - a->ring[r].resyncs);
}

long long med_executed(const struct snap *a, const struct snap *b, uint32_t r)
{
    return b->ring[r].requests - a->ring[r].requests;
}

/* Does Redis hold key? 1, 0, or -1 when TCP fails. */
int med_tcp_exists(const char *key)
{
    const char *argv[] = {"EXISTS", key};
    const uint8_t *rep;
    size_t len;
    if (cxl_conn_call(tcp, 2, argv, &rep, &len) != 0 || len < 2)
        return -1;
    return rep[0] == ':' ? rep[1] != '0' : -1;
}

/* Wait until the audit log has at least want lines with text. */
int med_audit_reaches(const char *text, int want, unsigned ms)
{
    uint64_t t0 = cxl_now_ns();
    while (sec_count_lines(mgr.audit, text) < want) {
        if (ms_since(t0) > ms)
            return 0;
        usleep(2000);
    }
    return 1;
}

/* --- the attacker: holding a client at a batch boundary ------------------------------------ */

int med_wait_batches(int c, uint64_t target, unsigned ms)
{
    uint64_t t0 = cxl_now_ns();
    while (LD(bd->cli[c].batches) < target) {
        if (ms_since(t0) > ms || LD(bd->cli[c].failed))
            return 0;
        usleep(20);
    }
    return 1;
}

/* 0 when client c is idle with nothing in flight and the server has read
 * everything it published. */
int med_hold(int c)
{
    static int failures;
    struct cli_board *b = &bd->cli[c];
    uint32_t r = med_ring_of(c);
    ST(b->hold, 1);
    uint64_t t0 = cxl_now_ns();
    while (!LD(b->idle) && ms_since(t0) < 3000 && !LD(b->failed))
        usleep(20);
    if (LD(b->idle) && med_wait_at_least(med_head_of(r, CXL_REQ), cxl_load_acquire(med_tail_of(r, CXL_REQ)), 1000))
        return 0;
    if (++failures >= 5)
        attacker_fail("client %c does not come to a batch boundary: %s", 'A' + c,
                      LD(b->failed) ? b->fail_text : "stalled");
    return -1;
}

/* Let it run; return once it did two batches of its own. */
void med_unhold(int c)
{
    ST(bd->cli[c].hold, 0);
    med_wait_batches(c, LD(bd->cli[c].batches) + 2, 3000);
}

/* One batch while held; 0 once it is done and idle again. */
int med_step(int c)
{
    struct cli_board *b = &bd->cli[c];
    uint64_t n = LD(b->batches);
    __atomic_add_fetch(&b->steps, 1, __ATOMIC_ACQ_REL);
    uint64_t t0 = cxl_now_ns();
    while (!(LD(b->batches) > n && LD(b->idle))) {
        if (ms_since(t0) > 3000 || LD(b->failed))
            return -1;
        usleep(20);
    }
    return 0;
}
