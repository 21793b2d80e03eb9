/* test_kv_cluster_map.c - the cluster client's parsers (net/kv_cluster_map.h):
 * pod map files good and bad (each error names the file and line), a
 * CLUSTER SLOTS reply as redis-server 7.0 gives it (with replicas, and an
 * empty host), COMMAND INFO replies, and the redirection errors. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "net/kv_cluster_map.h"
#include "net/pod_map.h"

static const char *write_map(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_pod_map_%d", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void pod_maps(void)
{
    struct cxl_pod_map m;
    const char *p = write_map("# pod 1\n\nnode 127.0.0.1:7000 medium /dev/shm/a.raw\n"
                              "  node 10.0.0.2:7001 medium /dev/shm/b.raw offset 4096 ring 3  # comment\n");
    CHECK_EQ(cxl_pod_map_load(p, &m), 0);
    CHECK_EQ(m.n, 2);
    const struct cxl_pod_node *n = cxl_pod_map_find_addr(&m, "10.0.0.2:7001");
    CHECK(n && strcmp(n->medium, "/dev/shm/b.raw") == 0 && n->offset == 4096 && n->ring == 3);
    n = cxl_pod_map_find_addr(&m, "127.0.0.1:7000");
    CHECK(n && n->ring == -1 && n->offset == 0);
    CHECK(cxl_pod_map_find_addr(&m, "127.0.0.1:7002") == NULL);
    CHECK(cxl_pod_map_find_addr(&m, "127.0.0.1") == NULL);
    cxl_pod_map_free(&m);

    static const struct {
        const char *text, *says;
    } bad[] = {
        {"node 127.0.0.1:7000\n", ":1: no medium for node 127.0.0.1:7000"},
        {"\nnode 127.0.0.1 medium /x\n", ":2: node"},
        {"node 127.0.0.1:0 medium /x\n", ":1: node"},
        {"nod 127.0.0.1:7000 medium /x\n", ":1: a line starts with 'node', not nod"},
        {"node 127.0.0.1:7000 medium /x ring\n", "a field without its value: ring"},
        {"node 127.0.0.1:7000 medium /x ring -1\n", "ring"},
        {"node 127.0.0.1:7000 medium /x offset 1k\n", "offset"},
        {"node 127.0.0.1:7000 medium /x colour red\n", "unknown field colour"},
        {"node 127.0.0.1:7000 medium /x\nnode 127.0.0.1:7000 medium /y\n", ":2: node listed twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = write_map(bad[i].text);
        CHECK_FAILS(cxl_pod_map_load(p, &m), CXL_EINVAL, bad[i].says);
        CHECK_FAILS(cxl_pod_map_load(p, &m), CXL_EINVAL, p);
    }
    unlink(p);
    CHECK_FAILS(cxl_pod_map_load("/nonexistent/pod.map", &m), CXL_ESYS, "pod map /nonexistent/pod.map");
}

struct ranges {
    int n;
    uint32_t first[4], last[4];
    char addr[4][64];
};

static int add_range(void *ctx, uint32_t first, uint32_t last, const char *host, size_t hlen, int port,
                     const char *id, size_t idlen)
{
    (void)id, (void)idlen;
    struct ranges *r = ctx;
    if (r->n < 4) {
        r->first[r->n] = first, r->last[r->n] = last;
        snprintf(r->addr[r->n], 64, "%.*s:%d", (int)hlen, host, port);
        r->n++;
    }
    return 0;
}

static void cluster_slots(void)
{
    static const char rep[] =
        "*2\r\n"
        "*4\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$4\r\nid-a\r\n*0\r\n"
        "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$4\r\nid-d\r\n"
        "*3\r\n:5461\r\n:16383\r\n*3\r\n$0\r\n\r\n:7001\r\n$4\r\nid-b\r\n";
    struct ranges r = {0};
    CHECK_EQ(cxl_cluster_slots_parse((const uint8_t *)rep, sizeof rep - 1, add_range, &r), 0);
    CHECK_EQ(r.n, 2);
    CHECK(r.first[0] == 0 && r.last[0] == 5460 && strcmp(r.addr[0], "127.0.0.1:7000") == 0);
    CHECK(r.first[1] == 5461 && r.last[1] == 16383 && strcmp(r.addr[1], ":7001") == 0);
    static const char err[] = "-ERR This instance has cluster support disabled\r\n";
    CHECK_FAILS(cxl_cluster_slots_parse((const uint8_t *)err, sizeof err - 1, add_range, &r), CXL_EPROTO,
                "cluster support disabled");
    static const char bad[] = "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n";
    CHECK_FAILS(cxl_cluster_slots_parse((const uint8_t *)bad, sizeof bad - 1, add_range, &r), CXL_EPROTO,
                "CLUSTER SLOTS");
    CHECK_FAILS(cxl_cluster_slots_parse((const uint8_t *)rep, 20, add_range, &r), CXL_EPROTO, "CLUSTER SLOTS");
}

static void command_info(void)
{
    static const char get[] = "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
                              "*0\r\n*0\r\n*0\r\n*0\r\n";
    static const char unknown[] = "*1\r\n*-1\r\n";
    int f, l, s;
    CHECK_EQ(cxl_command_info_parse((const uint8_t *)get, sizeof get - 1, &f, &l, &s), 0);
    CHECK(f == 1 && l == 1 && s == 1);
    CHECK_EQ(cxl_command_info_parse((const uint8_t *)unknown, sizeof unknown - 1, &f, &l, &s), 0);
    CHECK(f == 0 && l == 0 && s == 0);
    CHECK_FAILS(cxl_command_info_parse((const uint8_t *)"+OK\r\n", 5, &f, &l, &s), CXL_EPROTO, "COMMAND INFO");
}

static void redirects(void)
{
    uint32_t slot = 0;
    char addr[CXL_NODE_ADDR_MAX];
#define R(s) cxl_redirect_parse((const uint8_t *)(s), sizeof(s) - 1, &slot, addr, sizeof addr)
    CHECK_EQ(R("MOVED 3999 127.0.0.1:7001"), CXL_REDIR_MOVED);
    CHECK(slot == 3999 && strcmp(addr, "127.0.0.1:7001") == 0);
    CHECK_EQ(R("ASK 12 10.0.0.1:7002\r\n"), CXL_REDIR_ASK);
    CHECK(slot == 12 && strcmp(addr, "10.0.0.1:7002") == 0);
    CHECK_EQ(R("MOVED 5 :7003"), CXL_REDIR_MOVED);
    CHECK(strcmp(addr, ":7003") == 0);
    CHECK_EQ(R("TRYAGAIN Multiple keys request during rehashing of slot"), CXL_REDIR_TRYAGAIN);
    CHECK_EQ(R("CLUSTERDOWN The cluster is down"), CXL_REDIR_DOWN);
    CHECK_EQ(R("MOVED 16384 127.0.0.1:7001"), CXL_REDIR_NONE);
    CHECK_EQ(R("MOVED x 127.0.0.1:7001"), CXL_REDIR_NONE);
    CHECK_EQ(R("MOVED 3"), CXL_REDIR_NONE);
    CHECK_EQ(R("CROSSSLOT Keys in request don't hash to the same slot"), CXL_REDIR_NONE);
    CHECK_EQ(R("ERR wrong number of arguments"), CXL_REDIR_NONE);
#undef R
}

int main(void)
{
    pod_maps();
    cluster_slots();
    command_info();
    redirects();
    return check_summary("test_kv_cluster_map");
}
