/* fixture.h - test media: a uniquely named file under /dev/shm (or another
 * directory), formatted on request, removed when the test closes it. */
#ifndef CXL_TEST_FIXTURE_H
#define CXL_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cxl/medium.h"
#include "cxl/ring.h"

struct fixture {
    char path[256];
    struct cxl_medium *medium;
    struct cxl_layout *layout;
};

static inline void fixture_path(struct fixture *f, const char *dir, const char *tag)
{
    static int n;
    snprintf(f->path, sizeof f->path, "%s/cxl_test_%s_%d_%d.raw", dir, tag, (int)getpid(), n++);
}

/* Create a medium of size bytes; format it (with layout flags) unless rings == 0. */
static inline int fixture_open_flags(struct fixture *f, const char *dir, uint64_t size,
                                     uint32_t rings, uint32_t slot_size, uint32_t flags)
{
    fixture_path(f, dir, "m");
    struct cxl_medium_config cfg;
    cxl_medium_config_init(&cfg);
    cfg.path = f->path;
    cfg.map_size = size;
    cfg.create = 1;
    f->layout = NULL;
    int rc = cxl_medium_open(&cfg, &f->medium);
    if (rc || rings == 0)
        return rc;
    struct cxl_format_params p = {.ring_count = rings, .slot_size = slot_size, .flags = flags};
    return cxl_layout_format(f->medium, &p, &f->layout);
}

static inline int fixture_open(struct fixture *f, const char *dir, uint64_t size,
                               uint32_t rings, uint32_t slot_size)
{
    return fixture_open_flags(f, dir, size, rings, slot_size, 0);
}

static inline void fixture_close(struct fixture *f)
{
    if (f->layout)
        cxl_layout_close(f->layout);
    if (f->medium)
        cxl_medium_close(f->medium);
    unlink(f->path);
    f->layout = NULL;
    f->medium = NULL;
}

#endif
