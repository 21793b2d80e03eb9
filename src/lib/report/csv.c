/* csv.c - the benchmarks' CSV files: appended to (the directory made, the
 * header written when the file is new), text fields quoted as RFC 4180 says. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cxl/error.h"
#include "report/csv.h"

/* mkdir -p of the directory part of path */
static int make_parent_dirs(const char *path)
{
    char dir[512];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return cxl_fail(CXL_EINVAL, "path too long: %s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0775) != 0 && errno != EEXIST)
            return cxl_fail_errno(CXL_ESYS, "cannot create directory %s", dir);
        *p = '/';
    }
    return 0;
}

void cxl_csv_field(FILE *f, const char *text)
{
    if (!text[strcspn(text, ",\"\r\n")]) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

FILE *cxl_csv_append(const char *path, const char *header)
{
    if (make_parent_dirs(path) != 0)
        return NULL;
    FILE *f = fopen(path, "a");
    if (!f) {
        cxl_fail_errno(CXL_ESYS, "cannot open %s", path);
        return NULL;
    }
    if (ftell(f) == 0)
        fprintf(f, "%s\n", header);
    return f;
}
