/* common.c - what every cxl_shm subcommand does alike: open the medium from
 * the common flags, report a library failure, print the medium and the
 * geometry as stable `key: value` lines. */
#include <inttypes.h>

#include "cxl/error.h"
#include "shm_tool.h"

int shm_open_medium(const struct shm_opts *o, int create, struct cxl_medium **m)
{
    struct cxl_medium_config cfg = o->medium;
    cfg.create = create;
    return cxl_medium_open(&cfg, m);
}

int shm_runtime_error(const char *what)
{
    fprintf(stderr, "cxl_shm: %s: %s\n", what, cxl_last_error());
    return SHM_EXIT_RUNTIME;
}

void shm_print_medium(const struct cxl_medium *m)
{
    char buf[512];
    printf("medium: %s\n", cxl_medium_describe(m, buf, sizeof buf));
}

void shm_print_geometry(const struct cxl_geometry *g)
{
    printf("version: %u\n", g->version);
    printf("format_id: 0x%016" PRIx64 "\n", g->format_id);
    printf("layout_size: %" PRIu64 "\n", g->layout_size);
    printf("rings: %u\n", g->ring_count);
    printf("slot_size: %u\n", g->slot_size);
    printf("slots: %u\n", g->slots);
    printf("max_payload: %u\n", g->max_payload);
    printf("data_off: %" PRIu64 "\n", g->data_off);
    printf("flags: 0x%x (%s)\n", g->flags,
           !(g->flags & CXL_LAYOUT_F_SECURE) ? "plain"
           : (g->flags & CXL_LAYOUT_F_XCHACHA) ? "secure, xchacha20poly1305" : "secure, aes256gcm");
}
