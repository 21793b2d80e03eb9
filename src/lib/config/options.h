/* config/options.h - the options the programs share, defined once
 * (docs/ARCHITECTURE.md, "Configuration enters at the top").
 *
 * One table gives every shared option its flag (--map-size), its key in the
 * module's key=value arguments (map_size), its environment variable if it
 * has one (CXL_RING_MAP_SIZE), its help line and its validation. A program
 * lists the ids it accepts and:
 *   - adds cxl_opts_longopts() entries to its getopt_long table (val =
 *     CXL_OPT_BASE + id) and hands those to cxl_opts_set();
 *   - prints cxl_opts_usage() in its --help;
 *   - calls cxl_opts_env() with the ids it takes from the environment
 *     and the process's environment (main's envp, or environ), once;
 *   - calls cxl_opts_finish() and copies the result into the library's
 *     structs (or uses cxl_opts_kv_config()).
 * Nothing here reads the environment by itself. */
#ifndef CXL_CONFIG_OPTIONS_H
#define CXL_CONFIG_OPTIONS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "cxl/medium.h"
#include "cxl/ring.h"

enum cxl_opt_id {
    CXL_OPT_PATH,
    CXL_OPT_MAP_SIZE,
    CXL_OPT_MAP_OFFSET,
    CXL_OPT_UIO_MAP,
    CXL_OPT_NUMA_NODE,
    CXL_OPT_PREFAULT,
    CXL_OPT_FOREIGN,
    CXL_OPT_RINGS,       /* format: rings in a new layout */
    CXL_OPT_SLOT_SIZE,   /* format: slot bytes */
    CXL_OPT_RING,        /* the ring to claim */
    CXL_OPT_NODE_ID,
    CXL_OPT_TIMEOUT_MS,
    CXL_OPT_DELAY_NS,
    CXL_OPT_DELAY_MODEL, /* serial | mlp */
    CXL_OPT_DELAY_BW,    /* GB/s */
    CXL_OPT_SECURE,
    CXL_OPT_CRYPTO,
    CXL_OPT_SEC_MGR,
    CXL_OPT_SEC_NODE_ID,
    CXL_OPT_SEC_KEY,
    CXL_OPT_SEC_KEY_FILE,
    CXL_OPT_TLS_CA_FILE,
    CXL_OPT_IDLE_AFTER_MS, /* the serving engine's idle back-off (the module's keys) */
    CXL_OPT_IDLE_SLEEP_US,
    CXL_OPT_FABRIC,        /* cxl_sec_mgr's fabric socket (docs/FABRIC.md) */
    CXL_OPT_COUNT
};

/* getopt_long values of the shared options: CXL_OPT_BASE + id (program
 * options use values below it). */
#define CXL_OPT_BASE 0x1000

struct cxl_opt_def {
    const char *flag;    /* without "--"; NULL: not a flag */
    const char *key;     /* the module's argument; NULL: none */
    const char *env;     /* environment variable; NULL: none */
    const char *metavar; /* NULL: a switch (a flag without a value; 0 or 1 as a key) */
    const char *help;
};

extern const struct cxl_opt_def cxl_opt_defs[CXL_OPT_COUNT];

/* Where the shared options land. */
struct cxl_shared_opts {
    struct cxl_medium_config medium;
    struct cxl_format_params format; /* rings, slot size, flags (secure) */
    int ring;                        /* -1: any free one */
    uint16_t node_id;
    uint32_t timeout_ms;
    struct cxl_delay_model delay;    /* --delay-ns, --delay-model, --delay-bw-gbps */
    struct cxl_sec_opts sec;
    const char *tls_ca_file;
    const char *fabric;              /* --fabric SOCKET: the region's memfd from cxl_sec_mgr */
    uint32_t idle_after_ms, idle_sleep_us; /* the serving engine's (cxl/kvserver.h) */
    uint64_t given;                  /* bit (1 << id): set by a flag, key or variable */
    uint64_t from_env;               /* bit (1 << id): set by its variable (cxl_opts_env) */
};

/* Defaults: the medium's (cxl_medium_config_init) but map size 0 (the whole
 * medium: a program that creates one picks its size), ring -1, timeout 5000,
 * the serving engine's idle back-off (CXL_KV_SERVER_IDLE_*). */
void cxl_opts_init(struct cxl_shared_opts *o);

static inline int cxl_opts_given(const struct cxl_shared_opts *o, enum cxl_opt_id id)
{
    return (int)((o->given >> id) & 1u);
}

/* Parse and store one value. name is the option as the user spelled it
 * ("--map-size", "map_size", "CXL_RING_MAP_SIZE"), for the message;
 * value NULL for a switch given as a flag. Strings are kept by pointer: the
 * caller keeps them alive. CXL_EINVAL with a message naming it. */
int cxl_opts_set(struct cxl_shared_opts *o, enum cxl_opt_id id, const char *name, const char *value);

/* The same for a getopt_long value c (CXL_OPT_BASE + id) and its optarg;
 * 1 if c is not a shared option (the program's own). */
int cxl_opts_getopt(struct cxl_shared_opts *o, int c, const char *arg);

/* The option a module argument key names, or -1. */
int cxl_opts_find_key(const char *key);

/* Fill the options of ids that nothing set yet from their variables in envp
 * (NULL-terminated "NAME=value" strings; empty values are ignored). */
int cxl_opts_env(struct cxl_shared_opts *o, const enum cxl_opt_id *ids, size_t n, char *const *envp);

/* getopt_long entries of ids into out[0..n-1] (for a program's table). */
void cxl_opts_longopts(const enum cxl_opt_id *ids, size_t n, struct option *out);

/* The help lines of ids. */
void cxl_opts_usage(FILE *f, const enum cxl_opt_id *ids, size_t n);

/* Check the combinations: --secure and --crypto exclude each other;
 * --secure needs the manager, this node's key and its node id; --crypto
 * needs the shared secret's file. The ring owner's node id becomes the
 * manager's node id with --secure, or when --sec-node-id was given as a flag
 * (CXL_SEC_NODE_ID alone does not override --node-id on a plain ring). */
int cxl_opts_finish(struct cxl_shared_opts *o);

/* A client's ring configuration from the shared options (cxl_kv_config_init
 * first: the medium, the ring, the node id, the timeout, the delay). */
void cxl_opts_kv_config(const struct cxl_shared_opts *o, struct cxl_kv_config *kv);

/* Client threads that spin waiting for replies while the server waits for a
 * CPU slow everybody: when threads + servers (1; a cluster's pod nodes on
 * this machine) outnumber the CPUs, spin 2 us before yielding, and with
 * several servers yield rather than sleep (unless the user set it). */
void cxl_opts_spin_for_threads(struct cxl_kv_config *kv, uint32_t threads, uint32_t servers);

#endif
