#!/usr/bin/env bash
# cli_shm.sh - end-to-end checks of the cxl_shm sanity tool on a scratch file
# under /dev/shm: init/info geometry, raw write/read round trips, --hex, and
# the error paths (each must exit with the right status and say why).
# Usage: bash tests/cli_shm.sh [build-dir]     (default: build)
set -euo pipefail

BUILD=${1:-build}
TOOL=$BUILD/bin/cxl_shm
if [ ! -x "$TOOL" ]; then
  echo "cli_shm: $TOOL is not built (make $TOOL)" >&2
  exit 1
fi

MED=$(mktemp /dev/shm/cli_shm.XXXXXX)
ERRF=$(mktemp /dev/shm/cli_shm.XXXXXX.err)
trap 'rm -f "$MED" "$MED".* "$ERRF"' EXIT
SIZE=$((64 << 20))

checks=0
failed=0
out=""
err=""
rc=0

check() { # check DESC CONDITION-RESULT(0/1)
  checks=$((checks + 1))
  if [ "$2" -ne 0 ]; then
    failed=$((failed + 1))
    echo "cli_shm: FAIL: $1" >&2
    echo "  exit $rc; stdout: ${out:0:400}" >&2
    echo "  stderr: ${err:0:400}" >&2
  fi
}

run() { # run the tool; sets out, err, rc (never trips set -e)
  rc=0
  out=$("$TOOL" "$@" 2>"$ERRF") || rc=$?
  err=$(cat "$ERRF")
}

has() { grep -qF -- "$2" <<<"$1"; }

expect_ok() { # expect_ok DESC ARGS... : exit 0
  local desc=$1; shift
  run "$@"
  check "$desc (exit 0)" "$([ "$rc" -eq 0 ]; echo $?)"
}

expect_out() { # expect_out DESC TEXT : last stdout contains TEXT
  check "$1: stdout has '$2'" "$(has "$out" "$2"; echo $?)"
}

expect_fail() { # expect_fail DESC STATUS WORDS ARGS... : exit STATUS, stderr has WORDS
  local desc=$1 status=$2 words=$3; shift 3
  run "$@"
  check "$desc: exit $status" "$([ "$rc" -eq "$status" ]; echo $?)"
  check "$desc: stderr has '$words'" "$(has "$err" "$words"; echo $?)"
}

# --- init and info --------------------------------------------------------------
expect_ok "init 64M" --path "$MED" --map-size 64M init --rings 2 --slot-size 1024
expect_out "init" "rings: 2"
expect_out "init" "slot_size: 1024"
expect_out "init" "medium: file $MED: $SIZE bytes at offset 0"
init_id=$(grep '^format_id:' <<<"$out" || true)
check "init prints format_id" "$([ -n "$init_id" ]; echo $?)"
check "init sized the file to 64M" "$([ "$(stat -c %s "$MED")" -eq $SIZE ]; echo $?)"

expect_ok "info" info --path "$MED"
expect_out "info" "rings: 2"
expect_out "info" "slot_size: 1024"
expect_out "info" "$init_id"
expect_out "info" "medium: file $MED: $SIZE bytes"
expect_out "info" "server_gen: 0"
expect_out "info" "ring 0: owner=free "
expect_out "info" "ring 1: owner=free "
expect_out "info" "req_backlog=0"
check "info: exactly 2 ring lines" "$([ "$(grep -c '^ring ' <<<"$out")" -eq 2 ]; echo $?)"
expect_ok "info, common flag before the subcommand" --path "$MED" info
expect_out "info (flag first)" "$init_id"

# --- write / read -------------------------------------------------------------------
expect_ok "write in the data area" --path "$MED" write --offset 1M --data "hello, cxl"
expect_out "write" "wrote 10 bytes at offset 1048576"
expect_ok "read it back" --path "$MED" read --offset 1048576 --len 10
check "read returns what was written" "$([ "$out" = "hello, cxl" ]; echo $?)"

expect_ok "write at the very end" --path "$MED" write --offset $((SIZE - 5)) --data "TAIL!"
expect_ok "read the end" --path "$MED" read --offset $((SIZE - 7)) --len 7
check "read escapes zero bytes" "$([ "$out" = '\x00\x00TAIL!' ]; echo $?)"
expect_ok "read --hex" --path "$MED" read --offset $((SIZE - 7)) --len 7 --hex
check "hex line" "$([ "$out" = "03fffff9  00 00 54 41 49 4c 21                              |..TAIL!|" ]; echo $?)"
expect_ok "read --hex, two lines" --path "$MED" read --offset 0 --len 20 --hex
check "hex: 2 lines" "$([ "$(wc -l <<<"$out")" -eq 2 ]; echo $?)"
expect_out "hex of the header" "00000000  43 58 4c 2d 44 53 4d 00  02 00 00 00 00 10 00 00  |CXL-DSM.........|"
expect_out "hex of the header" "00000010  00 00 00 04"
expect_ok "info after raw writes in the data area" --path "$MED" info
expect_out "info after writes" "$init_id"

# --- errors ----------------------------------------------------------------------
expect_fail "missing file" 1 "No such file" --path "$MED.missing" info
expect_fail "read of a missing file" 1 "cannot open medium" --path "$MED.missing" read --offset 0 --len 1
check "read did not create the file" "$([ ! -e "$MED.missing" ]; echo $?)"
expect_fail "bad --map-size" 2 "--map-size: unknown size unit in '12Q'" --path "$MED" --map-size 12Q info
expect_fail "read past the end" 1 "past the end" --path "$MED" read --offset $((SIZE - 2)) --len 4
expect_fail "write past the end" 1 "past the end" --path "$MED" write --offset $((SIZE - 4)) --data "12345"
expect_fail "offset beyond the medium" 1 "past the end" --path "$MED" read --offset 1G --len 1
expect_fail "--rings 0" 2 "--rings: 0 is out of range" --path "$MED.r0" --map-size 64M init --rings 0
expect_fail "--slot-size 1000" 2 "--slot-size: 1000 is not a power of two" --path "$MED.s" --map-size 64M init --slot-size 1000
check "rejected init created no file" "$([ ! -e "$MED.r0" ] && [ ! -e "$MED.s" ]; echo $?)"
expect_fail "init too small" 2 "medium too small" --path "$MED.small" --map-size 9K init
# a medium of layout version 1 (fixed 64 B headers in 4 KiB slots) is refused with what to do
"$TOOL" --path "$MED.v1" --map-size 1M init >/dev/null 2>&1
"$TOOL" --path "$MED.v1" write --offset 8 --data $'\x01' >/dev/null 2>&1
expect_fail "a v1 medium" 1 'layout v1, this build reads v2: reformat with `cxl_shm init`' --path "$MED.v1" info
truncate -s 1M "$MED.zero"
expect_fail "info on a zero file" 1 "not formatted" --path "$MED.zero" info
expect_fail "unknown subcommand" 2 "unknown subcommand 'frobnicate'" --path "$MED" frobnicate
expect_fail "missing subcommand" 2 "missing subcommand" --path "$MED"
expect_fail "extra argument" 2 "unexpected argument 'extra'" --path "$MED" info extra
expect_fail "write without --data" 2 "'write' needs --data" --path "$MED" write --offset 0
expect_fail "option of another subcommand" 2 "--rings is not an option of 'read'" --path "$MED" read --rings 2
expect_fail "unknown flag" 2 "unknown or ambiguous option '--bogus'" --path "$MED" info --bogus
expect_fail "empty --path" 2 "--path: missing value" --path "" info
expect_fail "a switch given a value" 2 "--prefault takes no value" --path "$MED" info --prefault=1
expect_fail "--slot-size out of range" 2 "--slot-size: 2M is not a power of two in [64, 1048576]" --path "$MED.s" init --slot-size 2M

# a broken ring index: info still shows everything, marks the ring, exits 1
expect_ok "scribble over ring 1's request tail" --path "$MED" write --offset $((4096 + 1024 + 128)) --data "ZZZZZZZZ"
expect_fail "info on a broken ring" 1 "ring 1 request queue" --path "$MED" info
expect_out "info on a broken ring" "indices=corrupt"
expect_out "info on a broken ring shows the healthy ring" "ring 0: owner=free"
expect_fail "layout at an unaligned map offset" 1 "aligned" --path "$MED" --map-offset 100 --map-size 1M init

expect_ok "write garbage over the magic" --path "$MED" write --offset 0 --data "GARBAGE!"
expect_fail "info on a foreign magic" 1 "foreign magic" --path "$MED" info

# formatting again zeroes what the old layout left in the slots (a plain
# medium's values must not stay readable once it is formatted secure)
expect_ok "init plain" --path "$MED" --map-size 64M init --rings 2 --slot-size 1024
expect_ok "a value left in a slot" --path "$MED" write --offset $((8 << 20)) --data "PLAINTEXT-SECRET"
expect_ok "init --secure" --path "$MED" --map-size 64M init --rings 2 --slot-size 1024 --secure
expect_ok "read the slot again" --path "$MED" read --offset $((8 << 20)) --len 16
check "the old value is gone" "$(! has "$out" "PLAINTEXT"; echo $?)"
expect_out "zeros instead" '\x00\x00\x00\x00'
check "the medium file stays sparse" "$([ "$(du -k "$MED" | cut -f1)" -lt 16384 ]; echo $?)"

# a medium file that another local user controls is refused unless allowed
FOREIGN=$MED.foreign
expect_ok "a new medium file" --path "$FOREIGN" --map-size 1M init
check "a new medium file is mode 0600" "$([ "$(stat -c %a "$FOREIGN")" = 600 ]; echo $?)"
chmod 0666 "$FOREIGN"
expect_fail "a world-writable medium" 1 "writable by every local user (mode 0666)" --path "$FOREIGN" info
expect_ok "a world-writable medium, allowed" --path "$FOREIGN" --allow-foreign-medium info
chmod 0600 "$FOREIGN"
ln -s "$FOREIGN" "$FOREIGN.link"
expect_fail "a symbolic link" 1 "is a symbolic link" --path "$FOREIGN.link" info
expect_fail "init through a symbolic link" 1 "is a symbolic link" --path "$FOREIGN.link" --map-size 1M init
expect_ok "a symbolic link, allowed" --path "$FOREIGN.link" --allow-foreign-medium info
if [ "$(id -u)" = 0 ]; then
  chown 65534:65534 "$FOREIGN"
  expect_fail "another user's medium" 1 "belongs to uid 65534" --path "$FOREIGN" info
  expect_ok "another user's medium, allowed" --path "$FOREIGN" --allow-foreign-medium info
fi

expect_ok "--help" --help
expect_out "--help" "usage: cxl_shm"

echo "cli_shm: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
