# test-client (VM2) - the two-VM test's client side (docs/VMS.md):
#   UIO: bind_ivshmem_uio.sh, the library maps the UIO map there is and refuses
#   a larger one; then, over the plain ring and (with /cxl/run/sec/client.key)
#   over the secure ring with keys from cxl_sec_mgr in VM1 over the link:
#   N SETs + N GETs with every value checked (cxl_ring_direct --bench), VM1's N
#   seeded values read back (MGET), N values written for VM1 to check (MSET).
#   The verdict goes to VM1 over the plain ring (cxl:vm2:done).
# Parameters: cxl.n (1000), cxl.map_size (32M), cxl.peer (VM1's address)
# shellcheck shell=sh disable=SC2046 # key/value lists are split into words on purpose
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
n=$(arg n 1000)
ms=$(bytes "$(arg map_size 32M)")
mgr=$(arg peer 192.168.100.1):7001
M=$CXL_MEDIUM
status=PASS
bad() { log "FAIL: $*"; [ $status = PASS ] && status="FAIL:$(echo "$*" | tr ' ' '-' | cut -c1-60)"; return 1; }

# --- the UIO path of the library ---------------------------------------------------
if out=$(bind_ivshmem_uio.sh 2>&1); then
  echo "$out" | sed 's/^/  uio: /'
  uio=$(echo "$out" | sed -n 's/^uio=//p')
  map0=$(( $(echo "$out" | sed -n 's/^uio_map0=//p') ))
  if cxl_shm read --path "$uio" --offset 0 --len 16 --hex >/tmp/uio.out 2>&1; then
    log "cxl_shm mapped $uio map 0 ($map0 bytes, the ivshmem registers): $(head -n 1 /tmp/uio.out)"
  else
    bad "cxl_shm could not map $uio: $(cat /tmp/uio.out)"
  fi
  if cxl_shm read --path "$uio" --map-size 1M --offset 0 --len 16 >/tmp/uio.out 2>&1; then
    bad "cxl_shm mapped 1M of $uio, larger than its map"
  elif grep -q "$map0" /tmp/uio.out; then
    log "a 1M map of $uio is refused: $(cat /tmp/uio.out)"
  else
    bad "refusal of a 1M map of $uio does not name the size: $(cat /tmp/uio.out)"
  fi
else
  bad "bind_ivshmem_uio.sh: $out"
fi

# --- the rings ---------------------------------------------------------------------------
ring() { cxl_ring_direct --path "$M" --map-size "$ms" "$@"; }
sring() {
  cxl_ring_direct --path "$M" --map-offset "$ms" --map-size "$ms" --secure --sec-mgr "$mgr" \
    --sec-node-id 2 --sec-key /cxl/run/sec/client.key "$@"
}
ready() { [ "$("$1" GET cxl:vm1:ready 2>/dev/null)" = 1 ]; }

exercise() { # FUNC NAME VM1_PREFIX VM1_TAG VM2_PREFIX VM2_TAG
  f=$1 name=$2
  t0=$(cut -d' ' -f1 /proc/uptime)
  if $f --bench "$n" --ops set,get --keyspace "$n" --val-size 32 --key-prefix "bench-$name:" --quiet \
       --latency --csv /tmp/bench-$name.csv --label "VM$name" >/tmp/bench-$name.out 2>&1; then
    log "$name ring: $n SETs + $n GETs across the VMs, every value checked"
    sed 's/^/  /' /tmp/bench-$name.out | head -n 8
  else
    cat /tmp/bench-$name.out; bad "$name ring: the benchmark failed"
  fi
  if $f MGET $(key_list "$3" "$n") >/tmp/got.$name 2>/tmp/err.$name && val_list "$4" "$n" >/tmp/want.$name &&
     cmp -s /tmp/got.$name /tmp/want.$name; then
    log "$name ring: VM1's $n values read back (MGET) and equal"
  else
    cat /tmp/err.$name; diff /tmp/want.$name /tmp/got.$name 2>&1 | head -n 6
    bad "$name ring: VM1's values did not come back"
  fi
  r=$($f MSET $(kv_list "$5" "$6" "$n") 2>&1)
  [ "$r" = OK ] && log "$name ring: $n values written for VM1 (MSET)" || bad "$name ring: MSET answered '$r'"
  log "$name ring done in $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')s"
}

wait_for 200 "VM1's plain ring (cxl:vm1:ready over $M)" ready ring || {
  ring GET cxl:vm1:ready; fail "VM1's plain ring never answered"; }
log "the medium as the library sees it: $(cxl_shm info --path "$M" --map-size "$ms" 2>&1 | head -n 3 | tr '\n' ' ' | cut -c1-200)"
exercise ring plain vm1:k: v1 vm2:k: v2

# any RESP client in VM2 reaches VM1's Redis through the medium: redis-cli via
# cxl_resp_gateway (it listens on VM2's loopback only)
cxl_resp_gateway --path "$M" --map-size "$ms" --listen 127.0.0.1:6380 --quiet 2>/tmp/gateway.log &
if wait_for 30 "cxl_resp_gateway" redis-cli -p 6380 PING; then
  want=$(val_list v1 8 | tail -n 1)
  got=$(redis-cli -p 6380 GET vm1:k:7)
  r=$(redis-cli -p 6380 SET gw:vm2 "gw-$(arg nonce x)")
  if [ "$got" = "$want" ] && [ "$r" = OK ]; then
    log "gateway: redis-cli in VM2 read vm1:k:7 = $got and wrote gw:vm2 through the ring"
  else
    bad "gateway: GET vm1:k:7 gave '$got' (want '$want'), SET gave '$r'"
  fi
else
  show /tmp/gateway.log; bad "cxl_resp_gateway did not answer"
fi

if [ -f /cxl/run/sec/client.key ]; then
  # VM1 started its secure Redis before it marked the plain ring ready; a few
  # tries only, so that a refusal by the manager fails the run at once
  if [ "$(ring GET cxl:vm1:secure)" != 1 ]; then
    bad "secure ring: VM1 runs no secure Redis (no cxl:vm1:secure)"
  elif wait_for 15 "VM1's secure ring" ready sring; then
    exercise sring secure vm1s:k: v1s vm2s:k: v2s
  else
    sring GET cxl:vm1:ready; bad "secure ring: no answer over the secure ring"
  fi
fi

ring SET cxl:vm2:done "$status" >/dev/null || fail "could not report to VM1 over the ring"
log "reported $status to VM1"
[ $status = PASS ]
