#!/usr/bin/env bash
# cli_graph_region.sh - cxl_graph's graph in the shared medium (docs/GRAPH.md,
# "The region", "Modes", "Threats and failures"), end to end with real
# processes over a real shared file:
#   - publish + attach (copy and zero-copy), the same graph checksum in
#     Native, MultihostRing, Crypto and Secure, every kernel -v attached;
#   - auto: four starters at once, exactly one publishes; two attachers run
#     at once; a READY graph of the same provenance is attached, not redone;
#   - a hostile region (tests/graph_region.py edits the file): neighbour
#     id >= n (copy: at attach; zero-copy: in the kernel), offsets that
#     decrease or point past the mapping, a header edited, a sealed chunk
#     flipped or swapped, a replayed older publication, a wrong key, a plain
#     publication offered to a sealed attacher, a node without a grant and a
#     revoked node (a real cxl_sec_mgr): each a clear error, exit 1;
#   - no plaintext neighbour run in the medium in Crypto/Secure;
#   - the original prototype's variables (GAPBS_CXL_*) and argv[0] modes.
# Usage: bash tests/cli_graph_region.sh [build-dir]   (build/asan: under ASan)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TOOL=$(realpath "$BUILD/bin/cxl_graph" 2>/dev/null)
MGR=$(realpath "$BUILD/bin/cxl_sec_mgr" 2>/dev/null)
SHM=$(realpath "$BUILD/bin/cxl_shm" 2>/dev/null)
EDIT="python3 $PWD/tests/graph_region.py"
[ -x "$TOOL" ] && [ -x "$MGR" ] || { echo "cli_graph_region: build $BUILD/bin/cxl_graph and cxl_sec_mgr first" >&2; exit 1; }
DIR=$(mktemp -d /tmp/cli_graph_region.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$DIR"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
M=$DIR/medium

TEST_NAME=cli_graph_region
source tests/graph_cli.sh
# this test's refusals all exit 1
expect_fail() { local desc=$1; shift; expect_exit "$desc" 1 "$@"; }

# --- publish, attach (copy, zero-copy), Native for comparison
expect_ok "native -g 12 -a" "Graph checksum:" bfs -g 12 -n 1 -a
native=$(sum_of)
expect_ok "publish -g 12 --publish-only" "Publish Time:" bfs -g 12 --cxl-mode publish --publish-only --path "$M"
check "publish-only runs no trial" "$([ "$(count 'Trial Time')" -eq 0 ]; echo $?)"
expect_ok "attach (zero-copy) bfs -v" "Verification:           PASS" bfs --cxl-mode attach --path "$M" -n 2 -v -a
check "attach prints the region line" "$(has "$out" 'Graph region:' && has "$out" MultihostRing; echo $?)"
check "MultihostRing zero-copy: same checksum as Native" "$([ "$(sum_of)" = "$native" ]; echo $?)"
expect_ok "attach --copy bfs -v" "PASS" bfs --cxl-mode attach --copy --path "$M" -n 2 -v -a
check "MultihostRing copy: same checksum as Native" "$([ "$(sum_of)" = "$native" ]; echo $?)"
expect_ok "zero-copy under the delay model" "delay 300 ns" bfs --cxl-mode attach --path "$M" --delay-ns 300 -n 1 -v
check "... verified" "$(has "$out" PASS; echo $?)"
expect_ok "copy under the delay model" "delay 300 ns" pr --cxl-mode attach --copy --path "$M" --delay-ns 300 -n 1 -v
for k in pr pr_spmv cc cc_sv bc tc; do
  for v in --zero-copy --copy; do
    run "$k" --cxl-mode attach $v --path "$M" -n 1 -v
    check "attach $v $k -v" "$([ "$rc" -eq 0 ] && has "$out" PASS; echo $?)"
  done
done
expect_fail "attach asking for another graph" "not the kron -g 14" bfs -g 14 --cxl-mode attach --path "$M" -n 1
expect_fail "attach with nothing published" "no graph was published" bfs --cxl-mode attach --path "$DIR/none" --attach-timeout-ms 200
run bfs --cxl-mode attach --path "$M" --expect-generation 2 -n 1
check "--expect-generation of the publication" "$([ "$rc" -eq 0 ]; echo $?)"
expect_fail "--expect-generation of another" "expected 4" bfs --cxl-mode attach --path "$M" --expect-generation 4 -n 1
# sssp: the publication is weighted when the kernel is sssp
expect_ok "publish+attach sssp -v" "PASS" sssp -g 10 --cxl-mode publish --path "$DIR/w" -n 2 -v
expect_ok "the weighted graph attached" "PASS" sssp --cxl-mode attach --path "$DIR/w" -n 1 -v
for k in pr pr_spmv cc cc_sv bc tc bfs; do
  run "$k" --cxl-mode attach --copy --path "$DIR/w" -n 1
  check "$k refuses the weighted publication" "$([ "$rc" -eq 1 ] && has "$err" "weighted"; echo $?)"
done

# --- auto: four starters, one publisher; two attachers at once; READY reused
rm -f "$DIR/auto"
for i in 1 2 3 4; do
  "$TOOL" bfs -g 14 -n 2 -v --cxl-mode auto --path "$DIR/auto" --node-id "$i" >"$DIR/auto.$i" 2>&1 &
  PIDS+=($!)
done
ok=0; for p in "${PIDS[@]}"; do wait "$p" && ok=$((ok + 1)); done; PIDS=()
pubs=$(cat "$DIR"/auto.? | grep -c '^Publish Time')
passes=$(cat "$DIR"/auto.? | grep -c 'Verification:           PASS')
out=$(cat "$DIR"/auto.?)
check "auto: 4 starters exit 0" "$([ "$ok" -eq 4 ]; echo $?)"
check "auto: exactly one published ($pubs)" "$([ "$pubs" -eq 1 ]; echo $?)"
check "auto: 8 trials verified ($passes)" "$([ "$passes" -eq 8 ]; echo $?)"
expect_ok "auto on a READY graph of the same kind attaches" "Attach Time" bfs -g 14 -n 1 --cxl-mode auto --path "$DIR/auto"
check "... and does not publish" "$(! has "$out" 'Publish Time'; echo $?)"
expect_ok "auto with another graph re-publishes" "Publish Time" bfs -g 12 -n 1 --cxl-mode auto --path "$DIR/auto"
for i in 1 2; do
  "$TOOL" pr --cxl-mode attach --path "$M" -n 3 -v >"$DIR/two.$i" 2>&1 &
  PIDS+=($!)
done
ok=0; for p in "${PIDS[@]}"; do wait "$p" && ok=$((ok + 1)); done; PIDS=()
check "two attachers at once: both PASS" "$([ "$ok" -eq 2 ] && [ "$(cat "$DIR"/two.? | grep -c PASS)" -eq 6 ]; echo $?)"

# --- variables and program names
out=$(GAPBS_CXL_MODE=attach GAPBS_CXL_PATH="$M" "$TOOL" bfs -n 1 -v 2>&1); rc=$?
check "GAPBS_CXL_MODE=attach GAPBS_CXL_PATH" "$([ "$rc" -eq 0 ] && has "$out" PASS && has "$out" "$M"; echo $?)"
out=$(GAPBS_CXL_MODE=attach GAPBS_CXL_PATH="$DIR/none" GAPBS_CXL_ATTACH_TIMEOUT_MS=100 "$TOOL" bfs -n 1 2>&1); rc=$?
check "GAPBS_CXL_ATTACH_TIMEOUT_MS" "$([ "$rc" -eq 1 ] && has "$out" "within 100 ms"; echo $?)"
out=$(GAPBS_CXL_MODE=publish GAPBS_CXL_PUBLISH_ONLY=1 GAPBS_CXL_PATH="$DIR/envoff" GAPBS_CXL_MAP_OFFSET=1048576 GAPBS_CXL_MAP_SIZE=4M "$TOOL" bfs -g 10 2>&1); rc=$?
check "GAPBS_CXL_PUBLISH_ONLY, _MAP_OFFSET, _MAP_SIZE: published at 1 MiB" "$([ "$rc" -eq 0 ] && has "$out" "Publish Time" && ! has "$out" "Trial Time" && [ "$(stat -c %s "$DIR/envoff")" -eq $((5 << 20)) ]; echo $?)"
out=$(GAPBS_CXL_MODE=attach GAPBS_CXL_PATH="$DIR/envoff" GAPBS_CXL_MAP_OFFSET=1048576 GAPBS_CXL_PRETOUCH=1 CXL_SHM_DELAY_NS=100 "$TOOL" bfs -n 1 -v 2>&1); rc=$?
check "... attached there with GAPBS_CXL_PRETOUCH and CXL_SHM_DELAY_NS (delay shown)" "$([ "$rc" -eq 0 ] && has "$out" PASS && has "$out" "offset 1048576" && has "$out" "delay 100 ns"; echo $?)"
out=$(GAPBS_CXL_PUBLISH_ONLY=1 GAPBS_CXL_PRETOUCH=1 CXL_SHM_DELAY_NS=100 "$TOOL" bfs -g 10 -n 1 -v 2>&1); rc=$?
check "the variables are defaults for the region modes: a Native run ignores them" "$([ "$rc" -eq 0 ] && has "$out" PASS; echo $?)"
run bfs -g 10 -n 1 --pretouch
check "... a flag is not ignored (--pretouch in Native: usage error)" "$([ "$rc" -eq 2 ] && has "$err" "Native mode has no medium"; echo $?)"
out=$(GAPBS_CXL_MODE=sideways "$TOOL" bfs -g 10 2>&1); rc=$?
check "GAPBS_CXL_MODE=sideways: usage error" "$([ "$rc" -eq 2 ] && has "$out" "GAPBS_CXL_MODE: 'sideways'"; echo $?)"
ln -s "$TOOL" "$DIR/bfs-ring"
out=$("$DIR/bfs-ring" -g 10 -n 1 -v --path "$DIR/ring" 2>&1); rc=$?
check "argv[0] bfs-ring: auto, MultihostRing" "$([ "$rc" -eq 0 ] && has "$out" 'Publish Time' && has "$out" PASS; echo $?)"
ln -s "$TOOL" "$DIR/bfs-ring-oops"
out=$("$DIR/bfs-ring-oops" -g 10 2>&1); rc=$?
check "argv[0] with an unknown mode: usage error" "$([ "$rc" -eq 2 ] && has "$out" "ring-oops"; echo $?)"
run bfs -g 10 --zero-copy --crypto --sec-key-file "$DIR/k"
check "--zero-copy with --crypto: usage error" "$([ "$rc" -eq 2 ] && has "$err" "--zero-copy"; echo $?)"
run bfs --cxl-mode attach --publish-only --path "$M"
check "--publish-only with attach: usage error" "$([ "$rc" -eq 2 ]; echo $?)"
for f in --publish-only --pretouch --zero-copy --copy "--expect-generation 2" "--attach-timeout-ms 5" \
         "--region g2" "--delay-ns 100" "--expect-publication 00112233445566778899aabbccddeeff"; do
  # shellcheck disable=SC2086
  run bfs -g 10 $f
  check "Native with $f: usage error" "$([ "$rc" -eq 2 ] && has "$err" "Native mode has no medium"; echo $?)"
done
run bfs --cxl-mode attach --copy --zero-copy --path "$M"
check "--copy and --zero-copy: usage error" "$([ "$rc" -eq 2 ] && has "$err" "choose one"; echo $?)"
run bfs --cxl-mode attach --expect-generation 3 --path "$M"
check "an odd --expect-generation: usage error" "$([ "$rc" -eq 2 ] && has "$err" "odd"; echo $?)"
run bfs --cxl-mode attach --expect-publication 12zz --path "$M"
check "a bad --expect-publication: usage error" "$([ "$rc" -eq 2 ] && has "$err" "32 hex digits"; echo $?)"
run bfs --cxl-mode attach --region abcdefghijklmnopqrstuvwxyz --path "$M"
check "a 26-character --region: usage error" "$([ "$rc" -eq 2 ] && has "$err" "1 to 23"; echo $?)"
expect_fail "a --map-offset off the 64-B grid" "not a multiple of 64" bfs --cxl-mode attach --path "$M" --map-offset 100
expect_fail "too small --map-size" "pass --map-size" bfs -g 12 --cxl-mode publish --path "$DIR/small" --map-size 65536

# --- never inside the rings: a publisher refuses a ring medium's header, and an offset inside the
# layout formatted at offset 0; past the layout it publishes, and the rings still validate
"$SHM" --path "$DIR/rings" --map-size 4M init --rings 2 >/dev/null 2>&1
expect_fail "publish over a ring medium" "a ring layout (cxl_shm init, or the module's offset=) lies there at offset 0" bfs -g 8 --cxl-mode publish --publish-only --path "$DIR/rings"
expect_fail "auto inside the ring layout" "offset 4096 of $DIR/rings: a ring layout" bfs -g 8 --cxl-mode auto --path "$DIR/rings" --map-offset 4096
expect_ok "publish past the ring layout" "Publish Time" bfs -g 8 --cxl-mode publish --publish-only --path "$DIR/rings" --map-offset $((4 << 20))
check "... the rings untouched" "$("$SHM" --path "$DIR/rings" --map-size 4M info >/dev/null 2>&1; echo $?)"
# rings formatted at 1 MiB of a file (the module's offset=): a region inside them, or one at offset 0
# whose graph would reach them, is refused; the check reads no page of the file that holds no data
truncate -s 16M "$DIR/rings1m"; chmod 600 "$DIR/rings1m"
"$SHM" --path "$DIR/rings1m" --map-offset 1048576 --map-size 4M init --rings 2 >/dev/null 2>&1
expect_fail "publish inside rings formatted at 1 MiB" "lies there at offset 1048576" bfs -g 8 --cxl-mode publish --publish-only --path "$DIR/rings1m" --map-offset $((1048576 + 65536))
expect_fail "publish at 0 of a graph reaching the rings at 1 MiB" "lies there at offset 1048576" bfs -g 14 --cxl-mode publish --publish-only --path "$DIR/rings1m"
check "... the rings at 1 MiB untouched" "$("$SHM" --path "$DIR/rings1m" --map-offset 1048576 --map-size 4M info >/dev/null 2>&1; echo $?)"
truncate -s 1G "$DIR/sparse"; chmod 600 "$DIR/sparse"
expect_ok "publish at 512 MiB of a sparse file with --prefault" "Publish Time" bfs -g 8 --cxl-mode publish --publish-only --path "$DIR/sparse" --map-offset $((512 << 20)) --map-size 16M --prefault
check "... only the region's pages allocated ($(du -k "$DIR/sparse" | cut -f1) KiB)" "$([ "$(du -k "$DIR/sparse" | cut -f1)" -le $((17 << 10)) ]; echo $?)"

# --- a hostile plain region
cp "$M" "$DIR/good"
fresh() { cp "$DIR/good" "$M"; }
fresh; $EDIT elem "$M" 1 7 5000
expect_fail "copy: OUT_NEIGH id >= n" "OUT_NEIGH[7] = 5000 is not a node" bfs --cxl-mode attach --copy --path "$M" -n 1
fresh; $EDIT elem "$M" 1 7 -3
expect_fail "copy: a negative id" "is not a node" cc --cxl-mode attach --copy --path "$M" -n 1
for k in bfs pr pr_spmv cc cc_sv bc tc; do
  fresh; $EDIT elem-every "$M" 1 97 99999
  expect_fail "zero-copy $k: the kernel meets id 99999" "= 99999 is not a node" "$k" --cxl-mode attach --path "$M" -n 1
done
# the provenance's names are printed: a generator or region name that is not ours is refused, not echoed
fresh; $EDIT poke "$M" 264 1b5b324a07ff0000 --fix
expect_fail "a generator of terminal escapes" "names a generator or region this build does not write" bfs --cxl-mode attach --path "$M" -n 1
check "... not echoed" "$(! grep -q $'\x1b' <<<"$out$err"; echo $?)"
fresh; $EDIT poke "$M" 304 677261706807 --fix
expect_fail "a region name with a control byte" "names a generator or region" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT elem "$M" 0 10 1
expect_fail "OUT_INDEX decreasing" "OUT_INDEX decreases" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT elem "$M" 0 4096 7
expect_fail "OUT_INDEX not ending at m" "expected 0 and m" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT array-offset "$M" 1 $((1 << 40)) --fix
expect_fail "an array past the mapping" "inside the" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT array-offset "$M" 1 64 --fix
expect_fail "an array over the header" "OUT_NEIGH at offset 64" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT set "$M" num_nodes 4000000000 --fix
expect_fail "absurd n" "not a published graph" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT set "$M" num_edges 12 --fix
expect_fail "m that does not match the arrays" "expected" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT set "$M" version 9
expect_fail "another layout version" "layout version 9" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT set "$M" num_edges 12
expect_fail "an edited header (checksum)" "checksum does not match" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT set "$M" state 1
expect_fail "a region stuck WRITING" "has been writing the graph" bfs --cxl-mode attach --path "$M" -n 1 --attach-timeout-ms 200
fresh; $EDIT set "$M" generation 7 --fix
expect_fail "an odd generation under READY" "not a published graph" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT set "$M" state 7
expect_fail "a state that is none of the three" "not a graph region's" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT set "$M" flags 2 --fix
expect_fail "WEIGHTED set on an unweighted graph" "expected OUT_NEIGH, 8 x" bfs --cxl-mode attach --path "$M" -n 1
fresh; $EDIT set "$M" state 1
run bfs -g 12 --cxl-mode publish --publish-only --path "$M" --attach-timeout-ms 200
check "publish takes over a region stuck WRITING, saying so" "$([ "$rc" -eq 0 ] && has "$err" "taking the graph region over"; echo $?)"
expect_ok "... and the region is READY again" "PASS" bfs --cxl-mode attach --path "$M" -n 1 -v
fresh

# --- Crypto: a shared key file
for f in key other; do
  python3 -c 'import os; print(os.urandom(32).hex())' >"$DIR/$f"; chmod 600 "$DIR/$f"
done
C=$DIR/sealed
expect_ok "Crypto publish" "Publish Time" bfs -g 12 --cxl-mode publish --publish-only --crypto --sec-key-file "$DIR/key" --path "$C"
expect_ok "Crypto attach bfs -v" "PASS" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" -n 2 -v -a
check "Crypto: same checksum as Native" "$([ "$(sum_of)" = "$native" ] && has "$out" Crypto; echo $?)"
"$TOOL" convert -g 12 -b "$DIR/g12.sg" >/dev/null 2>&1
found=$($EDIT scan "$C" "$DIR/g12.sg")
check "Crypto: no plaintext neighbour run in the medium ($found)" "$([ "${found%% *}" = 0 ]; echo $?)"
found=$($EDIT scan "$M" "$DIR/g12.sg")
check "the scan finds plaintext in a plain region ($found)" "$([ "${found%% *}" != 0 ]; echo $?)"
cp "$C" "$DIR/sealed.good"
sfresh() { cp "$DIR/sealed.good" "$C"; }
expect_fail "Crypto: a wrong key" "failed to authenticate" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/other" --path "$C" -n 1
expect_fail "Crypto: a sealed graph attached plain" "the graph is sealed" bfs --cxl-mode attach --path "$C" -n 1
expect_fail "Crypto attacher offered a plain graph" "refusing a plain publication" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$M" -n 1
sfresh; $EDIT flip "$C" 1 70000
expect_fail "Crypto: a flipped chunk" "chunk 1 of OUT_NEIGH failed to authenticate" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" -n 1
sfresh; $EDIT swap-chunks "$C" 1 0 1
expect_fail "Crypto: two chunks swapped" "of OUT_NEIGH failed to authenticate" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" -n 1
sfresh; $EDIT set "$C" num_nodes 4095
expect_fail "Crypto: an edited header" "header failed to authenticate" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" -n 1
sfresh; $EDIT save "$C" "$DIR/old"
run bfs -g 12 --cxl-mode publish --publish-only --crypto --sec-key-file "$DIR/key" --path "$C"
gen=$($EDIT header "$C" | sed -n 's/^generation=//p')
$EDIT restore "$C" "$DIR/old"
expect_fail "Crypto: an older publication replayed" "expected $gen" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" --expect-generation "$gen" -n 1
run bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" -n 1 -v
check "... without --expect-generation it is a valid older graph" "$([ "$rc" -eq 0 ]; echo $?)"
# the generation lives in the medium: an attacker who rolls it back before the
# next publication gives it the old number; the publication id cannot be rolled back
sfresh; $EDIT save "$C" "$DIR/old"
old_id=$($EDIT header "$C" | sed -n 's/^publication=//p')
$EDIT set "$C" generation 0
run bfs -g 12 --cxl-mode publish --publish-only --crypto --sec-key-file "$DIR/key" --path "$C"
new_id=$($EDIT header "$C" | sed -n 's/^publication=//p')
gen=$($EDIT header "$C" | sed -n 's/^generation=//p')
$EDIT restore "$C" "$DIR/old"
run bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" --expect-generation "$gen" -n 1
check "generation rolled back: --expect-generation $gen is fooled (documented)" "$([ "$rc" -eq 0 ]; echo $?)"
expect_fail "... --expect-publication is not" "is not the one expected" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" --expect-publication "$new_id" -n 1
run bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$C" --expect-publication "$old_id" -n 1
check "--expect-publication of the publication there" "$([ "$rc" -eq 0 ]; echo $?)"
# auto on a sealed READY header that an attacker edited: authenticated first, so it is published again
sfresh; $EDIT set "$C" num_edges 5
expect_ok "auto: a forged READY of the same kind is re-published, not attached" "Publish Time" bfs -g 12 -n 1 -v --cxl-mode auto --crypto --sec-key-file "$DIR/key" --path "$C"
# an honest re-publication while an attacher copies slowly: retried, not reported as tampering
# (a -g 15 graph at 1 ms of delay a page: the copy takes about a second; on a loaded machine the
# publisher may still land before or after it: a run whose attach did not see it is tried again)
"$TOOL" bfs -g 15 --cxl-mode publish --publish-only --crypto --sec-key-file "$DIR/key" --path "$DIR/slow.g15" >/dev/null 2>&1
for _ in 1 2 3; do
    cp "$DIR/slow.g15" "$DIR/slow"
    "$TOOL" bfs --cxl-mode attach --copy --crypto --sec-key-file "$DIR/key" --path "$DIR/slow" --delay-ns 1000000 -n 1 -v >"$DIR/slow.out" 2>&1 &
    slow=$!
    sleep 0.2
    "$TOOL" bfs -g 11 --cxl-mode publish --publish-only --crypto --sec-key-file "$DIR/key" --path "$DIR/slow" >/dev/null 2>&1
    wait "$slow"; rc=$?; out=$(cat "$DIR/slow.out"); err=$out
    has "$out" "re-published during the run" || has "$out" "Graph has 32768 nodes" || break
done
check "a re-publication under a slow attach: retried, exit 0, the new graph" "$([ "$rc" -eq 0 ] && has "$out" PASS && has "$out" "Graph has 2048 nodes"; echo $?)"

# a sealed publication over an older, larger plain one: the old plaintext past it is zeroed;
# bytes past the region that no publication held are left alone
"$TOOL" bfs -g 12 --cxl-mode publish --publish-only --path "$DIR/mixed" >/dev/null 2>&1
expect_ok "a small sealed graph over a larger plain one" "Publish Time" bfs -g 8 --cxl-mode publish --publish-only --crypto --sec-key-file "$DIR/key" --path "$DIR/mixed"
found=$($EDIT scan "$DIR/mixed" "$DIR/g12.sg")
check "... no plaintext run of the old graph left ($found)" "$([ "${found%% *}" = 0 ]; echo $?)"
python3 -c 'import sys; open(sys.argv[1], "wb").write(b"\xaa" * (1 << 20))' "$DIR/dev"
run bfs -g 8 --cxl-mode publish --publish-only --path "$DIR/dev" --map-size 1M
check "publish into a file of other bytes: exit 0" "$([ "$rc" -eq 0 ]; echo $?)"
check "... the bytes past the graph are untouched" "$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if d[-4096:] == b"\xaa" * 4096 else 1)' "$DIR/dev"; echo $?)"

# --- Secure: keys from a real cxl_sec_mgr, by ACL
mkdir -p "$DIR/acl" && cd "$DIR/acl" || exit 1
"$MGR" keygen --manager --out mgr.key >/dev/null 2>&1
printf 'manager-key mgr.key\nmaster master.secret\nstate sec.state\naudit sec.audit\ncontrol sec.sock\nrotate 0\nrefresh 60\nregion ring0 ring 0\nregion graph range 0x0 0x40000000\n' >acl.conf
for i in 1 2 3; do "$MGR" keygen --out n$i.key --config acl.conf --id $i --name n$i >>acl.conf 2>/dev/null; done
printf 'grant n1 graph rw\ngrant n2 graph rw\ngrant n3 ring0 rw\n' >>acl.conf
chmod 600 ./*.key acl.conf
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MGR" --config acl.conf --listen "127.0.0.1:$PORT" 2>mgr.log &
PIDS+=($!)
for _ in $(seq 100); do "$MGR" fetch --key n1.key --node-id 1 --mgr "127.0.0.1:$PORT" --ping >/dev/null 2>&1 && break; sleep 0.05; done
sec() { echo --secure --sec-mgr "127.0.0.1:$PORT" --sec-node-id "$1" --sec-key "$DIR/acl/n$1.key"; }
S=$DIR/secure
# shellcheck disable=SC2046
expect_ok "Secure publish (n1)" "Publish Time" bfs -g 12 --cxl-mode publish --publish-only $(sec 1) --path "$S"
# shellcheck disable=SC2046
expect_ok "Secure attach (n2) bfs -v" "PASS" bfs --cxl-mode attach $(sec 2) --path "$S" -n 2 -v -a
check "Secure: same checksum as Native" "$([ "$(sum_of)" = "$native" ] && has "$out" Secure; echo $?)"
found=$($EDIT scan "$S" "$DIR/g12.sg")
check "Secure: no plaintext neighbour run ($found)" "$([ "${found%% *}" = 0 ]; echo $?)"
# shellcheck disable=SC2046
expect_fail "Secure: a node without a grant (n3)" "no-grant" bfs --cxl-mode attach $(sec 3) --path "$S" -n 1
expect_fail "Secure: the Crypto key does not open it" "attach with --secure" bfs --cxl-mode attach --crypto --sec-key-file "$DIR/key" --path "$S" -n 1
"$MGR" revoke --config acl.conf n2 >/dev/null 2>&1
# shellcheck disable=SC2046
expect_fail "Secure: n2 revoked" "revoked" bfs --cxl-mode attach $(sec 2) --path "$S" -n 1
# shellcheck disable=SC2046
expect_fail "Secure: n1 holds the new epoch; the old publication is refused" "re-publish" bfs --cxl-mode attach $(sec 1) --path "$S" -n 1
# shellcheck disable=SC2046
expect_ok "Secure: re-published under the new epoch" "PASS" bfs -g 12 --cxl-mode publish $(sec 1) --path "$S" -n 1 -v
cd - >/dev/null || exit 1

echo "cli_graph_region: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
