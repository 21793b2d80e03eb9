#!/usr/bin/env bash
# two_vms.sh - two QEMU VMs, one ivshmem medium (docs/VMS.md, "How the test
# decides"). VM1 runs Redis with cxl_ring.so on BAR2 (plain ring at offset 0,
# secure ring at 32 MiB with cxl_sec_mgr in VM1 on the VM link); VM2 runs
# cxl_ring_direct: 1000 checked SETs and GETs, 1000 of VM1's values read back,
# 1000 written for VM1 to check, over each ring, and the UIO path. Passes when
# both VMs print CXL-VM-RESULT: PASS and the host, reading the backing file
# afterwards, finds both layouts, plaintext in the plain region and none of
# the secure run's values in the secure region.
# Usage: tests/vm/two_vms.sh [BUILD]      (needs make vm; env: N=1000, TIMEOUT=240)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build} TEST_NAME=two_vms
source tests/vm/vm_lib.sh
n=${N:-1000} timeout=${TIMEOUT:-240} region=32M region_bytes=$((32 << 20))
MGR=$(realpath "$BUILD/bin/cxl_sec_mgr")
[ -x "$MGR" ] || die "$BUILD/bin/cxl_sec_mgr is not built (make)"

# the medium: 64 MiB in RAM, zero-filled
medium=/dev/shm/cxl_vmtest_$$.raw
CLEANUP_FILES+=("$medium")
bash infra/create_cxl_shared.sh "$medium" 64M >/dev/null || die "cannot create $medium"

# the secure ring's provisioning, on the host: the manager's ACL and keys go to
# VM1 only, the client's key (with the manager's public key) to VM2 only
ov1=$WORK/vm1 ov2=$WORK/vm2
mkdir -p "$ov1/cxl/run/sec" "$ov2/cxl/run/sec"
(cd "$ov1/cxl/run/sec" && "$MGR" keygen --manager --out mgr.key >/dev/null &&
 printf 'manager-key mgr.key\nmaster master.secret\nstate sec.state\naudit sec.audit\ncontrol sec.sock\nrotate 0\nrefresh 5\n' >acl.conf &&
 for i in 0 1 2 3; do echo "region ring$i ring $i"; done >>acl.conf &&
 "$MGR" keygen --out server.key --config acl.conf --id 1 --name redis-vm1 >>acl.conf &&
 "$MGR" keygen --out client.key --config acl.conf --id 2 --name client-vm2 >>acl.conf &&
 for i in 0 1 2 3; do printf 'grant redis-vm1 ring%s serve\ngrant client-vm2 ring%s rw\n' $i $i; done >>acl.conf &&
 "$MGR" check --config acl.conf >/dev/null) || die "cannot provision cxl_sec_mgr for the VMs"
mv "$ov1/cxl/run/sec/client.key" "$ov2/cxl/run/sec/client.key"

nonce=$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
common="cxl.n=$n cxl.map_size=$region cxl.nonce=$nonce cxl.wait=$((timeout - 40))"
numa=()
if [ -d /sys/devices/system/node/node0 ] && command -v numactl >/dev/null; then
  numa=(VM1_CPU_NODE=0 VM2_CPU_NODE=0 CXL_MEM_NODE=0) # the binding path, on node 0 (may be the only one)
fi
echo "two_vms: medium $medium (64 MiB: plain ring at 0, secure ring at $region), $n keys, nonce $nonce, ${numa[*]:-no NUMA binding}"
[ ${#numa[@]} -eq 0 ] || export "${numa[@]}"
run_pair test-vm --cxl "$medium" --cxl-size 64M \
  --vm1-role test-server --vm1-overlay "$ov1" --vm1-append "$common" \
  --vm2-role test-client --vm2-overlay "$ov2" --vm2-append "$common" \
  --timeout "$timeout"
vm_logged both "plain ring: $n SETs + $n GETs across the VMs, every value checked" \
  "plain ring: VM1's $n values read back (MGET) and equal" \
  "secure ring: $n SETs + $n GETs across the VMs, every value checked" \
  "secure ring: VM1's $n values read back (MGET) and equal" \
  "secure ring: $n values written for VM1 (MSET)" \
  "gateway: redis-cli in VM2 read vm1:k:7" "gateway: VM2's redis-cli SET through the ring is here" \
  "a 1M map of /dev/uio" "kind pci-bar"
vm_logged 1 "secure ring: the $n values VM2 wrote are in VM1's Redis"

# the host reads what the guests left in the file: it is their BAR2
info=$("$BUILD/bin/cxl_shm" info --path "$medium" --map-size "$region" 2>&1)
check "the host sees the plain layout VM1 formatted (cxl_shm info)" "$(grep -q 'ring_count: 4\|rings: 4\|4 rings' <<<"$info"; echo $?)"
sinfo=$("$BUILD/bin/cxl_shm" info --path "$medium" --map-offset "$region" --map-size "$region" 2>&1)
check "the host sees the secure layout at $region (cxl_shm info)" "$(grep -qi 'secure' <<<"$sinfo"; echo $?)"
plain_hits=$(head -c "$region_bytes" "$medium" | grep -a -o "v1-[0-9]*-$nonce" | wc -l)
secure_hits=$(tail -c "$region_bytes" "$medium" | grep -a -c "$nonce")
check "the plain region holds the values in clear ($plain_hits found)" "$([ "$plain_hits" -gt 0 ]; echo $?)"
check "the secure region holds none of the run's values ($secure_hits found)" "$([ "$secure_hits" -eq 0 ]; echo $?)"
grep -a 'CXLRING\|ring stats\|req/s' "$logs"/vm*.serial.log | tr -d '\r' | sed 's/^/  /' | head -n 12

[ "$failed" -eq 0 ] || { echo "--- cxl_shm info (plain):" >&2; echo "$info" | head -n 12 >&2; }
vm_finish
