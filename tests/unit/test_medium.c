/* test_medium.c - opening media: /dev/shm and a disk file, creating and
 * growing, offsets, NUMA binding and pre-faulting, bad paths and sizes; and
 * the flag parsers every tool uses. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "cxl/util.h"

static struct cxl_medium_config cfg_for(const char *path, uint64_t size, int create)
{
    struct cxl_medium_config cfg;
    cxl_medium_config_init(&cfg);
    cfg.path = path;
    cfg.map_size = size;
    cfg.create = create;
    return cfg;
}

/* Two independent mappings of one file see each other's writes. */
/* cfg is refused for why, creating or not, and opens once allowed. */
static void refused_unless_allowed(struct cxl_medium_config cfg, const char *why)
{
    struct cxl_medium *m;
    CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EDENIED, why);
    cfg.create = 0;
    CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EDENIED, why);
    cfg.allow_foreign = 1;
    CHECK_EQ(cxl_medium_open(&cfg, &m), 0);
    cxl_medium_close(m);
}

static void test_file_in(const char *dir)
{
    struct fixture f;
    fixture_path(&f, dir, "medium");
    struct cxl_medium *a, *b;
    struct cxl_medium_config cfg = cfg_for(f.path, 2 << 20, 0);
    CHECK_FAILS(cxl_medium_open(&cfg, &a), CXL_ESYS, "No such file");
    cfg.create = 1;
    CHECK_EQ(cxl_medium_open(&cfg, &a), 0);
    CHECK_EQ(cxl_medium_size(a), 2 << 20);
    CHECK_EQ(cxl_medium_kind(a), CXL_MEDIUM_FILE);
    struct stat st;
    CHECK_EQ(stat(f.path, &st), 0);
    CHECK_EQ(st.st_size, 2 << 20);
    cfg = cfg_for(f.path, 0, 0); /* whole file */
    cfg.prefault = 1;
    CHECK_EQ(cxl_medium_open(&cfg, &b), 0);
    CHECK_EQ(cxl_medium_size(b), 2 << 20);
    CHECK(cxl_medium_base(a) != cxl_medium_base(b));
    strcpy((char *)cxl_medium_base(a) + 4096, "hello-from-a");
    CHECK(strcmp((char *)cxl_medium_base(b) + 4096, "hello-from-a") == 0);
    char desc[256];
    cxl_medium_describe(b, desc, sizeof desc);
    CHECK(strstr(desc, "file") && strstr(desc, "2097152 bytes") && strstr(desc, "prefaulted"));
    cxl_medium_close(b);

    /* an offset window sees the same bytes shifted */
    cfg = cfg_for(f.path, 8192, 0);
    cfg.map_offset = 4096;
    CHECK_EQ(cxl_medium_open(&cfg, &b), 0);
    CHECK(strcmp((char *)cxl_medium_base(b), "hello-from-a") == 0);
    cxl_medium_close(b);
    cfg.map_offset = 4096 + 100; /* unaligned offsets work too */
    CHECK_EQ(cxl_medium_open(&cfg, &b), 0);
    CHECK(memcmp(cxl_medium_base(b), (char *)cxl_medium_base(a) + 4196, 64) == 0);
    cxl_medium_close(b);

    /* too small without create; grown with create */
    cfg = cfg_for(f.path, 4 << 20, 0);
    CHECK_FAILS(cxl_medium_open(&cfg, &b), CXL_ETOOSMALL, "needs 4194304");
    cfg.map_offset = 3 << 20;
    cfg.map_size = 0;
    CHECK_FAILS(cxl_medium_open(&cfg, &b), CXL_ETOOSMALL, "past its end");
    cfg = cfg_for(f.path, 4 << 20, 1);
    CHECK_EQ(cxl_medium_open(&cfg, &b), 0);
    CHECK(strcmp((char *)cxl_medium_base(b) + 4096, "hello-from-a") == 0); /* kept */
    cxl_medium_close(b);
    cxl_medium_close(a);
    unlink(f.path);
}

static void test_numa(void)
{
    struct fixture f;
    fixture_path(&f, "/dev/shm", "numa");
    struct cxl_medium *m;
    struct cxl_medium_config cfg = cfg_for(f.path, 1 << 20, 1);
    cfg.numa_node = 0;
    cfg.prefault = 1;
    CHECK_EQ(cxl_medium_open(&cfg, &m), 0);
    char desc[256];
    CHECK(strstr(cxl_medium_describe(m, desc, sizeof desc), "numa node 0") != NULL);
    cxl_medium_close(m);
    cfg.numa_node = 63;
    CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EINVAL, "NUMA node 63");
    unlink(f.path);
}

static void test_bad_paths(void)
{
    struct cxl_medium *m;
    struct cxl_medium_config cfg = cfg_for("/tmp", 4096, 0);
    CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EINVAL, "not a regular file");
    cfg = cfg_for("/dev/null", 4096, 0);
    CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EINVAL, "neither /dev/uioN nor /dev/daxX.Y");
    cfg = cfg_for("/nonexistent-dir/x.raw", 4096, 1);
    CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_ESYS, "/nonexistent-dir/x.raw");
    cfg = cfg_for("/dev/uio9", 4096, 0);
    CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_ESYS, "/dev/uio9");
}

/* A file another local user controls is refused: it would see and drive
 * the rings. New files are 0600 whatever the umask. */
static void test_foreign(void)
{
    struct fixture f;
    fixture_path(&f, "/dev/shm", "foreign");
    struct cxl_medium *m;
    struct cxl_medium_config cfg = cfg_for(f.path, 1 << 20, 1);
    mode_t old = umask(0);
    CHECK_EQ(cxl_medium_open(&cfg, &m), 0);
    umask(old);
    struct stat st;
    CHECK_EQ(stat(f.path, &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0600);
    cxl_medium_close(m);
    /* writable by everyone (as `touch` under umask 0 or a hostile pre-creation leaves it) */
    CHECK_EQ(chmod(f.path, 0666), 0);
    CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EDENIED, "writable by every local user (mode 0666)");
    cfg.allow_foreign = 1;
    CHECK_EQ(cxl_medium_open(&cfg, &m), 0);
    cxl_medium_close(m);
    cfg.allow_foreign = 0;
    CHECK_EQ(chmod(f.path, 0660), 0); /* group-shared is fine */
    CHECK_EQ(cxl_medium_open(&cfg, &m), 0);
    cxl_medium_close(m);
    /* owned by another user (only root can make one here) */
    if (geteuid() == 0) {
        CHECK_EQ(chown(f.path, 65534, 65534), 0);
        refused_unless_allowed(cfg, "belongs to uid 65534");
        CHECK_EQ(chown(f.path, 0, 0), 0);
    }
    /* a symbolic link, even to our own file */
    char link[300];
    snprintf(link, sizeof link, "%s.link", f.path);
    CHECK_EQ(symlink(f.path, link), 0);
    struct cxl_medium_config lc = cfg_for(link, 1 << 20, 1);
    refused_unless_allowed(lc, "is a symbolic link");
    unlink(link);
    unlink(f.path);
}

/* The directories on the way: a symbolic link another user planted (in
 * /dev/shm, pointing at a directory of ours with a file of ours in it - as
 * /etc/passwd would be for root) is not followed; ours or root's is; a
 * directory of another user, or one others may write without the sticky
 * bit, is refused. */
static void test_foreign_dirs(void)
{
    char dir[300], file[330], link[300], via[340];
    struct fixture f;
    fixture_path(&f, "/dev/shm", "dirs");
    snprintf(dir, sizeof dir, "%s.d", f.path);
    snprintf(file, sizeof file, "%s/victim", dir);
    snprintf(link, sizeof link, "%s.link", f.path);
    snprintf(via, sizeof via, "%s/victim", link);
    CHECK_EQ(mkdir(dir, 0700), 0);
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0 && write(fd, "precious", 8) == 8);
    close(fd);
    CHECK_EQ(symlink(dir, link), 0);
    struct cxl_medium *m;
    struct cxl_medium_config cfg = cfg_for(via, 1 << 20, 1);
    CHECK_EQ(cxl_medium_open(&cfg, &m), 0); /* our own link: followed */
    cxl_medium_close(m);
    if (geteuid() == 0) {
        CHECK_EQ(lchown(link, 65534, 65534), 0);
        CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EDENIED, "is a symbolic link of uid 65534");
        struct stat st;
        CHECK(stat(file, &st) == 0 && st.st_size == 1 << 20); /* not touched again */
        CHECK_EQ(chown(dir, 65534, 65534), 0);
        struct cxl_medium_config direct = cfg_for(file, 1 << 20, 1);
        CHECK_FAILS(cxl_medium_open(&direct, &m), CXL_EDENIED, "belongs to uid 65534");
        direct.allow_foreign = 1;
        CHECK_EQ(cxl_medium_open(&direct, &m), 0);
        cxl_medium_close(m);
        CHECK_EQ(chown(dir, 0, 0), 0);
    }
    CHECK_EQ(chmod(dir, 0777), 0);
    struct cxl_medium_config direct = cfg_for(file, 1 << 20, 1);
    CHECK_FAILS(cxl_medium_open(&direct, &m), CXL_EDENIED, "writable by others without the sticky bit");
    CHECK_EQ(chmod(dir, 01777), 0);
    CHECK_EQ(cxl_medium_open(&direct, &m), 0);
    cxl_medium_close(m);
    struct cxl_medium_config rel = cfg_for("victim", 1 << 20, 1); /* relative: from the working directory */
    char cwd[300];
    CHECK(getcwd(cwd, sizeof cwd) != NULL && chdir(dir) == 0);
    CHECK_EQ(cxl_medium_open(&rel, &m), 0);
    cxl_medium_close(m);
    CHECK_EQ(chdir(cwd), 0);
    unlink(link);
    unlink(file);
    rmdir(dir);
}

/* A link of ours is followed by walking its target: a directory (or link)
 * of another user on the target's way is refused as on the path itself. */
static void test_link_targets(void)
{
    char dir[300], file[330], evil[300], evil_in[330], link[300], via[340], rel[300], relvia[340], loop[300],
        loopvia[340];
    struct fixture f;
    fixture_path(&f, "/dev/shm", "targets");
    snprintf(dir, sizeof dir, "%s.d", f.path);
    snprintf(file, sizeof file, "%s/victim", dir);
    snprintf(evil, sizeof evil, "%s.evil", f.path);
    snprintf(evil_in, sizeof evil_in, "%s/in", evil);
    snprintf(link, sizeof link, "%s.link", f.path);
    snprintf(via, sizeof via, "%s/victim", link);
    snprintf(rel, sizeof rel, "%s.rel", f.path);
    snprintf(relvia, sizeof relvia, "%s/victim", rel);
    snprintf(loop, sizeof loop, "%s.loop", f.path);
    snprintf(loopvia, sizeof loopvia, "%s/victim", loop);
    CHECK_EQ(mkdir(dir, 0700), 0);
    CHECK_EQ(mkdir(evil, 0755), 0);
    CHECK_EQ(symlink(dir, evil_in), 0);       /* evil/in -> the victim's directory */
    CHECK_EQ(symlink(evil_in, link), 0);      /* our link -> evil/in */
    CHECK_EQ(symlink(strrchr(dir, '/') + 1, rel), 0); /* relative: the directory next to it */
    CHECK_EQ(symlink(strrchr(loop, '/') + 1, loop), 0);
    struct cxl_medium *m;
    struct cxl_medium_config cfg = cfg_for(via, 1 << 20, 1);
    CHECK_EQ(cxl_medium_open(&cfg, &m), 0); /* all ours: followed through both links */
    cxl_medium_close(m);
    struct cxl_medium_config rcfg = cfg_for(relvia, 1 << 20, 0);
    CHECK_EQ(cxl_medium_open(&rcfg, &m), 0);
    cxl_medium_close(m);
    struct cxl_medium_config lcfg = cfg_for(loopvia, 1 << 20, 1);
    CHECK_FAILS(cxl_medium_open(&lcfg, &m), CXL_EINVAL, "more than 40 symbolic links");
    if (geteuid() == 0) {
        CHECK_EQ(lchown(evil_in, 65534, 65534), 0);
        CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EDENIED, "'in' on its path is a symbolic link of uid 65534");
        CHECK_EQ(lchown(evil_in, 0, 0), 0);
        CHECK_EQ(chown(evil, 65534, 65534), 0); /* its owner could swap 'in' */
        CHECK_FAILS(cxl_medium_open(&cfg, &m), CXL_EDENIED, "belongs to uid 65534");
    }
    unlink(link);
    unlink(rel);
    unlink(loop);
    unlink(evil_in);
    rmdir(evil);
    unlink(file);
    rmdir(dir);
}

static void test_parsers(void)
{
    uint64_t v;
    uint32_t u;
    CHECK_EQ(cxl_parse_size("--map-size", "4096", &v), 0);
    CHECK_EQ(v, 4096);
    CHECK_EQ(cxl_parse_size("--map-size", "64M", &v), 0);
    CHECK_EQ(v, 64ull << 20);
    CHECK_EQ(cxl_parse_size("--map-size", "1GiB", &v), 0);
    CHECK_EQ(v, 1ull << 30);
    CHECK_EQ(cxl_parse_size("--map-size", "0x1000", &v), 0);
    CHECK_EQ(v, 4096);
    CHECK_FAILS(cxl_parse_size("--map-size", "12Q", &v), CXL_EINVAL, "--map-size: unknown size unit");
    CHECK_FAILS(cxl_parse_size("--map-size", "-5", &v), CXL_EINVAL, "not an unsigned number");
    CHECK_FAILS(cxl_parse_size("--map-size", "", &v), CXL_EINVAL, "missing value");
    CHECK_FAILS(cxl_parse_size("--map-size", "99999999999T", &v), CXL_EINVAL, "too large");
    CHECK_EQ(cxl_parse_u32("--rings", "010", 1, 256, &u), 0); /* decimal, not octal */
    CHECK_EQ(u, 10);
    CHECK_EQ(cxl_parse_size("--offset", "08", &v), 0);
    CHECK_EQ(v, 8);
    CHECK_EQ(cxl_parse_u32("--rings", "4", 1, 256, &u), 0);
    CHECK_EQ(u, 4);
    CHECK_FAILS(cxl_parse_u32("--rings", "0", 1, 256, &u), CXL_EINVAL, "--rings: 0 is out of range [1, 256]");
    CHECK_FAILS(cxl_parse_u32("--rings", "4x", 1, 256, &u), CXL_EINVAL, "not a whole number");
    CHECK_FAILS(cxl_parse_u32("--rings", "abc", 1, 256, &u), CXL_EINVAL, "not a number");
    char host[64];
    uint16_t port;
    CHECK_EQ(cxl_parse_hostport("--sec-mgr", "127.0.0.1:19001", host, sizeof host, &port), 0);
    CHECK(strcmp(host, "127.0.0.1") == 0);
    CHECK_EQ(port, 19001);
    CHECK_FAILS(cxl_parse_hostport("--sec-mgr", "127.0.0.1", host, sizeof host, &port), CXL_EINVAL, "HOST:PORT");
    CHECK_FAILS(cxl_parse_hostport("--sec-mgr", "h:70000", host, sizeof host, &port), CXL_EINVAL, "out of range");
}

int main(void)
{
    test_file_in("/dev/shm");
    test_file_in("/tmp");
    test_numa();
    test_bad_paths();
    test_foreign();
    test_foreign_dirs();
    test_link_targets();
    test_parsers();
    return check_summary("test_medium");
}
