#!/usr/bin/env bash
# cli_fabric.sh - cxl_graph on a region handed out by cxl_sec_mgr's fabric
# socket (docs/FABRIC.md), end to end with real processes:
#   - a publisher with an rw grant publishes (Secure: keys by the same ACL)
#     and seals its memfd (F_SEAL_WRITE) after READY;
#   - an ro node attaches (copy and zero-copy, -v): the sealed region is
#     validated once; the same checksum as Native;
#   - an ro node in auto or publish mode: refused (read-only here);
#   - after the seal the rw node cannot publish again (sealed: attach only)
#     until `cxl_sec_mgr retire REGION` gives the region a new memfd;
#   - a node without a grant, a revoked node: the manager's refusal, exit 1;
#     after the revoke the region is a new memfd: published again, attached;
#   - --fabric without the node's identity, or with --path: usage errors;
#   - every grant and refusal in the audit log.
# Usage: bash tests/cli_fabric.sh [build-dir]   (build/asan: under ASan)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TOOL=$(realpath "$BUILD/bin/cxl_graph" 2>/dev/null)
MGR=$(realpath "$BUILD/bin/cxl_sec_mgr" 2>/dev/null)
[ -x "$TOOL" ] && [ -x "$MGR" ] || { echo "cli_fabric: build $BUILD/bin/cxl_graph and cxl_sec_mgr first" >&2; exit 1; }
DIR=$(mktemp -d /tmp/cli_fabric.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

TEST_NAME=cli_fabric
source tests/graph_cli.sh
audit() { grep -c -- "$1" "$DIR/acl/sec.audit"; }

expect_ok "native -g 12 -a" "Graph checksum:" bfs -g 12 -n 1 -a
native=$(sum_of)

# --- the manager: n1 publishes (rw), n2 and n4 read (ro), n3 has no grant
mkdir -p "$DIR/acl" && cd "$DIR/acl" || exit 1
"$MGR" keygen --manager --out mgr.key >/dev/null 2>&1
printf 'manager-key mgr.key\nmaster master.secret\nstate sec.state\naudit sec.audit\ncontrol sec.sock\nfabric fabric.sock\nrotate 0\nrefresh 60\nregion graph range 0x0 0x1000000\n' >acl.conf
for i in 1 2 3 4; do "$MGR" keygen --out n$i.key --config acl.conf --id $i --name n$i >>acl.conf 2>/dev/null; done
printf 'grant n1 graph rw\ngrant n2 graph ro\ngrant n4 graph ro\n' >>acl.conf
chmod 600 ./*.key acl.conf
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MGR" --config acl.conf --listen "127.0.0.1:$PORT" 2>mgr.log &
PIDS+=($!)
for _ in $(seq 100); do [ -S fabric.sock ] && "$MGR" fetch --key n1.key --node-id 1 --mgr "127.0.0.1:$PORT" --ping >/dev/null 2>&1 && break; sleep 0.05; done
cd - >/dev/null || exit 1
FAB=$DIR/acl/fabric.sock
node() { echo --fabric "$FAB" --sec-node-id "$1" --sec-key "$DIR/acl/n$1.key"; }
sec() { echo --secure --sec-mgr "127.0.0.1:$PORT"; }

# --- usage errors
expect_exit "--fabric without --sec-node-id" 2 "--fabric needs --sec-key FILE and --sec-node-id N" \
  bfs --cxl-mode attach --fabric "$FAB" --sec-key "$DIR/acl/n2.key"
# shellcheck disable=SC2046
expect_exit "--fabric with --path" 2 "choose one" bfs --cxl-mode attach $(node 2) --path "$DIR/x"
expect_exit "--fabric in Native mode" 2 "Native mode has no medium" bfs -g 10 --fabric "$FAB" --sec-node-id 1 --sec-key "$DIR/acl/n1.key"

# --- refusals before anything is published
# shellcheck disable=SC2046
expect_exit "no grant (n3)" 1 "no-grant" bfs --cxl-mode attach $(node 3) -n 1
# shellcheck disable=SC2046
expect_exit "an ro node cannot publish" 1 "read-only here (an ro grant)" bfs -g 12 --cxl-mode publish $(node 2) -n 1
# shellcheck disable=SC2046
expect_exit "an ro node cannot start in auto" 1 "--cxl-mode attach" bfs -g 12 --cxl-mode auto $(node 2) -n 1

# --- publish (Secure, rw) and seal; attach read-only
# shellcheck disable=SC2046
expect_ok "publish (n1, rw, Secure)" "Fabric: region graph sealed (F_SEAL_WRITE)" \
  bfs -g 12 --cxl-mode publish --publish-only $(node 1) $(sec)
check "... a read-write descriptor" "$(has "$out" 'read-write descriptor'; echo $?)"
# shellcheck disable=SC2046
expect_ok "attach (n2, ro, Secure) bfs -v" "PASS" bfs --cxl-mode attach $(node 2) $(sec) -n 2 -v -a
check "... read-only, sealed, validated once" "$(has "$out" 'read-only descriptor' && has "$out" 'validated once'; echo $?)"
check "... same checksum as Native" "$([ "$(sum_of)" = "$native" ]; echo $?)"

# a plain publication: the region is sealed already, so a second publisher
# is refused; zero-copy attach of the sealed plain region is shown on a
# second region
# shellcheck disable=SC2046
expect_exit "publish again into the sealed region (n1)" 1 "sealed after its publication" \
  bfs -g 12 --cxl-mode publish $(node 1) $(sec) -n 1
printf 'region plain range 0x1000000 0x1000000\ngrant n1 plain rw\ngrant n2 plain ro\n' >>"$DIR/acl/acl.conf"
"$MGR" reload --config "$DIR/acl/acl.conf" >/dev/null 2>&1
# shellcheck disable=SC2046
expect_ok "publish plain (n1) into a region added by reload" "sealed (F_SEAL_WRITE)" \
  bfs -g 12 --cxl-mode publish --publish-only --region plain $(node 1)
# shellcheck disable=SC2046
expect_ok "attach plain zero-copy (n2, ro) -v" "PASS" bfs --cxl-mode attach --region plain --zero-copy $(node 2) -n 2 -v -a
check "... same checksum as Native" "$([ "$(sum_of)" = "$native" ]; echo $?)"
# shellcheck disable=SC2046
expect_ok "attach plain copy (n2, ro) pr -v" "PASS" pr --cxl-mode attach --region plain --copy $(node 2) -n 1 -v
# `retire`: a new publication without a revoke
rc=0; err=$("$MGR" retire --config "$DIR/acl/acl.conf" plain 2>&1) || rc=$?
check "retire plain: exit 0" "$([ "$rc" -eq 0 ] && has "$err" "new, empty memfd"; echo $?)"
rc=0; err=$("$MGR" retire --config "$DIR/acl/acl.conf" nosuch 2>&1) || rc=$?
check "retire of an unknown region: exit 1" "$([ "$rc" -eq 1 ] && has "$err" "not a range region"; echo $?)"
# shellcheck disable=SC2046
expect_ok "after retire: n1 publishes plain again (-u 12)" "sealed (F_SEAL_WRITE)" \
  bfs -u 12 --cxl-mode publish --publish-only --region plain $(node 1)
# shellcheck disable=SC2046
expect_ok "... n2 attaches the new publication" "uniform -u 12" bfs --cxl-mode attach --region plain $(node 2) -n 1 -v
check "audit: retire by request" "$([ "$(audit 'fabric retire region=plain reason=request')" -eq 1 ]; echo $?)"

# --- revocation: new grants refused (the mapping of a running attacher is not revocable: docs)
"$MGR" revoke --config "$DIR/acl/acl.conf" n4 >/dev/null 2>&1
# shellcheck disable=SC2046
expect_exit "a revoked node (n4)" 1 "revoked" bfs --cxl-mode attach $(node 4) -n 1
check "audit: the region retired at the revoke" "$([ "$(audit 'fabric retire region=graph reason=revoke')" -eq 1 ]; echo $?)"
# the next grants get a new, empty memfd: nothing to attach until it is published again
# shellcheck disable=SC2046
expect_exit "after the revoke: a new, empty region" 1 "attach-timeout-ms" bfs --cxl-mode attach $(node 2) $(sec) -n 1 --attach-timeout-ms 300
# shellcheck disable=SC2046
expect_ok "after the revoke: n1 publishes again (new epoch, new memfd)" "sealed (F_SEAL_WRITE)" \
  bfs -g 12 --cxl-mode publish --publish-only $(node 1) $(sec)
# shellcheck disable=SC2046
expect_ok "... n2 attaches it" "PASS" bfs --cxl-mode attach $(node 2) $(sec) -n 1 -v -a
check "... same checksum as Native" "$([ "$(sum_of)" = "$native" ]; echo $?)"

# --- the configuration: ro is for ranges; the fabric socket is read at start only
cp "$DIR/acl/acl.conf" "$DIR/acl/good.conf"
printf 'region ring0 ring 0\ngrant n2 ring0 ro\n' >>"$DIR/acl/acl.conf"
rc=0; err=$("$MGR" check --config "$DIR/acl/acl.conf" 2>&1) || rc=$?
check "check: grant mode ro on a ring is an error with its line" "$([ "$rc" -eq 1 ] && has "$err" "acl.conf:" && has "$err" "'ro' is for range regions"; echo $?)"
sed 's|^fabric fabric.sock|fabric other.sock|' "$DIR/acl/good.conf" >"$DIR/acl/acl.conf"
rc=0; err=$("$MGR" reload --config "$DIR/acl/acl.conf" 2>&1) || rc=$?
check "reload: a changed fabric socket is refused (start only)" "$([ "$rc" -ne 0 ] && has "$err" "fabric changed"; echo $?)"
cp "$DIR/acl/good.conf" "$DIR/acl/acl.conf"

# --- the audit log
check "audit: rw grants of graph and plain to n1" "$([ "$(audit 'fabric grant node=1(n1) region=.* access=rw')" -ge 2 ]; echo $?)"
check "audit: ro grants to n2" "$([ "$(audit 'fabric grant node=2(n2) region=.* access=ro')" -ge 3 ]; echo $?)"
check "audit: n3 refused no-grant" "$([ "$(audit 'fabric refuse node=3(n3) region=graph reason=no-grant')" -eq 1 ]; echo $?)"
check "audit: n4 refused revoked" "$([ "$(audit 'fabric refuse node=4(n4) region=graph reason=revoked')" -eq 1 ]; echo $?)"
check "manager: no sanitizer report" "$(! grep -q 'Sanitizer' "$DIR/acl/mgr.log"; echo $?)"

kill "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null; PIDS=()
check "the fabric socket is removed at stop" "$([ ! -e "$FAB" ]; echo $?)"
echo "cli_fabric: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
