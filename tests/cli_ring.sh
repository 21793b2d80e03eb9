#!/usr/bin/env bash
# cli_ring.sh - cxl_ring_direct as a one-shot client against a real
# redis-server with the module: every reply printed exactly as redis-cli
# prints the same command's reply over TCP (tty style and raw), writes on one
# side visible on the other, and flag errors. Usage: tests/cli_ring.sh [BUILD]
source "$(dirname "$0")/check.sh"
medium=/dev/shm/cxl_cli_ring_$$.raw
start_redis cli "$medium" map_size=16M rings=2
ring() { "$BUILD/bin/cxl_ring_direct" --path "$medium" "$@"; }
tcp() { redis-cli -p "$REDIS_PORT" "$@"; }

# state built through both doors
ring SET s1 "hello world" >/dev/null
tcp SET s2 'quote" and \ backslash' >/dev/null
ring RPUSH list a "b c" "" >/dev/null
tcp HSET hash f1 v1 f2 v2 >/dev/null
ring SET counter 41 >/dev/null
tcp SADD set only >/dev/null
ring SET bin "$(printf 'x\ty\001')" >/dev/null

# each read-only command printed the same by both, tty style and raw
while IFS= read -r line; do
  read -ra cmd <<<"$line"
  for mode in --no-raw --raw; do
    a=$(ring $mode "${cmd[@]}" 2>&1); b=$(tcp $mode "${cmd[@]}" 2>&1)
    [ "$a" = "$b" ]; check "$mode ${cmd[*]}: ring '$a' vs redis-cli '$b'" $?
  done
done <<'CMDS'
GET s1
GET s2
GET missing
GET bin
LRANGE list 0 -1
LRANGE nolist 0 -1
HGETALL hash
SMEMBERS set
EXISTS s1 s2 missing
STRLEN s1
TYPE list
GET list
NOSUCHCOMMAND x
INCRBY counter 0
CMDS

# fast paths agree with the generic path and with TCP
[ "$(ring INCR counter)" = 42 ]; check "INCR over the ring" $?
[ "$(tcp GET counter)" = 42 ]; check "INCR visible over TCP" $?
[ "$(ring DEL s1)" = 1 ] && [ "$(tcp EXISTS s1)" = 0 ]; check "DEL over the ring" $?
ring SET ttl v EX 100 >/dev/null; t=$(tcp TTL ttl)
[ "$t" -gt 90 ] && [ "$t" -le 100 ]; check "SET EX over the ring: TTL $t" $?
ring SET ttl2 v PX 5000 >/dev/null; t=$(tcp PTTL ttl2)
[ "$t" -gt 4000 ] && [ "$t" -le 5000 ]; check "SET PX over the ring: PTTL $t" $?

# flag and usage errors: non-zero exit, a message naming the problem
out=$(ring 2>&1); [ $? -eq 2 ] && grep -q "give a command" <<<"$out"; check "no command" $?
out=$(ring --bench 0 2>&1); [ $? -eq 2 ] && grep -q -- "--bench" <<<"$out"; check "--bench 0" $?
out=$(ring --bench 10 --ops set,bogus 2>&1); [ $? -eq 2 ] && grep -q "unknown op 'bogus'" <<<"$out"; check "--ops bogus" $?
out=$(ring --threads 0 --bench 5 2>&1); [ $? -eq 2 ] && grep -q -- "--threads" <<<"$out"; check "--threads 0" $?
out=$(ring --ring 7 GET x 2>&1); [ $? -eq 1 ] && grep -q "ring 7 does not exist" <<<"$out"; check "--ring past the rings" $?
out=$("$BUILD/bin/cxl_ring_direct" --path /dev/shm/no_such_medium_$$ GET x 2>&1); [ $? -eq 1 ] && grep -q "no_such_medium" <<<"$out"; check "missing medium" $?
out=$(ring --bench 5 GET x 2>&1); [ $? -eq 2 ] && grep -q "takes no command" <<<"$out"; check "--bench with a command" $?

# empty values are the medium's and the keyring's business (exit 1), as before the options' table
out=$("$BUILD/bin/cxl_ring_direct" --path "" GET x 2>&1); [ $? -eq 1 ] && grep -q "medium path is empty" <<<"$out"; check "--path '': exit 1, '$out'" $?
out=$(ring --secure --sec-mgr "" --sec-key /nonexistent --sec-node-id 3 GET x 2>&1); [ $? -eq 1 ] &&
  grep -q "secure mode needs the manager address" <<<"$out"; check "--sec-mgr '': exit 1, '$out'" $?
out=$(ring --user u --secure GET x 2>&1); [ $? -eq 2 ] && grep -q -- "--user needs --pass" <<<"$out"; check "--user without --pass reported first: '$out'" $?

# the ring owner's node id: --node-id; --sec-node-id (a flag) names it too; CXL_SEC_NODE_ID alone
# (no --secure) does not override it. Seen by cxl_shm info while the client waits on a medium
# nobody serves.
idle=/dev/shm/cxl_cli_ring_idle_$$.raw
CLEANUP_FILES+=("$idle")
"$BUILD/bin/cxl_shm" --path "$idle" --map-size 8M init --rings 1 >/dev/null
owner_node() { # ENV... -- FLAGS...: the node ring 0's owner is recorded with
  local envs=() ; while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  env "${envs[@]}" "$BUILD/bin/cxl_ring_direct" --path "$idle" "$@" --timeout-ms 1500 GET x >/dev/null 2>&1 &
  local pid=$! node
  sleep 0.5
  node=$("$BUILD/bin/cxl_shm" --path "$idle" info | sed -n 's/^ring 0: owner=owned node=\([0-9]*\) .*/\1/p')
  wait $pid
  echo "${node:-none}"
}
n=$(owner_node -- --node-id 3); [ "$n" = 3 ]; check "--node-id 3: owner node $n" $?
n=$(owner_node CXL_SEC_NODE_ID=9 --); [ "$n" = 0 ]; check "CXL_SEC_NODE_ID=9 alone: owner node $n (not 9)" $?
n=$(owner_node CXL_SEC_NODE_ID=9 -- --node-id 3); [ "$n" = 3 ]; check "CXL_SEC_NODE_ID=9 --node-id 3: owner node $n" $?
n=$(owner_node -- --node-id 3 --sec-node-id 5); [ "$n" = 5 ]; check "--sec-node-id 5 over --node-id 3: owner node $n" $?
out=$(CXL_SEC_NODE_ID=abc ring GET x 2>&1); [ $? -eq 2 ] && grep -q "CXL_SEC_NODE_ID: 'abc' is not a number" <<<"$out"; check "bad CXL_SEC_NODE_ID: '$out'" $?

# the delay model: CXL_SHM_DELAY_NS and --delay-ns, checked and named
out=$(CXL_SHM_DELAY_NS=abc ring GET x 2>&1); [ $? -ne 0 ] && grep -q "CXL_SHM_DELAY_NS: 'abc' is not a number" <<<"$out"; check "bad CXL_SHM_DELAY_NS: '$out'" $?
out=$(ring --delay-ns 2000000 GET x 2>&1); [ $? -eq 2 ] && grep -q -- "--delay-ns: 2000000 is out of range" <<<"$out"; check "--delay-ns out of range: '$out'" $?
[ "$(CXL_SHM_DELAY_NS=100 ring GET counter)" = 42 ]; check "CXL_SHM_DELAY_NS=100: the reply" $?
out=$(ring --delay-model fast GET x 2>&1); [ $? -eq 2 ] && grep -q -- "--delay-model: 'fast' is not a delay model (serial or mlp)" <<<"$out"; check "bad --delay-model: '$out'" $?
out=$(ring --delay-bw-gbps 0 GET x 2>&1); [ $? -eq 2 ] && grep -q -- "--delay-bw-gbps: 0 is out of range" <<<"$out"; check "--delay-bw-gbps out of range: '$out'" $?
out=$(CXL_SHM_DELAY_MODEL=parallel ring GET x 2>&1); [ $? -ne 0 ] && grep -q "CXL_SHM_DELAY_MODEL: 'parallel' is not a delay model" <<<"$out"; check "bad CXL_SHM_DELAY_MODEL: '$out'" $?
[ "$(CXL_SHM_DELAY_NS=100 CXL_SHM_DELAY_MODEL=serial ring GET counter)" = 42 ]; check "the serial model: the reply" $?
out=$(ring --delay-ns 100 --delay-bw-gbps 36 --bench 20 --ops set 2>&1); grep -q "delay model mlp L=100ns BW=36GB/s" <<<"$out"; check "--bench names the delay model: '$out'" $?
out=$(CXL_SHM_DELAY_NS=100 CXL_SHM_DELAY_MODEL=serial ring --bench 20 --ops set 2>&1); grep -q "delay model serial L=100ns" <<<"$out"; check "--bench names the serial model: '$out'" $?

# --via tls: a server that closes the connection at once; the hint names the variable
closer_port=$(free_port)
python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept(); c.recv(64); c.close()' "$closer_port" &
CLEANUP_PIDS+=($!)
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$closer_port") 2>/dev/null && break; sleep 0.05; done
out=$(timeout 20 "$BUILD/bin/cxl_ring_direct" --via "tls:127.0.0.1:$closer_port" --bench 1 --quiet 2>&1); [ $? -eq 1 ] &&
  grep -q "is the server's certificate trusted? set CXL_TLS_CAFILE" <<<"$out"; check "TLS handshake hint: '$out'" $?
# --via tls: a server that never answers the handshake: bounded by --timeout-ms
silent_port=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
held = []
while True:
    c, _ = s.accept(); held.append(c)' "$silent_port" &
CLEANUP_PIDS+=($!)
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$silent_port") 2>/dev/null && break; sleep 0.05; done
out=$(timeout 20 "$BUILD/bin/cxl_ring_direct" --via "tls:127.0.0.1:$silent_port" --bench 1 --quiet --timeout-ms 500 2>&1)
[ $? -eq 1 ] && grep -q "TLS: handshake: no answer within 500 ms" <<<"$out"; check "TLS handshake bounded: '$out'" $?

# CSV rows: a label with a comma and a quote comes out quoted (RFC 4180)
csv=/tmp/cli_ring_$$.csv
ring --bench 50 --ops set,get --label 'lab,el "x"' --csv "$csv" --compare-csv "$csv.cmp" >/dev/null 2>&1
check "--bench --csv" $?
for f in "$csv" "$csv.cmp"; do
  python3 -c 'import csv,sys; rows=list(csv.reader(open(sys.argv[1]))); h=rows[0]
assert len(rows)==3 and all(len(r)==len(h) for r in rows) and rows[1][0]=="lab,el \"x\"", rows' "$f" 2>&1
  rc=$?; check "${f##*/}: 2 rows as wide as the header, the label read back" $rc
done
rm -f "$csv" "$csv.cmp"

echo "cli_ring: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
