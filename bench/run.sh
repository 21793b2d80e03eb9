#!/usr/bin/env bash
# run.sh - run the ring ping-pong benchmark with its default flags
# and keep the results: results/bench_<timestamp>.csv (one row per
# measurement, see docs/BENCHMARKS.md) and results/bench_<timestamp>.txt (the
# machine, the commit and the human-readable tables).
#
# Usage: bench/run.sh BUILD_DIR          (`make bench` calls it with build)
# Environment: RUNS=N repeats the whole run N times into the same CSV and then
# prints the median of each figure over the runs (default 1);
# PINGPONG_FLAGS="..." passes extra flags to ring_pingpong.
set -euo pipefail

build=${1:?usage: bench/run.sh BUILD_DIR}
runs=${RUNS:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
bin="$build/bench/ring_pingpong"
if [ ! -x "$bin" ]; then
  echo "run.sh: $bin is not built (make $bin)" >&2
  exit 1
fi
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: RUNS=$runs is not a positive number" >&2
  exit 2
fi

mkdir -p "$root/results"
stamp=$(date +%Y%m%d-%H%M%S)
csv="$root/results/bench_$stamp.csv"
txt="$root/results/bench_$stamp.txt"

{
  echo "# ring_pingpong, $(date -u +%Y-%m-%dT%H:%M:%SZ), $runs run(s)"
  echo "# cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n1) (family $(lscpu | sed -n 's/^CPU family: *//p'), model $(lscpu | sed -n 's/^Model: *//p')), $(nproc) CPUs"
  echo "# kernel: $(uname -sr)"
  echo "# commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- src include 2>/dev/null || echo ' (library sources modified)')"
  echo "# flags: ${PINGPONG_FLAGS:-(defaults)}"
} >"$txt"

for i in $(seq 1 "$runs"); do
  echo "run.sh: run $i of $runs" >&2
  # shellcheck disable=SC2086 # PINGPONG_FLAGS is a list of flags
  "$bin" --csv "$csv" ${PINGPONG_FLAGS:-} | tee -a "$txt"
done

if [ "$runs" -gt 1 ]; then
  # the median over the runs of each figure (bench/report.py)
  /usr/bin/python3 "$root/bench/report.py" pingpong "$csv" | tee -a "$txt"
fi
echo "run.sh: results in ${csv#"$root"/} and ${txt#"$root"/}" >&2
