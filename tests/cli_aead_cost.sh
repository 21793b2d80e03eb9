#!/usr/bin/env bash
# cli_aead_cost.sh - smoke test of build/bench/aead_cost (issue 15; docs/
# BENCHMARKS.md, "AEAD cost on this machine"): a --quick run exits 0 after its
# self-check, prints the machine, the tables and the "fastest for" lines; its
# CSV has the header and one row per AEAD, op and size (or batch), every cost
# positive; bad flags exit 2 saying why. No timing thresholds.
# Usage: bash tests/cli_aead_cost.sh [build-dir]
source "$(dirname "$0")/check.sh" # check, check_fails, BUILD, WORK (removed on exit)
BIN=$BUILD/bench/aead_cost
[ -x "$BIN" ] || { echo "$TEST_NAME: $BIN is not built (make $BIN)" >&2; exit 1; }

rc=0
"$BIN" --quick --csv "$WORK/out.csv" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
check "--quick exits 0 (rc $rc)" "$rc"
[ "$rc" -eq 0 ] || tail -5 "$WORK/stderr" >&2
out=$(cat "$WORK/stdout")
has() { grep -qE -- "$1" <<<"$out"; echo $?; }
check "the processor" "$(has '^processor: .+')"
check "AES-NI and PCLMUL" "$(has '^AES-NI: (yes|no), PCLMUL: (yes|no)')"
check "the self-check passed" "$(has '^self-check: ')"
check "the per-message table" "$(has '^openssl-aes256gcm +4096 ')"
check "the batch table" "$(has '^openssl-chacha20poly1305 +256 ')"
check "fastest for small messages" "$(has '^fastest for small messages \(48 B seal\+open\): [a-z0-9-]+$')"
check "fastest for 4 KiB" "$(has '^fastest for 4 KiB: [a-z0-9-]+$')"
check "fastest for batches of 16 and 256" "$([ "$(grep -cE "^fastest for batches of (16|256) x 48 B: [a-z0-9-]+$" <<<"$out")" -eq 2 ]; echo $?)"

# libsodium's AES-256-GCM runs only where the CPU has AES-NI and PCLMUL
aeads="sodium-xchacha20poly1305 openssl-aes256gcm openssl-chacha20poly1305"
if grep -q '^AES-NI: yes, PCLMUL: yes' <<<"$out"; then
  aeads="sodium-aes256gcm $aeads"
else
  check "sodium-aes256gcm said to be skipped" "$(has '^sodium-aes256gcm: not available')"
fi
csv=$WORK/out.csv
check "the CSV header" \
  "$([ "$(head -1 "$csv")" = aead,op,bytes,batch,ns_per_op,ns_per_msg,mb_per_s ]; echo $?)"
n_aeads=$(wc -w <<<"$aeads")
check "one row per AEAD, op and size: $((n_aeads * 34)) rows" \
  "$([ "$(($(wc -l <"$csv") - 1))" -eq $((n_aeads * 34)) ]; echo $?)"
row() { # row AEAD OP BYTES BATCH: exactly one such row, 7 fields, positive costs
  local n
  n=$(awk -F, -v a="$1" -v o="$2" -v b="$3" -v k="$4" \
    'NF == 7 && $1 == a && $2 == o && $3 == b && $4 == k && $5 > 0 && $6 > 0 && $7 >= 0' "$csv" | wc -l)
  [ "$n" -eq 1 ]
}
for a in $aeads; do
  for b in 0 16 48 64 256 1024 4096; do
    for op in seal open; do
      check "$a $op $b B" "$(row "$a" "$op" "$b" 1; echo $?)"
    done
  done
  for k in 1 4 16 64 256; do
    for op in batch_seal batch_open separate_seal separate_open; do
      check "$a $op $k x 48 B" "$(row "$a" "$op" $((k * 48)) "$k"; echo $?)"
    done
  done
done
bad=$(awk -F, 'NR > 1 && $4 > 0 && ($6 - $5 / $4 > 0.01 || $5 / $4 - $6 > 0.01)' "$csv" | wc -l)
check "ns_per_msg = ns_per_op / batch in every row ($bad not)" "$([ "$bad" -eq 0 ]; echo $?)"

bad_flag() { # WORDS ARGS...: exit 2, stderr has WORDS
  local words=$1 err r=0; shift
  err=$("$BIN" "$@" 2>&1 >/dev/null) || r=$?
  check "$*: exit 2 (got $r)" "$([ "$r" -eq 2 ]; echo $?)"
  check "$*: says '$words'" "$(grep -qF -- "$words" <<<"$err"; echo $?)"
}
bad_flag "unknown flag '--fast'" --fast
bad_flag "--reps: need a number 1..1000, not 'x'" --reps x
bad_flag "--reps: need a number 1..1000, not '0'" --reps 0 --quick
bad_flag "--csv: needs a file name" --quick --csv
bad_flag "unexpected argument 'extra'" --quick extra
check "--help exits 0 with the usage" "$("$BIN" --help | grep -q '^usage: aead_cost'; echo $?)"

echo "$TEST_NAME: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
