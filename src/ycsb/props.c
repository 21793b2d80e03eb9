/* props.c - YCSB's properties (props.h): workload files in the subset of
 * Java's .properties that YCSB's files use, `-p name=value`, each value with
 * its origin, and the typed getters whose messages name the property, its
 * origin and what is allowed.
 *
 * The file syntax: a line is blank, a comment (first non-blank `#` or `!`)
 * or `name=value` / `name: value` (the first `=` or `:` separates; blanks
 * around name and value are trimmed). Java's whitespace separator, line
 * continuations and backslash escapes are not taken: YCSB's workload files
 * do not use them, and a line they would change is better refused. */
#include "props.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cxl/error.h"

void ycsb_props_init(struct ycsb_props *p)
{
    memset(p, 0, sizeof(*p));
}

void ycsb_props_free(struct ycsb_props *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->p[i].name);
        free(p->p[i].value);
        free(p->p[i].origin);
    }
    ycsb_props_init(p);
}

static const struct ycsb_prop *find(const struct ycsb_props *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->p[i].name, name))
            return &p->p[i];
    return NULL;
}

static int replace(char **field, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return cxl_fail(CXL_ESYS, "out of memory");
    free(*field);
    *field = copy;
    return 0;
}

int ycsb_props_set(struct ycsb_props *p, const char *name, const char *value, const char *origin)
{
    struct ycsb_prop *e = (struct ycsb_prop *)find(p, name);
    if (!e) {
        if (p->n == YCSB_PROPS_MAX)
            return cxl_fail(CXL_EINVAL, "too many properties (at most %d): '%s' (%s)", YCSB_PROPS_MAX,
                            name, origin);
        e = &p->p[p->n];
        *e = (struct ycsb_prop){0};
        if (replace(&e->name, name))
            return CXL_ESYS;
        p->n++;
    }
    if (replace(&e->value, value) || replace(&e->origin, origin))
        return CXL_ESYS;
    return 0;
}

/* Trims s in place and returns its first non-blank character. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int blank_name(const char *name)
{
    if (!*name)
        return 1;
    for (; *name; name++)
        if (isspace((unsigned char)*name))
            return 1;
    return 0;
}

/* One line of a file: 0 for a blank or comment line too. */
static int parse_line(struct ycsb_props *p, char *line, const char *origin)
{
    char *s = trim(line);
    if (!*s || *s == '#' || *s == '!')
        return 0;
    char *sep = strpbrk(s, "=:");
    if (!sep)
        return cxl_fail(CXL_EINVAL, "%s: expected name=value", origin);
    *sep = '\0';
    char *name = trim(s), *value = trim(sep + 1);
    if (blank_name(name))
        return cxl_fail(CXL_EINVAL, "%s: expected name=value (a name without blanks)", origin);
    return ycsb_props_set(p, name, value, origin);
}

int ycsb_props_load_file(struct ycsb_props *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cxl_fail_errno(CXL_ESYS, "cannot read the workload file '%s'", path);
    char *line = NULL, origin[4096];
    size_t cap = 0;
    int rc = 0;
    for (long no = 1; !rc && getline(&line, &cap, f) >= 0; no++) {
        snprintf(origin, sizeof(origin), "%s:%ld", path, no);
        rc = parse_line(p, line, origin);
    }
    if (!rc && ferror(f))
        rc = cxl_fail_errno(CXL_ESYS, "cannot read the workload file '%s'", path);
    free(line);
    fclose(f);
    return rc;
}

int ycsb_props_set_arg(struct ycsb_props *p, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return cxl_fail(CXL_EINVAL, "-p '%s': expected name=value", arg);
    char *copy = strdup(arg);
    if (!copy)
        return cxl_fail(CXL_ESYS, "out of memory");
    copy[eq - arg] = '\0';
    char *name = trim(copy), *value = trim(copy + (eq - arg) + 1);
    int rc = blank_name(name) ? cxl_fail(CXL_EINVAL, "-p '%s': expected name=value (a name without blanks)", arg)
                              : ycsb_props_set(p, name, value, "-p");
    free(copy);
    return rc;
}

const char *ycsb_props_get(const struct ycsb_props *p, const char *name)
{
    const struct ycsb_prop *e = find(p, name);
    return e ? e->value : NULL;
}

const char *ycsb_props_origin(const struct ycsb_props *p, const char *name)
{
    const struct ycsb_prop *e = find(p, name);
    return e ? e->origin : NULL;
}

/* --- typed values ------------------------------------------------------------ */

/* strtoll's or strtod's parse of value ended at end: the whole of it, no
 * leading blank, no overflow (errno cleared before the call). */
static int whole(const char *value, const char *end)
{
    return *value && !isspace((unsigned char)*value) && !*end && !errno;
}

/* A value as a message shows it: as is, or '' when empty. */
static const char *shown(const char *value)
{
    return *value ? value : "''";
}

int ycsb_props_i64(const struct ycsb_props *p, const char *name, int64_t def, int64_t min, int64_t max,
                   int64_t *out)
{
    const struct ycsb_prop *e = find(p, name);
    if (!e) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(e->value, &end, 10);
    if (!whole(e->value, end) || v < min || v > max)
        return cxl_fail(CXL_EINVAL, "%s: %s is not an integer in %" PRId64 "..%" PRId64 " (%s)", name,
                        shown(e->value), min, max, e->origin);
    *out = v;
    return 0;
}

int ycsb_props_double(const struct ycsb_props *p, const char *name, double def, double min, double max,
                      double *out)
{
    const struct ycsb_prop *e = find(p, name);
    if (!e) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(e->value, &end);
    if (!whole(e->value, end) || !(v >= min && v <= max))
        return cxl_fail(CXL_EINVAL, "%s: %s is not a number in %.17g..%.17g (%s)", name, shown(e->value), min, max,
                        e->origin);
    *out = v;
    return 0;
}

int ycsb_props_bool(const struct ycsb_props *p, const char *name, int def, int *out)
{
    const struct ycsb_prop *e = find(p, name);
    if (!e) {
        *out = def;
        return 0;
    }
    if (!strcasecmp(e->value, "true") || !strcmp(e->value, "1"))
        *out = 1;
    else if (!strcasecmp(e->value, "false") || !strcmp(e->value, "0"))
        *out = 0;
    else
        return cxl_fail(CXL_EINVAL, "%s: '%s' is not a boolean (true, false, 1 or 0) (%s)", name, e->value,
                        e->origin);
    return 0;
}

/* "a, b, c" into buf */
static void join(char *buf, size_t size, const char *const *choices)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; choices[i] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", choices[i]);
}

int ycsb_props_choice(const struct ycsb_props *p, const char *name, const char *def,
                      const char *const *choices, int *out)
{
    const struct ycsb_prop *e = find(p, name);
    const char *value = e ? e->value : def, *origin = e ? e->origin : "default";
    for (int i = 0; choices[i]; i++)
        if (!strcmp(choices[i], value)) {
            *out = i;
            return 0;
        }
    char allowed[1024];
    join(allowed, sizeof(allowed), choices);
    return cxl_fail(CXL_EINVAL, "%s: unknown value '%s' (%s); allowed: %s", name, value, origin, allowed);
}

int ycsb_props_check_known(const struct ycsb_props *p, const char *const *known)
{
    for (int i = 0; i < p->n; i++) {
        int found = 0;
        for (int k = 0; known[k] && !found; k++)
            found = !strcmp(known[k], p->p[i].name);
        if (!found)
            return cxl_fail(CXL_EINVAL, "unknown property '%s' (%s)", p->p[i].name, p->p[i].origin);
    }
    return 0;
}
