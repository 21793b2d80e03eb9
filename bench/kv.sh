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
  local label=$1 addr=$2 size=$3 p=$4 out op
  progress "$label size=$size pipeline=$p"
  out=$(redis-benchmark $addr -c "$threads" --threads "$threads" -n "$requests" -r 100000 -d "$size" \
        -P "$p" -t set,get --csv 2>/dev/null)
  for op in SET GET; do
    local rps p50 p99
    rps=$(rb_field "$out" "$op" 2); p50=$(rb_field "$out" "$op" 5); p99=$(rb_field "$out" "$op" 7)
    [ -n "$rps" ] || die "redis-benchmark gave no $op figures for $label"
    echo "$label,${op,,},$threads,$p,$size,$requests,$rps,$(awk -v v="$p50" 'BEGIN{print v*1000}'),$(awk -v v="$p99" 'BEGIN{print v*1000}'),0" >>"$csv"
  done
}

ring_run() { # label size inflight
  local label=$1 size=$2 p=$3 tmp=$WORK/ring.csv flags=()
  progress "$label size=$size in flight=$p"
  [ "$p" -gt 1 ] && flags=(--pipeline --max-inflight "$p")
  rm -f "$tmp"
  "$BUILD/bin/cxl_ring_direct" --path "$medium" --threads "$threads" --bench $((requests / threads)) \
     --val-size "$size" --keyspace 100000 --latency --quiet --csv "$tmp" --label "$label" \
     "${flags[@]}" >/dev/null || die "cxl_ring_direct failed (replies wrong or transport error)"
  # ring CSV: label,op,threads,rings,requests,pipeline,max_inflight,throughput_rps,avg,p50,p75,p90,p99,...
  awk -F, -v s="$size" -v p="$p" 'NR > 1 { printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,0\n", $1, $2, $3, p, s, $5, $8, $10, $13 }' \
    "$tmp" >>"$csv"
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
echo "| transport | op | value B | in flight | req/s | p50 us | p99 us | x TCP req/s | TCP p50 / p50 |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
awk -F, 'NR > 1 { key = $2 "," $5 "," $4; if ($1 == "NativeTCP") { tcp[key] = $7; tcp50[key] = $8 }
                  rows[NR] = $0 }
         END { for (i = 2; i <= NR; i++) { split(rows[i], f, ",");
                 key = f[2] "," f[5] "," f[4]; if (!(key in tcp)) key = f[2] "," f[5] ",16"
                 printf "| %s | %s | %s | %s | %.0f | %.1f | %.1f | %.2f | %.1f |\n", f[1], f[2], f[5], f[4],
                        f[7], f[8], f[9], f[7] / tcp[key], tcp50[key] / (f[8] > 0 ? f[8] : 1) } }' "$csv"
echo
echo "csv: $csv"
if command -v gnuplot >/dev/null; then
  png=${csv%.csv}.png
  awk -F, 'NR > 1 { printf "\"%s %s %sB P%s\" %s\n", $1, $2, $5, $4, $7 }' "$csv" >"$WORK/plot.dat"
  gnuplot -e "set terminal pngcairo size 1400,600; set output '$png'; set style fill solid; set boxwidth 0.7;
              set xtics rotate by -60 font ',8'; set ylabel 'requests/s'; set title 'Redis over ring vs TCP vs Unix socket ($threads threads)';
              plot '$WORK/plot.dat' using 0:2:xtic(1) with boxes notitle" 2>/dev/null && echo "chart: $png"
fi
