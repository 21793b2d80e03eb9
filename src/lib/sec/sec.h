/* sec/sec.h - keys and the authenticated channel of cxl_sec_mgr
 * (docs/SECURITY.md, sections "Keys" and "cxl_sec_mgr").
 *
 *   key files     a node's (or the manager's) X25519 key pair, a 32-byte
 *                 secret (master secret, crypto mode), all mode 0600
 *   region keys   K(r, e), derived from the master secret
 *   the channel   the node -> manager handshake (both halves) and the
 *                 encrypted frames after it; blocking calls on a socket, and
 *                 the same steps on buffers for event loops (the manager)
 *   the requests  KEYS / PING from a node, and the manager's replies
 *
 * Every call returns 0 or a negative CXL_E* code with a message
 * (cxl_last_error()): CXL_ECRYPTO when something fails authentication,
 * CXL_EPROTO for a malformed frame or message, CXL_EDENIED when the manager
 * refuses, CXL_ETIMEDOUT when a peer is too slow. Every buffer that held a
 * secret is wiped (sodium_memzero) before it is released, on every path. */
#ifndef CXL_SEC_H
#define CXL_SEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_SEC_KEY_BYTES 32u
#define CXL_SEC_FRAME_MAX 65536u                  /* largest frame body */
#define CXL_SEC_TAG_BYTES 16u                     /* AEAD tag per encrypted frame */
#define CXL_SEC_MSG_MAX (CXL_SEC_FRAME_MAX - CXL_SEC_TAG_BYTES) /* largest plaintext */
#define CXL_SEC_REGION_MAX 63u                    /* longest region name */
#define CXL_SEC_MSG1_BYTES 39u /* "CXLS" | version | node id u16 | e_n */
#define CXL_SEC_MSG2_BYTES 64u /* e_m | confirm_m */
#define CXL_SEC_MSG3_BYTES 32u /* confirm_n */
#define CXL_SEC_FINGERPRINT_LEN 16u               /* hex digits, without NUL */

/* Every call below initialises libsodium itself (cxl_crypto_init, sec/seal.h). */

/* ---- key files ------------------------------------------------------------ */

/* A key pair, and the manager's public key when the file names it. The
 * manager's own key file is the same without `manager-public`. */
struct cxl_node_key {
    uint8_t secret[32];
    uint8_t public_key[32];
    uint8_t manager_public[32];
    int has_manager_public;
};

/* A fresh key pair (manager_public left unset). */
int cxl_node_key_generate(struct cxl_node_key *k);

/* Read a key file: lines `secret <64 hex>`, `public <64 hex>` and optionally
 * `manager-public <64 hex>`; blank lines and # comments allowed. Refuses a
 * file that is not a regular file of mode 0600 owned by the caller, and a
 * public key that is not the X25519 base point times the secret. */
int cxl_node_key_load(const char *path, struct cxl_node_key *k);
void cxl_node_key_wipe(struct cxl_node_key *k);

/* Write a key file, mode 0600. overwrite = 0: fail with CXL_EINVAL if path
 * exists; 1: replace it atomically. */
int cxl_key_file_write(const char *path, const struct cxl_node_key *k, int overwrite);

/* A file holding one 32-byte secret as 64 hex digits (the master secret, the
 * crypto-mode key). Load refuses what cxl_node_key_load refuses; create makes
 * a new random one (O_EXCL: never replaces a file) and returns it in out. */
int cxl_secret_file_load(const char *path, uint8_t out[32]);
int cxl_secret_file_create(const char *path, uint8_t out[32]);

/* Whole small files of mode 0600 (the state file, the key files): read
 * refuses a file not 0600 / not the caller's / larger than cap; write goes
 * through a temporary file in the same directory (fsync, then rename, or
 * link when overwrite = 0 so an existing file is never replaced). */
int cxl_private_file_read(const char *path, char *buf, size_t cap, size_t *len);
int cxl_private_file_write(const char *path, const void *data, size_t len, int overwrite);

/* 0 if path is a regular file of mode 0600 owned by the caller, else
 * CXL_EDENIED (CXL_ESYS if it cannot be examined) with a message. */
int cxl_private_file_check(const char *path);

/* 64 hex digits -> 32 bytes (exactly; surrounding blanks are not allowed). */
int cxl_hex32_parse(const char *text, size_t len, uint8_t out[32]);

/* ---- region keys ------------------------------------------------------------ */

/* K(r, e) = BLAKE2b-256(key = master, "cxl-dsm region" || region || 0x00 ||
 * epoch u64 little-endian). region: 1..63 bytes, no NUL. */
int cxl_region_key(const uint8_t master[32], const char *region, uint64_t epoch,
                   uint8_t out[32]);

/* K(r, e, n) = BLAKE2b-256(key = K(r, e), "cxl-dsm node" || node id u16
 * little-endian): a client node's key of a region (docs/SECURITY.md, "Keys"). */
int cxl_node_region_key(const uint8_t region_key[32], uint16_t node, uint8_t out[32]);

/* A node or region name: 1..63 of [A-Za-z0-9_.-], starting with a letter. */
int cxl_sec_name_valid(const char *name);

/* A short public name for a key, for logs and tests: the first 8 bytes of
 * BLAKE2b-256("cxl-dsm key fingerprint" || key), hex. Reveals nothing usable
 * about the key. out: CXL_SEC_FINGERPRINT_LEN + 1 bytes. */
void cxl_key_fingerprint(const uint8_t key[32], char *out);

/* ---- frames ------------------------------------------------------------------- */

/* Every message on the wire: u32 length (little-endian) || body, 1 <= length
 * <= CXL_SEC_FRAME_MAX. */
int cxl_sec_frame_len(const uint8_t hdr[4], uint32_t *len);

/* Blocking (poll with timeout_ms per call) plain frames on a socket: used by
 * the handshake. read: CXL_EPROTO for a bad length, a body larger than cap or
 * a peer that closes mid-frame (or before, "closed"), CXL_ETIMEDOUT. */
int cxl_sec_frame_read(int fd, uint8_t *body, size_t cap, size_t *len, uint32_t timeout_ms);
int cxl_sec_frame_write(int fd, const uint8_t *body, size_t len, uint32_t timeout_ms);

/* ---- the handshake on buffers ----------------------------------------------- */

struct cxl_sec_hs;   /* one handshake in progress (either side) */
struct cxl_sec_chan; /* an established channel: keys and frame counters */

/* The manager's view of a node id: copy its static public key into pub and
 * return 0, or return nonzero if the id is not configured. */
typedef int (*cxl_sec_lookup_fn)(void *ctx, uint16_t node_id, uint8_t pub[32]);

/* Node: message 1. */
int cxl_sec_hs_start(const struct cxl_node_key *k, uint16_t node_id,
                     uint8_t msg1[CXL_SEC_MSG1_BYTES], struct cxl_sec_hs **out);
/* Node: check message 2 (CXL_ECRYPTO if the manager's confirmation fails),
 * produce message 3 and the channel. hs stays the caller's to free. */
int cxl_sec_hs_finish(struct cxl_sec_hs *hs, const uint8_t *msg2, size_t len,
                      uint8_t msg3[CXL_SEC_MSG3_BYTES], struct cxl_sec_chan **chan);

/* Manager: answer message 1 with message 2. An unknown node id gets a
 * message 2 like any other (no oracle of who is configured); the failure
 * shows at message 3. CXL_EPROTO for a malformed message 1 (bad size, magic,
 * version), CXL_ECRYPTO for a degenerate ephemeral key. */
int cxl_sec_hs_answer(const struct cxl_node_key *mgr, cxl_sec_lookup_fn lookup, void *ctx,
                      const uint8_t *msg1, size_t len, uint8_t msg2[CXL_SEC_MSG2_BYTES],
                      struct cxl_sec_hs **out);
/* Manager: check message 3: the channel, or CXL_EDENIED (unknown node id) /
 * CXL_ECRYPTO (the node's confirmation fails). */
int cxl_sec_hs_confirm(struct cxl_sec_hs *hs, const uint8_t *msg3, size_t len,
                       struct cxl_sec_chan **chan);

/* The node id of message 1, and whether the manager knew it. */
uint16_t cxl_sec_hs_node(const struct cxl_sec_hs *hs);
int cxl_sec_hs_known(const struct cxl_sec_hs *hs);
void cxl_sec_hs_free(struct cxl_sec_hs *hs); /* wipes; NULL is fine */

/* ---- the handshake on a socket (blocking, every read bounded by timeout_ms) -- */

/* On success the channel owns fd (cxl_sec_chan_free closes it); on failure
 * the caller still does. node_id (may be NULL) is set once message 1 was
 * read, else 0. */
int cxl_sec_accept(int fd, const struct cxl_node_key *mgr, cxl_sec_lookup_fn lookup, void *ctx,
                   uint32_t timeout_ms, struct cxl_sec_chan **out, uint16_t *node_id);
int cxl_sec_initiate(int fd, uint16_t node_id, const struct cxl_node_key *k,
                     uint32_t timeout_ms, struct cxl_sec_chan **out);

/* ---- encrypted frames ---------------------------------------------------------- */

/* Bodies are XChaCha20-Poly1305-IETF (msg || tag), nonce = a 64-bit frame
 * counter per direction (little-endian, zero padded). A frame that fails to
 * open (tampered, replayed, reordered) is CXL_ECRYPTO and closes the channel:
 * every later call fails with CXL_EPROTO. */

/* On buffers: seal writes the whole frame (u32 length || body) into frame;
 * open takes a frame body. */
int cxl_sec_chan_seal(struct cxl_sec_chan *c, const void *msg, size_t len, uint8_t *frame,
                      size_t cap, size_t *frame_len);
int cxl_sec_chan_open(struct cxl_sec_chan *c, const uint8_t *body, size_t body_len, void *msg,
                      size_t cap, size_t *msg_len);

/* On the channel's socket (from cxl_sec_accept / cxl_sec_initiate). */
int cxl_sec_chan_send(struct cxl_sec_chan *c, const void *msg, size_t len);
int cxl_sec_chan_recv(struct cxl_sec_chan *c, void *msg, size_t cap, size_t *len);
/* The same, on a Unix socket: *fd is the descriptor that came with the
 * frame (SCM_RIGHTS), or -1. More than one is CXL_EPROTO (all closed). */
int cxl_sec_chan_recv_fd(struct cxl_sec_chan *c, void *msg, size_t cap, size_t *len, int *fd);
void cxl_sec_chan_set_timeout(struct cxl_sec_chan *c, uint32_t timeout_ms);

uint16_t cxl_sec_chan_peer(const struct cxl_sec_chan *c); /* the node id */
void cxl_sec_chan_free(struct cxl_sec_chan *c); /* wipes keys, closes its fd; NULL ok */

/* ---- requests and replies -------------------------------------------------------- */

#define CXL_SEC_MAX_CLIENTS 512u /* client nodes listed for one region */
#define CXL_SEC_USER_MAX 63u     /* longest Redis ACL user name of a node */

/* What the keys of a KEYS reply are. */
enum cxl_sec_binding {
    CXL_SEC_BIND_REGION = 0, /* K(r, e): a serve grant; the region's clients follow */
    CXL_SEC_BIND_NODE = 1,   /* K(r, e, n) of the asking node: an rw grant */
};

/* A client node of a region, and the Redis ACL user it runs as ("": none named). */
struct cxl_region_client {
    uint16_t node;
    char user[CXL_SEC_USER_MAX + 1];
};

/* A region's keys as the manager hands them out. */
struct cxl_region_keys {
    char region[64];
    uint64_t epoch;
    uint8_t key[32];
    int has_prev;          /* during a rotation's grace, never after a revoke */
    uint64_t prev_epoch;
    uint8_t prev_key[32];
    uint32_t valid_for_ms; /* ask again before this has elapsed */
    enum cxl_sec_binding binding;
    uint32_t n_clients;    /* binding REGION: the region's clients */
    struct cxl_region_client clients[CXL_SEC_MAX_CLIENTS];
};
void cxl_region_keys_wipe(struct cxl_region_keys *k);

enum cxl_sec_req_kind { CXL_SEC_REQ_KEYS_RING, CXL_SEC_REQ_KEYS_NAME, CXL_SEC_REQ_PING,
                        CXL_SEC_REQ_FD /* FD name <region>: its memfd (docs/FABRIC.md) */ };
struct cxl_sec_request {
    enum cxl_sec_req_kind kind;
    uint32_t ring;                       /* KEYS ring <n> */
    char region[CXL_SEC_REGION_MAX + 1]; /* KEYS name <region>, FD name <region> */
};

/* Manager: a request line ("KEYS ring 3", "KEYS name graph", "FD name graph", "PING"; one
 * trailing newline allowed). CXL_EPROTO if it is anything else. */
int cxl_sec_request_parse(const uint8_t *msg, size_t len, struct cxl_sec_request *req);

/* A Redis ACL user name as a node's `user`: 1..63 printable characters, no
 * blank and no '#'. */
int cxl_sec_user_valid(const char *user);

/* Manager: the replies. keys: 0x00 | epoch u64 | key | has_prev u8 | prev
 * epoch u64 | prev key | valid_for_ms u32 | binding u8 | name length u8 |
 * region name | (binding REGION) clients u16 | per client: node u16, user
 * length u8, user; refusal: 0x01 | reason; pong: 0x00 | "PONG". Each
 * returns the length written, or a negative code if cap is too small.
 * CXL_SEC_MSG_MAX always holds a keys reply. */
int cxl_sec_reply_keys(const struct cxl_region_keys *k, uint8_t *out, size_t cap);
int cxl_sec_reply_refuse(const char *reason, uint8_t *out, size_t cap);
int cxl_sec_reply_pong(uint8_t *out, size_t cap);

/* The reply to `FD name <region>` (docs/FABRIC.md): 0x00 | access u8 |
 * size u64 | inode u64 | seals u32, the descriptor attached to the frame
 * (SCM_RIGHTS); a refusal is cxl_sec_reply_refuse's. */
enum cxl_sec_fd_access { CXL_SEC_FD_RO = 1, CXL_SEC_FD_RW = 2 };
struct cxl_sec_fd_grant {
    enum cxl_sec_fd_access access;
    uint64_t size, inode;
    uint32_t seals;        /* F_GET_SEALS when it was handed out */
};
int cxl_sec_reply_fd(enum cxl_sec_fd_access access, uint64_t size, uint64_t inode, uint32_t seals,
                     uint8_t *out, size_t cap);
/* Node: 0, CXL_EDENIED (the reason in the message) or CXL_EPROTO. */
int cxl_sec_reply_fd_parse(const uint8_t *body, size_t len, const char *what,
                           struct cxl_sec_fd_grant *out);

/* Node: read a KEYS reply: 0, CXL_EDENIED with the manager's reason in the
 * message, or CXL_EPROTO. what names the request in messages. */
int cxl_sec_reply_keys_parse(const uint8_t *body, size_t len, const char *what,
                             struct cxl_region_keys *out);

/* ---- the node's connection to cxl_sec_mgr ------------------------------------------ */

struct cxl_mgr_conn;

/* Connect to HOST:PORT (connect and every reply bounded by timeout_ms) and
 * run the handshake as node_id with k (which must name the manager's public
 * key). CXL_ECRYPTO if either side fails to authenticate: a wrong manager
 * key, or this key is not the one configured for node_id (the manager does
 * not tell which). */
int cxl_mgr_connect(const char *hostport, uint16_t node_id, const struct cxl_node_key *k,
                    uint32_t timeout_ms, struct cxl_mgr_conn **out);
/* The same on an already connected socket (owned by the connection on
 * success). */
int cxl_mgr_attach(int fd, uint16_t node_id, const struct cxl_node_key *k, uint32_t timeout_ms,
                   struct cxl_mgr_conn **out);

/* The keys of the region of ring n / of a region by name. CXL_EDENIED when
 * the manager refuses (no-grant, unknown-region, revoked; the connection
 * stays usable); any other failure breaks the connection (close it and
 * connect again). */
int cxl_mgr_get_keys_ring(struct cxl_mgr_conn *c, uint32_t ring, struct cxl_region_keys *out);
int cxl_mgr_get_keys_name(struct cxl_mgr_conn *c, const char *region, struct cxl_region_keys *out);
int cxl_mgr_ping(struct cxl_mgr_conn *c);
/* The fabric (docs/FABRIC.md): connect to the manager's fabric Unix socket
 * at path, then the same handshake as cxl_mgr_connect. */
int cxl_mgr_connect_unix(const char *path, uint16_t node_id, const struct cxl_node_key *k,
                         uint32_t timeout_ms, struct cxl_mgr_conn **out);
/* A region's descriptor: *fd (close-on-exec) and what was granted, checked
 * against the descriptor (a regular file of that size and inode, opened
 * O_RDONLY for CXL_SEC_FD_RO, O_RDWR for CXL_SEC_FD_RW). CXL_EDENIED for a
 * refusal (the connection stays usable); anything else breaks it. */
int cxl_mgr_get_region_fd(struct cxl_mgr_conn *c, const char *region, int *fd,
                          struct cxl_sec_fd_grant *out);
void cxl_mgr_close(struct cxl_mgr_conn *c); /* wipes the channel keys; NULL ok */

#ifdef __cplusplus
}
#endif
#endif
