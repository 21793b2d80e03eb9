/* test_cluster.c - cxl_cluster_slot (cxl/cluster.h) against the slots
 * Debian's redis-server 7.0 gave for the same keys (CLUSTER KEYSLOT on a
 * node started with --cluster-enabled yes, 2026-12-03): hash tags, empty
 * tags, unclosed braces, binary keys; and CRC16/XModem's check value. */
#include <string.h>

#include "check.h"
#include "cxl/cluster.h"

struct vec {
    const char *key;
    size_t len;
    uint16_t slot;
};

#define V(s, slot) {s, sizeof(s) - 1, slot}
static const struct vec redis_says[] = {
    V("", 0),
    V("a", 15495),
    V("somekey", 11058),
    V("foo{hash_tag}", 2515),
    V("bar{hash_tag}", 2515),
    V("{}", 15257),          /* an empty tag: the whole key */
    V("{}x", 10595),
    V("x{}", 2608),
    V("{a}", 15495),         /* the tag alone: as "a" */
    V("a{b}c{d}", 3300),     /* the first tag */
    V("{", 4092),
    V("}", 12090),
    V("}{", 12793),
    V("{user1000}.following", 3443),
    V("{user1000}.followers", 3443),
    V("123456789", 12739),   /* CRC16/XModem check value 0x31c3 */
    V("user:1:name", 12440),
    V("{{x}}", 11068),       /* the tag is "{x" */
    V("a{}{b}", 15033),      /* the first '{' starts an empty tag: the whole key */
    V("key with spaces", 13638),
    V("\\xff\\xfe", 7568),   /* the eight characters, not two bytes */
    V("bin\0key", 8844),     /* a NUL inside */
};

int main(void)
{
    for (size_t i = 0; i < sizeof redis_says / sizeof redis_says[0]; i++) {
        const struct vec *v = &redis_says[i];
        CHECK_EQ(cxl_cluster_slot(v->key, v->len), v->slot); /* redis_says[i] */
    }
    CHECK(cxl_cluster_slot(NULL, 0) == 0);
    /* every slot is below 16384, and keys sharing a tag share a slot */
    char k[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(k, sizeof k, "{t%d}:%d", i % 97, i);
        int m = snprintf(k + 16, 16, "t%d", i % 97);
        CHECK(cxl_cluster_slot(k, (size_t)n) < CXL_CLUSTER_SLOTS);
        CHECK(cxl_cluster_slot(k, (size_t)n) == cxl_cluster_slot(k + 16, (size_t)m));
    }
    return check_summary("test_cluster");
}
