# shellcheck shell=bash
# infra/lib.sh - helpers shared by the infra/ scripts and scripts/host_quickstart.sh.
# Source it after setting PROG (the name errors are reported under).

die() { echo "${PROG:-infra}: $*" >&2; exit "${DIE_RC:-1}"; }
usage_error() { echo "${PROG:-infra}: $*" >&2; exit 2; }

# size_to_bytes SIZE: 4G -> 4294967296 (K, M, G, T are powers of 1024); fails
# (status 1, no output) on anything else
size_to_bytes() {
  local n s
  [[ $1 =~ ^([0-9]+)([KkMmGgTt]?)(i?B)?$ ]] || return 1
  n=${BASH_REMATCH[1]} s=${BASH_REMATCH[2]}
  [ ${#n} -le 15 ] || return 1
  case $s in
    K|k) n=$((n << 10)) ;; M|m) n=$((n << 20)) ;; G|g) n=$((n << 30)) ;; T|t) n=$((n << 40)) ;;
  esac
  echo "$n"
}

# free_port tcp|udp: a port on 127.0.0.1 that nothing uses right now
free_port() {
  python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "${1:-tcp}"
}

# numa_node_ok VAR VALUE: VALUE is empty or an existing host NUMA node
numa_node_ok() {
  [ -z "$2" ] && return 0
  [[ $2 =~ ^[0-9]+$ ]] || usage_error "$1='$2' is not a NUMA node number"
  [ -d "/sys/devices/system/node/node$2" ] ||
    usage_error "$1=$2: this host has no NUMA node $2 (nodes: $(cd /sys/devices/system/node 2>/dev/null && echo node[0-9]* | sed 's/node//g'))"
}

# shell_quote ARGS...: one line that a shell reads back as the same words
shell_quote() {
  local out="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then out+="$a "; else out+="'${a//\'/\'\\\'\'}' "; fi
  done
  echo "${out% }"
}
