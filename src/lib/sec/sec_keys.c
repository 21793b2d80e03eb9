/* sec_keys.c - key material at rest: node/manager key files, 32-byte secret
 * files (master secret, crypto mode), private (0600) files written
 * atomically, region key derivation K(r, e) and key fingerprints
 * (docs/SECURITY.md, "Keys"). Every buffer that held a secret, including
 * the text of a key file, is wiped before it is released. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cxl/error.h"
#include "sec/seal.h"
#include "sec/sec.h"
#include "cxl/util.h"
#include "sec/sec_wire.h"

static const char REGION_CONTEXT[] = "cxl-dsm region";
static const char FINGERPRINT_CONTEXT[] = "cxl-dsm key fingerprint";
static const char NODE_CONTEXT[] = "cxl-dsm node";

#define KEY_FILE_MAX 4096 /* a key file is ~250 bytes */

int cxl_hex32_parse(const char *text, size_t len, uint8_t out[32])
{
    size_t got = 0;
    if (len != 64 || sodium_hex2bin(out, 32, text, len, NULL, &got, NULL) != 0 || got != 32) {
        sodium_memzero(out, 32);
        return cxl_fail(CXL_EINVAL, "expected 64 hex digits");
    }
    return 0;
}

int cxl_sec_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > CXL_SEC_REGION_MAX)
        return 0;
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* ---- private files ------------------------------------------------------------ */

static int check_stat(const char *path, const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return cxl_fail(CXL_EDENIED, "%s: not a regular file", path);
    if (st->st_uid != geteuid())
        return cxl_fail(CXL_EDENIED, "%s: owned by uid %u, not by this user (uid %u)", path, (unsigned)st->st_uid,
                        (unsigned)geteuid());
    if ((st->st_mode & 07777) != 0600)
        return cxl_fail(CXL_EDENIED, "%s: mode %04o, must be 0600 (chmod 600 %s)", path,
                        (unsigned)(st->st_mode & 07777), path);
    return 0;
}

int cxl_private_file_check(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cxl_fail_errno(CXL_ESYS, "%s", path);
    return check_stat(path, &st);
}

int cxl_private_file_read(const char *path, char *buf, size_t cap, size_t *len)
{
    if (cap < 2)
        return cxl_fail(CXL_EINVAL, "%s: no room to read into", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "cannot open %s", path);
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? cxl_fail_errno(CXL_ESYS, "%s", path) : check_stat(path, &st);
    if (rc == 0 && (uint64_t)st.st_size > cap - 1)
        rc = cxl_fail(CXL_EINVAL, "%s: %lld bytes, more than the %zu this file may hold", path,
                      (long long)st.st_size, cap - 1);
    size_t have = 0;
    while (rc == 0 && have < cap - 1) {
        ssize_t n = read(fd, buf + have, cap - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = cxl_fail_errno(CXL_ESYS, "cannot read %s", path);
        else if (n == 0)
            break;
        else
            have += (size_t)n;
    }
    close(fd);
    if (rc) {
        sodium_memzero(buf, cap);
        return rc;
    }
    buf[have] = '\0';
    *len = have;
    return 0;
}

static int write_all_fd(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Best effort: make a rename or link durable. */
static void sync_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* path.tmp.<pid>.<random>, created O_EXCL, mode 0600, holding data. */
static int write_temp(const char *path, const void *data, size_t len, char *tmp, size_t tmpcap)
{
    uint32_t r;
    int rc = cxl_random_bytes(&r, sizeof r);
    if (rc)
        return rc;
    if (snprintf(tmp, tmpcap, "%s.tmp.%d.%08x", path, (int)getpid(), r) >= (int)tmpcap)
        return cxl_fail(CXL_EINVAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "cannot create %s", tmp);
    if (fchmod(fd, 0600) != 0 || write_all_fd(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = cxl_fail_errno(CXL_ESYS, "cannot write %s", tmp);
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) != 0) {
        rc = cxl_fail_errno(CXL_ESYS, "cannot write %s", tmp);
        unlink(tmp);
        return rc;
    }
    return 0;
}

int cxl_private_file_write(const char *path, const void *data, size_t len, int overwrite)
{
    char tmp[4096];
    int rc = write_temp(path, data, len, tmp, sizeof tmp);
    if (rc)
        return rc;
    if (overwrite) {
        if (rename(tmp, path) != 0)
            rc = cxl_fail_errno(CXL_ESYS, "cannot replace %s", path);
    } else if (link(tmp, path) != 0) {
        rc = errno == EEXIST ? cxl_fail(CXL_EINVAL, "%s already exists (not replaced)", path)
                             : cxl_fail_errno(CXL_ESYS, "cannot create %s", path);
    }
    if (rc || !overwrite)
        unlink(tmp);
    if (rc == 0)
        sync_parent(path);
    return rc;
}

/* ---- key files ---------------------------------------------------------------- */

int cxl_node_key_generate(struct cxl_node_key *k)
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    memset(k, 0, sizeof *k);
    randombytes_buf(k->secret, sizeof k->secret);
    if (crypto_scalarmult_base(k->public_key, k->secret) != 0) {
        cxl_node_key_wipe(k);
        return cxl_fail(CXL_ECRYPTO, "X25519 key generation failed");
    }
    return 0;
}

void cxl_node_key_wipe(struct cxl_node_key *k)
{
    if (k)
        sodium_memzero(k, sizeof *k);
}

/* The next line of text: [*line, *end) without the newline; advances *pos. */
static int next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
    if (*pos >= len)
        return 0;
    const char *s = buf + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    size_t l = nl ? (size_t)(nl - s) : len - *pos;
    *pos += l + (nl ? 1 : 0);
    while (l && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
        l--;
    while (l && (*s == ' ' || *s == '\t'))
        s++, l--;
    *line = s;
    *n = l;
    return 1;
}

enum { KF_SECRET, KF_PUBLIC, KF_MANAGER, KF_N };
static const char *const kf_words[KF_N] = {"secret", "public", "manager-public"};

/* One `word value` line of a key file into k; seen collects the words. */
static int key_line(const char *path, int lineno, const char *s, size_t n,
                    struct cxl_node_key *k, unsigned *seen)
{
    size_t w = 0;
    while (w < n && s[w] != ' ' && s[w] != '\t')
        w++;
    size_t v = w;
    while (v < n && (s[v] == ' ' || s[v] == '\t'))
        v++;
    uint8_t *dst[KF_N] = {k->secret, k->public_key, k->manager_public};
    for (int i = 0; i < KF_N; i++) {
        if (strlen(kf_words[i]) != w || memcmp(s, kf_words[i], w) != 0)
            continue;
        if (*seen & (1u << i))
            return cxl_fail(CXL_EINVAL, "%s:%d: '%s' given twice", path, lineno, kf_words[i]);
        if (cxl_hex32_parse(s + v, n - v, dst[i]) != 0)
            return cxl_fail(CXL_EINVAL, "%s:%d: %s: expected 64 hex digits", path, lineno,
                            kf_words[i]);
        *seen |= 1u << i;
        return 0;
    }
    return cxl_fail(CXL_EINVAL, "%s:%d: unknown keyword '%.*s' (secret, public, manager-public)",
                    path, lineno, (int)(w > 40 ? 40 : w), s);
}

static int parse_key_file(const char *path, const char *buf, size_t len, struct cxl_node_key *k)
{
    unsigned seen = 0;
    size_t pos = 0, n;
    const char *s;
    int rc = 0;
    for (int lineno = 1; rc == 0 && next_line(buf, len, &pos, &s, &n); lineno++)
        if (n && s[0] != '#')
            rc = key_line(path, lineno, s, n, k, &seen);
    if (rc == 0 && !(seen & (1u << KF_SECRET)))
        rc = cxl_fail(CXL_EINVAL, "%s: no 'secret' line", path);
    if (rc == 0 && !(seen & (1u << KF_PUBLIC)))
        rc = cxl_fail(CXL_EINVAL, "%s: no 'public' line", path);
    k->has_manager_public = (seen & (1u << KF_MANAGER)) != 0;
    return rc;
}

int cxl_node_key_load(const char *path, struct cxl_node_key *k)
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    memset(k, 0, sizeof *k);
    char buf[KEY_FILE_MAX];
    size_t len;
    if ((rc = cxl_private_file_read(path, buf, sizeof buf, &len)) != 0)
        return rc;
    rc = parse_key_file(path, buf, len, k);
    sodium_memzero(buf, sizeof buf);
    uint8_t pub[32];
    if (rc == 0 && crypto_scalarmult_base(pub, k->secret) != 0)
        rc = cxl_fail(CXL_ECRYPTO, "%s: the secret is not a usable X25519 key", path);
    if (rc == 0 && crypto_verify_32(pub, k->public_key) != 0)
        rc = cxl_fail(CXL_ECRYPTO, "%s: the public key does not belong to the secret", path);
    sodium_memzero(pub, sizeof pub);
    if (rc)
        cxl_node_key_wipe(k);
    return rc;
}

static void hex_line(char **p, const char *word, const uint8_t v[32])
{
    size_t n = strlen(word);
    memcpy(*p, word, n);
    (*p)[n] = ' ';
    sodium_bin2hex(*p + n + 1, 65, v, 32);
    (*p)[n + 65] = '\n';
    *p += n + 66;
}

int cxl_key_file_write(const char *path, const struct cxl_node_key *k, int overwrite)
{
    static const char head[] = "# cxl-dsm X25519 key pair: keep it secret, mode 0600\n";
    char text[sizeof head + 3 * 96], *p = text;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    hex_line(&p, "secret", k->secret);
    hex_line(&p, "public", k->public_key);
    if (k->has_manager_public)
        hex_line(&p, "manager-public", k->manager_public);
    int rc = cxl_private_file_write(path, text, (size_t)(p - text), overwrite);
    sodium_memzero(text, sizeof text);
    return rc;
}

/* ---- 32-byte secret files ---------------------------------------------------------- */

int cxl_secret_file_load(const char *path, uint8_t out[32])
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    char buf[KEY_FILE_MAX];
    size_t len, pos = 0, n;
    const char *s;
    if ((rc = cxl_private_file_read(path, buf, sizeof buf, &len)) != 0)
        return rc;
    int found = 0, lineno;
    for (lineno = 1; rc == 0 && next_line(buf, len, &pos, &s, &n); lineno++) {
        if (!n || s[0] == '#')
            continue;
        if (found++ || cxl_hex32_parse(s, n, out) != 0)
            rc = cxl_fail(CXL_EINVAL, "%s:%d: expected one line of 64 hex digits (a 32-byte "
                          "secret)", path, lineno);
    }
    if (rc == 0 && !found)
        rc = cxl_fail(CXL_EINVAL, "%s: empty; expected 64 hex digits (a 32-byte secret)", path);
    sodium_memzero(buf, sizeof buf);
    if (rc)
        sodium_memzero(out, 32);
    return rc;
}

int cxl_secret_file_create(const char *path, uint8_t out[32])
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    char text[66];
    randombytes_buf(out, 32);
    sodium_bin2hex(text, 65, out, 32);
    text[64] = '\n';
    rc = cxl_private_file_write(path, text, 65, 0);
    sodium_memzero(text, sizeof text);
    if (rc)
        sodium_memzero(out, 32);
    return rc;
}

/* ---- derivations --------------------------------------------------------------- */

int cxl_region_key(const uint8_t master[32], const char *region, uint64_t epoch,
                   uint8_t out[32])
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    size_t n = region ? strlen(region) : 0;
    if (n == 0 || n > CXL_SEC_REGION_MAX)
        return cxl_fail(CXL_EINVAL, "region name must be 1..%u bytes", CXL_SEC_REGION_MAX);
    uint8_t tail[9] = {0};
    sec_put64(tail + 1, epoch);
    crypto_generichash_state st;
    crypto_generichash_init(&st, master, 32, 32);
    crypto_generichash_update(&st, (const uint8_t *)REGION_CONTEXT, sizeof REGION_CONTEXT - 1);
    crypto_generichash_update(&st, (const uint8_t *)region, n);
    crypto_generichash_update(&st, tail, sizeof tail);
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof st);
    return 0;
}

int cxl_node_region_key(const uint8_t region_key[32], uint16_t node, uint8_t out[32])
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    uint8_t in[sizeof NODE_CONTEXT - 1 + 2];
    memcpy(in, NODE_CONTEXT, sizeof NODE_CONTEXT - 1);
    in[sizeof NODE_CONTEXT - 1] = (uint8_t)node;
    in[sizeof NODE_CONTEXT] = (uint8_t)(node >> 8);
    crypto_generichash(out, 32, in, sizeof in, region_key, 32);
    return 0;
}

int cxl_sec_user_valid(const char *user)
{
    size_t n = user ? strlen(user) : 0;
    if (n == 0 || n > CXL_SEC_USER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (user[i] <= ' ' || user[i] > '~' || user[i] == '#')
            return 0;
    return 1;
}

void cxl_key_fingerprint(const uint8_t key[32], char *out)
{
    uint8_t h[32];
    crypto_generichash_state st;
    if (cxl_crypto_init() != 0) {
        snprintf(out, CXL_SEC_FINGERPRINT_LEN + 1, "%s", "?");
        return;
    }
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)FINGERPRINT_CONTEXT,
                              sizeof FINGERPRINT_CONTEXT - 1);
    crypto_generichash_update(&st, key, 32);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_memzero(&st, sizeof st);
    sodium_bin2hex(out, CXL_SEC_FINGERPRINT_LEN + 1, h, CXL_SEC_FINGERPRINT_LEN / 2);
}
