/* init.c - `cxl_shm init`: format a medium with the requested geometry
 * (cxl_layout_format; destroys what was there) and print the result. A
 * regular file is created and grown to the map size if needed. */
#include "cxl/error.h"
#include "shm_tool.h"

int shm_cmd_init(const struct shm_opts *o)
{
    /* An impossible geometry is a flag problem: say so before creating a file. */
    struct cxl_geometry g;
    if (o->medium.map_size && cxl_layout_plan(&o->format, o->medium.map_size, &g) != 0) {
        fprintf(stderr, "cxl_shm: init: %s\n", cxl_last_error());
        return SHM_EXIT_USAGE;
    }
    struct cxl_medium *m;
    if (shm_open_medium(o, 1, &m) != 0)
        return shm_runtime_error("init");
    struct cxl_layout *l;
    if (cxl_layout_format(m, &o->format, &l) != 0) {
        cxl_medium_close(m);
        return shm_runtime_error("init");
    }
    printf("formatted: yes\n");
    shm_print_medium(m);
    shm_print_geometry(cxl_layout_geometry(l));
    cxl_layout_close(l);
    cxl_medium_close(m);
    return SHM_EXIT_OK;
}
