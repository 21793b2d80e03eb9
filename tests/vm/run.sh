#!/usr/bin/env bash
# tests/vm/run.sh - `make test-vm` (docs/VMS.md): the cloud-image scripts
# offline, then two QEMU VMs sharing an ivshmem medium (the rings; then the
# graph region; then YCSB workload A over the ring). One line per test, the
# log of a failure, a summary; exit 1 if anything failed.
# Usage: tests/vm/run.sh [BUILD]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
logdir=$build/test-logs
mkdir -p "$logdir"
pass=0 fail=0 failed=()
start_all=$(date +%s)

t() { # NAME CMD...
  local name=$1 log t0 rc ms; shift
  log="$logdir/vm_$(echo "$name" | tr ' /:' '___').log"
  t0=$(date +%s%N)
  "$@" >"$log" 2>&1
  rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1)); printf 'PASS  %-40s %6d.%ds  %s\n' "$name" $((ms / 1000)) $(((ms % 1000) / 100)) "$(tail -n 1 "$log" | cut -c1-70)"
  else
    fail=$((fail + 1)); failed+=("$name")
    printf 'FAIL  %-40s %6d.%ds  (exit %d, log %s)\n' "$name" $((ms / 1000)) $(((ms % 1000) / 100)) $rc "$log"
    tail -n 40 "$log" | sed 's/^/      | /'
  fi
}

t "vm: cloud-image scripts (offline)" bash tests/vm/cloud_scripts.sh
t "vm: two VMs, plain + secure ring" bash tests/vm/two_vms.sh "$build"
t "vm: two VMs, graph publish + attach" bash tests/vm/graph_vms.sh "$build"
t "vm: regions rw / ro / none (QEMU)" bash tests/vm/region_vms.sh "$build"
t "vm: two VMs, YCSB A over the ring" bash tests/vm/ycsb_vms.sh "$build"

echo
echo "test-vm: $pass passed, $fail failed"
echo "test-vm: $(( $(date +%s) - start_all )) s"
if [ $fail -gt 0 ]; then
  printf '  failed: %s\n' "${failed[@]}"
  exit 1
fi
