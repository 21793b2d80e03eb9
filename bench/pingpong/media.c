/* media.c - the two media of the ring ping-pong benchmark: the library medium
 * (a ring layout, ring 0 used) and the bare medium (bare_ring.h). Their paths
 * (--path and --path.bare, or unique /dev/shm temp files), their creation
 * and removal (media_remove, from main.c's exit handler), the geometry of
 * both rings, the client's ends of both rings, and the huge-page
 * diagnostics (--hugepage). Failures return -1 with a struct pp_err.
 *
 * Footprint: both queues hold the same bytes. The bare queue has
 * --bare-slots messages (default 4096) of its slot (by default the lines the
 * library's message takes), and the library medium is formatted with a
 * layout_size that gives its queue as many bytes (at 48 B payloads: 4096
 * lines, 256 KiB per queue). The library does not fill --map-size then: a
 * 32 MiB queue cycles through memory that no cache holds, and a bare ring of
 * 4096 slots would not. --bare-slots 0 gives both the whole mapping. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pingpong.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

static char g_path[2][256];       /* media: [0] library, [1] bare */
static volatile int g_remove[2];  /* remove g_path[i] at exit (created here) */

const char *media_path(enum impl impl)
{
    return g_path[impl == IMPL_LIB ? 0 : 1];
}

void media_remove(void)
{
    for (int i = 0; i < 2; i++)
        if (g_remove[i]) {
            unlink(g_path[i]);
            g_remove[i] = 0;
        }
}

/* Medium i (0 library, 1 bare): --path (and --path.bare), or a unique temp
 * file. Files created here are removed at exit; an existing --path is not. */
static int make_medium_path(const struct opts *o, int i, const char *suffix, struct pp_err *err)
{
    if (o->path) {
        if (strlen(o->path) + strlen(".bare") >= sizeof g_path[i])
            return pp_fail(err, "--path %s: too long", o->path);
        snprintf(g_path[i], sizeof g_path[i], i ? "%s.bare" : "%s", o->path);
        struct stat st;
        g_remove[i] = stat(g_path[i], &st) != 0;
        return 0;
    }
    snprintf(g_path[i], sizeof g_path[i], "/dev/shm/cxl_pingpong_%d_%s.XXXXXX", (int)getpid(), suffix);
    int fd = mkstemp(g_path[i]);
    if (fd < 0)
        return pp_fail(err, "cannot create a temp file in /dev/shm: %s", strerror(errno));
    close(fd);
    g_remove[i] = 1;
    return 0;
}

int open_medium(const struct opts *o, const char *path, int create, struct cxl_medium **m)
{
    struct cxl_medium_config cfg;
    cxl_medium_config_init(&cfg);
    cfg.path = path;
    cfg.map_size = o->map_size;
    cfg.create = create;
    cfg.prefault = o->prefault;
    return cxl_medium_open(&cfg, m);
}

/* --- the bare ring's geometry -------------------------------------------------- */

/* Bare ring slots per queue into *slots: --bare-slots, or the largest power
 * of two the mapping holds. */
static int bare_slot_count(const struct opts *o, uint64_t *slots, struct pp_err *err)
{
    uint64_t s = 1, sz = bare_slot_size(o);
    while (bare_bytes(s * 2, sz) <= o->map_size)
        s *= 2;
    *slots = o->bare_slots ? o->bare_slots : s;
    if (o->bare_slots && bare_bytes(o->bare_slots, sz) > o->map_size)
        return pp_fail(err, "--bare-slots %" PRIu64 " needs %" PRIu64 " bytes but --map-size is %"
                       PRIu64 " (raise --map-size or lower --bare-slots)", o->bare_slots, bare_bytes(o->bare_slots, sz), o->map_size);
    return 0;
}

/* Check the bare medium's control page (written by the client) against the
 * slot size of this run; *ctl is the page. */
int bare_attach(struct cxl_medium *m, uint64_t slot_size, struct bare_ctl **ctl,
                struct pp_err *err)
{
    struct bare_ctl *c = cxl_medium_base(m);
    if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != BARE_MAGIC)
        return pp_fail(err, "bare medium %s: magic 0x%016" PRIx64 " is not BARERING",
                       cxl_medium_path(m), c->magic);
    uint64_t n = c->slots, sz = c->slot_size;
    if (n < 2 || (n & (n - 1)) || sz != slot_size || sz % LINE || bare_bytes(n, sz) > cxl_medium_size(m))
        return pp_fail(err, "bare medium %s: %" PRIu64 " slots of %" PRIu64 " B impossible for %"
                       PRIu64 " bytes", cxl_medium_path(m), n, sz, cxl_medium_size(m));
    *ctl = c;
    return 0;
}

/* --- the client's ends --------------------------------------------------------------- */

/* Every --inflight window fits the library ring (twice the window, for
 * PAD), and so does the payload. */
static int check_lib_windows(const struct opts *o, const struct cxl_geometry *g,
                             struct pp_err *err)
{
    uint32_t per_msg = (o->payload + CXL_MSG_HDR_FIXED + g->slot_size - 1) / g->slot_size;
    if (o->payload > g->max_payload)
        return pp_fail(err, "--payload %u is more than the library queue's largest message (%u B): "
                       "raise --bare-slots or --map-size", o->payload, g->max_payload);
    for (int i = 0; i < o->n_inflight; i++)
        if ((uint64_t)o->inflight[i] * per_msg * 2 > g->slots)
            return pp_fail(err, "--inflight %u needs %u slots per queue (twice the window, for "
                           "PAD), the layout has %u (raise --bare-slots or --map-size)",
                           o->inflight[i], o->inflight[i] * per_msg * 2, g->slots);
    return 0;
}

/* The library layout's size: a queue of the bare queue's bytes (--bare-slots
 * x the bare slot), or 0 (the whole mapping) with --bare-slots 0. */
static int lib_layout_size(const struct opts *o, uint64_t *size, struct pp_err *err)
{
    struct cxl_format_params p = {.ring_count = o->ring_count, .slot_size = o->slot_size};
    struct cxl_geometry g;
    *size = 0;
    if (!o->bare_slots)
        return 0;
    if (cxl_layout_plan(&p, o->map_size, &g) != 0)
        return pp_fail(err, "library layout: %s", cxl_last_error());
    uint64_t queue = o->bare_slots * bare_slot_size(o);
    uint64_t slots = (queue + o->slot_size - 1) / o->slot_size;
    if (slots < CXL_MIN_SLOTS)
        slots = CXL_MIN_SLOTS;
    *size = g.data_off + slots * 2 * g.ring_count * g.slot_size;
    if (*size > o->map_size)
        return pp_fail(err, "a library queue of %" PRIu64 " B (as the bare queue: --bare-slots %"
                       PRIu64 " x %" PRIu64 " B) needs a layout of %" PRIu64 " B but --map-size is %"
                       PRIu64 " (raise --map-size or lower --bare-slots)", queue, o->bare_slots, bare_slot_size(o), *size, o->map_size);
    return 0;
}

/* Create and format the library medium (its queues as big as the bare
 * ring's, lib_layout_size), claim ring 0, check every window fits. */
static int setup_lib(struct client *c, const struct opts *o, struct pp_err *err)
{
    int rc;
    uint64_t size;
    if (lib_layout_size(o, &size, err) != 0 || make_medium_path(o, 0, "lib", err) != 0)
        return -1;
    if ((rc = open_medium(o, g_path[0], 1, &c->lib_medium)) != 0)
        return pp_fail(err, "open %s: %s: %s", g_path[0], cxl_strerror(rc), cxl_last_error());
    struct cxl_format_params p = {.ring_count = o->ring_count, .slot_size = o->slot_size,
                                  .layout_size = size};
    if ((rc = cxl_layout_format(c->lib_medium, &p, &c->layout)) != 0)
        return pp_fail(err, "format %s: %s: %s", g_path[0], cxl_strerror(rc), cxl_last_error());
    struct cxl_delay_model d = pp_delay(o);
    cxl_layout_set_delay(c->layout, &d);
    if ((rc = cxl_ring_claim(c->layout, 0, 0, NULL, &c->claim)) != 0)
        return pp_fail(err, "claim ring 0: %s: %s", cxl_strerror(rc), cxl_last_error());
    if ((rc = cxl_queue_init(&c->req, c->layout, 0, CXL_REQ, CXL_PRODUCER)) != 0 ||
        (rc = cxl_queue_init(&c->resp, c->layout, 0, CXL_RESP, CXL_CONSUMER)) != 0)
        return pp_fail(err, "queue init: %s: %s", cxl_strerror(rc), cxl_last_error());
    if (check_lib_windows(o, cxl_layout_geometry(c->layout), err) != 0)
        return -1;
    if (o->hugepage)
        advise_huge(c->lib_medium, "client, library medium");
    return 0;
}

/* Create the bare medium and write its control page. */
static int setup_bare(struct client *c, const struct opts *o, struct pp_err *err)
{
    int rc;
    uint64_t slots;
    if (make_medium_path(o, 1, "bare", err) != 0 || bare_slot_count(o, &slots, err) != 0)
        return -1;
    for (int i = 0; i < o->n_inflight; i++)
        if (o->inflight[i] > slots)
            return pp_fail(err, "--inflight %u is more than the bare ring's %" PRIu64 " slots",
                           o->inflight[i], slots);
    if ((rc = open_medium(o, g_path[1], 1, &c->bare_medium)) != 0)
        return pp_fail(err, "open %s: %s: %s", g_path[1], cxl_strerror(rc), cxl_last_error());
    struct bare_ctl *ctl = cxl_medium_base(c->bare_medium);
    memset(ctl, 0, BARE_DATA_OFF);
    ctl->slots = slots;
    ctl->slot_size = bare_slot_size(o);
    __atomic_store_n(&ctl->magic, BARE_MAGIC, __ATOMIC_RELEASE);
    uint64_t dt = cxl_delay_ticks(o->delay_ns);
    bare_init(&c->breq, ctl, 0, 1, dt);
    bare_init(&c->bresp, ctl, 1, 0, dt);
    if (o->hugepage)
        advise_huge(c->bare_medium, "client, bare medium");
    return 0;
}

/* Both media and the client's ends of both rings, into c: 0 or -1. */
int media_setup_client(struct client *c, const struct opts *o, struct pp_err *err)
{
    if (setup_lib(c, o, err) != 0)
        return -1;
    return setup_bare(c, o, err);
}

void media_teardown_client(struct client *c)
{
    cxl_ring_release(&c->claim);
    cxl_layout_close(c->layout);
    cxl_medium_close(c->lib_medium);
    cxl_medium_close(c->bare_medium);
}

/* --- huge pages (diagnostic) ------------------------------------------------------------ */

/* kB of the mapping at base that the kernel maps with 2 MiB entries. */
uint64_t pmd_mapped_kb(const void *base)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return 0;
    char line[512];
    int in = 0;
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, v;
        size_t tok = strcspn(line, " ");
        if (tok > 0 && line[tok - 1] != ':' && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            in = (uintptr_t)base >= lo && (uintptr_t)base < hi; /* a mapping's first line */
        else if (in && (sscanf(line, "FilePmdMapped: %lu kB", &v) == 1 ||
                        sscanf(line, "ShmemPmdMapped: %lu kB", &v) == 1))
            kb += v;
    }
    fclose(f);
    return kb;
}

/* --hugepage: ask for transparent huge pages on the mapping and try to
 * collapse what is populated. On /dev/shm (tmpfs mounted without huge=) both
 * are accepted or refused without effect; the client reports at the end how
 * much of its mappings the kernel actually mapped with 2 MiB pages. The
 * outcome goes to stderr as `who: ...`; who NULL: silently (the server). */
void advise_huge(struct cxl_medium *m, const char *who)
{
    uint8_t *base = cxl_medium_base(m);
    uint64_t size = cxl_medium_size(m);
    uint64_t huge = 2ull << 20;
    uintptr_t lo = ((uintptr_t)base + huge - 1) & ~(uintptr_t)(huge - 1);
    uintptr_t hi = ((uintptr_t)base + size) & ~(uintptr_t)(huge - 1);
    int a = madvise(base, size, MADV_HUGEPAGE) == 0 ? 0 : errno;
    int c = hi > lo ? (madvise((void *)lo, hi - lo, MADV_COLLAPSE) == 0 ? 0 : errno) : EINVAL;
    if (who)
        fprintf(stderr, "%s: MADV_HUGEPAGE %s, MADV_COLLAPSE %s, mapping %s 2 MiB aligned\n", who,
                a ? strerror(a) : "ok", c ? strerror(c) : "ok",
                ((uintptr_t)base & (huge - 1)) ? "not" : "is");
}
