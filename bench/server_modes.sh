#!/usr/bin/env bash
# bench/server_modes.sh - how should the module be driven? Measures, in one
# run, the two serving drivers of cxl_ring.so (docs/SERVER.md):
#   thread     a module thread polls the rings and takes Redis's lock per batch
#              (default: Redis's main thread also serves from its before-sleep
#              hook while it is busy)
#   thread-only the same without the hook
#   eventloop  Redis's main thread serves from its before-sleep hook, woken by
#              an eventfd when requests arrive while it sleeps
# For each: ring GET latency with 1 request in flight, GET throughput with 16
# and 256 in flight, the same latency while redis-benchmark loads Redis over
# TCP, and the CPU an idle Redis uses (10 s, from /proc).
# Usage: bench/server_modes.sh [--requests N]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
report() { /usr/bin/python3 bench/report.py "$@"; } # CSV fields, the table

requests=200000
[ "${1:-}" = --requests ] && requests=$2
[[ $requests =~ ^[0-9]+$ && $requests -ge 1000 ]] || die "--requests: need a number >= 1000"
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p results
csv=results/server_modes_$stamp.csv
echo "mode,measure,value,unit" >"$csv"
tool=$BUILD/bin/cxl_ring_direct

ring_get() { # medium inflight extra-label -> "rps p50 p99"
  local flags=() tmp=$WORK/ring.csv
  [ "$2" -gt 1 ] && flags=(--pipeline --max-inflight "$2")
  rm -f "$tmp"
  "$tool" --path "$1" --bench "$requests" --ops get --keyspace 1000 --latency --quiet --csv "$tmp" \
     "${flags[@]}" >/dev/null || die "cxl_ring_direct failed"
  report field "$tmp" throughput_rps p50_us p99_us
}

for mode in thread thread-only eventloop; do
  medium=/dev/shm/cxl_modes_$$_$mode.raw
  start_redis "$mode" "$medium" map_size=64M rings=4 serve="$mode"
  pid=${CLEANUP_PIDS[-1]}
  progress "$mode: load"
  "$tool" --path "$medium" --bench 1000 --ops set --keyspace 1000 --quiet --csv /dev/null >/dev/null
  progress "$mode: latency, 1 in flight"
  read -r rps p50 p99 < <(ring_get "$medium" 1)
  echo "$mode,get_rps_1,$rps,req/s" >>"$csv"; echo "$mode,get_p50_1,$p50,us" >>"$csv"; echo "$mode,get_p99_1,$p99,us" >>"$csv"
  for w in 16 256; do
    progress "$mode: throughput, $w in flight"
    read -r rps p50 p99 < <(ring_get "$medium" $w)
    echo "$mode,get_rps_$w,$rps,req/s" >>"$csv"
  done
  progress "$mode: latency under TCP load"
  redis-benchmark -p "$REDIS_PORT" -c 4 -n 300000 -t get -r 1000 --csv >"$WORK/load.csv" 2>/dev/null &
  loader=$!
  CLEANUP_PIDS+=($loader)
  sleep 0.3
  read -r rps p50 p99 < <(ring_get "$medium" 1)
  wait $loader || die "redis-benchmark failed"
  echo "$mode,get_p50_1_tcpload,$p50,us" >>"$csv"; echo "$mode,get_p99_1_tcpload,$p99,us" >>"$csv"
  echo "$mode,get_rps_1_tcpload,$rps,req/s" >>"$csv"
  echo "$mode,tcp_rps_during_load,$(report field "$WORK/load.csv" rps --where test=GET),req/s" >>"$csv"
  progress "$mode: idle CPU (10 s)"
  sleep 2
  echo "$mode,idle_cpu,$(cpu_use 10000 "$pid" | awk '{ print $2 }'),% of a core" >>"$csv" # (scripts/lib.sh)
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" 2>/dev/null || true
done
printf '%70s\r' '' >&2

report server-modes "$csv"
echo "csv: $csv"
