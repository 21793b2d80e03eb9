#!/usr/bin/python3
"""compare_report.py - the compare matrix's report (bench/compare.sh): the raw
rows of every round in, one row per (label, op, threads, pipeline, value size)
out, as CSV and as a Markdown table with ratios against NativeTCP.

  compare_report.py RAW_CSV OUT_CSV OUT_MD DESCRIPTION

RAW_CSV rows are cxl_ring_direct --compare-csv rows whose label is
"<label>@<round>". Rates and latencies are medians over the rounds; the ratio
against NativeTCP is the median of the per-round ratios (both measured in the
same round, seconds apart), which cancels most of the machine's drift."""
import csv
import statistics
import sys

COLUMNS = ["label", "op", "threads", "pipeline", "value_size", "requests", "throughput_rps",
           "p50_us", "p99_us", "p99.9_us", "errors"]


def main():
    raw_path, out_csv, out_md, description = sys.argv[1:5]
    runs = {}  # (label, op, threads, pipeline, value) -> {round: row}
    order = []
    with open(raw_path) as f:
        for row in csv.DictReader(f):
            label, rnd = row["label"].rsplit("@", 1)
            key = (label, row["op"], row["threads"], row["pipeline"], row["value_size"])
            if key not in runs:
                runs[key] = {}
                order.append(key)
            runs[key][rnd] = row
    med = lambda rows, col: statistics.median(float(r[col]) for r in rows)
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for key in order:
            rows = list(runs[key].values())
            w.writerow(list(key) + [rows[0]["requests"], "%.0f" % med(rows, "throughput_rps"),
                                    "%.3f" % med(rows, "p50_us"), "%.3f" % med(rows, "p99_us"),
                                    "%.3f" % med(rows, "p99.9_us"), sum(int(r["errors"]) for r in rows)])

    def ratio(key, col, invert):
        base = runs.get(("NativeTCP",) + key[1:])
        if not base:
            return "-"
        per_round = []
        for rnd, row in runs[key].items():
            if rnd in base and float(row[col]) > 0 and float(base[rnd][col]) > 0:
                a, b = float(row[col]), float(base[rnd][col])
                per_round.append(b / a if invert else a / b)
        return "%.2f" % statistics.median(per_round) if per_round else "-"

    with open(out_md, "w") as f:
        f.write(description + "\n\n")
        f.write("| label | op | threads | in flight | value B | req/s (median) | req/s range | p50 us | p99 us "
                "| p99.9 us | errors | x NativeTCP req/s | NativeTCP p50 / p50 |\n")
        f.write("|" + " --- |" * 13 + "\n")
        for key in order:
            rows = list(runs[key].values())
            rates = [float(r["throughput_rps"]) for r in rows]
            f.write("| %s | %s | %s | %s | %s | %.0f | %.0f-%.0f | %.1f | %.1f | %.1f | %d | %s | %s |\n" % (
                key[0], key[1], key[2], key[3], key[4], med(rows, "throughput_rps"), min(rates), max(rates),
                med(rows, "p50_us"), med(rows, "p99_us"), med(rows, "p99.9_us"),
                sum(int(r["errors"]) for r in rows), ratio(key, "throughput_rps", False), ratio(key, "p50_us", True)))


if __name__ == "__main__":
    main()
