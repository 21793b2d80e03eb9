#!/usr/bin/env bash
# bench/gateway.sh - redis-benchmark through cxl_resp_gateway (RESP over TCP
# to the gateway, then the ring to Redis) against redis-benchmark straight to
# Redis over TCP, same flags, one run, one server (the gateway's benchmark).
# Usage: bench/gateway.sh [--requests N] [--clients C]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
report() { /usr/bin/python3 bench/report.py "$@"; } # CSV rows, the table

requests=200000 clients=4
while [ $# -gt 0 ]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p results
csv=results/gateway_$stamp.csv
echo "label,op,clients,pipeline,requests,throughput_rps,p50_us,p99_us" >"$csv"
medium=/dev/shm/cxl_gwbench_$$.raw
start_redis gwbench "$medium" map_size=64M rings=4
gw_port=$(free_port)
"$BUILD/bin/cxl_resp_gateway" --path "$medium" --listen 127.0.0.1:$gw_port --rings 1 --quiet &
CLEANUP_PIDS+=($!)
for i in $(seq 50); do redis-cli -p $gw_port ping >/dev/null 2>&1 && break; sleep 0.1; done

run() { # label port pipeline
  local out=$WORK/rb.csv
  progress "$1 -P $3"
  redis-benchmark -p "$2" -c "$clients" -n "$requests" -r 100000 -d 3 -P "$3" -t set,get --csv >"$out" 2>/dev/null ||
    true # (a missing figure is caught below)
  report rows "$csv" "$out" --from redis-benchmark --ops SET,GET --set label="$1" --set clients="$clients" \
    --set pipeline="$3" --set requests="$requests" || die "no SET and GET figures from redis-benchmark for $1"
}
for p in 1 16; do
  run NativeTCP "$REDIS_PORT" $p
  run Gateway "$gw_port" $p
done
printf '%70s\r' '' >&2
report gateway "$csv"
echo "csv: $csv"
