#!/usr/bin/env bash
# ycsb_vms.sh - two QEMU VMs, one ivshmem medium, YCSB across them
# (docs/VMS.md, docs/YCSB.md). VM1 (ycsb-server) runs Redis with cxl_ring.so
# on BAR2 at offset 0 (the plain ring, as two_vms.sh); VM2 (ycsb-client) runs
# cxl_ycsb -load then -run of workload A over that ring, every value read
# checked. Passes when both VMs print CXL-VM-RESULT: PASS, VM2 logged the load
# and the run with [READ], Return=OK, VM1 holds the records, and the host,
# reading the backing file afterwards, finds the layout VM1 formatted. Prints
# the run's throughput last (TCG-emulated guests: not a measure of the ring).
# Usage: tests/vm/ycsb_vms.sh [BUILD]      (needs make vm; env: RECORDS=2000, OPS=2000, SEED=42, TIMEOUT=240)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build} TEST_NAME=ycsb_vms
source tests/vm/vm_lib.sh
records=${RECORDS:-2000} ops=${OPS:-2000} seed=${SEED:-42} timeout=${TIMEOUT:-240} region=32M
[ -x "$BUILD/bin/cxl_ycsb" ] || die "$BUILD/bin/cxl_ycsb is not built (make)"

# the medium: 64 MiB in RAM, zero-filled (the ring's 32 MiB at offset 0)
medium=/dev/shm/cxl_vmycsb_$$.raw
CLEANUP_FILES+=("$medium")
bash infra/create_cxl_shared.sh "$medium" 64M >/dev/null || die "cannot create $medium"

common="cxl.records=$records cxl.ops=$ops cxl.seed=$seed cxl.map_size=$region cxl.wait=$((timeout - 40))"
echo "ycsb_vms: medium $medium (64 MiB: the ring at 0), workload A, $records records, $ops operations, seed $seed"
run_pair test-vm-ycsb --cxl "$medium" --cxl-size 64M \
  --vm1-role ycsb-server --vm1-append "$common" \
  --vm2-role ycsb-client --vm2-append "$common" \
  --timeout "$timeout"
s2=$logs/vm2.serial.log
vm_logged 2 "ycsb: -load exit 0" "ycsb: workload A load $records records" "ycsb: -run exit 0" \
  "ycsb: workload A run $ops operations (" "[READ], Return=OK, " "reported PASS to VM1"
# VM2's cxl_ycsb output, as it came over the data channel (vm2.ycsb.txt)
out=$logs/vm2.ycsb.txt
check "VM2 sent its YCSB output over the data channel" "$([ -s "$out" ]; echo $?)"
check "VM2's YCSB output counts [READ], Return=OK" "$(grep -aq '^\[READ\], Return=OK, [1-9]' "$out" 2>/dev/null; echo $?)"
check "VM2's YCSB output has no UNEXPECTED_STATE or ERROR" "$(grep -aq 'UNEXPECTED_STATE\|ERROR' "$out" 2>/dev/null && echo 1 || echo 0)"
grep -aqF "ycsb: VM1's Redis holds the $records records VM2 inserted over the ring" "$logs/vm1.serial.log" 2>/dev/null
check "VM1's Redis holds the $records records" $?

# the host reads what the guests left in the file: it is their BAR2
info=$("$BUILD/bin/cxl_shm" info --path "$medium" --map-size "$region" 2>&1)
check "the host sees the ring layout VM1 formatted (cxl_shm info)" "$(grep -q 'ring_count: 4\|rings: 4\|4 rings' <<<"$info"; echo $?)"

grep -a 'ycsb: workload A \|\[OVERALL\]' "$s2" 2>/dev/null | tr -d '\r' | sed 's/^/  vm2: /'
tput=$(grep -a 'ycsb: workload A run ' "$s2" 2>/dev/null | tr -d '\r' | sed -n 's/.*, \([0-9.]*\) ops\/s$/\1/p' | tail -n 1)
check "the run's throughput was logged (${tput:-none})" "$([ -n "$tput" ]; echo $?)"

vm_finish; ok=$?
# last, so that run.sh shows it: the guests are TCG-emulated (docs/VMS.md), a
# sign that the path works, not a measure of the ring
[ -n "$tput" ] && tput=$(printf '%.0f' "$tput")
echo "ycsb in VM2 over BAR2: workload A run ${tput:-?} ops/s"
[ "$ok" -eq 0 ]
