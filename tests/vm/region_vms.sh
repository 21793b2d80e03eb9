#!/usr/bin/env bash
# region_vms.sh - regions a VM cannot write, enforced by QEMU (docs/VMS.md,
# "Regions a VM cannot write"): two VMs, the ring medium, and two regions
# given with infra/run_vms.sh --region, their access taken from a
# cxl_sec_mgr ACL (--region-acl): graph (VM1 rw, VM2 ro) and secret (VM1 rw,
# VM2 none). VM1 (region-publish) publishes kron -g SCALE into
# graph and writes a marker into secret; VM2 (region-attach) has no device
# for secret, attaches the graph read-only and verifies bfs, tries to write
# over the graph's header and at the region's end, and verifies again.
# Passes when both VMs report PASS and the host, reading the files
# afterwards, finds VM2's writes nowhere, attaches and verifies the graph VM2
# saw, and finds VM1's marker in secret; VM2 also tries to replace its own
# serial log through the data channel, which the launcher refuses.
# Usage: tests/vm/region_vms.sh [BUILD]      (needs make vm; env: SCALE=12, TIMEOUT=240)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build} TEST_NAME=region_vms
source tests/vm/vm_lib.sh
scale=${SCALE:-12} timeout=${TIMEOUT:-240}
G=$(realpath "$BUILD/bin/cxl_graph") S=$(realpath "$BUILD/bin/cxl_shm")
[ -x "$G" ] && [ -x "$S" ] && [ -x "$BUILD/bin/cxl_sec_mgr" ] || die "$BUILD/bin/cxl_graph, cxl_shm or cxl_sec_mgr is not built (make)"

medium=/dev/shm/cxl_vmregion_$$.raw graph=/dev/shm/cxl_vmregion_graph_$$.raw secret=/dev/shm/cxl_vmregion_secret_$$.raw
CLEANUP_FILES+=("$medium" "$graph" "$secret")
bash infra/create_cxl_shared.sh "$medium" 16M >/dev/null &&
  bash infra/create_cxl_shared.sh "$graph" 32M >/dev/null &&
  bash infra/create_cxl_shared.sh "$secret" 1M >/dev/null || die "cannot create the media"
marker=marker-$$-$RANDOM

# the access comes from cxl_sec_mgr's grants (--region-acl): VM1 is node
# vm-one (serve graph, rw secret), VM2 node vm-two (ro graph, nothing of secret)
M=$(realpath "$BUILD/bin/cxl_sec_mgr")
export CXL_SEC_MGR=$M # run_vms.sh checks the ACL with it
acl=$WORK/acl.conf
(cd "$WORK" && "$M" keygen --manager --out mgr.key >/dev/null 2>&1 &&
  printf 'manager-key mgr.key\nmaster master.secret\nstate sec.state\naudit sec.audit\ncontrol sec.sock\n' >acl.conf &&
  printf 'region graph range 0x0 0x2000000\nregion secret range 0x2000000 0x100000\n' >>acl.conf &&
  "$M" keygen --out n1.key --config acl.conf --id 1 --name vm-one >>acl.conf 2>/dev/null &&
  "$M" keygen --out n2.key --config acl.conf --id 2 --name vm-two >>acl.conf 2>/dev/null &&
  printf 'grant vm-one graph serve\ngrant vm-one secret rw\ngrant vm-two graph ro\n' >>acl.conf &&
  "$M" check --config acl.conf >/dev/null) || die "cannot write the test's ACL"

run_pair test-vm-region --cxl "$medium" --cxl-size 16M \
  --region "graph=$graph:32M" --region "secret=$secret:1M" --region-acl "$acl" --vm1-node vm-one --vm2-node vm-two \
  --vm1-role region-publish --vm1-append "cxl.graph_scale=$scale cxl.marker=$marker" \
  --vm2-role region-attach --vm2-append "cxl.wait=$((timeout - 40))" \
  --timeout "$timeout"
grep -q "region graph: .*vm1 rw, vm2 ro (from $acl)" "$WORK/run.out" &&
  grep -q "region secret: .*vm1 rw, vm2 none (from $acl)" "$WORK/run.out"
check "run_vms.sh took graph (vm1 rw, vm2 ro) and secret (vm1 rw, vm2 none) from the ACL" $?
grep -q -- "readonly=on" "$logs/vm2.cmd" && ! grep -q -- "readonly=on" "$logs/vm1.cmd"
check "VM2's QEMU maps graph with readonly=on, VM1's does not" $?
grep -q "region-secret" "$logs/vm1.cmd" && ! grep -q "region-secret" "$logs/vm2.cmd"
check "VM2's QEMU has no device for secret" $?
vm_logged 1 "graph: published in region graph" "secret: marker written"
vm_logged 2 "secret: no device" \
  "graph: before the writes: VM1's graph attached read-only, bfs verified 3 of 3 trials" \
  "write at 0: the region's bytes did not change" \
  "write at $((32 * 1048576 - 16)): the region's bytes did not change" \
  "graph: after the writes: VM1's graph attached read-only, bfs verified 3 of 3 trials"
grep -a "write at" "$logs/vm2.serial.log" | tr -d '\r' | sed 's/^/  vm2: /'

# the host reads the files the guests had as BAR2
! grep -aq "VM2-WAS-HERE" "$graph"
check "the graph region's file holds none of VM2's writes" $?
out=$("$G" bfs --cxl-mode attach --path "$graph" --attach-timeout-ms 1000 -n 1 -v 2>&1)
check "the host attaches the graph from the file and verifies bfs" \
  "$(grep -q '^Verification: *PASS' <<<"$out" && grep -q '^Graph region: .* by node 1, ' <<<"$out"; echo $?)"
pub=$(sed -n 's/^Graph region: .* publication \([0-9a-f]*\) .*/\1/p' <<<"$out")
[ "$(grep -ac "Graph region: .* publication ${pub:-none} by node 1" "$logs/vm2.serial.log")" -ge 2 ]
check "VM2 attached the publication the host finds (${pub:-none}), before and after its writes" $?
! grep -aq "FORGED-BY-VM2" "$logs/vm2.serial.log" && grep -aq "FORGED-BY-VM2" "$logs/vm2.region.txt" 2>/dev/null
check "VM2's data-channel file named serial.log was refused, its region.txt kept" $?
grep -q 'vm2: data channel: file name "serial.log" refused' "$WORK/run.out"
check "run_vms.sh said it refused VM2's serial.log" $?
[ "$("$S" read --path "$secret" --offset 0 --len ${#marker} 2>/dev/null)" = "$marker" ]
check "the secret region's file holds VM1's marker" $?

vm_finish
