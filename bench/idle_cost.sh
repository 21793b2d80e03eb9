#!/usr/bin/env bash
# bench/idle_cost.sh - what an idle ring server costs, and what the idle spell
# costs the next request (issue 15, docs/RING.md "Waiting"). Starts Redis with
# cxl_ring.so (the module arguments given) and measures:
#   idle CPU     redis-server's CPU 3 s after the load, over --seconds (cpu_use,
#                scripts/lib.sh: /proc/PID/stat, 10 ms ticks)
#   first SET    --probes one-request benches (cxl_ring_direct --bench 1 --ops
#                set --latency, a new client each), each after --idle-ms of
#                silence: the wake-up latency of an idle server (min, median,
#                max; the client's first-touch page faults included)
#   stream GET   unpipelined GETs (cxl_ring_direct --bench 20000 --ops get
#                --latency), --runs runs: req/s, avg, p50, p99 (median run by p50)
# Usage: bench/idle_cost.sh [--seconds S] [--probes N] [--idle-ms MS] [--runs R]
#          [--module-build DIR] [module key=value ...]
# Defaults: 10 s, 30 probes after 300 ms, 5 runs, the module of $BUILD (build);
# --module-build DIR loads DIR/cxl_ring.so instead (e.g. a base commit's build),
# with this build's client. Prints one line per measure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

seconds=10 probes=30 idle_ms=300 runs=5 module_build=$BUILD
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --probes) probes=$2; shift 2 ;;
    --idle-ms) idle_ms=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --module-build) module_build=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
for v in seconds probes idle_ms runs; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v//_/-}: need a number >= 1, not '${!v}'"
done
[ -f "$module_build/cxl_ring.so" ] || die "$module_build/cxl_ring.so is not built"
tool=$BUILD/bin/cxl_ring_direct
[ -x "$tool" ] || die "$tool is not built (make)"
medium=/dev/shm/cxl_idle_cost_$$.raw

BUILD=$module_build start_redis idle "$medium" map_size=64M "$@"
echo "idle_cost: $(nproc) cores, module $module_build/cxl_ring.so, args: ${*:-(defaults)}"
sleep 3
echo "idle CPU: $(cpu_use $((seconds * 1000)) "$REDIS_PID" | awk '{ print $2 }')% of a core over $seconds s"

rd() { "$tool" --path "$medium" --csv /dev/null --quiet --latency "$@" 2>&1; }
rd --bench 20000 --ops set >/dev/null || die "cxl_ring_direct failed"
for i in $(seq "$probes"); do
  sleep "$(awk -v m="$idle_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
  rd --bench 1 --ops set | awk '/latency/ { print $4 }'
done | sort -n >"$WORK/probes"
[ "$(wc -l <"$WORK/probes")" -eq "$probes" ] || die "a probe failed"
echo "first SET after $idle_ms ms idle ($probes probes): min $(head -n 1 "$WORK/probes") us," \
  "median $(sed -n "$(((probes + 1) / 2))p" "$WORK/probes") us, max $(tail -n 1 "$WORK/probes") us"

for i in $(seq "$runs"); do
  rd --bench 20000 --ops get | awk '/req\/s/ { r = $5 } /latency/ { print $6, r, $4, $12 }'
done | sort -n >"$WORK/runs"
echo "stream GET x20000, 1 in flight ($runs runs, median by p50): $(sed -n "$(((runs + 1) / 2))p" "$WORK/runs" |
  awk '{ printf "%s req/s, avg %s us, p50 %s us, p99 %s us", $2, $3, $1, $4 }');" \
  "p50 range $(head -n 1 "$WORK/runs" | cut -d' ' -f1)-$(tail -n 1 "$WORK/runs" | cut -d' ' -f1) us"
