#!/usr/bin/env bash
# cli_idle.sh - what an idle Redis with cxl_ring.so costs (issue 15): the CPU
# of redis-server with the module, 2 s after the load, over 4 s (cpu_use,
# scripts/lib.sh), with the default idle back-off (idle_after_ms=100,
# idle_sleep_us=5000) and without the deeper sleep (idle_sleep_us=1000, as
# before issue 15). It PRINTS both: a shared machine is too noisy for a tight
# bound, so the only checks are a sanity bound (< 20% of a core) and that the
# first request after an idle spell is answered. docs/BENCHMARKS.md, "Idle cost
# and label isolation (issue 15)", has the figures.
# Usage: tests/cli_idle.sh [BUILD]
source "$(dirname "$0")/check.sh"
med=/dev/shm/cxl_cli_idle_$$.raw

idle_cpu() { # DESC [module args...]: prints and checks the idle CPU of Redis with the module
  local desc=$1 pct; shift
  rm -f "$med"
  start_redis idle "$med" map_size=8M "$@"
  sleep 2
  pct=$(cpu_use 4000 "$REDIS_PID" | awk '{ print $2 }')
  echo "idle CPU of redis-server with the module, $desc: $pct% of a core (4 s)"
  check "$desc: idle CPU $pct% < 20% of a core" "$(awk -v x="$pct" 'BEGIN { exit !(x != "gone" && x < 20) }'; echo $?)"
  local t0 out ms
  t0=$(date +%s%N)
  out=$("$BUILD/bin/cxl_ring_direct" --path "$med" SET idle:key after 2>&1)
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "  the first SET after the idle spell: '$out' in $ms ms (the client's start included)"
  check "$desc: the first SET after the idle spell answers OK ($out)" "$([ "$out" = OK ]; echo $?)"
  kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
}

idle_cpu "default (idle_sleep_us=5000)"
idle_cpu "idle_sleep_us=1000 (no deeper sleep)" idle_sleep_us=1000
idle_cpu "idle_after_ms=20 idle_sleep_us=20000" idle_after_ms=20 idle_sleep_us=20000

echo "$TEST_NAME: $checks checks, $failed failed"
[ $failed -eq 0 ]
