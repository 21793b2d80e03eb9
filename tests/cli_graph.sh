#!/usr/bin/env bash
# cli_graph.sh - end-to-end checks of cxl_graph: every kernel -v on generated
# graphs (sssp's weighted as GAPBS's; convert -w of one read back); bfs -v on generated graphs
# (-g 10, -u 10 with GAPBS's edge count, -g 14), small hand-written .el
# graphs with known BFS reach and depth (directed, undirected, isolated
# nodes, self loops, duplicates), the .sg round trip (convert -b, read back),
# and bad input (missing file, bad flag values, corrupt .sg files): each
# must exit 1 or 2 with an error naming the flag or file, never crash.
# Usage: bash tests/cli_graph.sh [build-dir]     (default: build)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TOOL=$BUILD/bin/cxl_graph
if [ ! -x "$TOOL" ]; then
  echo "cli_graph: $TOOL is not built (make $TOOL)" >&2
  exit 1
fi
DIR=$(mktemp -d /tmp/cli_graph.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

TEST_NAME=cli_graph
source tests/graph_cli.sh

# --- generated graphs, every trial verified
expect_ok "bfs -u 10" "Graph has 1024 nodes and 16125 undirected edges for degree: 15" bfs -u 10 -n 4 -v
check "bfs -u 10: 4 trials PASS" "$([ "$(count 'Verification:           PASS')" -eq 4 ]; echo $?)"
check "bfs -u 10: Average Time" "$(grep -qE '^Average Time:        [0-9]+\.[0-9]{5}$' <<<"$out"; echo $?)"
check "bfs -u 10: Generate Time" "$(grep -qE '^Generate Time:       [0-9]' <<<"$out"; echo $?)"
expect_ok "bfs -g 10" "Graph has 1024 nodes and 10496 undirected edges for degree: 10" bfs -g 10 -n 4 -v
check "bfs -g 10: 4 trials PASS" "$([ "$(count 'PASS')" -eq 4 ]; echo $?)"
expect_ok "bfs -g 14" "Graph has 16381 nodes and 212930 undirected edges for degree: 12" bfs -g 14 -n 3 -v
check "bfs -g 14: 3 trials PASS" "$([ "$(count 'PASS')" -eq 3 ]; echo $?)"
expect_ok "bfs -g 16 (GAPBS: 909646 edges)" "Graph has 65536 nodes and 909646 undirected edges" bfs -g 16 -n 1 -v
# the sources GAPBS picks (std::mt19937_64 seeded 27491095) on GAPBS's graphs
expect_ok "bfs -u 10 -l sources" "Source:                  351" bfs -u 10 -n 5 -l
check "bfs -u 10: GAPBS's 5 sources" "$([ "$(grep '^Source:' <<<"$out" | awk '{print $2}' | tr '\n' ' ')" = "351 895 656 206 468 " ]; echo $?)"
expect_ok "bfs -g 12 -l sources" "Graph has 4096 nodes and 48386 undirected edges" bfs -g 12 -n 5 -l
check "bfs -g 12: GAPBS's 5 sources" "$([ "$(grep '^Source:' <<<"$out" | awk '{print $2}' | tr '\n' ' ')" = "3423 2943 1680 206 1492 " ]; echo $?)"
expect_ok "bfs -g 10 -k 4" "undirected edges for degree: " bfs -g 10 -k 4 -n 2 -v -l
check "bfs -l: Source: lines" "$([ "$(count '^Source:')" -eq 2 ]; echo $?)"
one=$("$TOOL" bfs -g 12 -n 1 2>/dev/null | grep '^Graph')
four=$(OMP_NUM_THREADS=1 "$TOOL" bfs -g 12 -n 1 2>/dev/null | grep '^Graph')
check "same graph on 1 and $OMP_NUM_THREADS threads" "$([ -n "$one" ] && [ "$one" = "$four" ]; echo $?)"
ln -s "$(cd "$(dirname "$TOOL")" && pwd)/cxl_graph" "$DIR/bfs"
rc=0; out=$("$DIR/bfs" -u 10 -n 1 -v 2>&1) || rc=$?
check "argv[0] = bfs picks the kernel" "$([ "$rc" -eq 0 ] && has "$out" PASS; echo $?)"
# argv[0] = bfs-ring ...: tests/cli_graph_region.sh
# -a: GAPBS's analysis lines after the last trial, with the figures gapbs b5e3e19 prints for -g 10
# (its bc counts the source's own dependency, and it lists equal clusters in its hash map's order:
# those lines are compared by shape only)
expect_ok "bfs -a" "BFS Tree has 896 nodes and 20990 edges" bfs -g 10 -n 2 -a
check "bfs -a: once, after the last trial" "$([ "$(count '^BFS Tree has')" -eq 1 ] && [ "$(grep -A1 '^BFS Tree depth' <<<"$out" | tail -1 | cut -c1-12)" = "Average Time" ]; echo $?)"
expect_ok "sssp -a" "SSSP Tree reaches 896 nodes" sssp -g 10 -n 1 -a
expect_ok "tc -a" "74720 triangles" tc -g 10 -n 1 -a
expect_ok "cc -a" "There are 128 components" cc -g 10 -n 1 -a
check "cc -a: the 5 biggest clusters, the giant first" "$(has "$out" "5 biggest clusters" && [ "$(grep -A1 'biggest clusters' <<<"$out" | tail -1)" = "0:896" ]; echo $?)"
expect_ok "cc_sv -a" "There are 128 components" cc_sv -g 10 -n 1 -a
# a cluster of a million nodes or more is printed as an integer (GAPBS: 1000001, not 1e+06)
awk 'BEGIN { for (i = 0; i < 1000000; i++) print i, i + 1 }' >"$DIR/million.el"
expect_ok "cc -a: a 1,000,001-node cluster" ":1000001" cc -f "$DIR/million.el" -s -n 1 -a
rm -f "$DIR/million.el"
expect_ok "pr -a: the top score" "536:0.01998" pr -g 10 -n 1 -a
check "pr -a: five node:score lines" "$([ "$(grep -cE '^[0-9]+:[0-9.e-]+$' <<<"$out")" -eq 5 ]; echo $?)"
# -l: PageRank's iterations in GAPBS's words ("%5d%23.5lf"), the figures gapbs b5e3e19 prints at -g 10
expect_ok "pr -l: the first iteration" "    0                0.93634" pr -g 10 -n 1 -l
check "pr -l: 15 iterations, the last as GAPBS's" "$([ "$(grep -cE '^ +[0-9]+ +[0-9.]+$' <<<"$out")" -eq 15 ] && has "$out" "   14                0.00008"; echo $?)"
expect_ok "pr_spmv -l: the first iteration" "    0                1.01926" pr_spmv -g 10 -n 1 -l
check "pr_spmv -l: 10 iterations, the last as GAPBS's" "$([ "$(grep -cE '^ +[0-9]+ +[0-9.]+$' <<<"$out")" -eq 10 ] && has "$out" "    9                0.00004"; echo $?)"
expect_ok "bc -a: the top score is 1" ":1" bc -g 10 -n 1 -a
check "bc -a: five node:score lines" "$([ "$(grep -cE '^[0-9]+:[0-9.e-]+$' <<<"$out")" -eq 5 ]; echo $?)"

# --- small graphs with known answers
printf '0 1\n1 2\n2 3\n' >"$DIR/path.el"
expect_ok "directed path from 0" "BFS Tree has 4 nodes and 3 edges" bfs -f "$DIR/path.el" -r 0 -n 1 -v -a
check "... depth 3" "$(has "$out" "BFS Tree depth:      3"; echo $?)"
expect_ok "directed path: 3 directed edges" "Graph has 4 nodes and 3 directed edges" bfs -f "$DIR/path.el" -r 0 -n 1
expect_ok "directed path from 2" "BFS Tree has 2 nodes and 1 edges" bfs -f "$DIR/path.el" -r 2 -n 1 -v -a
check "... depth 1" "$(has "$out" "BFS Tree depth:      1"; echo $?)"
expect_ok "directed path from 3 (a sink)" "BFS Tree has 1 nodes and 0 edges" bfs -f "$DIR/path.el" -r 3 -n 1 -v -a
check "... depth 0" "$(has "$out" "BFS Tree depth:      0"; echo $?)"
expect_ok "symmetrized path from 3" "BFS Tree has 4 nodes and 6 edges" bfs -f "$DIR/path.el" -s -r 3 -n 1 -v -a
check "... depth 3" "$(has "$out" "BFS Tree depth:      3"; echo $?)"
# self loops and duplicates dropped, node 5 isolated (named by the edge 6 6 only)
printf '0 1\n0 1\n1 0\n1 1\n1 2\n2 4\n4 4\n\n3 4\n6 6\n' >"$DIR/loops.el"
expect_ok "loops: edges counted once" "Graph has 7 nodes and 4 undirected edges" bfs -f "$DIR/loops.el" -s -r 0 -n 1 -v
expect_ok "loops: 0 reaches 5 nodes at depth 4" "BFS Tree has 5 nodes and 8 edges" bfs -f "$DIR/loops.el" -s -r 0 -n 1 -v -a
check "... depth 4" "$(has "$out" "BFS Tree depth:      4"; echo $?)"
expect_ok "isolated source" "BFS Tree has 1 nodes and 0 edges" bfs -f "$DIR/loops.el" -s -r 5 -n 1 -v -a
check "... depth 0" "$(has "$out" "BFS Tree depth:      0"; echo $?)"
# a star and a cycle, directed: the bottom-up steps must give the same tree depths
awk 'BEGIN { for (i = 1; i < 3000; i++) print 0, i; for (i = 1; i < 2999; i++) print i, i + 1 }' >"$DIR/star.el"
expect_ok "directed star from 0" "BFS Tree has 3000 nodes and 5997 edges" bfs -f "$DIR/star.el" -r 0 -n 2 -v -a
check "... depth 1" "$(has "$out" "BFS Tree depth:      1"; echo $?)"
# a path of 200,000 nodes from its far end: the depth is found in one pass (the tree is not walked once per node)
awk 'BEGIN { for (i = 0; i < 200000; i++) print i + 1, i }' >"$DIR/longpath.el"
expect_ok "a 200,000-node path: -a" "BFS Tree depth:      200000" bfs -f "$DIR/longpath.el" -r 200000 -n 1 -a
expect_ok "directed star from 1" "BFS Tree has 2999 nodes and 2998 edges" bfs -f "$DIR/star.el" -r 1 -n 1 -v -a
check "... depth 2998" "$(has "$out" "BFS Tree depth:      2998"; echo $?)"

# --- .sg round trip
run convert -f "$DIR/loops.el" -s -b "$DIR/loops.sg"
check "convert -b loops.sg: exit 0" "$([ "$rc" -eq 0 ] && [ -s "$DIR/loops.sg" ]; echo $?)"
check "loops.sg: 1 + 8 + 8 + 8 * 8 + 4 * 8 bytes" "$([ "$(stat -c %s "$DIR/loops.sg")" -eq 113 ]; echo $?)"
expect_ok "loops.sg read back" "Graph has 7 nodes and 4 undirected edges" bfs -f "$DIR/loops.sg" -r 0 -n 1 -v -a
check "loops.sg: same tree" "$(has "$out" "BFS Tree has 5 nodes and 8 edges" && has "$out" "BFS Tree depth:      4"; echo $?)"
run convert -f "$DIR/star.el" -b "$DIR/star.sg"
expect_ok "directed star.sg read back" "Graph has 3000 nodes and 5997 directed edges" bfs -f "$DIR/star.sg" -r 1 -n 1 -v -a
check "star.sg: same tree" "$(has "$out" "BFS Tree has 2999 nodes and 2998 edges" && has "$out" "BFS Tree depth:      2998"; echo $?)"
# the layout byte for byte as GAPBS's converter writes it (checked against
# gapbs b5e3e19's `converter -f pd.el -b pd.sg`): directed, m, n, out
# offsets, out neighbours, in offsets, in neighbours
printf '0 1\n1 2\n2 3\n0 3\n' >"$DIR/pd.el"
run convert -f "$DIR/pd.el" -b "$DIR/pd.sg"
gapbs_pd=010400000000000000040000000000000000000000000000000200000000000000030000000000000004000000000000000400000000000000010000000300000002000000030000000000000000000000000000000000000001000000000000000200000000000000040000000000000000000000010000000000000002000000
check "pd.sg = GAPBS's bytes" "$([ "$(od -An -tx1 -v "$DIR/pd.sg" | tr -d ' \n')" = "$gapbs_pd" ]; echo $?)"
expect_ok ".el read prints Build Time" "Build Time:" bfs -f "$DIR/pd.el" -n 1
run convert -g 10 -b "$DIR/g10.sg"
expect_ok "-g 10 as .sg" "Graph has 1024 nodes and 10496 undirected edges" bfs -f "$DIR/g10.sg" -n 3 -v
check "g10.sg: 3 PASS" "$([ "$(count PASS)" -eq 3 ]; echo $?)"

# --- .gr and .mtx (ids from 1), weighted files (checked against GAPBS's converter)
printf 'c test\np sp 5 4\na 1 2 7\na 2 3 1\na 3 1 2\na 5 4 3\n' >"$DIR/t.gr"
expect_ok ".gr directed" "Graph has 5 nodes and 4 directed edges" bfs -f "$DIR/t.gr" -r 0 -n 1 -v -a
check ".gr: cycle from 0" "$(has "$out" "BFS Tree has 3 nodes and 3 edges" && has "$out" "BFS Tree depth:      2"; echo $?)"
printf '%%%%MatrixMarket matrix coordinate pattern symmetric\n%% c\n5 5 4\n1 2\n2 3\n3 1\n5 4\n' >"$DIR/t.mtx"
expect_ok ".mtx symmetric: both ways" "Graph has 5 nodes and 8 directed edges" bfs -f "$DIR/t.mtx" -r 0 -n 1 -v -a
check ".mtx: triangle from 0" "$(has "$out" "BFS Tree has 3 nodes and 6 edges" && has "$out" "BFS Tree depth:      1"; echo $?)"
run convert -f "$DIR/t.gr" -w -b "$DIR/t.wsg"
check "convert -w .gr to .wsg: 17 + 2 * (48 + 32) bytes" "$([ "$rc" -eq 0 ] && [ "$(stat -c %s "$DIR/t.wsg")" -eq 177 ]; echo $?)"
run convert -f "$DIR/t.wsg" -b "$DIR/t2.wsg"
check ".wsg read and written back the same" "$(cmp -s "$DIR/t.wsg" "$DIR/t2.wsg"; echo $?)"
expect_exit "bfs on a .wsg" 1 "is weighted" bfs -f "$DIR/t.wsg" -n 1
printf '1 2 3\n' >"$DIR/w.el"
expect_exit ".el with 3 columns" 1 "w.el:1" bfs -f "$DIR/w.el"

# --csv: the original prototype's columns first, one row a run, TEPS for bfs and sssp only
rm -f "$DIR/runs.csv"
expect_ok "bfs --csv" "Average Time" bfs -g 10 -n 2 --csv "$DIR/runs.csv" --label first
expect_ok "pr --csv" "Average Time" pr -g 10 -n 1 --csv "$DIR/runs.csv" --label second
check "--csv: a header and two rows, no blank line" "$([ "$(wc -l <"$DIR/runs.csv")" -eq 3 ] && ! grep -q '^$' "$DIR/runs.csv" && head -1 "$DIR/runs.csv" | grep -q '^label,vm,kernel,scale,degree,trials,omp_threads,edge_traversals,avg_time_s,throughput_teps,mode,host,delay_ns,median_s,min_s,max_s,attach_ms,publish_ms,verified$'; echo $?)"
check "--csv: TEPS for bfs, empty for pr" "$(awk -F, 'NR == 2 && $1 == "first" && $3 == "bfs" && $10 > 0 { ok++ } NR == 3 && $1 == "second" && $10 == "" { ok++ } END { exit ok != 2 }' "$DIR/runs.csv"; echo $?)"

# --- bad input: clear errors, exit 1 (files) or 2 (usage), no crash
expect_exit "missing file" 1 "$DIR/none.el" bfs -f "$DIR/none.el" -n 1
expect_exit "unknown suffix" 1 "unknown suffix" bfs -f "$DIR/err" -n 1
expect_exit "-g abc" 2 "-g: 'abc'" bfs -g abc
expect_exit "-k 0" 2 "-k: '0'" bfs -g 10 -k 0
expect_exit "-n missing value" 2 "-n needs a value" bfs -g 10 -n
expect_exit "unknown flag" 2 "unknown flag -z" bfs -g 10 -z
expect_exit "-t inf (PR would never be checked)" 2 "not a positive finite number" pr -g 10 -t inf
expect_exit "-t nan" 2 "not a positive finite number" pr -g 10 -t nan
expect_exit "no kernel" 2 "the first argument must be a kernel" -g 10
expect_exit "no graph" 2 "give one graph" bfs -n 1
expect_exit "-r past n" 2 "-r: node 9" bfs -f "$DIR/path.el" -r 9
printf '0 1\n1 x\n' >"$DIR/bad.el"
expect_exit "bad .el line" 1 "bad.el:2" bfs -f "$DIR/bad.el"
printf '0 -1\n' >"$DIR/neg.el"
expect_exit "negative id" 1 "neg.el:1" bfs -f "$DIR/neg.el"
head -c 60 "$DIR/loops.sg" >"$DIR/trunc.sg"
expect_exit "truncated .sg" 1 "truncated" bfs -f "$DIR/trunc.sg"
head -c 10 "$DIR/loops.sg" >"$DIR/head.sg"
expect_exit "truncated .sg header" 1 "truncated header" bfs -f "$DIR/head.sg"
# offsets decreasing: offset of node 2 (at byte 17 + 2 * 8) set to 0
cp "$DIR/loops.sg" "$DIR/dec.sg"
printf '\x00\x00\x00\x00\x00\x00\x00\x00' | dd of="$DIR/dec.sg" bs=1 seek=33 conv=notrunc 2>/dev/null
expect_exit "decreasing offsets" 1 "offsets decrease" bfs -f "$DIR/dec.sg"
# a neighbour id >= n: first neighbour (byte 17 + 8 * 8) set to 100
cp "$DIR/loops.sg" "$DIR/nb.sg"
printf '\x64\x00\x00\x00' | dd of="$DIR/nb.sg" bs=1 seek=81 conv=notrunc 2>/dev/null
expect_exit "neighbour past n" 1 "is not a node" bfs -f "$DIR/nb.sg"
# a huge node count in the header
cp "$DIR/loops.sg" "$DIR/big.sg"
printf '\xff\xff\xff\xff\xff\x00\x00\x00' | dd of="$DIR/big.sg" bs=1 seek=9 conv=notrunc 2>/dev/null
expect_exit "huge n" 1 "bad header" bfs -f "$DIR/big.sg"
expect_exit "convert without -b" 2 "convert needs -b" convert -g 10

# every other kernel through the command line: -v on a generated graph
for k in pr pr_spmv cc cc_sv bc tc; do
  for g in "-g 10" "-u 10"; do
    # shellcheck disable=SC2086
    run "$k" $g -n 2 -v
    check "$k $g: 2 trials PASS" "$([ "$rc" -eq 0 ] && [ "$(count 'Verification:           PASS')" -eq 2 ]; echo $?)"
  done
done
for k in pr pr_spmv cc cc_sv bc tc sssp; do
  run "$k" -g 14 -n 1 -v
  check "$k -g 14: PASS" "$([ "$rc" -eq 0 ] && [ "$(count 'Verification:           PASS')" -eq 1 ]; echo $?)"
done
run bc -g 10 -i 3 -n 1 -l -v
check "bc -i 3: 3 sources a trial" "$([ "$rc" -eq 0 ] && [ "$(count '^Source:')" -eq 3 ]; echo $?)"
# sssp on a weighted file: 0 -> 1 (5), 0 -> 2 (1), 2 -> 1 (1): the two-hop path is shorter
printf '0 1 5\n0 2 1\n2 1 1\n1 3 2\n' >"$DIR/w.wel"
run sssp -f "$DIR/w.wel" -r 0 -n 2 -v
check "sssp -f w.wel -r 0: PASS" "$([ "$rc" -eq 0 ] && [ "$(count 'PASS')" -eq 2 ]; echo $?)"
expect_exit "sssp on an unweighted file" 1 "needs a weighted graph" sssp -f "$DIR/path.el" -r 0
# generated graphs are weighted for sssp and convert -w (GAPBS's weights, 1..255)
for g in "-g 10" "-u 10"; do
  # shellcheck disable=SC2086
  run sssp $g -n 3 -v
  check "sssp $g: 3 trials PASS" "$([ "$rc" -eq 0 ] && [ "$(count 'Verification:           PASS')" -eq 3 ]; echo $?)"
done
run sssp -g 14 -n 4 -v -l
check "sssp -g 14 (16381 nodes): GAPBS's 4 sources, PASS" "$([ "$rc" -eq 0 ] && [ "$(count 'PASS')" -eq 4 ] && [ "$(grep '^Source:' <<<"$out" | awk '{print $2}' | tr '\n' ' ')" = "1598 15861 13585 16324 " ]; echo $?)"
run convert -g 10 -w -b "$DIR/g10.wsg"
check "convert -g 10 -w: GAPBS's 176153 bytes" "$([ "$rc" -eq 0 ] && [ "$(stat -c %s "$DIR/g10.wsg")" -eq 176153 ]; echo $?)"
run convert -g 10 -b "$DIR/g10.sg"
check "convert -g 10 -b .sg stays unweighted: 92185 bytes" "$([ "$rc" -eq 0 ] && [ "$(stat -c %s "$DIR/g10.sg")" -eq 92185 ]; echo $?)"
run sssp -f "$DIR/g10.wsg" -n 3 -v
check "sssp -f (convert -g 10 -w): 3 trials PASS" "$([ "$rc" -eq 0 ] && [ "$(count 'PASS')" -eq 3 ]; echo $?)"
run convert -f "$DIR/g10.wsg" -b "$DIR/g10b.wsg"
check "generated .wsg read and written back the same" "$(cmp -s "$DIR/g10.wsg" "$DIR/g10b.wsg"; echo $?)"
printf '0 1\n1 2\n2 0\n' >"$DIR/dir.el"
expect_exit "tc on a directed graph" 1 "needs an undirected graph" tc -f "$DIR/dir.el"
run tc -f "$DIR/dir.el" -s -v
check "tc -s: one triangle, PASS" "$([ "$rc" -eq 0 ] && has "$out" PASS; echo $?)"

echo "cli_graph: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
