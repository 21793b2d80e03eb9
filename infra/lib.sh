# shellcheck shell=bash
# infra/lib.sh - helpers shared by the infra/ scripts and scripts/host_quickstart.sh,
# and what the two VM launchers (run_vms.sh, run_cloud_vms.sh) have in common.
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

# usage_from_header FILE: the comment block atop FILE (the lines after "#!"
# up to the first line that is not a comment), without the leading "# "
usage_from_header() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"
}

# need FLAG [VALUE ...]: FLAG was given a non-empty VALUE (call it with "$@")
need() { [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"; }

# --- the two VM launchers ------------------------------------------------------------------
# infra/run_vms.sh (initramfs guests) and infra/run_cloud_vms.sh (cloud-image
# guests) share what follows: the flags both take, their checks, KVM or TCG,
# the QEMU command line up to the guest's own part (NUMA binding, the ivshmem
# medium, the VM link), the log directory, the cloud VMs' pid files and the
# cleanup of what a launcher started. A launcher sets ROOT (the repository)
# and PROG, sources this file and calls vms_init; its reports start with
# "${PROG%.sh}: ".

vms_say() { echo "${PROG%.sh}: $*"; }

# vms_state_dir: where the cloud-image VMs' pid files and QEMU monitors are
vms_state_dir() { echo "${VM_STATE_DIR:-/tmp/cxl-vms-$(id -u)}"; }

# cloud_vm_pid N: prints the pid of cloud-image VM N if it runs (status 1 if not)
cloud_vm_pid() {
  local pf pid
  pf=$(vms_state_dir)/vm$1.pid
  [ -f "$pf" ] || return 1
  pid=$(cat "$pf")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# vms_init: the shared settings at their defaults, the environment read, the
# cleanup armed (processes in PIDS are stopped and TMPD is removed on exit)
# shellcheck disable=SC2034 # the settings are the launchers'
vms_init() {
  cxl="" cxl_size="" cxl_bytes=0 accel=${CXL_VM_ACCEL:-auto} accel_why="" cpu="" dry=0 log_dir="" label=""
  declare -gA V=() LPORT=()
  QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
  VM_STATE_DIR=$(vms_state_dir)
  VMNET_ENABLE=${VMNET_ENABLE:-1}
  MAC=([1]="${VMNET_VM1_MAC:-52:54:00:12:34:01}" [2]="${VMNET_VM2_MAC:-52:54:00:12:34:02}")
  IP=([1]="${VMNET_VM1_IP:-192.168.100.1}" [2]="${VMNET_VM2_IP:-192.168.100.2}")
  PIDS=() TMPD=""
  vms_tee_init
  trap vms_cleanup EXIT
  trap 'echo "${PROG%.sh}: interrupted: stopping the VMs" >&2; exit 130' INT TERM
}

vms_cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ -z "$TMPD" ] || rm -rf "$TMPD"
  return $rc
}

# vms_flag ARGS...: when ARGS starts with a flag both launchers take, stores
# it and sets VMS_SHIFT to the words it used; status 1 for any other word
# shellcheck disable=SC2034 # the settings are the launchers'
vms_flag() {
  VMS_SHIFT=2
  case $1 in
    --cxl) need "$@"; cxl=$2 ;;
    --cxl-size) need "$@"; cxl_size=$2 ;;
    --vm[12]-mem|--vm[12]-cpus) need "$@"; V[${1:4:1},${1:6}]=$2 ;;
    --accel) need "$@"; accel=$2 ;;
    --log-dir) need "$@"; log_dir=$2 ;;
    --label) need "$@"; label=$2 ;;
    --dry-run) dry=1; VMS_SHIFT=1 ;;
    --tdx|--tdx-bios|--sgx-epc) vms_tee_flag "$@" ;; # the TEE guests (below)
    *) return 1 ;;
  esac
}

vms_check_accel() {
  case $accel in auto|kvm|tcg) ;; *) usage_error "--accel '$accel': auto, kvm or tcg (CXL_VM_ACCEL)" ;; esac
}

# vms_check: the shared flags and the NUMA settings; sets cxl_bytes
vms_check() {
  [ -n "$cxl" ] || usage_error "--cxl PATH is required (create it: infra/create_cxl_shared.sh PATH SIZE)"
  [[ $cxl != *,* ]] || usage_error "--cxl '$cxl' has a comma (QEMU reads it as an option separator): rename it"
  local n
  for n in 1 2; do # they go into QEMU options and the guest's kernel command line
    [[ ${MAC[$n]} =~ ^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$ ]] || usage_error "VMNET_VM${n}_MAC '${MAC[$n]}' is not a MAC address"
    [[ ${IP[$n]} =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || usage_error "VMNET_VM${n}_IP '${IP[$n]}' is not an IPv4 address"
  done
  [ -n "$cxl_size" ] || usage_error "--cxl-size SIZE is required"
  cxl_bytes=$(size_to_bytes "$cxl_size") || usage_error "--cxl-size '$cxl_size' is not a size (e.g. 64M, 4G)"
  [ $((cxl_bytes & (cxl_bytes - 1))) -eq 0 ] && [ "$cxl_bytes" -ge $((1 << 20)) ] ||
    usage_error "--cxl-size '$cxl_size' must be a power of two of at least 1M (an ivshmem BAR)"
  vms_check_accel
  numa_node_ok VM1_CPU_NODE "${VM1_CPU_NODE:-}"
  numa_node_ok VM2_CPU_NODE "${VM2_CPU_NODE:-}"
  numa_node_ok CXL_MEM_NODE "${CXL_MEM_NODE:-}"
  vms_tee_check
}

# vms_check_vm N: VM N's --vmN-mem and --vmN-cpus (after the launcher's defaults)
vms_check_vm() {
  size_to_bytes "${V[$1,mem]}" >/dev/null || usage_error "--vm$1-mem '${V[$1,mem]}' is not a size (e.g. 512M, 4G)"
  [[ ${V[$1,cpus]} =~ ^[1-9][0-9]*$ ]] || usage_error "--vm$1-cpus '${V[$1,cpus]}' is not a CPU count"
}

# vms_check_host: what a real start needs on the host (QEMU, the medium file,
# numactl for a CPU binding); then --cxl as an absolute path (QEMU started
# with -daemonize leaves the current directory)
vms_check_host() {
  if [ "$dry" = 0 ]; then
    command -v "$QEMU_BIN" >/dev/null || die "$QEMU_BIN not found (bash scripts/deps.sh vm: qemu-system-x86)"
    [ -f "$cxl" ] || die "--cxl: no file '$cxl' (create it: infra/create_cxl_shared.sh $cxl $cxl_size)"
    local fsize
    fsize=$(stat -c %s "$cxl")
    [ "$fsize" -ge "$cxl_bytes" ] || die "--cxl '$cxl' has $fsize bytes, less than --cxl-size $cxl_size ($cxl_bytes)"
    if [ -n "${VM1_CPU_NODE:-}${VM2_CPU_NODE:-}" ]; then
      command -v numactl >/dev/null || die "VM1_CPU_NODE/VM2_CPU_NODE need numactl (apt-get install numactl)"
    fi
  fi
  cxl=$(realpath -m "$cxl")
  [[ $cxl != *,* ]] || usage_error "--cxl resolves to '$cxl', which has a comma (QEMU reads it as an option separator)"
}

# vms_log_dir LABEL: log_dir (default results/vm/<time>-<--label or LABEL>),
# created with TMPD unless this is a dry run
vms_log_dir() {
  label=${label:-$1}
  log_dir=${log_dir:-$ROOT/results/vm/$(date +%Y%m%d-%H%M%S)-$label}
  if [ "$dry" = 0 ]; then
    mkdir -p "$log_dir"
    log_dir=$(realpath "$log_dir")
    TMPD=$(mktemp -d /tmp/cxl-vms.XXXXXX)
  fi
}

# --- KVM or TCG: KVM when a probe boot of the initramfs guest works ---------------------------
vms_kvm_usable() { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }
vms_probe_kvm() { # KERNEL INITRD: 0 if the guest kernel boots under KVM within 10 s
  local plog=$TMPD/probe.log pid
  { "$QEMU_BIN" -name probe -machine q35,accel=kvm -cpu host -m 256M -nodefaults -no-user-config \
      -display none -serial "file:$plog" -no-reboot -kernel "$1" -initrd "$2" \
      -append "console=ttyS0 quiet loglevel=3 panic=-1 cxl.role=probe cxl.name=probe cxl.timeout=5"
  } >"$TMPD/probe.qemu.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 100); do
    grep -aq 'CXL-VM-RESULT: PASS' "$plog" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  grep -aq 'CXL-VM-RESULT: PASS' "$plog" 2>/dev/null
}

# vms_resolve_accel [KERNEL INITRD]: accel becomes kvm or tcg (auto probes with
# the initramfs guest, build/vm/ by default, when it is built), with the reason
# in accel_why and the guest CPU model in cpu
# shellcheck disable=SC2034 # accel_why and cpu are the launchers'
vms_resolve_accel() {
  local pk=${1:-$ROOT/build/vm/vmlinuz} pi=${2:-$ROOT/build/vm/initramfs.cpio.gz} cache
  vms_check_accel
  accel_why=""
  if [ "$accel" = auto ]; then
    cache=$(dirname "$pi")/accel.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
    if ! vms_kvm_usable; then
      accel=tcg accel_why="auto: no usable /dev/kvm"
    elif [ -f "$cache" ]; then
      accel=$(cat "$cache") accel_why="auto: probed earlier this boot ($cache)"
    elif [ ! -f "$pk" ] || [ ! -f "$pi" ]; then
      accel=kvm accel_why="auto: /dev/kvm, not probed (no guest built: make vm); CXL_VM_ACCEL=tcg if the guests hang"
    elif [ "$dry" = 1 ]; then
      accel=tcg accel_why="auto: not probed in a dry run"
    else
      vms_say "probing KVM (a guest boot with a 10 s deadline) ..." >&2
      if vms_probe_kvm "$pk" "$pi"; then accel=kvm; else accel=tcg; fi
      echo "$accel" >"$cache" 2>/dev/null || true
      accel_why="auto: the KVM probe $([ $accel = kvm ] && echo booted || echo 'did not boot (nested KVM?)'); cached in $cache"
    fi
  else
    accel_why="asked for"
    if [ "$accel" = kvm ] && [ "$dry" = 0 ] && ! vms_kvm_usable; then
      die "--accel kvm: /dev/kvm is missing or not accessible"
    fi
  fi
  if [ "$accel" = kvm ]; then cpu=host; else cpu=max; fi
}

# --- the QEMU command line ---------------------------------------------------------------------
# vms_link_ports: the UDP ports of the VM link (fixed in a dry run)
vms_link_ports() {
  [ "$VMNET_ENABLE" = 1 ] || return 0
  if [ "$dry" = 1 ]; then LPORT[1]=40001 LPORT[2]=40002; else LPORT[1]=$(free_port udp) LPORT[2]=$(free_port udp); fi
}

# vms_qemu_cmd N: CMD (an array) becomes VM N's command line up to the guest's
# own part: the NUMA binding, QEMU with the machine, CPUs and memory, the
# shared medium as an ivshmem device (PCI BAR2 in the guest), the VM link
# shellcheck disable=SC2054 # commas inside QEMU option values
vms_qemu_cmd() {
  local n=$1 peer=$((3 - $1)) node_var=VM$1_CPU_NODE mem_obj
  mem_obj="memory-backend-file,id=cxl,share=on,mem-path=$cxl,size=$cxl_bytes"
  [ -z "${CXL_MEM_NODE:-}" ] || mem_obj+=",host-nodes=$CXL_MEM_NODE,policy=bind"
  CMD=()
  [ -z "${!node_var:-}" ] || CMD+=(numactl "--cpunodebind=${!node_var}" "--membind=${!node_var}" --)
  CMD+=("$QEMU_BIN" -name "vm$n" -machine "q35,accel=$accel" -cpu "$cpu" -smp "${V[$n,cpus]}" -m "${V[$n,mem]}"
        -nodefaults -no-user-config -display none
        -object "$mem_obj" -device ivshmem-plain,memdev=cxl,id=ivshmem0)
  if [ "$VMNET_ENABLE" = 1 ]; then
    CMD+=(-netdev "socket,id=link,udp=127.0.0.1:${LPORT[$peer]},localaddr=127.0.0.1:${LPORT[$n]}"
          -device "virtio-net-pci,netdev=link,mac=${MAC[$n]}")
  fi
  vms_tee_cmd
}

# --- TEE guests: --tdx and --sgx-epc SIZE (docs/TEE.md) ------------------------------------
# Without these flags nothing below changes a command line. --tdx makes each
# VM an Intel TDX guest (a trust domain): KVM only, the machine's
# confidential-guest-support=tdx0 with kernel-irqchip=split, a tdx-guest
# object, TDVF (a TDX-enabled OVMF) as -bios (--tdx-bios FILE or TDX_BIOS).
# Guest RAM stays QEMU's default RAM (private, encrypted by the TDX module;
# QEMU gives it guest_memfd itself); the medium stays the shared
# memory-backend-file behind ivshmem-plain: a device BAR, shared with the host
# and never encrypted. --sgx-epc SIZE gives each VM SIZE of SGX EPC (virtual
# EPC from the host's /dev/sgx_vepc): -object memory-backend-epc and
# -machine sgx-epc.0.memdev=epc0,sgx-epc.0.node=0 (QEMU >= 7.0, as in
# docs/system/i386/sgx.rst), KVM only.
vms_tee_init() { tdx=0 tdx_bios="" sgx_epc="" sgx_epc_bytes=0; }

# vms_tee_flag ARGS...: --tdx, --tdx-bios FILE, --sgx-epc SIZE (called by vms_flag)
vms_tee_flag() {
  VMS_SHIFT=2
  case $1 in
    --tdx) tdx=1; VMS_SHIFT=1 ;;
    --tdx-bios) need "$@"; tdx_bios=$2 ;;
    --sgx-epc) need "$@"; sgx_epc=$2 ;;
  esac
}

# vms_tdx_bios_default: TDX_BIOS, else the first TDVF/OVMF that exists
vms_tdx_bios_default() {
  local f
  for f in /usr/share/ovmf/OVMF.inteltdx.fd /usr/share/qemu/OVMF.inteltdx.fd /usr/share/OVMF/OVMF.inteltdx.fd \
           /usr/share/ovmf/OVMF.fd /usr/share/qemu/OVMF.fd; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

# vms_tee_check: the TEE flags' checks (called by vms_check); a TEE guest
# needs KVM, so --accel auto becomes kvm and --accel tcg is refused
vms_tee_check() {
  [ -n "$tdx_bios" ] && [ "$tdx" = 0 ] && usage_error "--tdx-bios without --tdx"
  [ "$tdx" = 0 ] && [ -z "$sgx_epc" ] && return 0
  [ "$tdx" = 1 ] && [ -n "$sgx_epc" ] && usage_error "--tdx and --sgx-epc do not mix (a TDX guest has no SGX)"
  local what=--tdx
  if [ -n "$sgx_epc" ]; then
    what=--sgx-epc
    sgx_epc_bytes=$(size_to_bytes "$sgx_epc") || usage_error "--sgx-epc '$sgx_epc' is not a size (e.g. 64M)"
    [ "$sgx_epc_bytes" -ge 4096 ] && [ $((sgx_epc_bytes % 4096)) -eq 0 ] ||
      usage_error "--sgx-epc '$sgx_epc': a whole number of 4 KiB pages"
  fi
  case $accel in
    tcg) usage_error "$what needs KVM: not with --accel tcg" ;;
    auto) accel=kvm ;;
  esac
  if [ "$tdx" = 1 ]; then
    tdx_bios=${tdx_bios:-${TDX_BIOS:-}}
    [ -n "$tdx_bios" ] || tdx_bios=$(vms_tdx_bios_default) ||
      { [ "$dry" = 1 ] && tdx_bios=/usr/share/ovmf/OVMF.inteltdx.fd; } ||
      die "--tdx: no TDVF firmware found: give --tdx-bios FILE (or TDX_BIOS), e.g. OVMF.inteltdx.fd"
    [ "$dry" = 1 ] || [ -f "$tdx_bios" ] || die "--tdx-bios: no file '$tdx_bios'"
    tdx_bios=$(realpath -m "$tdx_bios")
  fi
  if [ -n "$sgx_epc" ] && [ "$dry" = 0 ]; then
    [ -e /dev/sgx_vepc ] || die "--sgx-epc: no /dev/sgx_vepc on this host (SGX virtualization: kvm_intel sgx=1, an SGX-capable CPU)"
  fi
  return 0
}

# vms_tee_cmd: CMD (vms_qemu_cmd's) gets the TEE machine options, objects and firmware
# shellcheck disable=SC2054 # commas inside QEMU option values
vms_tee_cmd() {
  [ "$tdx" = 1 ] || [ -n "$sgx_epc" ] || return 0
  local i extra=""
  if [ "$tdx" = 1 ]; then extra=",kernel-irqchip=split,confidential-guest-support=tdx0"
  else extra=",sgx-epc.0.memdev=epc0,sgx-epc.0.node=0"; fi
  for i in "${!CMD[@]}"; do
    if [ "${CMD[$i]}" = -machine ]; then CMD[$((i + 1))]+=$extra; break; fi
  done
  if [ "$tdx" = 1 ]; then CMD+=(-object tdx-guest,id=tdx0 -bios "$tdx_bios")
  else CMD+=(-object "memory-backend-epc,id=epc0,size=$sgx_epc_bytes,prealloc=on"); fi
}
