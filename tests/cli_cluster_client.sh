#!/usr/bin/env bash
# cli_cluster_client.sh - the slot-aware cluster client (net/kv_cluster.h,
# docs/CLUSTER.md section 2) through its tools, on clusters of
# scripts/cluster.sh: cxl_ring_direct --cluster writes 10,000 keys with 2 of
# 3 nodes over rings and the third over TCP, every key on its slot's owner
# (checked over TCP with CRC16 of our own) and read back; keys still found
# while slots move (MOVED followed), a slot migrating by hand (ASK
# followed); cxl_ycsb -db cluster workloads A and E with integrity checks; bad flags and pod maps refused; a master killed
# (-9) under a writing client, its replica promoted, every acknowledged key
# readable; a pod master killed under a client writing over its ring, the
# client re-routes. Usage: tests/cli_cluster_client.sh [BUILD]
source "$(dirname "$0")/check.sh"
C="bash scripts/cluster.sh"
RD=${RING_DIRECT_BIN:-$BUILD/bin/cxl_ring_direct}
YCSB=${YCSB_BIN:-$BUILD/bin/cxl_ycsb}
D=$WORK/cluster
trap '$C stop --dir "$D" >/dev/null 2>&1; cleanup' EXIT

# start_cluster NODES ARGS...: a cluster on free ports (base in $base), another base if a
# port was taken meanwhile (other tests run clusters too); a failure ends the test
start_cluster() {
  local n=$1 out try; shift
  for try in 1 2 3; do
    base=$(cluster_base_port "$n") # scripts/lib.sh
    out=$($C start --dir "$D" --base-port "$base" --build "$BUILD" "$@" 2>&1) && return 0
  done
  check "start $*: $out" 1
  echo "$TEST_NAME: $checks checks, $failed failed"
  exit 1
}

# keys_check PREFIX COUNT PORT...: every key PREFIX<i> (i < COUNT, as
# cxl_ring_direct --bench names them: 16 bytes) exactly once on the masters
# among PORT..., each on the master owning its slot, with the value the
# benchmark gives it. Prints the counts; exit 0 when all is well.
keys_check() {
  python3 - "$@" <<'PY'
import subprocess, sys
prefix, count, ports = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3:]
def cli(port, *args, stdin=None):
    return subprocess.run(["redis-cli", "-p", port, *args], input=stdin, capture_output=True, timeout=30).stdout
def crc16(b):
    c = 0
    for x in b:
        c ^= x << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else c << 1
            c &= 0xFFFF
    return c
def slot(k):
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    return crc16(k) % 16384
def key(i):
    d = str(i).encode()
    return prefix + b"0" * max(0, 16 - len(prefix) - len(d)) + d
def value(i):
    twice = b"abcdefghijklmnopqrstuvwxyz" * 2
    return twice[(i * 7) % 26:(i * 7) % 26 + 3]
expect = {key(i): value(i) for i in range(count)}
seen, wrong_node, wrong_value, masters = {}, 0, 0, 0
for p in ports:
    if not cli(p, "role").startswith(b"master"):
        continue
    masters += 1
    mine = set()
    for line in cli(p, "cluster", "nodes").splitlines():
        f = line.split()
        if b"myself" in f[2]:
            for r in f[8:]:
                if r.startswith(b"["):
                    continue
                a, _, b = r.partition(b"-")
                mine.update(range(int(a), int(b or a) + 1))
    keys = [k for k in cli(p, "--scan", "--pattern", (prefix + b"*").decode()).split(b"\n") if k]
    vals = cli(p, stdin=b"".join(b"GET " + k + b"\n" for k in keys)).split(b"\n")
    for k, v in zip(keys, vals):
        seen[k] = seen.get(k, 0) + 1
        wrong_node += slot(k) not in mine
        wrong_value += expect.get(k) != v
missing = sum(1 for k in expect if k not in seen)
twice = sum(1 for k in seen if seen[k] > 1)
print(f"{masters} masters: {len(seen)} keys found, {missing} missing, {twice} on two nodes, "
      f"{wrong_node} on a node not owning their slot, {wrong_value} with a wrong value")
sys.exit(0 if masters and not missing and not twice and not wrong_node and not wrong_value and len(seen) == count else 1)
PY
}

# --- a 3-master cluster, pod 1 = 2 of its nodes ----------------------------------------------
start_cluster 3
ports="$base $((base + 1)) $((base + 2))"
[ "$(grep -c '^node ' "$D/pod.map")" -eq 2 ] && ! grep -q ":$((base + 2)) " "$D/pod.map"
check "pod map: 2 nodes over rings, the third over TCP" $?
CL=(--cluster "127.0.0.1:$base" --pod-map "$D/pod.map")

before=$(redis-cli -p "$base" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p')
out=$($RD "${CL[@]}" --bench 5000 --threads 2 --pipeline --ops set,get --key-prefix ck: --csv "$WORK/r.csv" --quiet 2>&1)
check "--cluster --bench: 10,000 keys set and read back, 2 threads, pipelined (exit 0): $out" $?
[ "$(grep -c 'errors 0' <<<"$out")" -eq 2 ]
check "--cluster --bench: no wrong reply" $?
after=$(redis-cli -p "$base" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p')
tcp=$(redis-cli -p "$((base + 2))" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p')
[ $((after - before)) -lt 300 ] && [ "$tcp" -gt 3000 ]
check "the pod node's keys went over its ring ($((after - before)) TCP commands there), the other's over TCP ($tcp)" $?
out=$(keys_check ck: 10000 $ports)
check "every key on the node owning its slot, with its value: $out" $?

[ "$($RD --cluster "127.0.0.1:$((base + 2))" --pod-map "$D/pod.map" GET ck:0000000004242)" = "$(python3 -c 'print(("abcdefghijklmnopqrstuvwxyz"*2)[4242*7%26:][:3])')" ]
check "one-shot GET through a TCP-only seed" $?
# a node that stalls a moment (its clients paused 1 s; the request times out once) is used
# again when it answers: the request succeeds, not after the 15 s failover bound
for i in $(seq 0 200); do [ "$(redis-cli -p "$base" get "{st$i}k" | cut -c1-5)" != MOVED ] && { tag="{st$i}"; break; }; done
redis-cli -p "$base" client pause 1000 ALL >/dev/null
t0=$(date +%s%N)
out=$($RD --cluster "127.0.0.1:$((base + 2))" --timeout-ms 300 SET "${tag}k" after-stall 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$out" = OK ] && [ "$ms" -lt 5000 ] && [ "$(redis-cli -p "$base" get "${tag}k")" = after-stall ]
check "a write to a node stalled for 1 s goes through when it answers ($out, $ms ms)" $?
$RD "${CL[@]}" HSET '{user1}h' f v >/dev/null && [ "$($RD "${CL[@]}" HGET '{user1}h' f)" = v ] &&
  [ "$(redis-cli -c -p "$base" hget '{user1}h' f)" = v ]
check "a generic command routed by its first key (COMMAND INFO), seen by redis-cli -c" $?
$RD "${CL[@]}" MSET a 1 b 2 | grep -q '^CROSSSLOT'
check "a multi-key command over two slots: the node's own CROSSSLOT" $?
[ "$($RD "${CL[@]}" MSET '{t}a' 1 '{t}b' 2)" = OK ] && [ "$($RD "${CL[@]}" GET '{t}b')" = 2 ]
check "a multi-key command in one slot" $?

# reshard_under FROM_PORT TO_PORT SLOTS OUT BENCH_ARGS...: cxl_ring_direct --cluster runs
# BENCH_ARGS (output in OUT) while redis-cli --cluster reshard moves SLOTS slots FROM -> TO;
# two checks: the reshard and the client (exit 0)
reshard_under() {
  local from to n=$3 out=$4 client
  from=$(redis-cli -p "$1" cluster myid); to=$(redis-cli -p "$2" cluster myid); shift 4
  $RD "${CL[@]}" "$@" --quiet >"$out" 2>&1 &
  client=$!
  sleep 0.3
  redis-cli --cluster reshard "127.0.0.1:$base" --cluster-from "$from" --cluster-to "$to" --cluster-slots "$n" \
    --cluster-yes >"$out.reshard" 2>&1
  check "redis-cli --cluster reshard: $n slots under a running client" $?
  wait $client
  check "the client while the slots move (exit 0): $(cat "$out")" $?
}

# slots move from the TCP node to a pod node under a reading client: MOVED (and ASK) followed
reshard_under "$((base + 2))" "$base" 300 "$WORK/moving.out" --bench 40000 --keyspace 10000 --ops get \
  --key-prefix ck: --csv "$WORK/r.csv"
grep -q 'get .* errors 0' "$WORK/moving.out" && grep -Eq 'cluster: [1-9][0-9]* MOVED' "$WORK/moving.out"
check "every read right, MOVED followed: $(cat "$WORK/moving.out")" $?
out=$(keys_check ck: 10000 $ports)
check "after the move, still every key on its slot's owner: $out" $?
[ "$($RD "${CL[@]}" GET ck:0000000004242)" = "$(python3 -c 'print(("abcdefghijklmnopqrstuvwxyz"*2)[4242*7%26:][:3])')" ]
check "a new client reads through the new map" $?

# slots move between the two pod nodes (ring to ring) under a writing client: every
# acknowledged write ends on its slot's owner with its value (ASK and MOVED over rings)
reshard_under "$base" "$((base + 1))" 500 "$WORK/writing.out" --bench 60000 --keyspace 20000 --ops set \
  --key-prefix wr: --csv "$WORK/w.csv"
grep -q 'set .* errors 0' "$WORK/writing.out"
check "every write acknowledged: $(grep cluster: "$WORK/writing.out")" $?
redis-cli --cluster check "127.0.0.1:$base" >"$WORK/check.log" 2>&1 && ! grep -q '\[WARNING\]' "$WORK/check.log"
check "redis-cli --cluster check: every slot covered, none left open" $?
out=$(keys_check wr: 20000 $ports)
check "no acknowledged write lost: every key on its slot's owner with its value: $out" $?

# a slot half-way through a move by hand (MIGRATING on the TCP node, IMPORTING on a pod node):
# a migrated key and a new key of that slot are answered ASK, the client sends ASKING and the
# request to the importing node over TCP
src=$((base + 2)) dst=$((base + 1))
i=0; while [ "$(redis-cli -p "$src" set "ask$i" v1)" != OK ]; do i=$((i + 1)); done
key=ask$i slot=$(redis-cli -p "$src" cluster keyslot "ask$i")
newkey=$(for j in $(seq 100000); do [ "$(redis-cli -p "$src" cluster keyslot "{ask$i}$j")" = "$slot" ] && echo "{ask$i}$j" && break; done)
redis-cli -p "$dst" cluster setslot "$slot" importing "$(redis-cli -p "$src" cluster myid)" >/dev/null &&
  redis-cli -p "$src" cluster setslot "$slot" migrating "$(redis-cli -p "$dst" cluster myid)" >/dev/null &&
  redis-cli -p "$src" migrate 127.0.0.1 "$dst" "$key" 0 5000 | grep -q OK
check "slot $slot of $key migrating from $src to $dst, $key moved" $?
[ "$($RD "${CL[@]}" GET "$key")" = v1 ]
check "ASK followed: the migrated key read on the importing node" $?
[ "$($RD "${CL[@]}" SET "$newkey" v2)" = OK ] && [ "$(printf 'ASKING\nGET %s\n' "$newkey" | redis-cli -p "$dst" | tail -n 1)" = v2 ]
check "ASK followed: a new key of the migrating slot written on the importing node" $?
for p in $ports; do redis-cli -p "$p" cluster setslot "$slot" node "$(redis-cli -p "$dst" cluster myid)" >/dev/null; done
[ "$($RD "${CL[@]}" GET "$newkey")" = v2 ]
check "the slot moved: its keys read through the new map" $?

# cxl_ycsb -db cluster: workload A, integrity on
Y=(-db cluster --host 127.0.0.1 --port "$base" --pod-map "$D/pod.map" -P workloads/workloada
   -p recordcount=2000 -p operationcount=2000 -p dataintegrity=true --quiet)
out=$($YCSB -load "${Y[@]}" 2>&1) && out=$out$'\n'$($YCSB -run "${Y[@]}" 2>&1)
check "cxl_ycsb -db cluster: load and run workload A (exit 0)" $?
grep -q '\[INSERT\], Return=OK, 2000' <<<"$out" && grep -q '\[VERIFY\], Return=OK' <<<"$out" &&
  ! grep -q 'UNEXPECTED_STATE\|Return=ERROR' <<<"$out"
check "cxl_ycsb -db cluster: 2000 records, every value verified, no error" $?
out=$($YCSB -run "${Y[@]}" -P workloads/workloade -p operationcount=300 2>&1)
check "cxl_ycsb -db cluster: workload E's scans (exit 0)" $?
grep -q '\[SCAN\], Return=OK' <<<"$out" && ! grep -q 'UNEXPECTED_STATE\|Return=ERROR' <<<"$out"
check "cxl_ycsb -db cluster: scans right" $?

# bad flags and pod maps
# a pod map that names another node's medium for a node: the client sees the ring's Redis is
# not that node (CLUSTER MYID) and reaches it over TCP, saying so
m0=$(awk -v a="127.0.0.1:$base" '$2 == a { print $4 }' "$D/pod.map")
m1=$(awk -v a="127.0.0.1:$((base + 1))" '$2 == a { print $4 }' "$D/pod.map")
printf 'node 127.0.0.1:%s medium %s\nnode 127.0.0.1:%s medium %s\n' "$base" "$m1" "$((base + 1))" "$m0" >"$WORK/swapped.map"
out=$($RD --cluster "127.0.0.1:$base" --pod-map "$WORK/swapped.map" CLUSTER MYID 2>"$WORK/swapped.err")
[ "$out" = "$(redis-cli -p "$base" cluster myid)" ] && grep -q "reached over TCP" "$WORK/swapped.err"
check "a pod map with two nodes' media swapped: CLUSTER MYID from the right node, over TCP, with a warning" $?
printf 'node 127.0.0.1:%s medium /dev/shm/x.raw\nnode 127.0.0.1:7001 medim /dev/shm/y.raw\n' "$base" >"$WORK/bad.map"
check_fails "cluster seed 'nohost': expected HOST:PORT" $RD --cluster nohost GET k
check_fails "cannot learn the slot map" $RD --cluster 127.0.0.1:1 GET k
check_fails "pod map /nonexistent/pod.map: No such file" $RD --cluster "127.0.0.1:$base" --pod-map /nonexistent/pod.map GET k
check_fails "$WORK/bad.map:2: unknown field medim" $RD --cluster "127.0.0.1:$base" --pod-map "$WORK/bad.map" GET k
check_fails "--pod-map is for --cluster" $RD --pod-map "$D/pod.map" GET k
check_fails "--cluster or --via, not both" $RD --cluster "127.0.0.1:$base" --via "127.0.0.1:$base" --bench 1
check_fails "not --path/--ring" $RD --cluster "127.0.0.1:$base" --path /dev/shm/x GET k
$RD --pod-map "$D/pod.map" GET k 2>/dev/null; [ $? -eq 2 ]; check "a usage error exits 2" $?
$RD --cluster nohost GET k 2>/dev/null; [ $? -eq 1 ]; check "a seed that does not answer exits 1" $?
check_fails "unknown field medim" $YCSB -run "${Y[@]/$D\/pod.map/$WORK/bad.map}"
check_fails "--pod-map (redis.podmap): only for -db cluster" $YCSB -run -db tcp --pod-map "$D/pod.map" -P workloads/workloada
$C stop --dir "$D" >/dev/null

# --- failover: 3 masters with a replica each; a master killed under a writing client ---------
start_cluster 6 --replicas 1
ports=$(seq "$base" $((base + 5)))
# wait_promoted DEAD: until a replica has taken over from master DEAD (prints its port)
wait_promoted() {
  local p replica
  replica=$(for p in $ports; do redis-cli -p "$p" info replication 2>/dev/null | tr -d '\r' |
            grep -q "^master_port:$1\$" && echo "$p"; done)
  for _ in $(seq 200); do
    redis-cli -p "$replica" role 2>/dev/null | head -n 1 | grep -q master &&
      redis-cli -p "$replica" cluster info | grep -q '^cluster_state:ok' && break
    sleep 0.1
  done
  echo "$replica"
}

# kill_caught_up VICTIM WRITER: kill -9 master VICTIM while WRITER runs, once its replica
# has every write the master acknowledged (the writer stopped a moment, SIGSTOP, until the
# replica's offset reaches the master's). Redis replicates asynchronously: a write
# acknowledged in the instant before a master dies may be lost over TCP as over a ring
# (docs/CLUSTER.md, section 4); the tests check the rest of the path, not that window.
kill_caught_up() {
  local victim=$1 writer=$2 replica off roff
  replica=$(for p in $ports; do redis-cli -p "$p" info replication 2>/dev/null | tr -d '\r' |
            grep -q "^master_port:$victim\$" && echo "$p"; done)
  kill -STOP "$writer" 2>/dev/null && [ "$(ps -o stat= -p "$writer" | cut -c1)" = T ]
  check "master $victim killed under a running writer (not after it ended)" $?
  for _ in $(seq 100); do
    off=$(redis-cli -p "$victim" info replication | tr -d '\r' | sed -n 's/^master_repl_offset://p')
    roff=$(redis-cli -p "$replica" info replication | tr -d '\r' | sed -n 's/^slave_repl_offset://p')
    [ -n "$off" ] && [ "$off" = "$roff" ] && break
    sleep 0.02
  done
  kill -9 "$(cat "$D/node-$victim.pid")"
  kill -CONT "$writer" 2>/dev/null
}

# the victim over TCP (the others over rings): Redis replicates what it was sent over TCP, so
# every acknowledged write must be on the promoted replica
victim=$base
grep -v ":$victim " "$D/pod.map" >"$WORK/fo.map"
redis-cli -p "$victim" role | head -n 1 | grep -q master && [ "$(grep -c '^node ' "$WORK/fo.map")" -eq 2 ]
check "the master to kill ($victim) is over TCP, the other two masters over rings" $?
# failover_under VICTIM SEED PREFIX NOTICED BENCH_ARGS...: a client (seed SEED, the pod map
# fo.map) writes PREFIX keys with BENCH_ARGS; master VICTIM is killed once its replica caught
# up; the replica promoted, the client ends with 0 errors having noticed (NOTICED: a regex of
# its cluster: line), and every one of the 20,000 keys is on the surviving masters
failover_under() {
  local victim=$1 seed=$2 prefix=$3 noticed=$4 writer promoted t0 out=$WORK/failover_$3.out alive; shift 4
  $RD --cluster "127.0.0.1:$seed" --pod-map "$WORK/fo.map" --timeout-ms 1500 --ops set --key-prefix "$prefix" \
    --csv "$WORK/r.csv" --quiet "$@" >"$out" 2>&1 &
  writer=$!
  sleep 0.5
  t0=$(date +%s%N)
  kill_caught_up "$victim" "$writer"
  promoted=$(wait_promoted "$victim")
  redis-cli -p "$promoted" role | head -n 1 | grep -q master
  check "master $victim killed, its replica ($promoted) promoted in $(( ($(date +%s%N) - t0) / 1000000 )) ms" $?
  wait $writer
  check "the writing client survives the failover (exit 0): $(cat "$out")" $?
  grep -q 'set .* errors 0' "$out" && grep -Eq "$noticed" "$out"
  check "every write acknowledged, the failure noticed: $(grep cluster: "$out")" $?
  alive=$(for p in $ports; do [ "$p" = "$victim" ] || echo "$p"; done)
  out=$(keys_check "$prefix" 20000 $alive)
  check "every acknowledged $prefix key readable on the surviving masters: $out" $?
  ports=$alive
}
# (each of the 20,000 keys written several times: on a fast machine 20,000 writes could end
# before the master was killed)
failover_under "$victim" "$((base + 1))" fo: '[1-9][0-9]* node failures' --bench 80000 --keyspace 20000

# a pod node's master killed under a client writing over its ring: the client notices the
# silent ring and re-routes; the module replicates what it was sent over the ring, so every
# acknowledged key is on the promoted replica too (a longer run: the rings are fast)
failover_under "$((base + 1))" "$((base + 2))" fr: '[1-9][0-9]* pod nodes over TCP' --bench 600000 --keyspace 20000

echo "$TEST_NAME: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
