#!/usr/bin/env bash
# bench/kv.sh - Redis over the ring against Redis over TCP loopback and a Unix
# socket, in one run, against the same redis-server (the benchmark of the Redis ring).
# Every transport gets the same ops, value sizes, client threads, keyspace and
# pipeline depth: redis-benchmark -c T --threads T [-P P] for the sockets,
# cxl_ring_direct --threads T [--pipeline --max-inflight P] for the ring (which
# checks every reply). The ring also runs with 256 in flight.
# Output: a table with ratios against TCP, results/kv_<time>.csv and .png.
# Usage: bench/kv.sh [--requests N] [--threads T] [--sizes 3,1024] [--delay-ns D]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
report() { /usr/bin/python3 bench/report.py "$@"; } # CSV rows, the table, the chart

requests=200000 threads=2 sizes=3,1024 delay=0
while [ $# -gt 0 ]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --delay-ns) delay=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $requests =~ ^[0-9]+$ && $requests -ge 1000 ]] || die "--requests: need a number >= 1000"
[[ $threads =~ ^[0-9]+$ && $threads -ge 1 && $threads -le 64 ]] || die "--threads: need 1..64"
[[ $delay =~ ^[0-9]+$ ]] || die "--delay-ns: need a number"
[ -x "$BUILD/bin/cxl_ring_direct" ] && [ -f "$BUILD/cxl_ring.so" ] || die "build first (make)"

stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p results
csv=results/kv_$stamp.csv
echo "label,op,threads,pipeline,value_size,requests,throughput_rps,p50_us,p99_us,errors" >"$csv"
rings=$(( threads > 4 ? threads : 4 ))
medium=/dev/shm/cxl_kvbench_$$.raw
start_redis kv "$medium" map_size=256M rings=$rings delay_ns="$delay"
echo "kv bench: redis-server $(redis-server --version | awk '{print $3}') + cxl_ring.so, $threads client threads," \
     "$requests requests per op, delay_ns=$delay, $(nproc) cores" >&2

socket_run() { # label addr-args size pipeline
  local label=$1 addr=$2 size=$3 p=$4 out=$WORK/rb.csv
  progress "$label size=$size pipeline=$p"
  redis-benchmark $addr -c "$threads" --threads "$threads" -n "$requests" -r 100000 -d "$size" \
    -P "$p" -t set,get --csv >"$out" 2>/dev/null || true # (a missing figure is caught below)
  report rows "$csv" "$out" --from redis-benchmark --ops SET,GET --set label="$label" --set threads="$threads" \
    --set pipeline="$p" --set value_size="$size" --set requests="$requests" --set errors=0 ||
    die "no SET and GET figures from redis-benchmark for $label"
}

ring_run() { # label size inflight
  local label=$1 size=$2 p=$3 tmp=$WORK/ring.csv flags=()
  progress "$label size=$size in flight=$p"
  [ "$p" -gt 1 ] && flags=(--pipeline --max-inflight "$p")
  rm -f "$tmp"
  "$BUILD/bin/cxl_ring_direct" --path "$medium" --threads "$threads" --bench $((requests / threads)) \
     --val-size "$size" --keyspace 100000 --latency --quiet --csv "$tmp" --label "$label" \
     "${flags[@]}" >/dev/null || die "cxl_ring_direct failed (replies wrong or transport error)"
  # label, op, threads, requests, rate, p50 and p99 from the ring's CSV
  report rows "$csv" "$tmp" --from ring --set pipeline="$p" --set value_size="$size" --set errors=0 ||
    die "cannot read cxl_ring_direct's CSV $tmp"
}

for size in ${sizes//,/ }; do
  for p in 1 16; do
    socket_run NativeTCP "-h 127.0.0.1 -p $REDIS_PORT" "$size" "$p"
    socket_run NativeUnix "-s $REDIS_SOCK" "$size" "$p"
    ring_run Ring "$size" "$p"
  done
  ring_run Ring "$size" 256
done
printf '%70s\r' '' >&2

# the table: ratios against NativeTCP with the same op, size and pipeline
echo
report kv "$csv"
echo
echo "csv: $csv"
report kv-chart "$csv" "${csv%.csv}.png" || true # (gnuplot said why)
