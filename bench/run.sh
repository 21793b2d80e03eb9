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
  # Median over the runs of each (bench, impl, inflight): p50, p99, round trips/s, ratio.
  awk -F, 'NR > 1 && $1 != "bench" {
      k = $1 "," $2 "," $3; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
      c = ++cnt[k]; p50[k, c] = $8; p99[k, c] = $9; rate[k, c] = $11; ratio[k, c] = $12
    }
    function med(a, k, m,   i, j, t, v) {
      for (i = 1; i <= m; i++) v[i] = a[k, i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
      return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
      printf "\nmedian of %d runs:\n", cnt[order[1]]
      printf "  %-10s %-22s %5s %9s %9s %14s %14s %9s\n", "bench", "impl", "W", "p50 us", "p99 us", "round trips/s", "one-way msg/s", "lib/bare"
      for (i = 1; i <= n; i++) {
        k = order[i]; split(k, f, ","); m = cnt[k]; r = med(rate, k, m); q = med(ratio, k, m)
        printf "  %-10s %-22s %5s %9.3f %9.3f %13.2fM %13.2fM %9s\n", f[1], f[2], f[3], med(p50, k, m), med(p99, k, m), r / 1e6, 2 * r / 1e6, (q + 0 > 0 ? sprintf("%.2f", q) : "")
      }
    }' "$csv" | tee -a "$txt"
fi
echo "run.sh: results in ${csv#"$root"/} and ${txt#"$root"/}" >&2
