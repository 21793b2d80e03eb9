/* rawio.c - `cxl_shm read` and `cxl_shm write`: raw bytes of the mapping, at
 * offsets relative to its start (--map-offset into the medium). Neither needs
 * a formatted layout. Reads copy the medium into private memory chunk by chunk
 * before formatting it (the medium may change under us). */
#include <inttypes.h>
#include <string.h>

#include "cxl/error.h"
#include "shm_tool.h"

#define READ_CHUNK 4096u /* a multiple of the 16 B of a hex line */

/* offset + len must lie within the mapping. */
static int check_range(const struct cxl_medium *m, uint64_t offset, uint64_t len)
{
    uint64_t size = cxl_medium_size(m);
    if (len <= size && offset <= size - len)
        return 0;
    fprintf(stderr, "cxl_shm: --offset %" PRIu64 " + %" PRIu64 " bytes is past the end of the"
            " mapped medium (%" PRIu64 " bytes, %s)\n", offset, len, size, cxl_medium_path(m));
    return SHM_EXIT_RUNTIME;
}

static void print_range(const struct shm_opts *o, const uint8_t *src)
{
    static uint8_t chunk[READ_CHUNK];
    for (uint64_t done = 0; done < o->len;) {
        size_t n = o->len - done < READ_CHUNK ? (size_t)(o->len - done) : READ_CHUNK;
        memcpy(chunk, src + done, n);
        if (o->hex)
            shm_dump_hex(stdout, o->offset + done, chunk, n);
        else
            shm_dump_text(stdout, chunk, n);
        done += n;
    }
    if (!o->hex)
        putchar('\n');
}

int shm_cmd_read(const struct shm_opts *o)
{
    struct cxl_medium *m;
    if (shm_open_medium(o, 0, &m) != 0)
        return shm_runtime_error("read");
    int rc = check_range(m, o->offset, o->len);
    if (rc == 0)
        print_range(o, (const uint8_t *)cxl_medium_base(m) + o->offset);
    cxl_medium_close(m);
    return rc;
}

int shm_cmd_write(const struct shm_opts *o)
{
    struct cxl_medium *m;
    if (shm_open_medium(o, 0, &m) != 0)
        return shm_runtime_error("write");
    size_t len = strlen(o->data);
    int rc = check_range(m, o->offset, len);
    if (rc == 0) {
        memcpy((uint8_t *)cxl_medium_base(m) + o->offset, o->data, len);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        printf("wrote %zu bytes at offset %" PRIu64 "\n", len, o->offset);
    }
    cxl_medium_close(m);
    return rc;
}
