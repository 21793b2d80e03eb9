/* test_cluster_reply.c - the pod map (net/pod_map.h: fields, optional
 * fields in any order, errors naming file and line) and Redis Cluster
 * replies with pod nodes' addresses swapped for their gateways'
 * (net/cluster_reply.h): -MOVED/-ASK, and CLUSTER SLOTS, SHARDS, NODES,
 * REPLICAS as Debian's redis-server 7.0 wrote them for a 3-master cluster
 * (2026-12-03); then hostile replies (truncated at every byte, huge
 * counts, addresses longer than any buffer, deep nesting, random bytes):
 * never a crash, and what does not parse passes unchanged. */
#include <string.h>

#include "check.h"
#include "net/cluster_reply.h"
#include "net/resp.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static const char map_text[] =
    "# pod 1\n"
    "\n"
    "node 127.0.0.1:27100 medium /dev/shm/a.raw gateway 127.0.0.1:28100\n"
    "node 127.0.0.1:27101 ring 2 medium /dev/shm/b.raw offset 4096 gateway gw.example:8001\n"
    "  node 127.0.0.1:27103   medium /dev/shm/c.raw\t\n"; /* no gateway: keeps its address */

static struct cxl_pod_map map;

/* Rewrite in as kind; expect want (NULL: passes unchanged). */
static void expect(enum cxl_cluster_reply kind, const uint8_t *in, size_t len, const char *want, int line)
{
    struct cxl_buf out = cxl_buf_growable(CXL_BUF_GROWS);
    int rc = cxl_cluster_rewrite(kind, &map, in, len, &out);
    check_count++;
    int ok = want ? rc == 1 && cxl_buf_len(&out) == strlen(want) && memcmp(out.data + out.start, want, strlen(want)) == 0
                  : rc == 0;
    if (!ok) {
        check_failures++;
        fprintf(stderr, "line %d: rc %d, got '%.*s'\n   want '%s'\n", line, rc, (int)cxl_buf_len(&out),
                (const char *)out.data + out.start, want ? want : "(unchanged)");
    }
    cxl_buf_free(&out);
}
#define EXPECT(kind, lit, want) expect(kind, S(lit), want, __LINE__)

static void pod_map(void)
{
    CHECK_EQ(cxl_pod_map_parse("pod.map", map_text, sizeof map_text - 1, &map), 0);
    CHECK_EQ(map.n, 3);
    CHECK(strcmp(map.node[1].medium, "/dev/shm/b.raw") == 0);
    CHECK_EQ(map.node[1].ring, 2);
    CHECK_EQ(map.node[1].offset, 4096);
    CHECK_EQ(map.node[0].ring, -1);
    CHECK(strcmp(map.node[1].gateway.host, "gw.example") == 0 && map.node[1].gateway.port == 8001);
    CHECK_EQ(map.node[2].gateway.port, 0);
    CHECK(cxl_pod_map_find(&map, "127.0.0.1", 9, 27101) == &map.node[1]);
    CHECK(cxl_pod_map_find(&map, "127.0.0.1", 9, 27102) == NULL);
    struct cxl_pod_map bad;
    static const struct {
        const char *text, *says;
    } bads[] = {
        {"node 127.0.0.1:1 medium /m\nnode x\n", "m.map:2: node: 'x' is not HOST:PORT"},
        {"node 127.0.0.1:1\n", "m.map:1: no medium for node 127.0.0.1:1"},
        {"\n\nnode h:1 medium /m gateway\n", "m.map:3: a field without its value: gateway"},
        {"node h:1 medium /m colour blue\n", "m.map:1: unknown field colour"},
        {"node h:1 medium /m gateway h:99999\n", "m.map:1: gateway"},
        {"node h:1 medium /m ring x\n", "m.map:1: ring"},
        {"host h:1 medium /m\n", "m.map:1: a line starts with 'node', not host"},
        {"node h:1 medium /m\nnode H:1 medium /n\n", "m.map:2: node listed twice: H:1"},
        {"node h:1 medium /m\0x\n", "m.map:1: a NUL byte"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        size_t len = strlen(bads[i].text) + (strstr(bads[i].says, "NUL") ? 3 : 0);
        CHECK_FAILS(cxl_pod_map_parse("m.map", bads[i].text, len, &bad), CXL_EINVAL, bads[i].says);
        CHECK(bad.n == 0 && bad.node == NULL);
    }
    char huge[CXL_POD_LINE_MAX + 64];
    memset(huge, 'a', sizeof huge);
    memcpy(huge, "node ", 5);
    CHECK_FAILS(cxl_pod_map_parse("m.map", huge, sizeof huge, &bad), CXL_EINVAL, "m.map:1: line too long");
    char longhost[600];
    snprintf(longhost, sizeof longhost, "node %0300d:1 medium /m\n", 0);
    CHECK_FAILS(cxl_pod_map_parse("m.map", longhost, strlen(longhost), &bad), CXL_EINVAL, "too long");
    CHECK_FAILS(cxl_pod_map_load("/nonexistent/pod.map", &bad), CXL_ESYS, "pod map /nonexistent/pod.map");
}

static void redirects(void)
{
    EXPECT(CXL_CLUSTER_ANY, "-MOVED 15495 127.0.0.1:27100\r\n", "-MOVED 15495 127.0.0.1:28100\r\n");
    EXPECT(CXL_CLUSTER_ANY, "-ASK 3 127.0.0.1:27101\r\n", "-ASK 3 gw.example:8001\r\n");
    EXPECT(CXL_CLUSTER_SLOTS, "-MOVED 1 127.0.0.1:27101\r\n", "-MOVED 1 gw.example:8001\r\n");
    EXPECT(CXL_CLUSTER_ANY, "-MOVED 15495 127.0.0.1:27102\r\n", NULL); /* not in the pod */
    EXPECT(CXL_CLUSTER_ANY, "-MOVED 15495 127.0.0.1:27103\r\n", NULL); /* no gateway */
    EXPECT(CXL_CLUSTER_ANY, "-MOVED 15495 127.0.0.1:271000\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "-MOVED 15495 127.0.0.1:27100 x\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "-MOVED x 127.0.0.1:27100\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "-MOVED  127.0.0.1:27100\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "-MOVED 1 :27100\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "-ERR MOVED 1 127.0.0.1:27100\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "-moved 1 127.0.0.1:27100\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "-MOVED 1 127.0.0.1:27100\r\n+OK\r\n", NULL); /* not one reply */
    EXPECT(CXL_CLUSTER_ANY, "+MOVED 1 127.0.0.1:27100\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "$5\r\nhello\r\n", NULL);
}

static const char slots[] =
    "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:27100\r\n$40\r\n81fdd0562fe46397ec5adb1b7c6b6a4c0de3eded\r\n"
    "*0\r\n*3\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:27101\r\n$40\r\neae026adc5d61fbfb03559a50d47df186446ceeb"
    "\r\n*0\r\n*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:27102\r\n$40\r\n3d9dbc3e0c3e12919fa99357ed4bad58b6b"
    "83db5\r\n*0\r\n";
static const char slots_gw[] =
    "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:28100\r\n$40\r\n81fdd0562fe46397ec5adb1b7c6b6a4c0de3eded\r\n"
    "*0\r\n*3\r\n:5461\r\n:10922\r\n*4\r\n$10\r\ngw.example\r\n:8001\r\n$40\r\neae026adc5d61fbfb03559a50d47df186446ceeb"
    "\r\n*0\r\n*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:27102\r\n$40\r\n3d9dbc3e0c3e12919fa99357ed4bad58b6b"
    "83db5\r\n*0\r\n";

static const char shards[] =
    "*2\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$3\r\nccc\r\n"
    "$4\r\nport\r\n:27102\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster"
    "\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*1\r\n*16\r\n$2\r\nid\r\n$3\r\naaa\r\n"
    "$4\r\nport\r\n:27100\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$8\r\nhostname\r\n$2\r\nh1"
    "\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";
static const char shards_gw[] =
    "*2\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$3\r\nccc\r\n"
    "$4\r\nport\r\n:27102\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster"
    "\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*1\r\n*16\r\n$2\r\nid\r\n$3\r\naaa\r\n"
    "$4\r\nport\r\n:28100\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$8\r\nhostname\r\n$9\r\n"
    "127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

static const char nodes[] =
    "$229\r\nccc 127.0.0.1:27102@37102 master - 0 1796321951066 3 connected 10923-16383\n"
    "aaa 127.0.0.1:27100@37100 myself,master - 0 1796321950000 1 connected 0-5460\n"
    "bbb 127.0.0.1:27101@37101,h2 master - 0 1796321951066 2 connected 5461-10922\n\r\n";
static const char nodes_gw[] =
    "$229\r\nccc 127.0.0.1:27102@37102 master - 0 1796321951066 3 connected 10923-16383\n"
    "aaa 127.0.0.1:28100@37100 myself,master - 0 1796321950000 1 connected 0-5460\n"
    "bbb gw.example:8001@37101,h2 master - 0 1796321951066 2 connected 5461-10922\n\r\n";

static void cluster_commands(void)
{
    const char *argv[] = {"cluster", "Slots"};
    size_t len[] = {7, 5};
    CHECK_EQ(cxl_cluster_reply_kind(2, argv, len), CXL_CLUSTER_SLOTS);
    argv[1] = "myid";
    len[1] = 4;
    CHECK_EQ(cxl_cluster_reply_kind(2, argv, len), CXL_CLUSTER_ANY);
    argv[1] = "REPLICAS";
    len[1] = 8;
    CHECK_EQ(cxl_cluster_reply_kind(2, argv, len), CXL_CLUSTER_NODES);
    CHECK_EQ(cxl_cluster_reply_kind(1, argv, len), CXL_CLUSTER_ANY);

    expect(CXL_CLUSTER_SLOTS, S(slots), slots_gw, __LINE__);
    expect(CXL_CLUSTER_SHARDS, S(shards), shards_gw, __LINE__);
    expect(CXL_CLUSTER_NODES, S(nodes), nodes_gw, __LINE__);
    /* CLUSTER REPLICAS: an array of lines */
    EXPECT(CXL_CLUSTER_NODES, "*2\r\n$23\r\nddd 127.0.0.1:27101@1 x\r\n$23\r\neee 127.0.0.1:27102@2 y\r\n",
           "*2\r\n$23\r\nddd gw.example:8001@1 x\r\n$23\r\neee 127.0.0.1:27102@2 y\r\n");
    EXPECT(CXL_CLUSTER_NODES, "*0\r\n", "*0\r\n");
    EXPECT(CXL_CLUSTER_NODES, "$0\r\n\r\n", "$0\r\n\r\n");
    EXPECT(CXL_CLUSTER_NODES, "$9\r\nnospace\n\n\r\n", "$9\r\nnospace\n\n\r\n");
    /* replies of other shapes than expected pass unchanged */
    EXPECT(CXL_CLUSTER_SLOTS, "$5\r\nhello\r\n", NULL);
    EXPECT(CXL_CLUSTER_SLOTS, "*1\r\n:1\r\n", NULL);
    EXPECT(CXL_CLUSTER_SLOTS, "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:1\r\n:2\r\n", NULL);
    EXPECT(CXL_CLUSTER_SLOTS, "*-1\r\n", NULL);
    EXPECT(CXL_CLUSTER_SHARDS, "*1\r\n*3\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n", NULL);
    EXPECT(CXL_CLUSTER_SHARDS, "*1\r\n*2\r\n$5\r\nnodes\r\n*1\r\n*1\r\n$2\r\nip\r\n", NULL);
    EXPECT(CXL_CLUSTER_NODES, ":1\r\n", NULL);
    EXPECT(CXL_CLUSTER_ANY, "*1\r\n$9\r\n127.0.0.1\r\n", NULL);
    /* a slots node without a port, a port out of range: copied as they are */
    EXPECT(CXL_CLUSTER_SLOTS, "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$9\r\n127.0.0.1\r\n:99999\r\n",
           "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$9\r\n127.0.0.1\r\n:99999\r\n");
}

/* Every prefix of a reply (a truncated reply): unchanged, no crash. */
static void truncated(enum cxl_cluster_reply kind, const char *reply, size_t len)
{
    struct cxl_buf out = cxl_buf_growable(CXL_BUF_GROWS);
    int bad = 0;
    for (size_t n = 0; n < len; n++) {
        out.start = out.end = 0;
        bad += cxl_cluster_rewrite(kind, &map, (const uint8_t *)reply, n, &out) != 0;
    }
    CHECK_EQ(bad, 0);
    cxl_buf_free(&out);
}

static void hostile(void)
{
    truncated(CXL_CLUSTER_SLOTS, slots, sizeof slots - 1);
    truncated(CXL_CLUSTER_SHARDS, shards, sizeof shards - 1);
    truncated(CXL_CLUSTER_NODES, nodes, sizeof nodes - 1);
    truncated(CXL_CLUSTER_ANY, "-MOVED 1 127.0.0.1:27100\r\n", 26);
    /* huge counts */
    EXPECT(CXL_CLUSTER_SLOTS, "*2147483647\r\n*3\r\n:0\r\n:1\r\n*2\r\n$9\r\n127.0.0.1\r\n:27100\r\n", NULL);
    EXPECT(CXL_CLUSTER_SLOTS, "*99999999999\r\n", NULL);
    EXPECT(CXL_CLUSTER_SHARDS, "*1\r\n*2147483646\r\n$5\r\nnodes\r\n*2147483647\r\n", NULL);
    EXPECT(CXL_CLUSTER_NODES, "$536870913\r\nabc\r\n", NULL);
    EXPECT(CXL_CLUSTER_NODES, "*2147483647\r\n$1\r\na\r\n", NULL);
    /* addresses longer than any buffer */
    static char big[1 << 17];
    size_t host = sizeof big - 200;
    int n = snprintf(big, sizeof big, "-MOVED 1 ");
    memset(big + n, 'h', host);
    n += (int)host;
    n += snprintf(big + n, sizeof big - (size_t)n, ":27100\r\n");
    expect(CXL_CLUSTER_ANY, (const uint8_t *)big, (size_t)n, NULL, __LINE__);
    n = snprintf(big, sizeof big, "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$%zu\r\n", host);
    memset(big + n, 'h', host);
    n += (int)host;
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\n:27100\r\n");
    struct cxl_buf out = cxl_buf_growable(CXL_BUF_GROWS);
    CHECK_EQ(cxl_cluster_rewrite(CXL_CLUSTER_SLOTS, &map, (const uint8_t *)big, (size_t)n, &out), 1);
    CHECK(cxl_buf_len(&out) == (size_t)n && memcmp(out.data + out.start, big, (size_t)n) == 0);
    /* a line of CLUSTER NODES whose address field is longer than any buffer */
    out.start = out.end = 0;
    n = snprintf(big, sizeof big, "$%zu\r\nid ", host + 3 + 6);
    memset(big + n, '1', host);
    n += (int)host;
    n += snprintf(big + n, sizeof big - (size_t)n, ":27100\r\n");
    CHECK_EQ(cxl_cluster_rewrite(CXL_CLUSTER_NODES, &map, (const uint8_t *)big, (size_t)n, &out), 1);
    CHECK(cxl_buf_len(&out) == (size_t)n && memcmp(out.data + out.start, big, (size_t)n) == 0);
    /* nested deeper than the parser goes */
    n = 0;
    for (int i = 0; i < 100; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "*1\r\n");
    n += snprintf(big + n, sizeof big - (size_t)n, ":1\r\n");
    for (enum cxl_cluster_reply k = CXL_CLUSTER_ANY; k <= CXL_CLUSTER_NODES; k++)
        expect(k, (const uint8_t *)big, (size_t)n, NULL, __LINE__);
    /* random bytes, and the real replies with random bytes flipped */
    uint32_t seed = 12345;
    int rewritten_bad = 0;
    for (int round = 0; round < 20000; round++) {
        const char *base = round % 3 == 0 ? slots : round % 3 == 1 ? shards : nodes;
        size_t blen = strlen(base);
        memcpy(big, base, blen);
        for (int f = 0; f < 1 + round % 4; f++) {
            seed = seed * 1103515245u + 12345u;
            big[(seed >> 8) % blen] = (char)(seed >> 24);
        }
        out.start = out.end = 0;
        int rc = cxl_cluster_rewrite((enum cxl_cluster_reply)(1 + round % 3), &map, (const uint8_t *)big, blen, &out);
        /* whatever it returns, what it wrote is one complete reply */
        if (rc == 1 && cxl_resp_reply_size(out.data + out.start, cxl_buf_len(&out)) != (int64_t)cxl_buf_len(&out))
            rewritten_bad++;
    }
    CHECK_EQ(rewritten_bad, 0);
    cxl_buf_free(&out);
    CHECK_EQ(cxl_cluster_rewrite(CXL_CLUSTER_SLOTS, NULL, S(slots), &out), 0);
    CHECK_EQ(cxl_cluster_rewrite(CXL_CLUSTER_SLOTS, &map, NULL, 0, &out), 0);
}

int main(void)
{
    pod_map();
    redirects();
    cluster_commands();
    hostile();
    cxl_pod_map_free(&map);
    return check_summary("test_cluster_reply");
}
