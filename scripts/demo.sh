#!/usr/bin/env bash
# demo.sh - the main job, on the embedded default (processes sharing a
# /dev/shm medium): format a medium, push checked messages through it between
# two processes, start Redis with the cxl_ring module, show ring and TCP
# clients sharing one keyspace, then the compare matrix (bench/compare.sh,
# short): the same workload over TCP, a Unix socket, TLS, the sodium tunnel,
# the ring, the crypto ring and the secure ring, with a table and charts;
# the graph kernels in every mode (bench/graph_compare.sh, small); last, YCSB
# workload A and crudscan over every label (bench/ycsb_compare.sh, small).
# Everything it starts, it stops. Usage: scripts/demo.sh [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source scripts/lib.sh

step() { printf '\n== %s\n' "$*"; }
medium=/dev/shm/cxl_demo_$$.raw
CLEANUP_FILES+=("$medium")

step "1. a shared medium: /dev/shm file, 64 MiB, 4 rings of packed 64 B lines (layout v2)"
"$BUILD/bin/cxl_shm" --path "$medium" --map-size 64M init --rings 4 | sed -n '1,12p'

step "2. two processes exchange 1,000,000 checked messages through every ring"
"$BUILD/tests/ring_stress" --messages 250000 | grep -E "client:|ring_stress: (ok|FAILED)"

step "3. Redis (Debian's redis-server) with the cxl_ring module on that medium"
start_redis demo "$medium" rings=4
grep -o 'cxl ring: enabled.*' "$REDIS_LOG" | cut -c1-150
"$BUILD/bin/cxl_ring_direct" --path "$medium" SET greeting "hello over the ring" >/dev/null
echo "  ring SET greeting    -> TCP redis-cli GET greeting: $(redis-cli -p "$REDIS_PORT" GET greeting)"
redis-cli -p "$REDIS_PORT" HSET user:1 name ada lang c >/dev/null
echo "  TCP HSET user:1      -> ring HGETALL user:1: $("$BUILD/bin/cxl_ring_direct" --path "$medium" HGETALL user:1 | paste -sd' ')"
redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true

step "4. the compare matrix: one workload, every transport, every reply checked"
BUILD=$BUILD bench/compare.sh --requests 10000 --pipeline 1,16 --rounds 3

step "5. graph kernels (GAPBS's) in every mode: Native, MultihostRing zero-copy/copy, Crypto, Secure"
BUILD=$BUILD bench/graph_compare.sh --scale 12 --trials 3 --rounds 1 --verify 2>&1 |
  grep -vE '^  \[[0-9]+/[0-9]+\]'

step "6. YCSB (cxl_ycsb): workload A and crudscan, every transport, every read checked"
BUILD=$BUILD bench/ycsb_compare.sh --workloads a,crudscan --records 2000 --operations 2000 --rounds 1 2>&1 |
  grep -vE '^  \[[0-9]+/[0-9]+\]'

step "done: longer runs and sweeps: bench/compare.sh --help, bench/ycsb_compare.sh --help; the other benchmarks: docs/BENCHMARKS.md"
