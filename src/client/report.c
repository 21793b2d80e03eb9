/* report.c - a benchmark phase as one screen line (plus latency and cost
 * lines on request) and as a CSV row in the original prototype's format. */
#include <stdio.h>

#include "client.h"
#include "report/latency.h"
#include "cxl/util.h"
#include "report/csv.h"

#define CSV_HEADER "label,op,threads,rings,requests,pipeline,max_inflight,throughput_rps,avg_us," \
                   "p50_us,p75_us,p90_us,p99_us,p99.9_us,p99.99_us,push_retries,sleep_ms"

static const double quantiles[] = {0.50, 0.75, 0.90, 0.99, 0.999, 0.9999};

/* The delay model of this run: "-" over a socket (--via), else the ring's
 * (docs/RING.md, "The delay model"). */
static const char *delay_text(const struct client_opts *o, char *buf, size_t cap)
{
    return o->via ? "-" : cxl_delay_model_str(&o->kv.delay, buf, cap);
}

void report_phase(const struct client_opts *o, const struct phase_result *p)
{
    double rps = p->seconds > 0 ? p->requests / p->seconds : 0;
    char dm[64];
    printf("%-7s threads=%u pipeline=%u requests=%llu: %.0f req/s in %.3f s, errors %llu, delay model %s\n",
           bench_op_name(p->op), o->threads, o->max_inflight, (unsigned long long)p->requests, rps,
           p->seconds, (unsigned long long)p->errors, delay_text(o, dm, sizeof dm));
    if (p->hist) {
        printf("        latency us: avg %.2f", cxl_hist_mean(p->hist) / 1e3);
        static const char *names[] = {"p50", "p75", "p90", "p99", "p99.9", "p99.99"};
        for (int i = 0; i < 6; i++)
            printf(" %s %.2f", names[i], cxl_hist_quantile(p->hist, quantiles[i]) / 1e3);
        printf(" max %.2f\n", p->hist->max_ns / 1e3);
    }
    if (o->cost)
        printf("        cost: push retries %llu, waiting %.1f ms, sleeps %llu, lost %llu, timeouts %llu\n",
               (unsigned long long)p->push_retries, p->waited_ns / 1e6, (unsigned long long)p->sleeps,
               (unsigned long long)p->lost, (unsigned long long)p->timeouts);
    fflush(stdout);
}

#define COMPARE_HEADER "label,op,threads,pipeline,value_size,requests,throughput_rps,p50_us,p99_us," \
                       "p99.9_us,errors,delay_model"

/* The compare matrix's row (bench/compare.sh). */
static int report_compare(const struct client_opts *o, const struct phase_result *p)
{
    FILE *f = cxl_csv_append(o->compare_csv, COMPARE_HEADER);
    if (!f) {
        fprintf(stderr, "cxl_ring_direct: --compare-csv: %s\n", cxl_last_error());
        return -1;
    }
    double rps = p->seconds > 0 ? p->requests / p->seconds : 0;
    cxl_csv_field(f, o->label);
    fprintf(f, ",%s,%u,%u,%u,%llu,%.0f,", bench_op_name(p->op), o->threads, o->max_inflight, o->val_size,
            (unsigned long long)p->requests, rps);
    if (p->hist)
        fprintf(f, "%.3f,%.3f,%.3f", cxl_hist_quantile(p->hist, 0.50) / 1e3,
                cxl_hist_quantile(p->hist, 0.99) / 1e3, cxl_hist_quantile(p->hist, 0.999) / 1e3);
    else
        fprintf(f, ",,");
    char dm[64];
    fprintf(f, ",%llu,", (unsigned long long)p->errors);
    cxl_csv_field(f, delay_text(o, dm, sizeof dm));
    fputc('\n', f);
    return fclose(f) == 0 ? 0 : -1;
}

int report_csv(const struct client_opts *o, const struct phase_result *p)
{
    if (o->compare_csv && report_compare(o, p) != 0)
        return -1;
    FILE *f = cxl_csv_append(o->csv, CSV_HEADER);
    if (!f) {
        fprintf(stderr, "cxl_ring_direct: --csv: %s\n", cxl_last_error());
        return -1;
    }
    double rps = p->seconds > 0 ? p->requests / p->seconds : 0;
    cxl_csv_field(f, o->label);
    fprintf(f, ",%s,%u,%u,%llu,%d,%u,%.0f,", bench_op_name(p->op), o->threads, p->rings,
            (unsigned long long)p->requests, o->pipeline, o->max_inflight, rps);
    if (p->hist) {
        fprintf(f, "%.3f", cxl_hist_mean(p->hist) / 1e3);
        for (int i = 0; i < 6; i++)
            fprintf(f, ",%.3f", cxl_hist_quantile(p->hist, quantiles[i]) / 1e3);
    } else {
        fprintf(f, ",,,,,,");
    }
    fprintf(f, ",%llu,%.3f\n", (unsigned long long)p->push_retries, p->waited_ns / 1e6);
    return fclose(f) == 0 ? 0 : -1;
}
