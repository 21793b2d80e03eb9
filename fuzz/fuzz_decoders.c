/* fuzz_decoders.c - every decoder of bytes that come from another party:
 * KV requests (kvproto: header fields + payload from the medium), RESP
 * replies (from Redis or a socket), the manager's request and reply bodies,
 * and a sealed message's opening (tag, epoch and window checks on attacker
 * bytes). The first input byte picks the decoder. Each must return an error
 * or a result that stays inside its input; ASan/UBSan watch the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/kvproto.h"
#include "net/resp.h"
#include "net/resp_request.h"
#include "sec/seal.h"
#include "sec/sec.h"

static void kv_request(const uint8_t *d, size_t n)
{
    struct cxl_msg_hdr h; /* the wire header codec first, as the ring layer runs it */
    uint32_t hs = cxl_msg_decode(d, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, &h);
    if (hs == 0)
        return;
    if (hs < CXL_MSG_HDR_FIXED || hs > CXL_MSG_HDR_MAX || hs > n || cxl_msg_hdr_size(&h) > hs)
        abort();
    /* re-encoded and decoded again: the same header (a field sent as zero is
     * left out of the canonical encoding, so the bytes may be shorter) */
    uint8_t again[CXL_MSG_HDR_MAX];
    struct cxl_msg_hdr h2;
    uint32_t hs2 = cxl_msg_encode(&h, again);
    if (hs2 != cxl_msg_hdr_size(&h) || cxl_msg_decode(again, hs2, &h2) != hs2 || memcmp(&h, &h2, sizeof h) != 0)
        abort();
    const uint8_t *payload = d + hs;
    size_t plen = n - hs;
    h.len = (uint32_t)plen; /* the ring layer guarantees len bytes are there */
    struct cxl_kv_request r;
    if (cxl_kv_decode_request(&h, payload, &r) != 0)
        return;
    if (r.klen > plen || (r.val && r.val + r.vlen > payload + plen))
        abort();
    if (r.op == CXL_KV_CMD) {
        struct cxl_kv_args it;
        const uint8_t *a;
        uint32_t len, count = 0;
        cxl_kv_args_init(&it, &r);
        int rc;
        while ((rc = cxl_kv_args_next(&it, &a, &len)) == 1) {
            if (a < payload || a + len > payload + plen)
                abort();
            count++;
        }
        if (rc == 0 && count != r.argc)
            abort();
    }
}

static void resp_reply(const uint8_t *d, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees over-reads */
    memcpy(copy, d, n);
    int64_t size = cxl_resp_reply_size(copy, n);
    if (size > (int64_t)n)
        abort();
    static FILE *null;
    if (!null)
        null = fopen("/dev/null", "w");
    if (size > 0) {
        cxl_resp_print(null, copy, (size_t)size, 0);
        cxl_resp_print(null, copy, (size_t)size, 1);
    }
    free(copy);
}

static void sec_messages(const uint8_t *d, size_t n)
{
    struct cxl_sec_request req;
    cxl_sec_request_parse(d, n, &req);
    struct cxl_region_keys k;
    if (cxl_sec_reply_keys_parse(d, n, "fuzz", &k) == 0)
        cxl_region_keys_wipe(&k);
}

static void sealed(const uint8_t *d, size_t n)
{
    static struct cxl_seal s;
    static int ready;
    if (!ready) {
        uint8_t key[32] = {1};
        struct cxl_seal_binding b = {.format_id = 42, .ring = 0, .dir = CXL_REQ, .gen = 1, .node = 0,
                                     .client_session = {2}, .server_nonce = {3}};
        if (cxl_seal_derive(&s, CXL_CIPHER_XCHACHA, key, 1, &b) != 0)
            abort();
        ready = 1;
    }
    struct cxl_msg m;
    uint32_t hs = cxl_msg_decode(d, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, &m.hdr);
    if (hs == 0)
        return;
    m.payload = d + hs;
    m.hdr.len = (uint32_t)(n - hs);
    uint8_t *out = malloc(m.hdr.len + 1);
    s.next = 0;
    if (cxl_open_msg(&s, &m, out) == 0) /* a forgery that verified: impossible */
        abort();
    free(out);
}

/* What a RESP server (the gateway) reads from a client: up to 64 requests,
 * parsed once with all the bytes at hand and once fed in pieces whose sizes
 * come from the input (the incremental parser must give the same requests,
 * the same error, or the same "incomplete"); every argument inside its
 * request. */
struct parsed {
    int64_t rc[64];
    size_t nreq;
    uint64_t digest; /* of every argument's length and bytes, in order */
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void parse_all(const uint8_t *d, size_t n, const uint8_t *pieces, size_t npieces, struct parsed *out)
{
    static struct cxl_resp_args a;
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees over-reads */
    memcpy(copy, d, n);
    struct cxl_resp_limits lim = {.max_args = 4096, .max_bulk = 1 << 20, .max_request = 1 << 21, .arg_overhead = 4};
    struct cxl_resp_parser ps;
    cxl_resp_parser_init(&ps, &lim);
    *out = (struct parsed){.digest = 14695981039346656037ull};
    size_t off = 0, have = 0, k = 0;
    while (out->nreq < 64) {
        /* bytes arrive in pieces of 1..16 (or all at once) */
        size_t step = npieces ? (size_t)(pieces[k++ % npieces] % 16) + 1 : n;
        have = have + step < n ? have + step : n;
        int64_t used = cxl_resp_parse(&ps, copy + off, have - off, &a);
        if (used == 0 && have < n)
            continue;
        out->rc[out->nreq++] = used;
        if (used <= 0)
            break;
        if ((size_t)used > have - off)
            abort();
        for (int i = 0; i < a.argc; i++) {
            if ((const uint8_t *)a.argv[i] < copy + off ||
                (const uint8_t *)a.argv[i] + a.argvlen[i] > copy + off + (size_t)used)
                abort();
            out->digest = mix(out->digest, &a.argvlen[i], sizeof a.argvlen[i]);
            out->digest = mix(out->digest, a.argv[i], a.argvlen[i]);
        }
        off += (size_t)used;
        cxl_resp_parser_next(&ps);
        if (have < off)
            have = off;
    }
    cxl_resp_parser_free(&ps);
    free(copy);
}

static void resp_request(const uint8_t *d, size_t n)
{
    if (n < 1)
        return;
    size_t npieces = d[0] % 8; /* the first bytes: piece sizes */
    if (npieces + 1 > n)
        return;
    const uint8_t *pieces = d + 1, *req = d + 1 + npieces;
    size_t len = n - 1 - npieces;
    struct parsed whole, fed;
    parse_all(req, len, NULL, 0, &whole);
    parse_all(req, len, pieces, npieces, &fed);
    /* past 64 KiB an open line's fate depends on the reads (in Redis too) */
    if (npieces && len <= CXL_RESP_INLINE_MAX && (whole.nreq != fed.nreq || whole.digest != fed.digest ||
                    memcmp(whole.rc, fed.rc, whole.nreq * sizeof whole.rc[0]) != 0))
        abort(); /* fed in pieces, the requests differ */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 5) {
    case 0: kv_request(data + 1, size - 1); break;
    case 1: resp_reply(data + 1, size - 1); break;
    case 2: sec_messages(data + 1, size - 1); break;
    case 3: sealed(data + 1, size - 1); break;
    case 4: resp_request(data + 1, size - 1); break;
    }
    return 0;
}
