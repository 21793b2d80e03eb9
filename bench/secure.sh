#!/usr/bin/env bash
# bench/secure.sh - what protecting the medium costs.
# In one run, the same workload (SET and GET of 3 B values, 1 client
# thread, 100,000 keys, every ring reply checked) over:
#   Ring        the plain ring
#   RingCrypto  the secure ring with keys from a shared file (no manager)
#   RingSecure  the secure ring with keys from cxl_sec_mgr (ACL, epochs)
#   NativeTCP   redis-benchmark over TCP loopback, the same server
#   NativeTLS   redis-benchmark --tls against Redis's own TLS port
# unpipelined and with 16 (and, for the rings, 256) requests in flight.
# Prints ratios against Ring and against NativeTLS; results/secure_<time>.csv.
# Usage: bench/secure.sh [--requests N]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
report() { /usr/bin/python3 bench/report.py "$@"; } # CSV rows, the table

requests=300000
[ "${1:-}" = --requests ] && requests=$2
[[ $requests =~ ^[0-9]+$ && $requests -ge 1000 ]] || die "--requests: need a number >= 1000"
tool=$BUILD/bin/cxl_ring_direct
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p results
csv=results/secure_$stamp.csv
echo "label,op,threads,pipeline,value_size,requests,throughput_rps,p50_us,p99_us,errors" >"$csv"

# TLS material for Redis's own TLS
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1 || die "openssl could not make a certificate"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/crypto.secret"
echo >>"$WORK/crypto.secret"
chmod 600 "$WORK/crypto.secret"
provision_secure 4

ring_run() { # label medium inflight [security flags...]
  local label=$1 medium=$2 p=$3 tmp=$WORK/ring.csv flags=(); shift 3
  progress "$label in flight=$p"
  [ "$p" -gt 1 ] && flags=(--pipeline --max-inflight "$p")
  rm -f "$tmp"
  "$tool" --path "$medium" --bench "$requests" --keyspace 100000 --latency --quiet --csv "$tmp" \
     --label "$label" "${flags[@]}" "$@" >/dev/null || die "$label: cxl_ring_direct failed"
  report rows "$csv" "$tmp" --from ring --set pipeline="$p" --set value_size=3 --set errors=0 ||
    die "cannot read cxl_ring_direct's CSV $tmp"
}

socket_run() { # label p redis-benchmark address flags...
  local label=$1 p=$2 out=$WORK/rb.csv; shift 2
  progress "$label pipeline=$p"
  redis-benchmark "$@" -c 1 -n "$requests" -r 100000 -d 3 -P "$p" -t set,get --csv >"$out" 2>/dev/null ||
    true # (a missing figure is caught below)
  report rows "$csv" "$out" --from redis-benchmark --ops SET,GET --set label="$label" --set threads=1 \
    --set pipeline="$p" --set value_size=3 --set requests="$requests" --set errors=0 ||
    die "no SET and GET figures from redis-benchmark for $label"
}

tls_port=$(free_port)
REDIS_EXTRA=(--tls-port "$tls_port" --tls-cert-file "$WORK/tls.crt" --tls-key-file "$WORK/tls.key"
             --tls-ca-cert-file "$WORK/tls.crt" --tls-auth-clients no)
start_redis plain /dev/shm/cxl_secbench_plain_$$.raw map_size=64M rings=4
REDIS_EXTRA=()
for p in 1 16; do
  ring_run Ring /dev/shm/cxl_secbench_plain_$$.raw $p
  socket_run NativeTCP $p -h 127.0.0.1 -p "$REDIS_PORT"
  socket_run NativeTLS $p --tls --cacert "$WORK/tls.crt" -h 127.0.0.1 -p "$tls_port"
done
ring_run Ring /dev/shm/cxl_secbench_plain_$$.raw 256

start_redis crypto /dev/shm/cxl_secbench_crypto_$$.raw map_size=64M rings=4 crypto=1 key_file="$WORK/crypto.secret"
for p in 1 16 256; do
  ring_run RingCrypto /dev/shm/cxl_secbench_crypto_$$.raw $p --crypto --sec-key-file "$WORK/crypto.secret"
done

start_redis secure /dev/shm/cxl_secbench_secure_$$.raw map_size=64M rings=4 secure=1 sec_mgr="$SEC_MGR" \
  node_id=1 key="$SEC_SERVER_KEY"
for p in 1 16 256; do
  ring_run RingSecure /dev/shm/cxl_secbench_secure_$$.raw $p --secure --sec-mgr "$SEC_MGR" \
    --sec-node-id 2 --sec-key "$SEC_CLIENT_KEY"
done
printf '%70s\r' '' >&2

report secure "$csv"
echo "csv: $csv"
