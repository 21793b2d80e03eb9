/* keys.c - this end's key pair and the peer's public key, from files only. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cxl/error.h"
#include "tunnel.h"

#define PEER_FILE_MAX 4096

/* The whole peer file; a file that holds a secret must be private. */
static int read_peer_file(const char *path, char *buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "--peer-key %s", path);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PEER_FILE_MAX) {
        close(fd);
        return cxl_fail(CXL_EINVAL, "--peer-key %s: not a regular file of at most %d bytes", path,
                        PEER_FILE_MAX);
    }
    ssize_t n = read(fd, buf, PEER_FILE_MAX);
    close(fd);
    if (n < 0)
        return cxl_fail_errno(CXL_ESYS, "--peer-key %s", path);
    buf[n] = '\0';
    *len = (size_t)n;
    /* (checked on the descriptor read, not the path: no swap in between) */
    if (strstr(buf, "secret") && ((st.st_mode & 077) != 0 || st.st_uid != geteuid())) {
        sodium_memzero(buf, (size_t)n);
        return cxl_fail(CXL_EDENIED, "--peer-key %s holds a secret key and is not private (mode 0600, "
                        "owned by you); give a file with only its 'public' line", path);
    }
    return 0;
}

/* `public <64 hex>` or a line of 64 hex digits; blank lines and # comments
 * skipped, other lines ignored (a key file's secret and manager lines). */
static int find_public(const char *path, char *text, uint8_t out[32])
{
    int found = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strcspn(line, "\r");
        line[n] = '\0';
        if (line[0] == '#')
            continue;
        const char *hex = strncmp(line, "public ", 7) == 0 ? line + 7 : line;
        if (strlen(hex) != 64)
            continue;
        if (cxl_hex32_parse(hex, 64, out) != 0)
            return cxl_fail(CXL_EINVAL, "--peer-key %s: '%.12s...' is not 64 hex digits", path, hex);
        if (found++)
            return cxl_fail(CXL_EINVAL, "--peer-key %s: more than one public key", path);
    }
    if (!found)
        return cxl_fail(CXL_EINVAL, "--peer-key %s: no public key (a line 'public <64 hex>')", path);
    return 0;
}

int tun_keys_load(const char *key_path, const char *peer_path, struct tun_keys *k)
{
    char buf[PEER_FILE_MAX + 1];
    size_t len = 0;
    memset(k, 0, sizeof *k);
    if (cxl_node_key_load(key_path, &k->self) != 0)
        return cxl_fail(CXL_EINVAL, "--key %s: %s", key_path, cxl_last_error());
    int rc = read_peer_file(peer_path, buf, &len);
    if (rc == 0)
        rc = find_public(peer_path, buf, k->self.manager_public);
    sodium_memzero(buf, sizeof buf);
    if (rc != 0) {
        tun_keys_wipe(k);
        return rc;
    }
    k->self.has_manager_public = 1;
    return 0;
}

void tun_keys_wipe(struct tun_keys *k)
{
    cxl_node_key_wipe(&k->self);
}
