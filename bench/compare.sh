#!/usr/bin/env bash
# bench/compare.sh - the compare matrix: one workload over every transport,
# side by side, on the embedded default (processes sharing a /dev/shm medium):
#   NativeTCP   Redis over TCP loopback          NativeUnix  over a Unix socket
#   NativeTLS   Redis's own TLS                  SodiumTCP   TCP through cxl_sodium_tunnel
#   Ring        the shared-memory ring           RingCrypto  the secure ring, shared key file
#   RingSecure  the secure ring, keys and ACL from cxl_sec_mgr
# Every label runs the same client (cxl_ring_direct --bench, --via for the
# sockets) with the same ops, key and value sizes, threads, pipeline depth and
# request count, and checks every reply. Output: a progress line per run,
# results/compare_<time>.csv, a Markdown table with ratios against NativeTCP
# (.md) and a chart per (threads, pipeline, value size) (.png).
#
# Usage: bench/compare.sh [--requests N] [--threads 1,2] [--pipeline 1,16,256]
#          [--value-size 3,1024] [--ops set,get] [--labels L1,L2] [--delay-ns N] [--rounds R]
# Defaults: 20000 requests per op and thread, 1 thread, pipeline 1,16, 3 B
# values, every label, 3 rounds (each runs every label, in alternating order;
# medians reported); CXL_SHM_DELAY_NS=150 (the remote-CXL delay model) on a
# host with one NUMA node, else the medium is bound to a remote node. A failed
# step names itself and keeps every log in results/compare_<time>_logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
report() { /usr/bin/python3 bench/report.py "$@"; } # tables, ratios, charts

requests=20000 threads=1 pipelines=1,16 sizes=3 ops=set,get delay= rounds=3
labels=NativeTCP,NativeUnix,NativeTLS,SodiumTCP,Ring,RingCrypto,RingSecure
while [ $# -gt 0 ]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --pipeline) pipelines=$2; shift 2 ;;
    --value-size) sizes=$2; shift 2 ;;
    --ops) ops=$2; shift 2 ;;
    --labels) labels=$2; shift 2 ;;
    --delay-ns) delay=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
list_ok() { [[ $1 =~ ^[0-9]+(,[0-9]+)*$ ]] || die "$2: need a comma list of numbers, not '$1'"; }
list_ok "$requests" --requests; list_ok "$threads" --threads; list_ok "$pipelines" --pipeline
list_ok "$sizes" --value-size
[[ $rounds =~ ^[1-9][0-9]?$ ]] || die "--rounds: 1..99, not '$rounds'"
[ -z "$delay" ] || [[ $delay =~ ^[0-9]+$ ]] || die "--delay-ns: need a number"
for l in ${labels//,/ }; do
  [[ ,NativeTCP,NativeUnix,NativeTLS,SodiumTCP,Ring,RingCrypto,RingSecure, == *",$l,"* ]] || die "--labels: unknown label $l"
done
wants() { [[ ,$labels, == *",$1,"* ]]; }
for b in cxl_ring_direct cxl_sec_mgr $(wants SodiumTCP && echo cxl_sodium_tunnel); do
  [ -x "$BUILD/bin/$b" ] || die "$BUILD/bin/$b is not built (make)"
done

# the remote-memory model
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
numa_args=()
if [ -z "$delay" ]; then
  if [ "$nodes" -ge 2 ]; then delay=0; numa_args=(numa_node=$((nodes - 1))); else delay=150; fi
fi
export CXL_SHM_DELAY_NS=$delay
max_threads=$(echo "${threads//,/ }" | tr ' ' '\n' | sort -n | tail -1)
rings=$(( max_threads > 4 ? max_threads : 4 ))
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p results
csv=results/compare_$stamp.csv
fail() { # keep every log of the run, then stop (cleanup stops what was started)
  local logs=results/compare_${stamp}_logs
  mkdir -p "$logs" && find "$WORK" -name '*.log' -exec cp {} "$logs/" \; 2>/dev/null
  die "$*; logs: $logs/"
}
# how busy the CPUs are before we start (1 s of /proc/stat): others' work makes noise
busy=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; sleep 1; awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
busy=$(echo $busy | awk '{ b = $3 - $1; i = $4 - $2; printf "%d", (b + i) ? 100 * b / (b + i) : 0 }')
if [ "$busy" -gt 20 ]; then
  echo "compare: WARNING: the CPUs were ${busy}% busy before the run: other work competes and the figures will be noisy" >&2
fi
echo "compare: $(nproc) cores, $nodes NUMA node(s), CXL_SHM_DELAY_NS=$delay${numa_args:+ (medium on node $((nodes - 1)))}," \
     "redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2), $requests requests per op and thread" >&2

# --- servers (everything registered for cleanup by scripts/lib.sh) ----------
step() { printf '  starting %s\n' "$*" >&2; }
step "Redis (TCP, Unix, TLS) with the plain ring"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1 || die "openssl could not make a certificate"
export CXL_TLS_CAFILE=$WORK/tls.crt
tls_port=$(free_port)
REDIS_EXTRA=(--tls-port "$tls_port" --tls-cert-file "$WORK/tls.crt" --tls-key-file "$WORK/tls.key"
             --tls-ca-cert-file "$WORK/tls.crt" --tls-auth-clients no)
plain=/dev/shm/cxl_compare_plain_$$.raw
start_redis plain "$plain" map_size=256M rings=$rings delay_ns=$delay "${numa_args[@]}"
REDIS_EXTRA=()
tcp_port=$REDIS_PORT sock=$REDIS_SOCK plain_log=$REDIS_LOG

if wants SodiumTCP; then
step "cxl_sodium_tunnel (server -> Redis, client <- benchmark)"
tun=$WORK/tunnel; mkdir -p "$tun"
"$BUILD/bin/cxl_sec_mgr" keygen --out "$tun/server.key" >/dev/null 2>&1 && "$BUILD/bin/cxl_sec_mgr" keygen --out "$tun/client.key" >/dev/null 2>&1 ||
  die "cannot make tunnel keys"
for n in server client; do sed -n '/^public /p' "$tun/$n.key" >"$tun/$n.pub"; done # each end gets the other's public key only
tun_srv=127.0.0.1:$(free_port) tun_cli=127.0.0.1:$(free_port)
start_tunnel server "$tun_srv" 127.0.0.1:$tcp_port "$tun/server.key" "$tun/client.pub" "$tun/server.log"
start_tunnel client "$tun_cli" "$tun_srv" "$tun/client.key" "$tun/server.pub" "$tun/client.log"
redis-cli -p "${tun_cli#*:}" ping >/dev/null 2>&1 || fail "the sodium tunnel does not reach Redis"
fi

if wants RingCrypto; then
step "Redis with the secure ring, crypto mode"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/crypto.secret"; chmod 600 "$WORK/crypto.secret"
crypto=/dev/shm/cxl_compare_crypto_$$.raw
start_redis crypto "$crypto" map_size=256M rings=$rings delay_ns=$delay crypto=1 key_file="$WORK/crypto.secret" "${numa_args[@]}"
fi

if wants RingSecure; then
step "cxl_sec_mgr and Redis with the secure ring"
provision_secure $rings
secure=/dev/shm/cxl_compare_secure_$$.raw
start_redis secure "$secure" map_size=256M rings=$rings delay_ns=$delay secure=1 sec_mgr="$SEC_MGR" node_id=1 \
  key="$SEC_SERVER_KEY" "${numa_args[@]}"
fi

via_of() { # label -> cxl_ring_direct flags
  case $1 in
    NativeTCP) echo "--via 127.0.0.1:$tcp_port" ;;
    NativeUnix) echo "--via unix:$sock" ;;
    NativeTLS) echo "--via tls:127.0.0.1:$tls_port" ;;
    SodiumTCP) echo "--via $tun_cli" ;;
    Ring) echo "--path $plain" ;;
    RingCrypto) echo "--path $crypto --crypto --sec-key-file $WORK/crypto.secret" ;;
    RingSecure) echo "--path $secure --secure --sec-mgr $SEC_MGR --sec-node-id 2 --sec-key $SEC_CLIENT_KEY" ;;
  esac
}

# --- the runs: every round runs every label, in alternating order ----------------
raw=$WORK/raw.csv
order_of() { # round -> labels, forward in odd rounds, backward in even ones
  if [ $(($1 % 2)) -eq 1 ]; then echo "${labels//,/ }"; else echo "${labels//,/ }" | tr ' ' '\n' | tac | tr '\n' ' '; fi
}
combos=0
for t in ${threads//,/ }; do for p in ${pipelines//,/ }; do for v in ${sizes//,/ }; do combos=$((combos + 1)); done; done; done
total=$((combos * rounds * $(echo "${labels//,/ }" | wc -w))) n=0
# one label per Redis instance: its keyspace is loaded before the rounds
warm_labels=$(for l in ${labels//,/ }; do case $l in RingCrypto|RingSecure) echo "$l" ;; *) echo plain:$l ;; esac; done |
              awk -F: '!seen[$1]++ { print $NF }')
run_one() { # LABEL CSV-LABEL CSV threads pipeline value ops
  local flags=(--threads "$4" --bench "$requests" --val-size "$6" --ops "$7" --keyspace 100000
               --latency --quiet --csv /dev/null --compare-csv "$3" --label "$2" --timeout-ms 30000) via
  [ "$5" -gt 1 ] && flags+=(--pipeline --max-inflight "$5")
  read -ra via <<<"$(via_of "$1")"
  if ! "$BUILD/bin/cxl_ring_direct" "${via[@]}" "${flags[@]}" >"$WORK/run.log" 2>&1; then
    cat "$WORK/run.log" >&2
    fail "$1 (threads=$4 pipeline=$5 value=$6 ops=$7) failed (its output above)"
  fi
}
for t in ${threads//,/ }; do for p in ${pipelines//,/ }; do for v in ${sizes//,/ }; do
  if [ "$t/$v" != "${loaded:-}" ]; then # (the keys depend on threads and value size only)
    for l in $warm_labels; do
      printf '  loading the keyspace (%s, threads=%s value=%sB, untimed)\n' "$l" $t $v >&2
      run_one "$l" warmup /dev/null $t $p $v set
    done
    loaded=$t/$v
  fi
  for r in $(seq 1 "$rounds"); do
    for l in $(order_of "$r"); do
      n=$((n + 1))
      printf '  [%d/%d] round %d/%d %-10s threads=%s pipeline=%s value=%sB ops=%s\n' $n $total "$r" "$rounds" "$l" \
        $t $p $v "$ops" >&2
      run_one "$l" "$l@$r" "$raw" $t $p $v "$ops"
    done
  done
done; done; done

# --- the table and the charts (bench/report.py) ---------------------------------
md=${csv%.csv}.md
report compare "$raw" "$csv" "$md" \
  "Same workload for every label: ops $ops, $requests requests per op and client thread, keys of 16 B (requests x threads distinct keys);
$(nproc) cores; CXL_SHM_DELAY_NS=$delay for the ring labels; every reply checked; the keys are loaded before the
rounds (every SET overwrites a value of the same size). Medians of $rounds rounds (labels in alternating order); ratios
are medians of the per-round ratios against NativeTCP." || fail "the report failed"
cat "$md"
# one chart per (threads, pipeline, value size); report.py prints each one drawn
charts=$(report compare-charts "$csv" --ops "$ops" --delay-ns "$delay" | wc -l) || true # a failed chart: gnuplot said why
echo
echo "csv: $csv   table: $md   charts: $charts (${csv%.csv}_t*_p*_v*.png)"
