#!/usr/bin/env bash
# cli_pingpong.sh - smoke test of the ring ping-pong benchmark
# (build/bench/ring_pingpong, docs/BENCHMARKS.md "Ring ping-pong"): short runs
# at payloads of one line (48 B), two lines with a tail that is not a whole
# word (100 B) and 17 lines (1024 B), each verifying every reply of both
# rings; the lines each ring moves and the equal queue footprint in the
# header lines; the CSV columns and bench/report.py pingpong on two runs; and
# the flag errors (exit 2, saying why).
# Usage: bash tests/cli_pingpong.sh [build-dir]     (default: build)
set -uo pipefail

BUILD=${1:-build}
BIN=$BUILD/bench/ring_pingpong
if [ ! -x "$BIN" ]; then
  echo "cli_pingpong: $BIN is not built (make $BIN)" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/cli_pingpong.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
checks=0 failed=0 out="" err="" rc=0

check() { # check DESC CONDITION-RESULT(0/1)
  checks=$((checks + 1))
  if [ "$2" -ne 0 ]; then
    failed=$((failed + 1))
    echo "cli_pingpong: FAIL: $1" >&2
    echo "  exit $rc; stdout: ${out:0:600}" >&2
    echo "  stderr: ${err:0:600}" >&2
  fi
}

run() { # run the bench, small and unpinned; sets out, err, rc
  rc=0
  out=$("$BIN" --no-pin --round-trips 2000 --warmup 200 --messages 20000 --rounds 2 "$@" \
    2>"$WORK/err") || rc=$?
  err=$(cat "$WORK/err")
}

# payload N: both rings verified, the lines each moves, equal queues
for spec in 48:1 100:2 1024:17; do
  p=${spec%:*} lines=${spec#*:}
  run --payload "$p" --csv "$WORK/pp.csv"
  check "--payload $p runs" "$rc"
  n=$(grep -c "replies verified" <<<"$err")
  [ "$n" -eq 12 ]; check "--payload $p: every run verified its replies ($n of 12)" $?
  grep -q "^ring_pingpong: $p B payload each way; per message libcxldsm moves $lines line.* bare $lines line" <<<"$out"
  check "--payload $p: both move $lines line(s) per message" $?
  kib=$((4096 * lines * 64 / 1024))
  grep -q "^queues: libcxldsm $((4096 * lines)) slots of 64 B = $kib KiB; bare 4096 slots of $((lines * 64)) B = $kib KiB" <<<"$out"
  check "--payload $p: queues of equal bytes ($kib KiB)" $?
  grep -q "^goals ($p B payload" <<<"$out" && grep -q "library RTT p50 .* <= 1.15 x bare" <<<"$out" &&
    [ "$(grep -c 'library throughput at W=.* >= 0.8 x bare' <<<"$out")" -eq 2 ]
  check "--payload $p: the goals are printed" $?
done

# the CSV: the old columns, then lines and queue_bytes; report.py reads it
head -n 1 "$WORK/pp.csv" | grep -qx "bench,impl,inflight,msg_size,slot_size,delay_ns,round_trips,rtt_p50_us,rtt_p99_us,rtt_p999_us,round_trips_per_s,ratio_vs_bare,lines,queue_bytes"
check "CSV header" $?
rows=$(grep -c '^\(latency\|throughput\),' "$WORK/pp.csv")
[ "$rows" -eq 18 ]; check "CSV: 6 rows per payload ($rows)" $?
grep -q '^throughput,libcxldsm,512,1024,64,0,[0-9]*,.*,17,4456448$' "$WORK/pp.csv"
check "CSV: 1024 B row with 17 lines and a 4352 KiB queue" $?
out=$(/usr/bin/python3 bench/report.py pingpong "$WORK/pp.csv" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^ *1024 throughput libcxldsm *512 " <<<"$out"
check "bench/report.py pingpong groups by payload" $?

# both footprints: --bare-slots 0 fills the map; --bare-lines as a diagnostic
run --payload 48 --bare-slots 0 --map-size 4M --inflight 64
check "--bare-slots 0 runs" "$rc"
grep -q "^queues: .*(--bare-slots 0: both fill --map-size)" <<<"$out"; check "--bare-slots 0 says so" $?
run --payload 48 --bare-lines 2 --inflight 64
check "--bare-lines 2 runs" "$rc"
grep -q "bare 2 lines (12 B stamp + 116 B, --bare-lines diagnostic)" <<<"$out" && grep -q "bare-2line " <<<"$out"
check "--bare-lines 2 is labelled a diagnostic" $?

# flag errors: exit 2 and say why
bad() { # bad DESC PATTERN FLAGS...
  local desc=$1 pat=$2; shift 2
  run "$@"
  [ "$rc" -eq 2 ] && grep -q -- "$pat" <<<"$err"; check "$desc" $?
}
bad "--payload 7" "--payload 7: payload bytes per message must be a number in 8..65536" --payload 7
bad "--payload 65537" "--payload 65537: .* 8..65536" --payload 65537
bad "--payload x" "--payload x: " --payload x
bad "--payload without a value" "--payload needs a value" --payload
bad "--bare-lines too few for the payload" "--bare-lines 1: .* needs 2 lines" --payload 64 --bare-lines 1
bad "--bare-slot-size not a multiple of 64" "must be a multiple of 64" --bare-slot-size 100
bad "unknown flag" "unknown flag --bogus" --bogus 1
run --payload 65536 --inflight 64
[ "$rc" -eq 1 ] && grep -q "raise --map-size or lower --bare-slots" <<<"$err"
check "--payload 65536 on a 64M map: says what to raise" $?

echo "cli_pingpong: $((checks - failed))/$checks checks passed"
[ "$failed" -eq 0 ]
