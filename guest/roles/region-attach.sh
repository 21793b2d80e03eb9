# region-attach (VM2) - the enforced-regions test's reader (docs/VMS.md,
# "Regions a VM cannot write"): has no device for the region named secret,
# maps the region named graph read-only (QEMU's readonly=on), waits for VM1's
# graph there and runs bfs -n 3 -v on it, then tries to write into the region
# (at its start, over the graph's header, and at its end) and checks that
# the bytes did not change and the graph still verifies.
# Parameters: cxl.wait (seconds, 240)
# shellcheck shell=sh disable=SC2154 # CXL_REGION_* come from /init
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
wait_ms=$(( $(arg wait 240) * 1000 ))
status=PASS
bad() { log "FAIL: $*"; status=FAIL; }

[ -z "${CXL_REGION_secret:-}" ] || bad "region secret: this VM has a device for it ($CXL_REGION_secret)"
n=0
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ] && n=$((n + 1))
done
[ "$n" -eq 2 ] && log "secret: no device (ivshmem devices: $n, the medium and graph)" ||
  bad "ivshmem devices: $n (want 2: the medium and graph)"
[ "${CXL_REGION_MODE_graph:-}" = ro ] || fail "region graph: not mapped read-only here (${CXL_REGION_MODE_graph:-no device})"
R=$CXL_REGION_graph size=$(stat -c %s "$R")

bfs() { # WHAT: attach VM1's graph and verify 3 trials
  cxl_graph bfs --cxl-mode attach --node-id 2 --path "$R" --map-size "$size" \
    --attach-timeout-ms "$wait_ms" -n 3 -v >/tmp/attach.out 2>&1
  _rc=$?
  sed 's/^/  /' /tmp/attach.out
  _pass=$(grep -c '^Verification: *PASS' /tmp/attach.out)
  if [ $_rc -eq 0 ] && [ "$_pass" -eq 3 ] && grep -q "^Graph region: .* by node 1, " /tmp/attach.out; then
    log "graph: $1: VM1's graph attached read-only, bfs verified 3 of 3 trials"
  else
    bad "graph: $1: exit $_rc, $_pass of 3 trials verified"
  fi
}
bfs "before the writes"

# the writes: the guest's stores go nowhere
for off in 0 $((size - 16)); do
  before=$(cxl_shm read --path "$R" --offset "$off" --len 16 --hex 2>&1)
  cxl_shm write --path "$R" --offset "$off" --data "VM2-WAS-HERE" >/tmp/w.out 2>&1
  log "write at $off: cxl_shm write exit $? ($(head -c 120 /tmp/w.out | tr '\n' ' '))"
  after=$(cxl_shm read --path "$R" --offset "$off" --len 16 --hex 2>&1)
  if [ "$before" = "$after" ] && [ -n "$after" ]; then
    log "write at $off: the region's bytes did not change"
  else
    bad "write at $off: the region changed: [$before] -> [$after]"
  fi
done
bfs "after the writes"

# a guest cannot replace the launcher's own files through the data channel
# (the host reads vmN.serial.log afterwards, a TEE proof among others)
echo "cxl-vm: tee cpu flags: tdx_guest FORGED-BY-VM2" >/tmp/forged
emit serial.log /tmp/forged
emit region.txt /tmp/forged
[ $status = PASS ]
