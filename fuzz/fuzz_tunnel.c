/* fuzz_tunnel.c - the decoder of cxl_sodium_tunnel's encrypted connection
 * (src/lib/sec/tunnel_crypt.c, src/lib/sec/tunnel_hello.c). The first byte picks the case:
 *   0  arbitrary bytes to a fresh server end (what anyone can send it); with
 *      bit 6, after a genuine first frame (message 1 and its proof), so the
 *      bytes reach the later handshake steps
 *   1  arbitrary bytes to a client end that has sent message 1
 *   2  a real handshake between two ends in memory, then the input drives
 *      a conversation: chunks the client seals, split points and at most one
 *      flipped byte on delivery. Checked: with no flip the server's plaintext
 *      is exactly what was sent; with a flip what it delivered is a prefix
 *      of what was sent (the frame is refused, or waits for bytes a flipped
 *      length promised). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sec/tunnel_crypt.h"

static struct tun_keys server_keys, client_keys;
static struct tun_hello *server_hello, *client_hello;

static void init_keys(void)
{
    static int done;
    if (done++)
        return;
    cxl_node_key_generate(&server_keys.self);
    cxl_node_key_generate(&client_keys.self);
    memcpy(server_keys.self.manager_public, client_keys.self.public_key, 32);
    memcpy(client_keys.self.manager_public, server_keys.self.public_key, 32);
    server_keys.self.has_manager_public = client_keys.self.has_manager_public = 1;
    assert(tun_hello_new(&server_keys, &server_hello) == 0 && tun_hello_new(&client_keys, &client_hello) == 0);
}

struct bufs {
    struct cxl_buf in, out, plain;
};

/* small: the server end's buffers before its peer authenticated (4 KiB in
 * and out, no plain buffer), else the full ones */
static void bufs_init(struct bufs *b, int small)
{
    static uint8_t mem[3][2 * TUN_WIRE_MAX];
    b->in = (struct cxl_buf){mem[0], 0, 0, small ? 4096 : sizeof mem[0]};
    b->out = (struct cxl_buf){mem[1], 0, 0, small ? 4096 : sizeof mem[1]};
    b->plain = (struct cxl_buf){small ? NULL : mem[2], 0, 0, small ? 0 : sizeof mem[2]};
}

static void feed(struct tun_crypt *c, struct bufs *b, const uint8_t *data, size_t size)
{
    while (size) {
        uint8_t *p = cxl_buf_tail(&b->in, 1);
        if (!p)
            return;
        size_t n = b->in.cap - b->in.end < size ? b->in.cap - b->in.end : size;
        memcpy(p, data, n);
        b->in.end += n, data += n, size -= n;
        if (tun_crypt_input(c, &b->in, &b->out, &b->plain) != 0)
            return;
        b->plain.start = b->plain.end = 0; /* the plain side reads it all */
    }
}

/* A real client end's first frame, taken by the server end c. */
static void genuine_first_frame(struct tun_crypt *c, struct bufs *b)
{
    struct tun_crypt *cli;
    assert(tun_crypt_new(&client_keys, client_hello, 1, &cli) == 0);
    assert(tun_crypt_start(cli, &b->in) == 0);
    assert(tun_crypt_input(c, &b->in, &b->out, &b->plain) == 0);
    tun_crypt_free(cli);
}

/* Move everything in from to to, the byte at flip (if any) xor 0x20 */
static void deliver(struct cxl_buf *from, struct cxl_buf *to, size_t *sent, size_t flip)
{
    size_t n = cxl_buf_len(from);
    uint8_t *p = cxl_buf_tail(to, n);
    assert(p);
    memcpy(p, from->data + from->start, n);
    for (size_t i = 0; i < n; i++)
        if (*sent + i == flip)
            p[i] ^= 0x20;
    to->end += n;
    *sent += n;
    from->start = from->end = 0;
}

static void conversation(const uint8_t *data, size_t size)
{
    struct tun_crypt *cli, *srv;
    static uint8_t mem[6][2 * TUN_WIRE_MAX], expect[1 << 16];
    struct cxl_buf c_in = {mem[0], 0, 0, sizeof mem[0]}, c_out = {mem[1], 0, 0, sizeof mem[1]};
    struct cxl_buf c_plain = {mem[2], 0, 0, sizeof mem[2]}, s_in = {mem[3], 0, 0, sizeof mem[3]};
    struct cxl_buf s_out = {mem[4], 0, 0, sizeof mem[4]}, s_plain = {mem[5], 0, 0, sizeof mem[5]};
    size_t up = 0, down = 0, expected = 0, flip = SIZE_MAX;
    if (size >= 3 && data[0] & 1)
        flip = (size_t)data[1] << 8 | data[2];
    assert(tun_crypt_new(&client_keys, client_hello, 1, &cli) == 0 &&
           tun_crypt_new(&server_keys, server_hello, 0, &srv) == 0);
    assert(tun_crypt_start(cli, &c_out) == 0);
    int failed = 0;
    for (size_t pos = 3; pos <= size && !failed; ) {
        deliver(&c_out, &s_in, &up, flip);
        failed |= tun_crypt_input(srv, &s_in, &s_out, &s_plain) != 0;
        deliver(&s_out, &c_in, &down, SIZE_MAX);
        failed |= tun_crypt_input(cli, &c_in, &c_out, &c_plain) != 0;
        if (pos == size)
            break;
        size_t n = data[pos++] % 64;
        if (n > size - pos)
            n = size - pos;
        if (tun_crypt_can_send(cli) && !failed) {
            assert(tun_crypt_seal(cli, data + pos, n, 0, &c_out) == 0);
            if (expected + n <= sizeof expect)
                memcpy(expect + expected, data + pos, n);
            expected += n;
        }
        pos += n;
    }
    if (flip == SIZE_MAX || flip >= up) { /* nothing was flipped: all of it arrived */
        assert(!failed);
        assert(cxl_buf_len(&s_plain) == (expected < sizeof expect ? expected : cxl_buf_len(&s_plain)));
        assert(expected > sizeof expect || memcmp(s_plain.data + s_plain.start, expect, expected) == 0);
    } else { /* refused, or waiting for a frame a flipped length made longer: never wrong data */
        size_t got = cxl_buf_len(&s_plain);
        assert(got <= expected);
        assert(expected > sizeof expect || memcmp(s_plain.data + s_plain.start, expect, got) == 0);
    }
    tun_crypt_free(cli);
    tun_crypt_free(srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bufs b;
    struct tun_crypt *c;
    if (size < 1)
        return 0;
    init_keys();
    bufs_init(&b, data[0] % 3 == 0 && (data[0] & 0x80));
    switch (data[0] % 3) {
    case 0: /* (bit 7: with the pre-authentication buffers) */
        assert(tun_crypt_new(&server_keys, server_hello, 0, &c) == 0);
        if (data[0] & 0x40)
            genuine_first_frame(c, &b);
        feed(c, &b, data + 1, size - 1);
        tun_crypt_free(c);
        break;
    case 1:
        assert(tun_crypt_new(&client_keys, client_hello, 1, &c) == 0);
        assert(tun_crypt_start(c, &b.out) == 0);
        feed(c, &b, data + 1, size - 1);
        tun_crypt_free(c);
        break;
    case 2:
        conversation(data + 1, size - 1);
        break;
    }
    return 0;
}
