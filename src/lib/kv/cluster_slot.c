/* cluster_slot.c - the hash slot of a key (cxl/cluster.h), from the Redis
 * Cluster specification: CRC16-CCITT in its XModem form (polynomial 0x1021,
 * initial value 0, no reflection, no final xor) over the key or its hash
 * tag, modulo 16384. The table is built once, on first use. */
#include <pthread.h>
#include <string.h>

#include "cxl/cluster.h"

static uint16_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++)
            c = (uint16_t)(c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1);
        crc_table[i] = c;
    }
}

static uint16_t crc16_xmodem(const uint8_t *p, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)((crc << 8) ^ crc_table[((crc >> 8) ^ p[i]) & 0xff]);
    return crc;
}

/* The part of the key that is hashed: its hash tag if it has a non-empty
 * one ("{" then at least one byte before the next "}"), else all of it. */
static void hashed_part(const uint8_t *k, size_t len, size_t *off, size_t *n)
{
    *off = 0;
    *n = len;
    const uint8_t *open = len ? memchr(k, '{', len) : NULL; /* (k may be NULL when len is 0) */
    if (!open)
        return;
    size_t after = len - (size_t)(open - k) - 1;
    const uint8_t *close = memchr(open + 1, '}', after);
    if (!close || close == open + 1)
        return;
    *off = (size_t)(open - k) + 1;
    *n = (size_t)(close - open) - 1;
}

uint16_t cxl_cluster_slot(const void *key, size_t len)
{
    pthread_once(&crc_once, crc_table_init);
    size_t off, n;
    hashed_part(key, len, &off, &n);
    return (uint16_t)(crc16_xmodem((const uint8_t *)key + off, n) & (CXL_CLUSTER_SLOTS - 1));
}
