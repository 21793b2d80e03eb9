/* shm_tool.h - what the files of cxl_shm share: the parsed command line, the
 * exit codes, and one entry point per subcommand.
 *
 *   args.c    command line -> struct shm_opts, and the --help text
 *   common.c  opening the medium, error reporting, geometry printing
 *   info.c    `info`: header, server presence and ring states
 *   init.c    `init`: format a medium
 *   rawio.c   `read` / `write`: raw bytes of the mapping
 *   dump.c    byte formatting for `read` (escaped text, hex lines)
 */
#ifndef SHM_TOOL_H
#define SHM_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/options.h"
#include "cxl/medium.h"
#include "cxl/ring.h"

#define SHM_EXIT_OK 0
#define SHM_EXIT_RUNTIME 1 /* the medium or a system call said no */
#define SHM_EXIT_USAGE 2   /* bad flag, value, subcommand or argument */

enum shm_cmd { SHM_CMD_INFO, SHM_CMD_INIT, SHM_CMD_READ, SHM_CMD_WRITE };

struct shm_opts {
    enum shm_cmd cmd;
    struct cxl_shared_opts shared;   /* the shared options as given (config/options.h) */
    struct cxl_medium_config medium; /* --path, --map-*, --uio-map, ... */
    struct cxl_format_params format; /* init: --rings, --slot-size, --secure */
    uint64_t offset;                 /* read/write: --offset */
    uint64_t len;                    /* read: --len */
    const char *data;                /* write: --data */
    int hex;                         /* read: --hex */
};

/* args.c: fill o from argv. Returns SHM_EXIT_OK to go on, SHM_EXIT_USAGE after
 * printing why, or -1 when --help was printed (exit 0). */
int shm_parse_args(int argc, char **argv, struct shm_opts *o);
void shm_usage(FILE *f);

/* common.c */
int shm_open_medium(const struct shm_opts *o, int create, struct cxl_medium **m);
int shm_runtime_error(const char *what); /* prints cxl_last_error(), returns 1 */
void shm_print_medium(const struct cxl_medium *m);
void shm_print_geometry(const struct cxl_geometry *g);

/* one per subcommand; each returns the process exit code */
int shm_cmd_info(const struct shm_opts *o);
int shm_cmd_init(const struct shm_opts *o);
int shm_cmd_read(const struct shm_opts *o);
int shm_cmd_write(const struct shm_opts *o);

/* dump.c: print len bytes that were at medium offset `at` */
void shm_dump_text(FILE *f, const uint8_t *p, size_t len);
void shm_dump_hex(FILE *f, uint64_t at, const uint8_t *p, size_t len);

#endif
