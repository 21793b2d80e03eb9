#!/usr/bin/env bash
# graph_vms.sh - two QEMU VMs, one ivshmem medium, a cxl_graph region in it
# (docs/VMS.md, docs/GRAPH.md). VM1 (graph-publish) builds kron -g SCALE and
# publishes it into BAR2 at 64 MiB, past the two 32 MiB ring layouts of
# two_vms.sh, and sealed (Crypto, a key file shared by both VMs) at 96 MiB;
# VM2 (graph-attach) attaches each and runs bfs -n 3 -v. Passes when both VMs
# print CXL-VM-RESULT: PASS, VM2 logged both graphs verified, and the host,
# reading the backing file afterwards, attaches both graphs and verifies them,
# finds the plain graph's neighbour ids in clear and none in the sealed region.
# Usage: tests/vm/graph_vms.sh [BUILD]      (needs make vm; env: SCALE=12, TIMEOUT=240)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build} TEST_NAME=graph_vms
source tests/vm/vm_lib.sh
scale=${SCALE:-12} timeout=${TIMEOUT:-240}
offset=64M offset_bytes=$((64 << 20)) gsize=32M gsize_bytes=$((32 << 20))
G=$(realpath "$BUILD/bin/cxl_graph")
[ -x "$G" ] || die "$BUILD/bin/cxl_graph is not built (make)"

# the medium: 128 MiB in RAM, zero-filled (the rings' 64 MiB, then the graphs)
medium=/dev/shm/cxl_vmgraph_$$.raw
CLEANUP_FILES+=("$medium")
bash infra/create_cxl_shared.sh "$medium" 128M >/dev/null || die "cannot create $medium"

# the Crypto key: one line of 64 hex digits, mode 0600, the same file to both VMs
ov1=$WORK/vm1 ov2=$WORK/vm2
mkdir -p "$ov1/cxl/run" "$ov2/cxl/run"
key=$WORK/graph.key
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key" && echo >>"$key") || die "cannot write $key"
chmod 600 "$key" && cp -p "$key" "$ov1/cxl/run/graph.key" && cp -p "$key" "$ov2/cxl/run/graph.key" ||
  die "cannot put the key into the overlays"

common="cxl.graph_scale=$scale cxl.graph_offset=$offset cxl.graph_size=$gsize cxl.wait=$((timeout - 40))"
echo "graph_vms: medium $medium (128 MiB: plain graph at 64 MiB, sealed graph at 96 MiB, 32 MiB each), kron -g $scale"
run_pair test-vm-graph --cxl "$medium" --cxl-size 128M \
  --vm1-role graph-publish --vm1-overlay "$ov1" --vm1-append "$common" \
  --vm2-role graph-attach --vm2-overlay "$ov2" --vm2-append "$common" \
  --timeout "$timeout"
vm_logged 1 "plain graph: published at offset $offset_bytes" \
  "Crypto graph: published at offset $((offset_bytes + gsize_bytes))"
vm_logged 2 "plain graph: VM1's graph attached at offset $offset_bytes, bfs verified 3 of 3 trials" \
  "Crypto graph: VM1's graph attached at offset $((offset_bytes + gsize_bytes)), bfs verified 3 of 3 trials"
grep -a '^ *Graph region:' "$logs/vm2.serial.log" | tr -d '\r' | sed 's/^ */  vm2: /'

# the host reads what the guests left in the file: it is their BAR2
out=$("$G" bfs --cxl-mode attach --path "$medium" --map-offset "$offset" --attach-timeout-ms 1000 -n 1 -v 2>&1)
check "the host attaches VM1's plain graph from the file and verifies bfs" \
  "$(grep -q '^Verification: *PASS' <<<"$out" && grep -q '^Graph region: .* by node 1, ' <<<"$out"; echo $?)"
pub=$(sed -n 's/^Graph region: .* publication \([0-9a-f]*\) .*/\1/p' <<<"$out")
grep -aq "Graph region: .* publication ${pub:-none} by node 1" "$logs/vm2.serial.log" 2>/dev/null
check "VM2 attached the publication the host finds (${pub:-none})" $?
out=$("$G" bfs --cxl-mode attach --crypto --sec-key-file "$key" --path "$medium" \
        --map-offset "$((offset_bytes + gsize_bytes))" --attach-timeout-ms 1000 -n 1 -v 2>&1)
check "the host attaches VM1's sealed graph with the key and verifies bfs" \
  "$(grep -q '^Verification: *PASS' <<<"$out" && grep -q '^Graph region: .* Crypto' <<<"$out"; echo $?)"
pub=$(sed -n 's/^Graph region: .* publication \([0-9a-f]*\) .*/\1/p' <<<"$out")
grep -aq "Graph region: .* publication ${pub:-none} by node 1, .*Crypto" "$logs/vm2.serial.log" 2>/dev/null
check "VM2 attached the sealed publication the host finds (${pub:-none})" $?
"$G" convert -g "$scale" -b "$WORK/g.sg" >/dev/null 2>&1
# each region's first 2 x the .sg's size + 1 MiB holds its header and every
# array (sealed: + a tag per 64 KiB); scanning the whole 32 MiB takes long
span=$(( $(stat -c %s "$WORK/g.sg") * 2 + (1 << 20) )); [ "$span" -le "$gsize_bytes" ] || span=$gsize_bytes
tail -c +$((offset_bytes + 1)) "$medium" | head -c "$span" >"$WORK/plain.raw"
tail -c "$gsize_bytes" "$medium" | head -c "$span" >"$WORK/sealed.raw"
plain_hits=$(python3 tests/graph_region.py scan "$WORK/plain.raw" "$WORK/g.sg" 2>&1)
sealed_hits=$(python3 tests/graph_region.py scan "$WORK/sealed.raw" "$WORK/g.sg" 2>&1)
check "the plain region holds the graph's neighbour ids in clear ($plain_hits runs)" "$([[ $plain_hits =~ ^[1-9] ]]; echo $?)"
check "the sealed region holds none of them ($sealed_hits runs)" "$([[ $sealed_hits =~ ^0\  ]]; echo $?)"

vm_finish
