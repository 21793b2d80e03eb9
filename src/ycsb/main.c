/* main.c - cxl_ycsb: YCSB's CoreWorkload over Redis on every transport of
 * the compare matrix (docs/YCSB.md). */
#include <stdio.h>

#include "cxl/error.h"
#include "cxl/keyring.h"
#include "ycsb.h"

static const char *const db_what[] = {"the ring", "the secure ring (crypto)", "the secure ring (manager)",
                                      "TCP", "a Unix socket", "TLS", "the sodium tunnel", "a Redis Cluster"};
_Static_assert(sizeof db_what / sizeof db_what[0] == DB_CLUSTER + 1, "a name for every -db");

int main(int argc, char **argv)
{
    struct ycsb_opts o;
    struct ycsb_workload w;
    struct ycsb_result res;
    int rc = ycsb_options_parse(argc, argv, &o);
    if (rc != YCSB_EXIT_OK) {
        ycsb_options_free(&o);
        return rc;
    }
    if (ycsb_workload_init(&w, &o.props, o.run) != 0) {
        fprintf(stderr, "cxl_ycsb: %s\n", cxl_last_error());
        ycsb_options_free(&o);
        return YCSB_EXIT_USAGE;
    }
    if (cxl_keyring_open_opts(&o.shared.sec, &o.conn.kv.keys) != 0) {
        fprintf(stderr, "cxl_ycsb: %s\n", cxl_last_error());
        rc = YCSB_EXIT_FAIL;
        goto out;
    }
    char mix[256];
    ycsb_workload_mix(&w, mix, sizeof mix);
    fprintf(stderr, "cxl_ycsb: %s %s over %s%s%s: %lld records, %lld operations, %u thread(s), seed %llu\n",
            o.run ? "-run" : "-load", o.workload_name, db_what[o.db], o.addr[0] ? " " : "", o.addr,
            (long long)w.recordcount,
            (long long)(o.run ? w.operationcount : w.insertcount), o.threads, (unsigned long long)w.seed);
    if (o.run)
        fprintf(stderr, "cxl_ycsb: %s%s\n", mix, w.strict ? " (ycsb.strict: deleteproportion ignored, as YCSB)" : "");
    rc = ycsb_run(&o, &w, &res);
    if (rc && res.operations == 0 && res.seconds == 0) {
        fprintf(stderr, "cxl_ycsb: %s\n", cxl_last_error());
        rc = YCSB_EXIT_FAIL;
        goto out;
    }
    ycsb_report(stdout, &res);
    if (o.csv && ycsb_report_csv(&o, &w, &res) != 0)
        fprintf(stderr, "cxl_ycsb: --csv %s: %s\n", o.csv, cxl_last_error()), rc = 1;
    uint64_t failed = ycsb_measure_failures(&res.total);
    if (failed)
        fprintf(stderr, "cxl_ycsb: %llu operation(s) failed or read wrong values (Return=ERROR / "
                        "UNEXPECTED_STATE above)\n", (unsigned long long)failed);
    rc = rc || failed ? YCSB_EXIT_FAIL : YCSB_EXIT_OK;
out:
    cxl_keyring_close(o.conn.kv.keys);
    ycsb_workload_free(&w);
    ycsb_options_free(&o);
    return rc;
}
