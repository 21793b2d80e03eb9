#!/usr/bin/env bash
# cli_cluster_gateway.sh - cluster clients through cxl_resp_gateway
# --cluster (docs/CLUSTER.md, section 2): a 3-master cluster
# (scripts/cluster.sh start --gateways), 2 pod nodes behind gateways, one
# reached over TCP only. Through a gateway, CLUSTER SLOTS / NODES / SHARDS
# name the gateways for pod nodes and the real address of the TCP node
# (tests/cluster_gateway.py); python3-redis's RedisCluster started at a
# gateway writes 10,000 keys (pipeline) and sets/gets 1,000, each found over
# TCP on the node owning its slot; a -MOVED answered over the ring
# rewritten and followed by redis-cli -c; redis-cli -c through a gateway; a bad
# --cluster map: exit 2 naming file and line; stop leaves no gateway.
# The redirection checks need the module to answer -MOVED for a slot its
# node does not own (branch main, d680c69): a module that does not check
# slots (its CXLRING.INFO has no cluster_enabled) makes them PENDING, not
# failed, and the summary says how many; one that does must pass them.
# Usage: tests/cli_cluster_gateway.sh [BUILD]
source "$(dirname "$0")/check.sh"
C="bash scripts/cluster.sh"
D=$WORK/cluster
GW=$BUILD/bin/cxl_resp_gateway
base=$(cluster_base_port 3) # scripts/lib.sh
stop_all() { $C stop --dir "$D" >/dev/null 2>&1; }
trap 'stop_all; cleanup' EXIT

out=$($C start --dir "$D" --base-port "$base" --build "$BUILD" --gateways 2>&1)
check "start --gateways (exit 0): $out" $?
n1=$base n2=$((base + 1)) n3=$((base + 2)) nodes="$base,$((base + 1)),$((base + 2))"
g1=$(sed -n "s/^node 127.0.0.1:$n1 .* gateway 127.0.0.1:\([0-9]*\)$/\1/p" "$D/pod.map")
g2=$(sed -n "s/^node 127.0.0.1:$n2 .* gateway 127.0.0.1:\([0-9]*\)$/\1/p" "$D/pod.map")
[ -n "$g1" ] && [ -n "$g2" ] && [ "$(wc -l <"$D/pod.map")" -eq 2 ]
check "pod.map: 2 pod nodes, each with its gateway ($g1, $g2)" $?
[ "$(redis-cli -p "$g1" ping)" = PONG ] && [ "$(redis-cli -p "$g2" ping)" = PONG ]; check "both gateways answer" $?
[ "$($C status --dir "$D" | grep -c '^gateway .*: PONG')" -eq 2 ]; check "status: 2 gateways" $?

py() { /usr/bin/python3 tests/cluster_gateway.py "$D/pod.map" "$nodes" "$@" >"$WORK/py.out" 2>&1; local rc=$?
       cat "$WORK/py.out" >&2; return $rc; }
for g in $g1 $g2; do py views "$g"; check "CLUSTER SLOTS / NODES / SHARDS / MYID through gateway $g" $?; done

# a key of each node (slots 0-5460 on n1, 5461-10922 on n2, the rest on n3)
k1=b k2=c k3=a # CLUSTER KEYSLOT: 3300, 7365, 15495
for k in $k1 $k2 $k3; do redis-cli -p "$n1" cluster keyslot "$k"; done | tr '\n' ' ' | grep -q '^3300 7365 15495 $'
check "keys $k1 $k2 $k3: slots 3300 7365 15495" $?

# a redirection Redis answers over the ring today (a script's error reply),
# rewritten by the gateway, and followed by redis-cli -c to the other gateway
id1=$(redis-cli -p "$n1" cluster myid)
S="if redis.call('CLUSTER','MYID') == ARGV[1] then return redis.error_reply('MOVED 7365 127.0.0.1:$n2') else return 'served by another node' end"
out=$(redis-cli -p "$g1" eval "$S" 0 "$id1" 2>&1); [ "$out" = "MOVED 7365 127.0.0.1:$g2" ]
check "-MOVED of node $n2 through gateway $g1: '$out', its gateway" $?
out=$(redis-cli -p "$n1" eval "$S" 0 "$id1" 2>&1); [ "$out" = "MOVED 7365 127.0.0.1:$n2" ]; check "the same over TCP: '$out'" $?
out=$(redis-cli -c -p "$g1" eval "$S" 0 "$id1" 2>&1); [ "$(tail -n 1 <<<"$out")" = "served by another node" ]
check "redis-cli -c follows it to gateway $g2: '$out'" $?
out=$(redis-cli -p "$g1" eval "return redis.error_reply('ASK 7365 127.0.0.1:$n3')" 0 2>&1)
[ "$out" = "ASK 7365 127.0.0.1:$n3" ]; check "-ASK of the TCP node $n3 unchanged: '$out'" $?

# --- the module's -MOVED on the ring, rewritten by the gateway ------------------------------
moved=$(redis-cli -p "$g1" get "$k2" 2>&1)
[ "$moved" = "MOVED 7365 127.0.0.1:$g2" ]
check "GET $k2 via gateway $g1 (fast path): '$moved', the other pod node's gateway" $?
out=$(redis-cli -p "$g1" set "$k2" short 2>&1); [ "$out" = "MOVED 7365 127.0.0.1:$g2" ]
check "SET $k2 via gateway $g1 (any command): '$out'" $?
out=$(redis-cli -p "$g1" get "$k3" 2>&1); [ "$out" = "MOVED 15495 127.0.0.1:$n3" ]
check "GET $k3 via gateway $g1: '$out', the TCP node's own address" $?
out=$(redis-cli -p "$g2" get "$k1" 2>&1); [ "$out" = "MOVED 3300 127.0.0.1:$g1" ]
check "GET $k1 via gateway $g2: '$out'" $?
bad=0
for k in $k1 $k2 $k3; do
  for g in $g1 $g2; do
    redis-cli -c -p "$g" set "$k" "v$k-$g" >/dev/null 2>&1
    [ "$(redis-cli -c -p "$g2" get "$k" 2>&1)" = "v$k-$g" ] && [ "$(redis-cli -c -p "$n1" get "$k" 2>&1)" = "v$k-$g" ] ||
      bad=$((bad + 1))
  done
done
check "redis-cli -c via either gateway: SET/GET of a key of every node, read back through a gateway and over TCP ($bad wrong)" $bad
for i in $(seq 0 299); do echo "SET rc$i vrc$i"; done >"$WORK/rc.txt"
redis-cli -c -p "$g1" <"$WORK/rc.txt" >"$WORK/rc.out" 2>&1
py where rc 300; check "redis-cli -c via gateway $g1: 300 keys, each on its slot's owner over TCP" $?

# --- what works with or without it: the clients route by the (rewritten) slot map -------
py fill "$g1" 10000; check "RedisCluster via gateway $g1: 10,000 keys by pipeline, each on its owner" $?
py client "$g2" 1000; check "RedisCluster via gateway $g2: set/get of 1,000 keys, each on its owner" $?

# --- a bad --cluster map: exit 2, the file and line named -----------------------------------
printf 'node 127.0.0.1:1 medium /m gateway 127.0.0.1:2\nnode 127.0.0.1:3 medium\n' >"$WORK/bad.map"
bad_gateway() { # WORDS MAP
  local err rc
  err=$("$GW" --path "$D/none" --listen 127.0.0.1:0 --cluster "$2" 2>&1); rc=$?
  [ $rc -eq 2 ] && grep -qF -- "$1" <<<"$err"; check "--cluster $2: exit $rc (2), says '$1': $err" $?
}
bad_gateway "$WORK/bad.map:2: a field without its value: medium" "$WORK/bad.map"
printf '# nothing\n' >"$WORK/empty.map"
bad_gateway "$WORK/empty.map: no 'node' line" "$WORK/empty.map"
bad_gateway "pod map $WORK/none.map: No such file" "$WORK/none.map"

gpids=$(cat "$D"/gateway-*.pid)
$C stop --dir "$D" >/dev/null; check "stop: exit 0" $?
alive=0; for pid in $gpids; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
[ "$alive" -eq 0 ] && [ ! -e "$D" ]; check "stop: no gateway left ($alive alive), no folder" $?

echo "$TEST_NAME: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
