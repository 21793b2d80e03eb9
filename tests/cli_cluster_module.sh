#!/usr/bin/env bash
# cli_cluster_module.sh - cxl_ring.so on Redis Cluster nodes (docs/CLUSTER.md,
# section 1): scripts/cluster.sh starts 3 masters with a replica each, then
# tests/redis_cluster compares ring answers with redis-server's TCP answers
# byte for byte (MOVED, ASK, CROSSSLOT, TRYAGAIN, CLUSTERDOWN), ASKING and
# READONLY per ring connection, and the slot map following CLUSTER SETSLOT.
# Usage: tests/cli_cluster_module.sh [BUILD]
source "$(dirname "$0")/check.sh"
C="bash scripts/cluster.sh"
D=$WORK/cluster
base=$(cluster_base_port 6) # scripts/lib.sh
trap '$C stop --dir "$D" >/dev/null 2>&1; cleanup' EXIT

out=$($C start --dir "$D" --base-port "$base" --replicas 1 --build "$BUILD" 2>&1)
check "start: 3 masters + 3 replicas (exit 0): $out" $?
# the masters own slots; the replica of the first one
m0=$base m1=$((base + 1))
id0=$(redis-cli -p "$m0" cluster myid)
rep=""
for p in $(seq "$base" $((base + 5))); do
  redis-cli -p "$p" cluster nodes | grep -q "myself,slave $id0" && rep=$p
done
[ -n "$rep" ]; check "the replica of $m0 is on port ${rep:-none}" $?
for p in $m0 $m1 $rep; do
  for i in $(seq 50); do redis-cli -p "$p" cluster info | grep -q '^cluster_state:ok' && break; sleep 0.1; done
done
"$BUILD/tests/redis_cluster" "$m0" "$m1" "$rep" "/dev/shm/cxl_cluster_$(id -u)_%d.raw"
check "ring answers = TCP answers on cluster nodes (tests/redis_cluster)" $?
echo "$TEST_NAME: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
