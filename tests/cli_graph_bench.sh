#!/usr/bin/env bash
# cli_graph_bench.sh - smoke test of bench/graph_compare.sh (docs/GRAPH.md,
# "Output and benchmark"; docs/BENCHMARKS.md, "Graph workloads: modes and
# GAPBS"): every kernel in every mode at -g 10, 1 round, 2 trials, -v; the raw
# CSV has the header, two hosts' rows (h1, h2) per kernel and mode, every row
# verified PASS; the table and the medians exist; GAPBS is said to be skipped;
# bad flags fail with a clear error; no region file is left in /dev/shm.
# Usage: bash tests/cli_graph_bench.sh [build-dir]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export BUILD
OUT=$(mktemp -d /tmp/cli_graph_bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
KERNELS="bfs sssp pr pr_spmv cc cc_sv bc tc"
MODES="Native Ring-zero-copy Ring-copy Crypto Secure"

checks=0 failed=0
check() { # check DESC RESULT(0 = passed)
  checks=$((checks + 1))
  if [ "$2" -ne 0 ]; then failed=$((failed + 1)); echo "cli_graph_bench: FAIL: $1" >&2; fi
}

shm_before=$(ls /dev/shm 2>/dev/null | grep 'cxl_graph_compare_' | sort)
rc=0
bench/graph_compare.sh --scale 10 --rounds 1 --trials 2 --threads 1 --verify --out "$OUT/run" \
  >"$OUT/stdout" 2>"$OUT/stderr" || rc=$?
check "graph_compare -g 10 exits 0 (rc $rc)" "$rc"
[ "$rc" -eq 0 ] || { tail -20 "$OUT/stderr" >&2; }
raw=$OUT/run/raw.csv
want='label,vm,kernel,scale,degree,trials,omp_threads,edge_traversals,avg_time_s,throughput_teps,mode,host,delay_ns,median_s,min_s,max_s,attach_ms,publish_ms,verified,round,build_ms'
check "raw.csv header has every column" "$([ "$(head -1 "$raw" 2>/dev/null)" = "$want" ]; echo $?)"
rows=$(($(wc -l <"$raw" 2>/dev/null || echo 1) - 1))
check "raw.csv has 8 kernels x 5 modes x 2 hosts = 80 rows ($rows)" "$([ "$rows" -eq 80 ]; echo $?)"
for k in $KERNELS; do
  for m in $MODES; do
    for h in h1 h2; do
      n=$(awk -F, -v k="$k" -v m="$m" -v h="$h" '$1 == m && $3 == k && $12 == h && $20 == 1' "$raw" 2>/dev/null | wc -l)
      check "a row for $k $m $h" "$([ "$n" -eq 1 ]; echo $?)"
    done
  done
done
bad=$(awk -F, 'NR > 1 && $19 != "PASS"' "$raw" 2>/dev/null | wc -l)
check "every row verified PASS ($bad not)" "$([ "$bad" -eq 0 ]; echo $?)"
nf=$(awk -F, '{ print NF }' "$raw" 2>/dev/null | sort -u | tr '\n' ' ')
check "every line has 21 fields ($nf)" "$([ "$nf" = "21 " ]; echo $?)"
pub=$(awk -F, 'NR > 1 && $1 != "Native" && !($18 > 0)' "$raw" 2>/dev/null | wc -l)
check "every region row has the publisher's publish_ms ($pub without)" "$([ "$pub" -eq 0 ]; echo $?)"
nb=$(awk -F, 'NR > 1 && $1 == "Native" && !($21 > 0)' "$raw" 2>/dev/null | wc -l)
check "every Native row has its build_ms ($nb without)" "$([ "$nb" -eq 0 ]; echo $?)"
check "the Markdown table: a line per kernel and mode" \
  "$([ "$(grep -cE '^\| (bfs|sssp|pr|pr_spmv|cc|cc_sv|bc|tc) \| ' "$OUT/run/graph.md" 2>/dev/null)" -eq 40 ]; echo $?)"
check "the table is printed" "$(grep -q '| tc | Secure |' "$OUT/stdout"; echo $?)"
check "the medians CSV" "$([ "$(wc -l <"$OUT/run/graph.csv" 2>/dev/null)" -eq 41 ]; echo $?)"
check "GAPBS said to be skipped" "$(grep -q 'GAPBS skipped' "$OUT/stderr"; echo $?)"
check "progress lines" "$(grep -q '\[40/40\] round 1/1' "$OUT/stderr"; echo $?)"
shm_after=$(ls /dev/shm 2>/dev/null | grep 'cxl_graph_compare_' | sort)
check "no region file left in /dev/shm" "$([ "$shm_before" = "$shm_after" ]; echo $?)"

bad_flag() { # bad_flag WORDS ARGS...: exit non-zero, stderr names the problem
  local words=$1 err r=0; shift
  err=$(bench/graph_compare.sh "$@" --out "$OUT/bad" 2>&1 >/dev/null) || r=$?
  check "graph_compare $* fails" "$([ "$r" -ne 0 ]; echo $?)"
  check "graph_compare $*: says '$words'" "$(grep -qF -- "$words" <<<"$err"; echo $?)"
}
bad_flag "--scale: need a whole number from 1 to 30, not 'big'" --scale big
bad_flag "--rounds: need a whole number from 1 to 99, not '0'" --rounds 0
bad_flag "--kernels: unknown kernel 'bfz'" --kernels "bfs bfz"
bad_flag "--modes: unknown mode 'Ring'" --modes Ring
bad_flag "--gapbs $OUT/none: no such directory" --gapbs "$OUT/none"
bad_flag "unknown option '--scales'" --scales 10
bad_flag "--trials: needs a value" --trials
check "--help shows the usage" "$(bench/graph_compare.sh --help | grep -q 'Usage: bench/graph_compare.sh'; echo $?)"

echo "cli_graph_bench: $((checks - failed))/$checks checks passed"
[ "$failed" -eq 0 ]
