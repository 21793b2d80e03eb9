/* cluster_slot.c - the hash slot of a key (cxl/cluster.h), from the Redis
 * Cluster specification: CRC16-CCITT in its XModem form (polynomial 0x1021,
 * initial value 0, no reflection, no final xor) over the key or its hash
 * tag, modulo 16384. The table is built once, on first use. */
#include <pthread.h>

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
    size_t open = 0;
    while (open < len && k[open] != '{')
        open++;
    if (open == len)
        return;
    size_t close = open + 1;
    while (close < len && k[close] != '}')
        close++;
    if (close == len || close == open + 1)
        return;
    *off = open + 1;
    *n = close - open - 1;
}

uint16_t cxl_cluster_slot(const void *key, size_t len)
{
    pthread_once(&crc_once, crc_table_init);
    size_t off, n;
    hashed_part(key, len, &off, &n);
    return (uint16_t)(crc16_xmodem((const uint8_t *)key + off, n) & (CXL_CLUSTER_SLOTS - 1));
}
