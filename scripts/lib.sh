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
start_redis() {
  local name=$1 medium=$2; shift 2
  REDIS_PORT=$(free_port)
  REDIS_SOCK=$WORK/$name.sock
  REDIS_LOG=$WORK/$name.log
  CLEANUP_FILES+=("$medium")
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$WORK" --logfile "$REDIS_LOG" \
    --loadmodule "$(realpath "$BUILD/cxl_ring.so")" path="$medium" "$@" &
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

# one-screen progress line
progress() { printf '  %-60s\r' "$*" >&2; }
