#!/usr/bin/env bash
# cli_sec_mgr.sh - cxl_sec_mgr end to end (docs/SECURITY.md, "cxl_sec_mgr"):
# keygen (0600, no overwrite without --force, the public key it prints is the
# file's, the manager's public key filled in); check (a good config passes,
# one bad config per error class names the right line); the daemon on a free
# port with nodes played by `cxl_sec_mgr fetch` (prints epochs and key
# fingerprints, never keys): an authorized node gets its ring's keys, a node
# claiming another's id / an unknown id / a ring without a grant is refused
# and logged, a silent connection blocks nobody, rotate (has_prev = 1, for
# 2 x refresh), revoke (has_prev = 0, the node refused from then on, also
# after a restart), a restart keeps epochs and keys, periodic rotation, the
# control socket and state files 0600, and the audit log has every line.
# Usage: tests/cli_sec_mgr.sh [BUILD]   (BUILD/bin/cxl_sec_mgr)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source scripts/lib.sh
set +e
[ -x "$BUILD/bin/cxl_sec_mgr" ] || die "$BUILD/bin/cxl_sec_mgr is not built"
MGR=$(realpath "$BUILD/bin/cxl_sec_mgr")

checks=0 failed=0 out="" err="" rc=0
check() { # DESC CONDITION(0 = ok)
  checks=$((checks + 1))
  if [ "$2" -ne 0 ]; then
    failed=$((failed + 1)); echo "cli_sec_mgr: FAIL: $1" >&2
    echo "  exit $rc; stdout: ${out:0:300}" >&2; echo "  stderr: ${err:0:400}" >&2
  fi
}
run() { rc=0; out=$("$MGR" "$@" 2>"$WORK/err") || rc=$?; err=$(cat "$WORK/err"); }
has() { grep -qF -- "$2" <<<"$1"; }
expect_rc() { check "$1: exit $2" "$([ "$rc" -eq "$2" ]; echo $?)"; }
expect_out() { check "$1: stdout has '$2'" "$(has "$out" "$2"; echo $?)"; }
expect_err() { check "$1: stderr has '$2'" "$(has "$err" "$2"; echo $?)"; }
mode_of() { stat -c %a "$1"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$out"; } # key=value from the last stdout
pub_of() { sed -n 's/^public //p' "$1"; }

cd "$WORK" || die "no work dir"

# --- usage ------------------------------------------------------------------------
run frob
expect_rc "unknown subcommand" 2
expect_err "unknown subcommand" "unknown subcommand 'frob'"
run check --listen 127.0.0.1:1 --config x
expect_rc "an option of another subcommand" 2
run fetch --key k --node-id 1 --mgr 127.0.0.1:1 --ring 1 --ping
expect_err "fetch with two questions" "exactly one of --ring, --region, --ping"

# --- keygen ----------------------------------------------------------------------
run keygen --manager --out mgr.key
expect_rc "keygen --manager" 0
expect_out "keygen --manager" "manager-key mgr.key"
check "manager key is 0600" "$([ "$(mode_of mgr.key)" = 600 ]; echo $?)"
cat >acl.conf <<'EOF'
# the test's ACL
manager-key  mgr.key
master       master.secret   # created at first start
state        sec.state
audit        sec.audit
control      sec.sock
rotate       0
refresh      1
region ring0 ring 0
region ring1 ring 1
region graph range 0x10000000 0x08000000
EOF
run keygen --out redis.key --config acl.conf --id 1 --name redis-server
expect_rc "keygen node 1" 0
check "keygen prints the node line" "$([[ "$out" =~ ^node\ 1\ redis-server\ [0-9a-f]{64}$ ]]; echo $?)"
check "node key is 0600" "$([ "$(mode_of redis.key)" = 600 ]; echo $?)"
check "printed public key = file's" "$([ "${out##* }" = "$(pub_of redis.key)" ]; echo $?)"
check "manager-public filled in" \
  "$([ "$(sed -n 's/^manager-public //p' redis.key)" = "$(pub_of mgr.key)" ]; echo $?)"
echo "$out" >>acl.conf
run keygen --out client-a.key --config acl.conf
expect_rc "keygen node 2 (next free id, name from the file)" 0
check "node 2 client-a" "$([[ "$out" =~ ^node\ 2\ client-a\  ]]; echo $?)"
echo "$out" >>acl.conf
before=$(pub_of client-a.key)
run keygen --out client-a.key --config acl.conf --id 9 --name other
expect_rc "keygen over an existing file" 1
expect_err "keygen over an existing file" "already exists"
check "existing key untouched" "$([ "$(pub_of client-a.key)" = "$before" ]; echo $?)"
run keygen --out scratch.key
expect_rc "keygen without --config" 0
expect_err "keygen without --config" "WITHOUT the manager's public key"
check "no manager-public line" "$(! grep -q manager-public scratch.key; echo $?)"
old=$(pub_of scratch.key)
run keygen --out scratch.key --force
expect_rc "keygen --force" 0
check "--force replaced the key" "$([ "$(pub_of scratch.key)" != "$old" ]; echo $?)"
check "--force keeps 0600" "$([ "$(mode_of scratch.key)" = 600 ]; echo $?)"
run keygen --out dup.key --config acl.conf --id 2
expect_rc "keygen with a taken id" 1
expect_err "keygen with a taken id" "node id is already in the config"
cat >>acl.conf <<'EOF'
grant redis-server ring0 rw
grant redis-server ring1 rw
grant client-a     ring1 rw
EOF

# --- check -------------------------------------------------------------------------
run check --config acl.conf
expect_rc "check good config" 0
expect_out "check good config" "ok: 2 nodes, 3 regions, 3 grants"
n=$(wc -l <acl.conf)
bad() { # bad DESC EXPECTED-LINE-OFFSET TEXT LINES... : acl.conf + LINES, error at n+OFFSET
  local desc=$1 off=$2 text=$3; shift 3
  { cat acl.conf; printf '%s\n' "$@"; } >bad.conf
  run check --config bad.conf
  expect_rc "check: $desc" 1
  expect_err "check: $desc" "bad.conf:$((n + off)): "
  expect_err "check: $desc" "$text"
}
K=$(pub_of scratch.key)
bad "unknown keyword" 1 "unknown keyword 'nod'" "nod 3 x $K"
bad "wrong word count" 1 "takes 3 values, 2 given" "node 3 bob"
bad "duplicate node id" 1 "duplicate node id 2" "node 2 bob $K"
bad "duplicate node name" 1 "duplicate node name 'client-a'" "node 3 client-a $K"
bad "duplicate public key" 1 "same public key as node redis-server" "node 3 bob $(pub_of redis.key)"
bad "bad hex" 1 "public key: expected 64 hex digits" "node 3 bob ${K:0:63}x"
bad "node id out of range" 1 "out of range [1, 65535]" "node 0 bob $K"
bad "bad node name" 1 "node name '3bob'" "node 3 3bob $K"
bad "grant to an unknown node" 1 "grant to unknown node 'nobody'" "grant nobody ring0 rw"
bad "grant of an unknown region" 1 "grant of unknown region 'ring7'" "grant client-a ring7 rw"
bad "duplicate grant" 1 "duplicate grant of ring1 to client-a" "grant client-a ring1 rw"
bad "grant mode" 1 "grant mode 'r'" "grant client-a ring0 r"
bad "overlapping ranges" 2 "overlaps region g1" "region g1 range 0x1000 0x1000" "region g2 range 0x1800 0x100"
bad "range overlapping an earlier one" 1 "overlaps region graph" "region g3 range 0x17000000 0x2000000"
bad "duplicate region" 1 "duplicate region name 'ring1'" "region ring1 ring 2"
bad "ring taken" 1 "ring 1 is already region ring1" "region other ring 1"
bad "ring out of range" 1 "out of range [0, 255]" "region r9 ring 256"
bad "bad number" 1 "node id: 'x1' is not a number" "node x1 bob $K"
bad "setting twice" 1 "'rotate' given twice (first at line" "rotate 60"
cp mgr.key mgr644.key; chmod 644 mgr644.key
sed 's/^manager-key.*/manager-key mgr644.key/' acl.conf >bad.conf
run check --config bad.conf
expect_err "check: manager key not 0600" "bad.conf:2: manager-key: "
expect_err "check: manager key not 0600" "mode 0644, must be 0600"
grep -v '^master' acl.conf >bad.conf
run check --config bad.conf
expect_err "check: missing statement" "bad.conf: no 'master' statement"

# --- the daemon ----------------------------------------------------------------------
PORT=$(free_port)
ADDR=127.0.0.1:$PORT
start_daemon() { # DAEMON_PID; waits until the control socket answers PING
  "$MGR" --config acl.conf --listen "$ADDR" 2>>daemon.log &
  DAEMON_PID=$!
  CLEANUP_PIDS+=("$DAEMON_PID")
  local i
  for i in $(seq 100); do
    "$MGR" fetch --key redis.key --node-id 1 --mgr "$ADDR" --ping >/dev/null 2>&1 && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat daemon.log >&2
  die "the daemon did not start"
}
stop_daemon() { # SIGTERM: a clean exit (under ASan: no leak, no error)
  kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null
  check "daemon exits 0 on SIGTERM" $?
}
fetch() { run fetch --mgr "$ADDR" --timeout-ms 3000 "$@"; }

start_daemon
check "master secret created 0600" "$([ "$(mode_of master.secret)" = 600 ]; echo $?)"
check "state file 0600" "$([ "$(mode_of sec.state)" = 600 ]; echo $?)"
check "audit log 0600" "$([ "$(mode_of sec.audit)" = 600 ]; echo $?)"
check "control socket 0600" "$([ "$(mode_of sec.sock)" = 600 ] && [ -S sec.sock ]; echo $?)"
run --config acl.conf --listen "127.0.0.1:$(free_port)"
expect_rc "a second daemon on the same control socket" 1
expect_err "a second daemon" "another cxl_sec_mgr is running"

# a connection that sends half a frame and stalls, held open meanwhile
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
printf '\047\000' >&7

fetch --key redis.key --node-id 1 --ring 0
expect_rc "node 1 gets ring 0" 0
expect_out "node 1 gets ring 0" "region=ring0 epoch=1 "
expect_out "node 1 gets ring 0" "has_prev=0"
expect_out "node 1 gets ring 0" "valid_for_ms=1000"
r0_fp1=$(field key)
check "a fingerprint, not a key" "$([[ "$r0_fp1" =~ ^[0-9a-f]{16}$ ]] && ! grep -q "$r0_fp1" master.secret; echo $?)"
fetch --key client-a.key --node-id 2 --region ring1
expect_rc "node 2 gets ring1 by name" 0
expect_out "node 2 gets ring1 by name" "region=ring1 epoch=1 "
r1_fp1=$(field key)
fetch --key redis.key --node-id 1 --ring 1
check "both nodes of ring1 get the same key" "$([ "$(field key)" = "$r1_fp1" ]; echo $?)"
check "regions get different keys" "$([ "$r0_fp1" != "$r1_fp1" ]; echo $?)"

fetch --key client-a.key --node-id 1 --ring 0
expect_rc "node 2's key claiming id 1" 1
expect_err "node 2's key claiming id 1" "confirmation did not verify"
fetch --key client-a.key --node-id 77 --ring 1
expect_rc "unknown node id" 1
expect_err "unknown node id" "confirmation did not verify"
fetch --key client-a.key --node-id 2 --ring 0
expect_rc "ring without a grant" 1
expect_err "ring without a grant" "the manager refused ring 0: no-grant"
fetch --key client-a.key --node-id 2 --ring 5
expect_rc "unknown ring" 1
expect_err "unknown ring" "refused ring 5: unknown-region"
fetch --key scratch.key --node-id 2 --ring 1
expect_rc "a key without manager-public" 1
expect_err "a key without manager-public" "no manager-public line"

# not our protocol at all
{ printf 'GET / HTTP/1.0\r\n\r\n' >"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null
# many nodes at once
pids=()
for i in $(seq 16); do
  "$MGR" fetch --key redis.key --node-id 1 --mgr "$ADDR" --ring $((i % 2)) >"par.$i" 2>&1 &
  pids+=($!)
done
nok=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" && nok=$((nok + 1)); done
check "16 concurrent nodes served ($nok)" "$([ "$nok" -eq 16 ]; echo $?)"

# the stalled connection: refused after the handshake timeout (5 s), and
# the daemon kept serving in between
sleep 5.3
fetch --key client-a.key --node-id 2 --ping
expect_rc "served while a connection stalled" 0
exec 7>&-
grep -q "reason=timeout" sec.audit; check "stalled handshake timed out and logged" $?

# rotate: a new epoch; the old one handed out too for 2 x refresh
run rotate --config acl.conf ring1
expect_rc "rotate ring1" 0
expect_out "rotate ring1" "ring1=2"
fetch --key client-a.key --node-id 2 --ring 1
expect_out "after rotate" "region=ring1 epoch=2 "
expect_out "after rotate" "has_prev=1 prev_epoch=1 prev_key=$r1_fp1"
r1_fp2=$(field key)
check "new epoch, new key" "$([ "$r1_fp2" != "$r1_fp1" ]; echo $?)"
fetch --key redis.key --node-id 1 --ring 0
expect_out "rotate ring1 leaves ring0 alone" "region=ring0 epoch=1 "
run rotate --config acl.conf nosuch
expect_rc "rotate an unknown region" 1
expect_err "rotate an unknown region" "unknown region 'nosuch'"

# revoke: every region the node held to a new epoch, no grace; refused after
run revoke --config acl.conf client-a
expect_rc "revoke client-a" 0
expect_out "revoke client-a" "revoked node=2(client-a) regions=ring1 epoch=3"
fetch --key client-a.key --node-id 2 --ring 1
expect_rc "revoked node asks again" 1
expect_err "revoked node asks again" "refused ring 1: revoked"
fetch --key redis.key --node-id 1 --ring 1
expect_out "after revoke" "region=ring1 epoch=3 "
expect_out "after revoke" "has_prev=0 prev_epoch=0 prev_key=-"
r1_fp3=$(field key)
run revoke --config acl.conf nobody
expect_rc "revoke an unknown node" 1
expect_err "revoke an unknown node" "unknown node 'nobody'"
grep -q '^revoked .* client-a$' sec.state; check "revoked key in the state file" $?

# restart: same epochs, same keys; the revoked key is still refused
stop_daemon
check "control socket removed at exit" "$([ ! -e sec.sock ]; echo $?)"
start_daemon
fetch --key redis.key --node-id 1 --ring 1
expect_out "after restart" "region=ring1 epoch=3 "
check "after restart: the same key" "$([ "$(field key)" = "$r1_fp3" ]; echo $?)"
fetch --key redis.key --node-id 1 --ring 0
check "after restart: ring0 the same key" "$([ "$(field key)" = "$r0_fp1" ]; echo $?)"
fetch --key client-a.key --node-id 2 --ring 1
expect_err "after restart: revoked stays revoked" "refused ring 1: revoked"
grep -q "holds a revoked key" daemon.log; check "restart warns about the revoked node" $?
# the grace of a rotation ends after 2 x refresh
run rotate --config acl.conf
expect_out "rotate all" "ring0=2 ring1=4 graph=2"
fetch --key redis.key --node-id 1 --ring 1
expect_out "grace: has_prev" "has_prev=1 prev_epoch=3"
sleep 2.2
fetch --key redis.key --node-id 1 --ring 1
expect_out "grace over" "epoch=4 key=$(field key) has_prev=0"
stop_daemon

# periodic rotation: overdue at start, then every 2 s (whole seconds)
sed -i 's/^rotate .*/rotate 2/' acl.conf
start_daemon
fetch --key redis.key --node-id 1 --ring 0
expect_out "periodic rotation at start" "region=ring0 epoch=3 "
sleep 2.3
fetch --key redis.key --node-id 1 --ring 0
expect_out "periodic rotation" "region=ring0 epoch=4 "
expect_out "periodic rotation" "has_prev=1 prev_epoch=3"
stop_daemon

# --- the audit log ----------------------------------------------------------------------
log=$(cat sec.audit)
ts='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z '
check "every audit line starts with a UTC time" "$(! grep -Evq "$ts" sec.audit; echo $?)"
for want in \
  "rotate region=ring0 epoch=1 reason=new" \
  "grant node=1(redis-server) region=ring0 epoch=1" \
  "grant node=2(client-a) region=ring1 epoch=1" \
  "refuse node=1(redis-server) reason=auth-failed peer=127.0.0.1:" \
  "refuse node=77(?) reason=unknown-node peer=127.0.0.1:" \
  "refuse node=2(client-a) region=ring0 reason=no-grant" \
  "refuse node=2(client-a) region=ring:5 reason=unknown-region" \
  "refuse node=?(?) reason=timeout peer=127.0.0.1:" \
  "refuse node=?(?) reason=malformed peer=127.0.0.1:" \
  "rotate region=ring1 epoch=2 reason=request" \
  "revoke node=2(client-a) regions=ring1 epoch=3" \
  "refuse node=2(client-a) region=ring1 reason=revoked" \
  "grant node=1(redis-server) region=ring1 epoch=3" \
  "rotate region=ring0 epoch=3 reason=period" \
  "rotate region=ring0 epoch=4 reason=period"; do
  check "audit log has '$want'" "$(grep -qF -- "$want" <<<"$log"; echo $?)"
done
grep -q "refuse node=2(client-a) region=ring0 reason=no-grant" daemon.log
check "refusals also on stderr" $?
check "no key material in the audit log or stderr" \
  "$(! grep -qiE '[0-9a-f]{64}' sec.audit daemon.log; echo $?)"

check "no sanitizer report from the daemon" \
  "$(! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' daemon.log; echo $?)"

echo "cli_sec_mgr: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
