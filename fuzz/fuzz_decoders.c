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
#include "cxl/resp.h"
#include "cxl/seal.h"
#include "cxl/sec.h"

static void kv_request(const uint8_t *d, size_t n)
{
    if (n < sizeof(struct cxl_msg_hdr))
        return;
    struct cxl_msg_hdr h;
    memcpy(&h, d, sizeof h);
    const uint8_t *payload = d + sizeof h;
    size_t plen = n - sizeof h;
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
        uint8_t key[32] = {1}, session[16] = {2}, nonce[16] = {3};
        if (cxl_seal_derive(&s, CXL_CIPHER_XCHACHA, key, 1, 0, CXL_REQ, 42, session, nonce) != 0)
            abort();
        ready = 1;
    }
    if (n < sizeof(struct cxl_msg_hdr))
        return;
    struct cxl_msg m;
    memcpy(&m.hdr, d, sizeof m.hdr);
    m.payload = d + sizeof m.hdr;
    m.hdr.len = (uint32_t)(n - sizeof m.hdr);
    uint8_t *out = malloc(m.hdr.len + 1);
    s.next = 0;
    if (cxl_open_msg(&s, &m, out) == 0) /* a forgery that verified: impossible */
        abort();
    free(out);
}

/* what a RESP server (the gateway) reads from a client */
static void resp_request(const uint8_t *d, size_t n)
{
    static struct cxl_resp_args a;
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, d, n);
    struct cxl_resp_limits lim = {.max_args = 4096, .max_bulk = 1 << 20, .max_inline = 4096};
    size_t off = 0;
    for (int i = 0; i < 64 && off < n; i++) {
        int64_t used = cxl_resp_parse_request(copy + off, n - off, &lim, &a);
        if (used <= 0)
            break;
        if ((size_t)used > n - off)
            abort();
        for (int k = 0; k < a.argc; k++)
            if ((const uint8_t *)a.argv[k] < copy + off ||
                (const uint8_t *)a.argv[k] + a.argvlen[k] > copy + off + (size_t)used)
                abort();
        off += (size_t)used;
    }
    free(copy);
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
