/* report.c - the end of a run: YCSB's own output lines ([OVERALL],
 * RunTime(ms) ...; per operation type Operations, AverageLatency(us),
 * Min/Max, 50th/95th/99th percentiles, Return=...), which scripts written
 * for YCSB parse, and one CSV row per phase for the compare matrix. */
#include <stdio.h>
#include <string.h>

#include "report/csv.h"
#include "ycsb.h"

static double us(uint64_t ns) { return (double)ns / 1000.0; }
static long long us_int(uint64_t ns) { return (long long)((ns + 500) / 1000); }

static void report_op(FILE *out, enum ycsb_op op, const struct ycsb_op_stats *s)
{
    const char *name = ycsb_op_name(op);
    const struct cxl_hist *h = &s->hist;
    fprintf(out, "[%s], Operations, %llu\n", name, (unsigned long long)h->count);
    fprintf(out, "[%s], AverageLatency(us), %.3f\n", name, us((uint64_t)cxl_hist_mean(h)));
    fprintf(out, "[%s], MinLatency(us), %lld\n", name, us_int(h->min_ns));
    fprintf(out, "[%s], MaxLatency(us), %lld\n", name, us_int(h->max_ns));
    fprintf(out, "[%s], 50thPercentileLatency(us), %lld\n", name, us_int(cxl_hist_quantile(h, 0.50)));
    fprintf(out, "[%s], 95thPercentileLatency(us), %lld\n", name, us_int(cxl_hist_quantile(h, 0.95)));
    fprintf(out, "[%s], 99thPercentileLatency(us), %lld\n", name, us_int(cxl_hist_quantile(h, 0.99)));
    for (int r = 0; r < RET_TYPES; r++)
        if (s->returns[r] || r == RET_OK)
            fprintf(out, "[%s], Return=%s, %llu\n", name, ycsb_return_name((enum ycsb_return)r),
                    (unsigned long long)s->returns[r]);
}

void ycsb_report(FILE *out, const struct ycsb_result *res)
{
    double ms = res->seconds * 1000.0;
    fprintf(out, "[OVERALL], RunTime(ms), %.0f\n", ms);
    fprintf(out, "[OVERALL], Throughput(ops/sec), %.3f\n", ms > 0 ? res->operations / res->seconds : 0.0);
    for (int op = 0; op < OP_TYPES; op++)
        if (res->total.op[op].hist.count)
            report_op(out, (enum ycsb_op)op, &res->total.op[op]);
    fflush(out);
}

#define CSV_OPS OP_VERIFY /* read .. delete */

static void csv_header(char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "label,workload,db,threads,records,operations,runtime_ms,throughput_ops_sec");
    for (int op = 0; op < CSV_OPS; op++) {
        const char *c = ycsb_op_column((enum ycsb_op)op);
        n += (size_t)snprintf(buf + n, cap - n, ",%s_ops,%s_avg_us,%s_p50_us,%s_p95_us,%s_p99_us", c, c, c, c, c);
    }
    snprintf(buf + n, cap - n, ",phase,errors,delay_ns,seed");
}

int ycsb_report_csv(const struct ycsb_opts *o, const struct ycsb_workload *w, const struct ycsb_result *res)
{
    char header[1024];
    csv_header(header, sizeof header);
    FILE *f = cxl_csv_append(o->csv, header);
    if (!f)
        return -1;
    cxl_csv_field(f, o->label ? o->label : o->db_name);
    fputc(',', f);
    cxl_csv_field(f, o->workload_name);
    fprintf(f, ",%s,%u,%lld,%llu,%.0f,%.3f", o->db_name, o->threads, (long long)w->recordcount,
            (unsigned long long)res->operations, res->seconds * 1000.0,
            res->seconds > 0 ? res->operations / res->seconds : 0.0);
    for (int op = 0; op < CSV_OPS; op++) {
        const struct cxl_hist *h = &res->total.op[op].hist;
        if (h->count == 0) {
            fprintf(f, ",0,,,,");
            continue;
        }
        fprintf(f, ",%llu,%.2f,%.2f,%.2f,%.2f", (unsigned long long)h->count, us((uint64_t)cxl_hist_mean(h)),
                us(cxl_hist_quantile(h, 0.50)), us(cxl_hist_quantile(h, 0.95)), us(cxl_hist_quantile(h, 0.99)));
    }
    int ring = o->db == DB_RING || o->db == DB_RING_CRYPTO || o->db == DB_RING_SECURE;
    fprintf(f, ",%s,%llu,%u,%llu\n", o->run ? "run" : "load", (unsigned long long)ycsb_measure_failures(&res->total),
            ring ? o->conn.kv.delay.latency_ns : 0, (unsigned long long)w->seed);
    return fclose(f) == 0 ? 0 : -1;
}
