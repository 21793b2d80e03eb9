#!/usr/bin/env bash
# cli_ycsb_bench.sh - smoke test of bench/ycsb_compare.sh (docs/YCSB.md, "The
# benchmark"; docs/BENCHMARKS.md, "The compare matrix"): workloads A and E
# (scans) over every label, 300 records and operations, 2 rounds; exit 0, the
# medians CSV has its header and a row per workload and label, errors 0
# everywhere, NativeTCP's ratios 1.00, E's main op is scan; the table is
# printed; progress lines in alternating order; an isolation line per run
# and the note under the table; bad flags fail with a clear
# error; no medium is left in /dev/shm.
# Usage: bash tests/cli_ycsb_bench.sh [build-dir]
source "$(dirname "$0")/check.sh" # check, BUILD, WORK (removed on exit)
export BUILD
OUT=$WORK
LABELS="NativeTCP NativeUnix NativeTLS SodiumTCP Ring RingCrypto RingSecure"

shm_before=$(ls /dev/shm 2>/dev/null | grep 'cxl_ycsb_compare_' | sort)
rc=0
bench/ycsb_compare.sh --workloads a,e --records 300 --operations 300 --rounds 2 --out "$OUT/run" \
  >"$OUT/stdout" 2>"$OUT/stderr" || rc=$?
check "ycsb_compare a,e exits 0 (rc $rc)" "$rc"
[ "$rc" -eq 0 ] || { tail -20 "$OUT/stderr" >&2; }
csv=$OUT/run.csv
want='workload,label,db,threads,records,operations,rounds,load_ops_sec,run_ops_sec,run_min_ops_sec,run_max_ops_sec,load_x_nativetcp,run_x_nativetcp,main_op,main_p99_us,nativetcp_p99_over_p99,errors'
check "the medians CSV header" "$([ "$(head -1 "$csv" 2>/dev/null)" = "$want" ]; echo $?)"
for w in workloada workloade; do
  for l in $LABELS; do
    n=$(awk -F, -v w="$w" -v l="$l" '$1 == w && $2 == l && $7 == 2 && $8 > 0 && $9 > 0' "$csv" 2>/dev/null | wc -l)
    check "a row for $w $l, 2 rounds, load and run ops/s" "$([ "$n" -eq 1 ]; echo $?)"
  done
done
bad=$(awk -F, 'NR > 1 && $17 != 0' "$csv" 2>/dev/null | wc -l)
check "errors 0 in every row ($bad not)" "$([ "$bad" -eq 0 ]; echo $?)"
n=$(awk -F, '$2 == "NativeTCP" && $12 == "1.00" && $13 == "1.00" && $16 == "1.00"' "$csv" 2>/dev/null | wc -l)
check "NativeTCP's own ratios are 1.00" "$([ "$n" -eq 2 ]; echo $?)"
n=$(awk -F, '($1 == "workloade" && $14 == "scan") || ($1 == "workloada" && $14 == "read")' "$csv" 2>/dev/null | wc -l)
check "the main op: read in A, scan in E ($n of 14 rows)" "$([ "$n" -eq 14 ]; echo $?)"
check "the Markdown table: a line per workload and label" \
  "$([ "$(grep -cE '^\| workload[ae] \| ' "$OUT/run.md" 2>/dev/null)" -eq 14 ]; echo $?)"
check "the table is printed" "$(grep -q '| workloade | RingSecure |' "$OUT/stdout"; echo $?)"
if command -v gnuplot >/dev/null; then check "the chart" "$([ -s "$OUT/run.png" ]; echo $?)"; fi
check "progress lines" "$(grep -q '\[56/56\] e  *round 2/2 NativeTCP  run' "$OUT/stderr"; echo $?)"
check "round 2 starts with the last label" "$(grep -q '\[15/56\] a  *round 2/2 RingSecure load' "$OUT/stderr"; echo $?)"
# each label ran with the others' servers idle or stopped (scripts/lib.sh, matrix_isolate)
check "an isolation line per workload, round and label" \
  "$([ "$(grep -cE '^  isolation: [A-Za-z]+: (other servers idle|no other server|still busy|busy: )' "$OUT/stderr")" -eq 28 ] &&
     [ "$(wc -l <"$OUT/run_isolation.txt")" -eq 28 ]; echo $?)"
check "the table's notes say how the labels were isolated" "$(grep -q '^Isolation: .* of 28 runs' "$OUT/run.md"; echo $?)"
shm_after=$(ls /dev/shm 2>/dev/null | grep 'cxl_ycsb_compare_' | sort)
check "no medium left in /dev/shm" "$([ "$shm_before" = "$shm_after" ]; echo $?)"

bad_flag() { check_fails "$1" bench/ycsb_compare.sh "${@:2}" --out "$OUT/bad"; } # WORDS ARGS...
bad_flag "--workloads: unknown workload g (a..f or crudscan)" --workloads a,g
bad_flag "--labels: unknown label Rng" --labels NativeTCP,Rng
bad_flag "--records: need a number, not 'many'" --records many
bad_flag "--rounds: 1..99, not '0'" --rounds 0
bad_flag "--delay-ns: need a number" --delay-ns soon
bad_flag "unknown option --record" --record 10
check "--help shows the usage" "$(bench/ycsb_compare.sh --help | grep -q 'Usage: bench/ycsb_compare.sh'; echo $?)"

echo "$TEST_NAME: $((checks - failed))/$checks checks passed"
[ "$failed" -eq 0 ]
