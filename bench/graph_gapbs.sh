#!/usr/bin/env bash
# graph_gapbs.sh - cxl_graph's kernels against GAPBS's on the same graph
# and flags (docs/BENCHMARKS.md, "Graph kernels: cxl_graph vs GAPBS").
# Usage: bench/graph_gapbs.sh ROUNDS KERNEL ARGS...
#   e.g. bench/graph_gapbs.sh 3 bfs -f /tmp/g20.sg -n 16
# Each round runs GAPBS's binary, then each of ours, in turn (the machine is
# shared and noisy: alternating spreads its swings over all of them). Per
# binary: the median of the runs' "Average Time" and the fastest "Trial
# Time". GAPBS=dir of GAPBS's built binaries (default /tmp/gapbs);
# OURS="label=binary ..." (default "ours=build/bin/cxl_graph");
# OMP_NUM_THREADS defaults to 2.
set -euo pipefail
rounds=$1 kernel=$2
shift 2
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
gapbs=${GAPBS:-/tmp/gapbs}
read -r -a ours <<< "${OURS:-ours=build/bin/cxl_graph}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # run LABEL CMD...: one run, its average and trials appended
  local label=$1
  shift
  "$@" > "$tmp/out"
  awk '/Average Time/ {print $3}' "$tmp/out" >> "$tmp/avg_$label"
  awk '/Trial Time/ {print $3}' "$tmp/out" >> "$tmp/trial_$label"
}

median() {
  sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

for _ in $(seq "$rounds"); do
  run gapbs "$gapbs/$kernel" "$@"
  for pair in "${ours[@]}"; do
    run "${pair%%=*}" "${pair#*=}" "$kernel" "$@"
  done
done
line="$kernel $*:"
for label in gapbs "${ours[@]%%=*}"; do
  line="$line | $label $(median "$tmp/avg_$label") (fastest trial $(sort -n "$tmp/trial_$label" | head -1))"
done
echo "$line"
