#!/usr/bin/env bash
# bench/cluster_compare.sh - Redis Cluster over the rings (docs/CLUSTER.md):
# the compare matrix's workload (SET then GET of 16 B keys, every reply
# checked) against a 3-master cluster of Debian's redis-server with
# cxl_ring.so started here (scripts/cluster.sh), 1 and 16 requests in
# flight, every label in each round, the order alternating:
#   ClusterTCP      cxl_ring_direct --cluster: every node over TCP (the base)
#   ClusterRingPod  the first 2 nodes over their rings (a pod map), the third
#                   over TCP: "the ring where the medium reaches"
#   ClusterRing     every node in the client's pod, over its ring
# and the cost of the module's slot check on a ring GET/SET:
#   NodeRing        a standalone redis-server with the module (the base)
#   NodeRingCluster node 1 of the cluster, keys hash-tagged to a slot it owns
#                   (so every request is judged and served there)
# Medians of the rounds; ratios are medians of per-round ratios against the
# base of each part (same round, seconds apart). Writes PREFIX.csv/.md
# (cluster) and PREFIX_slotcheck.csv/.md, and the charts.
# Usage: bench/cluster_compare.sh [--requests N] [--rounds R] [--pipeline 1,16] [--out PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
report() { /usr/bin/python3 bench/report.py "$@"; }

requests=20000 rounds=3 pipelines=1,16 out=""
while [ $# -gt 0 ]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --pipeline) pipelines=$2; shift 2 ;;
    --out) [ -n "${2:-}" ] || die "--out: needs a path prefix"; out=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $requests =~ ^[0-9]+$ && $requests -ge 100 ]] || die "--requests: a number >= 100, not '$requests'"
[[ $rounds =~ ^[1-9][0-9]?$ ]] || die "--rounds: 1..99, not '$rounds'"
[[ $pipelines =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--pipeline: a comma list of numbers, not '$pipelines'"
tool=$BUILD/bin/cxl_ring_direct
[ -x "$tool" ] && [ -f "$BUILD/cxl_ring.so" ] || die "not built: run make first"
stamp=$(date +%Y%m%d-%H%M%S)
out=${out:-results/cluster_compare_$stamp}
mkdir -p "$(dirname "$out")"

# --- the cluster (every node in pod 1: each has its medium) and a standalone node
D=$WORK/cluster
base=$(cluster_base_port 3)
trap 'bash scripts/cluster.sh stop --dir "$D" >/dev/null 2>&1; cleanup' EXIT
progress "starting a 3-master cluster on ports $base.."
bash scripts/cluster.sh start --dir "$D" --base-port "$base" --pod1 3 --build "$BUILD" >/dev/null ||
  die "scripts/cluster.sh start failed"
seed=127.0.0.1:$base
head -n 2 "$D/pod.map" >"$WORK/pod2.map"
start_redis standalone "/dev/shm/cxl_clbench_$$.raw" map_size=64M rings=4
standalone=/dev/shm/cxl_clbench_$$.raw
node1=$(awk 'NR == 1 { print $4 }' "$D/pod.map")
# a hash tag whose slot node 1 serves
for i in $(seq 0 1000); do
  [ "$(redis-cli -p "$base" get "{n1t$i}probe" 2>/dev/null | cut -c1-5)" != MOVED ] && { tag="{n1t$i}"; break; }
done
[ -n "${tag:-}" ] || die "no hash tag of node 1's slots found"

flags_of() { # LABEL -> cxl_ring_direct flags
  case $1 in
    ClusterTCP) echo "--cluster $seed" ;;
    ClusterRingPod) echo "--cluster $seed --pod-map $WORK/pod2.map" ;;
    ClusterRing) echo "--cluster $seed --pod-map $D/pod.map" ;;
    NodeRing) echo "--path $standalone --key-prefix $tag" ;;
    NodeRingCluster) echo "--path $node1 --key-prefix $tag" ;;
  esac
}
run_one() { # LABEL CSV-LABEL RAW pipeline ops
  local flags=(--bench "$requests" --ops "$5" --keyspace 10000 --latency --quiet --csv /dev/null
               --compare-csv "$3" --label "$2" --timeout-ms 30000) via
  [ "$4" -gt 1 ] && flags+=(--pipeline --max-inflight "$4")
  read -ra via <<<"$(flags_of "$1")"
  "$tool" "${via[@]}" "${flags[@]}" >"$WORK/run.log" 2>&1 || { cat "$WORK/run.log" >&2; die "$1 (pipeline $4) failed"; }
}
order() { # ROUND LABELS... -> the labels, reversed in even rounds
  local r=$1; shift
  if [ $((r % 2)) = 0 ]; then printf '%s\n' "$@" | tac; else printf '%s\n' "$@"; fi
}

raw=$WORK/cluster.csv raw_slot=$WORK/slot.csv
cluster_labels=(ClusterTCP ClusterRingPod ClusterRing) slot_labels=(NodeRing NodeRingCluster)
for l in "${cluster_labels[@]}" "${slot_labels[@]}"; do # load the keys once, untimed
  progress "loading the keys ($l)"
  run_one "$l" warmup /dev/null 1 set
done
total=$(( rounds * $(echo "${pipelines//,/ }" | wc -w) * 5 )) n=0
# the slot check first, each run after a pause: a node that served a moment
# ago still yields the CPU for a while (scripts/cluster.sh, --module-args)
for part in slot cluster; do
  for p in ${pipelines//,/ }; do
    for r in $(seq "$rounds"); do
      if [ $part = slot ]; then labels=$(order "$r" "${slot_labels[@]}"); else labels=$(order "$r" "${cluster_labels[@]}"); fi
      for l in $labels; do
        n=$((n + 1))
        printf '  [%d/%d] round %d/%d %-16s %s in flight\n' $n $total "$r" "$rounds" "$l" "$p" >&2
        sleep 0.5
        case $l in Node*) run_one "$l" "$l@$r" "$raw_slot" "$p" set,get ;; *) run_one "$l" "$l@$r" "$raw" "$p" set,get ;; esac
      done
    done
  done
done

report compare "$raw" "$out.csv" "$out.md" --base ClusterTCP \
  "A 3-master Redis Cluster (Debian's redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') with cxl_ring.so, each node on its own medium), $(nproc) cores;
cxl_ring_direct --cluster routes each request by hash slot; ClusterTCP reaches every node over TCP, ClusterRingPod
the first two over their rings and the third over TCP, ClusterRing every node over its ring. SET then GET, $requests
requests per op, 10000 keys of 16 B spread over all slots, every reply checked. Medians of $rounds rounds (order
alternating); ratios: medians of per-round ratios against ClusterTCP."
report compare "$raw_slot" "${out}_slotcheck.csv" "${out}_slotcheck.md" --base NodeRing \
  "The module's slot check: the same ring client against a standalone node (NodeRing) and a cluster node (NodeRingCluster)
whose module judges every request's slot (keys hash-tagged $tag, a slot it serves). $requests requests per op,
medians of $rounds rounds; ratios against NodeRing of the same round (1.00 = no cost)."
cat "$out.md"; echo; cat "${out}_slotcheck.md"
charts=$(report compare-charts "$out.csv" --ops set,get | wc -l) || true
echo
echo "csv: $out.csv ${out}_slotcheck.csv   tables: $out.md ${out}_slotcheck.md   charts: $charts"
