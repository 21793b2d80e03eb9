/* redis_rights.c - a ring client gets exactly the rights a TCP client of the
 * same Redis would (docs/SERVER.md, "Rights"). Each scenario starts a real
 * redis-server with the module and sends the same commands over the ring
 * and over TCP (as the same Redis user), comparing the replies byte for
 * byte:
 *   protected  DEBUG and MODULE refused as enable-*-command says, protected
 *              configs refused, the log warns that the rings run as the
 *              default user; values stored with Redis's encodings
 *   renamed    DEBUG and MODULE under other names (rename-command): refused
 *   noauth     requirepass set, no user named: every command answers NOAUTH
 *              (CONFIG GET requirepass, ACL SETUSER, DEBUG ... change
 *              nothing); AUTH, HELLO 2 AUTH and RESET per connection; a new
 *              claim of the ring forgets them
 *   acl        user.N= names a restricted ACL user: command, key and
 *              subcommand denials with Redis's texts; a named user that is
 *              deleted (even by its own command) is refused, never used
 *   many_users 600 ring connections authenticated as 12 users: a check
 *              asks ACL GETUSER once per user (ACL SETUSER: only the user
 *              it names); checks anyone can ask for (EXEC, a refused
 *              CONFIG SET or ACL SETUSER) keep every connection's user; a
 *              deleted user's connections (also in a transaction), and a
 *              changed requirepass's, go; the fast paths' NOPERM texts as
 *              Redis's
 *   replica    a read-only replica refuses ring writes as READONLY
 *   oom        maxmemory reached without eviction: OOM, as over TCP (scripts
 *              without a shebang refused whole)
 * (the nodes of a secure ring: redis_node_users.c)
 * Usage: redis_rights BUILD_DIR [scenario...] */
#include "rights_harness.h"

/* --- scenarios ----------------------------------------------------------------- */

static void test_protected(void)
{
    if (start(NULL, NULL) != 0)
        return;
    struct cxl_kv *kv = ring_open(0);
    if (!kv)
        return stop();
    CHECK(harness_file_has(redis.log, "any process that can map the medium"));
    /* what Redis refuses to an unauthenticated local TCP client by default */
    CHECK(same("DEBUG SLEEP", RING(kv, 0, "DEBUG", "SLEEP", "0"), TCP("DEBUG", "SLEEP", "0")));
    CHECK(starts("DEBUG", RING(kv, 0, "debug", "segfault"), "-ERR DEBUG command not allowed."));
    CHECK(same("MODULE LOAD", RING(kv, 0, "MODULE", "LOAD", "/tmp/x.so"), TCP("MODULE", "LOAD", "/tmp/x.so")));
    CHECK(same("MODULE LIST", RING(kv, 0, "MODULE", "LIST"), TCP("MODULE", "LIST")));
    /* Redis matches a subcommand up to a NUL (when its hash falls in the
     * same bucket): "load\0xy" may run MODULE LOAD; refused every time */
    int ran = 0;
    for (int i = 0; i < 64; i++) {
        char sub[8] = {'l', 'o', 'a', 'd', '\0', (char)('a' + i % 26), (char)('a' + i / 26)};
        const char *argv[] = {"MODULE", sub, "/nonexistent/x.so"};
        size_t lens[] = {6, 7, 17};
        ran += !starts("MODULE load\\0..", ring_lv(kv, 0, 3, argv, lens), "-ERR MODULE command not allowed.");
    }
    CHECK_EQ(ran, 0);
    const char *nul_auth[] = {"AUTH\0x", "pw"}, *nul_reset[] = {"RESET\0"};
    size_t auth_lens[] = {6, 2}, reset_lens[] = {6};
    CHECK(starts("AUTH\\0x", ring_lv(kv, 0, 2, nul_auth, auth_lens), "-ERR unknown command"));
    CHECK(starts("RESET\\0", ring_lv(kv, 0, 1, nul_reset, reset_lens), "-ERR unknown command"));
    CHECK(starts("CONFIG SET dir", RING(kv, 0, "CONFIG", "SET", "dir", "/tmp"), "-ERR CONFIG SET failed"));
    CHECK(same("PING", RING(kv, 0, "PING"), TCP("PING")));
    /* Redis's own encodings for what the generic path stores */
    CHECK(same("SET int", RING(kv, 0, "SET", "n", "12345"), "+OK\r\n"));
    CHECK(same("encoding int", TCP("OBJECT", "ENCODING", "n"), "$3\r\nint\r\n"));
    CHECK(same("SET short", RING(kv, 0, "SET", "s", "abc"), "+OK\r\n"));
    CHECK(same("encoding embstr", TCP("OBJECT", "ENCODING", "s"), "$6\r\nembstr\r\n"));
    CHECK(same("MSET", RING(kv, 0, "MSET", "m1", "1", "m2", "2"), "+OK\r\n"));
    CHECK(same("encoding mset", TCP("OBJECT", "ENCODING", "m2"), "$3\r\nint\r\n"));
    CHECK(same("RPUSH", RING(kv, 0, "RPUSH", "l", "1", "2", "3"), ":3\r\n"));
    CHECK(same("TCP RPUSH", TCP("RPUSH", "l2", "1", "2", "3"), ":3\r\n"));
    CHECK(same("encoding list", TCP("OBJECT", "ENCODING", "l"), TCP("OBJECT", "ENCODING", "l2")));
    CHECK(same("SADD ints", RING(kv, 0, "SADD", "si", "1", "2", "3"), ":3\r\n"));
    CHECK(same("encoding intset", TCP("OBJECT", "ENCODING", "si"), "$6\r\nintset\r\n"));
    /* no authentication configured: the rings are the default user, and a
     * restriction of the default user holds for them too */
    CHECK(same("ACL SETUSER default", TCP("ACL", "SETUSER", "default", "-flushall"), "+OK\r\n"));
    CHECK(same("FLUSHALL by default", RING(kv, 0, "FLUSHALL"), TCP("FLUSHALL")));
    CHECK(starts("FLUSHALL text", RING(kv, 0, "FLUSHALL"), "-NOPERM this user has no permissions to run the 'flushall'"));
    CHECK(same("GET n", ring_fast(kv, 0, CXL_KV_GET, "n", NULL), "$5\r\n12345\r\n"));
    cxl_kv_close(kv);
    stop();
}

/* DEBUG and MODULE under other names (rename-command): refused all the
 * same, as Redis refuses them to a TCP client; GET named "debug" works; a
 * renamed EVAL is a script out of memory all the same. With COMMAND renamed
 * the literal names hold; with COMMAND and DEBUG renamed the module cannot
 * tell which name is DEBUG and refuses to load; with ACL renamed, AUTH over
 * the ring says it is not available. */
static void test_renamed(void)
{
    const char *server[] = {"--rename-command", "DEBUG", "mydebug", "--rename-command", "MODULE", "mymod",
                            "--rename-command", "GET", "debug", "--rename-command", "EVAL", "myeval", NULL};
    if (start(server, NULL) != 0)
        return;
    struct cxl_kv *kv = ring_open(0);
    if (!kv)
        return stop();
    CHECK(same("renamed DEBUG", RING(kv, 0, "mydebug", "SLEEP", "0"), TCP("mydebug", "SLEEP", "0")));
    CHECK(starts("renamed DEBUG text", RING(kv, 0, "MyDebug", "segfault"), "-ERR DEBUG command not allowed."));
    CHECK(same("renamed MODULE LOAD", RING(kv, 0, "mymod", "LOAD", "/tmp/x.so"), TCP("mymod", "LOAD", "/tmp/x.so")));
    CHECK(starts("renamed MODULE text", RING(kv, 0, "mymod", "unload", "x"), "-ERR MODULE command not allowed."));
    CHECK(same("renamed MODULE LIST", RING(kv, 0, "mymod", "LIST"), TCP("mymod", "LIST")));
    CHECK(same("SET", RING(kv, 0, "SET", "k", "v"), "+OK\r\n"));
    CHECK(same("GET named debug", RING(kv, 0, "debug", "k"), TCP("debug", "k")));
    CHECK(same("the old name", RING(kv, 0, "DEBUG", "SLEEP", "0"), TCP("DEBUG", "SLEEP", "0")));
    CHECK(same("maxmemory", TCP("CONFIG", "SET", "maxmemory", "1"), "+OK\r\n"));
    harness_sleep_ms(1100); /* the module reads the server's state once a second */
    CHECK(same("renamed EVAL out of memory", RING(kv, 0, "myeval", "return redis.call('set','e','v')", "0"),
               "-OOM command not allowed when used memory > 'maxmemory'.\r\n"));
    CHECK(same("maxmemory off", TCP("CONFIG", "SET", "maxmemory", "0"), "+OK\r\n"));
    CHECK(same("nothing written", TCP("EXISTS", "e"), ":0\r\n"));
    cxl_kv_close(kv);
    stop();

    const char *no_acl[] = {"--rename-command", "ACL", "myacl", NULL};
    const char *as_default[] = {"user=default", NULL};
    if (start(no_acl, as_default) != 0)
        return;
    if (!(kv = ring_open(0)))
        return stop();
    CHECK(starts("ACL renamed: AUTH", RING(kv, 3, "AUTH", "pw"), "-ERR AUTH over the ring is not available"));
    CHECK(starts("ACL renamed: HELLO AUTH", RING(kv, 3, "HELLO", "2", "AUTH", "default", "pw"),
                 "-ERR AUTH over the ring is not available"));
    CHECK(same("ACL renamed: PING", RING(kv, 0, "PING"), "+PONG\r\n"));
    cxl_kv_close(kv);
    stop();

    /* COMMAND renamed: which command a name runs cannot be asked (here
     * ECHO goes by DEBUG's name, DEBUG by another) */
    const char *no_command[] = {"--rename-command", "COMMAND", "mycmd", "--rename-command", "DEBUG", "mydbg",
                                "--rename-command", "ECHO", "debug", NULL};
    const char *args[] = {path_arg, "map_size=16M", "rings=4", NULL};
    redis.port = 0;
    unlink(med.path);
    CHECK(redis_start_with(&redis, no_command, module, args, logdir) != 0);
    CHECK(harness_file_has(redis.log, "COMMAND is renamed or removed: without it the module cannot tell"));
    redis_stop(&redis, SIGKILL);
}

static void test_noauth(void)
{
    const char *server[] = {"--requirepass", "s3cret", "--enable-debug-command", "yes", NULL};
    if (start(server, NULL) != 0)
        return;
    struct cxl_kv *kv = ring_open(1);
    if (!kv)
        return stop();
    const char *noauth = "-NOAUTH Authentication required.\r\n";
    CHECK(same("TCP without AUTH", TCP("GET", "k"), noauth));
    CHECK(same("GET", ring_fast(kv, 0, CXL_KV_GET, "k", NULL), noauth));
    CHECK(same("SET", ring_fast(kv, 0, CXL_KV_SET, "k", "v"), noauth));
    CHECK(same("DEL", ring_fast(kv, 0, CXL_KV_DEL, "k", NULL), noauth));
    CHECK(same("CONFIG GET requirepass", RING(kv, 0, "CONFIG", "GET", "requirepass"), noauth));
    CHECK(same("ACL SETUSER", RING(kv, 0, "ACL", "SETUSER", "evil", "on", ">x", "+@all", "~*"), noauth));
    CHECK(same("DEBUG SLEEP", RING(kv, 0, "DEBUG", "SLEEP", "0"), noauth));
    CHECK(same("MODULE LOAD", RING(kv, 0, "MODULE", "LOAD", "/tmp/x.so"), noauth));
    CHECK(same("evil was not created", TCP_AS("default", "s3cret", "ACL", "GETUSER", "evil"),
               TCP_AS("default", "s3cret", "ACL", "GETUSER", "never-created")));
    CHECK(same("k was not written", TCP_AS("default", "s3cret", "EXISTS", "k"), ":0\r\n"));
    /* AUTH as over TCP, per connection of the ring */
    CHECK(same("AUTH wrong", RING(kv, 0, "AUTH", "nope"), TCP("AUTH", "nope")));
    CHECK(same("AUTH user wrong", RING(kv, 0, "AUTH", "default", "nope"), TCP("AUTH", "default", "nope")));
    CHECK(same("AUTH", RING(kv, 0, "AUTH", "s3cret"), "+OK\r\n"));
    CHECK(same("SET after AUTH", ring_fast(kv, 0, CXL_KV_SET, "k", "v"), "+OK\r\n"));
    CHECK(same("GET after AUTH", ring_fast(kv, 0, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n"));
    CHECK(same("enable-debug-command yes", RING(kv, 0, "DEBUG", "SLEEP", "0"), "+OK\r\n"));
    CHECK(same("connection 7 still unauthenticated", RING(kv, 7, "GET", "k"), noauth));
    CHECK(same("HELLO before AUTH", RING(kv, 7, "HELLO", "2"), TCP("HELLO", "2")));
    CHECK(starts("HELLO 2 AUTH", RING(kv, 7, "HELLO", "2", "AUTH", "default", "s3cret"), "*14\r\n$6\r\nserver\r\n"));
    CHECK(same("GET on connection 7", RING(kv, 7, "GET", "k"), "$1\r\nv\r\n"));
    CHECK(same("HELLO 3", RING(kv, 7, "HELLO", "3"), "-NOPROTO unsupported protocol version (the cxl ring speaks RESP2 only)\r\n"));
    CHECK(same("HELLO 4", RING(kv, 7, "HELLO", "4"), TCP("HELLO", "4")));
    CHECK(same("HELLO AUTH wrong", RING(kv, 8, "HELLO", "2", "AUTH", "default", "x"),
               TCP("HELLO", "2", "AUTH", "default", "x")));
    CHECK(same("RESET", RING(kv, 7, "RESET"), "+RESET\r\n"));
    CHECK(same("after RESET", RING(kv, 7, "GET", "k"), noauth));
    CHECK(same("connection 0 kept its AUTH", RING(kv, 0, "GET", "k"), "$1\r\nv\r\n"));
    /* the tools authenticate as redis-cli does: --user/--pass */
    char out[2000];
    CHECK_EQ(tool_run("--ring 2 GET k", out, sizeof out), 0); /* an error reply, as redis-cli: exit 0 */
    CHECK(strstr(out, "NOAUTH Authentication required.") != NULL);
    CHECK_EQ(tool_run("--ring 2 --pass s3cret GET k", out, sizeof out), 0);
    CHECK(strcmp(out, "v\n") == 0);
    CHECK_EQ(tool_run("--ring 2 --user default --pass s3cret GET k", out, sizeof out), 0);
    CHECK(tool_run("--ring 2 --pass wrong GET k", out, sizeof out) != 0);
    CHECK(strstr(out, "WRONGPASS") != NULL);
    char args[400];
    snprintf(args, sizeof args, "--ring 2 --pass s3cret --bench 200 --quiet --csv /dev/null");
    CHECK_EQ(tool_run(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "--via %s --pass s3cret --bench 200 --quiet --csv /dev/null", redis.addr);
    CHECK_EQ(tool_run(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "--via %s --pass wrong --bench 200 --quiet --csv /dev/null", redis.addr);
    CHECK(tool_run(args, out, sizeof out) != 0);
    CHECK(strstr(out, "WRONGPASS") != NULL);
    /* a new claim of the ring is a new client */
    cxl_kv_close(kv);
    kv = ring_open(1);
    if (kv) {
        CHECK(same("new claim", ring_fast(kv, 0, CXL_KV_GET, "k", NULL), noauth));
        cxl_kv_close(kv);
    }
    stop();
}

static void test_acl(void)
{
    const char *server[] = {"--user", "alice", "on", ">pw", "~alice:*", "+@read", "+@write", "+ping", "-flushall",
                            "resetchannels", "--user", "carol", "on", ">pw", "~*", "+@all", "--requirepass", "adminpw",
                            NULL};
    const char *margs[] = {"user.1=alice", "user.2=carol", "user.3=nobody", NULL};
    if (start(server, margs) != 0)
        return;
    struct cxl_kv *a = ring_open(1), *c = ring_open(2), *n = ring_open(3);
    if (!a || !c || !n)
        return stop();
    const char *alice = "alice", *pw = "pw";
    /* ring 1 runs as alice: the same answers as alice over TCP */
    CHECK(same("alice SET own key", ring_fast(a, 0, CXL_KV_SET, "alice:1", "x"), "+OK\r\n"));
    CHECK(same("alice GET own key", ring_fast(a, 0, CXL_KV_GET, "alice:1", NULL), TCP_AS(alice, pw, "GET", "alice:1")));
    CHECK(same("alice GET other key", ring_fast(a, 0, CXL_KV_GET, "bob:1", NULL), TCP_AS(alice, pw, "GET", "bob:1")));
    CHECK(same("alice SET other key", ring_fast(a, 0, CXL_KV_SET, "bob:1", "y"), TCP_AS(alice, pw, "SET", "bob:1", "y")));
    CHECK(same("alice DEL (no +del? @write has it)", ring_fast(a, 0, CXL_KV_DEL, "bob:1", NULL),
               TCP_AS(alice, pw, "DEL", "bob:1")));
    CHECK(same("alice MGET other", RING(a, 0, "MGET", "alice:1", "bob:1"), TCP_AS(alice, pw, "MGET", "alice:1", "bob:1")));
    CHECK(same("alice FLUSHALL", RING(a, 0, "FLUSHALL"), TCP_AS(alice, pw, "FLUSHALL")));
    CHECK(same("alice CONFIG GET", RING(a, 0, "CONFIG", "GET", "requirepass"),
               TCP_AS(alice, pw, "CONFIG", "GET", "requirepass")));
    CHECK(same("alice ACL SETUSER", RING(a, 0, "ACL", "SETUSER", "alice", "+@all"),
               TCP_AS(alice, pw, "ACL", "SETUSER", "alice", "+@all")));
    CHECK(same("alice PUBLISH", RING(a, 0, "PUBLISH", "ch", "m"), TCP_AS(alice, pw, "PUBLISH", "ch", "m")));
    CHECK(same("alice EVAL reaching out", RING(a, 0, "EVAL", "return redis.call('GET', KEYS[1])", "1", "bob:1"),
               TCP_AS(alice, pw, "EVAL", "return redis.call('GET', KEYS[1])", "1", "bob:1")));
    CHECK(same("alice EVAL inside", RING(a, 0, "EVAL", "return redis.call('GET', 'bob:1')", "0"),
               TCP_AS(alice, pw, "EVAL", "return redis.call('GET', 'bob:1')", "0")));
    CHECK(same("alice unknown command", RING(a, 0, "NOSUCHCMD", "x"), TCP_AS(alice, pw, "NOSUCHCMD", "x")));
    CHECK(same("nothing of bob written", TCP_AS("default", "adminpw", "EXISTS", "bob:1"), ":0\r\n"));
    /* AUTH switches a connection to another user, as over TCP */
    CHECK(same("AUTH carol on ring 1", RING(a, 4, "AUTH", "carol", "pw"), "+OK\r\n"));
    CHECK(same("carol on ring 1 conn 4", RING(a, 4, "SET", "bob:1", "z"), "+OK\r\n"));
    CHECK(same("conn 0 still alice", ring_fast(a, 0, CXL_KV_GET, "bob:1", NULL), TCP_AS(alice, pw, "GET", "bob:1")));
    /* a user that does not exist is never used */
    CHECK(starts("ring 3: no such user", ring_fast(n, 0, CXL_KV_GET, "k", NULL), "-NOAUTH the ACL user 'nobody'"));
    CHECK(starts("ring 3 CMD: no such user", RING(n, 0, "PING"), "-NOAUTH the ACL user 'nobody'"));
    /* an ACL change takes effect at the next request, even in one batch */
    struct cxl_kv_result r;
    const char *setuser[] = {"ACL", "SETUSER", "carol", "-get"};
    size_t setlen[] = {3, 7, 5, 4};
    cxl_kv_set_conn(c, 0);
    CHECK_EQ(cxl_kv_submit_get(c, "k", 1, 1), 0);
    CHECK_EQ(cxl_kv_submit_command(c, 4, setuser, setlen, 2), 0);
    CHECK_EQ(cxl_kv_submit_get(c, "k", 1, 3), 0);
    CHECK_EQ(cxl_kv_wait(c, &r), 1);
    CHECK_EQ(r.status, CXL_KV_NIL);
    CHECK_EQ(cxl_kv_wait(c, &r), 1);
    CHECK_EQ(r.status, CXL_KV_REPLY);
    CHECK_EQ(cxl_kv_wait(c, &r), 1);
    CHECK(r.status == CXL_KV_ERR && r.len > 6 && memcmp(r.data, "NOPERM", 6) == 0);
    CHECK(same("carol may GET again", TCP_AS("default", "adminpw", "ACL", "SETUSER", "carol", "+get"), "+OK\r\n"));
    /* a connection's AUTH holds while Redis would accept it again; after
     * that the connection is the ring's user again (here alice) */
#define ADMIN(...) TCP_AS("default", "adminpw", __VA_ARGS__)
    CHECK(same("dave", ADMIN("ACL", "SETUSER", "dave", "on", ">dpw", "~*", "+@all"), "+OK\r\n"));
    CHECK(same("AUTH dave on conn 5", RING(a, 5, "AUTH", "dave", "dpw"), "+OK\r\n"));
    CHECK(same("dave reads bob:1", ring_fast(a, 5, CXL_KV_GET, "bob:1", NULL), "$1\r\nz\r\n"));
    CHECK(same("another user changed", ADMIN("ACL", "SETUSER", "carol", "+get"), "+OK\r\n"));
    CHECK(same("dave's permissions changed", ADMIN("ACL", "SETUSER", "dave", "-flushall"), "+OK\r\n"));
    CHECK(same("conn 5 still dave", ring_fast(a, 5, CXL_KV_GET, "bob:1", NULL), "$1\r\nz\r\n"));
    CHECK(same("dave deleted", ADMIN("ACL", "DELUSER", "dave"), ":1\r\n"));
    CHECK(same("dave re-created", ADMIN("ACL", "SETUSER", "dave", "on", ">other", "~*", "+@all"), "+OK\r\n"));
    CHECK(same("conn 5 is not the new dave", ring_fast(a, 5, CXL_KV_GET, "bob:1", NULL),
               TCP_AS(alice, pw, "GET", "bob:1")));
    CHECK(same("conn 5 is not the new dave (CMD)", RING(a, 5, "GET", "bob:1"), TCP_AS(alice, pw, "GET", "bob:1")));
    CHECK(same("AUTH the new dave", RING(a, 5, "AUTH", "dave", "other"), "+OK\r\n"));
    CHECK(same("dave's password changed", ADMIN("ACL", "SETUSER", "dave", "resetpass", ">third"), "+OK\r\n"));
    CHECK(same("conn 5 after the change", RING(a, 5, "GET", "bob:1"), TCP_AS(alice, pw, "GET", "bob:1")));
    CHECK(same("AUTH dave third", RING(a, 5, "AUTH", "dave", "third"), "+OK\r\n"));
    CHECK(same("dave off", ADMIN("ACL", "SETUSER", "dave", "off"), "+OK\r\n"));
    CHECK(same("conn 5 after off", ring_fast(a, 5, CXL_KV_GET, "bob:1", NULL), TCP_AS(alice, pw, "GET", "bob:1")));
    CHECK(same("dave on, nopass", ADMIN("ACL", "SETUSER", "dave", "on", "nopass"), "+OK\r\n"));
    CHECK(same("AUTH dave, any password", RING(a, 5, "AUTH", "dave", "x"), "+OK\r\n"));
    CHECK(same("dave in a ring batch deleted", RING(c, 0, "ACL", "DELUSER", "dave"), ":1\r\n"));
    CHECK(same("conn 5 at once", ring_fast(a, 5, CXL_KV_GET, "bob:1", NULL), TCP_AS(alice, pw, "GET", "bob:1")));
#undef ADMIN
    /* a user deleted while its ring runs: refused from then on, no crash */
    CHECK(same("carol deletes herself", RING(c, 0, "ACL", "DELUSER", "carol"), ":1\r\n"));
    CHECK(starts("carol is gone", ring_fast(c, 0, CXL_KV_GET, "k", NULL), "-NOAUTH the ACL user 'carol'"));
    CHECK(starts("carol is gone (CMD)", RING(c, 0, "PING"), "-NOAUTH the ACL user 'carol'"));
    CHECK(same("conn 4 (was carol) is alice again", RING(a, 4, "GET", "bob:1"), TCP_AS(alice, pw, "GET", "bob:1")));
    CHECK(same("alice off", TCP_AS("default", "adminpw", "ACL", "SETUSER", "alice", "off"), "+OK\r\n"));
    CHECK(starts("a disabled user is refused", RING(a, 0, "PING"), "-NOAUTH the ACL user 'alice'"));
    CHECK(starts("on the fast paths too", ring_fast(a, 0, CXL_KV_GET, "alice:1", NULL), "-NOAUTH the ACL user 'alice'"));
    cxl_kv_close(a);
    cxl_kv_close(c);
    cxl_kv_close(n);
    stop();
}

/* A counter of CXLRING.STATS over TCP: ring's (ring >= 0) or the server's. */
/* Calls of ACL GETUSER so far (INFO commandstats counts the module's own). */
static long getuser_calls(void)
{
    const char *info = TCP_AS("default", "adminpw", "INFO", "commandstats");
    const char *p = strstr(info, "cmdstat_acl|getuser:calls=");
    return p ? atol(p + strlen("cmdstat_acl|getuser:calls=")) : 0;
}

/* GET k on connection conn until the reply starts with prefix (at most 5 s:
 * a change is seen within a second, docs/SERVER.md). */
static const char *get_until(struct cxl_kv *kv, uint16_t conn, const char *prefix)
{
    const char *got = "";
    for (int i = 0; i < 500; i++) {
        got = ring_fast(kv, conn, CXL_KV_GET, "k", NULL);
        if (strncmp(got, prefix, strlen(prefix)) == 0 || got[0] == '(') /* or the ring failed */
            break;
        usleep(10000);
    }
    return got;
}

static void test_many_users(void)
{
    enum { USERS = 12, CONNS = 600 };
    const char *server[] = {"--requirepass", "adminpw", "--user", "guest", "on", "nopass", "-@all", NULL};
    const char *margs[] = {"user.1=guest", NULL};
    if (start(server, margs) != 0)
        return;
    char name[16], pass[16];
#define ADMIN(...) TCP_AS("default", "adminpw", __VA_ARGS__)
    for (int u = 0; u < USERS; u++) {
        snprintf(name, sizeof name, "u%d", u);
        snprintf(pass, sizeof pass, ">pw%d", u);
        CHECK(same("user", ADMIN("ACL", "SETUSER", name, "on", pass, "~*", "+@all"), "+OK\r\n"));
    }
    CHECK(same("SET k", ADMIN("SET", "k", "v"), "+OK\r\n"));
    struct cxl_kv *a = ring_open(1);
    if (!a)
        return stop();
    int bad = 0;
    for (int c = 1; c <= CONNS; c++) { /* connection c is user c % USERS */
        snprintf(name, sizeof name, "u%d", c % USERS);
        snprintf(pass, sizeof pass, "pw%d", c % USERS);
        bad += !same("AUTH", RING(a, (uint16_t)c, "AUTH", name, pass), "+OK\r\n");
    }
    CHECK_EQ(bad, 0);
    CHECK(same("conn 700 AUTH default", RING(a, 700, "AUTH", "adminpw"), "+OK\r\n"));
    CHECK(starts("conn 0 is guest", ring_fast(a, 0, CXL_KV_GET, "k", NULL), "-NOPERM"));
    CHECK_EQ(stat_of(-1, "auth_connections"), CONNS + 1);
    /* a check asks each user once, not each connection; ACL SETUSER asks
     * only the user it names */
    long before = getuser_calls();
    CHECK(same("a change", ADMIN("ACL", "SETUSER", "u1", "-flushall"), "+OK\r\n"));
    CHECK(same("conn 1 reads", ring_fast(a, 1, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n"));
    long asked = getuser_calls() - before;
    printf("after ACL SETUSER u1: %ld ACL GETUSER call(s) for %d connections of %d users\n", asked, CONNS + 1,
           USERS + 1);
    CHECK(asked <= 1 + (USERS + 1)); /* u1, and perhaps the periodic check of all */
    before = getuser_calls();
    CHECK(starts("EXEC: a transaction could have changed anyone", ADMIN("EXEC"), "-ERR EXEC without MULTI"));
    CHECK(same("conn 2 reads", ring_fast(a, 2, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n"));
    asked = getuser_calls() - before;
    printf("after EXEC: %ld ACL GETUSER call(s)\n", asked);
    CHECK(asked <= 2 * (USERS + 1)); /* all (unless deferred), and perhaps the periodic check */
    harness_sleep_ms(1100);
    CHECK(same("conn 3 reads", ring_fast(a, 3, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n")); /* a full check */
    /* anyone can ask for checks, unauthenticated or refused, naming real
     * users or not: what Redis says of the users did not change, so no
     * connection is even looked at, and every one keeps its user */
    long long examined = stat_of(-1, "auth_conns_examined"), checks = stat_of(-1, "auth_checks");
    struct cxl_conn *flood;
    const uint8_t *rep;
    size_t len;
    CHECK_EQ(cxl_conn_open(redis.addr, NULL, &flood), 0);
    const char *exec[] = {"EXEC"}, *cfg[] = {"CONFIG", "SET", "requirepass", "x"};
    const char *acl[] = {"ACL", "SETUSER", "u1", "+@all"}, *del[] = {"ACL", "DELUSER", "u2", "nosuch", "u3"};
    bad = 0;
    for (int i = 0; flood && i < 400; i++) {
        const char *const *cmd = i % 4 == 0 ? exec : i % 4 == 1 ? cfg : i % 4 == 2 ? acl : del;
        CHECK_EQ(cxl_conn_call(flood, i % 4 == 0 ? 1 : i % 4 == 3 ? 5 : 4, cmd, &rep, &len), 0);
        bad += !same("unauthenticated: refused", len && memmem(rep, len, "NOAUTH", 6) ? "refused" : (const char *)rep,
                     "refused");
        bad += !same("still the user", ring_fast(a, (uint16_t)(1 + i % CONNS), CXL_KV_GET, "k", NULL), "$1\r\nv\r\n");
    }
    CHECK_EQ(bad, 0);
    printf("400 refused ACL/CONFIG/EXEC: %lld checks, %lld connections looked at\n",
           stat_of(-1, "auth_checks") - checks, stat_of(-1, "auth_conns_examined") - examined);
    CHECK_EQ(stat_of(-1, "auth_conns_examined"), examined);
    /* a change while anyone floods EXEC is seen at the next request */
    CHECK(same("u2 re-passworded", ADMIN("ACL", "SETUSER", "u2", "resetpass", ">new2"), "+OK\r\n"));
    CHECK(starts("conn 2 at once", ring_fast(a, 2, CXL_KV_GET, "k", NULL), "-NOPERM"));
    CHECK(same("conn 14 at once", ring_fast(a, 14, CXL_KV_GET, "k", NULL), TCP_AS("guest", "x", "GET", "k")));
    CHECK(same("conn 13 stays", ring_fast(a, 13, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n"));
    if (flood)
        cxl_conn_close(flood);
    /* a deleted user's connections, and only those, go */
    CHECK(same("u11 deleted", ADMIN("ACL", "DELUSER", "u11"), ":1\r\n"));
    bad = 0;
    for (int c = 1; c <= CONNS; c++)
        bad += !same("after DELUSER", ring_fast(a, (uint16_t)c, CXL_KV_GET, "k", NULL),
                     c % USERS == 11 || c % USERS == 2 ? TCP_AS("guest", "x", "GET", "k") : "$1\r\nv\r\n");
    CHECK_EQ(bad, 0);
    CHECK_EQ(stat_of(-1, "auth_connections"), CONNS + 1 - 2 * CONNS / USERS);
    /* a user deleted in a transaction: its connections go too */
    struct cxl_conn *admin;
    CHECK_EQ(cxl_conn_open(redis.addr, NULL, &admin), 0);
    const char *aauth[] = {"AUTH", "adminpw"}, *multi[] = {"MULTI"}, *del10[] = {"ACL", "DELUSER", "u10"};
    CHECK(admin && cxl_conn_call(admin, 2, aauth, &rep, &len) == 0 && cxl_conn_call(admin, 1, multi, &rep, &len) == 0 &&
          cxl_conn_call(admin, 3, del10, &rep, &len) == 0);
    CHECK(same("u10 before EXEC", ring_fast(a, 10, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n"));
    CHECK(admin && cxl_conn_call(admin, 1, exec, &rep, &len) == 0 && len == 8 && memcmp(rep, "*1\r\n:1\r\n", 8) == 0);
    if (admin)
        cxl_conn_close(admin);
    CHECK(starts("conn 10 goes", get_until(a, 10, "-NOPERM"), "-NOPERM"));
    CHECK(same("conn 9 stays", ring_fast(a, 9, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n"));
    /* CONFIG SET requirepass is the default user's password */
    CHECK(same("conn 700 reads", ring_fast(a, 700, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n"));
    CHECK(same("new requirepass", ADMIN("CONFIG", "SET", "requirepass", "newpw"), "+OK\r\n"));
    CHECK(starts("conn 700 at once", ring_fast(a, 700, CXL_KV_GET, "k", NULL), "-NOPERM"));
    CHECK(same("conn 1 stays", ring_fast(a, 1, CXL_KV_GET, "k", NULL), "$1\r\nv\r\n"));
#undef ADMIN
    cxl_kv_close(a);
    stop();
}

static void test_replica(void)
{
    struct redis_proc master = {0};
    const char *margs[] = {path_arg, "map_size=16M", NULL};
    char mlogdir[320];
    snprintf(mlogdir, sizeof mlogdir, "%s", logdir);
    /* a plain Redis as the master (with the module on a medium of its own) */
    char mpath[300];
    snprintf(mpath, sizeof mpath, "path=%s.master", med.path);
    margs[0] = mpath;
    if (redis_start(&master, module, margs, mlogdir) != 0)
        return;
    char port[8];
    snprintf(port, sizeof port, "%u", master.port);
    const char *server[] = {"--replicaof", "127.0.0.1", port, NULL};
    if (start(server, NULL) == 0) {
        struct cxl_kv *kv = ring_open(0);
        if (kv) {
            const char *ro = "-READONLY You can't write against a read only replica.\r\n";
            CHECK(same("TCP SET on replica", TCP("SET", "k", "v"), ro));
            CHECK(same("ring SET", ring_fast(kv, 0, CXL_KV_SET, "k", "v"), ro));
            CHECK(same("ring DEL", ring_fast(kv, 0, CXL_KV_DEL, "k", NULL), ro));
            CHECK(same("ring CMD SET", RING(kv, 0, "SET", "k", "v"), ro));
            CHECK(same("ring INCR", RING(kv, 0, "INCR", "c"), ro));
            CHECK(same("ring GET", ring_fast(kv, 0, CXL_KV_GET, "k", NULL), "$-1\r\n"));
            cxl_kv_close(kv);
        }
        stop();
    }
    redis_stop(&master, SIGTERM);
    CHECK(!redis_sanitizer_report(&master));
    snprintf(mpath, sizeof mpath, "%s.master", med.path);
    unlink(mpath);
}

static void test_oom(void)
{
    if (start(NULL, NULL) != 0)
        return;
    struct cxl_kv *kv = ring_open(0);
    if (!kv)
        return stop();
    const char *compat = "return redis.call('set','k','v')", *flagged = "#!lua\nreturn redis.call('set','k','v')";
    const char *allow = "#!lua flags=allow-oom\nreturn redis.call('set','ok','v')";
    CHECK(same("a script", TCP("SCRIPT", "LOAD", compat), "$40\r\nd223ed8c7345b684e8ed044ed472601f536fa58b\r\n"));
    CHECK(same("a function", TCP("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('setk', "
                                 "function() return redis.call('set','k','v') end)"), "$3\r\nlib\r\n"));
    CHECK(same("maxmemory", TCP("CONFIG", "SET", "maxmemory", "1"), "+OK\r\n"));
    harness_sleep_ms(1100); /* the module reads the server's state once a second */
    const char *oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    /* scripts, before any TCP command (Redis's own check inside a script
     * reads the OOM state of the last TCP command): one without a shebang
     * is refused whole (over TCP its first write fails); with a shebang or
     * as a function, Redis's flags decide */
    CHECK(same("ring EVAL", RING(kv, 0, "EVAL", compat, "0"), oom));
    CHECK(same("ring EVALSHA", RING(kv, 0, "EVALSHA", "d223ed8c7345b684e8ed044ed472601f536fa58b", "0"), oom));
    CHECK(same("TCP SET", TCP("SET", "k", "v"), oom));
    CHECK(same("ring SET", ring_fast(kv, 0, CXL_KV_SET, "k", "v"), oom));
    CHECK(same("ring CMD SET", RING(kv, 0, "SET", "k", "v"), oom));
    CHECK(same("ring GET", ring_fast(kv, 0, CXL_KV_GET, "k", NULL), "$-1\r\n"));
    CHECK(same("ring DEL (not deny-oom)", ring_fast(kv, 0, CXL_KV_DEL, "k", NULL), ":0\r\n"));
    CHECK(same("ring EVAL #!lua", RING(kv, 0, "EVAL", flagged, "0"), TCP("EVAL", flagged, "0")));
    CHECK(starts("TCP EVAL", TCP("EVAL", compat, "0"), "-OOM command not allowed"));
    CHECK(same("ring EVAL allow-oom", RING(kv, 0, "EVAL", allow, "0"), "+OK\r\n"));
    CHECK(same("ring EVAL_RO", RING(kv, 0, "EVAL_RO", "return redis.call('get','k')", "0"), "$-1\r\n"));
    CHECK(same("ring FCALL", RING(kv, 0, "FCALL", "setk", "0"), TCP("FCALL", "setk", "0")));
    CHECK(same("no script wrote k", TCP("EXISTS", "k"), ":0\r\n"));
    CHECK(same("maxmemory off", TCP("CONFIG", "SET", "maxmemory", "0"), "+OK\r\n"));
    harness_sleep_ms(1100);
    CHECK(same("ring SET again", ring_fast(kv, 0, CXL_KV_SET, "k", "v"), "+OK\r\n"));
    cxl_kv_close(kv);
    stop();
}


static const struct harness_scenario scenarios[] = {
    {"protected", test_protected}, {"renamed", test_renamed}, {"noauth", test_noauth}, {"acl", test_acl},
    {"many_users", test_many_users}, {"replica", test_replica}, {"oom", test_oom},
};

int main(int argc, char **argv)
{
    return rights_main(argc, argv, "redis_rights", scenarios, sizeof scenarios / sizeof scenarios[0]);
}
