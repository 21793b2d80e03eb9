#!/usr/bin/env bash
# cli_cluster.sh - scripts/cluster.sh (docs/CLUSTER.md): a 3-master Redis
# Cluster of Debian's redis-server with cxl_ring.so, each node on its own
# medium; its state, slots, pod map and a cluster client's keys across the
# nodes; a second start refused; stop leaves no process and no medium; bad
# flags refused; a start that fails half-way (a port taken) stops what it
# began. Usage: tests/cli_cluster.sh [BUILD]
source "$(dirname "$0")/check.sh"
C="bash scripts/cluster.sh"
D=$WORK/cluster
base=$(cluster_base_port 3) # scripts/lib.sh
stop_all() { $C stop --dir "$D" >/dev/null 2>&1; }
trap 'stop_all; cleanup' EXIT

out=$($C start --dir "$D" --base-port "$base" --build "$BUILD" 2>&1)
check "start: 3 masters on $base.. (exit 0): $out" $?
ports="$base $((base + 1)) $((base + 2))"
for p in $ports; do
  redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
  check "node $p: cluster_state:ok" $?
  redis-cli -p "$p" cxlring.info 2>/dev/null | grep -q "cxl_cluster_$(id -u)_$p.raw"
  check "node $p: the module serves its own medium" $?
done
[ "$(redis-cli -p "$base" cluster info | tr -d '\r' | sed -n 's/^cluster_slots_ok://p')" = 16384 ]
check "every slot served" $?
[ "$(wc -l <"$D/pod.map")" -eq 2 ] && grep -q "^node 127.0.0.1:$base medium /dev/shm/cxl_cluster_" "$D/pod.map"
check "pod.map: the 2 nodes of pod 1 with their media" $?
for i in $(seq 100); do redis-cli -c -p "$base" set "k$i" "v$i" >/dev/null; done
n=0; for p in $ports; do n=$((n + $(redis-cli -p "$p" dbsize))); done
[ "$n" -eq 100 ] && [ "$(redis-cli -c -p "$((base + 2))" get k77)" = v77 ]
check "redis-cli -c: 100 keys spread over the nodes ($n found), read back through another node" $?
[ "$($C status --dir "$D" | grep -c 'cluster_state:ok, master')" -eq 3 ]
check "status: 3 masters ok" $?
check_fails "a cluster already runs in $D" $C start --dir "$D" --base-port "$((base + 10))" --build "$BUILD"
check_fails "port $base is in use" $C start --dir "$WORK/second" --base-port "$base" --build "$BUILD"
ls /dev/shm/cxl_cluster_"$(id -u)"_"$base".raw >/dev/null 2>&1 && redis-cli -p "$base" ping | grep -q PONG
check "a second cluster on the same ports: refused, the first one's media and nodes untouched" $?
pids=$(cat "$D"/node-*.pid)
$C stop --dir "$D" >/dev/null
check "stop: exit 0" $?
alive=0; for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
[ "$alive" -eq 0 ] && [ ! -e "$D" ] && ! ls /dev/shm/cxl_cluster_"$(id -u)"_"$base".raw >/dev/null 2>&1
check "stop: no node left ($alive alive), no medium, no folder" $?

check_fails "--masters '2': 3..16" $C start --dir "$D" --masters 2
check_fails "--replicas 'x': 0..9" $C start --dir "$D" --replicas x
check_fails "--pod1 '9': 0..3 nodes" $C start --dir "$D" --pod1 9
check_fails "--base-port '80'" $C start --dir "$D" --base-port 80
check_fails "is not built" $C start --dir "$D" --build /nonexistent
check_fails "'restart': start, status or stop" $C restart
check_fails "no cluster in $D" $C status --dir "$D"

# a folder another user could have planted (writable by all): stop and status refuse it,
# and nothing it names is deleted or killed
P=$WORK/planted; mkdir -p "$P"; chmod 777 "$P"; echo keep >"$WORK/victim"
printf 'PORTS="1"\nMEDIA="%s"\nPOD1=0\n' "$WORK/victim" >"$P/cluster.env"; echo 1 >"$P/node-1.pid"
check_fails "is not this user's alone" $C stop --dir "$P"
check_fails "is not this user's alone" $C status --dir "$P"
[ "$(cat "$WORK/victim")" = keep ]; check "a planted folder's file list deletes nothing" $?
chmod 700 "$P"; $C stop --dir "$P" >/dev/null 2>&1
[ "$(cat "$WORK/victim" 2>/dev/null)" = keep ]
check "even our own folder's cluster.env deletes only media named like ours, kills only redis-server" $?

# a start that fails half-way (the third node's port is taken) stops what it began
python3 -c 'import socket, sys, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$((base + 2))" &
holder=$!
sleep 0.3
out=$($C start --dir "$D" --base-port "$base" --build "$BUILD" 2>&1); rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
left=$(pgrep -f "redis-server 127.0.0.1:($base|$((base + 1)))" | wc -l)
[ $rc -ne 0 ] && grep -q "start failed: stopping what it began" <<<"$out" && [ "$left" -eq 0 ] && [ ! -e "$D" ] &&
  ! ls /dev/shm/cxl_cluster_"$(id -u)"_"$base".raw >/dev/null 2>&1
check "a start that fails half-way leaves no node ($left), no medium, no folder" $?

echo "$TEST_NAME: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
