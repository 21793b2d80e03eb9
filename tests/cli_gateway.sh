#!/usr/bin/env bash
# cli_gateway.sh - cxl_resp_gateway with clients nobody here wrote: redis-cli
# (replies byte-compared with redis-cli straight to Redis; --pipe mass
# insertion), redis-benchmark at -P 1 and -P 16 over TCP and a Unix socket,
# python3-redis (tests/gateway_clients.py), raw bytes byte-compared with
# redis-server's answers (tests/gateway_compat.py: Redis's framing, inline
# quoting, error texts, which errors close), commands after 6 s idle,
# hostile clients (tests/gateway_hostile.py: half commands, slot exhaustion,
# big pending arguments against the memory limits), the secure ring (crypto
# mode), flag errors and a clean stop. GATEWAY_BIN picks the binary (run.sh
# runs this again with the ASan+UBSan build: any report fails the test).
# Usage: tests/cli_gateway.sh [BUILD]
source "$(dirname "$0")/check.sh"
GW=${GATEWAY_BIN:-$BUILD/bin/cxl_resp_gateway}
# the sanitizer's allocator keeps freed memory (quarantine): no RSS bounds then
grep -q __asan_init "$GW" && SANITIZED=1 || SANITIZED=0
GW_LOGS=()

start_gateway() { # NAME ARGS...: sets GW_PORT, GW_PID
  local name=$1; shift
  GW_PORT=$(free_port)
  "$GW" --listen 127.0.0.1:$GW_PORT --quiet "$@" 2>"$WORK/$name.err" &
  CLEANUP_PIDS+=($!)
  GW_PID=$!
  GW_LOGS+=("$WORK/$name.err")
  for i in $(seq 100); do redis-cli -p $GW_PORT ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  cat "$WORK/$name.err" >&2; die "gateway $name did not start"
}
stop_gateway() { # PID NAME: SIGTERM, exit 0 (under ASan: no leak, no report)
  kill -TERM "$1"; wait "$1"; check "$2: SIGTERM, exit 0" $?
}

medium=/dev/shm/cxl_cli_gw_$$.raw
start_redis gw "$medium" map_size=64M rings=4
start_gateway plain --path "$medium" --rings 2 --unix "$WORK/gateway.sock"
g() { redis-cli -p "$GW_PORT" "$@"; }
d() { redis-cli -p "$REDIS_PORT" "$@"; }

# every reply as redis-cli prints it, through the gateway and straight to Redis
g SET s1 "hello world" >/dev/null; d SET s2 'quote" and \ backslash' >/dev/null
g RPUSH list a "b c" "" >/dev/null; d HSET hash f1 v1 f2 v2 >/dev/null; g SET counter 41 >/dev/null
while IFS= read -r line; do
  read -ra cmd <<<"$line"
  for mode in --no-raw --raw; do
    a=$(g $mode "${cmd[@]}" 2>&1); b=$(d $mode "${cmd[@]}" 2>&1)
    [ "$a" = "$b" ]; check "$mode ${cmd[*]}: gateway '$a' vs direct '$b'" $?
  done
done <<'CMDS'
GET s1
GET s2
GET missing
LRANGE list 0 -1
HGETALL hash
EXISTS s1 s2 missing
TYPE list
GET list
NOSUCHCOMMAND x
GET counter
CONFIG GET appendonly
CMDS
# values stored with Redis's own encodings (int, embstr, raw), as Redis's SET does
for v in 12345 -7 short "$(printf 'x%.0s' {1..44})" "$(printf 'y%.0s' {1..45})"; do
  g SET enc "$v" >/dev/null; a=$(g OBJECT ENCODING enc); d SET enc "$v" >/dev/null; b=$(d OBJECT ENCODING enc)
  [ "$a" = "$b" ]; check "SET ${#v}-byte '${v:0:8}': encoding through the gateway '$a', direct '$b'" $?
done
[ "$(redis-cli -s "$WORK/gateway.sock" GET s1)" = "hello world" ]; check "Unix socket" $?
out=$(g SUBSCRIBE ch 2>&1); grep -q "cannot run through the cxl ring gateway" <<<"$out"; check "SUBSCRIBE refused: $out" $?
out=$(timeout 5 redis-cli -p $GW_PORT MULTI 2>&1); grep -q "cannot run through" <<<"$out"; check "MULTI refused" $?
out=$(timeout 5 redis-cli -p $GW_PORT BLPOP nolist 0 2>&1); [ $? -ne 124 ]; check "BLPOP 0 returns (no hang): '$out'" $?

# mass insertion, then every key seen straight in Redis
for i in $(seq 1 50000); do echo "SET mass:$i v$i"; done >"$WORK/mass.txt"
out=$(g --pipe <"$WORK/mass.txt" 2>&1); grep -q "errors: 0, replies: 50000" <<<"$out"; check "--pipe: $out" $?
[ "$(d GET mass:49999)" = v49999 ]; check "--pipe keys visible over TCP" $?
[ "$(d EVAL "return #redis.call('keys','mass:*')" 0)" = 50000 ]; check "--pipe inserted 50000 keys" $?

# redis-benchmark through the gateway (TCP and Unix), pipelined or not
for p in 1 16; do
  out=$(redis-benchmark -p $GW_PORT -c 4 -n 20000 -P $p -t set,get,incr,lpush,lrange_100 -r 1000 --csv 2>&1)
  n=$(grep -c '^"' <<<"$out"); [ "$n" -ge 6 ]; check "redis-benchmark -P $p via TCP: $n result lines" $?
  out=$(redis-benchmark -s "$WORK/gateway.sock" -c 4 -n 20000 -P $p -t set,get --csv 2>&1)
  grep -q '"GET"' <<<"$out"; check "redis-benchmark -P $p via Unix socket" $?
done
[ "$(d GET key:__rand_int__ 2>/dev/null | wc -c)" -ge 0 ]; check "redis still answers" $?

# python3-redis: mixed workload, malformed input, a client that does not read
/usr/bin/python3 tests/gateway_clients.py $GW_PORT $REDIS_PORT >"$WORK/py.out" 2>&1; rc=$?
tail -n 5 "$WORK/py.out" >&2; check "gateway_clients.py" $rc
plain_pid=$GW_PID plain_port=$GW_PORT

# a deep pipeline of big replies through a gateway with little output room
start_gateway pipe --path "$medium" --max-output 256k
/usr/bin/python3 tests/gateway_clients.py $GW_PORT $REDIS_PORT pipeline >"$WORK/pipe.out" 2>&1; rc=$?
tail -n 3 "$WORK/pipe.out" >&2; check "gateway_clients.py pipeline (--max-output 256k)" $rc
stop_gateway $GW_PID "--max-output 256k gateway"
GW_PID=$plain_pid GW_PORT=$plain_port

# raw bytes, byte for byte what redis-server answers (and whether it closes)
/usr/bin/python3 tests/gateway_compat.py $GW_PORT $REDIS_PORT >"$WORK/compat.out" 2>&1; rc=$?
grep -v '^  ' "$WORK/compat.out" | tail -n 8 >&2; check "gateway_compat.py" $rc

# idle for longer than the command timeout (5 s), then commands must work
# (a clock left stale over the idle spell timed out whatever was still in
# flight after a few dozen polls: a script that runs ~50 ms shows it)
slow='local i = 0 while i < 2000000 do i = i + 1 end redis.call("SET", KEYS[1], ARGV[1]) return i'
g SET idle before >/dev/null; sleep 6
out=$(g EVAL "$slow" 1 idle after 2>&1); [ "$out" = 2000000 ]; check "a command after 6 s idle: '$out'" $?
[ "$(d GET idle)" = after ]; check "the command after idle ran once" $?
sleep 6
out=$(g SET idle again 2>&1); [ "$out" = OK ]; check "SET after another 6 s idle: '$out'" $?
out=$(printf 'INCR idlec\nINCR idlec\nGET idle\n' | g 2>&1 | tr '\n' ' '); [ "$out" = "1 2 again " ]
check "a pipeline after idle: '$out'" $?

# hostile clients: thousands of half commands (no descriptor, slot or CPU
# kept), then a gateway with 16 slots
/usr/bin/python3 tests/gateway_hostile.py $GW_PORT $GW_PID $REDIS_PORT halfclose >"$WORK/hostile.out" 2>&1; rc=$?
tail -n 5 "$WORK/hostile.out" >&2; check "gateway_hostile.py halfclose" $rc
start_gateway slots --path "$medium" --max-clients 16
/usr/bin/python3 tests/gateway_hostile.py $GW_PORT $GW_PID $REDIS_PORT maxclients >"$WORK/slots.out" 2>&1; rc=$?
tail -n 3 "$WORK/slots.out" >&2; check "gateway_hostile.py maxclients" $rc
stop_gateway $GW_PID "--max-clients 16 gateway"
GW_PID=$plain_pid GW_PORT=$plain_port

# AUTH through the gateway: each client connection has its own Redis user,
# as it would over TCP (the module reads requirepass once a second)
d SET s1 "hello world" >/dev/null; d CONFIG SET requirepass gwpass >/dev/null; sleep 1.2
dp() { redis-cli -p "$REDIS_PORT" --no-auth-warning -a gwpass "$@"; }
ga() { redis-cli -p "$GW_PORT" --no-auth-warning "$@"; }
same() { # DESC ARGS...: the same answer through the gateway and straight
  local desc=$1; shift
  local a b; a=$(ga "$@" 2>&1); b=$(redis-cli -p "$REDIS_PORT" --no-auth-warning "$@" 2>&1)
  [ "$a" = "$b" ]; check "$desc: gateway '$a' vs direct '$b'" $?
}
same "no AUTH" GET s1
same "no AUTH, a write" SET s1 stolen
same "no AUTH, CONFIG GET requirepass" CONFIG GET requirepass
same "no AUTH, ACL SETUSER" ACL SETUSER evil on '>x' '+@all' '~*'
same "a wrong password" -a wrong GET s1
same "AUTH" -a gwpass GET s1
same "AUTH as a user" --user default -a gwpass GET s1
same "HELLO before AUTH" HELLO 2
out=$(ga HELLO 2 AUTH default gwpass 2>&1); grep -q '^proto$' <<<"$out" && grep -q '^redis$' <<<"$out"
check "HELLO 2 AUTH: '$out'" $?
same "HELLO 3" HELLO 3
[ "$(dp GET s1)" = "hello world" ]; check "nothing written without AUTH" $?
[ -z "$(dp ACL GETUSER evil)" ]; check "no user created without AUTH" $?
# a slot's next client does not inherit the user of the one before
for i in 1 2 3 4 5; do
  ga -a gwpass GET s1 >/dev/null; out=$(ga GET s1 2>&1)
  [ "$out" = "NOAUTH Authentication required." ]; check "round $i: the next client is not authenticated: '$out'" $?
done
# two clients at once: one authenticated, one not (python: two sockets)
out=$(/usr/bin/python3 - "$GW_PORT" <<'PY'
import socket, sys
def conn():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); return s
def cmd(s, *a):
    s.sendall(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
    return s.recv(4096)
a, b = conn(), conn()
r = [cmd(a, b"AUTH", b"gwpass"), cmd(b, b"GET", b"s1"), cmd(a, b"GET", b"s1"), cmd(a, b"RESET"), cmd(a, b"GET", b"s1")]
print(r == [b"+OK\r\n", b"-NOAUTH Authentication required.\r\n", b"$11\r\nhello world\r\n", b"+RESET\r\n",
            b"-NOAUTH Authentication required.\r\n"], r)
PY
); [[ $out == True* ]]; check "per connection: AUTH on one, not the other, RESET: $out" $?
dp CONFIG SET requirepass "" >/dev/null; sleep 1.2
[ "$(g GET s1)" = "hello world" ]; check "no password again: served as the default user" $?

# the server resets the gateway's ring (another host forged its indices into
# the exhausted range): the gateway's clients on it are disconnected, the
# ring is claimed again and new clients are served
start_gateway reset --path "$medium" --ring 3
[ "$(g GET s1)" = "hello world" ]; check "ring 3 gateway serves" $?
/usr/bin/python3 - "$medium" <<'PY'
import mmap, struct, sys
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 8192)
    base = 4096 + 3 * 1024
    struct.pack_into("<Q", m, base + 256, (1 << 62) + 5)   # the server's request head
    struct.pack_into("<Q", m, base + 384, (1 << 62) + 5)   # the server's response tail
    struct.pack_into("<Q", m, base + 128, (1 << 63) + 1)   # the gateway's request tail
PY
for i in $(seq 50); do [ "$(d CXLRING.STATS | grep -A1 '^repairs$' | sed -n 8p)" ] && break; sleep 0.1; done
out=""; for i in $(seq 30); do out=$(g GET s1 2>&1); [ "$out" = "hello world" ] && break; sleep 0.2; done
[ "$out" = "hello world" ]; check "served again after the ring was reset: '$out'" $?
grep -q "the server reset the ring" "$WORK/reset.err"; check "the gateway says why it reclaimed the ring" $?
stop_gateway $GW_PID "ring reset gateway"
# another client takes ring 3 over and keeps it alive: the gateway cannot
# claim it again, says so and exits 1 (it does not crash)
start_gateway takeover --path "$medium" --ring 3
/usr/bin/python3 - "$medium" "$GW_PID" <<'PY'
import mmap, os, struct, sys, time
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 8192)
ctl = 4096 + 3 * 1024
word = struct.unpack_from("<Q", m, ctl)[0]
struct.pack_into("<Q", m, ctl, (((word >> 32) + 1) << 32) | (1 << 24) | 9)  # a new owner: node 9
for beat in range(1, 400):  # its heartbeat, until the gateway is gone (at most 20 s)
    struct.pack_into("<Q", m, ctl + 16, beat)
    time.sleep(0.05)
    try:
        if open(f"/proc/{sys.argv[2]}/stat").read().split()[2] == "Z":
            break  # exited, not yet waited for
    except FileNotFoundError:
        break
struct.pack_into("<Q", m, ctl, ((word >> 32) + 1) << 32)  # the rival lets it go
PY
wait $GW_PID; rc=$?
[ $rc -eq 1 ]; check "the gateway exits 1 when its ring cannot be claimed again (status $rc)" $?
grep -q "cannot be claimed again" "$WORK/takeover.err"; check "and says why" $?
GW_PID=$plain_pid GW_PORT=$plain_port

# flag errors
out=$("$GW" --path "$medium" --listen nonsense 2>&1); [ $? -ne 0 ] && grep -q -- "--listen" <<<"$out"; check "bad --listen" $?
out=$("$GW" --path /dev/shm/nope_$$ --listen 127.0.0.1:1 2>&1); [ $? -ne 0 ] && grep -q "nope_" <<<"$out"; check "missing medium" $?
out=$("$GW" --rings 0 2>&1); [ $? -eq 2 ] && grep -q -- "--rings" <<<"$out"; check "--rings 0" $?
out=$("$GW" --bogus 2>&1); [ $? -eq 2 ]; check "unknown flag" $?
out=$("$GW" --path "" --listen 127.0.0.1:1 2>&1); [ $? -eq 1 ] && grep -q "medium path is empty" <<<"$out"; check "--path '': exit 1, '$out'" $?
out=$(CXL_SHM_DELAY_NS=abc "$GW" --path "$medium" --listen 127.0.0.1:1 2>&1); [ $? -ne 0 ] &&
  grep -q "CXL_SHM_DELAY_NS: 'abc' is not a number" <<<"$out"; check "bad CXL_SHM_DELAY_NS: '$out'" $?
out=$("$GW" --path "$medium" --delay-ns x 2>&1); [ $? -eq 2 ] && grep -q -- "--delay-ns: 'x' is not a number" <<<"$out"; check "bad --delay-ns: '$out'" $?
# the gateway's rings are owned by its node: --sec-node-id or CXL_SEC_NODE_ID, also on a plain ring
idle=/dev/shm/cxl_cli_gw_idle_$$.raw
CLEANUP_FILES+=("$idle")
"$BUILD/bin/cxl_shm" --path "$idle" --map-size 8M init --rings 1 >/dev/null
CXL_SEC_NODE_ID=9 "$GW" --path "$idle" --listen 127.0.0.1:$(free_port) --quiet 2>"$WORK/idle.err" &
idle_pid=$!; CLEANUP_PIDS+=($idle_pid)
for i in $(seq 50); do
  n=$("$BUILD/bin/cxl_shm" --path "$idle" info | sed -n 's/^ring 0: owner=owned node=\([0-9]*\) .*/\1/p')
  [ -n "$n" ] && break; sleep 0.1
done
kill -TERM $idle_pid; wait $idle_pid
[ "$n" = 9 ]; check "CXL_SEC_NODE_ID=9: the gateway's ring is owned by node '$n'" $?

# a clean stop releases the rings
stop_gateway $GW_PID "plain gateway"
[ "$("$BUILD/bin/cxl_shm" --path "$medium" info | grep -c 'owner=owned')" = 0 ]; check "rings released" $?

# the secure ring (crypto mode) through the gateway
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/secret"; chmod 600 "$WORK/secret"
start_redis gwsec /dev/shm/cxl_cli_gw_sec_$$.raw map_size=16M rings=2 crypto=1 key_file="$WORK/secret"
start_gateway secure --path /dev/shm/cxl_cli_gw_sec_$$.raw --crypto --sec-key-file "$WORK/secret"
g SET sec "over the secure ring" >/dev/null
[ "$(d GET sec)" = "over the secure ring" ]; check "gateway on the secure ring" $?
out=$(redis-benchmark -p $GW_PORT -c 2 -n 5000 -P 16 -t set,get --csv 2>&1); grep -q '"GET"' <<<"$out"; check "redis-benchmark on the secure ring" $?
# a slot's RESET an attacker on the medium spoils: its next client is closed,
# never served as the user before it (tests/gateway_reset.py)
d CONFIG SET requirepass gwpass >/dev/null; sleep 1.2
out=$(/usr/bin/python3 tests/gateway_reset.py "$GW_PORT" "$REDIS_PID" /dev/shm/cxl_cli_gw_sec_$$.raw 0 2>&1)
check "gateway_reset.py: $out" $?
grep -q "was not reset" "$WORK/secure.err"; check "the gateway says which slot was not reset" $?
d -a gwpass --no-auth-warning CONFIG SET requirepass "" >/dev/null

stop_gateway $GW_PID "secure gateway"

# big arguments against the memory limits: a medium whose messages carry 16 MB
start_redis gwbig /dev/shm/cxl_cli_gw_big_$$.raw map_size=1G rings=3
hostile() { # NAME TEST GATEWAY-FLAGS...
  local name=$1 test=$2; shift 2
  start_gateway "$name" --path /dev/shm/cxl_cli_gw_big_$$.raw "$@"
  /usr/bin/python3 tests/gateway_hostile.py $GW_PORT $GW_PID $REDIS_PORT $test $( ((SANITIZED)) && echo --no-rss) \
    >"$WORK/$name.out" 2>&1; local rc=$?
  tail -n 3 "$WORK/$name.out" >&2; check "gateway_hostile.py $test" $rc
  stop_gateway $GW_PID "$name gateway"
}
hostile bigargs bigargs
hostile querylimit querylimit --client-query-buffer-limit 4mb
hostile maxmemory maxmemory --maxmemory-clients 32mb
[ "$(d STRLEN bigdone)" = 16777216 ]; check "the 16 MB SET reached Redis" $?

# sanitizer reports from any gateway run (ASAN_OPTIONS from tests/run.sh)
reports=$(grep -l -E "AddressSanitizer|LeakSanitizer|runtime error:" "${GW_LOGS[@]}" 2>/dev/null)
said=$(cat $reports 2>/dev/null | head -n 30) # (its own status must not be the check's)
[ -z "$reports" ]; check "sanitizer reports in: $reports $said" $?

echo "cli_gateway: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
