/* referee.c - the referee (this process): setup, provisioning the manager,
 * starting cxl_sec_mgr and redis-server, spawning A, B and M, revoking M
 * when it asks, stopping and cleaning up, the table, the verdict, main.
 * Owns the board, cfg, mgr, redis and the names of the attack kinds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/mman.h>

#include "attack.h"
#include "check.h"

/* --- what every process knows ------------------------------------------------------------- */

struct board *bd;
struct attack_cfg cfg;
struct sec_mgr mgr;
struct redis_proc redis;

const char *const kind_name[K_COUNT] = {
    "scan the medium for honest plaintext",
    "scan the medium for key bytes",
    "flip bits in requests (rings 1, 2)",
    "flip bits in responses (rings 1, 2)",
    "replay executed batches, old position",
    "replay an old batch, current position",
    "relocate into another ring",
    "relocate to another position, same ring",
    "forge: random bytes",
    "forge: malformed v2 header (fields, flags, PAD, len)",
    "forge: well-formed, no key",
    "M's own ring-3 keys, message into ring 1/2",
    "answer a position twice (reject, rewind)",
    "lose an answer, rewind: the replay answered",
    "manager: claim another node's id",
    "manager: region without a grant",
    "manager unreachable: keys after refresh + grace",
    "revoked: old keys after refresh + margin",
    "revoked: ask the manager for keys",
    "batch: truncated (a record cut off)",
    "batch: records reordered (ciphertext blocks swapped)",
    "batch: spliced from two batches",
    "batch: replayed whole at a later position",
};

/* --- the referee ----------------------------------------------------------------------------------- */

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void cleanup(void)
{
    if (getpid() != cfg.referee)
        return; /* a child inherited the handler */
    if (cfg.medium[0])
        unlink(cfg.medium);
    if (cfg.dir[0] && !getenv("CXL_ATTACK_KEEP"))
        remove_tree(cfg.dir);
}

static void on_fatal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE};

static pid_t spawn(int (*fn)(int), int arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != cfg.referee)
        _exit(1);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        signal(fatal_signals[i], SIG_DFL);
    exit(fn(arg));
}

static int provision(void)
{
    static const char *const names[4] = {"redis-server", "client-a", "client-b", "attacker-m"};
    sec_init(&mgr, cfg.dir, cfg.tool);
    if (sec_provision(&mgr, RINGS, REFRESH_S) != 0)
        return -1;
    snprintf(cfg.key[0], sizeof cfg.key[0], "%s", mgr.mgr_key);
    for (int i = 0; i < 4; i++)
        if (sec_add_node(&mgr, (unsigned)(NODE_SERVER + i), names[i], cfg.key[1 + i], sizeof cfg.key[1 + i]) != 0)
            return -1;
    int rc = 0;
    for (unsigned r = 0; r < RINGS; r++) {
        char region[16];
        snprintf(region, sizeof region, "ring%u", r);
        rc |= sec_add_grant(&mgr, "redis-server", region, "serve");
    }
    rc |= sec_add_grant(&mgr, "client-a", "ring1", "rw");
    rc |= sec_add_grant(&mgr, "client-b", "ring2", "rw");
    rc |= sec_add_grant(&mgr, "attacker-m", "ring3", "rw");
    char out[256];
    const char *check[] = {"check", "--config", "acl.conf", NULL};
    return rc || sec_make_master(&mgr) != 0 || sec_run(&mgr, check, out, sizeof out) != 0 ? -1 : 0;
}

static int start_redis(void)
{
    char path[340], mgr_arg[100], key[340], slot[32];
    snprintf(path, sizeof path, "path=%s", cfg.medium);
    snprintf(mgr_arg, sizeof mgr_arg, "sec_mgr=%s", mgr.addr);
    snprintf(key, sizeof key, "key=%s", cfg.key[1]);
    snprintf(slot, sizeof slot, "slot_size=%u", SLOT_SIZE);
    const char *args[] = {path, "map_size=" MAP_SIZE, "rings=4", slot, "secure=1", mgr_arg,
                          "node_id=1", key, NULL};
    return redis_start(&redis, cfg.module, args, cfg.dir);
}

/* The referee's loop while M attacks: revoke M when it asks; watch the
 * clock and the processes. */
static int referee_wait(pid_t attacker)
{
    uint64_t t0 = cxl_now_ns();
    for (;;) {
        int status;
        if (LD(bd->revoke_req) && !LD(bd->revoke_done)) {
            char out[512];
            ST(bd->revoke_ns, cxl_now_ns());
            ST(bd->revoke_rc, sec_revoke(&mgr, "attacker-m", out, sizeof out));
            ST(bd->revoke_done, 1);
            printf("%s", out);
        }
        if (waitpid(attacker, &status, WNOHANG) == attacker)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (ms_since(t0) > RUN_LIMIT_S * 1000u) {
            fprintf(stderr, "attack: the attacker did not finish within %d s\n", RUN_LIMIT_S);
            kill(attacker, SIGKILL);
            waitpid(attacker, &status, 0);
            return -1;
        }
        usleep(1000);
    }
}

static int stop_client(pid_t pid)
{
    int status;
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void print_table(void)
{
    printf("\n| attempt | attempts | detected | missed | late |\n| --- | ---: | ---: | ---: | ---: |\n");
    for (int k = 0; k < K_COUNT; k++) {
        const struct row *r = &bd->rows[k];
        printf("| %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n", kind_name[k], r->attempts,
               r->detected, r->missed, r->late);
    }
    printf("\n");
    for (int c = 0; c < 2; c++) {
        const struct cli_board *b = &bd->cli[c];
        printf("honest client %c (ring %d): %" PRIu64 " ops in %" PRIu64 " batches, %" PRIu64 " ok, %" PRIu64
               " nil; errors: %" PRIu64 " server ERR, %" PRIu64 " CXL_ECRYPTO, %" PRIu64 " other, %" PRIu64
               " refused submits; %" PRIu64 " responses refused (kv rejected), %" PRIu64 " lost, %" PRIu64
               " timeouts; WRONG VALUES: %" PRIu64 "%s%s\n", 'A' + c, c + 1, b->ops, b->batches, b->ok, b->nil,
               b->err_server, b->err_crypto, b->err_other, b->submit_err, b->kv_rejected, b->kv_lost,
               b->kv_timeouts, b->wrong, b->wrong ? " - first: " : "", b->wrong ? b->wrong_text : "");
        if (b->failed)
            printf("honest client %c FAILED: %s\n", 'A' + c, b->fail_text);
    }
    printf("%s", bd->notes);
    for (int i = 0; i < bd->nmisses && i < (int)(sizeof bd->misses / sizeof bd->misses[0]); i++)
        printf("MISSED: %s\n", bd->misses[i]);
    if (bd->attacker_error[0])
        printf("attacker error: %s\n", bd->attacker_error);
}

/* Every kind tried, reached its victim at least once, never missed; both
 * honest clients made progress and never took a wrong value. */
static void verdict(int attacker_rc, int rc_a, int rc_b)
{
    for (int k = 0; k < K_COUNT; k++) {
        const struct row *r = &bd->rows[k];
        CHECK(r->attempts > 0 && r->detected > 0 && r->missed == 0);
    }
    for (int c = 0; c < 2; c++) {
        CHECK(bd->cli[c].batches >= 100);
        CHECK(bd->cli[c].wrong == 0 && !bd->cli[c].failed);
    }
    CHECK(attacker_rc == 0 && !bd->attacker_error[0]);
    CHECK(rc_a == 0 && rc_b == 0);
}

/* What failed, last (tests/run.sh shows the end of the log). */
static void print_failures(void)
{
    fprintf(stderr, "\nattack: what failed:\n");
    for (int k = 0; k < K_COUNT; k++) {
        const struct row *r = &bd->rows[k];
        if (r->attempts == 0 || r->detected == 0 || r->missed != 0)
            fprintf(stderr, "  %s: %" PRIu64 " attempts, %" PRIu64 " detected, %" PRIu64 " missed\n", kind_name[k],
                    r->attempts, r->detected, r->missed);
    }
    for (int i = 0; i < bd->nmisses && i < 4; i++)
        fprintf(stderr, "  MISSED: %s\n", bd->misses[i]);
    for (int c = 0; c < 2; c++) {
        if (bd->cli[c].wrong)
            fprintf(stderr, "  client %c: %" PRIu64 " wrong values, first: %s\n", 'A' + c, bd->cli[c].wrong,
                    bd->cli[c].wrong_text);
        if (bd->cli[c].batches < 100 || bd->cli[c].failed)
            fprintf(stderr, "  client %c: %" PRIu64 " batches%s%s\n", 'A' + c, bd->cli[c].batches,
                    bd->cli[c].failed ? ", failed: " : "", bd->cli[c].failed ? bd->cli[c].fail_text : "");
    }
    if (bd->attacker_error[0])
        fprintf(stderr, "  attacker: %s\n", bd->attacker_error);
}

/* After the run: Redis alive and clean, the daemon clean. */
static void check_servers(void)
{
    int status;
    if (redis.pid > 0 && waitpid(redis.pid, &status, WNOHANG) == redis.pid) {
        fprintf(stderr, "attack: redis-server died during the run (see %s)\n", redis.log);
        redis.pid = 0;
    }
    char buf[64];
    const char *ping[] = {"PING"};
    int alive = redis.pid > 0 && redis_tcp(&redis, 1, ping, buf, sizeof buf) == 0 && strcmp(buf, "+PONG\r\n") == 0;
    redis_stop(&redis, SIGTERM);
    int redis_clean = !redis_sanitizer_report(&redis);
    int mgr_rc = sec_stop(&mgr, SIGTERM), mgr_clean = !sec_sanitizer_report(&mgr);
    if (!alive || !redis_clean || mgr_rc != 0 || !mgr_clean)
        fprintf(stderr, "attack: redis-server %s%s; cxl_sec_mgr exit %d%s\n", alive ? "alive" : "DEAD",
                redis_clean ? "" : ", SANITIZER REPORT", mgr_rc, mgr_clean ? "" : ", SANITIZER REPORT");
    CHECK(alive && redis_clean);
    CHECK(mgr_rc == 0 && mgr_clean);
}

static void show_logs(void)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "tail -n 6 %s %s %s 1>&2", redis.log, redis.errlog, mgr.log);
    if (system(cmd) != 0)
        fprintf(stderr, "(no logs)\n");
}

static int setup(const char *build)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/cxl_ring.so", build);
    int built = realpath(tmp, cfg.module) != NULL;
    snprintf(tmp, sizeof tmp, "%s/bin/cxl_sec_mgr", build);
    built = built && realpath(tmp, cfg.tool) != NULL;
    if (!built) {
        fprintf(stderr, "attack: %s/cxl_ring.so or %s/bin/cxl_sec_mgr is not built\n", build, build);
        return -1;
    }
    snprintf(cfg.dir, sizeof cfg.dir, "/tmp/cxl-attack.XXXXXX");
    if (!mkdtemp(cfg.dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(cfg.medium, sizeof cfg.medium, "/dev/shm/cxl_test_attack_%d.raw", (int)getpid());
    const char *seed = getenv("CXL_ATTACK_SEED");
    if (seed && *seed)
        cfg.seed = strtoull(seed, NULL, 10);
    else
        cxl_random_bytes(&cfg.seed, sizeof cfg.seed);
    cfg.seed |= 1;
    bd = mmap(NULL, sizeof *bd, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return bd == MAP_FAILED ? -1 : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    cfg.referee = getpid();
    atexit(cleanup);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        signal(fatal_signals[i], on_fatal);
    if (cxl_crypto_init() != 0 || setup(argc > 1 ? argv[1] : "build") != 0)
        return 2;
    printf("attack: seed %" PRIu64 " (CXL_ATTACK_SEED), work dir %s, medium %s\n", cfg.seed, cfg.dir, cfg.medium);
    uint64_t t0 = cxl_now_ns();
    if (provision() != 0 || sec_start(&mgr, NODE_SERVER, cfg.key[1]) != 0) {
        fprintf(stderr, "attack: cannot provision or start cxl_sec_mgr (%s)\n", cxl_last_error());
        show_logs();
        return 1;
    }
    if (start_redis() != 0) {
        fprintf(stderr, "attack: redis-server with the module did not start\n");
        show_logs();
        return 1;
    }
    printf("attack: manager on %s, redis-server on %s (secure, 4 rings, %u B slots)\n", mgr.addr, redis.addr,
           SLOT_SIZE);
    pid_t a = spawn(honest_main, 0), b = spawn(honest_main, 1);
    pid_t m = spawn(attacker_main, 0);
    int attacker_rc = referee_wait(m);
    ST(bd->stop_clients, 1);
    int rc_a = stop_client(a), rc_b = stop_client(b);
    print_table();
    verdict(attacker_rc, rc_a, rc_b);
    check_servers();
    if (check_failures) {
        show_logs();
        print_failures();
    }
    printf("attack: %.1f s; %s\n", (double)ms_since(t0) / 1000.0,
           check_failures ? "FAILED (see above)" : "every attack detected, honest clients correct");
    return check_summary("attack");
}
