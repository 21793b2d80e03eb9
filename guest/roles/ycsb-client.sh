# ycsb-client (VM2) - the two-VM YCSB test's client side (docs/VMS.md): once
# VM1's Redis answers over the ring (cxl:vm1:ready), cxl_ycsb -load then -run
# of YCSB workload A (/cxl/workloads/workloada) over the plain ring of BAR2
# (offset 0, as test-client's cxl_ring_direct). Each must exit 0 (every value
# read was checked right), the run must count [READ], Return=OK and neither
# may print UNEXPECTED_STATE or ERROR. The verdict goes to VM1 over the ring
# (cxl:vm2:done).
# Parameters: cxl.records (2000), cxl.ops (2000), cxl.seed (42), cxl.map_size (32M)
# shellcheck shell=sh
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
records=$(arg records 2000)
ops=$(arg ops 2000)
seed=$(arg seed 42)
ms=$(bytes "$(arg map_size 32M)")
M=$CXL_MEDIUM
W=/cxl/workloads/workloada
status=PASS
bad() { log "FAIL: $*"; [ $status = PASS ] && status="FAIL:$(echo "$*" | tr ' ' '-' | cut -c1-60)"; return 1; }

ring() { cxl_ring_direct --path "$M" --map-size "$ms" --node-id 2 "$@"; }
ready() { [ "$(ring GET cxl:vm1:ready 2>/dev/null)" = 1 ]; }
[ -f $W ] || fail "no $W in the guest"
wait_for 200 "VM1's ring (cxl:vm1:ready over $M)" ready || { ring GET cxl:vm1:ready; fail "VM1's ring never answered"; }

ycsb() { # PHASE: cxl_ycsb -PHASE, its output in /tmp/ycsb-PHASE.out
  _t0=$(cut -d' ' -f1 /proc/uptime)
  log "ycsb: cxl_ycsb -$1 -db ring workloada, $records records, $ops operations, seed $seed"
  cxl_ycsb "-$1" -db ring --path "$M" --map-size "$ms" --node-id 2 -P $W \
    -p recordcount="$records" -p operationcount="$ops" -p seed="$seed" >"/tmp/ycsb-$1.out" 2>&1
  _rc=$?
  sed 's/^/  /' "/tmp/ycsb-$1.out"
  log "ycsb: -$1 exit $_rc in $(awk -v a="$_t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')s"
  [ $_rc -eq 0 ] || bad "ycsb -$1 exited $_rc"
  if grep -q 'UNEXPECTED_STATE\|ERROR' "/tmp/ycsb-$1.out"; then bad "ycsb -$1 printed UNEXPECTED_STATE or ERROR"; fi
  tput=$(sed -n 's/^\[OVERALL\], Throughput(ops\/sec), *//p' "/tmp/ycsb-$1.out" | tr -d '\r')
  [ -n "$tput" ] || bad "ycsb -$1 printed no [OVERALL] throughput"
}
ycsb load
grep -q "^\[INSERT\], Return=OK, $records\$" /tmp/ycsb-load.out || bad "ycsb -load did not insert $records records OK"
log "ycsb: workload A load $records records, $tput ops/s"
ycsb run
reads=$(sed -n 's/^\[READ\], Return=OK, *//p' /tmp/ycsb-run.out | tr -d '\r')
updates=$(sed -n 's/^\[UPDATE\], Return=OK, *//p' /tmp/ycsb-run.out | tr -d '\r')
if [ -n "$reads" ] && [ "$reads" -gt 0 ]; then
  log "ycsb: workload A run $ops operations ($reads reads checked, ${updates:-0} updates), $tput ops/s"
else
  bad "ycsb -run: no [READ], Return=OK"
fi
[ -n "${CXL_DATA:-}" ] && cat /tmp/ycsb-load.out /tmp/ycsb-run.out >/tmp/ycsb.out && emit ycsb.txt /tmp/ycsb.out

ring SET cxl:vm2:done "$status" >/dev/null || fail "could not report to VM1 over the ring"
log "reported $status to VM1"
[ $status = PASS ]
