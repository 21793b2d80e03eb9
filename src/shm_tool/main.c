/* main.c - cxl_shm, the shared-memory sanity tool: parse the flags, run the
 * subcommand. Everything else lives in the other files of src/shm_tool/. */
#include "shm_tool.h"

int main(int argc, char **argv)
{
    struct shm_opts o;
    int rc = shm_parse_args(argc, argv, &o);
    if (rc < 0)
        return SHM_EXIT_OK; /* --help */
    if (rc)
        return rc;
    switch (o.cmd) {
    case SHM_CMD_INFO: return shm_cmd_info(&o);
    case SHM_CMD_INIT: return shm_cmd_init(&o);
    case SHM_CMD_READ: return shm_cmd_read(&o);
    case SHM_CMD_WRITE: return shm_cmd_write(&o);
    }
    return SHM_EXIT_USAGE;
}
