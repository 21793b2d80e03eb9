/* scanner.c - the attacker's scanner: a thread that searches the whole
 * medium, all through the run, for the honest clients' plaintext and for
 * the bytes of every secret (the needles, given by the oracle: node keys,
 * the master secret, region and session keys of every epoch), with planted
 * controls so that a blind scan is not counted as a pass. Owns scan_thread,
 * scan_stop, scan_plant_controls, scan_oracle_opens. */
#define _GNU_SOURCE
#include "attack.h"

/* --- the attacker: the scanner (a thread, all through the run) --------------------------------- */

struct needles {
    unsigned n;
    uint8_t key[MAX_NEEDLES][32];
    char what[MAX_NEEDLES][48];
};

volatile int scan_stop;
static uint64_t scans_done, scan_control_misses;
static uint8_t control_key[32];
#define CONTROL_TEXT "SCANNER-CONTROL-PLAINTEXT"

static void add_needle(struct needles *nd, const uint8_t key[32], const char *what)
{
    for (unsigned i = 0; i < nd->n; i++)
        if (memcmp(nd->key[i], key, 32) == 0)
            return;
    if (nd->n == MAX_NEEDLES)
        return;
    memcpy(nd->key[nd->n], key, 32);
    snprintf(nd->what[nd->n], sizeof nd->what[0], "%s", what);
    nd->n++;
}

/* Current epochs per ring, from the manager's state file. */
static void read_epochs(uint32_t ep[RINGS])
{
    char buf[8192];
    size_t len = 0;
    memset(ep, 0, RINGS * sizeof ep[0]);
    if (cxl_private_file_read(mgr.state, buf, sizeof buf - 1, &len) != 0)
        return;
    buf[len] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned r;
        unsigned long long e;
        if (sscanf(line, "region ring%u %llu", &r, &e) == 2 && r < RINGS)
            ep[r] = (uint32_t)e;
    }
}

static void session_needles(struct needles *nd, const uint8_t K[32], uint32_t r, uint32_t e)
{
    for (int d = 0; d < 2; d++) {
        struct cxl_seal s;
        char what[48];
        forge_derive(&s, K, e, r, (enum cxl_dir)d);
        snprintf(what, sizeof what, "S(ring%u, epoch %u, %s)", r, e, d ? "resp" : "req");
        add_needle(nd, s.key, what);
        cxl_seal_wipe(&s);
    }
}

/* The ORACLE: the bytes of every secret the test can compute. The attacker
 * could not (it holds none of these files); the test gives them to the
 * scanner so that it knows what to look for. Accumulates: keys of earlier
 * sessions and epochs stay on the list. */
static void oracle_needles(struct needles *nd)
{
    static const char *const names[5] = {"manager key", "server node key", "client A key", "client B key",
                                         "attacker key"};
    uint8_t master[32], K[32];
    for (int i = 0; i < 5; i++) {
        struct cxl_node_key k;
        if (cxl_node_key_load(cfg.key[i], &k) == 0)
            add_needle(nd, k.secret, names[i]);
        cxl_node_key_wipe(&k);
    }
    if (cxl_secret_file_load(mgr.master, master) != 0)
        return;
    add_needle(nd, master, "master secret");
    uint32_t ep[RINGS];
    read_epochs(ep);
    for (uint32_t r = 0; r < RINGS; r++)
        for (uint32_t e = 1; e <= ep[r]; e++) {
            char name[16], what[48];
            snprintf(name, sizeof name, "ring%u", r);
            snprintf(what, sizeof what, "K(ring%u, epoch %u)", r, e);
            cxl_region_key(master, name, e, K);
            add_needle(nd, K, what);
            if (ring_node(r)) {
                cxl_node_region_key(K, ring_node(r), K);
                snprintf(what, sizeof what, "K(ring%u, epoch %u, node %u)", r, e, ring_node(r));
                add_needle(nd, K, what);
                session_needles(nd, K, r, e);
            }
        }
    sodium_memzero(master, sizeof master);
    sodium_memzero(K, sizeof K);
}

static uint64_t fhash(uint64_t x) { return (x * 0x9E3779B97F4A7C15ull) >> (64 - FILTER_BITS); }

static void where(uint64_t off, char *out, size_t cap)
{
    uint64_t qbytes = (uint64_t)G->slots * G->slot_size;
    if (off < CXL_HEADER_SIZE)
        snprintf(out, cap, "header page +%" PRIu64, off);
    else if (off < G->data_off)
        snprintf(out, cap, "ring %" PRIu64 " control block", (off - CXL_HEADER_SIZE) / CXL_RING_CTL_SIZE);
    else {
        uint64_t q = (off - G->data_off) / qbytes, in = (off - G->data_off) % qbytes;
        snprintf(out, cap, "ring %" PRIu64 " %s slot %" PRIu64 " +%" PRIu64, q / 2, q % 2 ? "response" : "request",
                 in / G->slot_size, in % G->slot_size);
    }
}

/* Every 32-byte needle anywhere in the medium (any alignment); needle 0 is
 * the planted control. Returns the first real hit (index) or -1. */
static int scan_keys(const struct needles *nd, uint8_t *filter, int *control, uint64_t *at)
{
    const uint8_t *base = cxl_medium_base(am);
    uint64_t size = cxl_medium_size(am);
    memset(filter, 0, 1u << (FILTER_BITS - 3));
    for (unsigned i = 0; i < nd->n; i++) {
        uint64_t w, h;
        memcpy(&w, nd->key[i], 8);
        h = fhash(w);
        filter[h >> 3] |= (uint8_t)(1u << (h & 7));
    }
    *control = 0;
    for (uint64_t off = 0; off + 32 <= size; off++) {
        uint64_t w, h;
        memcpy(&w, base + off, 8);
        h = fhash(w);
        if (!(filter[h >> 3] & (1u << (h & 7))))
            continue;
        for (unsigned i = 0; i < nd->n; i++)
            if (memcmp(base + off, nd->key[i], 32) == 0) {
                if (i == 0) {
                    *control = 1;
                    continue;
                }
                *at = off;
                return (int)i;
            }
    }
    return -1;
}

static void scan_text(void)
{
    const uint8_t *base = cxl_medium_base(am);
    uint64_t size = cxl_medium_size(am);
    static const char *const markers[] = {"HONESTVAL", "HONESTKEY"};
    if (!memmem(base, size, CONTROL_TEXT, strlen(CONTROL_TEXT))) { /* the scanner is blind */
        med_outcome(K_SCAN_TEXT, LATE, "-");
        scan_control_misses++;
        return;
    }
    for (unsigned i = 0; i < 2; i++) {
        const uint8_t *p = memmem(base, size, markers[i], strlen(markers[i]));
        if (p) {
            char w[96];
            where((uint64_t)(p - base), w, sizeof w);
            med_outcome(K_SCAN_TEXT, MISSED, "'%.40s' in the medium at %s", (const char *)p, w);
            return;
        }
    }
    med_outcome(K_SCAN_TEXT, DETECTED, "-");
}

static void scan_once(struct needles *nd, uint8_t *filter)
{
    oracle_needles(nd);
    scan_text();
    int control = 0;
    uint64_t at = 0;
    int hit = scan_keys(nd, filter, &control, &at);
    if (hit > 0) {
        char w[96];
        where(at, w, sizeof w);
        med_outcome(K_SCAN_KEYS, MISSED, "%s in the medium at %s", nd->what[hit], w);
    } else if (!control) {
        med_outcome(K_SCAN_KEYS, LATE, "-");
        scan_control_misses++;
    } else {
        med_outcome(K_SCAN_KEYS, DETECTED, "-");
    }
    scans_done++;
}

void *scan_thread(void *arg)
{
    (void)arg;
    struct needles *nd = calloc(1, sizeof *nd);
    uint8_t *filter = malloc(1u << (FILTER_BITS - 3));
    if (!nd || !filter) {
        attacker_fail("scanner: out of memory");
    } else {
        add_needle(nd, control_key, "planted control");
        while (!__atomic_load_n(&scan_stop, __ATOMIC_ACQUIRE)) {
            scan_once(nd, filter);
            for (int i = 0; i < 10 && !__atomic_load_n(&scan_stop, __ATOMIC_ACQUIRE); i++)
                usleep(10000);
        }
        scan_once(nd, filter); /* and once more after every attack */
        med_note("scanner: %" PRIu64 " scans of %" PRIu64 " bytes for %u secrets (the oracle's) and the honest "
             "markers; planted controls found in %" PRIu64 " of them", scans_done, cxl_medium_size(am), nd->n - 1,
             scans_done - scan_control_misses);
    }
    if (nd)
        sodium_memzero(nd, sizeof *nd);
    free(nd);
    free(filter);
    return NULL;
}

/* A plaintext marker and a random 32-byte "key" in bytes nobody reads (an
 * unpublished response slot of ring 0): every scan must find both, or it
 * counts as blind. */
void scan_plant_controls(void)
{
    uint8_t *s = med_slot_at(0, CXL_RESP, G->slots / 2);
    cxl_random_bytes(control_key, sizeof control_key);
    memcpy(s, CONTROL_TEXT, strlen(CONTROL_TEXT));
    memcpy(s + 64 + 3, control_key, sizeof control_key);
}

/* The oracle's session keys open real traffic of ring r (so the scan looks
 * for the right bytes). */
int scan_oracle_opens(uint32_t r, enum cxl_dir d)
{
    static struct cap copy;
    static uint8_t out[MSG_MAX];
    uint8_t master[32], K[32];
    uint32_t ep[RINGS];
    char name[16];
    int ok = 0;
    read_epochs(ep);
    snprintf(name, sizeof name, "ring%u", r);
    if (cxl_secret_file_load(mgr.master, master) != 0 || cxl_region_key(master, name, ep[r], K) != 0 ||
        cxl_node_region_key(K, ring_node(r), K) != 0)
        return 0;
    for (int i = 0; i < 500 && !ok; i++) {
        struct cxl_seal s;
        struct cxl_msg m;
        forge_derive(&s, K, ep[r], r, d);
        if (med_capture_newest(r, d, &copy)) { /* a whole batch, found by walking the headers */
            m.hdr = copy.h;
            m.hdr.seq = copy.pos; /* the full position, as the consumer knows it */
            m.payload = copy.b + copy.hs;
            ok = cxl_open_msg(&s, &m, out) == 0;
        }
        cxl_seal_wipe(&s);
        usleep(1000);
    }
    sodium_memzero(master, sizeof master);
    sodium_memzero(K, sizeof K);
    sodium_memzero(out, sizeof out);
    return ok;
}
