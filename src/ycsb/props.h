/* props.h - YCSB's properties: workload files (Java .properties: `name=value`
 * or `name: value`, `#` and `!` comments, blank lines) and `-p name=value`,
 * each value remembered with where it came from ("workloads/workloada:12",
 * "-p") so that an error names it. A later setting replaces an earlier one
 * (YCSB: -p wins over -P, a later -P over an earlier one, in command-line
 * order). Typed getters validate and fail with a message naming the
 * property, its origin and what is allowed (cxl_last_error()). */
#ifndef CXL_YCSB_PROPS_H
#define CXL_YCSB_PROPS_H

#include <stdint.h>

#define YCSB_PROPS_MAX 256

struct ycsb_prop {
    char *name, *value, *origin;
};

struct ycsb_props {
    struct ycsb_prop p[YCSB_PROPS_MAX];
    int n;
};

void ycsb_props_init(struct ycsb_props *p);
void ycsb_props_free(struct ycsb_props *p);
/* 0, or CXL_EINVAL/CXL_ESYS with a message (file:line of a malformed line,
 * an unreadable file, too many properties). */
int ycsb_props_load_file(struct ycsb_props *p, const char *path);
/* "name=value" as -p gives it */
int ycsb_props_set_arg(struct ycsb_props *p, const char *arg);
int ycsb_props_set(struct ycsb_props *p, const char *name, const char *value, const char *origin);

const char *ycsb_props_get(const struct ycsb_props *p, const char *name);     /* NULL: not set */
const char *ycsb_props_origin(const struct ycsb_props *p, const char *name);  /* NULL: not set */

/* Typed values: the default when not set; CXL_EINVAL naming the property if
 * malformed or out of [min, max]. Booleans: true/false (any case), 1/0. */
int ycsb_props_i64(const struct ycsb_props *p, const char *name, int64_t def, int64_t min, int64_t max,
                   int64_t *out);
int ycsb_props_double(const struct ycsb_props *p, const char *name, double def, double min, double max,
                      double *out);
int ycsb_props_bool(const struct ycsb_props *p, const char *name, int def, int *out);
/* One of choices (NULL-terminated, case-sensitive as YCSB's); *out = index. */
int ycsb_props_choice(const struct ycsb_props *p, const char *name, const char *def,
                      const char *const *choices, int *out);

/* Every property set must be one of known (NULL-terminated): else
 * CXL_EINVAL "unknown property 'x' (file:line)". */
int ycsb_props_check_known(const struct ycsb_props *p, const char *const *known);

#endif
