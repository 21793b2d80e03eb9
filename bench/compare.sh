#!/usr/bin/env bash
# bench/compare.sh - the compare matrix: one workload over every transport,
# side by side, on the embedded default (processes sharing a /dev/shm medium):
#   NativeTCP   Redis over TCP loopback          NativeUnix  over a Unix socket
#   NativeTLS   Redis's own TLS                  SodiumTCP   TCP through cxl_sodium_tunnel
#   Ring        the shared-memory ring           RingCrypto  the secure ring, shared key file
#   RingSecure  the secure ring, keys and ACL from cxl_sec_mgr
# Every label runs the same client (cxl_ring_direct --bench, --via for the
# sockets) with the same ops, key and value sizes, threads, pipeline depth and
# request count, and checks every reply. While a label runs every other
# server of the matrix is stopped (SIGSTOP; MATRIX_ISOLATION=idle: only those
# still busy after waiting for them to go idle; scripts/lib.sh,
# matrix_isolate: one "isolation:" line per run, kept in _isolation.txt, and a
# note under the table). Output: a progress line per run,
# results/compare_<time>.csv, a Markdown table with ratios against NativeTCP
# (.md) and a chart per (threads, pipeline, value size) (.png).
#
# Usage: bench/compare.sh [--requests N] [--threads 1,2] [--pipeline 1,16,256]
#          [--value-size 3,1024] [--ops set,get] [--labels L1,L2] [--delay-ns N] [--rounds R]
#          [--delay-model mlp|serial] [--delay-bw-gbps N]
#          [--server-wrap 'CMD ...'] [--label-prefix P] [--out PREFIX]
# --server-wrap runs every Redis of the matrix as CMD ... <redis-server's
# arguments> instead of redis-server ... (e.g. a Gramine launcher whose
# manifest runs redis-server: scripts/tee_gramine_exec.sh, docs/TEE.md);
# --label-prefix P names the labels P<label> in the CSV and the table (the
# ratios stay against the same run's NativeTCP, i.e. PNativeTCP); --out
# writes PREFIX.csv, .md, ... instead of results/compare_<time>.*.
# Defaults: 20000 requests per op and thread, 1 thread, pipeline 1,16, 3 B
# values, every label, 3 rounds (each runs every label, in alternating order;
# medians reported); CXL_SHM_DELAY_NS=150 (the remote-CXL delay model) on a
# host with one NUMA node, else the medium is bound to a remote node; model mlp
# at 25 GB/s (docs/RING.md, "The delay model"; the CSV's delay_model). A failed
# step names itself and keeps every log in results/compare_<time>_logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
report() { /usr/bin/python3 bench/report.py "$@"; } # tables, ratios, charts

requests=20000 threads=1 pipelines=1,16 sizes=3 ops=set,get delay= rounds=3 dmodel=mlp dbw=25
labels=NativeTCP,NativeUnix,NativeTLS,SodiumTCP,Ring,RingCrypto,RingSecure
wrap="" lprefix="" out=""
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
    --delay-model) dmodel=$2; shift 2 ;;
    --delay-bw-gbps) dbw=$2; shift 2 ;;
    --server-wrap) [ $# -ge 2 ] && [ -n "$2" ] || die "--server-wrap: needs a command"; wrap=$2; shift 2 ;;
    --label-prefix) [[ ${2:-} =~ ^[A-Za-z][A-Za-z0-9]*$ ]] || die "--label-prefix: letters and digits, not '${2:-}'"
                    lprefix=$2; shift 2 ;;
    --out) [ $# -ge 2 ] && [ -n "$2" ] || die "--out: needs a path prefix"; out=$2; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
list_ok() { [[ $1 =~ ^[0-9]+(,[0-9]+)*$ ]] || die "$2: need a comma list of numbers, not '$1'"; }
list_ok "$requests" --requests; list_ok "$threads" --threads; list_ok "$pipelines" --pipeline
list_ok "$sizes" --value-size
[[ $rounds =~ ^[1-9][0-9]?$ ]] || die "--rounds: 1..99, not '$rounds'"
matrix_delay "$delay" "$dmodel" "$dbw"; delay=$MATRIX_DELAY # the remote-memory model (scripts/lib.sh)
matrix_labels "$labels" cxl_ring_direct
max_threads=$(echo "${threads//,/ }" | tr ' ' '\n' | sort -n | tail -1)
rings=$(( max_threads > 4 ? max_threads : 4 ))
stamp=$(date +%Y%m%d-%H%M%S)
[ -z "$wrap" ] || read -ra REDIS_CMD <<<"$wrap" # every Redis of the matrix under the wrapper (scripts/lib.sh)
out=${out:-results/compare_$stamp}
mkdir -p "$(dirname "$out")"
csv=$out.csv
MATRIX_LOGS=${out}_logs
MATRIX_ISO_LOG=${csv%.csv}_isolation.txt # one line per run (matrix_isolate)
fail() { matrix_fail "$@"; } # keeps every log of the run, then stops
echo "$(matrix_machine compare), $requests requests per op and thread" >&2

# --- servers (everything registered for cleanup by scripts/lib.sh) ----------
start_matrix "$labels" $rings "$delay" "${MATRIX_NUMA[@]}"

via_of() { # label -> cxl_ring_direct flags
  case $1 in
    NativeTCP) echo "--via 127.0.0.1:$MATRIX_TCP_PORT" ;;
    NativeUnix) echo "--via unix:$MATRIX_SOCK" ;;
    NativeTLS) echo "--via tls:127.0.0.1:$MATRIX_TLS_PORT" ;;
    SodiumTCP) echo "--via $MATRIX_TUN" ;;
    Ring) echo "--path $MATRIX_PLAIN" ;;
    RingCrypto) echo "--path $MATRIX_CRYPTO --crypto --sec-key-file $MATRIX_CRYPTO_SECRET" ;;
    RingSecure) echo "--path $MATRIX_SECURE --secure --sec-mgr $SEC_MGR --sec-node-id 2 --sec-key $SEC_CLIENT_KEY" ;;
  esac
}

# --- the runs: every round runs every label, in alternating order ----------------
raw=$WORK/raw.csv
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
    for l in $(matrix_order "$r"); do
      n=$((n + 1))
      printf '  [%d/%d] round %d/%d %-10s threads=%s pipeline=%s value=%sB ops=%s\n' $n $total "$r" "$rounds" "$l" \
        $t $p $v "$ops" >&2
      matrix_isolate "$l" # the other labels' servers idle, or stopped while it runs
      run_one "$l" "$l@$r" "$raw" $t $p $v "$ops"
      matrix_release
    done
  done
done; done; done

# --- the table and the charts (bench/report.py) ---------------------------------
md=${csv%.csv}.md
report compare "$raw" "$csv" "$md" \
  "Same workload for every label: ops $ops, $requests requests per op and client thread, keys of 16 B (requests x threads distinct keys);
$(nproc) cores; delay model $MATRIX_DELAY_TEXT for the ring labels (docs/RING.md); every reply checked; the keys are loaded before the
rounds (every SET overwrites a value of the same size). Medians of $rounds rounds (labels in alternating order); ratios
are medians of the per-round ratios against NativeTCP. $(matrix_isolation_note)" || fail "the report failed"
if [ -n "$lprefix" ]; then # the labels get their prefix; the ratios are against ${lprefix}NativeTCP
  prefix_labels "$lprefix" "$csv" "$md"
  printf '\nLabels prefixed %s%s: the ratios are against %sNativeTCP of the same run.\n' "$lprefix" \
    "${wrap:+ (every Redis run as: $wrap <its arguments>)}" "$lprefix" >>"$md"
fi
cat "$md"
# one chart per (threads, pipeline, value size); report.py prints each one drawn
charts=$(report compare-charts "$csv" --ops "$ops" --delay-ns "$MATRIX_DELAY_TEXT" | wc -l) || true # a failed chart: gnuplot said why
echo
echo "csv: $csv   table: $md   charts: $charts (${csv%.csv}_t*_p*_v*.png)   isolation: $MATRIX_ISO_LOG"
