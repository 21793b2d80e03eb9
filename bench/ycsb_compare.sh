#!/usr/bin/env bash
# bench/ycsb_compare.sh - YCSB's workloads over every transport of the compare
# matrix (bench/compare.sh's labels, started the same way: scripts/lib.sh's
# start_matrix), with cxl_ycsb (docs/YCSB.md): one data model, every read
# checked. For each workload, each round (labels in alternating order) and
# each label: FLUSHALL the Redis behind the label, `cxl_ycsb -load`, then
# `cxl_ycsb -run`, with the same records, operations, seed and threads for
# every label. While a label runs every other server of the matrix is
# stopped (SIGSTOP; MATRIX_ISOLATION=idle: only those still busy after waiting
# for them to go idle; scripts/lib.sh, matrix_isolate: one "isolation:" line
# each, kept in PREFIX_isolation.txt, and a note under the table). Output: a progress line per step, results/ycsb_<time>.csv
# (medians per workload and label), a Markdown table with ratios against
# NativeTCP (.md) and a chart (.png).
#
# Usage: bench/ycsb_compare.sh [--workloads a,b,c,d,e,f,crudscan] [--labels L1,L2]
#          [--records N] [--operations N] [--threads N] [--rounds R] [--delay-ns N] [--seed S]
#          [--delay-model mlp|serial] [--delay-bw-gbps N]
#          [--out PREFIX] [--server-wrap 'CMD ...'] [--label-prefix P]
# --server-wrap and --label-prefix as in bench/compare.sh: every Redis run
# as CMD ... <redis-server's arguments>; labels P<label> in the CSV and table.
# Defaults: every workload (a..f are workloads/workloada..f, crudscan is
# workloads/workload_cxl_crudscan), every label, 10000 records, 10000
# operations, 1 thread, 3 rounds (medians reported), seed 42;
# CXL_SHM_DELAY_NS=150 (the remote-CXL delay model) on a host with one NUMA
# node, else the medium is bound to a remote node; output PREFIX
# results/ycsb_<time> (PREFIX.csv, .md, .png). A failed step names itself and
# keeps every log in PREFIX_logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
report() { /usr/bin/python3 bench/report.py "$@"; } # tables, ratios, charts

workloads=a,b,c,d,e,f,crudscan labels=$MATRIX_ALL records=10000 operations=10000 threads=1 rounds=3 delay= dmodel=mlp dbw=25
seed=42 out= wrap= lprefix=
while [ $# -gt 0 ]; do
  case $1 in
    --workloads) workloads=$2; shift 2 ;;
    --labels) labels=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --operations) operations=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --delay-ns) delay=$2; shift 2 ;;
    --delay-model) dmodel=$2; shift 2 ;;
    --delay-bw-gbps) dbw=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --server-wrap) [ $# -ge 2 ] && [ -n "$2" ] || die "--server-wrap: needs a command"; wrap=$2; shift 2 ;;
    --label-prefix) [[ ${2:-} =~ ^[A-Za-z][A-Za-z0-9]*$ ]] || die "--label-prefix: letters and digits, not '${2:-}'"
                    lprefix=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
for v in records operations threads seed; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "--$v: need a number, not '${!v}'"
done
[ "$threads" -ge 1 ] || die "--threads: at least 1"
[[ $rounds =~ ^[1-9][0-9]?$ ]] || die "--rounds: 1..99, not '$rounds'"
file_of() { # workload name -> its file
  case $1 in crudscan) echo workloads/workload_cxl_crudscan ;; [a-f]) echo "workloads/workload$1" ;; *) echo "" ;; esac
}
for w in ${workloads//,/ }; do
  f=$(file_of "$w")
  [ -n "$f" ] || die "--workloads: unknown workload $w (a..f or crudscan)"
  [ -f "$f" ] || die "$f: no such workload file"
done
matrix_delay "$delay" "$dmodel" "$dbw"; delay=$MATRIX_DELAY # the remote-memory model (scripts/lib.sh)
matrix_labels "$labels" cxl_ycsb
rings=$(( threads > 4 ? threads : 4 ))
out=${out:-results/ycsb_$(date +%Y%m%d-%H%M%S)}
mkdir -p "$(dirname "$out")"
csv=$out.csv
MATRIX_LOGS=${out}_logs
MATRIX_ISO_LOG=${out}_isolation.txt # one line per label and round (matrix_isolate)
echo "$(matrix_machine ycsb_compare), $records records, $operations operations, $threads thread(s), seed $seed" >&2

# --- servers (everything registered for cleanup by scripts/lib.sh) ----------
[ -z "$wrap" ] || read -ra REDIS_CMD <<<"$wrap" # every Redis of the matrix under the wrapper (scripts/lib.sh)
start_matrix "$labels" $rings "$delay" "${MATRIX_NUMA[@]}"

ycsb_of() { # label -> cxl_ycsb's -db and connection flags
  case $1 in
    NativeTCP) echo "-db tcp --host 127.0.0.1 --port $MATRIX_TCP_PORT" ;;
    NativeUnix) echo "-db unix --unix $MATRIX_SOCK" ;;
    NativeTLS) echo "-db tls --host 127.0.0.1 --port $MATRIX_TLS_PORT" ;; # CA: CXL_TLS_CAFILE
    SodiumTCP) echo "-db sodium --host 127.0.0.1 --port $MATRIX_TUN_PORT" ;;
    Ring) echo "-db ring --path $MATRIX_PLAIN" ;;
    RingCrypto) echo "-db ring-crypto --path $MATRIX_CRYPTO --sec-key-file $MATRIX_CRYPTO_SECRET" ;;
    RingSecure) echo "-db ring-secure --path $MATRIX_SECURE --sec-mgr $SEC_MGR --sec-node-id 2 --sec-key $SEC_CLIENT_KEY" ;;
  esac
}

# --- the runs: every round runs every label, in alternating order ----------------
raw=$WORK/raw.csv
total=$(( $(echo "${workloads//,/ }" | wc -w) * rounds * $(echo "${labels//,/ }" | wc -w) * 2 )) n=0
ycsb() { # PHASE LABEL ROUND WORKLOAD: one cxl_ycsb phase, its row appended to the raw CSV
  local log=$WORK/ycsb_$4_$2_$3_$1.log db
  read -ra db <<<"$(ycsb_of "$2")"
  n=$((n + 1))
  printf '  [%d/%d] %-9s round %d/%d %-10s %s\n' $n $total "$4" "$3" "$rounds" "$2" "$1" >&2
  if ! "$BUILD/bin/cxl_ycsb" "-$1" "${db[@]}" -P "$(file_of "$4")" -p recordcount="$records" \
       -p operationcount="$operations" -p seed="$seed" -threads "$threads" --csv "$raw" --label "$2@$3" \
       >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    matrix_fail "workload $4, $2, round $3: cxl_ycsb -$1 failed (its output above)"
  fi
}
for w in ${workloads//,/ }; do
  for r in $(seq 1 "$rounds"); do
    for l in $(matrix_order "$r"); do
      matrix_isolate "$l" # the other labels' servers idle, or stopped while it runs
      port=$(matrix_redis_port "$l")
      said=$(redis-cli -p "$port" FLUSHALL 2>&1) || true # (not $out: the output prefix)
      [ "$said" = OK ] || matrix_fail "FLUSHALL of the Redis behind $l (port $port) said: $said"
      ycsb load "$l" "$r" "$w"
      ycsb run "$l" "$r" "$w"
      matrix_release
    done
  done
done

# --- the table and the chart (bench/report.py) ---------------------------------
md=${csv%.csv}.md
report ycsb "$raw" "$csv" "$md" \
  "cxl_ycsb, the same run for every label: $records records loaded, then $operations operations, $threads client
thread(s), seed $seed, every read checked (data integrity); Redis flushed before each load.
$(nproc) cores; delay model $MATRIX_DELAY_TEXT for the ring labels${MATRIX_NUMA:+ (medium on NUMA node $((MATRIX_NODES - 1)))}.
Medians of $rounds round(s) (labels in alternating order); ratios are medians of the per-round ratios against NativeTCP;
op is the workload's main operation (read, else the one it runs most), whose p99 is shown.
$(matrix_isolation_note)" || matrix_fail "the report failed"
if [ -n "$lprefix" ]; then # the labels get their prefix; the ratios are against ${lprefix}NativeTCP
  prefix_labels "$lprefix" "$csv" "$md"
  printf '\nLabels prefixed %s%s: the ratios are against %sNativeTCP of the same run.\n' "$lprefix" \
    "${wrap:+ (every Redis run as: $wrap <its arguments>)}" "$lprefix" >>"$md"
fi
cat "$md"
chart=$(report ycsb-chart "$csv" --title "cxl_ycsb: $records records, $operations operations, $threads thread(s), delay model $MATRIX_DELAY_TEXT") ||
  true # a failed chart: gnuplot said why
echo
echo "csv: $csv   table: $md   ${chart:-chart: none (no gnuplot?)}   isolation: $MATRIX_ISO_LOG"
