# test-server (VM1) - the two-VM test's server side (docs/VMS.md):
#   the plain ring: Redis + cxl_ring.so on BAR2 at offset 0;
#   the secure ring (when /cxl/run/sec/acl.conf came in the overlay):
#   cxl_sec_mgr on the VM link, Redis + cxl_ring.so secure=1 at offset map_size;
# seeds N keys in each, marks them ready, waits for VM2's verdict
# (cxl:vm2:done, written by VM2 over the plain ring), then checks that its
# keyspaces hold exactly the N values VM2 wrote over each ring.
# Parameters: cxl.n (1000), cxl.map_size (32M), cxl.ip, cxl.wait (seconds, 240)
# shellcheck shell=sh disable=SC2046 # key/value lists are split into words on purpose
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
n=$(arg n 1000)
ms=$(bytes "$(arg map_size 32M)")
ip=$(arg ip 127.0.0.1)
sec=/cxl/run/sec

log "plain ring: Redis + cxl_ring.so on $CXL_MEDIUM, offset 0, map_size $ms"
start_redis plain 6379 map_size="$ms" offset=0 rings=4 || fail "the plain-ring Redis did not start"
[ "$(redis-cli -p 6379 MSET $(kv_list vm1:k: v1 "$n"))" = OK ] || fail "seeding $n keys (plain)"

secure=0
if [ -f $sec/acl.conf ]; then
  secure=1
  log "secure ring: cxl_sec_mgr on $ip:7001, Redis + cxl_ring.so secure=1, offset $ms"
  (cd $sec && cxl_sec_mgr check --config acl.conf) || fail "cxl_sec_mgr check refused the ACL"
  (cd $sec && exec cxl_sec_mgr --config acl.conf --listen "$ip:7001" 2>/tmp/sec_mgr.log) &
  wait_for 30 "cxl_sec_mgr" cxl_sec_mgr fetch --key $sec/server.key --node-id 1 --mgr "$ip:7001" --ping ||
    { show /tmp/sec_mgr.log; fail "cxl_sec_mgr did not answer"; }
  start_redis secure 6380 map_size="$ms" offset="$ms" rings=4 secure=1 sec_mgr="$ip:7001" node_id=1 \
    key=$sec/server.key || { show /tmp/sec_mgr.log; fail "the secure-ring Redis did not start"; }
  [ "$(redis-cli -p 6380 MSET $(kv_list vm1s:k: v1s "$n"))" = OK ] || fail "seeding $n keys (secure)"
  redis-cli -p 6380 SET cxl:vm1:ready 1 >/dev/null
  redis-cli -p 6379 SET cxl:vm1:secure 1 >/dev/null # VM2 learns over the plain ring that it may start
fi
redis-cli -p 6379 SET cxl:vm1:ready 1 >/dev/null
log "ready ($n keys seeded in each Redis); waiting for VM2"

got_verdict() { [ -n "$(redis-cli -p 6379 GET cxl:vm2:done)" ]; }
wait_for "$(arg wait 240)" "VM2's verdict (cxl:vm2:done)" got_verdict || fail "VM2 never reported over the ring"
verdict=$(redis-cli -p 6379 GET cxl:vm2:done)
log "VM2 reported over the plain ring: $verdict"

ok=1
check_keys() { # PORT KEY_PREFIX VALUE_TAG WHAT
  redis-cli -p "$1" MGET $(key_list "$2" "$n") >/tmp/got.$1
  val_list "$3" "$n" >/tmp/want.$1
  if cmp -s /tmp/got.$1 /tmp/want.$1; then
    log "$4: the $n values VM2 wrote are in VM1's Redis"
  else
    log "FAIL: $4: VM1's Redis differs from what VM2 wrote:"
    diff /tmp/want.$1 /tmp/got.$1 | head -n 6
    ok=0
  fi
}
check_keys 6379 vm2:k: v2 "plain ring"
gw=$(redis-cli -p 6379 GET gw:vm2)
if [ "$gw" = "gw-$(arg nonce x)" ]; then log "gateway: VM2's redis-cli SET through the ring is here"
else log "FAIL: gateway: gw:vm2 is '$gw'"; ok=0; fi
[ $secure = 1 ] && check_keys 6380 vm2s:k: v2s "secure ring"
log "plain ring stats: $(redis-cli -p 6379 CXLRING.STATS | tr '\n' ' ' | cut -c1-200)"
[ $secure = 1 ] && log "secure ring stats: $(redis-cli -p 6380 CXLRING.STATS | tr '\n' ' ' | cut -c1-200)"
[ $ok = 1 ] || fail "values written by VM2 are missing or wrong"
[ "$verdict" = PASS ] || { show /tmp/plain.log 10; [ $secure = 1 ] && show /tmp/sec_mgr.log 10; fail "VM2 reported $verdict"; }
log "all checks passed"
