/* main.c - cxl_sec_mgr, the ACL and key authority of a secure cxl-dsm
 * medium (docs/SECURITY.md): parse the command line, run the subcommand.
 * Everything else lives in the other files of src/sec_mgr/ (sec_mgr.h). */
#include "sec/seal.h"
#include "sec_mgr.h"

int main(int argc, char **argv)
{
    struct mgr_opts o;
    int rc = mgr_parse_args(argc, argv, &o);
    if (rc < 0)
        return MGR_EXIT_OK; /* --help */
    if (rc)
        return rc;
    if (cxl_crypto_init() != 0)
        return MGR_EXIT_FAIL;
    switch (o.cmd) {
    case MGR_CMD_DAEMON: return daemon_run(o.config, o.listen);
    case MGR_CMD_KEYGEN: return cmd_keygen(&o);
    case MGR_CMD_CHECK: return cmd_check(&o);
    case MGR_CMD_REVOKE:
    case MGR_CMD_ROTATE:
    case MGR_CMD_RELOAD:
    case MGR_CMD_RETIRE:
    case MGR_CMD_PING: return cmd_control(&o);
    case MGR_CMD_FETCH: return cmd_fetch(&o);
    }
    return MGR_EXIT_USAGE;
}
