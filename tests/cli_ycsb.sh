#!/usr/bin/env bash
# cli_ycsb.sh - cxl_ycsb end to end with the real redis-server and the
# module: usage errors naming the flag or property; load + run of every
# workload over TCP and over the ring with every read checked; the same
# seed over TCP and over the ring leaving the same Redis state; Unix, TLS,
# the sodium tunnel, the crypto ring and the secure ring (cxl_sec_mgr);
# redis.model=string; several threads with deletes; values changed behind
# its back caught (UNEXPECTED_STATE, ERROR, exit 1); Redis gone mid-run
# (errors, a report, no hang); ACL passwords; -target, -s, --csv; the
# output read as YCSB's (tests/ycsb_output.py).
# Usage: bash tests/cli_ycsb.sh [build-dir]
source "$(dirname "$0")/check.sh"
Y=${YCSB_BIN:-$BUILD/bin/cxl_ycsb}
[ -x "$Y" ] || { echo "cli_ycsb: $Y is not built" >&2; exit 1; }
rc=0 out="" err=""
run() { rc=0; out=$(timeout 120 "$Y" "$@" 2>"$WORK/err") || rc=$?; err=$(cat "$WORK/err"); }
show() { echo "  exit $rc; stderr: ${err:0:600}" >&2; echo "  stdout: ${out:0:300}" >&2; }
ok() { # ok DESC: the last run exited 0
  check "$1: exit 0" "$([ "$rc" -eq 0 ]; echo $?)"; [ "$rc" -eq 0 ] || show
}
expect_fail() { # expect_fail DESC STATUS WORDS ARGS...
  local desc=$1 status=$2 words=$3; shift 3
  run "$@"
  check "$desc: exit $status" "$([ "$rc" -eq "$status" ]; echo $?)"
  check "$desc: stderr says '$words'" "$(grep -qF -- "$words" <<<"$err"; echo $?)"
  [ "$rc" -eq "$status" ] && grep -qF -- "$words" <<<"$err" || show
}
yout() { printf '%s\n' "$out" >"$WORK/out"; /usr/bin/python3 tests/ycsb_output.py "$WORK/out" "$@" >"$WORK/parsed" 2>&1; }

# --- usage errors: exit 2, the flag or property named, nothing started -------------
A=(-P workloads/workloada)
expect_fail "no phase" 2 "give -load" -db tcp "${A[@]}"
expect_fail "-load and -run" 2 "not both" -load -run -db tcp "${A[@]}"
expect_fail "no -db" 2 "give -db" -run "${A[@]}"
expect_fail "-db unknown" 2 "unknown 'mongodb'" -run -db mongodb "${A[@]}"
expect_fail "no workload" 2 "give a workload" -run -db tcp
expect_fail "-P missing file" 2 "workloads/nope" -run -db tcp -P workloads/nope
expect_fail "-p without =" 2 "recordcount" -run -db tcp "${A[@]}" -p recordcount
expect_fail "unknown property" 2 "unknown property 'readproportio' (-p)" -run -db tcp "${A[@]}" -p readproportio=1
expect_fail "negative count" 2 "recordcount" -run -db tcp "${A[@]}" -p recordcount=-5
expect_fail "proportions all 0" 2 "all 0" -run -db tcp "${A[@]}" -p readproportion=0 -p updateproportion=0
expect_fail "unknown distribution" 2 "requestdistribution" -run -db tcp "${A[@]}" -p requestdistribution=pareto
expect_fail "-threads 0" 2 "threadcount" -run -db tcp "${A[@]}" -threads 0
expect_fail "-target -1" 2 "target" -run -db tcp "${A[@]}" -target -1
expect_fail "variable field lengths with integrity" 2 "dataintegrity" -run -db tcp "${A[@]}" -p fieldlengthdistribution=uniform
expect_fail "ring with --host" 2 "--host" -run -db ring --host 127.0.0.1 "${A[@]}"
expect_fail "tcp with --path" 2 "for the rings" -run -db tcp --path /dev/shm/x "${A[@]}"
expect_fail "unix without --unix" 2 "--unix" -run -db unix "${A[@]}"
expect_fail "ring-crypto without its key" 2 "sec-key-file" -run -db ring-crypto "${A[@]}"
expect_fail "--port out of range" 2 "--port" -run -db tcp --port 70000 "${A[@]}"
printf 'recordcount=10\nthis line has no separator\n' >"$WORK/bad.wl"
expect_fail "malformed workload line" 2 "bad.wl:2" -run -db tcp -P "$WORK/bad.wl"
printf 'recordcount=10\nreadproportion=2x\n' >"$WORK/bad2.wl"
expect_fail "bad value names file and line" 2 "bad2.wl:2" -run -db tcp -P "$WORK/bad2.wl"
expect_fail "nothing listens" 1 "cannot connect" -run -db tcp --port "$(free_port)" "${A[@]}" -p recordcount=10

# --- Redis with the module (and TLS) -------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
tls_port=$(free_port)
REDIS_EXTRA=(--tls-port "$tls_port" --tls-cert-file "$WORK/tls.crt" --tls-key-file "$WORK/tls.key"
             --tls-ca-cert-file "$WORK/tls.crt" --tls-auth-clients no)
medium=/dev/shm/cxl_cli_ycsb_$$.raw
start_redis ycsb "$medium" map_size=64M rings=8
REDIS_EXTRA=()
P=$REDIS_PORT SOCK=$REDIS_SOCK
rcli() { redis-cli -p "$P" "$@"; }
via() { # DB -> connection flags
  case $1 in
    tcp) echo "-db tcp --port $P" ;;
    ring) echo "-db ring --path $medium" ;;
  esac
}
SMALL=(-p recordcount=300 -p operationcount=300 -p seed=7)

# every workload, over TCP and over the ring: load, run, every read checked
for wl in workloada workloadb workloadc workloadd workloade workloadf workload_cxl_crudscan; do
  for db in tcp ring; do
    rcli flushall >/dev/null
    read -ra flags <<<"$(via $db)"
    run -load "${flags[@]}" -P workloads/$wl "${SMALL[@]}"
    ok "$wl load over $db"
    yout INSERT:Return=OK=300; check "$wl load over $db: [INSERT], Return=OK, 300 ($(tail -1 "$WORK/parsed"))" $?
    run -run "${flags[@]}" -P workloads/$wl "${SMALL[@]}"
    ok "$wl run over $db"
    yout OVERALL:Throughput\(ops/sec\)\>0; check "$wl run over $db: read as YCSB's output ($(tail -1 "$WORK/parsed"))" $?
    check "$wl run over $db: no ERROR or UNEXPECTED_STATE" "$(! grep -qE 'Return=(ERROR|UNEXPECTED_STATE)' <<<"$out"; echo $?)"
    [[ $wl == workloada || $wl == workloadc ]] || continue
    check "$wl run over $db: every read checked ([VERIFY] = [READ])" \
      "$([ "$(grep -F '[VERIFY], Operations' <<<"$out" | cut -d, -f3)" = "$(grep -F '[READ], Operations' <<<"$out" | cut -d, -f3)" ]; echo $?)"
  done
done
check "crudscan: the effective mix printed, delete included" "$(grep -qF 'operations: read 0.3 update 0.3 insert 0.2 scan 0.1 delete 0.1' <<<"$err"; echo $?)"
check "crudscan: [DELETE] and [SCAN] reported" "$(grep -qF '[DELETE], Return=OK' <<<"$out" && grep -qF '[SCAN], Return=OK' <<<"$out"; echo $?)"

# the same seed over TCP and over the ring: the same Redis state
state() { # what Redis holds: key count, index size, every key, every record of a sample
  rcli dbsize; rcli zcard _indices; rcli --scan | sort | md5sum
  for k in $(rcli --scan --pattern 'user*' | sort | awk 'NR % 37 == 1'); do rcli hgetall "$k" | md5sum; done
}
SAME=(-P workloads/workload_cxl_crudscan -p recordcount=500 -p operationcount=1000 -p seed=99)
for db in tcp ring; do
  rcli flushall >/dev/null
  read -ra flags <<<"$(via $db)"
  run -load "${flags[@]}" "${SAME[@]}"; ok "crudscan load over $db (state)"
  run -run "${flags[@]}" "${SAME[@]}"; ok "crudscan run over $db (state)"
  state >"$WORK/state.$db"
done
check "the same seed over TCP and the ring: the same keys, index and records ($(head -2 "$WORK/state.tcp" | tr '\n' ' '))" \
  "$(cmp -s "$WORK/state.tcp" "$WORK/state.ring"; echo $?)"
check "the state sample is not empty" "$([ "$(wc -l <"$WORK/state.ring")" -gt 5 ]; echo $?)"

# Unix socket, TLS, redis.model=string
rcli flushall >/dev/null
run -load -db unix --unix "$SOCK" -P workloads/workloada "${SMALL[@]}"; ok "load over a Unix socket"
run -run -db unix --unix "$SOCK" -P workloads/workloada "${SMALL[@]}"; ok "run over a Unix socket"
run -run -db tls --port "$tls_port" --tls-ca-file "$WORK/tls.crt" -P workloads/workloada "${SMALL[@]}"; ok "run over TLS"
expect_fail "TLS without the CA" 1 "CXL_TLS_CAFILE" -run -db tls --port "$tls_port" -P workloads/workloada "${SMALL[@]}"
for db in tcp ring; do
  rcli flushall >/dev/null
  read -ra flags <<<"$(via $db)"
  run -load "${flags[@]}" -P workloads/workload_cxl_crudscan -p redis.model=string "${SMALL[@]}"; ok "redis.model=string load over $db"
  run -run "${flags[@]}" -P workloads/workload_cxl_crudscan -p redis.model=string "${SMALL[@]}"; ok "redis.model=string run over $db"
done
check "redis.model=string: records are strings" "$([ "$(rcli type "$(rcli --scan --pattern 'user*' | head -1)")" = string ]; echo $?)"
for db in tcp ring; do # ycsb.batch: an operation's commands in one round trip, same results
  rcli flushall >/dev/null
  read -ra flags <<<"$(via $db)"
  run -load "${flags[@]}" -P workloads/workload_cxl_crudscan -p ycsb.batch=true "${SMALL[@]}"; ok "ycsb.batch load over $db"
  run -run "${flags[@]}" -P workloads/workload_cxl_crudscan -p ycsb.batch=true "${SMALL[@]}"; ok "ycsb.batch crudscan over $db"
done

# threads: 4 threads of crudscan (deletes, scans, inserts racing) over both: no false alarms
for db in tcp ring; do
  rcli flushall >/dev/null
  read -ra flags <<<"$(via $db)"
  run -load "${flags[@]}" -P workloads/workload_cxl_crudscan -threads 4 -p recordcount=2000 -p seed=5; ok "4-thread load over $db"
  check "4-thread load over $db: 2000 records" "$([ "$(rcli dbsize)" = 2001 ]; echo $?)"
  run -run "${flags[@]}" -P workloads/workload_cxl_crudscan -threads 4 -p recordcount=2000 -p operationcount=4000 -p seed=5
  ok "4-thread crudscan over $db"
  yout OVERALL:RunTime\(ms\)\>0; check "4-thread crudscan over $db: YCSB's format" $?
done

# values changed behind its back: caught, counted, exit 1 (the report still printed)
INTEG=(-P workloads/workloadc -p recordcount=20 -p operationcount=400 -p requestdistribution=uniform -p seed=3)
for db in tcp ring; do
  read -ra flags <<<"$(via $db)"
  rcli flushall >/dev/null
  run -load "${flags[@]}" "${INTEG[@]}"; ok "integrity load over $db"
  rcli hset user6284781860667377211 field3 "not the value" >/dev/null # key number 0
  run -run "${flags[@]}" "${INTEG[@]}"
  check "a wrong value over $db: exit 1" "$([ "$rc" -eq 1 ]; echo $?)"
  check "a wrong value over $db: Return=UNEXPECTED_STATE" "$(grep -qE '^\[READ\], Return=UNEXPECTED_STATE, [1-9]' <<<"$out"; echo $?)"
  check "a wrong value over $db: named on stderr" "$(grep -qF 'user6284781860667377211: a wrong value' <<<"$err"; echo $?)"
  rcli del user6284781860667377211 >/dev/null
  run -run "${flags[@]}" "${INTEG[@]}"
  check "a missing record over $db: UNEXPECTED_STATE, exit 1" "$([ "$rc" -eq 1 ] && grep -qF 'the record is missing' <<<"$err"; echo $?)"
  rcli set user6284781860667377211 "a string" >/dev/null
  run -run "${flags[@]}" "${INTEG[@]}"
  check "a key of the wrong type over $db: Return=ERROR (WRONGTYPE), exit 1" \
    "$([ "$rc" -eq 1 ] && grep -qE '^\[READ\], Return=ERROR, [1-9]' <<<"$out" && grep -qF WRONGTYPE <<<"$err"; echo $?)"
done

# found by a hostile reading: each once a bug
rcli flushall >/dev/null
run -load -db ring --path "$medium" -P workloads/workloadc -p recordcount=200; ok "load for the regressions"
run -run -db ring --path "$medium" -P workloads/workloadc -p recordcount=200 -p operationcount=0 -p maxexecutiontime=1
ok "maxexecutiontime=1 with operationcount=0 ends the run"
expect_fail "deletes in a run by time alone" 2 "deleteproportion" -run -db tcp --port "$P" \
  -P workloads/workload_cxl_crudscan -p operationcount=0 -p maxexecutiontime=1
rcli hset user6284781860667377211 field3 "not the value" >/dev/null
run -run -db tcp --port "$P" -P workloads/workloade -p recordcount=200 -p operationcount=300 -p insertproportion=0 \
  -p deleteproportion=0.000001 -p maxscanlength=200
check "hashed keys, deletes on: a scan's wrong value is still UNEXPECTED_STATE, exit 1" \
  "$([ "$rc" -eq 1 ] && grep -qE '^\[SCAN\], Return=UNEXPECTED_STATE, [1-9]' <<<"$out"; echo $?)"
rcli flushall >/dev/null
for opt in "-p zeropadding=25" "-p redis.model=string -p dataintegrity=false"; do
  read -ra extra <<<"$opt"
  run -load -db tcp --port "$P" -P workloads/workload_cxl_crudscan -p recordcount=500 "${extra[@]}"; ok "load, $opt"
  run -run -db ring --path "$medium" -P workloads/workload_cxl_crudscan -threads 4 -p recordcount=500 \
    -p operationcount=2000 "${extra[@]}"
  ok "4 threads of crudscan, $opt"
  rcli flushall >/dev/null
done
run -load -db ring --path "$medium" -P workloads/workloade -p recordcount=3000 -p fieldcount=1 -p fieldlength=10; ok "load 3000 small records"
run -run -db ring --path "$medium" -P workloads/workloade -p recordcount=3000 -p fieldcount=1 -p fieldlength=10 \
  -p operationcount=5 -p insertproportion=0 -p minscanlength=2500 -p maxscanlength=3000 -p ycsb.batch=true
ok "ycsb.batch scans of 2500-3000 keys over the ring (more than its queue's slots)"

# ACL: a password, given as YCSB's redis.password or --pass, over TCP and the ring
rcli flushall >/dev/null
"$Y" -load -db tcp --port "$P" -P workloads/workloadc -p recordcount=10 >/dev/null 2>&1
rcli config set requirepass ycsbpw >/dev/null
sleep 1.2 # (the module looks at requirepass once a second)
for db in tcp ring; do
  read -ra flags <<<"$(via $db)"
  run -run "${flags[@]}" -P workloads/workloadc -p recordcount=10 -p operationcount=50 -p redis.password=ycsbpw
  ok "requirepass over $db with redis.password"
  expect_fail "wrong password over $db" 1 "AUTH" -run "${flags[@]}" -P workloads/workloadc -p recordcount=10 --pass nope
done
redis-cli -p "$P" -a ycsbpw --no-auth-warning config set requirepass "" >/dev/null
sleep 1.2

# -target paces (the run takes at least operations / target), -s prints YCSB's status line, --csv
rcli flushall >/dev/null
run -load -db ring --path "$medium" -P workloads/workloadb -p recordcount=100; ok "load for pacing"
run -run -db ring --path "$medium" -P workloads/workloadb -p recordcount=100 -p operationcount=200 -target 200 -s \
  -p status.interval=1 --csv "$WORK/y.csv" --label paced
ok "-target 200 -s"
yout; ms=$(grep -F '[OVERALL], RunTime(ms)' <<<"$out" | cut -d, -f3 | tr -d ' ')
check "-target 200: 200 operations take about 1 s (took $ms ms)" "$([ "${ms:-0}" -ge 900 ]; echo $?)"
check "-s: YCSB's status line" "$(grep -qE ' [0-9]+ sec: [0-9]+ operations; [0-9.]+ current ops/sec;' <<<"$err"; echo $?)"
run -run -db tcp --port "$P" -P workloads/workloadb -p recordcount=100 -p operationcount=100 --csv "$WORK/y.csv"
ok "a second CSV row"
check "--csv: a header and two rows" "$([ "$(wc -l <"$WORK/y.csv")" = 3 ]; echo $?)"
check "--csv: every row has the header's columns" \
  "$(awk -F, 'NR == 1 { n = NF } NF != n { bad = 1 } END { exit bad }' "$WORK/y.csv"; echo $?)"
check "--csv: label, workload, db, phase" "$(grep -q '^paced,workloadb,ring,1,100,200,' "$WORK/y.csv" &&
  grep -q '^tcp,workloadb,tcp,' "$WORK/y.csv" && grep -q ',run,0,[0-9]*,0$' "$WORK/y.csv"; echo $?)"

# the crypto ring, the secure ring (cxl_sec_mgr) and the sodium tunnel, end to end
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/secret"; chmod 600 "$WORK/secret"
start_redis crypto /dev/shm/cxl_cli_ycsb_c_$$.raw map_size=64M rings=2 crypto=1 key_file="$WORK/secret"
C=(-db ring-crypto --path /dev/shm/cxl_cli_ycsb_c_$$.raw --sec-key-file "$WORK/secret" -P workloads/workload_cxl_crudscan "${SMALL[@]}")
run -load "${C[@]}"; ok "load over the crypto ring"
run -run "${C[@]}"; ok "crudscan over the crypto ring"
check "the crypto ring's Redis holds the records" "$([ "$(redis-cli -p "$REDIS_PORT" zcard _indices)" -gt 300 ]; echo $?)"
provision_secure 2
start_redis secure /dev/shm/cxl_cli_ycsb_s_$$.raw map_size=64M rings=2 secure=1 sec_mgr="$SEC_MGR" node_id=1 key="$SEC_SERVER_KEY"
S=(-db ring-secure --path /dev/shm/cxl_cli_ycsb_s_$$.raw --sec-mgr "$SEC_MGR" --sec-node-id 2 --sec-key "$SEC_CLIENT_KEY"
   -P workloads/workloada "${SMALL[@]}")
run -load "${S[@]}"; ok "load over the secure ring (cxl_sec_mgr)"
run -run "${S[@]}"; ok "workload a over the secure ring"
expect_fail "the secure ring as a node the manager does not know" 1 "cxl_ycsb:" -run "${S[@]}" --sec-node-id 7
tun=$WORK/tun; mkdir -p "$tun"
"$BUILD/bin/cxl_sec_mgr" keygen --out "$tun/s.key" >/dev/null 2>&1; "$BUILD/bin/cxl_sec_mgr" keygen --out "$tun/c.key" >/dev/null 2>&1
for n in s c; do sed -n '/^public /p' "$tun/$n.key" >"$tun/$n.pub"; done
ts=127.0.0.1:$(free_port) tc=127.0.0.1:$(free_port)
start_tunnel server "$ts" 127.0.0.1:$P "$tun/s.key" "$tun/c.pub" "$tun/s.log"
start_tunnel client "$tc" "$ts" "$tun/c.key" "$tun/s.pub" "$tun/c.log"
rcli flushall >/dev/null
run -load -db sodium --port "${tc##*:}" -P workloads/workloada "${SMALL[@]}"; ok "load through the sodium tunnel"
run -run -db sodium --port "${tc##*:}" -P workloads/workloada "${SMALL[@]}"; ok "workload a through the sodium tunnel"

# Redis gone in the middle of a run: errors counted, a report, exit 1, no hang
rcli -p "$P" flushall >/dev/null 2>&1
start_redis gone /dev/shm/cxl_cli_ycsb_g_$$.raw map_size=16M rings=2
G=$REDIS_PORT GPID=$REDIS_PID
"$Y" -load -db tcp --port "$G" -P workloads/workloadc -p recordcount=100 >/dev/null 2>&1
for db in tcp ring; do
  flags=(-db tcp --port "$G"); [ $db = ring ] && flags=(-db ring --path /dev/shm/cxl_cli_ycsb_g_$$.raw --timeout-ms 1000)
  (timeout 60 "$Y" -run "${flags[@]}" -P workloads/workloadc -p recordcount=100 -p operationcount=100000000 \
     -p maxexecutiontime=30 >"$WORK/gone.out" 2>"$WORK/gone.err"; echo $? >"$WORK/gone.rc") &
  bg=$!
  sleep 1
  [ $db = tcp ] && kill -KILL "$GPID" || true
  [ $db = ring ] && kill -STOP "$GPID"
  wait $bg
  [ $db = ring ] && kill -KILL "$GPID" 2>/dev/null
  grc=$(cat "$WORK/gone.rc")
  check "Redis gone over $db: exit 1, not a hang or a crash (exit $grc)" "$([ "$grc" = 1 ]; echo $?)"
  check "Redis gone over $db: the report printed, with Return=ERROR" \
    "$(grep -q '^\[OVERALL\], Throughput' "$WORK/gone.out" && grep -q 'Return=ERROR' "$WORK/gone.out"; echo $?)"
  check "Redis gone over $db: the thread says why it stopped" "$(grep -q 'stopped after' "$WORK/gone.err"; echo $?)"
  [ $db = tcp ] && { start_redis gone /dev/shm/cxl_cli_ycsb_g_$$.raw map_size=16M rings=2; G=$REDIS_PORT GPID=$REDIS_PID; }
done

echo "$TEST_NAME: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
