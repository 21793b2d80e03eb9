/* test_sec_keys.c - key material at rest (docs/SECURITY.md, "Keys"): key
 * files written 0600 and read back, refused when not 0600, when the public
 * key does not match, when a line is malformed; O_EXCL unless overwriting;
 * secret files; K(r, e) against the spec's formula computed here by hand;
 * fingerprints; names. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "sec/sec.h"

static char dir[] = "/tmp/test_sec_keys.XXXXXX";

static const char *path(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void write_text(const char *p, const char *text, mode_t mode)
{
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode)) {
        perror(p);
        exit(2);
    }
    close(fd);
}

static void test_key_files(void)
{
    struct cxl_node_key k, mgr, got;
    CHECK_EQ(cxl_node_key_generate(&k), 0);
    CHECK_EQ(cxl_node_key_generate(&mgr), 0);
    memcpy(k.manager_public, mgr.public_key, 32);
    k.has_manager_public = 1;
    const char *f = path("node.key");
    CHECK_EQ(cxl_key_file_write(f, &k, 0), 0);
    struct stat st;
    CHECK_EQ(stat(f, &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(cxl_node_key_load(f, &got), 0);
    CHECK(memcmp(&got, &k, sizeof k) == 0);
    /* never replaced without asking, replaced when asked */
    CHECK_FAILS(cxl_key_file_write(f, &mgr, 0), CXL_EINVAL, "already exists");
    CHECK_EQ(cxl_node_key_load(f, &got), 0);
    CHECK(memcmp(got.secret, k.secret, 32) == 0);
    CHECK_EQ(cxl_key_file_write(f, &mgr, 1), 0);
    CHECK_EQ(cxl_node_key_load(f, &got), 0);
    CHECK(memcmp(got.secret, mgr.secret, 32) == 0 && !got.has_manager_public);
    /* no temporary files left behind */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls %s | grep tmp)\"", dir);
    CHECK_EQ(system(cmd), 0);

    if (geteuid() == 0 && chown(f, 1, 1) == 0) { /* someone else's file */
        CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EDENIED, "owned by uid 1, not by this user");
        CHECK_EQ(chown(f, 0, 0), 0);
    }
    chmod(f, 0644);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EDENIED, "mode 0644, must be 0600");
    CHECK(got.secret[0] == 0 && got.secret[31] == 0); /* wiped on failure */
    chmod(f, 0400);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EDENIED, "must be 0600");
    CHECK_FAILS(cxl_node_key_load(path("missing.key"), &got), CXL_ESYS, "missing.key");
    CHECK_FAILS(cxl_node_key_load(dir, &got), CXL_EDENIED, "not a regular file");

    /* contents: mismatched public key, bad hex, unknown words, missing lines */
    char sec[65], pub[65], other[65], text[400];
    sodium_bin2hex(sec, sizeof sec, k.secret, 32);
    sodium_bin2hex(pub, sizeof pub, k.public_key, 32);
    sodium_bin2hex(other, sizeof other, mgr.public_key, 32);
    snprintf(text, sizeof text, "# comment\n\nsecret %s\npublic %s\n", sec, other);
    write_text(f, text, 0600);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_ECRYPTO, "does not belong to the secret");
    snprintf(text, sizeof text, "secret %s\r\npublic   %s  \n", sec, pub);
    write_text(f, text, 0600);
    CHECK_EQ(cxl_node_key_load(f, &got), 0);
    snprintf(text, sizeof text, "secret %.63sg\npublic %s\n", sec, pub);
    write_text(f, text, 0600);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EINVAL, "node.key:1: secret: expected 64 hex");
    snprintf(text, sizeof text, "secret %s\npublic %s00\n", sec, pub);
    write_text(f, text, 0600);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EINVAL, ":2: public");
    snprintf(text, sizeof text, "secret %s\npublik %s\n", sec, pub);
    write_text(f, text, 0600);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EINVAL, ":2: unknown keyword 'publik'");
    snprintf(text, sizeof text, "secret %s\nsecret %s\n", sec, sec);
    write_text(f, text, 0600);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EINVAL, "given twice");
    snprintf(text, sizeof text, "secret %s\n", sec);
    write_text(f, text, 0600);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EINVAL, "no 'public' line");
    write_text(f, "", 0600);
    CHECK_FAILS(cxl_node_key_load(f, &got), CXL_EINVAL, "no 'secret' line");
    sodium_memzero(sec, sizeof sec);
    sodium_memzero(text, sizeof text);
    cxl_node_key_wipe(&k);
    CHECK(k.secret[0] == 0 && k.has_manager_public == 0);
    cxl_node_key_wipe(&mgr);
    cxl_node_key_wipe(&got);
}

static void test_secret_files(void)
{
    uint8_t a[32], b[32];
    const char *f = path("master.secret");
    CHECK_EQ(cxl_secret_file_create(f, a), 0);
    CHECK_FAILS(cxl_secret_file_create(f, b), CXL_EINVAL, "already exists");
    CHECK_EQ(cxl_secret_file_load(f, b), 0);
    CHECK(memcmp(a, b, 32) == 0);
    struct stat st;
    CHECK_EQ(stat(f, &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(st.st_size, 65);
    write_text(f, "# crypto mode\n  00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n",
               0600);
    CHECK_EQ(cxl_secret_file_load(f, b), 0);
    CHECK(b[0] == 0x00 && b[1] == 0x11 && b[31] == 0xff);
    write_text(f, "0011\n", 0600);
    CHECK_FAILS(cxl_secret_file_load(f, b), CXL_EINVAL, ":1: expected one line of 64 hex");
    write_text(f, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nff\n", 0600);
    CHECK_FAILS(cxl_secret_file_load(f, b), CXL_EINVAL, ":2:");
    write_text(f, "\n", 0600);
    CHECK_FAILS(cxl_secret_file_load(f, b), CXL_EINVAL, "empty");
    write_text(f, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0640);
    CHECK_FAILS(cxl_secret_file_load(f, b), CXL_EDENIED, "mode 0640");
    CHECK_EQ(cxl_private_file_check(f), CXL_EDENIED);
    chmod(f, 0600);
    CHECK_EQ(cxl_private_file_check(f), 0);
    /* too large for what the file may hold */
    char buf[8];
    size_t n;
    CHECK_FAILS(cxl_private_file_read(f, buf, sizeof buf, &n), CXL_EINVAL, "more than");
    sodium_memzero(a, sizeof a);
    sodium_memzero(b, sizeof b);
}

/* K(r, e) computed here from the spec's words, by a second route. */
static void test_region_key(void)
{
    uint8_t master[32], k1[32], k2[32], want[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)i;
    uint8_t in[14 + 5 + 1 + 8];
    memcpy(in, "cxl-dsm region", 14);
    memcpy(in + 14, "ring1", 5);
    in[19] = 0;
    uint64_t e = 0x0102030405060708ull;
    for (int i = 0; i < 8; i++)
        in[20 + i] = (uint8_t)(e >> (8 * i)); /* little-endian */
    crypto_generichash(want, 32, in, sizeof in, master, 32);
    CHECK_EQ(cxl_region_key(master, "ring1", e, k1), 0);
    CHECK(memcmp(k1, want, 32) == 0);
    CHECK_EQ(cxl_region_key(master, "ring1", e + 1, k2), 0);
    CHECK(memcmp(k1, k2, 32) != 0);
    CHECK_EQ(cxl_region_key(master, "ring10", e, k2), 0);
    CHECK(memcmp(k1, k2, 32) != 0);
    master[0] ^= 1;
    CHECK_EQ(cxl_region_key(master, "ring1", e, k2), 0);
    CHECK(memcmp(k1, k2, 32) != 0);
    CHECK_FAILS(cxl_region_key(master, "", 1, k2), CXL_EINVAL, "region name");
    char longname[80];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_FAILS(cxl_region_key(master, longname, 1, k2), CXL_EINVAL, "region name");
    /* a node key: BLAKE2b-256(key = K(r, e), "cxl-dsm node" || node u16 LE) */
    uint8_t nin[12 + 2] = "cxl-dsm node", kn[32], kn2[32];
    nin[12] = 0x34, nin[13] = 0x12;
    crypto_generichash(want, 32, nin, sizeof nin, k1, 32);
    CHECK_EQ(cxl_node_region_key(k1, 0x1234, kn), 0);
    CHECK(memcmp(kn, want, 32) == 0);
    CHECK_EQ(cxl_node_region_key(k1, 0x1235, kn2), 0);
    CHECK(memcmp(kn, kn2, 32) != 0 && memcmp(kn, k1, 32) != 0);
    memcpy(kn2, k1, 32); /* in place */
    CHECK_EQ(cxl_node_region_key(kn2, 0x1234, kn2), 0);
    CHECK(memcmp(kn2, kn, 32) == 0);
    CHECK(cxl_sec_user_valid("alice") && cxl_sec_user_valid("a:b!c") && !cxl_sec_user_valid("") &&
          !cxl_sec_user_valid("a b") && !cxl_sec_user_valid("a#b") && !cxl_sec_user_valid("\x01"));

    char fp1[CXL_SEC_FINGERPRINT_LEN + 1], fp2[CXL_SEC_FINGERPRINT_LEN + 1], hex[65];
    cxl_key_fingerprint(k1, fp1);
    cxl_key_fingerprint(k2, fp2);
    CHECK_EQ(strlen(fp1), CXL_SEC_FINGERPRINT_LEN);
    CHECK(strcmp(fp1, fp2) != 0);
    sodium_bin2hex(hex, sizeof hex, k1, 32);
    CHECK(strstr(hex, fp1) == NULL); /* not a piece of the key */
}

static void test_names_and_hex(void)
{
    CHECK(cxl_sec_name_valid("ring0"));
    CHECK(cxl_sec_name_valid("redis-server"));
    CHECK(cxl_sec_name_valid("a.b_c-D9"));
    CHECK(!cxl_sec_name_valid(""));
    CHECK(!cxl_sec_name_valid(NULL));
    CHECK(!cxl_sec_name_valid("0ring"));
    CHECK(!cxl_sec_name_valid("-x"));
    CHECK(!cxl_sec_name_valid("a b"));
    CHECK(!cxl_sec_name_valid("a(b)"));
    char n63[64], n64[65];
    memset(n63, 'x', 63), n63[63] = '\0';
    memset(n64, 'x', 64), n64[64] = '\0';
    CHECK(cxl_sec_name_valid(n63));
    CHECK(!cxl_sec_name_valid(n64));
    uint8_t out[32];
    const char *h = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    CHECK_EQ(cxl_hex32_parse(h, 64, out), 0);
    CHECK_EQ(cxl_hex32_parse(h, 62, out), CXL_EINVAL);
    CHECK_EQ(cxl_hex32_parse("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 64,
                             out), CXL_EINVAL);
    CHECK_EQ(cxl_hex32_parse(" 0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 64,
                             out), CXL_EINVAL);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_key_files();
    test_secret_files();
    test_region_key();
    test_names_and_hex();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("test_sec_keys");
}
