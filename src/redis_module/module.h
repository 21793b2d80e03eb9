/* module.h - the pieces of cxl_ring.so: its configuration (config.c), the
 * executor that runs ring requests in Redis (exec.c), the drivers that call
 * the serving engine from a thread or from Redis's event loop (driver.c), and
 * the CXLRING.* commands (commands.c). module.c ties them together. */
#ifndef CXL_MODULE_H
#define CXL_MODULE_H

#include <stdint.h>

#include "cxl/keyring.h"
#include "cxl/kvserver.h"
#include "cxl/medium.h"
#include "cxl/ring.h"
#include "rm_api.h"

enum serve_mode { SERVE_THREAD = 0, SERVE_EVENTLOOP = 1, SERVE_THREAD_ONLY = 2 };

struct module_config {
    struct cxl_medium_config medium;
    struct cxl_format_params format;
    uint32_t delay_ns;
    uint32_t batch;
    uint32_t max_sleep_us;
    uint32_t spin_us, yield_us; /* idle back-off of the serving thread */
    uint32_t node_id;
    enum serve_mode serve;
    int map_size_given;
    int secure, crypto;    /* docs/SECURITY.md: manager keys, or a shared key file */
    char path[256];
    char sec_mgr[256];     /* secure: HOST:PORT of cxl_sec_mgr */
    char key[256];         /* secure: this node's key file */
    char key_file[256];    /* crypto: the shared secret file */
};

/* Parse "key=value" module arguments over the CXL_RING_* environment
 * defaults. Returns 0, or -1 with a message in err. */
int config_parse(struct module_config *c, RedisModuleString **argv, int argc, char *err,
                 size_t errlen);
const char *serve_mode_name(enum serve_mode m);

/* The executor: GET/SET/DEL on the key API, CMD through RedisModule_Call. */
struct executor;
struct executor *executor_create(RedisModuleCtx *load_ctx, int take_lock);
void executor_destroy(struct executor *e);
struct cxl_kv_executor executor_callbacks(struct executor *e);

/* Keys of a secure ring: fetched at load, refreshed by a thread (keys.c). */
struct keys_refresher;
int keys_start(const struct module_config *c, uint32_t rings, struct cxl_keyring **kr,
               struct keys_refresher **out, char *err, size_t errlen);
void keys_stop(struct keys_refresher *k);
const char *keys_mode_name(const struct module_config *c);

/* Drivers. */
struct driver;
int driver_start(RedisModuleCtx *ctx, enum serve_mode mode, struct cxl_kv_server *s,
                 struct driver **out, char *err, size_t errlen);
void driver_stop(struct driver *d);

/* The module's global state (one instance per Redis). */
struct cxl_module {
    struct module_config cfg;
    struct cxl_medium *medium;
    struct cxl_layout *layout;
    struct cxl_kv_server *server;
    struct executor *exec;
    struct driver *driver;
    struct cxl_keyring *keys;
    struct keys_refresher *refresher;
};
extern struct cxl_module cxl_mod;

int commands_register(RedisModuleCtx *ctx);

#endif
