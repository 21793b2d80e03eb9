/* medium.c - the attacker's view of the medium (its mapping and the
 * positions, lines and public values of each ring; finding messages by
 * walking their packed headers, capturing them whole, placing and
 * publishing whole messages at a tail), its reports to the board
 * (med_outcome, med_note, attacker_fail), the evidence from the victims
 * (the server's counters and Redis's contents over TCP, the clients'
 * counters, the manager's audit log), holding a client at a batch
 * boundary and pausing the server. Exports med_*; owns am, L, G, cipher,
 * tcp, gave_up. */
#define _GNU_SOURCE
#include <dirent.h>

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
 * need, never wrapping: its bytes are contiguous from here). */
uint8_t *med_slot_at(uint32_t r, enum cxl_dir d, uint64_t pos)
{
    return cxl_queue_slots_of(L, r, d) + (pos % G->slots) * G->slot_size;
}

/* What is at position pos of r/d, judged as a consumer would but on a
 * private copy (the attacker must not crash on garbage either): MSG_ONE (a
 * message: copied whole into *out if out, its line count in *lines),
 * MSG_PAD (*lines: the rest of the queue) or MSG_GARBAGE. */
int med_read_msg(uint32_t r, enum cxl_dir d, uint64_t pos, struct cap *out, uint32_t *lines)
{
    uint8_t line[SLOT_SIZE];
    struct cxl_msg_hdr h;
    uint64_t idx = pos % G->slots, room = G->slots - idx;
    memcpy(line, med_slot_at(r, d, pos), SLOT_SIZE);
    uint32_t hs = cxl_msg_decode(line, SLOT_SIZE, &h);
    if (hs == 0 || h.seq != (uint32_t)pos)
        return MSG_GARBAGE;
    if (h.flags & CXL_MSG_F_PAD) {
        *lines = (uint32_t)room;
        return hs == CXL_MSG_HDR_FIXED && h.len == 0 ? MSG_PAD : MSG_GARBAGE;
    }
    uint64_t size = (uint64_t)hs + h.len, n = (size + SLOT_SIZE - 1) / SLOT_SIZE;
    if (n > G->slots / 2 || n > room || (out && size > MSG_MAX))
        return MSG_GARBAGE;
    *lines = (uint32_t)n;
    if (out) {
        memset(out, 0, sizeof *out);
        memcpy(out->b, med_slot_at(r, d, pos), size);
        if (cxl_msg_decode(out->b, SLOT_SIZE, &out->h) != hs || out->h.len != h.len || out->h.seq != h.seq)
            return MSG_GARBAGE; /* changed while it was copied */
        out->pos = pos;
        out->hs = hs;
        out->size = (uint32_t)size;
        out->lines = (uint32_t)n;
    }
    return MSG_ONE;
}

/* Follow r/d's headers from from (a position known to start a message or
 * a PAD) to to: the starts of the messages met, up to max of them, in
 * starts[0..*n). 0 if the walk lands exactly on to, -1 on garbage or if
 * it would pass to. */
int med_walk(uint32_t r, enum cxl_dir d, uint64_t from, uint64_t to, uint64_t *starts, unsigned max, unsigned *n)
{
    uint64_t p = from;
    *n = 0;
    while (p < to) {
        uint32_t lines = 0;
        int what = med_read_msg(r, d, p, NULL, &lines);
        if (what == MSG_GARBAGE || lines == 0)
            return -1;
        if (what == MSG_ONE && *n < max)
            starts[(*n)++] = p;
        p += lines;
    }
    return p == to ? 0 : -1;
}

/* The attacker's cursor per queue: a position it knows starts a message
 * (where its last walk ended), and the start of the last message it met. */
static uint64_t cursor[RINGS][2], last[RINGS][2];
static int cursor_ok[RINGS][2], last_ok[RINGS][2];

/* Find a message start again after garbage: the first line in [from, to)
 * (at most the last MSG_RESYNC lines: the newest message the attacker
 * captures starts there) from which the headers chain exactly to to,
 * meeting n >= 1 messages; its position, or to if there is none. Random
 * bytes pass a header's checks (seq = the line's position among them)
 * about never. */
#define MSG_RESYNC (2u * MSG_MAX / SLOT_SIZE)
static uint64_t walk_resync(uint32_t r, enum cxl_dir d, uint64_t from, uint64_t to, uint64_t *starts, unsigned max,
                            unsigned *n)
{
    if (to - from > MSG_RESYNC)
        from = to - MSG_RESYNC;
    for (uint64_t q = from; q < to; q++)
        if (med_walk(r, d, q, to, starts, max, n) == 0 && *n > 0)
            return q;
    *n = 0;
    return to;
}

/* A copy of the newest message of r/d: the headers walked from the
 * cursor to the producer's tail, the last message met copied whole. If
 * the walk meets garbage (a flipped header, a forgery, lines a producer
 * wrote again), the attacker finds a start again from there. 0 if there
 * is no message. */
int med_capture_newest(uint32_t r, enum cxl_dir d, struct cap *out)
{
    static uint64_t starts[4096];
    uint64_t t = cxl_load_acquire(med_tail_of(r, d)), *cur = &cursor[r][d];
    unsigned n = 0;
    if (!cursor_ok[r][d] || *cur > t || t - *cur > G->slots / 2) { /* none yet, or a lap may have passed */
        cursor_ok[r][d] = 1;
        last_ok[r][d] = 0;
        walk_resync(r, d, t > MSG_RESYNC ? t - MSG_RESYNC : 0, t, starts, 4096, &n);
    } else if (med_walk(r, d, *cur, t, starts, 4096, &n) != 0) {
        last_ok[r][d] = 0;
        walk_resync(r, d, *cur + 1, t, starts, 4096, &n);
    }
    *cur = t;
    if (n)
        last[r][d] = starts[n - 1], last_ok[r][d] = 1;
    uint32_t lines;
    if (!last_ok[r][d] || med_read_msg(r, d, last[r][d], out, &lines) != MSG_ONE || last[r][d] + lines > t)
        return 0;
    return out->h.flags == CXL_MSG_F_SEALED && out->h.len >= CXL_KV_RECORD_HDR + CXL_SEAL_TAG;
}

/* Where a message of lines lines goes if written at r/d's tail now: the
 * tail, or (when it would not fit before the end of the queue) the start
 * of the next lap, after a PAD the attacker writes at the tail as a
 * producer would. */
uint64_t med_place(uint32_t r, enum cxl_dir d, uint32_t lines)
{
    uint64_t t = cxl_load_acquire(med_tail_of(r, d)), idx = t % G->slots;
    if (idx + lines <= G->slots)
        return t;
    struct cxl_msg_hdr pad = {.seq = t, .flags = CXL_MSG_F_PAD};
    cxl_msg_encode(&pad, med_slot_at(r, d, t));
    return t + (G->slots - idx);
}

/* Write msg (size bytes, whole lines) at pos and publish up to its end. */
void med_put(uint32_t r, enum cxl_dir d, uint64_t pos, const uint8_t *msg, uint32_t size)
{
    uint32_t lines = lines_for(size);
    memcpy(med_slot_at(r, d, pos), msg, (size_t)lines * SLOT_SIZE);
    cxl_store_release(med_tail_of(r, d), pos + lines);
}

/* The next message r/d's producer publishes after old (a message start):
 * wait up to ms for the tail to move, step over a PAD, check the header;
 * the message's first line in the medium, its header and position. */
uint8_t *med_catch(uint32_t r, enum cxl_dir d, uint64_t old, unsigned ms, uint64_t *pos, struct cxl_msg_hdr *h,
                   uint32_t *hs)
{
    uint64_t t, t0 = cxl_now_ns();
    while ((t = cxl_load_acquire(med_tail_of(r, d))) == old)
        if (ms_since(t0) > ms)
            return NULL;
    uint32_t lines;
    int what = med_read_msg(r, d, old, NULL, &lines);
    if (what == MSG_PAD)
        old += lines, what = old < t ? med_read_msg(r, d, old, NULL, &lines) : MSG_GARBAGE;
    if (what != MSG_ONE || old + lines > t)
        return NULL;
    uint8_t line[SLOT_SIZE];
    memcpy(line, med_slot_at(r, d, old), SLOT_SIZE);
    *hs = cxl_msg_decode(line, SLOT_SIZE, h);
    *pos = old;
    return *hs ? med_slot_at(r, d, old) : NULL;
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

/* The epoch ring r's traffic is sealed for, as anyone sees it in a header
 * (the newest request's; the last one seen when there is no new one). */
uint32_t med_epoch_seen(uint32_t r)
{
    static uint32_t seen[RINGS];
    static struct cap c;
    if (med_capture_newest(r, CXL_REQ, &c) && c.h.epoch)
        seen[r] = c.h.epoch;
    return seen[r];
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

/* Is the task whose stat file is path stopped? */
static int task_stopped(const char *path)
{
    char buf[512];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'T';
}

/* Every thread of the server process stopped? */
static int server_stopped(void)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)redis.pid);
    DIR *d = opendir(dir);
    struct dirent *e;
    int all = d != NULL;
    while (all && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%.20s/stat", dir, e->d_name);
            all = task_stopped(path);
        }
    if (d)
        closedir(d);
    return all;
}

/* The server process stopped (SIGSTOP, every thread seen stopped in
 * /proc): while it is, a batch a client publishes waits in the medium for
 * the attacker, as if the medium delayed its visibility to the server; it
 * reads what the attacker left there once resumed. 0, or -1 if it does not
 * stop. */
int med_server_pause(void)
{
    if (redis.pid <= 0 || kill(redis.pid, SIGSTOP) != 0)
        return -1;
    uint64_t t0 = cxl_now_ns();
    while (ms_since(t0) < 1000) {
        if (server_stopped())
            return 0;
        usleep(100);
    }
    kill(redis.pid, SIGCONT);
    return -1;
}

void med_server_resume(void) { kill(redis.pid, SIGCONT); }

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
