#!/usr/bin/python3
"""bench/report.py - the reports of every cxl-dsm benchmark, in one place.

This file owns what a person reads after a benchmark: the Markdown tables and
their ratio columns, the medians over rounds and runs, the compare matrix's CSV
of medians, and the PNG charts (drawn by gnuplot, run as a subprocess). It also
owns turning the rows the clients write (cxl_ring_direct --csv, redis-benchmark
--csv) into the benchmarks' own CSV rows. The bench/*.sh scripts start the
servers and run the clients; they call this for everything else.

Python 3 standard library only (Debian's python3); every CSV file is read with
the csv module, so quoted fields are fine. `report.py SUBCOMMAND --help` tells
each subcommand's arguments. Exit status: 0 done, 1 a chart failed (gnuplot's
message on stderr), 2 bad usage or a missing or malformed CSV file."""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

PROG = "report.py"


class ReportError(Exception):
    """a problem with the input that the user must fix: exit 2 with its message"""


# --- reading CSV files ------------------------------------------------------------

class Row(dict):
    """one CSV row, column name -> text, that knows where it came from"""

    def __init__(self, values, where):
        super().__init__(values)
        self.where = where


def csv_lines(path):
    """the lines of the CSV file PATH as (line number, fields), blank ones left out"""
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            return [(reader.line_num, fields) for fields in reader if fields]
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: not a CSV file: {e}") from None


def read_header(path):
    """the column names on the first line of the CSV file PATH"""
    lines = csv_lines(path)
    if not lines:
        raise ReportError(f"{path}: empty file (no CSV header)")
    return lines[0][1]


def read_rows(path, columns, allow_empty=False):
    """the rows of the CSV file PATH (a header line, then rows); every name in
    COLUMNS must be in the header; repeated header lines are skipped"""
    header = read_header(path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise ReportError(f"{path}: the header '{','.join(header)}' has no column {', '.join(missing)}")
    rows = [row_of(header, fields, f"{path}:{n}") for n, fields in csv_lines(path)[1:] if fields != header]
    if not rows and not allow_empty:
        raise ReportError(f"{path}: no rows under the header")
    return rows


def row_of(header, fields, where):
    """a Row from the fields of one line, which must match the header"""
    if len(fields) != len(header):
        raise ReportError(f"{where}: {len(fields)} fields where the header has {len(header)}")
    return Row(zip(header, fields), where)


def num(row, col, empty=None):
    """column COL of ROW as a number; an empty field is EMPTY if that is given"""
    text = row[col].strip()
    if text == "" and empty is not None:
        return empty
    try:
        return float(text)
    except ValueError:
        raise ReportError(f"{row.where}: {col} is not a number: '{row[col]}'") from None


def num_text(row, col):
    """column COL of ROW as written, once checked to be a number"""
    num(row, col)
    return row[col]


def first_seen(values):
    """VALUES without repeats, in the order they first appear"""
    return list(dict.fromkeys(values))


# --- writing tables -------------------------------------------------------------------

def md_header(*names):
    """the two header lines of a Markdown table"""
    return "| " + " | ".join(names) + " |\n" + "|" + " --- |" * len(names) + "\n"


def md_row(*cells):
    return "| " + " | ".join(str(c) for c in cells) + " |\n"


def ratio(a, b):
    """A / B as %.2f, or '-' where there is no B to divide by"""
    return "%.2f" % (a / b) if b else "-"


# --- charts (gnuplot) ---------------------------------------------------------------

def gp_str(text):
    """TEXT as a gnuplot single-quoted string"""
    return "'" + text.replace("'", "''") + "'"


def dat_line(label, values):
    """one line of a gnuplot data file: a quoted label, then numbers"""
    return '"%s" %s\n' % (label.replace('"', "'"), " ".join(values))


def gnuplot(script, data):
    """run gnuplot on SCRIPT with the data file text DATA (named $DAT in the
    script); True if it drew, else its message goes to stderr"""
    with tempfile.TemporaryDirectory(prefix="cxl-report.") as tmp:
        dat = os.path.join(tmp, "chart.dat")
        with open(dat, "w") as f:
            f.write(data)
        # (stdout dropped: gnuplot writes the image there when it cannot open the output)
        done = subprocess.run(["gnuplot"], input=script.replace("$DAT", gp_str(dat)).encode(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))
    return done.returncode == 0


def have_gnuplot():
    return shutil.which("gnuplot") is not None


def histogram_series(first, titles):
    """the plot list of a clustered histogram: data columns FIRST.. one per
    title, the x labels from column 1"""
    return ", ".join("$DAT using %d:xtic(1) title %s" % (j + first, gp_str(t)) for j, t in enumerate(titles))


HISTOGRAMS = "set style data histograms; set style histogram clustered gap 1; set style fill solid border -1"


# --- compare: bench/compare.sh ---------------------------------------------------

COMPARE_COLUMNS = ["label", "op", "threads", "pipeline", "value_size", "requests", "throughput_rps",
                   "p50_us", "p99_us", "p99.9_us", "errors", "delay_model"]


def rounds_by(rows, key_columns):
    """ROWS by (label, then the KEY_COLUMNS), each a dict round -> row, in the
    order they first appear; labels are '<label>@<round>'"""
    runs = {}
    for row in rows:
        label, at, rnd = row["label"].rpartition("@")
        if not at:
            raise ReportError(f"{row.where}: label '{row['label']}' has no '@<round>'")
        key = (label,) + tuple(row[c] for c in key_columns)
        runs.setdefault(key, {})[rnd] = row
    return runs


def compare_rounds(raw_path):
    """the raw rows by (label, op, threads, pipeline, value size), each a dict
    round -> row"""
    return rounds_by(read_rows(raw_path, COMPARE_COLUMNS), ["op", "threads", "pipeline", "value_size"])


def median_of(rows, col):
    return statistics.median(num(r, col) for r in rows)


def round_ratio(runs, key, col, invert, base_label="NativeTCP"):
    """the median over rounds of KEY's COL against BASE_LABEL's in the same
    round (BASE_LABEL / KEY when INVERT), or '-'"""
    base = runs.get((base_label,) + key[1:])
    if not base:
        return "-"
    per_round = []
    for rnd, row in runs[key].items():
        if rnd in base and num(row, col, 0) > 0 and num(base[rnd], col, 0) > 0:
            a, b = num(row, col), num(base[rnd], col)
            per_round.append(b / a if invert else a / b)
    return "%.2f" % statistics.median(per_round) if per_round else "-"


def write_compare_csv(runs, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COMPARE_COLUMNS)
        for key, by_round in runs.items():
            rows = list(by_round.values())
            w.writerow(list(key) + [rows[0]["requests"], "%.0f" % median_of(rows, "throughput_rps"),
                                    "%.3f" % median_of(rows, "p50_us"), "%.3f" % median_of(rows, "p99_us"),
                                    "%.3f" % median_of(rows, "p99.9_us"),
                                    sum(int(num(r, "errors")) for r in rows), rows[0]["delay_model"]])


def write_compare_md(runs, path, description, base="NativeTCP"):
    with open(path, "w") as f:
        f.write(description + "\n\n")
        f.write(md_header("label", "op", "threads", "in flight", "value B", "req/s (median)", "req/s range",
                          "p50 us", "p99 us", "p99.9 us", "errors", f"x {base} req/s",
                          f"{base} p50 / p50", "delay model"))
        for key, by_round in runs.items():
            rows = list(by_round.values())
            rates = [num(r, "throughput_rps") for r in rows]
            f.write(md_row(*key, "%.0f" % median_of(rows, "throughput_rps"),
                           "%.0f-%.0f" % (min(rates), max(rates)), "%.1f" % median_of(rows, "p50_us"),
                           "%.1f" % median_of(rows, "p99_us"), "%.1f" % median_of(rows, "p99.9_us"),
                           "%d" % sum(int(num(r, "errors")) for r in rows),
                           round_ratio(runs, key, "throughput_rps", False, base),
                           round_ratio(runs, key, "p50_us", True, base), rows[0]["delay_model"]))


def cmd_compare(a):
    """Rates and latencies are medians over the rounds; the ratio against
    NativeTCP (or --base) is the median of the per-round ratios (both measured
    in the same round, seconds apart), which cancels most of the machine's
    drift."""
    runs = compare_rounds(a.raw)
    write_compare_csv(runs, a.out_csv)
    write_compare_md(runs, a.out_md, a.description, a.base)
    return 0


def compare_chart(rows, combo, ops, png, delay):
    """one compare chart: requests/s and p50 of every label, a bar per op"""
    t, p, v = combo
    mine = [r for r in rows if (r["threads"], r["pipeline"], r["value_size"]) == combo]
    rps = {(r["label"], r["op"]): num_text(r, "throughput_rps") for r in mine}
    p50 = {(r["label"], r["op"]): num_text(r, "p50_us") for r in mine}
    data = "".join(dat_line(l, [rps.get((l, o), "0") for o in ops] + [p50.get((l, o), "0") for o in ops])
                   for l in first_seen(r["label"] for r in mine))
    plot_rps, plot_lat = histogram_series(2, ops), histogram_series(2 + len(ops), ops)
    title = (f"cxl-dsm compare: {t} client thread(s), {p} in flight, {v} B values, "
             f"delay model {delay} (same workload for every label)")
    return gnuplot(f"""set terminal pngcairo size 1400,520 noenhanced; set output {gp_str(png)}
set multiplot layout 1,2 title {gp_str(title)}
{HISTOGRAMS}
set logscale y; set grid y; set key top left; set xtics rotate by -30
set ylabel 'requests/s (log, higher is better)'; plot {plot_rps}
set ylabel 'p50 latency, us (log, lower is better)'; set key top right; plot {plot_lat}
unset multiplot
""", data)


def cmd_compare_charts(a):
    """One PNG per (threads, pipeline, value size), PREFIX_t<T>_p<P>_v<V>.png,
    each with the requests/s and the p50 of every label, a bar per op. Prints
    the path of each chart drawn; draws nothing without gnuplot."""
    rows = read_rows(a.csv, ["label", "op", "threads", "pipeline", "value_size", "throughput_rps", "p50_us"])
    if not have_gnuplot():
        return 0
    ops = a.ops.split(",") if a.ops else first_seen(r["op"] for r in rows)
    prefix = a.prefix or a.csv.removesuffix(".csv")
    failed = 0
    for combo in first_seen((r["threads"], r["pipeline"], r["value_size"]) for r in rows):
        png = "%s_t%s_p%s_v%s.png" % ((prefix,) + combo)
        if compare_chart(rows, combo, ops, png, a.delay_ns):
            print(png)
        else:
            failed += 1
    return 1 if failed else 0


# --- ycsb: bench/ycsb_compare.sh --------------------------------------------------

YCSB_OPS = ["read", "update", "insert", "scan", "rmw", "delete"]
YCSB_COLUMNS = (["label", "workload", "db", "threads", "records", "operations", "runtime_ms", "throughput_ops_sec"] +
                ["%s_%s" % (o, f) for o in YCSB_OPS for f in ("ops", "avg_us", "p50_us", "p95_us", "p99_us")] +
                ["phase", "errors", "delay_ns", "seed"])
YCSB_MEDIAN_COLUMNS = ["workload", "label", "db", "threads", "records", "operations", "rounds", "load_ops_sec",
                       "run_ops_sec", "run_min_ops_sec", "run_max_ops_sec", "load_x_nativetcp", "run_x_nativetcp",
                       "main_op", "main_p99_us", "nativetcp_p99_over_p99", "errors"]


def ycsb_main_op(run_rows):
    """the operation whose p99 a workload's row shows: read where the workload
    reads, else the one it runs most (scan in E)"""
    total = {o: sum(num(r, o + "_ops", 0) for r in run_rows) for o in YCSB_OPS}
    return "read" if total["read"] > 0 else max(YCSB_OPS, key=lambda o: total[o])


def ycsb_medians(raw_path):
    """one dict of figures per (workload, label), in first-seen order:
    medians over rounds, ratios as medians of per-round ratios against
    NativeTCP (cxl_ycsb's rows, labels '<label>@<round>', phases load and run)"""
    runs = rounds_by(read_rows(raw_path, YCSB_COLUMNS), ["workload", "phase"])
    main = {}
    for (label, workload, phase), by_round in runs.items():
        if phase == "run":
            main.setdefault(workload, []).extend(by_round.values())
    main = {w: ycsb_main_op(rows) for w, rows in main.items()}
    out = {}
    for label, workload in first_seen((k[0], k[1]) for k in runs):
        load, run = runs.get((label, workload, "load")), runs.get((label, workload, "run"))
        rows = list((run or load).values())
        p99 = main.get(workload, "read") + "_p99_us"
        rates = [num(r, "throughput_ops_sec") for r in run.values()] if run else []
        lat = [num(r, p99) for r in run.values() if r[p99].strip()] if run else []
        out[(workload, label)] = {
            "workload": workload, "label": label, "db": rows[0]["db"], "threads": rows[0]["threads"],
            "records": rows[0]["records"], "operations": rows[0]["operations"], "rounds": len(rows),
            "load_ops_sec": "%.0f" % median_of(load.values(), "throughput_ops_sec") if load else "",
            "run_ops_sec": "%.0f" % statistics.median(rates) if rates else "",
            "run_min_ops_sec": "%.0f" % min(rates) if rates else "",
            "run_max_ops_sec": "%.0f" % max(rates) if rates else "",
            "load_x_nativetcp": round_ratio(runs, (label, workload, "load"), "throughput_ops_sec", False)
            if load else "-",
            "run_x_nativetcp": round_ratio(runs, (label, workload, "run"), "throughput_ops_sec", False)
            if run else "-",
            "main_op": main.get(workload, ""),
            "main_p99_us": "%.1f" % statistics.median(lat) if lat else "",
            "nativetcp_p99_over_p99": round_ratio(runs, (label, workload, "run"), p99, True) if run else "-",
            "errors": "%d" % sum(num(r, "errors") for ph in (load, run) if ph for r in ph.values()),
        }
    return out


def cmd_ycsb(a):
    """Per (workload, label): load and run throughput (ops/s, medians over the
    rounds), their ratios against NativeTCP (the median of the per-round
    ratios: both measured in the same round), the p99 of the workload's main
    operation (read, or what it runs most: scan in E) and NativeTCP's p99 over
    it (higher is better, as the throughput ratios), the errors of every
    phase. Writes the medians CSV and the Markdown table."""
    med = ycsb_medians(a.raw)
    with open(a.out_csv, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(YCSB_MEDIAN_COLUMNS)
        for m in med.values():
            w.writerow([m[c] for c in YCSB_MEDIAN_COLUMNS])
    with open(a.out_md, "w") as f:
        f.write(a.description + "\n\n")
        f.write(md_header("workload", "label", "load ops/s", "x NativeTCP load", "run ops/s (median)",
                          "run ops/s range", "x NativeTCP run", "op", "p99 us", "NativeTCP p99 / p99", "errors"))
        for m in med.values():
            f.write(md_row(m["workload"], m["label"], m["load_ops_sec"] or "-", m["load_x_nativetcp"],
                           m["run_ops_sec"] or "-", "%s-%s" % (m["run_min_ops_sec"], m["run_max_ops_sec"])
                           if m["run_ops_sec"] else "-", m["run_x_nativetcp"], m["main_op"] or "-",
                           m["main_p99_us"] or "-", m["nativetcp_p99_over_p99"], m["errors"]))
    return 0


def cmd_ycsb_chart(a):
    """Two panels, a cluster per workload, a bar per label: run throughput
    (ops/s) and the p99 of the workload's main operation, both log scale.
    Prints 'chart: PNG' once drawn; draws nothing without gnuplot."""
    rows = read_rows(a.csv, ["workload", "label", "run_ops_sec", "main_op", "main_p99_us"])
    if not have_gnuplot():
        return 0
    png = a.png or a.csv.removesuffix(".csv") + ".png"
    labels = first_seen(r["label"] for r in rows)
    val = {(r["workload"], r["label"], c): (r[c] and num_text(r, c)) or "NaN"
           for r in rows for c in ("run_ops_sec", "main_p99_us")}
    workloads = first_seen(r["workload"] for r in rows)
    ops = {r["workload"]: r["main_op"] for r in rows}
    short = lambda k: k.removeprefix("workload").removeprefix("_cxl_")  # workloada -> a, crudscan
    data = "".join(dat_line("%s (%s)" % (short(k), ops[k]), [val.get((k, l, "run_ops_sec"), "NaN") for l in labels] +
                            [val.get((k, l, "main_p99_us"), "NaN") for l in labels]) for k in workloads)
    if not gnuplot(f"""set terminal pngcairo size 1400,520 noenhanced; set output {gp_str(png)}
set multiplot layout 1,2 title {gp_str(a.title)}
{HISTOGRAMS}
set logscale y; set grid y; set key top left; set datafile missing 'NaN'; set xtics rotate by -30
set ylabel 'run ops/s (log, higher is better)'; plot {histogram_series(2, labels)}
set ylabel 'p99 of the main op, us (log, lower is better)'; set key top right
plot {histogram_series(2 + len(labels), labels)}
unset multiplot
""", data):
        return 1
    print("chart: " + png)
    return 0


# --- vm-compare: bench/vm_compare.sh -------------------------------------------------

def cmd_vm_compare(a):
    """One row per CSV row, its rate against NativeTCP's with the same op,
    threads, pipeline and value size."""
    rows = read_rows(a.csv, COMPARE_COLUMNS)
    key = lambda r: (r["op"], r["threads"], r["pipeline"], r["value_size"])
    base = {key(r): num(r, "throughput_rps") for r in rows if r["label"] == "NativeTCP"}
    out = md_header("label", "op", "threads", "pipeline", "value B", "req/s", "p50 us", "p99 us", "p99.9 us",
                    "errors", "x NativeTCP req/s")
    for r in rows:
        rps = num(r, "throughput_rps")
        out += md_row(r["label"], r["op"], r["threads"], r["pipeline"], r["value_size"], "%.0f" % rps,
                      "%.1f" % num(r, "p50_us"), "%.1f" % num(r, "p99_us"), "%.1f" % num(r, "p99.9_us"),
                      r["errors"], ratio(rps, base.get(key(r))))
    sys.stdout.write(out)
    return 0


# --- kv: bench/kv.sh ---------------------------------------------------------------

KV_COLUMNS = ["label", "op", "threads", "pipeline", "value_size", "throughput_rps", "p50_us", "p99_us"]


def cmd_kv(a):
    """One row per CSV row, its rate and p50 against NativeTCP's with the same
    op, value size and pipeline (depths TCP did not run, the ring's 256,
    against TCP at 16)."""
    rows = read_rows(a.csv, KV_COLUMNS)
    key = lambda r, p: (r["op"], r["value_size"], p)
    tcp = {key(r, r["pipeline"]): (num(r, "throughput_rps"), num(r, "p50_us"))
           for r in rows if r["label"] == "NativeTCP"}
    out = md_header("transport", "op", "value B", "in flight", "req/s", "p50 us", "p99 us", "x TCP req/s",
                           "TCP p50 / p50")
    for r in rows:
        rps, p50 = num(r, "throughput_rps"), num(r, "p50_us")
        base_rps, base_p50 = tcp.get(key(r, r["pipeline"])) or tcp.get(key(r, "16")) or (0, 0)
        out += md_row(r["label"], r["op"], r["value_size"], r["pipeline"], "%.0f" % rps, "%.1f" % p50,
                      "%.1f" % num(r, "p99_us"), ratio(rps, base_rps),
                      "%.1f" % (base_p50 / (p50 if p50 > 0 else 1)) if base_rps else "-")
    sys.stdout.write(out)
    return 0


def cmd_kv_chart(a):
    """The requests/s of every row, one bar each. Prints 'chart: PNG' once
    drawn; draws nothing without gnuplot."""
    rows = read_rows(a.csv, KV_COLUMNS)
    if not have_gnuplot():
        return 0
    data = "".join(dat_line("%s %s %sB P%s" % (r["label"], r["op"], r["value_size"], r["pipeline"]),
                            [num_text(r, "throughput_rps")]) for r in rows)
    threads = ",".join(first_seen(r["threads"] for r in rows))
    title = f"Redis over ring vs TCP vs Unix socket ({threads} threads)"
    if not gnuplot(f"""set terminal pngcairo size 1400,600; set output {gp_str(a.png)}
set style fill solid; set boxwidth 0.7
set xtics rotate by -60 font ',8'; set ylabel 'requests/s'; set title {gp_str(title)}
plot $DAT using 0:2:xtic(1) with boxes notitle
""", data):
        return 1
    print("chart: " + a.png)
    return 0


# --- gateway: bench/gateway.sh -------------------------------------------------------

def cmd_gateway(a):
    """One row per CSV row, its rate against NativeTCP's with the same op and
    pipeline."""
    rows = read_rows(a.csv, ["label", "op", "pipeline", "throughput_rps", "p50_us", "p99_us"])
    key = lambda r: (r["op"], r["pipeline"])
    base = {key(r): num(r, "throughput_rps") for r in rows if r["label"] == "NativeTCP"}
    out = md_header("path", "op", "pipeline", "req/s", "p50 us", "p99 us", "gateway / direct")
    for r in rows:
        rps = num(r, "throughput_rps")
        out += md_row(r["label"], r["op"], r["pipeline"], "%.0f" % rps, "%.0f" % num(r, "p50_us"),
                      "%.0f" % num(r, "p99_us"), ratio(rps, base.get(key(r))))
    sys.stdout.write(out)
    return 0


# --- secure: bench/secure.sh ---------------------------------------------------------

def cmd_secure(a):
    """One row per CSV row, its rate against the plain Ring's and NativeTLS's
    with the same op and depth (depths TLS did not run, 256, against TLS at
    16)."""
    rows = read_rows(a.csv, KV_COLUMNS)
    by = lambda label: {(r["op"], r["pipeline"]): num(r, "throughput_rps") for r in rows if r["label"] == label}
    ring, tls = by("Ring"), by("NativeTLS")
    out = md_header("transport", "op", "in flight", "req/s", "p50 us", "p99 us", "x Ring req/s",
                    "x NativeTLS req/s")
    for r in rows:
        k, rps = (r["op"], r["pipeline"]), num(r, "throughput_rps")
        out += md_row(r["label"], r["op"], r["pipeline"], "%.0f" % rps, "%.1f" % num(r, "p50_us"),
                      "%.1f" % num(r, "p99_us"), ratio(rps, ring.get(k)),
                      ratio(rps, tls.get(k, tls.get((r["op"], "16")))))
    sys.stdout.write(out)
    return 0


# --- server-modes: bench/server_modes.sh -----------------------------------------------

def cmd_server_modes(a):
    """One line per measure, one column per serving mode (in the order of the
    CSV), the values as measured."""
    rows = read_rows(a.csv, ["mode", "measure", "value", "unit"])
    modes = first_seen(r["mode"] for r in rows)
    value = {(r["mode"], r["measure"]): r["value"] for r in rows}
    unit = {r["measure"]: r["unit"] for r in rows}
    out = md_header("measure", *[m + " (default)" if m == "thread" else m for m in modes], "unit")
    for m in first_seen(r["measure"] for r in rows):
        out += md_row(m, *[value.get((mode, m), "") for mode in modes], unit[m])
    sys.stdout.write(out)
    return 0


# --- pingpong: bench/run.sh ------------------------------------------------------------

PINGPONG_COLUMNS = ["bench", "impl", "inflight", "msg_size", "rtt_p50_us", "rtt_p99_us",
                    "round_trips_per_s", "ratio_vs_bare"]


def cmd_pingpong(a):
    """The median over the runs of each (payload, bench, impl, in flight) of
    p50, p99, round trips/s and the library / bare ratio, under 'median of N
    runs:'. msg_size is the payload in bytes (ring_pingpong --payload)."""
    rows = read_rows(a.csv, PINGPONG_COLUMNS)
    runs = {}
    for r in rows:
        runs.setdefault((r["msg_size"], r["bench"], r["impl"], r["inflight"]), []).append(r)
    med = lambda rs, col: statistics.median(num(r, col, empty=0.0) for r in rs)
    out = "\nmedian of %d runs:\n" % len(next(iter(runs.values())))
    out += "  %7s %-10s %-22s %5s %9s %9s %14s %14s %9s\n" % (
        "payload", "bench", "impl", "W", "p50 us", "p99 us", "round trips/s", "one-way msg/s", "lib/bare")
    for (payload, bench, impl, w), rs in runs.items():
        rate, q = med(rs, "round_trips_per_s"), med(rs, "ratio_vs_bare")
        out += "  %7s %-10s %-22s %5s %9.3f %9.3f %13.2fM %13.2fM %9s\n" % (
            payload, bench, impl, w, med(rs, "rtt_p50_us"), med(rs, "rtt_p99_us"), rate / 1e6,
            2 * rate / 1e6, "%.2f" % q if q > 0 else "")
    sys.stdout.write(out)
    return 0


# --- rows: the benchmarks' CSV rows from the clients' output ----------------------------

RING_FIELDS = ["label", "op", "threads", "requests", "throughput_rps", "p50_us", "p99_us"]


def awk_number(x):
    """X as awk's print writes a number: integers whole, others as %.6g"""
    return "%d" % x if x == int(x) else "%.6g" % x


def ring_values(path):
    """from cxl_ring_direct --csv: one dict of RING_FIELDS per row"""
    return [{c: r[c] for c in RING_FIELDS} for r in read_rows(path, RING_FIELDS)]


def redis_benchmark_values(path, ops):
    """from redis-benchmark --csv: op, rate and p50/p99 in us of every test in OPS"""
    rows = {r["test"]: r for r in read_rows(path, ["test", "rps", "p50_latency_ms", "p99_latency_ms"],
                                            allow_empty=True)}
    out = []
    for op in ops:
        if op not in rows:
            raise ReportError(f"{path}: redis-benchmark gave no {op} figures")
        r = rows[op]
        out.append({"op": op.lower(), "throughput_rps": r["rps"],
                    "p50_us": awk_number(num(r, "p50_latency_ms") * 1000),
                    "p99_us": awk_number(num(r, "p99_latency_ms") * 1000)})
    return out


def parse_sets(sets):
    """--set COLUMN=VALUE options as a dict"""
    out = {}
    for s in sets:
        col, eq, value = s.partition("=")
        if not eq or not col:
            raise ReportError(f"--set {s}: need COLUMN=VALUE")
        out[col] = value
    return out


def cmd_rows(a):
    """One row per result in SOURCE, appended to DEST_CSV in the order of
    DEST_CSV's header. From cxl_ring_direct: label, op, threads, requests,
    throughput_rps, p50_us, p99_us; from redis-benchmark: op (lower case),
    throughput_rps, p50_us, p99_us (ms x 1000). --set gives the other columns
    (and overrides these)."""
    header = read_header(a.dest)
    fixed = parse_sets(a.set)
    unknown = [c for c in fixed if c not in header]
    if unknown:
        raise ReportError(f"--set {unknown[0]}: {a.dest} has no such column")
    if a.source_format == "ring":
        results = ring_values(a.source)
    else:
        results = redis_benchmark_values(a.source, a.ops.split(","))
    lines = []
    for res in results:
        res.update(fixed)
        missing = [c for c in header if c not in res]
        if missing:
            raise ReportError(f"no value for column {missing[0]} of {a.dest} (--set {missing[0]}=...)")
        lines.append([res[c] for c in header])
    with open(a.dest, "a", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(lines)
    return 0


def cmd_field(a):
    """The COLUMNs of the first row of CSV (that matches --where), on one line,
    separated by spaces."""
    where = parse_sets([a.where] if a.where else [])
    rows = read_rows(a.csv, a.columns + list(where))
    match = [r for r in rows if all(r[c] == v for c, v in where.items())]
    if not match:
        raise ReportError(f"{a.csv}: no row with {a.where}")
    print(" ".join(match[0][c] for c in a.columns))
    return 0


# --- graph: bench/graph_compare.sh ------------------------------------------------------

# cxl_graph --csv's columns (docs/GRAPH.md, "Output and benchmark"), then the
# benchmark's own: the round, and this process's graph build (generate or read
# + build, from its output; empty for an attacher)
GRAPH_ROW_COLUMNS = ["label", "vm", "kernel", "scale", "degree", "trials", "omp_threads", "edge_traversals",
                     "avg_time_s", "throughput_teps", "mode", "host", "delay_ns", "median_s", "min_s", "max_s",
                     "attach_ms", "publish_ms", "verified"]
GRAPH_RAW_COLUMNS = GRAPH_ROW_COLUMNS + ["round", "build_ms"]
GRAPH_BASE = "Native"


def log_times(path):
    """the 'Name Time: seconds' lines of a cxl_graph or GAPBS output, as
    name -> [seconds, ...], and its Verification: results"""
    times, verified = {}, []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                name, colon, rest = line.partition(":")
                if not colon:
                    continue
                if name == "Verification":
                    verified.append(rest.strip())
                elif name.endswith(" Time"):
                    try:
                        times.setdefault(name[:-5], []).append(float(rest.split()[0]))
                    except (ValueError, IndexError):
                        raise ReportError(f"{path}: '{line.strip()}' has no number") from None
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e.strerror}") from None
    return times, verified


def build_ms(times):
    """generate or read + build, in ms, or '' when the output has neither"""
    parts = [times[k][0] for k in ("Generate", "Read", "Build") if k in times]
    return "%.3f" % (1e3 * sum(parts)) if parts else ""


def row_from_log(path, times, verified):
    """a GAPBS run's row from its output alone (no --csv in GAPBS)"""
    trials = times.get("Trial")
    if not trials:
        raise ReportError(f"{path}: no 'Trial Time:' line (did the run fail?)")
    t = sorted(trials)
    return {"trials": str(len(t)), "avg_time_s": "%.9f" % (sum(t) / len(t)),
            "median_s": "%.9f" % statistics.median(t), "min_s": "%.9f" % t[0], "max_s": "%.9f" % t[-1],
            "attach_ms": "0.000", "publish_ms": "0.000", "edge_traversals": "", "throughput_teps": "",
            "delay_ns": "0", "vm": "",
            "verified": "" if not verified else "PASS" if all(v == "PASS" for v in verified) else "FAIL"}


def cmd_graph_row(a):
    """Appends one row to RAW_CSV (written with its header when new): the row
    cxl_graph --csv wrote to --csv, or for GAPBS (no --csv) one made from the
    'Trial Time:' and 'Verification:' lines of --log; then build_ms from
    --log's Generate/Read + Build times, publish_ms from --publish-log's
    'Publish Time:' (the publisher's), and --set COLUMN=VALUE."""
    times, verified = log_times(a.log)
    if a.csv:
        rows = read_rows(a.csv, GRAPH_ROW_COLUMNS)
        if len(rows) != 1:
            raise ReportError(f"{a.csv}: {len(rows)} rows, expected the one of this run")
        row = dict(rows[0])
    else:
        row = row_from_log(a.log, times, verified)
    row["build_ms"] = build_ms(times)
    if a.publish_log:
        pub = log_times(a.publish_log)[0].get("Publish")
        if not pub:
            raise ReportError(f"{a.publish_log}: no 'Publish Time:' line")
        row["publish_ms"] = "%.3f" % (1e3 * pub[0])
    row.update(parse_sets(a.set))
    missing = [c for c in GRAPH_RAW_COLUMNS if c not in row]
    if missing:
        raise ReportError(f"no value for column {missing[0]} (--set {missing[0]}=...)")
    new = not os.path.exists(a.raw) or os.path.getsize(a.raw) == 0
    if not new:
        read_rows(a.raw, GRAPH_RAW_COLUMNS, allow_empty=True)
    with open(a.raw, "a", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        if new:
            w.writerow(GRAPH_RAW_COLUMNS)
        w.writerow([row[c] for c in GRAPH_RAW_COLUMNS])
    return 0


def graph_runs(raw_path):
    """(kernel, label) -> round -> [rows of its hosts], in first-seen order"""
    runs = {}
    for r in read_rows(raw_path, GRAPH_RAW_COLUMNS):
        runs.setdefault((r["kernel"], r["label"]), {}).setdefault(r["round"], []).append(r)
    return runs


def per_round(hosts, col):
    """the median over the hosts of one round of COL"""
    return statistics.median(num(r, col) for r in hosts)


def fmt(x, spec="%.2f"):
    return "-" if x is None else spec % x


def graph_medians(runs):
    """one dict of figures per (kernel, label): medians over rounds; ratios as
    medians of per-round ratios against Native in the same round"""
    out = {}
    for (kernel, label), rounds in runs.items():
        base = runs.get((kernel, GRAPH_BASE), {})
        kt = [per_round(h, "median_s") for h in rounds.values()]
        att = [per_round(h, "attach_ms") for h in rounds.values()]
        pub = [per_round(h, "publish_ms") for h in rounds.values()]
        def rr(f):
            vals = []
            for rnd, hosts in rounds.items():
                if rnd in base:
                    v = f(hosts, base[rnd])
                    if v is not None:
                        vals.append(v)
            return statistics.median(vals) if vals else None
        def b_build(b):
            return per_round(b, "build_ms") if all(x["build_ms"] for x in b) else None
        def e2e(hosts):  # attach, or build when no attach, + one trial, ms
            if label == GRAPH_BASE or label == "GAPBS":
                return per_round(hosts, "build_ms") + 1e3 * per_round(hosts, "median_s") \
                    if all(x["build_ms"] for x in hosts) else None
            return per_round(hosts, "attach_ms") + 1e3 * per_round(hosts, "median_s")
        def e2e_ratio(hosts, b):
            mine, theirs = e2e(hosts), (b_build(b) or 0) + 1e3 * per_round(b, "median_s")
            return mine / theirs if mine is not None and b_build(b) else None
        ver = [r["verified"] for h in rounds.values() for r in h]
        out[(kernel, label)] = {
            "kernel": kernel, "label": label, "mode": next(iter(rounds.values()))[0]["mode"],
            "rounds": len(rounds), "rows": sum(len(h) for h in rounds.values()),
            "kernel_s": statistics.median(kt), "kernel_min_s": min(kt), "kernel_max_s": max(kt),
            "x_native": rr(lambda h, b: per_round(h, "median_s") / per_round(b, "median_s")
                           if per_round(b, "median_s") > 0 else None),
            "attach_ms": statistics.median(att) if label not in (GRAPH_BASE, "GAPBS") else None,
            "publish_ms": statistics.median(pub) if any(pub) else None,
            "build_ms": statistics.median([per_round(h, "build_ms") for h in rounds.values()])
            if all(r["build_ms"] for h in rounds.values() for r in h) else None,
            "publish_x_build": rr(lambda h, b: per_round(h, "publish_ms") / b_build(b)
                                  if any(x["publish_ms"] for x in h) and num(h[0], "publish_ms") > 0
                                  and b_build(b) else None),
            "e2e_ms": statistics.median([e for e in (e2e(h) for h in rounds.values()) if e is not None])
            if any(e2e(h) is not None for h in rounds.values()) else None,
            "e2e_x_native": rr(e2e_ratio),
            "verified": "" if not any(ver) else "PASS" if all(v == "PASS" for v in ver) else "FAIL",
        }
    return out


GRAPH_MEDIAN_COLUMNS = ["kernel", "label", "mode", "rounds", "rows", "kernel_s", "kernel_min_s", "kernel_max_s",
                        "x_native", "attach_ms", "build_ms", "publish_ms", "publish_x_build", "e2e_ms",
                        "e2e_x_native", "verified"]


def cmd_graph(a):
    """Medians over rounds (each round's figure the median of its hosts):
    kernel time (each process's median trial), its ratio against Native's
    (the median of the per-round ratios: both measured in the same round),
    attach ms, the publisher's publish ms and its ratio against Native's
    build (generate or read + build), end-to-end = attach + one trial (Native
    and GAPBS: build + one trial) and its ratio against Native's. Writes the
    medians CSV and the Markdown table."""
    med = graph_medians(graph_runs(a.raw))
    with open(a.out_csv, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(GRAPH_MEDIAN_COLUMNS)
        for m in med.values():
            w.writerow(["" if m[c] is None else ("%.6g" % m[c] if isinstance(m[c], float) else m[c])
                        for c in GRAPH_MEDIAN_COLUMNS])
    with open(a.out_md, "w") as f:
        f.write(a.description + "\n\n")
        f.write(md_header("kernel", "mode", "kernel ms (median)", "range ms", "x Native", "attach ms",
                          "build ms", "publish ms", "publish / Native build", "end-to-end ms",
                          "end-to-end x Native", "verified"))
        for m in med.values():
            f.write(md_row(m["kernel"], m["label"], "%.2f" % (1e3 * m["kernel_s"]),
                           "%.2f-%.2f" % (1e3 * m["kernel_min_s"], 1e3 * m["kernel_max_s"]),
                           fmt(m["x_native"]), fmt(m["attach_ms"], "%.1f"), fmt(m["build_ms"], "%.1f"),
                           fmt(m["publish_ms"], "%.1f"), fmt(m["publish_x_build"]), fmt(m["e2e_ms"], "%.1f"),
                           fmt(m["e2e_x_native"]), m["verified"] or "-"))
    return 0


def cmd_graph_chart(a):
    """Two panels: each mode's kernel time against Native's (ratio, 1 =
    Native) and its end-to-end against Native's, a cluster per kernel. Prints
    'chart: PNG' once drawn; draws nothing without gnuplot."""
    rows = read_rows(a.csv, GRAPH_MEDIAN_COLUMNS)
    if not have_gnuplot():
        return 0
    labels = [l for l in first_seen(r["label"] for r in rows) if l != GRAPH_BASE]
    val = {(r["kernel"], r["label"], c): (r[c] or "NaN") for r in rows for c in ("x_native", "e2e_x_native")}
    data = "".join(dat_line(k, [val.get((k, l, "x_native"), "NaN") for l in labels] +
                            [val.get((k, l, "e2e_x_native"), "NaN") for l in labels])
                   for k in first_seen(r["kernel"] for r in rows))
    n = len(labels)
    p1, p2 = histogram_series(2, labels), histogram_series(2 + n, labels)
    if not gnuplot(f"""set terminal pngcairo size 1400,520 noenhanced; set output {gp_str(a.png)}
set multiplot layout 1,2 title {gp_str(a.title)}
{HISTOGRAMS}
set grid y; set key top left; set datafile missing 'NaN'
set ylabel 'kernel time / Native (lower is better)'; plot {p1}, 1 with lines lc 'black' dt 2 notitle
set ylabel 'attach + one trial / Native build + one trial'; plot {p2}, 1 with lines lc 'black' dt 2 notitle
unset multiplot
""", data):
        return 1
    print("chart: " + a.png)
    return 0


# --- the command line -------------------------------------------------------------------

def add(sub, name, func, text):
    """a subcommand NAME running FUNC; its --help shows TEXT and FUNC's doc"""
    p = sub.add_parser(name, help=text, description=text + ".\n\n" + textwrap.dedent("    " + func.__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func)
    return p


def add_medians(sub, name, func, text, raw_help, out_help):
    """a subcommand NAME RAW_CSV OUT_CSV OUT_MD DESCRIPTION: medians of a raw
    CSV to a CSV and a Markdown table"""
    p = add(sub, name, func, text)
    p.add_argument("raw", metavar="RAW_CSV", help=raw_help)
    p.add_argument("out_csv", metavar="OUT_CSV", help="where to write " + out_help)
    p.add_argument("out_md", metavar="OUT_MD", help="where to write the Markdown table")
    p.add_argument("description", metavar="DESCRIPTION", help="text above the table")
    return p


def parser():
    top = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    add_medians(sub, "compare", cmd_compare, "bench/compare.sh: medians over rounds, CSV and Markdown table",
                "cxl_ring_direct --compare-csv rows, labels '<label>@<round>'",
                "one row per (label, op, threads, pipeline, value size)"
                ).add_argument("--base", default="NativeTCP", help="the label the ratios are against (default NativeTCP)")

    p = add(sub, "compare-charts", cmd_compare_charts, "bench/compare.sh: the charts (PNG, gnuplot)")
    p.add_argument("csv", metavar="CSV", help="the compare matrix CSV (OUT_CSV of compare)")
    p.add_argument("--delay-ns", default="off",
                   help="the delay model of the run as the programs print it, for the title (default off)")
    p.add_argument("--ops", help="ops in the order of their bars, e.g. set,get (default: as in the CSV)")
    p.add_argument("--prefix", help="chart paths start with this (default: CSV without .csv)")

    add_medians(sub, "ycsb", cmd_ycsb, "bench/ycsb_compare.sh: medians over rounds, CSV and Markdown table",
                "cxl_ycsb --csv rows (load and run), labels '<label>@<round>'", "one row per (workload, label)")

    p = add(sub, "ycsb-chart", cmd_ycsb_chart, "bench/ycsb_compare.sh: the chart (PNG, gnuplot)")
    p.add_argument("csv", metavar="CSV", help="OUT_CSV of ycsb")
    p.add_argument("--png", help="the chart to write (default: CSV with .png for .csv)")
    p.add_argument("--title", default="cxl_ycsb: every workload over every label", help="the chart's title")

    p = add(sub, "vm-compare", cmd_vm_compare, "bench/vm_compare.sh: the table with ratios against NativeTCP")
    p.add_argument("csv", metavar="CSV", help="compare matrix rows (VM2's compare.csv)")

    p = add(sub, "kv", cmd_kv, "bench/kv.sh: the table with ratios against NativeTCP")
    p.add_argument("csv", metavar="CSV", help="results/kv_<time>.csv")

    p = add(sub, "kv-chart", cmd_kv_chart, "bench/kv.sh: the bar chart of requests/s (PNG, gnuplot)")
    p.add_argument("csv", metavar="CSV", help="results/kv_<time>.csv")
    p.add_argument("png", metavar="PNG", help="the chart to write")

    p = add(sub, "gateway", cmd_gateway, "bench/gateway.sh: the table, gateway against direct TCP")
    p.add_argument("csv", metavar="CSV", help="results/gateway_<time>.csv")

    p = add(sub, "secure", cmd_secure, "bench/secure.sh: the table with ratios against Ring and NativeTLS")
    p.add_argument("csv", metavar="CSV", help="results/secure_<time>.csv")

    p = add(sub, "server-modes", cmd_server_modes, "bench/server_modes.sh: the table, one column per mode")
    p.add_argument("csv", metavar="CSV", help="results/server_modes_<time>.csv")

    p = add(sub, "pingpong", cmd_pingpong, "bench/run.sh: medians over the runs of ring_pingpong")
    p.add_argument("csv", metavar="CSV", help="ring_pingpong --csv rows of one or more runs")

    p = add(sub, "rows", cmd_rows, "append a client's results to a benchmark's CSV")
    p.add_argument("dest", metavar="DEST_CSV", help="the benchmark's CSV: its header line names the columns")
    p.add_argument("source", metavar="SOURCE", help="the client's output file")
    p.add_argument("--from", dest="source_format", choices=["ring", "redis-benchmark"], required=True,
                   help="SOURCE is cxl_ring_direct --csv or redis-benchmark --csv output")
    p.add_argument("--set", action="append", default=[], metavar="COLUMN=VALUE",
                   help="a column's value in every row (repeat for more columns)")
    p.add_argument("--ops", default="SET,GET", help="redis-benchmark tests to take, all required "
                   "(default SET,GET)")

    p = add(sub, "graph-row", cmd_graph_row, "bench/graph_compare.sh: append one run's row to the raw CSV")
    p.add_argument("raw", metavar="RAW_CSV", help="the benchmark's raw CSV (created with its header)")
    p.add_argument("--log", required=True, help="the run's output (cxl_graph or GAPBS)")
    p.add_argument("--csv", help="the row cxl_graph --csv wrote (absent for GAPBS)")
    p.add_argument("--publish-log", help="the publisher's output: its Publish Time goes to publish_ms")
    p.add_argument("--set", action="append", default=[], metavar="COLUMN=VALUE",
                   help="a column's value (repeat for more columns)")

    add_medians(sub, "graph", cmd_graph, "bench/graph_compare.sh: medians over rounds, CSV and Markdown table",
                "the rows of graph-row", "one row per (kernel, mode)")

    p = add(sub, "graph-chart", cmd_graph_chart, "bench/graph_compare.sh: the chart (PNG, gnuplot)")
    p.add_argument("csv", metavar="CSV", help="OUT_CSV of graph")
    p.add_argument("png", metavar="PNG", help="the chart to write")
    p.add_argument("--title", default="cxl_graph: every mode against Native", help="the chart's title")

    p = add(sub, "field", cmd_field, "print fields of one row of a CSV file")
    p.add_argument("csv", metavar="CSV", help="a CSV file with a header line")
    p.add_argument("columns", metavar="COLUMN", nargs="+", help="the columns to print")
    p.add_argument("--where", metavar="COLUMN=VALUE", help="the first row with this value (default: the first)")
    return top


def main(argv):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ReportError as e:
        print(f"{PROG} {args.command}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG} {args.command}: {e.filename or ''}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
