# shellcheck shell=sh
# guest/roles/common.sh - helpers for the role scripts (busybox sh), sourced
# by each role. /init exported CXL_MEDIUM (BAR2 resource file), CXL_NAME,
# CXL_ARG_* (the cxl.* kernel parameters) and CXL_DATA (second serial port).

log() { echo "[$CXL_NAME $(cut -d' ' -f1 /proc/uptime)s] $*"; }
fail() { log "FAIL: $*"; exit 1; }
# arg NAME DEFAULT: the value of cxl.NAME= on the kernel command line
arg() { eval "echo \"\${CXL_ARG_$1:-$2}\""; }
# bytes SIZE: 32M -> 33554432
bytes() {
  case $1 in
    *K|*k) echo $(( ${1%?} << 10 )) ;; *M|*m) echo $(( ${1%?} << 20 )) ;;
    *G|*g) echo $(( ${1%?} << 30 )) ;; *) echo $(( $1 )) ;;
  esac
}

# wait_for SECONDS DESCRIPTION CMD...: run CMD every 0.2 s until it succeeds
wait_for() {
  _secs=$1 _desc=$2; shift 2
  _end=$(( $(cut -d. -f1 /proc/uptime) + _secs ))
  while ! "$@" >/dev/null 2>&1; do
    [ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ] || { log "gave up waiting for $_desc after ${_secs}s"; return 1; }
    sleep 0.2
  done
}

# show FILE: its last lines on the console (after a failure)
show() { [ -f "$1" ] && { log "--- last lines of $1"; tail -n "${2:-25}" "$1"; log "---"; }; return 0; }

# start_redis NAME PORT MODULE_ARGS...: redis-server with cxl_ring.so on the
# medium, on loopback and the VM link; waits until it answers
start_redis() {
  _name=$1 _port=$2; shift 2
  _bind=127.0.0.1
  [ -n "${CXL_ARG_ip:-}" ] && _bind="127.0.0.1 $CXL_ARG_ip"
  redis-server --port "$_port" --bind "$_bind" --protected-mode no --save '' --appendonly no \
    --dir /tmp --logfile "/tmp/$_name.log" --loadmodule /cxl/lib/cxl_ring.so path="$CXL_MEDIUM" "$@" &
  wait_for 60 "redis-server $_name" redis-cli -p "$_port" cxlring.info || { show "/tmp/$_name.log"; return 1; }
  log "redis-server $_name on port $_port: $(redis-cli -p "$_port" cxlring.info | tr '\n' ' ' | cut -c1-160)"
}

# kv_list PREFIX VALUE_TAG N: "PREFIX0 VALUE_TAG-0-NONCE PREFIX1 ..." (MSET args)
kv_list() {
  awk -v p="$1" -v t="$2" -v n="$3" -v s="$(arg nonce x)" \
    'BEGIN { for (i = 0; i < n; i++) printf "%s%d %s-%d-%s\n", p, i, t, i, s }'
}
# key_list PREFIX N / val_list VALUE_TAG N: the keys / the expected values, one a line
key_list() { awk -v p="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d\n", p, i }'; }
val_list() { awk -v t="$1" -v n="$2" -v s="$(arg nonce x)" 'BEGIN { for (i = 0; i < n; i++) printf "%s-%d-%s\n", t, i, s }'; }

# emit NAME FILE: a result file to the host over the data channel
emit() {
  [ -n "${CXL_DATA:-}" ] || { log "no data channel (/dev/ttyS1): $1 not sent"; return 0; }
  { echo "CXL-DATA-BEGIN $1"; cat "$2"; echo "CXL-DATA-END $1"; } >"$CXL_DATA"
}
