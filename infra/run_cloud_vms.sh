#!/usr/bin/env bash
# run_cloud_vms.sh - the cloud-image guests (the original prototype's path,
# docs/VMS.md): two QEMU VMs on qcow2 disks with cloud-init seeds
# (infra/create_vm_images.sh, infra/create_cloud_init.sh), sharing one host
# file as an ivshmem device (the emulated CXL medium: PCI BAR2 in each guest)
# and a private link between them. They are started in the background, SSH on
# 127.0.0.1:2222 / 2223, the repository shared as 9p tag "hostshare"; their
# pid files and QEMU monitors are in VM_STATE_DIR. This script owns starting
# and stopping them; infra/run_vms.sh runs the initramfs guests and hands its
# cloud-image flags (--vmN-disk, --vmN-seed, --stop) on to this script.
#   infra/run_cloud_vms.sh --cxl /tmp/cxl_shared.raw --cxl-size 4G \
#     --vm1-disk infra/images/vm1.qcow2 --vm1-seed infra/images/seed-vm1.img \
#     --vm2-disk infra/images/vm2.qcow2 --vm2-seed infra/images/seed-vm2.img
#     [--vm1-ssh 2222] [--vm2-ssh 2223] [--vm1-mem 4G] [--vm2-mem 4G]
#     [--vm1-cpus 4] [--vm2-cpus 4] [--hostshare DIR] [--label NAME]
#     [--accel auto|kvm|tcg] (env CXL_VM_ACCEL; auto: KVM if a probe boot of
#       the initramfs guest works, when it is built)
#     [--log-dir DIR] (serial logs, command lines; default results/vm/<time>-cloud)
#     [--dry-run] (print the QEMU command lines, start nothing)
#     [--tdx [--tdx-bios TDVF.fd]] or [--sgx-epc SIZE] (TEE guests, docs/TEE.md)
#   infra/run_cloud_vms.sh --stop           stop them
# Environment: VM1_CPU_NODE, VM2_CPU_NODE (numactl --cpunodebind/--membind of
#   each QEMU), CXL_MEM_NODE (host node of the shared memory), QEMU_BIN,
#   VM_STATE_DIR (/tmp/cxl-vms-<uid>), VMNET_ENABLE (1: the VM link),
#   VMNET_VM1_MAC, VMNET_VM2_MAC (the link's MACs, which the cloud-init
#   netplan matches)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# run_vms.sh delegating says so: then this script reports as run_vms.sh did
# before the split, so that command's output stays the same
case ${RUN_CLOUD_VMS_AS:-} in run_vms.sh) PROG=run_vms.sh ;; *) PROG=run_cloud_vms.sh ;; esac
unset RUN_CLOUD_VMS_AS
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"
usage() { usage_from_header "$ROOT/infra/run_cloud_vms.sh"; }

vms_init
stop=0 hostshare=$ROOT
V[1,ssh]=2222 V[2,ssh]=2223
while [ $# -gt 0 ]; do
  if vms_flag "$@"; then shift "$VMS_SHIFT"; continue; fi
  case $1 in
    --vm[12]-disk|--vm[12]-seed|--vm[12]-ssh) need "$@"; V[${1:4:1},${1:6}]=$2; shift 2 ;;
    --hostshare) need "$@"; hostshare=$2; shift 2 ;;
    --stop) stop=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --vm[12]-role|--vm[12]-append|--vm[12]-overlay|--kernel|--initrd|--timeout|--print-accel)
      usage_error "$1 is for the initramfs guests (infra/run_vms.sh), not the cloud-image guests" ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done

# --- --stop ------------------------------------------------------------------------------
if [ $stop = 1 ]; then
  found=0
  for n in 1 2; do
    pf=$VM_STATE_DIR/vm$n.pid
    [ -f "$pf" ] || continue
    if pid=$(cloud_vm_pid "$n"); then
      kill "$pid"; found=1
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      vms_say "stopped vm$n (pid $pid)"
    fi
    rm -f "$pf" "$VM_STATE_DIR/vm$n.monitor"
  done
  [ $found = 1 ] || vms_say "no running VM recorded in $VM_STATE_DIR"
  exit 0
fi

# --- the checks ------------------------------------------------------------------------------
vms_check
for n in 1 2; do
  for k in disk seed; do
    [ -n "${V[$n,$k]:-}" ] || usage_error "--vm$n-$k is required with the cloud-image guests"
  done
  [[ ${V[$n,ssh]} =~ ^[0-9]+$ ]] && [ "${V[$n,ssh]}" -ge 1 ] && [ "${V[$n,ssh]}" -le 65535 ] ||
    usage_error "--vm$n-ssh '${V[$n,ssh]}' is not a port"
  V[$n,mem]=${V[$n,mem]:-4G} V[$n,cpus]=${V[$n,cpus]:-4}
done
[ "${V[1,ssh]}" != "${V[2,ssh]}" ] || usage_error "--vm1-ssh and --vm2-ssh are both ${V[1,ssh]}"
[ -d "$hostshare" ] || usage_error "--hostshare: no directory '$hostshare'"
for n in 1 2; do vms_check_vm "$n"; done
vms_check_host
if [ $dry = 0 ]; then
  for n in 1 2; do for k in disk seed; do
    [ -f "${V[$n,$k]}" ] || die "--vm$n-$k: no file '${V[$n,$k]}'"
  done; done
fi
# absolute paths: QEMU started with -daemonize leaves the current directory
hostshare=$(realpath -m "$hostshare")
for n in 1 2; do
  for k in disk seed; do V[$n,$k]=$(realpath -m "${V[$n,$k]}"); done
done

vms_log_dir cloud
# shellcheck disable=SC2119 # auto probes with the initramfs guest in build/vm/, if built
vms_resolve_accel
vms_say "accel $accel ($accel_why)"

# --- the command lines ----------------------------------------------------------------------
vms_link_ports
# shellcheck disable=SC2054 # commas inside QEMU option values
cloud_cmd() { # N: CMD (array) for VM N: the shared part, then the disks, SSH, the share, daemonized
  local n=$1
  vms_qemu_cmd "$n"
  CMD+=(-drive "if=virtio,file=${V[$n,disk]},format=qcow2" -drive "if=virtio,file=${V[$n,seed]},format=raw"
        -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:${V[$n,ssh]}-:22" -device virtio-net-pci,netdev=net0
        -virtfs "local,path=$hostshare,mount_tag=hostshare,security_model=none,id=hostshare"
        -serial "file:$log_dir/vm$n.serial.log" -monitor "unix:$VM_STATE_DIR/vm$n.monitor,server,nowait"
        -daemonize -pidfile "$VM_STATE_DIR/vm$n.pid")
}

if [ $dry = 1 ]; then
  for n in 1 2; do
    cloud_cmd "$n"
    echo "# vm$n"
    shell_quote "${CMD[@]}"
  done
  exit 0
fi

# --- start them in the background -----------------------------------------------------------
mkdir -p "$VM_STATE_DIR"
for n in 1 2; do
  if pid=$(cloud_vm_pid "$n"); then
    die "vm$n is already running (pid $pid): infra/$PROG --stop first"
  fi
  python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "${V[$n,ssh]}" 2>/dev/null ||
    die "--vm$n-ssh ${V[$n,ssh]}: the port is in use on 127.0.0.1"
done
for n in 1 2; do
  cloud_cmd "$n"
  shell_quote "${CMD[@]}" >"$log_dir/vm$n.cmd"
  vms_say "starting vm$n (SSH 127.0.0.1:${V[$n,ssh]}, serial log $log_dir/vm$n.serial.log)"
  "${CMD[@]}" || die "QEMU could not start vm$n (command: $log_dir/vm$n.cmd)"
done
trap - EXIT; rm -rf "$TMPD"
vms_say "both VMs started; the shared file is $cxl (BAR2 of PCI 1af4:1110 in each guest)"
echo "    VM1: ssh ubuntu@127.0.0.1 -p ${V[1,ssh]}     VM2: ssh ubuntu@127.0.0.1 -p ${V[2,ssh]}"
echo "    stop: bash infra/$PROG --stop"
