#!/usr/bin/env bash
# run_vms.sh - two QEMU VMs sharing one host file as an ivshmem device (the
# emulated CXL medium: PCI BAR2 in each guest) and a private link between
# them (docs/VMS.md).
#
# Cloud-image guests (the original prototype's path): started in the background, SSH on
# 127.0.0.1:2222 / 2223, the repository shared as 9p tag "hostshare":
#   infra/run_vms.sh --cxl /tmp/cxl_shared.raw --cxl-size 4G \
#     --vm1-disk infra/images/vm1.qcow2 --vm1-seed infra/images/seed-vm1.img \
#     --vm2-disk infra/images/vm2.qcow2 --vm2-seed infra/images/seed-vm2.img
#     [--vm1-ssh 2222] [--vm2-ssh 2223] [--vm1-mem 4G] [--vm2-mem 4G]
#     [--vm1-cpus 4] [--vm2-cpus 4] [--hostshare DIR]
#   infra/run_vms.sh --stop                 stop them (pid files in VM_STATE_DIR)
#
# Initramfs guests (make vm): each VM runs one role and powers off; this
# script waits in the foreground, prints each VM's CXL-VM-RESULT and exits 0
# when every VM passed:
#   infra/run_vms.sh --cxl FILE --cxl-size 64M --vm1-role test-server --vm2-role test-client
#     [--kernel build/vm/vmlinuz] [--initrd build/vm/initramfs.cpio.gz]
#     [--vm1-append 'cxl.key=value ...'] [--vm1-overlay DIR]  (and --vm2-...)
#     [--vm1-mem 512M] [--vm1-cpus 1] [--timeout 300] [--label NAME]
#
# Both: [--accel auto|kvm|tcg] (env CXL_VM_ACCEL; auto: KVM if a probe boot
#       works, else TCG)  [--log-dir DIR] (default results/vm/<time>-<label>)
#       [--dry-run] (print the QEMU command lines, start nothing)
#   infra/run_vms.sh --print-accel          print kvm or tcg, what auto picks here
# Environment: VM1_CPU_NODE, VM2_CPU_NODE (numactl --cpunodebind/--membind of
#   each QEMU), CXL_MEM_NODE (host node of the shared memory), QEMU_BIN,
#   VM_STATE_DIR, VMNET_ENABLE (1: the VM link), VMNET_VM1_MAC, VMNET_VM2_MAC,
#   VMNET_VM1_IP, VMNET_VM2_IP (192.168.100.1 / .2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=run_vms.sh
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"
usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; }

cxl="" cxl_size="" accel=${CXL_VM_ACCEL:-auto} dry=0 stop=0 print_accel=0 log_dir="" label="" timeout=300
kernel="" initrd="" hostshare=$ROOT
declare -A V=( [1,ssh]=2222 [2,ssh]=2223 )
need() { [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --cxl) need "$@"; cxl=$2; shift 2 ;;
    --cxl-size) need "$@"; cxl_size=$2; shift 2 ;;
    --vm[12]-disk|--vm[12]-seed|--vm[12]-ssh|--vm[12]-mem|--vm[12]-cpus|--vm[12]-role|--vm[12]-append|--vm[12]-overlay)
      need "$@"; n=${1:4:1} k=${1:6}; V[$n,$k]=$2; shift 2 ;;
    --kernel) need "$@"; kernel=$2; shift 2 ;;
    --initrd) need "$@"; initrd=$2; shift 2 ;;
    --hostshare) need "$@"; hostshare=$2; shift 2 ;;
    --accel) need "$@"; accel=$2; shift 2 ;;
    --timeout) need "$@"; timeout=$2; shift 2 ;;
    --log-dir) need "$@"; log_dir=$2; shift 2 ;;
    --label) need "$@"; label=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --stop) stop=1; shift ;;
    --print-accel) print_accel=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done

QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
VM_STATE_DIR=${VM_STATE_DIR:-/tmp/cxl-vms-$(id -u)}
VMNET_ENABLE=${VMNET_ENABLE:-1}
MAC[1]=${VMNET_VM1_MAC:-52:54:00:12:34:01} MAC[2]=${VMNET_VM2_MAC:-52:54:00:12:34:02}
IP[1]=${VMNET_VM1_IP:-192.168.100.1} IP[2]=${VMNET_VM2_IP:-192.168.100.2}

PIDS=() TMPD=""
cleanup() {
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
trap cleanup EXIT
trap 'echo "run_vms: interrupted: stopping the VMs" >&2; exit 130' INT TERM

# --- KVM or TCG: KVM when a probe boot of the guest works ------------------------------------
kvm_usable() { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }
probe_kvm() { # KERNEL INITRD: 0 if the guest kernel boots under KVM within 10 s
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
resolve_accel() { # sets accel (kvm|tcg) and accel_why
  case $accel in auto|kvm|tcg) ;; *) usage_error "--accel '$accel': auto, kvm or tcg (CXL_VM_ACCEL)" ;; esac
  accel_why=""
  if [ "$accel" = auto ]; then
    # the probe boots the initramfs guest; for cloud images too, when it is built
    pk=${kernel:-$ROOT/build/vm/vmlinuz} pi=${initrd:-$ROOT/build/vm/initramfs.cpio.gz}
    cache=$(dirname "$pi")/accel.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
    if ! kvm_usable; then
      accel=tcg accel_why="auto: no usable /dev/kvm"
    elif [ -f "$cache" ]; then
      accel=$(cat "$cache") accel_why="auto: probed earlier this boot ($cache)"
    elif [ ! -f "$pk" ] || [ ! -f "$pi" ]; then
      accel=kvm accel_why="auto: /dev/kvm, not probed (no guest built: make vm); CXL_VM_ACCEL=tcg if the guests hang"
    elif [ $dry = 1 ]; then
      accel=tcg accel_why="auto: not probed in a dry run"
    else
      echo "run_vms: probing KVM (a guest boot with a 10 s deadline) ..." >&2
      if probe_kvm "$pk" "$pi"; then accel=kvm; else accel=tcg; fi
      echo "$accel" >"$cache" 2>/dev/null || true
      accel_why="auto: the KVM probe $([ $accel = kvm ] && echo booted || echo 'did not boot (nested KVM?)'); cached in $cache"
    fi
  else
    accel_why="asked for"
    if [ "$accel" = kvm ] && [ $dry = 0 ] && ! kvm_usable; then
      die "--accel kvm: /dev/kvm is missing or not accessible"
    fi
  fi
}

# --- --print-accel: what auto (or CXL_VM_ACCEL) resolves to, probing if needed ---------------
if [ $print_accel = 1 ]; then
  TMPD=$(mktemp -d /tmp/cxl-vms.XXXXXX)
  resolve_accel
  echo "$accel"
  exit 0
fi

# --- --stop: the cloud-image VMs ------------------------------------------------------
if [ $stop = 1 ]; then
  found=0
  for n in 1 2; do
    pf=$VM_STATE_DIR/vm$n.pid
    [ -f "$pf" ] || continue
    pid=$(cat "$pf")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"; found=1
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "run_vms: stopped vm$n (pid $pid)"
    fi
    rm -f "$pf" "$VM_STATE_DIR/vm$n.monitor"
  done
  [ $found = 1 ] || echo "run_vms: no running VM recorded in $VM_STATE_DIR"
  exit 0
fi

# --- the mode and its checks -------------------------------------------------------
cloud=0 initramfs=0
for n in 1 2; do
  [ -n "${V[$n,disk]:-}${V[$n,seed]:-}" ] && cloud=1
  [ -n "${V[$n,role]:-}${V[$n,append]:-}${V[$n,overlay]:-}" ] && initramfs=1
done
[ -n "$kernel$initrd" ] && initramfs=1
[ $cloud = 1 ] && [ $initramfs = 1 ] &&
  usage_error "--vmN-disk/--vmN-seed (cloud image) and --vmN-role/--kernel/--initrd (initramfs) do not mix"
[ $cloud = 1 ] || [ $initramfs = 1 ] ||
  usage_error "nothing to run: give --vm1-disk/--vm1-seed/... (cloud image) or --vm1-role/--vm2-role (initramfs); see --help"
[ -n "$cxl" ] || usage_error "--cxl PATH is required (create it: infra/create_cxl_shared.sh PATH SIZE)"
[ -n "$cxl_size" ] || usage_error "--cxl-size SIZE is required"
cxl_bytes=$(size_to_bytes "$cxl_size") || usage_error "--cxl-size '$cxl_size' is not a size (e.g. 64M, 4G)"
[ $((cxl_bytes & (cxl_bytes - 1))) -eq 0 ] && [ "$cxl_bytes" -ge $((1 << 20)) ] ||
  usage_error "--cxl-size '$cxl_size' must be a power of two of at least 1M (an ivshmem BAR)"
case $accel in auto|kvm|tcg) ;; *) usage_error "--accel '$accel': auto, kvm or tcg (CXL_VM_ACCEL)" ;; esac
[[ $timeout =~ ^[0-9]+$ ]] && [ "$timeout" -ge 10 ] || usage_error "--timeout '$timeout': seconds, at least 10"
numa_node_ok VM1_CPU_NODE "${VM1_CPU_NODE:-}"
numa_node_ok VM2_CPU_NODE "${VM2_CPU_NODE:-}"
numa_node_ok CXL_MEM_NODE "${CXL_MEM_NODE:-}"
vms=()
if [ $cloud = 1 ]; then
  for n in 1 2; do
    for k in disk seed; do
      [ -n "${V[$n,$k]:-}" ] || usage_error "--vm$n-$k is required with the cloud-image guests"
    done
    [[ ${V[$n,ssh]} =~ ^[0-9]+$ ]] && [ "${V[$n,ssh]}" -ge 1 ] && [ "${V[$n,ssh]}" -le 65535 ] ||
      usage_error "--vm$n-ssh '${V[$n,ssh]}' is not a port"
    V[$n,mem]=${V[$n,mem]:-4G} V[$n,cpus]=${V[$n,cpus]:-4}
    vms+=("$n")
  done
  [ "${V[1,ssh]}" != "${V[2,ssh]}" ] || usage_error "--vm1-ssh and --vm2-ssh are both ${V[1,ssh]}"
  [ -d "$hostshare" ] || usage_error "--hostshare: no directory '$hostshare'"
else
  kernel=${kernel:-$ROOT/build/vm/vmlinuz} initrd=${initrd:-$ROOT/build/vm/initramfs.cpio.gz}
  for n in 1 2; do
    if [ -z "${V[$n,role]:-}" ]; then
      [ -z "${V[$n,append]:-}${V[$n,overlay]:-}" ] || usage_error "--vm$n-append/--vm$n-overlay without --vm$n-role"
      continue
    fi
    [[ ${V[$n,role]} =~ ^[a-z0-9-]+$ ]] || usage_error "--vm$n-role '${V[$n,role]}': letters, digits and dashes"
    [ -z "${V[$n,overlay]:-}" ] || [ -d "${V[$n,overlay]}" ] || usage_error "--vm$n-overlay: no directory '${V[$n,overlay]}'"
    V[$n,mem]=${V[$n,mem]:-512M} V[$n,cpus]=${V[$n,cpus]:-1}
    vms+=("$n")
  done
fi
for n in "${vms[@]}"; do
  size_to_bytes "${V[$n,mem]}" >/dev/null || usage_error "--vm$n-mem '${V[$n,mem]}' is not a size (e.g. 512M, 4G)"
  [[ ${V[$n,cpus]} =~ ^[1-9][0-9]*$ ]] || usage_error "--vm$n-cpus '${V[$n,cpus]}' is not a CPU count"
done

if [ $dry = 0 ]; then
  command -v "$QEMU_BIN" >/dev/null || die "$QEMU_BIN not found (bash scripts/deps.sh vm: qemu-system-x86)"
  [ -f "$cxl" ] || die "--cxl: no file '$cxl' (create it: infra/create_cxl_shared.sh $cxl $cxl_size)"
  fsize=$(stat -c %s "$cxl")
  [ "$fsize" -ge "$cxl_bytes" ] || die "--cxl '$cxl' has $fsize bytes, less than --cxl-size $cxl_size ($cxl_bytes)"
  if [ $cloud = 1 ]; then
    for n in 1 2; do for k in disk seed; do
      [ -f "${V[$n,$k]}" ] || die "--vm$n-$k: no file '${V[$n,$k]}'"
    done; done
  else
    [ -f "$kernel" ] || die "--kernel: no file '$kernel' (build the guest: make vm)"
    [ -f "$initrd" ] || die "--initrd: no file '$initrd' (build the guest: make vm)"
  fi
  if [ -n "${VM1_CPU_NODE:-}${VM2_CPU_NODE:-}" ]; then
    command -v numactl >/dev/null || die "VM1_CPU_NODE/VM2_CPU_NODE need numactl (apt-get install numactl)"
  fi
fi

# absolute paths: QEMU started with -daemonize leaves the current directory
cxl=$(realpath -m "$cxl") hostshare=$(realpath -m "$hostshare")
[ -z "$kernel" ] || kernel=$(realpath -m "$kernel")
[ -z "$initrd" ] || initrd=$(realpath -m "$initrd")
for n in "${vms[@]}"; do
  for k in disk seed overlay; do [ -z "${V[$n,$k]:-}" ] || V[$n,$k]=$(realpath -m "${V[$n,$k]}"); done
done

# --- where things go; cleanup -------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
label=${label:-$([ $cloud = 1 ] && echo cloud || echo "${V[1,role]:-${V[2,role]:-vm}}")}
log_dir=${log_dir:-$ROOT/results/vm/$stamp-$label}
if [ $dry = 0 ]; then
  mkdir -p "$log_dir"
  log_dir=$(realpath "$log_dir")
  TMPD=$(mktemp -d /tmp/cxl-vms.XXXXXX)
fi

# --- KVM or TCG -----------------------------------------------------------------------------
resolve_accel
if [ "$accel" = kvm ]; then cpu=host; else cpu=max; fi
echo "run_vms: accel $accel ($accel_why)"

# --- the command lines ----------------------------------------------------------------------
if [ "$VMNET_ENABLE" = 1 ]; then
  if [ $dry = 1 ]; then LPORT[1]=40001 LPORT[2]=40002; else LPORT[1]=$(free_port udp) LPORT[2]=$(free_port udp); fi
fi
mem_obj="memory-backend-file,id=cxl,share=on,mem-path=$cxl,size=$cxl_bytes"
[ -z "${CXL_MEM_NODE:-}" ] || mem_obj+=",host-nodes=$CXL_MEM_NODE,policy=bind"

# shellcheck disable=SC2054 # commas inside QEMU option values
vm_cmd() { # N: sets CMD (array) for VM N
  local n=$1 peer=$((3 - $1)) node_var=VM$1_CPU_NODE
  CMD=()
  [ -z "${!node_var:-}" ] || CMD+=(numactl "--cpunodebind=${!node_var}" "--membind=${!node_var}" --)
  CMD+=("$QEMU_BIN" -name "vm$n" -machine "q35,accel=$accel" -cpu "$cpu" -smp "${V[$n,cpus]}" -m "${V[$n,mem]}"
        -nodefaults -no-user-config -display none
        -object "$mem_obj" -device ivshmem-plain,memdev=cxl,id=ivshmem0)
  if [ "$VMNET_ENABLE" = 1 ]; then
    CMD+=(-netdev "socket,id=link,udp=127.0.0.1:${LPORT[$peer]},localaddr=127.0.0.1:${LPORT[$n]}"
          -device "virtio-net-pci,netdev=link,mac=${MAC[$n]}")
  fi
  if [ $cloud = 1 ]; then
    CMD+=(-drive "if=virtio,file=${V[$n,disk]},format=qcow2" -drive "if=virtio,file=${V[$n,seed]},format=raw"
          -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:${V[$n,ssh]}-:22" -device virtio-net-pci,netdev=net0
          -virtfs "local,path=$hostshare,mount_tag=hostshare,security_model=none,id=hostshare"
          -serial "file:$log_dir/vm$n.serial.log" -monitor "unix:$VM_STATE_DIR/vm$n.monitor,server,nowait"
          -daemonize -pidfile "$VM_STATE_DIR/vm$n.pid")
  else
    local append="console=ttyS0 quiet loglevel=3 panic=-1 cxl.name=vm$n cxl.role=${V[$n,role]}"
    append+=" cxl.timeout=$((timeout > 40 ? timeout - 20 : timeout - 5))"
    [ "$VMNET_ENABLE" = 1 ] && append+=" cxl.ip=${IP[$n]} cxl.peer=${IP[$peer]} cxl.mac=${MAC[$n]}"
    [ -z "${V[$n,append]:-}" ] || append+=" ${V[$n,append]}"
    local rd=$initrd
    [ -z "${V[$n,overlay]:-}" ] || rd=${TMPD:-/tmp}/vm$n.initrd
    CMD+=(-kernel "$kernel" -initrd "$rd" -append "$append" -no-reboot
          -serial "file:$log_dir/vm$n.serial.log" -serial "file:$log_dir/vm$n.data.log")
  fi
}

if [ $dry = 1 ]; then
  for n in "${vms[@]}"; do
    vm_cmd "$n"
    echo "# vm$n"
    [ -z "${V[$n,overlay]:-}" ] ||
      echo "(cd $(shell_quote "${V[$n,overlay]}") && find . | cpio -o -H newc -R 0:0) | gzip | cat $(shell_quote "$initrd") - > ${TMPD:-/tmp}/vm$n.initrd"
    shell_quote "${CMD[@]}"
  done
  exit 0
fi

# --- cloud images: start in the background -------------------------------------------------
if [ $cloud = 1 ]; then
  mkdir -p "$VM_STATE_DIR"
  for n in 1 2; do
    pf=$VM_STATE_DIR/vm$n.pid
    if [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null; then
      die "vm$n is already running (pid $(cat "$pf")): infra/run_vms.sh --stop first"
    fi
    python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "${V[$n,ssh]}" 2>/dev/null ||
      die "--vm$n-ssh ${V[$n,ssh]}: the port is in use on 127.0.0.1"
  done
  for n in 1 2; do
    vm_cmd "$n"
    shell_quote "${CMD[@]}" >"$log_dir/vm$n.cmd"
    echo "run_vms: starting vm$n (SSH 127.0.0.1:${V[$n,ssh]}, serial log $log_dir/vm$n.serial.log)"
    "${CMD[@]}" || die "QEMU could not start vm$n (command: $log_dir/vm$n.cmd)"
  done
  trap - EXIT; rm -rf "$TMPD"
  echo "run_vms: both VMs started; the shared file is $cxl (BAR2 of PCI 1af4:1110 in each guest)"
  echo "    VM1: ssh ubuntu@127.0.0.1 -p ${V[1,ssh]}     VM2: ssh ubuntu@127.0.0.1 -p ${V[2,ssh]}"
  echo "    stop: bash infra/run_vms.sh --stop"
  exit 0
fi

# --- initramfs guests: run in the foreground until each reports -------------------------------
now() { date +%s.%N; }
declare -A RES T0 DT
for n in "${vms[@]}"; do
  if [ -n "${V[$n,overlay]:-}" ]; then
    { cat "$initrd"; (cd "${V[$n,overlay]}" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip); } \
      >"$TMPD/vm$n.initrd" || die "cannot pack --vm$n-overlay ${V[$n,overlay]}"
  fi
  vm_cmd "$n"
  shell_quote "${CMD[@]}" >"$log_dir/vm$n.cmd"
  : >"$log_dir/vm$n.serial.log"
  "${CMD[@]}" >"$log_dir/vm$n.qemu.log" 2>&1 &
  PIDS+=($!)
  PID[$n]=$!
  T0[$n]=$(now)
  echo "run_vms: vm$n (${V[$n,role]}) started, pid ${PID[$n]}, serial log $log_dir/vm$n.serial.log"
done

deadline=$(( $(date +%s) + timeout ))
fail_at=""
while :; do
  pending=0
  for n in "${vms[@]}"; do
    [ -n "${RES[$n]:-}" ] && continue
    line=$(grep -a -m1 'CXL-VM-RESULT:' "$log_dir/vm$n.serial.log" 2>/dev/null | tr -d '\r' || true)
    if [ -n "$line" ]; then
      RES[$n]=${line#*CXL-VM-RESULT: }
      DT[$n]=$(awk -v a="${T0[$n]}" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    elif ! kill -0 "${PID[$n]}" 2>/dev/null; then
      wait "${PID[$n]}" 2>/dev/null && qrc=0 || qrc=$?
      RES[$n]="FAIL QEMU exited ($qrc) without a result: $(tail -n 2 "$log_dir/vm$n.qemu.log" | tr '\n' ' ')"
      DT[$n]=$(awk -v a="${T0[$n]}" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    else
      pending=1
      continue
    fi
    [[ ${RES[$n]} == PASS* ]] || fail_at=${fail_at:-$(date +%s)}
  done
  [ $pending = 0 ] && break
  if [ -n "$fail_at" ] && [ "$(date +%s)" -ge $((fail_at + 15)) ]; then
    for n in "${vms[@]}"; do [ -n "${RES[$n]:-}" ] || RES[$n]="FAIL stopped: the other VM had failed"; done
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    for n in "${vms[@]}"; do [ -n "${RES[$n]:-}" ] || RES[$n]="FAIL no result within --timeout ${timeout}s: killed"; done
    break
  fi
  sleep 0.3
done
# a VM that reported powers off by itself; give it a moment, then stop it
for n in "${vms[@]}"; do
  for _ in $(seq 50); do kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.1; done
done
cleanup; PIDS=()

# result files a role sent over its data channel (the second serial port)
for n in "${vms[@]}"; do
  f=$log_dir/vm$n.data.log
  [ -s "$f" ] || continue
  tr -d '\r' <"$f" | awk -v d="$log_dir" -v p="vm$n." '
    /^CXL-DATA-BEGIN / { out = d "/" p $2; printf "" >out; next }
    /^CXL-DATA-END / { close(out); out = ""; next }
    out != "" { print >>out }'
done

ok=1
for n in "${vms[@]}"; do
  echo "run_vms: vm$n (${V[$n,role]}): ${RES[$n]} [${DT[$n]:-?} s]"
  [[ ${RES[$n]} == PASS* ]] || ok=0
done
if [ $ok = 0 ]; then
  for n in "${vms[@]}"; do
    [[ ${RES[$n]} == PASS* ]] && continue
    echo "---- last lines of $log_dir/vm$n.serial.log" >&2
    tail -n 40 "$log_dir/vm$n.serial.log" | tr -d '\r' | sed 's/^/  | /' >&2
  done
  echo "run_vms: FAILED; logs in $log_dir" >&2
  exit 1
fi
echo "run_vms: logs in $log_dir"
