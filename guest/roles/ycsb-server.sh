# ycsb-server (VM1) - the two-VM YCSB test's server side (docs/VMS.md): Redis
# + cxl_ring.so on BAR2 at offset 0 (the plain ring, as test-server), marks it
# ready (cxl:vm1:ready), waits for VM2's verdict (cxl:vm2:done, written by
# VM2 over the ring), then checks that its keyspace holds the records VM2's
# cxl_ycsb -load inserted.
# Parameters: cxl.records (2000), cxl.map_size (32M), cxl.wait (seconds, 240)
# shellcheck shell=sh
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
records=$(arg records 2000)
ms=$(bytes "$(arg map_size 32M)")

log "ycsb: Redis + cxl_ring.so on $CXL_MEDIUM, offset 0, map_size $ms"
start_redis plain 6379 map_size="$ms" offset=0 rings=4 || fail "the ring's Redis did not start"
redis-cli -p 6379 SET cxl:vm1:ready 1 >/dev/null
log "ready; waiting for VM2's YCSB run"

got_verdict() { [ -n "$(redis-cli -p 6379 GET cxl:vm2:done)" ]; }
wait_for "$(arg wait 240)" "VM2's verdict (cxl:vm2:done)" got_verdict || fail "VM2 never reported over the ring"
verdict=$(redis-cli -p 6379 GET cxl:vm2:done)
log "VM2 reported over the ring: $verdict"
users=$(redis-cli -p 6379 --scan --pattern 'user*' | wc -l)
log "ring stats: $(redis-cli -p 6379 CXLRING.STATS | tr '\n' ' ' | cut -c1-200)"
[ "$verdict" = PASS ] || { show /tmp/plain.log 10; fail "VM2 reported $verdict"; }
[ "$users" -eq "$records" ] || fail "VM1's Redis holds $users YCSB records, not $records"
log "ycsb: VM1's Redis holds the $records records VM2 inserted over the ring"
