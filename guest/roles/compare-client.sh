# compare-client (VM2) - the measuring side of bench/vm_compare.sh: the same
# cxl_ring_direct benchmark (every reply checked) over each label, VM1 serving:
#   NativeTCP  Redis over TCP on the VM link     NativeTLS  Redis's own TLS on the link
#   SodiumTCP  through cxl_sodium_tunnel (client end here, server end in VM1)
#   Ring       the plain ring on BAR2            RingCrypto the secure ring, shared key file
#   RingSecure the secure ring, keys from cxl_sec_mgr in VM1 over the link
# Rows in the compare matrix format go to the host over the data channel
# (compare.csv). Parameters: cxl.requests (2000), cxl.pipeline (1,16),
# cxl.value_size (3), cxl.labels, cxl.map_size (32M), cxl.peer, cxl.warmup (200)
# shellcheck shell=sh
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
ms=$(bytes "$(arg map_size 32M)")
peer=$(arg peer 192.168.100.1)
requests=$(arg requests 2000)
pipelines=$(arg pipeline 1,16 | tr ',' ' ')
sizes=$(arg value_size 3 | tr ',' ' ')
labels=$(arg labels NativeTCP,NativeTLS,SodiumTCP,Ring,RingCrypto,RingSecure | tr ',' ' ')
run=/cxl/run
M=$CXL_MEDIUM
csv=/tmp/compare.csv
export CXL_TLS_CAFILE=$run/tls/tls.crt
status=PASS

ring() { cxl_ring_direct --path "$M" --map-size "$ms" "$@"; }
ready() { [ "$(ring GET cxl:vm1:ready 2>/dev/null)" = 1 ]; }
wait_for 300 "VM1's plain ring" ready || fail "VM1 never became ready"

if [ -f $run/tunnel/client.key ] && [ -x /cxl/bin/cxl_sodium_tunnel ]; then
  cxl_sodium_tunnel --mode client --listen 127.0.0.1:7101 --connect "$peer:7100" --key $run/tunnel/client.key \
    --peer-key $run/tunnel/server.pub --quiet 2>/tmp/tunnel.log &
  wait_for 30 "the tunnel" redis-cli -p 7101 PING || show /tmp/tunnel.log
fi

target() { # LABEL -> cxl_ring_direct flags
  case $1 in
    NativeTCP) echo "--via $peer:6379" ;;
    NativeTLS) echo "--via tls:$peer:6390" ;;
    SodiumTCP) echo "--via 127.0.0.1:7101" ;;
    Ring) echo "--path $M --map-size $ms" ;;
    RingCrypto) echo "--path $M --map-offset $ms --map-size $ms --crypto --sec-key-file $run/crypto.secret" ;;
    RingSecure) echo "--path $M --map-offset $((2 * ms)) --map-size $ms --secure --sec-mgr $peer:7001 --sec-node-id 2 --sec-key $run/sec/client.key" ;;
    *) return 1 ;;
  esac
}

# warm-up: TCG translates code the first time it runs; not measured
for l in $labels; do
  t=$(target "$l") || { status="FAIL:unknown-label-$l"; continue; }
  # shellcheck disable=SC2086 # $t is a list of flags
  cxl_ring_direct $t --bench "$(arg warmup 200)" --ops set,get --quiet --csv /dev/null --timeout-ms 30000 \
    >/tmp/warm.out 2>&1 || { log "warm-up of $l failed:"; cat /tmp/warm.out; }
done

for p in $pipelines; do for v in $sizes; do for l in $labels; do
  t=$(target "$l") || continue
  flags="--bench $requests --val-size $v --ops set,get --keyspace 100000 --latency --quiet --csv /dev/null"
  flags="$flags --compare-csv $csv --label $l --timeout-ms 30000"
  [ "$p" -gt 1 ] && flags="$flags --pipeline --max-inflight $p"
  # shellcheck disable=SC2086 # lists of flags
  if cxl_ring_direct $t $flags >/tmp/run.out 2>&1; then
    log "$l pipeline=$p value=${v}B: $(grep -o '[0-9]* req/s' /tmp/run.out | tr '\n' ' ')"
  else
    log "FAIL: $l pipeline=$p value=${v}B:"; cat /tmp/run.out
    [ $status = PASS ] && status="FAIL:$l"
  fi
done; done; done

[ -f $csv ] && emit compare.csv $csv
ring SET cxl:vm2:done "$status" >/dev/null || fail "could not tell VM1 over the ring"
[ $status = PASS ]
