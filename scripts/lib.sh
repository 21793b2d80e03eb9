# scripts/lib.sh - shell helpers shared by the benchmark scripts, the shell
# tests and the demo:
# free ports, a redis-server with the cxl_ring module, cleanup of everything
# started (on exit, Ctrl-C or failure), and redis-benchmark CSV parsing.
# Source it; it sets BUILD (default build) and WORK (a private temp dir).

BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/cxl-bench.XXXXXX)
CLEANUP_PIDS=()
CLEANUP_FILES=("$WORK")

cleanup() { # never fails: under set -e a failing trap would change the exit code
  local rc=$? pid
  for pid in "${CLEANUP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${CLEANUP_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "${CLEANUP_FILES[@]}" || true
  return $rc
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_redis NAME MEDIUM_PATH [module args...]: sets REDIS_PORT, REDIS_SOCK, REDIS_LOG
# (REDIS_EXTRA, an array, adds redis-server options, e.g. a TLS port)
REDIS_EXTRA=()
start_redis() {
  local name=$1 medium=$2; shift 2
  REDIS_PORT=$(free_port)
  REDIS_SOCK=$WORK/$name.sock
  REDIS_LOG=$WORK/$name.log
  CLEANUP_FILES+=("$medium")
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$WORK" --logfile "$REDIS_LOG" "${REDIS_EXTRA[@]}" \
    --loadmodule "$(realpath "$BUILD/cxl_ring.so")" path="$medium" "$@" &
  REDIS_PID=$!
  CLEANUP_PIDS+=($!)
  local i
  for i in $(seq 100); do
    redis-cli -p "$REDIS_PORT" cxlring.info >/dev/null 2>&1 && return 0
    kill -0 "${CLEANUP_PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$REDIS_LOG" >&2
  die "redis-server with the module did not start (log above: $REDIS_LOG)"
}

# rb_field CSV_TEXT TEST COLUMN: one value from redis-benchmark --csv output
# columns: 2 rps, 3 avg ms, 5 p50 ms, 7 p99 ms
rb_field() {
  echo "$1" | awk -F'","' -v t="\"$2" -v c="$3" '$1 == t { gsub(/"/, "", $c); print $c }'
}

# wait_listen HOST:PORT|unix:PATH PID LOG: until something accepts there
wait_listen() {
  local addr=$1 pid=$2 log=$3 i
  for i in $(seq 100); do
    if [[ $addr == unix:* ]]; then [ -S "${addr#unix:}" ] && return 0
    else (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null && return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$log" >&2
  die "nothing listens on $addr (log above: $log)"
}

# start_tunnel MODE LISTEN TARGET KEY PEER_KEY LOG [flags...]: one end of
# cxl_sodium_tunnel (docs/TUNNEL.md), registered for cleanup; sets TUN_PID
start_tunnel() {
  local mode=$1 listen=$2 target=$3 key=$4 peer=$5 log=$6; shift 6
  local flag=--connect; [ "$mode" = server ] && flag=--backend
  "${TUNNEL_BIN:-$BUILD/bin/cxl_sodium_tunnel}" --mode "$mode" --listen "$listen" $flag "$target" --key "$key" \
    --peer-key "$peer" "$@" 2>"$log" &
  TUN_PID=$!
  CLEANUP_PIDS+=($TUN_PID)
  wait_listen "$listen" $TUN_PID "$log"
}

# one-screen progress line
progress() { printf '  %-60s\r' "$*" >&2; }

# provision_secure NRINGS: a cxl_sec_mgr in $WORK/sec with a server node (1)
# and a client node (2) granted every ring; starts the daemon. Sets SEC_MGR
# (HOST:PORT), SEC_DIR, SEC_SERVER_KEY, SEC_CLIENT_KEY.
provision_secure() {
  local n=$1 mgr i
  mgr=$(realpath "$BUILD/bin/cxl_sec_mgr")
  SEC_DIR=$WORK/sec
  mkdir -p "$SEC_DIR"
  (cd "$SEC_DIR" && exec 2>keygen.log && "$mgr" keygen --manager --out mgr.key >/dev/null &&
   printf 'manager-key mgr.key\nmaster master.secret\nstate sec.state\naudit sec.audit\ncontrol sec.sock\nrotate 0\nrefresh 5\n' >acl.conf &&
   for i in $(seq 0 $((n - 1))); do echo "region ring$i ring $i" >>acl.conf; done &&
   "$mgr" keygen --out server.key --config acl.conf --id 1 --name server >>acl.conf &&
   "$mgr" keygen --out client.key --config acl.conf --id 2 --name client >>acl.conf &&
   for i in $(seq 0 $((n - 1))); do printf 'grant server ring%s serve\ngrant client ring%s rw\n' $i $i >>acl.conf; done) ||
    { cat "$SEC_DIR/keygen.log" >&2; die "cannot provision cxl_sec_mgr in $SEC_DIR"; }
  SEC_MGR=127.0.0.1:$(free_port)
  "$mgr" --config "$SEC_DIR/acl.conf" --listen "$SEC_MGR" 2>"$SEC_DIR/daemon.log" &
  CLEANUP_PIDS+=($!)
  for i in $(seq 50); do
    "$mgr" fetch --key "$SEC_DIR/client.key" --node-id 2 --mgr "$SEC_MGR" --ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  SEC_SERVER_KEY=$SEC_DIR/server.key
  SEC_CLIENT_KEY=$SEC_DIR/client.key
}
