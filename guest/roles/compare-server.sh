# compare-server (VM1) - the serving side of bench/vm_compare.sh: one Redis per
# ring kind on its own region of BAR2 (plain at 0, crypto at map_size, secure
# at 2 x map_size), each also on TCP over the VM link; Redis's own TLS on the
# plain one; cxl_sec_mgr and the cxl_sodium_tunnel server end on the link.
# Files from the host under /cxl/run/: tls/, crypto.secret, sec/, tunnel/.
# Serves until VM2 writes cxl:vm2:done over the plain ring.
# Parameters: cxl.map_size (32M), cxl.ip, cxl.wait (seconds, 1200)
# shellcheck shell=sh
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
ms=$(bytes "$(arg map_size 32M)")
ip=$(arg ip 127.0.0.1)
run=/cxl/run

tls=""
[ -f $run/tls/tls.crt ] && tls="--tls-port 6390 --tls-cert-file $run/tls/tls.crt --tls-key-file $run/tls/tls.key --tls-ca-cert-file $run/tls/tls.crt --tls-auth-clients no"
# shellcheck disable=SC2086 # $tls is a list of options
start_redis plain 6379 map_size="$ms" offset=0 rings=4 $tls || fail "the plain-ring Redis did not start"
if [ -f $run/crypto.secret ]; then
  start_redis crypto 6381 map_size="$ms" offset="$ms" rings=4 crypto=1 key_file=$run/crypto.secret ||
    fail "the crypto-ring Redis did not start"
fi
if [ -f $run/sec/acl.conf ]; then
  (cd $run/sec && exec cxl_sec_mgr --config acl.conf --listen "$ip:7001" 2>/tmp/sec_mgr.log) &
  wait_for 30 "cxl_sec_mgr" cxl_sec_mgr fetch --key $run/sec/server.key --node-id 1 --mgr "$ip:7001" --ping ||
    { show /tmp/sec_mgr.log; fail "cxl_sec_mgr did not answer"; }
  start_redis secure 6382 map_size="$ms" offset=$((2 * ms)) rings=4 secure=1 sec_mgr="$ip:7001" node_id=1 \
    key=$run/sec/server.key || fail "the secure-ring Redis did not start"
fi
if [ -f $run/tunnel/server.key ] && [ -x /cxl/bin/cxl_sodium_tunnel ]; then
  cxl_sodium_tunnel --mode server --listen "$ip:7100" --backend 127.0.0.1:6379 --key $run/tunnel/server.key \
    --peer-key $run/tunnel/client.pub --quiet 2>/tmp/tunnel.log &
fi
redis-cli -p 6379 SET cxl:vm1:ready 1 >/dev/null
log "serving; waiting for VM2"
done_yet() { [ -n "$(redis-cli -p 6379 GET cxl:vm2:done)" ]; }
wait_for "$(arg wait 1200)" "VM2's end (cxl:vm2:done)" done_yet || fail "VM2 never finished"
verdict=$(redis-cli -p 6379 GET cxl:vm2:done)
log "VM2 finished: $verdict"
[ "$verdict" = PASS ] || { show /tmp/plain.log 10; show /tmp/tunnel.log 10; fail "VM2 reported $verdict"; }
