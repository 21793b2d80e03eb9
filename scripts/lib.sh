# scripts/lib.sh - shell helpers shared by the benchmark scripts, the shell
# tests and the demo:
# free ports, a redis-server with the cxl_ring module, the compare matrix's servers
# (start_matrix) and each label's isolation from the others (matrix_isolate),
# the CPU use of processes (cpu_use), cleanup of everything started (on exit,
# Ctrl-C or failure: a stopped process is continued first), and
# redis-benchmark CSV parsing.
# Source it; it sets BUILD (default build) and WORK (a private temp dir).

BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/cxl-bench.XXXXXX)
CLEANUP_PIDS=()
CLEANUP_FILES=("$WORK")

cleanup() { # never fails: under set -e a failing trap would change the exit code
  local rc=$? pid
  for pid in "${CLEANUP_PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done # (matrix_isolate may have stopped it)
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

# cluster_base_port N: a first port P such that P..P+N-1 and their cluster
# bus ports (+10000) are free, all below the ephemeral range (32768..), where
# outgoing connections could take a bus port between the check and the start
cluster_base_port() {
  local n=$1 base i busy
  for _ in $(seq 200); do
    base=$(( 10000 + RANDOM % (12768 - n) )) busy=0 # bus ports: 20000..32767
    for ((i = 0; i < n; i++)); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$((base + i))") 2>/dev/null ||
         (exec 3<>"/dev/tcp/127.0.0.1/$((base + i + 10000))") 2>/dev/null; then busy=1; break; fi
    done
    [ $busy = 0 ] && { echo "$base"; return 0; }
  done
  die "no $n free ports (and bus ports) below 32768"
}

# start_redis NAME MEDIUM_PATH [module args...]: sets REDIS_PORT, REDIS_SOCK, REDIS_LOG
# (REDIS_EXTRA, an array, adds redis-server options, e.g. a TLS port;
# REDIS_CMD, an array, is the server command: redis-server, or a wrapper
# that runs it, e.g. under Gramine: bench/compare.sh --server-wrap)
REDIS_EXTRA=() REDIS_CMD=(redis-server)
start_redis() {
  local name=$1 medium=$2; shift 2
  REDIS_PORT=$(free_port)
  REDIS_SOCK=$WORK/$name.sock
  REDIS_LOG=$WORK/$name.log
  CLEANUP_FILES+=("$medium")
  "${REDIS_CMD[@]}" --port "$REDIS_PORT" --bind 127.0.0.1 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$WORK" --logfile "$REDIS_LOG" "${REDIS_EXTRA[@]}" \
    --loadmodule "$(realpath "$BUILD/cxl_ring.so")" path="$medium" "$@" &
  REDIS_PID=$!
  CLEANUP_PIDS+=($!)
  local i
  for i in $(seq "${REDIS_START_TRIES:-100}"); do # 0.1 s each (a Gramine-SGX enclave takes longer)
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

# prefix_labels PREFIX CSV [MD]: the column "label" of CSV (by its header)
# and of the Markdown table in MD becomes PREFIX<label> on every row
prefix_labels() {
  local p=$1 f=$2
  awk -F, -v OFS=, -v p="$p" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "label") c = i; print; next }
    c && $c != "" { $c = p $c } 1' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
  [ -z "${3:-}" ] && return 0
  awk -v p="$p" 'BEGIN { FS = OFS = "|" }
    /^\| / && !c { for (i = 2; i < NF; i++) if ($i ~ /^ *label *$/) c = i; print; next }
    /^\| / && c && $c !~ /^ *:?-+:? *$/ { sub(/^ +/, " " p, $c) } 1' "$3" >"$3.tmp" && mv "$3.tmp" "$3"
}

# one-screen progress line
progress() { printf '  %-60s\r' "$*" >&2; }

# provision_secure NRINGS: a cxl_sec_mgr in $WORK/sec with a server node (1)
# and a client node (2) granted every ring; starts the daemon. Sets SEC_MGR
# (HOST:PORT), SEC_MGR_PID, SEC_DIR, SEC_SERVER_KEY, SEC_CLIENT_KEY.
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
  SEC_MGR_PID=$!
  CLEANUP_PIDS+=($!)
  for i in $(seq 50); do
    "$mgr" fetch --key "$SEC_DIR/client.key" --node-id 2 --mgr "$SEC_MGR" --ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  SEC_SERVER_KEY=$SEC_DIR/server.key
  SEC_CLIENT_KEY=$SEC_DIR/client.key
}

# --- the compare matrix (bench/compare.sh, bench/ycsb_compare.sh) ---------------------
# Its labels: NativeTCP NativeUnix NativeTLS (Redis's own sockets), SodiumTCP
# (TCP through cxl_sodium_tunnel), Ring, RingCrypto (shared key file),
# RingSecure (keys and ACL from cxl_sec_mgr).
MATRIX_ALL=NativeTCP,NativeUnix,NativeTLS,SodiumTCP,Ring,RingCrypto,RingSecure

# matrix_labels LABELS CLIENT...: checks the comma list LABELS (dies naming an
# unknown one) and that the CLIENT programs and the servers the labels need
# are built; sets MATRIX_LABELS
matrix_labels() {
  local l b
  MATRIX_LABELS=$1; shift
  for l in ${MATRIX_LABELS//,/ }; do
    [[ ,$MATRIX_ALL, == *",$l,"* ]] || die "--labels: unknown label $l"
  done
  for b in "$@" cxl_sec_mgr $(matrix_wants SodiumTCP && echo cxl_sodium_tunnel); do
    [ -x "$BUILD/bin/$b" ] || die "$BUILD/bin/$b is not built (make)"
  done
}
matrix_wants() { [[ ,$MATRIX_LABELS, == *",$1,"* ]]; } # LABEL: is it in MATRIX_LABELS?

# matrix_order ROUND: MATRIX_LABELS, forward in odd rounds, backward in even ones
matrix_order() {
  if [ $(($1 % 2)) -eq 1 ]; then echo "${MATRIX_LABELS//,/ }"
  else echo "${MATRIX_LABELS//,/ }" | tr ' ' '\n' | tac | tr '\n' ' '; fi
}

# matrix_delay DELAY [MODEL [BW]]: the remote-memory model (docs/RING.md, "The
# delay model"). An empty DELAY means: on a host with two NUMA nodes or more,
# the medium bound to the last node and no delay, else CXL_SHM_DELAY_NS=150.
# MODEL mlp (default) or serial, BW the device's GB/s (default 25). Sets
# MATRIX_DELAY, MATRIX_DELAY_MODEL, MATRIX_DELAY_BW, MATRIX_DELAY_TEXT (as the
# programs print it), MATRIX_NODES and the array MATRIX_NUMA (module args);
# exports CXL_SHM_DELAY_NS, CXL_SHM_DELAY_MODEL, CXL_SHM_DELAY_BW_GBPS.
matrix_delay() {
  MATRIX_DELAY=$1 MATRIX_DELAY_MODEL=${2:-mlp} MATRIX_DELAY_BW=${3:-25} MATRIX_NUMA=()
  [ -z "$MATRIX_DELAY" ] || [[ $MATRIX_DELAY =~ ^[0-9]+$ ]] || die "--delay-ns: need a number"
  [[ $MATRIX_DELAY_MODEL == mlp || $MATRIX_DELAY_MODEL == serial ]] ||
    die "--delay-model: '$MATRIX_DELAY_MODEL' is not a delay model (serial or mlp)"
  [[ $MATRIX_DELAY_BW =~ ^[0-9]+$ ]] && [ "$MATRIX_DELAY_BW" -ge 1 ] && [ "$MATRIX_DELAY_BW" -le 1000 ] ||
    die "--delay-bw-gbps: need a whole number of GB/s in [1, 1000], not '$MATRIX_DELAY_BW'"
  MATRIX_NODES=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
  if [ -z "$MATRIX_DELAY" ]; then
    if [ "$MATRIX_NODES" -ge 2 ]; then MATRIX_DELAY=0 MATRIX_NUMA=(numa_node=$((MATRIX_NODES - 1)))
    else MATRIX_DELAY=150; fi
  fi
  export CXL_SHM_DELAY_NS=$MATRIX_DELAY CXL_SHM_DELAY_MODEL=$MATRIX_DELAY_MODEL CXL_SHM_DELAY_BW_GBPS=$MATRIX_DELAY_BW
  if [ "$MATRIX_DELAY" = 0 ]; then MATRIX_DELAY_TEXT=off
  elif [ "$MATRIX_DELAY_MODEL" = serial ]; then MATRIX_DELAY_TEXT="serial L=${MATRIX_DELAY}ns"
  else MATRIX_DELAY_TEXT="mlp L=${MATRIX_DELAY}ns BW=${MATRIX_DELAY_BW}GB/s"; fi
}

# matrix_machine NAME: a warning when the CPUs are busy before the run (1 s of
# /proc/stat: others' work makes noise), then what the figures ran on
# (cores, NUMA nodes, the delay model, redis-server's version), no newline
matrix_machine() {
  local busy
  busy=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; sleep 1; awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
  busy=$(echo $busy | awk '{ b = $3 - $1; i = $4 - $2; printf "%d", (b + i) ? 100 * b / (b + i) : 0 }')
  if [ "$busy" -gt 20 ]; then
    echo "$1: WARNING: the CPUs were ${busy}% busy before the run: other work competes and the figures will be noisy" >&2
  fi
  printf '%s' "$1: $(nproc) cores, $MATRIX_NODES NUMA node(s), delay model $MATRIX_DELAY_TEXT${MATRIX_NUMA:+ (medium on node $((MATRIX_NODES - 1)))}, redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2)"
}

# matrix_fail MESSAGE: copies every log of the run to $MATRIX_LOGS, then dies
# naming it (cleanup stops what was started)
matrix_fail() {
  mkdir -p "$MATRIX_LOGS" && find "$WORK" -name '*.log' -exec cp {} "$MATRIX_LOGS/" \; 2>/dev/null
  die "$*; logs: $MATRIX_LOGS/"
}

# start_matrix LABELS RINGS DELAY [numa module args...]: starts what the labels
# need, each registered for cleanup: Redis with the plain ring medium on TCP, a
# Unix socket and TLS (always); the cxl_sodium_tunnel pair (SodiumTCP); Redis
# with the crypto ring (RingCrypto); cxl_sec_mgr and Redis with the secure ring
# (RingSecure). Media are /dev/shm/cxl_<script>_<kind>_<pid>.raw, RINGS rings.
# Sets MATRIX_TCP_PORT, MATRIX_SOCK, MATRIX_TLS_PORT (and exports
# CXL_TLS_CAFILE), MATRIX_TUN (HOST:PORT of the tunnel's client end) and
# MATRIX_TUN_PORT, MATRIX_PLAIN, MATRIX_CRYPTO, MATRIX_CRYPTO_SECRET,
# MATRIX_SECURE (the media), SEC_MGR and SEC_CLIENT_KEY (provision_secure), and
# the TCP port of each Redis: MATRIX_PLAIN_PORT, MATRIX_CRYPTO_PORT,
# MATRIX_SECURE_PORT (see matrix_redis_port), and MATRIX_PROCS, every server
# process as NAME:PID (matrix_isolate). A failure calls matrix_fail.
start_matrix() {
  MATRIX_LABELS=$1
  local rings=$2 delay=$3 tun tun_srv n pre
  shift 3
  set -- delay_model="${MATRIX_DELAY_MODEL:-mlp}" delay_bw_gbps="${MATRIX_DELAY_BW:-25}" "$@"
  pre=/dev/shm/cxl_$(basename "$0" .sh)
  printf '  starting %s\n' "Redis (TCP, Unix, TLS) with the plain ring" >&2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1 || die "openssl could not make a certificate"
  export CXL_TLS_CAFILE=$WORK/tls.crt
  MATRIX_TLS_PORT=$(free_port)
  REDIS_EXTRA=(--tls-port "$MATRIX_TLS_PORT" --tls-cert-file "$WORK/tls.crt" --tls-key-file "$WORK/tls.key"
               --tls-ca-cert-file "$WORK/tls.crt" --tls-auth-clients no)
  MATRIX_PLAIN=${pre}_plain_$$.raw
  start_redis plain "$MATRIX_PLAIN" map_size=256M rings=$rings delay_ns=$delay "$@"
  MATRIX_PROCS=(redis-plain:$REDIS_PID)
  REDIS_EXTRA=()
  MATRIX_TCP_PORT=$REDIS_PORT MATRIX_SOCK=$REDIS_SOCK MATRIX_PLAIN_PORT=$REDIS_PORT

  if matrix_wants SodiumTCP; then
    printf '  starting %s\n' "cxl_sodium_tunnel (server -> Redis, client <- benchmark)" >&2
    tun=$WORK/tunnel; mkdir -p "$tun"
    "$BUILD/bin/cxl_sec_mgr" keygen --out "$tun/server.key" >/dev/null 2>&1 &&
      "$BUILD/bin/cxl_sec_mgr" keygen --out "$tun/client.key" >/dev/null 2>&1 || die "cannot make tunnel keys"
    for n in server client; do sed -n '/^public /p' "$tun/$n.key" >"$tun/$n.pub"; done # each end gets the other's public key only
    tun_srv=127.0.0.1:$(free_port) MATRIX_TUN_PORT=$(free_port)
    MATRIX_TUN=127.0.0.1:$MATRIX_TUN_PORT
    start_tunnel server "$tun_srv" 127.0.0.1:$MATRIX_TCP_PORT "$tun/server.key" "$tun/client.pub" "$tun/server.log"
    MATRIX_PROCS+=(tunnel-server:$TUN_PID)
    start_tunnel client "$MATRIX_TUN" "$tun_srv" "$tun/client.key" "$tun/server.pub" "$tun/client.log"
    MATRIX_PROCS+=(tunnel-client:$TUN_PID)
    redis-cli -p "$MATRIX_TUN_PORT" ping >/dev/null 2>&1 || matrix_fail "the sodium tunnel does not reach Redis"
  fi

  if matrix_wants RingCrypto; then
    printf '  starting %s\n' "Redis with the secure ring, crypto mode" >&2
    MATRIX_CRYPTO_SECRET=$WORK/crypto.secret
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$MATRIX_CRYPTO_SECRET"; chmod 600 "$MATRIX_CRYPTO_SECRET"
    MATRIX_CRYPTO=${pre}_crypto_$$.raw
    start_redis crypto "$MATRIX_CRYPTO" map_size=256M rings=$rings delay_ns=$delay crypto=1 \
      key_file="$MATRIX_CRYPTO_SECRET" "$@"
    MATRIX_CRYPTO_PORT=$REDIS_PORT
    MATRIX_PROCS+=(redis-crypto:$REDIS_PID)
  fi

  if matrix_wants RingSecure; then
    printf '  starting %s\n' "cxl_sec_mgr and Redis with the secure ring" >&2
    provision_secure "$rings"
    MATRIX_SECURE=${pre}_secure_$$.raw
    start_redis secure "$MATRIX_SECURE" map_size=256M rings=$rings delay_ns=$delay secure=1 sec_mgr="$SEC_MGR" \
      node_id=1 key="$SEC_SERVER_KEY" "$@"
    MATRIX_SECURE_PORT=$REDIS_PORT
    MATRIX_PROCS+=(sec_mgr:$SEC_MGR_PID redis-secure:$REDIS_PID)
  fi
}

# matrix_redis_port LABEL: the TCP port of the Redis behind LABEL (e.g. to
# FLUSHALL it): the crypto and the secure ring have their own, every other
# label reaches the plain one
matrix_redis_port() {
  case $1 in
    RingCrypto) echo "$MATRIX_CRYPTO_PORT" ;;
    RingSecure) echo "$MATRIX_SECURE_PORT" ;;
    *) echo "$MATRIX_PLAIN_PORT" ;;
  esac
}

# --- isolation: a label runs while the other labels' servers are idle ----------------
# On 2 cores a server spinning on its rings takes a core from the label being
# measured (issue 15: Ring SET ran at 102-192 k req/s in the full matrix, 401 k
# alone). Before each label, matrix_isolate measures the CPU use of every other
# server of the matrix over MATRIX_ISO_WINDOW_MS (500) and waits, up to
# MATRIX_ISO_WAIT_S (5), until each uses less than MATRIX_ISO_MAX_PCT (3) % of
# a core; one still busy then is stopped (SIGSTOP) while the label runs, and
# matrix_release continues it (cleanup continues it too, on any exit).
# MATRIX_ISOLATION=stop (the default) then stops every other server while
# the label runs, idle or not: an idle ring server still wakes every few ms
# to poll, and on 2 cores each wake-up takes a core from a spinning client
# or server (2026-12-04: Ring's read p99 in YCSB A 20 us alone, 76-119 us
# with the crypto and secure servers idle beside it; throughput -15%).
# MATRIX_ISOLATION=idle stops only the busy ones (the behaviour before).
# A stopped secure server's keys may expire while it is stopped; after SIGCONT
# it fetches them again (~100 ms) before it serves: the next label's 500 ms
# measurement covers that. A script killed with SIGKILL leaves its servers
# stopped (kill -CONT them): every other exit continues them (cleanup).
MATRIX_ISOLATION=${MATRIX_ISOLATION:-stop}
case $MATRIX_ISOLATION in stop | idle) ;; *) die "MATRIX_ISOLATION: '$MATRIX_ISOLATION' is not stop or idle" ;; esac
MATRIX_ISO_WINDOW_MS=${MATRIX_ISO_WINDOW_MS:-500}
MATRIX_ISO_MAX_PCT=${MATRIX_ISO_MAX_PCT:-3}
MATRIX_ISO_WAIT_S=${MATRIX_ISO_WAIT_S:-5}
MATRIX_STOPPED=() MATRIX_ISO_RUNS=0 MATRIX_ISO_IDLE=0 MATRIX_ISO_STOPS=()

# proc_ticks PID: the CPU time (user + system, clock ticks) PID has used; empty if it is gone
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || true; }

# cpu_use MS PID...: "PID PERCENT" per PID, its CPU use over MS milliseconds
# in % of one core (from /proc/PID/stat: one clock tick, 10 ms, is the
# resolution), PERCENT "gone" for a process that is not there
cpu_use() {
  local ms=$1 pid t0=() t1 i=0 s0 ns hz
  shift
  hz=$(getconf CLK_TCK)
  for pid in "$@"; do t0+=("$(proc_ticks "$pid")"); done
  s0=$(date +%s%N)
  sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
  ns=$(($(date +%s%N) - s0))
  for pid in "$@"; do
    t1=$(proc_ticks "$pid")
    awk -v p="$pid" -v a="${t0[$i]}" -v b="$t1" -v ns="$ns" -v hz="$hz" \
      'BEGIN { if (a == "" || b == "") print p, "gone"; else printf "%s %.1f\n", p, 100 * (b - a) / hz / (ns / 1e9) }'
    i=$((i + 1))
  done
}

# matrix_procs_of LABEL: the names (in MATRIX_PROCS) of the servers LABEL uses
matrix_procs_of() {
  case $1 in
    SodiumTCP) echo redis-plain tunnel-server tunnel-client ;;
    RingCrypto) echo redis-crypto ;;
    RingSecure) echo redis-secure sec_mgr ;; # (its clients fetch their keys from the manager)
    *) echo redis-plain ;;
  esac
}

# matrix_isolate LABEL: see above; prints one line ("  isolation: ..."), also
# appended to MATRIX_ISO_LOG if set, and counts for matrix_isolation_note
matrix_isolate() {
  local label=$1 own p others=() pids=() said busy=() line deadline=$((SECONDS + MATRIX_ISO_WAIT_S)) t0=$SECONDS
  own=" $(matrix_procs_of "$label") "
  for p in "${MATRIX_PROCS[@]}"; do [[ $own == *" ${p%:*} "* ]] || { others+=("$p"); pids+=("${p#*:}"); }; done
  MATRIX_ISO_RUNS=$((MATRIX_ISO_RUNS + 1))
  if [ ${#others[@]} -eq 0 ]; then
    line="$label: no other server"
  else
    while :; do
      said=() busy=()
      local i=0 pct
      while read -r p pct; do
        said+=("${others[$i]} $pct$([ "$pct" = gone ] || echo %)")
        [ "$pct" != gone ] && awk -v x="$pct" -v m="$MATRIX_ISO_MAX_PCT" 'BEGIN { exit !(x >= m) }' && busy+=("${others[$i]}")
        i=$((i + 1))
      done < <(cpu_use "$MATRIX_ISO_WINDOW_MS" "${pids[@]}")
      # stop mode: one measurement for the record, no waiting (all of them are stopped anyway)
      [ ${#busy[@]} -eq 0 ] || [ $SECONDS -ge $deadline ] || [ "$MATRIX_ISOLATION" = stop ] && break
    done
    line=$(printf '%s, ' "${said[@]}") # "NAME:PID 0.4%, ..." ("gone": the process is no longer there)
    line=${line%, }
    if [ ${#busy[@]} -eq 0 ]; then
      MATRIX_ISO_IDLE=$((MATRIX_ISO_IDLE + 1))
      line="$label: other servers idle ($line)"
      [ $((SECONDS - t0)) -le 1 ] || line+=" after $((SECONDS - t0)) s"
      if [ "$MATRIX_ISOLATION" = stop ]; then
        for p in "${others[@]}"; do kill -STOP "${p#*:}" 2>/dev/null && MATRIX_STOPPED+=("${p#*:}"); done
        line+=", then stopped (SIGSTOP) while it runs"
      fi
    elif [ "$MATRIX_ISOLATION" = stop ]; then
      for p in "${others[@]}"; do kill -STOP "${p#*:}" 2>/dev/null && MATRIX_STOPPED+=("${p#*:}"); done
      MATRIX_ISO_STOPS+=("${busy[@]%:*}")
      line="$label: busy: ${busy[*]}; every other server stopped (SIGSTOP) while it runs ($line)"
    else
      for p in "${busy[@]}"; do kill -STOP "${p#*:}" 2>/dev/null && MATRIX_STOPPED+=("${p#*:}"); done
      MATRIX_ISO_STOPS+=("${busy[@]%:*}")
      line="$label: still busy after ${MATRIX_ISO_WAIT_S} s, stopped (SIGSTOP) while it runs: ${busy[*]} ($line)"
    fi
  fi
  printf '  isolation: %s\n' "$line" >&2
  [ -z "${MATRIX_ISO_LOG:-}" ] || echo "$line" >>"$MATRIX_ISO_LOG"
}

# matrix_release: continues what matrix_isolate stopped
matrix_release() {
  local pid
  for pid in "${MATRIX_STOPPED[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
  MATRIX_STOPPED=()
}

# matrix_isolation_note: one sentence for the table's notes
matrix_isolation_note() {
  local stops=
  [ ${#MATRIX_ISO_STOPS[@]} -eq 0 ] ||
    stops=$(printf '%s\n' "${MATRIX_ISO_STOPS[@]}" | sort | uniq -c | awk '{ printf "%s%s %d time(s)", n++ ? ", " : "", $2, $1 }')
  printf 'Isolation: before each label ran, every other server of the matrix was measured (CPU over %s ms, < %s%% of a core is idle, waiting up to %s s): idle before %d of %d runs' \
    "$MATRIX_ISO_WINDOW_MS" "$MATRIX_ISO_MAX_PCT" "$MATRIX_ISO_WAIT_S" "$MATRIX_ISO_IDLE" "$MATRIX_ISO_RUNS"
  [ "$MATRIX_ISOLATION" != stop ] || printf ', and stopped (SIGSTOP) while the label ran (MATRIX_ISOLATION=stop)'
  [ -z "$stops" ] || [ "$MATRIX_ISOLATION" = stop ] ||
    printf '; still busy, hence stopped (SIGSTOP) while the label ran: %s' "$stops"
  [ -z "$stops" ] || [ "$MATRIX_ISOLATION" != stop ] || printf '; found busy: %s' "$stops"
  printf '.'
}
