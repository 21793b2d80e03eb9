/* kvproto.c - decoding and validation of KV requests, argv encoding
 * (docs/KV.md). Everything is bounded by the validated header copy. */
#include <inttypes.h>
#include <string.h>

#include "cxl/kvproto.h"

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v; /* the wire is little-endian, as are the hosts we build for */
}

static int decode_cmd(const struct cxl_msg_hdr *h, const uint8_t *payload,
                      struct cxl_kv_request *r)
{
    if (h->arg0 == 0 || h->arg0 > CXL_KV_MAX_ARGC)
        return cxl_fail(CXL_EPROTO, "CMD with argc %u (must be 1..%u)", h->arg0, CXL_KV_MAX_ARGC);
    uint64_t off = 0;
    for (uint32_t i = 0; i < h->arg0; i++) {
        if (h->len - off < 4)
            return cxl_fail(CXL_EPROTO, "CMD argument %u of %u: length field past the payload (%u bytes)",
                            i, h->arg0, h->len);
        uint32_t n = get_u32(payload + off);
        off += 4;
        if (n > h->len - off)
            return cxl_fail(CXL_EPROTO, "CMD argument %u of %u: length %u past the payload (%u bytes)",
                            i, h->arg0, n, h->len);
        off += n;
    }
    if (off != h->len)
        return cxl_fail(CXL_EPROTO, "CMD: %" PRIu64 " stray bytes after %u arguments", h->len - off, h->arg0);
    r->argc = h->arg0;
    r->args = payload;
    r->args_len = h->len;
    return 0;
}

int cxl_kv_decode_request(const struct cxl_msg_hdr *h, const uint8_t *payload,
                          struct cxl_kv_request *r)
{
    *r = (struct cxl_kv_request){.op = h->op, .conn = (uint16_t)(h->arg1 >> CXL_KV_CONN_SHIFT)};
    if (h->op < CXL_KV_GET || h->op > CXL_KV_CMD)
        return cxl_fail(CXL_EPROTO, "unknown op %u", h->op);
    uint32_t flags = h->arg1 & CXL_KV_ARG1_FLAGS;
    if (flags & ~(h->op == CXL_KV_SET ? CXL_KV_SET_F_EXPIRE : 0u))
        return cxl_fail(CXL_EPROTO, "%s: unknown flags 0x%x", cxl_kv_op_name(h->op), flags);
    switch (h->op) {
    case CXL_KV_GET:
    case CXL_KV_DEL:
        if (h->arg0 != h->len)
            return cxl_fail(CXL_EPROTO, "%s: key length %u but payload %u bytes", cxl_kv_op_name(h->op),
                            h->arg0, h->len);
        r->key = payload;
        r->klen = h->arg0;
        return 0;
    case CXL_KV_SET:
        if (h->arg0 > h->len)
            return cxl_fail(CXL_EPROTO, "SET: key length %u past the payload (%u bytes)", h->arg0, h->len);
        if ((h->arg1 & CXL_KV_SET_F_EXPIRE) && (h->arg2 == 0 || h->arg2 > (1ull << 46)))
            return cxl_fail(CXL_EPROTO, "SET: expiry %" PRIu64 " ms out of range", h->arg2);
        r->key = payload;
        r->klen = h->arg0;
        r->val = payload + h->arg0;
        r->vlen = h->len - h->arg0;
        r->expire_ms = (h->arg1 & CXL_KV_SET_F_EXPIRE) ? h->arg2 : 0;
        return 0;
    case CXL_KV_CMD:
        return decode_cmd(h, payload, r);
    default:
        return cxl_fail(CXL_EPROTO, "unknown op %u", h->op);
    }
}

void cxl_kv_args_init(struct cxl_kv_args *it, const struct cxl_kv_request *r)
{
    it->p = r->args;
    it->end = r->args + r->args_len;
    it->left = r->argc;
}

int cxl_kv_args_next(struct cxl_kv_args *it, const uint8_t **arg, uint32_t *len)
{
    if (it->left == 0)
        return 0;
    if (it->end - it->p < 4)
        return cxl_fail(CXL_EPROTO, "CMD argument length past the payload");
    uint32_t n = get_u32(it->p);
    it->p += 4;
    if (n > (uint64_t)(it->end - it->p))
        return cxl_fail(CXL_EPROTO, "CMD argument of %u bytes past the payload", n);
    *arg = it->p;
    *len = n;
    it->p += n;
    it->left--;
    return 1;
}

uint64_t cxl_kv_cmd_size(int argc, const size_t *argvlen)
{
    uint64_t n = 0;
    for (int i = 0; i < argc; i++)
        n += 4 + (uint64_t)argvlen[i];
    return n;
}

void cxl_kv_cmd_encode(uint8_t *dst, int argc, const char *const *argv, const size_t *argvlen)
{
    for (int i = 0; i < argc; i++) {
        uint32_t n = (uint32_t)argvlen[i];
        memcpy(dst, &n, 4);
        memcpy(dst + 4, argv[i], n);
        dst += 4 + n;
    }
}

const char *cxl_kv_op_name(uint16_t op)
{
    switch (op) {
    case CXL_KV_GET: return "GET";
    case CXL_KV_SET: return "SET";
    case CXL_KV_DEL: return "DEL";
    case CXL_KV_CMD: return "CMD";
    default: return "?";
    }
}

/* --- batches ------------------------------------------------------------------- */

uint32_t cxl_kv_record_put(uint8_t *dst, const struct cxl_msg_hdr *h, uint16_t idx, const void *data, uint32_t len)
{
    memcpy(dst, &h->op, 2);
    memcpy(dst + 2, &idx, 2);
    memcpy(dst + 4, &h->arg0, 4);
    memcpy(dst + 8, &h->arg1, 4);
    memcpy(dst + 12, &h->arg2, 8);
    memcpy(dst + 20, &len, 4);
    if (len && data != dst + CXL_KV_RECORD_HDR)
        memcpy(dst + CXL_KV_RECORD_HDR, data, len);
    return CXL_KV_RECORD_HDR + len;
}

int cxl_kv_record_next(const uint8_t **p, const uint8_t *end, struct cxl_msg_hdr *h, uint16_t *idx,
                       const uint8_t **data)
{
    const uint8_t *q = *p;
    if (q == end)
        return 0;
    if ((size_t)(end - q) < CXL_KV_RECORD_HDR)
        return cxl_fail(CXL_EPROTO, "batch: %zu bytes left, less than a record header", (size_t)(end - q));
    uint32_t len;
    memcpy(&h->op, q, 2);
    memcpy(idx, q + 2, 2);
    memcpy(&h->arg0, q + 4, 4);
    memcpy(&h->arg1, q + 8, 4);
    memcpy(&h->arg2, q + 12, 8);
    memcpy(&len, q + 20, 4);
    if (len > (size_t)(end - q) - CXL_KV_RECORD_HDR)
        return cxl_fail(CXL_EPROTO, "batch: record of %u bytes runs past the batch (%zu left)", len,
                        (size_t)(end - q) - CXL_KV_RECORD_HDR);
    h->len = len;
    *data = q + CXL_KV_RECORD_HDR;
    *p = q + CXL_KV_RECORD_HDR + len;
    return 1;
}
