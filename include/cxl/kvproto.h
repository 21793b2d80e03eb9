/* cxl/kvproto.h - the KV protocol carried in ring messages (docs/KV.md):
 * opcodes, statuses, request decoding with validation, argv encoding. */
#ifndef CXL_KVPROTO_H
#define CXL_KVPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "cxl/ring.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_KV_PROTO_VERSION 1u

enum cxl_kv_op { CXL_KV_GET = 1, CXL_KV_SET = 2, CXL_KV_DEL = 3, CXL_KV_CMD = 4 };

enum cxl_kv_status {
    CXL_KV_OK = 0,    /* GET hit (payload = value), SET done */
    CXL_KV_NIL = 1,   /* GET miss */
    CXL_KV_ERR = 2,   /* payload = error text */
    CXL_KV_REPLY = 3, /* payload = RESP2 reply bytes of a CMD */
    CXL_KV_INT = 4,   /* arg2 = integer (DEL count) */
};

#define CXL_KV_SET_F_EXPIRE 0x1u  /* request arg1: arg2 holds a TTL in ms */
/* Request arg1, bits 16..31: the connection the request comes from, inside
 * the ring's client (a gateway multiplexes many); 0 = the ring's own. The
 * server keeps an identity (Redis ACL user) per connection: AUTH, HELLO AUTH
 * and RESET change that connection's only (docs/KV.md, "Identity"). */
#define CXL_KV_CONN_SHIFT 16u
#define CXL_KV_MAX_CONN 0xffffu
#define CXL_KV_ARG1_FLAGS 0xffffu
#define CXL_KV_RESP_F_RESYNC 0x1u /* response arg1: requests before ref dropped */
#define CXL_KV_RESP_F_BATCH 0x2u  /* response arg1: the error answers every request of the batch at ref */
#define CXL_KV_MAX_ARGC (1u << 20)

/* A request as the server sees it after validation. Pointers go into the
 * message payload; lengths come from the validated private header. */
struct cxl_kv_request {
    uint16_t op;
    uint16_t conn;        /* connection inside the ring's client (arg1 >> 16) */
    const uint8_t *key;
    uint32_t klen;
    const uint8_t *val;   /* SET */
    uint32_t vlen;
    uint64_t expire_ms;   /* SET with CXL_KV_SET_F_EXPIRE, else 0 */
    uint32_t argc;        /* CMD */
    const uint8_t *args;  /* CMD: argc x (u32 length, bytes) */
    uint32_t args_len;
    /* Where it came from, filled by the serving engine (not decoded): */
    uint32_t ring;
    uint32_t session;     /* the ring's claim generation (a new claim is a new client) */
    uint16_t node;        /* node id of the ring's owner, as the claim recorded it */
};

/* Validate a request message and fill r. CXL_EPROTO with a message that says
 * what is wrong (unknown op, key length past the payload, bad argv ...). */
int cxl_kv_decode_request(const struct cxl_msg_hdr *h, const uint8_t *payload,
                          struct cxl_kv_request *r);

/* Walk the arguments of a CMD request. Bounds are checked again on every step
 * (the payload lives in the shared medium and may change under the reader). */
struct cxl_kv_args {
    const uint8_t *p, *end;
    uint32_t left;
};
void cxl_kv_args_init(struct cxl_kv_args *it, const struct cxl_kv_request *r);
/* 1 = an argument, 0 = done, CXL_EPROTO = malformed */
int cxl_kv_args_next(struct cxl_kv_args *it, const uint8_t **arg, uint32_t *len);

/* Client side: payload bytes an argv needs, and its encoding. */
uint64_t cxl_kv_cmd_size(int argc, const size_t *argvlen);
void cxl_kv_cmd_encode(uint8_t *dst, int argc, const char *const *argv, const size_t *argvlen);

/* Batches (secure rings; docs/KV.md "Batches"): the plaintext of a sealed
 * message is a sequence of records, each a request's (or a reply's) op,
 * arguments and data: op u16 | idx u16 | arg0 u32 | arg1 u32 | arg2 u64 |
 * len u32 | len bytes. idx is a request's index in its batch, and in a reply
 * the index of the request it answers; a batch holds at most
 * CXL_KV_BATCH_MAX records. */
#define CXL_KV_RECORD_HDR 24u
#define CXL_KV_BATCH_MAX 65535u
/* Write a record of h's op and arguments, idx and data at dst; its size. */
uint32_t cxl_kv_record_put(uint8_t *dst, const struct cxl_msg_hdr *h, uint16_t idx, const void *data, uint32_t len);
/* The next record of a private batch [*p, end): 1 = h's op, arguments and
 * len, *idx set and *data pointing at its bytes, *p moved past it; 0 = the
 * batch is done; CXL_EPROTO = a record running past the end. */
int cxl_kv_record_next(const uint8_t **p, const uint8_t *end, struct cxl_msg_hdr *h, uint16_t *idx,
                       const uint8_t **data);

/* A name for diagnostics. */
const char *cxl_kv_op_name(uint16_t op);

#ifdef __cplusplus
}
#endif
#endif
