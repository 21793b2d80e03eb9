#!/usr/bin/env bash
# cluster.sh - a Redis Cluster on this machine to test and measure on
# (docs/CLUSTER.md): N redis-server nodes (Debian's, cluster-enabled), each
# loading cxl_ring.so on a medium of its own in /dev/shm, joined with
# `redis-cli --cluster create`. The first --pod1 nodes form the client's
# pod: the pod map (DIR/pod.map) names their media; the others are reachable
# over TCP only. It owns the nodes' start, the cluster's creation, the pod
# map and the teardown; the nodes run in the background until `stop`.
# --gateways: a cxl_resp_gateway --cluster in front of each pod-1 node's
# ring too (docs/CLUSTER.md, section 2), on free ports, in the pod map.
#   scripts/cluster.sh start [--dir DIR] [--masters 3] [--replicas 0] [--pod1 N]
#                            [--base-port P] [--map-size 64M] [--build DIR] [--gateways]
#                            [--module-args 'k=v ...' (more cxl_ring.so arguments)]
#   scripts/cluster.sh status [--dir DIR]
#   scripts/cluster.sh stop [--dir DIR]
# DIR (default /tmp/cxl-cluster-$UID) holds each node's config, log and
# pid, cluster.env (PORTS, MEDIA, POD1, GATEWAYS) and pod.map, one line per
# pod-1 node: `node 127.0.0.1:PORT medium /dev/shm/...` (with --gateways:
# `... gateway 127.0.0.1:GPORT`, the gateway's log and pid in DIR too).
# Ports: P, P+1, ... (free ones from 7100 unless --base-port); the gateways'
# the next free ones. A start that fails stops what it began.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=cluster.sh
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"

[ $# -ge 1 ] || usage_error "start, status or stop (see --help)"
case $1 in -h|--help) usage_from_header "$0"; exit 0 ;; esac
cmd=$1; shift
dir=/tmp/cxl-cluster-$(id -u) masters=3 replicas=0 pod1="" base="" map_size=64M build=$ROOT/build gateways=0
module_args=""
while [ $# -gt 0 ]; do
  case $1 in
    --dir) need "$@"; dir=$2; shift 2 ;;
    --masters) need "$@"; masters=$2; shift 2 ;;
    --replicas) need "$@"; replicas=$2; shift 2 ;;
    --pod1) need "$@"; pod1=$2; shift 2 ;;
    --base-port) need "$@"; base=$2; shift 2 ;;
    --map-size) need "$@"; map_size=$2; shift 2 ;;
    --module-args) need "$@"; module_args=$2; shift 2 ;;
    --build) need "$@"; build=$2; shift 2 ;;
    --gateways) gateways=1; shift ;;
    -h|--help) usage_from_header "$0"; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done

cli() { timeout 5 redis-cli -p "$1" "${@:2}" 2>/dev/null; }

# DIR is read back by stop and status (ports, media to delete, pids to
# kill): it must be this user's alone, or another local user could plant
# them (the default is under /tmp). Nothing in it is sourced.
dir_is_ours() {
  [ ! -L "$dir" ] && [ "$(stat -c %u "$dir")" = "$(id -u)" ] && [ $(( 0$(stat -c %a "$dir") & 022 )) -eq 0 ] ||
    die "$dir is not this user's alone (owner $(stat -c %U "$dir"), mode $(stat -c %a "$dir")): refused"
}
# env_list NAME: the words of NAME="..." in DIR/cluster.env
env_list() { sed -n "s/^$1=\"\(.*\)\"\$/\1/p" "$dir/cluster.env"; }
# a port this script started: digits; a medium: its own name pattern
our_ports() { for p in $(env_list PORTS); do [[ $p =~ ^[0-9]{4,5}$ ]] && echo "$p"; done; }
our_media() { for m in $(env_list MEDIA); do [[ $m =~ ^/dev/shm/cxl_cluster_$(id -u)_[0-9]+\.raw$ ]] && echo "$m"; done; }

# stop_pids GLOB COMM: the pids in DIR's files GLOB whose program is COMM
# (the pid file may be stale and the pid reused), asked at once, then
# waited for (5 s each at most)
stop_pids() {
  local f pid pids=()
  for f in "$dir"/$1; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    [[ $pid =~ ^[0-9]+$ ]] && grep -q "^$2" "/proc/$pid/comm" 2>/dev/null || continue
    pids+=("$pid"); kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$dir"/$1
}

stop_nodes() { # the gateways first (/proc's comm: 15 characters), then the nodes
  stop_pids 'gateway-*.pid' cxl_resp_gatewa
  stop_pids 'node-*.pid' redis-server
  if [ -f "$dir/cluster.env" ]; then
    our_media | xargs -r rm -f
  fi
}

case $cmd in
  stop)
    [ -d "$dir" ] || { echo "$PROG: no cluster in $dir"; exit 0; }
    dir_is_ours
    stop_nodes
    rm -rf "$dir"
    echo "$PROG: stopped; $dir removed"
    exit 0 ;;
  status)
    [ -f "$dir/cluster.env" ] || die "no cluster in $dir (start one: scripts/cluster.sh start)"
    dir_is_ours
    for p in $(our_ports); do
      printf '%s: %s, %s\n' "$p" "$(cli "$p" cluster info | tr -d '\r' | grep -E '^cluster_state' || echo down)" \
        "$(cli "$p" role | head -n 1)"
    done
    for p in $(env_list GATEWAYS); do
      [[ $p =~ ^[0-9]{4,5}$ ]] && printf 'gateway %s: %s\n' "$p" "$(cli "$p" ping || echo down)"
    done
    exit 0 ;;
  start) ;;
  *) usage_error "'$cmd': start, status or stop" ;;
esac

# --- start -------------------------------------------------------------------------------------
[[ $masters =~ ^[0-9]+$ ]] && [ "$masters" -ge 3 ] && [ "$masters" -le 16 ] || usage_error "--masters '$masters': 3..16 (Redis Cluster wants 3 masters)"
[[ $replicas =~ ^[0-9]$ ]] || usage_error "--replicas '$replicas': 0..9 per master"
n=$((masters * (1 + replicas)))
# Nodes that stand for hosts of a pod but share this machine's CPUs: more
# serving threads than CPUs spinning for requests take the CPU from the one
# that has a request, so each yields rather than spins or sleeps
# (--module-args overrides)
if [ -z "$module_args" ] && [ "$n" -gt "$(nproc)" ]; then module_args="spin_us=1 yield_us=200000"; fi
pod1=${pod1:-$(( (n + 1) / 2 ))}
[[ $pod1 =~ ^[0-9]+$ ]] && [ "$pod1" -le "$n" ] || usage_error "--pod1 '$pod1': 0..$n nodes"
[ -z "$base" ] || { [[ $base =~ ^[0-9]+$ ]] && [ "$base" -ge 1024 ] && [ $((base + n)) -le 65535 ]; } ||
  usage_error "--base-port '$base': 1024..$((65535 - n))"
map_bytes=$(size_to_bytes "$map_size") || usage_error "--map-size '$map_size' is not a size"
[ "$map_bytes" -ge $((1 << 20)) ] || usage_error "--map-size '$map_size': at least 1M"
[ -f "$build/cxl_ring.so" ] || die "$build/cxl_ring.so is not built (make)"
[ "$gateways" = 0 ] || [ -x "$build/bin/cxl_resp_gateway" ] || die "$build/bin/cxl_resp_gateway is not built (make)"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || die "redis-server and redis-cli are needed (scripts/deps.sh)"
[ ! -f "$dir/cluster.env" ] || die "a cluster already runs in $dir (scripts/cluster.sh stop --dir $dir)"
mkdir -p -m 700 "$dir"
dir_is_ours
dir=$(realpath "$dir")
trap 'rc=$?; if [ $rc != 0 ]; then echo "$PROG: start failed: stopping what it began" >&2; stop_nodes; rm -rf "$dir"; fi' EXIT

ports=() media=() gports=()
p=${base:-7100}
while [ ${#ports[@]} -lt "$n" ]; do
  [ "$p" -le 65535 ] || die "no free ports from ${base:-7100}"
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || [ -e "/dev/shm/cxl_cluster_$(id -u)_$p.raw" ]; then
    # with --base-port a port in use (or a medium of that port: another cluster's) is an error,
    # never a node or a medium this start would take over, and so delete if it fails
    [ -z "$base" ] || die "port $p is in use or its medium /dev/shm/cxl_cluster_$(id -u)_$p.raw exists (another cluster?)"
  else
    ports+=("$p")
  fi
  p=$((p + 1))
done
while [ "$gateways" = 1 ] && [ ${#gports[@]} -lt "$pod1" ]; do # the gateways': free ones after
  [ "$p" -le 65535 ] || die "no free ports for the gateways"
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || gports+=("$p")
  p=$((p + 1))
done
so=$(realpath "$build/cxl_ring.so")
for port in "${ports[@]}"; do
  medium=/dev/shm/cxl_cluster_$(id -u)_$port.raw
  media+=("$medium")
  printf 'PORTS="%s"\nMEDIA="%s"\nPOD1=%s\nGATEWAYS="%s"\n' "${ports[*]}" "${media[*]}" "$pod1" "${gports[*]}" \
    >"$dir/cluster.env"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/nodes-$port.conf" \
    --cluster-node-timeout 2000 --save '' --appendonly no --repl-diskless-sync-delay 0 \
    --dir "$dir" --logfile "$dir/node-$port.log" \
    --daemonize yes --pidfile "$dir/node-$port.pid" \
    --loadmodule "$so" path="$medium" map_size="$map_size" rings=4 $module_args >/dev/null ||
    die "redis-server on port $port did not start (log: $dir/node-$port.log)"
done
for port in "${ports[@]}"; do
  up=0
  for _ in $(seq 100); do
    # a node that could not start (its port taken ...) says so in its log: do not wait for it
    grep -q 'aborting\|# Fatal' "$dir/node-$port.log" 2>/dev/null && break
    if timeout 1 redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then up=1; break; fi
    sleep 0.1
  done
  [ $up = 1 ] || die "the node on port $port does not answer (log: $dir/node-$port.log)"
done
addrs=(); for port in "${ports[@]}"; do addrs+=("127.0.0.1:$port"); done
redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes >"$dir/create.log" 2>&1 ||
  die "redis-cli --cluster create failed: $(tail -n 3 "$dir/create.log" | tr '\n' ' ')"
for port in "${ports[@]}"; do
  for _ in $(seq 100); do cli "$port" cluster info | grep -q '^cluster_state:ok' && break; sleep 0.1; done
  cli "$port" cluster info | grep -q '^cluster_state:ok' || die "node $port: cluster_state is not ok after 10 s"
done
# a replica that has not synchronised yet could not take over from its master: wait for every link
for port in "${ports[@]}"; do
  for _ in $(seq 100); do cli "$port" info replication | grep -q '^role:master\|^master_link_status:up' && break; sleep 0.1; done
  cli "$port" info replication | grep -q '^role:master\|^master_link_status:up' ||
    die "node $port: its replication link is not up after 10 s"
done
: >"$dir/pod.map"
for ((i = 0; i < pod1; i++)); do
  echo "node 127.0.0.1:${ports[$i]} medium ${media[$i]}${gports[$i]:+ gateway 127.0.0.1:${gports[$i]}}" >>"$dir/pod.map"
done
# the gateways: each in front of its node's ring, the pod map naming all of them
for ((i = 0; i < ${#gports[@]}; i++)); do
  gp=${gports[$i]}
  "$build/bin/cxl_resp_gateway" --path "${media[$i]}" --listen "127.0.0.1:$gp" --cluster "$dir/pod.map" --quiet \
    </dev/null >"$dir/gateway-$gp.log" 2>&1 &
  echo $! >"$dir/gateway-$gp.pid"
done
for gp in "${gports[@]}"; do
  for _ in $(seq 100); do cli "$gp" ping | grep -q PONG && break; sleep 0.1; done
  cli "$gp" ping | grep -q PONG || die "the gateway on port $gp does not answer (log: $dir/gateway-$gp.log)"
done
echo "$PROG: $masters masters, $replicas replica(s) each, on ports ${ports[*]}; pod 1 (over a medium): $pod1 node(s)${gports[*]:+, gateways on ${gports[*]}}, pod.map: $dir/pod.map"
