#!/usr/bin/env python3
"""ycsb_output.py - read cxl_ycsb's report as scripts written for Java YCSB
read YCSB's: every line is `[SECTION], Metric, value`; the sections are
OVERALL and the operation types; the metrics YCSB's names. Exits 1 naming
the first line that is not YCSB's format, or a required metric missing.

Usage: ycsb_output.py FILE [SECTION:Metric=expected ...]
Prints `SECTION Metric value` for every line (a check's input), then the
checks' results; e.g. `READ:Return=OK=500` or `OVERALL:Operations>0`."""
import re
import sys

LINE = re.compile(r"^\[([A-Z-]+)\], ([A-Za-z0-9=()/_-]+), (-?[0-9]+(\.[0-9]+)?)$")
SECTIONS = {"OVERALL", "READ", "UPDATE", "INSERT", "SCAN", "READ-MODIFY-WRITE", "DELETE", "VERIFY"}
OP_METRICS = ["Operations", "AverageLatency(us)", "MinLatency(us)", "MaxLatency(us)",
              "50thPercentileLatency(us)", "95thPercentileLatency(us)", "99thPercentileLatency(us)"]


def parse(text):
    data = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = LINE.match(line)
        if not m or m.group(1) not in SECTIONS:
            sys.exit(f"ycsb_output: line {n} is not YCSB's format: {line!r}")
        data.setdefault(m.group(1), {})[m.group(2)] = float(m.group(3))
    overall = data.get("OVERALL", {})
    for metric in ("RunTime(ms)", "Throughput(ops/sec)"):
        if metric not in overall:
            sys.exit(f"ycsb_output: no [OVERALL], {metric}")
    for section, metrics in data.items():
        if section != "OVERALL":
            missing = [m for m in OP_METRICS + ["Return=OK"] if m not in metrics]
            if missing:
                sys.exit(f"ycsb_output: [{section}] lacks {', '.join(missing)}")
    return data


def main():
    data = parse(open(sys.argv[1]).read())
    ok = True
    for check in sys.argv[2:]:
        m = re.match(r"^([A-Z-]+):(.+?)(=|>)(-?[0-9.]+)$", check)
        section, metric, op, want = m.group(1), m.group(2), m.group(3), float(m.group(4))
        got = data.get(section, {}).get(metric)
        good = got is not None and (got == want if op == "=" else got > want)
        ok &= good
        print(f"{'ok' if good else 'FAIL'}: [{section}], {metric} = {got} (want {op} {want:g})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
