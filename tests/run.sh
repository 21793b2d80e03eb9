#!/usr/bin/env bash
# run.sh - run every test of cxl-dsm; one line per test, logs of failures,
# a summary, exit 1 if anything failed. Called by `make test` with the build
# directory. TESTS=pattern runs only the tests whose name matches (make test
# T=pattern); QUICK=1 (make check) skips the slow ones: sanitizer builds,
# fuzzing, the attacker suite and the daemons' CLI tests.
set -uo pipefail
build=${1:-build}
logdir=$build/test-logs
mkdir -p "$logdir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 failed=()
start_all=$(date +%s)

slow='^(asan|fuzz|attack):|^cli: cli_(gateway|sec_mgr|tunnel)$'

t() { # t NAME CMD... : run one test
  local name=$1; shift
  if [ -n "${TESTS:-}" ] && [[ ! "$name" =~ ${TESTS} ]]; then return; fi
  if [ -n "${QUICK:-}" ] && [[ "$name" =~ $slow ]]; then return; fi
  local log="$logdir/$(echo "$name" | tr ' /:' '___').log"
  local t0=$(date +%s%N)
  "$@" >"$log" 2>&1
  local rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  local dt=$(printf '%d.%d' $((ms / 1000)) $(((ms % 1000) / 100)))
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1)); printf 'PASS  %-40s %6.1fs  %s\n' "$name" "$dt" "$(tail -n 1 "$log" | cut -c1-70)"
  else
    fail=$((fail + 1)); failed+=("$name")
    printf 'FAIL  %-40s %6.1fs  (exit %d, log %s)\n' "$name" "$dt" "$rc" "$log"
    tail -n 25 "$log" | sed 's/^/      | /'
  fi
}

# unit tests, then the same under ASan+UBSan
for bin in "$build"/tests/test_*; do
  t "unit: $(basename "$bin")" "$bin"
done
for bin in "$build"/asan/tests/test_*; do
  t "asan: $(basename "$bin")" "$bin"
done

# the library through its public headers alone, as a user's program
t "library: public API (include/cxl only)" "$build/tests/public_api"

# two-process stress through every ring
t "stress: 4 rings, 256 B slots" "$build/tests/ring_stress" --messages 1000000
t "stress: 4 rings, 4 KiB slots" "$build/tests/ring_stress" --messages 100000 --slot-size 4096 --max-slots 3 --map-size 64M
t "stress: 1 ring, 64 B slots" "$build/tests/ring_stress" --messages 300000 --rings 1 --slot-size 64 --max-slots 8 --map-size 1M
t "asan: stress" "$build/asan/tests/ring_stress" --messages 200000

# Redis with the module, real redis-server, real clients; then the same with
# the module, the client tool and the test built with ASan+UBSan (the
# runtimes preloaded into Debian's redis-server)
t "redis: module + client vs redis-server" "$build/tests/redis_ring" "$build"
CXL_TEST_REDIS_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  t "asan: redis module + client" "$build/asan/tests/redis_ring" "$build/asan"
# a ring client has exactly the rights a TCP client would (ACL users, NOAUTH,
# protected commands, replica and OOM refusals), plain and under ASan+UBSan
t "redis: ring rights = TCP rights" "$build/tests/redis_rights" "$build"
CXL_TEST_REDIS_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  t "asan: ring rights" "$build/asan/tests/redis_rights" "$build/asan"
# on a secure ring each node runs as the Redis user the manager's ACL names
t "redis: node users on a secure ring" "$build/tests/redis_node_users" "$build"
CXL_TEST_REDIS_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  t "asan: node users" "$build/asan/tests/redis_node_users" "$build/asan"

# one keyring shared by threads (as cxl_ring_direct --threads N --secure does), then a range
# region's keys by name on every granted node (cxl_keyring_region_keys), a real cxl_sec_mgr
t "keyring: fetches from 4 threads, range region keys" "$build/tests/keyring_threads" "$build"
t "asan: keyring threads" "$build/asan/tests/keyring_threads" "$build/asan"

# the fabric manager (docs/FABRIC.md): a region's memfd by ACL over cxl_sec_mgr's
# fabric socket, rw / ro / nothing, the publisher's seal, revocation, hostile peers
t "fabric: memfd grants, seals, revocation" "$build/tests/fabric" "$build"
t "asan: fabric" "$build/asan/tests/fabric" "$build/asan"

# the graph kernels against their serial verifiers, plain and under ASan+UBSan
t "graph: kernels" "$build/tests/graph_kernels"
[ -x "$build/asan/tests/graph_kernels" ] && t "asan: graph kernels" "$build/asan/tests/graph_kernels"

# command-line tools
for sh in tests/cli_*.sh; do
  case $(basename "$sh") in # run once, below, with the ASan+UBSan build (each ~45 s)
    cli_gateway.sh|cli_tunnel.sh) [ -n "${QUICK:-}" ] || continue ;;
  esac
  [ -f "$sh" ] && t "cli: $(basename "$sh" .sh)" bash "$sh" "$build"
done
# the key manager, the tunnel and the gateway again, built with ASan+UBSan (a report fails the test)
t "asan: cli sec_mgr" bash tests/cli_sec_mgr.sh "$build/asan"
TUNNEL_BIN=$build/asan/bin/cxl_sodium_tunnel t "asan: cli tunnel" bash tests/cli_tunnel.sh "$build"
t "asan: cli graph" bash tests/cli_graph.sh "$build/asan"
t "asan: cli graph region" bash tests/cli_graph_region.sh "$build/asan"
t "asan: cli fabric" bash tests/cli_fabric.sh "$build/asan"
GATEWAY_BIN=$build/asan/bin/cxl_resp_gateway t "asan: cli gateway" bash tests/cli_gateway.sh "$build"
YCSB_BIN=$build/asan/bin/cxl_ycsb t "asan: cli ycsb" bash tests/cli_ycsb.sh "$build"

# the attacker suite: cxl_sec_mgr, Redis in secure mode, two honest clients
# and a hostile host on the medium (docs/SECURITY.md); then the same with the
# module, the manager and the test built with ASan+UBSan
t "attack: hostile host vs the secure ring" "$build/tests/attack" "$build"
CXL_TEST_REDIS_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  t "asan: attack" "$build/asan/tests/attack" "$build/asan"

# fuzz targets: a short bounded run each (make fuzz-long for the long one)
for fz in "$build"/fuzz/fuzz_*; do
  [ -x "$fz" ] || continue
  name=$(basename "$fz")
  mkdir -p "$build/fuzz/corpus-$name"
  seeds=fuzz/seeds/$name; [ -d "$seeds" ] || seeds=
  t "fuzz: $name" "$fz" -max_total_time="${FUZZ_SECONDS:-8}" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz/" "$build/fuzz/corpus-$name" $seeds
done

# later suites (redis, security, gateway, ...) drop a runner in tests/suites/
for s in tests/suites/*.sh; do
  [ -f "$s" ] && source "$s"
done

total=$(( $(date +%s) - start_all ))
echo
echo "tests: $pass passed, $fail failed, ${total}s"
if [ $fail -gt 0 ]; then
  printf '  failed: %s\n' "${failed[@]}"
  exit 1
fi
