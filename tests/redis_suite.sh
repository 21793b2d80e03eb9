#!/usr/bin/env bash
# redis_suite.sh - Redis 7.0's own test suite (Debian's source package) run
# through cxl_resp_gateway: `make test-redis-suite`, outside `make test` (it
# takes ~15 min). Redis with the cxl_ring module on a /dev/shm medium, the
# gateway in front of it, then for each unit
#   ./runtest --host 127.0.0.1 --port <gateway> --singledb --tags "-slow -resp3 -needs:repl" --single unit/<u>
# (-resp3 and -needs:repl are the suite's own tags for servers without RESP3
# or a replication stream: the gateway refuses both by design)
# and a summary: per unit the tests passed, skipped and failed, with the
# failing tests' names. Logs (per unit: runtest's, Redis's, the gateway's)
# stay in BUILD/redis-suite/. Exit 0 whatever failed: the summary is the result.
# Tests that need what the gateway refuses by design (RESP3, MULTI/EXEC/WATCH,
# pub/sub, replication, SELECT n>0) or what it does not do yet are listed in
# tests/redis_suite.skip: runtest skips them (an exception would end the whole
# unit) and the summary names them.
# Usage: tests/redis_suite.sh [BUILD]   (REDIS_SUITE_UNITS="type/string expire"
# picks units; REDIS_SUITE_TAGS the --tags; REDIS_SUITE_SKIP another skip
# file; REDIS_SUITE_UNIT_TIMEOUT seconds per unit, default 900)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source scripts/lib.sh
OUT=$BUILD/redis-suite
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/summary.txt # this run's logs only
# runtest reads every line as a test name or /regexp: the list without comments
skipfile=$(realpath "$OUT")/skip.txt
grep -v -e '^#' -e '^[[:space:]]*$' "${REDIS_SUITE_SKIP:-tests/redis_suite.skip}" >"$skipfile"

tags=${REDIS_SUITE_TAGS:--slow -resp3 -needs:repl}
src=$(bash scripts/redis_source.sh "$BUILD/redis-src") || die "no Redis source tree"
units=${REDIS_SUITE_UNITS:-}
if [ -z "$units" ]; then
  for f in "$src"/tests/unit/type/*.tcl; do
    u=type/$(basename "$f" .tcl)
    [ "$u" = type/list-common ] || units+=" $u" # a helper the list units source
  done
  units+=" expire keyspace scan protocol info"
fi

# the test servers' settings (tests/assets/default.conf) that tests rely on
REDIS_EXTRA=(--enable-debug-command yes --enable-module-command yes --enable-protected-configs yes
             --notify-keyspace-events KEA --latency-monitor-threshold 1)
# A fresh Redis and gateway for each unit, as the suite itself starts a
# server per unit: some units leave configs behind (list.tcl sets
# proto-max-bulk-len to 10gb outside any test).
start_servers() { # UNIT-NAME: sets GW_PORT, SERVER_PIDS
  local name=$1 medium=/dev/shm/cxl_redis_suite_$$.raw
  start_redis "suite_$name" "$medium" map_size=1G rings=4
  GW_PORT=$(free_port)
  "$BUILD/bin/cxl_resp_gateway" --path "$medium" --listen 127.0.0.1:$GW_PORT --rings 2 2>"$WORK/gateway_$name.err" &
  CLEANUP_PIDS+=($!)
  SERVER_PIDS=("${CLEANUP_PIDS[-2]}" $!)
  wait_listen 127.0.0.1:$GW_PORT $! "$WORK/gateway_$name.err"
}
stop_servers() { # UNIT-NAME: stop both, keep their logs
  local name=$1 pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  CLEANUP_PIDS=() # both ended: nothing for the exit trap to stop (their numbers may be reused)
  cp "$REDIS_LOG" "$OUT/redis_$name.log"; cp "$WORK/gateway_$name.err" "$OUT/gateway_$name.log"
  rm -f /dev/shm/cxl_redis_suite_$$.raw
}
echo "redis_suite: Redis $(redis-server --version | grep -o 'v=[^ ]*') with cxl_ring.so and the gateway," \
     "fresh for each unit; tests from $src; logs in $OUT"

strip() { sed -e 's/\x1b\[[0-9;]*m//g'; } # runtest colours its status words
summary=()
total_ok=0 total_err=0
for u in $units; do
  log=$OUT/$(echo "$u" | tr / _).log
  printf 'redis_suite: %-22s ' "$u"
  t0=$(date +%s)
  start_servers "$(echo "$u" | tr / _)"
  (cd "$src" && timeout "${REDIS_SUITE_UNIT_TIMEOUT:-900}" ./runtest --host 127.0.0.1 --port "$GW_PORT" \
     --singledb --tags "$tags" --single "unit/$u" --timeout 120 --skipfile "$skipfile") 2>&1 | strip >"$log"
  rc=${PIPESTATUS[0]}
  stop_servers "$(echo "$u" | tr / _)"
  ok=$(grep -c '^\[ok\]:' "$log")
  skip=$(grep -c '^\[skip\]:' "$log")
  errs=$(grep -E '^\[(err|exception)\]:' "$log" | sed -E 's/^\[(err|exception)\]: //; s/ in tests\/unit\/.*$//' | sort -u)
  nerr=$(grep -c . <<<"$errs")
  [ $rc -eq 124 ] && errs+=$'\n'"(the unit timed out after ${REDIS_SUITE_UNIT_TIMEOUT:-900} s)" && nerr=$((nerr + 1))
  total_ok=$((total_ok + ok)) total_err=$((total_err + nerr))
  printf '%4d passed %3d skipped %3d failed  (%ss)\n' "$ok" "$skip" "$nerr" $(( $(date +%s) - t0 ))
  summary+=("$(printf '%-22s %4d passed %3d skipped %3d failed' "$u" "$ok" "$skip" "$nerr")")
  while IFS= read -r name; do [ -n "$name" ] && summary+=("    FAILED: $name"); done <<<"$errs"
  while IFS= read -r name; do [ -n "$name" ] && summary+=("    skipped: $name"); done \
    < <(grep '^\[skip\]:' "$log" | sed 's/^\[skip\]: //')
done

{
  echo
  echo "Redis test suite through cxl_resp_gateway: $total_ok passed, $total_err failed"
  printf '%s\n' "${summary[@]}"
} | tee "$OUT/summary.txt"
