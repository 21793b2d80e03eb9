#!/usr/bin/env bash
# cli_tunnel.sh - cxl_sodium_tunnel between real Redis clients and a real
# redis-server: redis-cli (replies byte-compared with redis-cli straight to
# Redis, a 1 MiB binary value, --pipe), redis-benchmark at -P 1 and -P 16 with
# 100 connections, Unix sockets; then the attacks of docs/TUNNEL.md: a client
# or server end with another key, plain traffic to the server end, a recorded
# session replayed, a flipped bit, a cut stream, a silent peer, a reader that
# does not read; flag and key-file errors; a clean stop. Usage: tests/cli_tunnel.sh [BUILD]
source "$(dirname "$0")/check.sh"
TUN=${TUNNEL_BIN:-$BUILD/bin/cxl_sodium_tunnel} MGR=$BUILD/bin/cxl_sec_mgr # TUNNEL_BIN: e.g. the ASan build
K=$WORK/keys; mkdir -p "$K"
for n in server client other; do "$MGR" keygen --out "$K/$n.key" >/dev/null 2>&1 || die "keygen $n"; done
sed -n 's/^public //p' "$K/server.key" >"$K/server.pub"; chmod 644 "$K/server.pub"

# --- flags and key files -----------------------------------------------------------
run() { rc=0; err=$(timeout 5 "$TUN" "$@" 2>&1 >/dev/null) || rc=$?; }
bad() { # DESC STATUS WORDS ARGS...
  local desc=$1 status=$2 words=$3; shift 3
  run "$@"
  [ "$rc" -eq "$status" ] && grep -qF -- "$words" <<<"$err"; check "$desc: exit $rc (want $status), '$err'" $?
}
p=$(free_port)
C=(--key "$K/client.key" --peer-key "$K/server.key")
bad "no flags" 2 "--mode" 
bad "bad mode" 2 "--mode: 'client' or 'server'" --mode both --listen 127.0.0.1:$p --connect 127.0.0.1:1 "${C[@]}"
bad "no listen" 2 "--listen ADDR is required" --mode client --connect 127.0.0.1:1 "${C[@]}"
bad "client without --connect" 2 "--connect ADDR is required" --mode client --listen 127.0.0.1:$p "${C[@]}"
bad "server with --connect" 2 "--connect is for --mode client" --mode server --listen 127.0.0.1:$p --connect 127.0.0.1:1 --backend 127.0.0.1:1 "${C[@]}"
bad "no keys" 2 "--key FILE and --peer-key FILE are required" --mode client --listen 127.0.0.1:$p --connect 127.0.0.1:1
bad "bad address" 2 "--listen: '127.0.0.1' is not HOST:PORT" --mode client --listen 127.0.0.1 --connect 127.0.0.1:1 "${C[@]}"
bad "bad port" 2 "--connect" --mode client --listen 127.0.0.1:$p --connect 127.0.0.1:99999 "${C[@]}"
bad "unresolvable host" 2 "cannot resolve" --mode client --listen no.such.host.invalid:1 --connect 127.0.0.1:1 "${C[@]}"
bad "unknown flag" 2 "unknown or incomplete option" --mode client --secret abc
bad "extra argument" 2 "unexpected argument 'x'" --mode client x
bad "missing key file" 1 "--key $K/none.key" --mode client --listen 127.0.0.1:$p --connect 127.0.0.1:1 --key "$K/none.key" --peer-key "$K/server.key"
cp "$K/client.key" "$K/open.key"; chmod 644 "$K/open.key"
bad "key file not 0600" 1 "0600" --mode client --listen 127.0.0.1:$p --connect 127.0.0.1:1 --key "$K/open.key" --peer-key "$K/server.key"
bad "peer key file with a secret, not 0600" 1 "holds a secret key and is not private" --mode client --listen 127.0.0.1:$p --connect 127.0.0.1:1 --key "$K/client.key" --peer-key "$K/open.key"
echo "public 12zz" >"$K/junk.pub"
bad "peer key without a public key" 1 "no public key" --mode client --listen 127.0.0.1:$p --connect 127.0.0.1:1 --key "$K/client.key" --peer-key "$K/junk.pub"
printf 'public %064d\n' 0 | tr 0 g >"$K/nothex.pub"
bad "peer key not hex" 1 "is not 64 hex digits" --mode client --listen 127.0.0.1:$p --connect 127.0.0.1:1 --key "$K/client.key" --peer-key "$K/nothex.pub"
busy=$(free_port); python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$busy)); s.listen(); time.sleep(30)" &
busy_pid=$!; CLEANUP_PIDS+=($busy_pid); wait_listen 127.0.0.1:$busy $busy_pid /dev/null # (not a fixed sleep: a loaded machine)
bad "port in use" 1 "cannot listen on 127.0.0.1:$busy" --mode client --listen 127.0.0.1:$busy --connect 127.0.0.1:1 "${C[@]}"
kill $busy_pid; wait $busy_pid 2>/dev/null
touch "$WORK/plainfile"
bad "unix path that is a file" 1 "is not a socket" --mode client --listen "unix:$WORK/plainfile" --connect 127.0.0.1:1 "${C[@]}"
run --help; [ "$rc" -eq 0 ]; check "--help" $?

# --- Redis through the tunnel ----------------------------------------------------------
start_redis tun /dev/shm/cxl_cli_tunnel_$$.raw map_size=16M rings=1
d() { redis-cli -p "$REDIS_PORT" "$@"; }
conns() { d INFO stats | sed -n 's/^total_connections_received:\([0-9]*\).*/\1/p'; }
srv=127.0.0.1:$(free_port) cli=127.0.0.1:$(free_port)
start_tunnel server "$srv" "127.0.0.1:$REDIS_PORT" "$K/server.key" "$K/client.key" "$WORK/server.log" --handshake-ms 500
SRV_PID=$TUN_PID
start_tunnel client "$cli" "$srv" "$K/client.key" "$K/server.pub" "$WORK/client.log"
CLI_PID=$TUN_PID
t() { redis-cli -p "${cli#*:}" "$@"; }
[ "$(t PING)" = PONG ]; check "PING through the tunnel" $?
t SET s1 "hello world" >/dev/null; d RPUSH list a "b c" "" >/dev/null; d HSET hash f1 v1 f2 v2 >/dev/null
for cmd in "GET s1" "GET missing" "LRANGE list 0 -1" "HGETALL hash" "EXISTS s1 missing" "NOSUCHCOMMAND x" "INCR s1" "DBSIZE"; do
  for mode in --no-raw --raw; do
    a=$(t $mode $cmd 2>&1); b=$(d $mode $cmd 2>&1)
    [ "$a" = "$b" ]; check "$mode $cmd: tunnel '$a' vs direct '$b'" $?
  done
done
{ head -c 1048575 /dev/urandom; printf x; } >"$WORK/big.bin" # redis-cli -x drops a final newline
t -x SET big <"$WORK/big.bin" >/dev/null
# (through files: with pipefail, redis-cli | head fails when head exits first)
d --raw GET big >"$WORK/big.direct"; head -c 1048576 "$WORK/big.direct" | cmp -s - "$WORK/big.bin"
check "1 MiB binary value in through the tunnel" $?
t --raw GET big >"$WORK/big.out" 2>"$WORK/big.err"
head -c 1048576 "$WORK/big.out" | cmp -s - "$WORK/big.bin"
_rc=$?; check "1 MiB binary value out through the tunnel ($(wc -c <"$WORK/big.out") bytes, '$(cat "$WORK/big.err")')" $_rc
for i in $(seq 1 20000); do echo "SET pipe:$i v$i"; done >"$WORK/mass.txt"
out=$(t --pipe <"$WORK/mass.txt" 2>&1); grep -q "errors: 0, replies: 20000" <<<"$out"; check "redis-cli --pipe: $out" $?
[ "$(d GET pipe:20000)" = v20000 ] && [ "$(d EVAL "return #redis.call('keys','pipe:*')" 0)" = 20000 ]; check "--pipe keys in Redis" $?
for P in 1 16; do
  out=$(redis-benchmark -p "${cli#*:}" -t set,get,incr,lpush -n 20000 -c 100 -P $P -r 1000 --csv 2>&1)
  for op in SET GET INCR LPUSH; do
    r=$(rb_field "$out" $op 2); [ -n "$r" ] && [ "${r%.*}" -gt 0 ]; check "redis-benchmark -P $P $op ($r req/s)" $?
  done
done
# Unix sockets at both ends
usrv=unix:$WORK/tsrv.sock ucli=unix:$WORK/tcli.sock
start_tunnel server "$usrv" "unix:$REDIS_SOCK" "$K/server.key" "$K/client.key" "$WORK/userver.log"
start_tunnel client "$ucli" "$usrv" "$K/client.key" "$K/server.key" "$WORK/uclient.log"
[ "$(redis-cli -s "${ucli#unix:}" GET s1)" = "hello world" ]; check "Unix sockets at both ends" $?

# --- attacks ------------------------------------------------------------------------------
# a client end with another key: refused, Redis never contacted
c0=$(conns)
bad_cli=127.0.0.1:$(free_port)
start_tunnel client "$bad_cli" "$srv" "$K/other.key" "$K/server.key" "$WORK/badcli.log"
out=$(timeout 5 redis-cli -p "${bad_cli#*:}" SET stolen 1 2>&1)
[ "$out" != OK ] && [ -z "$(d GET stolen)" ]; check "client with another key refused (redis-cli: '$out')" $?
sleep 0.2; grep -q "handshake failed" "$WORK/server.log"; _rc=$?; check "server logs the failed handshake: $(cat "$WORK/server.log")" $_rc
cat "$WORK/server.log"; c1=$(conns); [ "$c1" -eq $((c0 + 2)) ]; check "Redis saw no connection from the refused client ($c1 vs $c0 + our 2)" $?
# a server end with another key: the client end refuses it
fake_srv=127.0.0.1:$(free_port) fcli=127.0.0.1:$(free_port)
start_tunnel server "$fake_srv" "127.0.0.1:$REDIS_PORT" "$K/other.key" "$K/client.key" "$WORK/fakesrv.log"
start_tunnel client "$fcli" "$fake_srv" "$K/client.key" "$K/server.key" "$WORK/fcli.log"
out=$(timeout 5 redis-cli -p "${fcli#*:}" SET fake 1 2>&1)
[ "$out" != OK ] && [ -z "$(d GET fake)" ]; check "server with another key: nothing reaches Redis ('$out')" $?
sleep 0.2; grep -q "handshake failed" "$WORK/fcli.log"; _rc=$?; check "client logs the failed handshake: $(tail -1 "$WORK/fcli.log")" $_rc
# plain RESP to the server end
out=$(timeout 5 redis-cli -p "${srv#*:}" SET plain 1 2>&1)
[ "$out" != OK ] && [ -z "$(d GET plain)" ]; check "plain RESP to the server end refused" $?
# a recorded session replayed
mitm=$(free_port) mcli=127.0.0.1:$(free_port)
python3 tests/tunnel_mitm.py relay "$mitm" "${srv#*:}" "$WORK/rec.bin" >"$WORK/mitm.log" 2>&1 &
CLEANUP_PIDS+=($!); wait_listen 127.0.0.1:$mitm $! "$WORK/mitm.log"
start_tunnel client "$mcli" "127.0.0.1:$mitm" "$K/client.key" "$K/server.key" "$WORK/mcli.log"
[ "$(redis-cli -p "${mcli#*:}" SET replayed yes)" = OK ]; check "SET through the recording relay" $?
sleep 0.3; d DEL replayed >/dev/null
out=$(python3 tests/tunnel_mitm.py replay "${srv#*:}" "$WORK/rec.bin")
[ -z "$(d GET replayed)" ]; check "replayed session not executed ($out)" $?
grep -q "closed=1" <<<"$out"; check "replayed session closed by the server ($out)" $?
# a flipped bit in a data frame, then a cut stream
kill %python3 2>/dev/null; pkill -f "tunnel_mitm.py relay $mitm" ; sleep 0.2
val=$(head -c 600 /dev/zero | tr '\0' x)
for attack in "--flip 400" "--cut 400"; do
  m2=$(free_port) c2=127.0.0.1:$(free_port)
  python3 tests/tunnel_mitm.py relay "$m2" "${srv#*:}" "$WORK/rec2.bin" $attack >"$WORK/mitm2.log" 2>&1 &
  CLEANUP_PIDS+=($!); wait_listen 127.0.0.1:$m2 $! "$WORK/mitm2.log"
  start_tunnel client "$c2" "127.0.0.1:$m2" "$K/client.key" "$K/server.key" "$WORK/c2.log"
  : >"$WORK/server.log.mark"; before=$(wc -l <"$WORK/server.log")
  out=$(timeout 5 redis-cli -p "${c2#*:}" SET tampered "$val" 2>&1)
  sleep 0.3
  [ "$out" != OK ] && [ -z "$(d GET tampered)" ]; check "$attack: the command never ran ('$out')" $?
  why=$(tail -n +$((before + 1)) "$WORK/server.log")
  case $attack in
    --flip*) grep -q "failed authentication" <<<"$why" ;;
    --cut*) grep -qE "middle of a frame|truncated" <<<"$why" ;;
  esac
  check "$attack: the server says why: $why" $?
done
# 300 peers that never authenticate cost the server end little memory
rss0=$(awk '/VmRSS/ {print $2}' /proc/$SRV_PID/status)
python3 - "${srv#*:}" <<'PY' &
import socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(300)]
for c in conns:
    c.sendall(b"\x3f\x00\x00\x00CXLS")  # the start of a first frame, never finished
time.sleep(0.4)
PY
peers=$!; sleep 0.3
rss1=$(awk '/VmRSS/ {print $2}' /proc/$SRV_PID/status); wait $peers
[ $((rss1 - rss0)) -lt 8192 ]; check "300 unauthenticated peers: server end +$((rss1 - rss0)) kB (< 8 MiB)" $?
echo "cli_tunnel: 300 unauthenticated peers cost the server end $((rss1 - rss0)) kB"
sleep 0.4
# a client that pauses, then reads large replies: nothing may stay stuck in the tunnel
out=$(timeout 60 python3 - "${cli#*:}" <<'PY'
import random, socket, sys, time
want = 4 * (len(b"$1048576\r\n") + 1048576 + 2)
for run in range(6):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.settimeout(10)
    s.sendall(b"GET big\r\n" * 4)
    time.sleep(random.uniform(0.05, 0.5))
    got = 0
    try:
        while got < want:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
            if random.random() < 0.05:
                time.sleep(0.05)
    except socket.timeout:
        pass
    s.close()
    if got != want:
        print(f"run {run}: {got} of {want} bytes")
        sys.exit(1)
print("ok")
PY
); check "pausing reader gets every byte of 4 x 1 MiB, 6 times ($out)" $?
# a peer that closes in the middle of its handshake is let go at once, not at the deadline
before=$(wc -l <"$WORK/server.log")
python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',int(sys.argv[1]))); s.sendall(b'\x3f\x00\x00\x00CX'); s.close()" "${srv#*:}"
sleep 0.2
why=$(tail -n +$((before + 1)) "$WORK/server.log")
grep -q "handshake failed: closed in the middle of a frame" <<<"$why"; check "close during the handshake noticed at once: $why" $?
# --max-handshakes: silent peers past the limit push the oldest out; real clients get through
hs=127.0.0.1:$(free_port) hcli=127.0.0.1:$(free_port)
start_tunnel server "$hs" "127.0.0.1:$REDIS_PORT" "$K/server.key" "$K/client.key" "$WORK/hs.log" --max-handshakes 8
start_tunnel client "$hcli" "$hs" "$K/client.key" "$K/server.key" "$WORK/hcli.log"
python3 - "${hs#*:}" <<'PY' &
import socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(20)]
time.sleep(2)
PY
silent=$!; sleep 0.3
[ "$(redis-cli -p "${hcli#*:}" GET s1)" = "hello world" ]; check "--max-handshakes 8 with 20 silent peers: a real client is served" $?
grep -q "dropped: --max-handshakes (8) in progress" "$WORK/hs.log"; check "the oldest silent peers were dropped" $?
kill $silent 2>/dev/null; wait $silent 2>/dev/null
# the slot policy itself, with first frames made from the key files (tests/tunnel_flood.py hold):
# at --max-handshakes 4 under a silent flood, 4 connections whose first frame was a fresh proof of
# the client end's key are held until their deadline (3 s), 2 whose proof is stale are dropped
# for room, one that sends a first frame again (a replay) is refused at once
hs2=127.0.0.1:$(free_port)
start_tunnel server "$hs2" "127.0.0.1:$REDIS_PORT" "$K/server.key" "$K/client.key" "$WORK/hold.log" --max-handshakes 4 --handshake-ms 3000
python3 tests/tunnel_flood.py "${hs2#*:}" hold 1.5 --key "$K/client.key" --peer-key "$K/server.pub" --fresh 4 --stale 2 >"$WORK/hold.out" 2>&1 &
holder=$!; sleep 0.6
out=$(python3 tests/tunnel_flood.py "${hs2#*:}" silent 1.5); wait $holder
grep -q "fresh 4 of 4 open, stale 0 of 2 open, replay closed" "$WORK/hold.out"; _rc=$?; check "under a flood: $(head -1 "$WORK/hold.out") ($out)" $_rc
secs=$(sed -n 's/.*closed \([0-9]*\)\..* s after.*/\1/p' "$WORK/hold.out")
[ -n "$secs" ] && [ "$secs" -ge 2 ] && [ "$secs" -lt 20 ]; _rc=$?; check "the fresh ones held until their deadline: $(tail -1 "$WORK/hold.out")" $_rc
grep -q "the first frame is a replay of one seen before" "$WORK/hold.log" && grep -q "timed out" "$WORK/hold.log"
check "the replay refused and the deadline logged" $?
echo "cli_tunnel: $(tr '\n' ' ' <"$WORK/hold.out")"
# a flood of unauthenticated peers (tests/tunnel_flood.py, as fast as it can: first silent ones,
# then slow garbage, a bare message 1, a forged proof and a replayed first frame in turn) against a
# server end with the default limits, while honest clients with a long round trip
# (tests/delay_proxy.py: 5 ms and 50 ms one way between the client end and the server end) connect
# anew for each PING: all of them must be served, and the server end's log must stay small
# (docs/TUNNEL.md, "Handshake slots")
flood_phase() { # DELAY KIND: 6 PINGs through the client end while KIND floods the server end
  local delay=$1 kind=$2 flood log0 log1 t0 t1 ok i rate ms n flooding
  python3 tests/tunnel_flood.py "${fsrv#*:}" $kind 120 --record "$WORK/rec.bin" >"$WORK/flooder.log" 2>&1 &
  flood=$!; CLEANUP_PIDS+=($flood)
  sleep 1.5 # the flood at full speed first
  log0=$(stat -c %s "$WORK/flood$delay.log") t0=$(date +%s%N)
  ok=0; for i in 1 2 3 4 5 6; do [ "$(timeout 20 redis-cli -p "${fcl#*:}" PING 2>&1)" = PONG ] && ok=$((ok + 1)); done
  sleep 1 # (one more report interval of the log)
  kill -0 $flood 2>/dev/null; flooding=$?
  log1=$(stat -c %s "$WORK/flood$delay.log") t1=$(date +%s%N)
  kill -TERM $flood; wait $flood
  rate=$(( (log1 - log0) * 1000000000 / (t1 - t0) )) ms=$(( (t1 - t0) / 1000000 ))
  n=$(grep -o '[0-9]* connections in' "$WORK/flooder.log" | cut -d' ' -f1)
  echo "cli_tunnel: $delay ms one way, $kind flood: $ok of 6 honest PINGs; server log $((log1 - log0)) bytes in $ms ms = $rate B/s; $(cat "$WORK/flooder.log")"
  [ $ok -eq 6 ] && [ $flooding -eq 0 ]; check "$delay ms one way, $kind flood: $ok of 6 honest PINGs answered (flooder still running: $flooding = 0)" $?
  [ "${n:-0}" -ge 2000 ]; check "$delay ms, $kind: the flood was a flood (${n:-0} connections)" $?
  [ $rate -lt 20000 ]; check "$delay ms, $kind: server log under the flood $rate B/s (< 20000)" $?
}
for delay in 5 50; do
  progress "flood against the server end, honest clients at $delay ms one way"
  fsrv=127.0.0.1:$(free_port) fcl=127.0.0.1:$(free_port) lag=$(free_port)
  start_tunnel server "$fsrv" "127.0.0.1:$REDIS_PORT" "$K/server.key" "$K/client.key" "$WORK/flood$delay.log"
  fsrv_pid=$TUN_PID
  python3 tests/delay_proxy.py "$lag" "${fsrv#*:}" "$delay" >"$WORK/lag$delay.log" 2>&1 &
  lag_pid=$!; CLEANUP_PIDS+=($lag_pid); wait_listen 127.0.0.1:$lag $lag_pid "$WORK/lag$delay.log"
  start_tunnel client "$fcl" "127.0.0.1:$lag" "$K/client.key" "$K/server.pub" "$WORK/floodcli$delay.log"
  fcl_pid=$TUN_PID
  [ "$(timeout 20 redis-cli -p "${fcl#*:}" PING 2>&1)" = PONG ]; check "$delay ms: PING before the flood" $?
  flood_phase $delay silent
  flood_phase $delay mixed
  grep -q "dropped: --max-handshakes (256) in progress" "$WORK/flood$delay.log" &&
    grep -q "similar messages suppressed" "$WORK/flood$delay.log"
  check "$delay ms: unproven peers dropped for room, log lines counted, not written" $?
  kill $fsrv_pid $lag_pid $fcl_pid 2>/dev/null; wait $fsrv_pid $lag_pid $fcl_pid 2>/dev/null
done
# the client end: local peers past --max-conns are refused, and the log stays small too
fcl=127.0.0.1:$(free_port)
start_tunnel client "$fcl" "$srv" "$K/client.key" "$K/server.pub" "$WORK/floodcli.log" --max-conns 4
log0=$(stat -c %s "$WORK/floodcli.log")
out=$(python3 tests/tunnel_flood.py "${fcl#*:}" silent 3)
log1=$(stat -c %s "$WORK/floodcli.log")
echo "cli_tunnel: client end flooded past --max-conns 4: log +$((log1 - log0)) bytes in 3 s; $out"
grep -q "refused: --max-conns reached" "$WORK/floodcli.log" && [ $((log1 - log0)) -lt 30000 ]
check "client end flooded past --max-conns 4: log +$((log1 - log0)) bytes in 3 s (< 30000; $out)" $?
# descriptors: the limit --max-conns needs is checked at start; a flood past
# --max-conns is refused without a busy loop
out=$( (ulimit -n 64; "$TUN" --mode server --listen 127.0.0.1:1 --backend 127.0.0.1:1 --key "$K/server.key" \
        --peer-key "$K/client.key" --max-conns 1000) 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "needs 2032 file descriptors, the limit is 64" <<<"$out"; check "--max-conns beyond ulimit -n refused: $out" $?
fdp=$(free_port)
(ulimit -n 48; exec "$TUN" --mode server --listen 127.0.0.1:$fdp --backend 127.0.0.1:$REDIS_PORT --key "$K/server.key" \
   --peer-key "$K/client.key" --max-conns 8 2>"$WORK/fd.log") &
fdpid=$!; CLEANUP_PIDS+=($fdpid); wait_listen 127.0.0.1:$fdp $fdpid "$WORK/fd.log"
python3 - "$fdp" <<'PY' &
import socket, sys, time
conns = []
for _ in range(60):
    try:
        conns.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1))
    except OSError:
        pass
time.sleep(2.5)
PY
flood=$!; sleep 0.5
t0=$(awk '{print $14 + $15}' /proc/$fdpid/stat); sleep 1; t1=$(awk '{print $14 + $15}' /proc/$fdpid/stat)
[ $((t1 - t0)) -lt 20 ]; check "60 connections against --max-conns 8: $((t1 - t0)) ticks of CPU in 1 s (no busy loop)" $?
grep -qE "refused: --max-conns reached|dropped: --max-conns \(8\) reached" "$WORK/fd.log"
check "--max-conns: newcomers refused or the oldest unproven handshakes dropped for them, logged" $?
kill $flood 2>/dev/null; wait $flood 2>/dev/null
# a silent peer times out; --max-conns
exec 7<>"/dev/tcp/127.0.0.1/${srv#*:}"; sleep 0.8
grep -q "timed out" "$WORK/server.log"; check "a silent peer times out (--handshake-ms 500)" $?
exec 7>&-
mx=127.0.0.1:$(free_port)
start_tunnel client "$mx" "$srv" "$K/client.key" "$K/server.key" "$WORK/mx.log" --max-conns 1
exec 8<>"/dev/tcp/127.0.0.1/${mx#*:}"; sleep 0.2
out=$(timeout 3 redis-cli -p "${mx#*:}" PING 2>&1)
grep -q -- "--max-conns reached" "$WORK/mx.log"; check "--max-conns 1: second connection refused ('$out')" $?
exec 8>&-
# a reader that does not read: bounded memory, others served
python3 - "${cli#*:}" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET big\r\n" * 200)   # 200 MiB of replies, never read
time.sleep(4)
PY
hog=$!; sleep 1.5
ok=0; for i in $(seq 100); do [ "$(t SET other$i v)" = OK ] && ok=$((ok + 1)); done
[ $ok -eq 100 ]; check "100 SETs of another client while one does not read ($ok)" $?
rss=$(awk '/VmRSS/ {print $2}' /proc/$CLI_PID/status)
limit=65536; [ -n "${TUNNEL_BIN:-}" ] && limit=262144 # ASan: shadow memory and quarantine
[ "$rss" -lt $limit ]; check "client end memory bounded while a reader stalls (${rss} kB < $limit kB)" $?
echo "cli_tunnel: client end RSS while a reader stalls: $rss kB"
kill $hog 2>/dev/null; wait $hog 2>/dev/null
# the tunnel still serves, then stops cleanly
[ "$(t GET s1)" = "hello world" ]; check "still serving after the attacks" $?
kill -TERM $SRV_PID; wait $SRV_PID; rc=$?
[ $rc -eq 0 ] && grep -q "stopped:" "$WORK/server.log"; check "SIGTERM: exit $rc, 'stopped' logged" $?

if [ $failed -ne 0 ]; then
  for f in "$WORK"/*.log; do echo "--- $(basename "$f")"; tail -n 20 "$f"; done
fi
echo "cli_tunnel: $checks checks, $failed failed"
[ $failed -eq 0 ]
