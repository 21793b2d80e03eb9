/* cxl/util.h - small helpers every tool uses: validated number and size
 * parsing with messages that name the flag, hashing, randomness, host id. */
#ifndef CXL_UTIL_H
#define CXL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "4096", "64K", "1G", "0x1000", "1MiB" -> bytes. Errors name the flag. */
int cxl_parse_size(const char *flag, const char *text, uint64_t *out);

/* Decimal (or 0x hex) integer in [min, max]. Errors name the flag and range. */
int cxl_parse_u64(const char *flag, const char *text, uint64_t min, uint64_t max,
                  uint64_t *out);
int cxl_parse_u32(const char *flag, const char *text, uint32_t min, uint32_t max,
                  uint32_t *out);

/* Parse "HOST:PORT". host is copied into host[hostlen]. */
int cxl_parse_hostport(const char *flag, const char *text, char *host,
                       size_t hostlen, uint16_t *port);

/* FNV-1a 64-bit (non-cryptographic: integrity against accidents only). */
uint64_t cxl_fnv1a64(const void *data, size_t len);

/* Fill buf from the kernel's CSPRNG (getrandom). */
int cxl_random_bytes(void *buf, size_t len);

/* A 64-bit identifier of this boot of this host (hash of the boot id). */
uint64_t cxl_host_id(void);

#ifdef __cplusplus
}
#endif
#endif
