#!/usr/bin/env bash
# run_vms.sh - the initramfs guests (make vm; docs/VMS.md): two QEMU VMs
# sharing one host file as an ivshmem device (the emulated CXL medium: PCI
# BAR2 in each guest) and a private link between them. Each VM runs one role
# and powers off; this script waits in the foreground, prints each VM's
# CXL-VM-RESULT and exits 0 when every VM passed. It owns the initramfs runs
# and the KVM probe; the cloud-image guests are infra/run_cloud_vms.sh's.
#   infra/run_vms.sh --cxl FILE --cxl-size 64M --vm1-role test-server --vm2-role test-client
#     [--kernel build/vm/vmlinuz] [--initrd build/vm/initramfs.cpio.gz]
#     [--vm1-append 'cxl.key=value ...'] [--vm1-overlay DIR]  (and --vm2-...)
#     [--vm1-mem 512M] [--vm1-cpus 1] [--timeout 300] [--label NAME]
#     [--accel auto|kvm|tcg] (env CXL_VM_ACCEL; auto: KVM if a probe boot works, else TCG)
#     [--log-dir DIR] (default results/vm/<time>-<label>)
#     [--dry-run] (print the QEMU command lines, start nothing)
#     [--region NAME=FILE:SIZE:vm1=rw|ro|none,vm2=...] (repeatable: a region
#       each VM maps read-write, read-only (enforced by QEMU) or not at all)
#     [--region-acl ACL.conf --vm1-node NODE --vm2-node NODE] (the access of
#       each --region NAME=FILE:SIZE from cxl_sec_mgr's grants of NAME)
#     [--tdx [--tdx-bios TDVF.fd]] (Intel TDX guests; env TDX_BIOS) or [--sgx-epc SIZE]
#       (SGX EPC for each guest): KVM only, docs/TEE.md; the medium stays shared
#   infra/run_vms.sh --print-accel          print kvm or tcg, what auto picks here
# The original prototype's cloud-image flags still work here: with
# --vm1-disk/--vm1-seed/--vm2-disk/--vm2-seed (and --vmN-ssh, --hostshare,
# --vmN-mem, --vmN-cpus ...), and with --stop, this script hands the whole
# command line to infra/run_cloud_vms.sh (see its --help).
# Environment: VM1_CPU_NODE, VM2_CPU_NODE (numactl --cpunodebind/--membind of
#   each QEMU), CXL_MEM_NODE (host node of the shared memory), QEMU_BIN,
#   VMNET_ENABLE (1: the VM link), VMNET_VM1_MAC, VMNET_VM2_MAC,
#   VMNET_VM1_IP, VMNET_VM2_IP (192.168.100.1 / .2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=run_vms.sh
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"
# shellcheck source=infra/regions.sh
source "$ROOT/infra/regions.sh"
usage() { usage_from_header "$ROOT/infra/run_vms.sh"; }

vms_init
args=("$@")
print_accel=0 stop=0 cloud=0 initramfs=0 timeout=300 kernel="" initrd=""
while [ $# -gt 0 ]; do
  if vms_flag "$@"; then shift "$VMS_SHIFT"; continue; fi
  if regions_flag "$@"; then initramfs=1; shift "$VMS_SHIFT"; continue; fi
  case $1 in
    --vm[12]-role|--vm[12]-append|--vm[12]-overlay)
      need "$@"; V[${1:4:1},${1:6}]=$2; initramfs=1; shift 2 ;;
    --kernel) need "$@"; kernel=$2; initramfs=1; shift 2 ;;
    --initrd) need "$@"; initrd=$2; initramfs=1; shift 2 ;;
    --timeout) need "$@"; timeout=$2; shift 2 ;;
    --print-accel) print_accel=1; shift ;;
    # the cloud-image guests' flags: passed on to run_cloud_vms.sh
    --vm[12]-disk|--vm[12]-seed) need "$@"; cloud=1; shift 2 ;;
    --vm[12]-ssh|--hostshare) need "$@"; shift 2 ;; # without --vmN-disk/--vmN-seed: unused
    --stop) stop=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done

# --- --print-accel: what auto (or CXL_VM_ACCEL) resolves to, probing if needed ---------------
if [ $print_accel = 1 ]; then
  TMPD=$(mktemp -d /tmp/cxl-vms.XXXXXX)
  vms_resolve_accel "$kernel" "$initrd"
  echo "$accel"
  exit 0
fi

# --- the cloud-image guests: run_cloud_vms.sh's, reporting under this script's name ---------
if [ $stop = 1 ]; then # the other flags do not matter to --stop
  RUN_CLOUD_VMS_AS=run_vms.sh exec bash "$ROOT/infra/run_cloud_vms.sh" --stop
fi
[ $cloud = 1 ] && [ $initramfs = 1 ] &&
  usage_error "--vmN-disk/--vmN-seed (cloud image) and --vmN-role/--kernel/--initrd/--region (initramfs) do not mix"
if [ $cloud = 1 ]; then
  RUN_CLOUD_VMS_AS=run_vms.sh exec bash "$ROOT/infra/run_cloud_vms.sh" "${args[@]}"
fi

# --- the checks ------------------------------------------------------------------------------
[ $initramfs = 1 ] ||
  usage_error "nothing to run: give --vm1-disk/--vm1-seed/... (cloud image) or --vm1-role/--vm2-role (initramfs); see --help"
vms_check
[[ $timeout =~ ^[0-9]+$ ]] && [ "$timeout" -ge 10 ] || usage_error "--timeout '$timeout': seconds, at least 10"
kernel=${kernel:-$ROOT/build/vm/vmlinuz} initrd=${initrd:-$ROOT/build/vm/initramfs.cpio.gz}
vms=()
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
for n in "${vms[@]}"; do vms_check_vm "$n"; done
regions_check
vms_check_host
if [ $dry = 0 ]; then
  [ -f "$kernel" ] || die "--kernel: no file '$kernel' (build the guest: make vm)"
  [ -f "$initrd" ] || die "--initrd: no file '$initrd' (build the guest: make vm)"
fi
kernel=$(realpath -m "$kernel") initrd=$(realpath -m "$initrd")
for n in "${vms[@]}"; do
  [ -z "${V[$n,overlay]:-}" ] || V[$n,overlay]=$(realpath -m "${V[$n,overlay]}")
done

vms_log_dir "${V[1,role]:-${V[2,role]:-vm}}"
vms_resolve_accel "$kernel" "$initrd"
vms_say "accel $accel ($accel_why)"
regions_say

# --- the command lines ----------------------------------------------------------------------
vms_link_ports
initramfs_cmd() { # N: CMD (array) for VM N: the shared part, then the kernel, its command line, the logs
  local n=$1 peer=$((3 - $1))
  vms_qemu_cmd "$n"
  regions_qemu_args "$n"
  local append="console=ttyS0 quiet loglevel=3 panic=-1 cxl.name=vm$n cxl.role=${V[$n,role]}"
  append+=" cxl.timeout=$((timeout > 40 ? timeout - 20 : timeout - 5))"
  [ "$VMNET_ENABLE" = 1 ] && append+=" cxl.ip=${IP[$n]} cxl.peer=${IP[$peer]} cxl.mac=${MAC[$n]}"
  local regions
  regions=$(regions_append "$n")
  [ -z "$regions" ] || append+=" $regions"
  [ -z "${V[$n,append]:-}" ] || append+=" ${V[$n,append]}"
  local rd=$initrd
  [ -z "${V[$n,overlay]:-}" ] || rd=${TMPD:-/tmp}/vm$n.initrd
  CMD+=(-kernel "$kernel" -initrd "$rd" -append "$append" -no-reboot
        -serial "file:$log_dir/vm$n.serial.log" -serial "file:$log_dir/vm$n.data.log")
}

if [ $dry = 1 ]; then
  for n in "${vms[@]}"; do
    initramfs_cmd "$n"
    echo "# vm$n"
    [ -z "${V[$n,overlay]:-}" ] ||
      echo "(cd $(shell_quote "${V[$n,overlay]}") && find . | cpio -o -H newc -R 0:0) | gzip | cat $(shell_quote "$initrd") - > ${TMPD:-/tmp}/vm$n.initrd"
    shell_quote "${CMD[@]}"
  done
  exit 0
fi

# --- run them in the foreground until each reports ------------------------------------------
now() { date +%s.%N; }
declare -A RES T0 DT
for n in "${vms[@]}"; do
  if [ -n "${V[$n,overlay]:-}" ]; then
    { cat "$initrd"; (cd "${V[$n,overlay]}" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip); } \
      >"$TMPD/vm$n.initrd" || die "cannot pack --vm$n-overlay ${V[$n,overlay]}"
  fi
  initramfs_cmd "$n"
  shell_quote "${CMD[@]}" >"$log_dir/vm$n.cmd"
  : >"$log_dir/vm$n.serial.log"
  "${CMD[@]}" >"$log_dir/vm$n.qemu.log" 2>&1 &
  PIDS+=($!)
  PID[$n]=$!
  T0[$n]=$(now)
  vms_say "vm$n (${V[$n,role]}) started, pid ${PID[$n]}, serial log $log_dir/vm$n.serial.log"
done

# the log's last line holds the result and has no newline yet
line_partial() {
  tail -n 1 "$1" | grep -aq 'CXL-VM-RESULT:' && [ -n "$(tail -c 1 "$1" | tr -d '\n')" ]
}

deadline=$(( $(date +%s) + timeout ))
fail_at=""
while :; do
  pending=0
  for n in "${vms[@]}"; do
    [ -n "${RES[$n]:-}" ] && continue
    line=$(grep -a -m1 'CXL-VM-RESULT:' "$log_dir/vm$n.serial.log" 2>/dev/null | tr -d '\r' || true)
    if [ -n "$line" ] && line_partial "$log_dir/vm$n.serial.log"; then
      pending=1 # the result line is still being written ("P" of "PASS ..."): read it whole next time
      continue
    elif [ -n "$line" ]; then
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
vms_cleanup; PIDS=()

# result files a role sent over its data channel (the second serial port):
# vmN.NAME for a NAME of the form x.txt / x.csv only, so that a guest cannot
# replace the launcher's own files (vmN.serial.log, vmN.cmd, ...) that the
# host reads afterwards (a TEE proof among them)
for n in "${vms[@]}"; do
  f=$log_dir/vm$n.data.log
  [ -s "$f" ] || continue
  tr -d '\r' <"$f" | awk -v d="$log_dir" -v p="vm$n." -v who="${PROG%.sh}: vm$n" '
    /^CXL-DATA-BEGIN / {
      if (NF == 2 && $2 ~ /^[a-z0-9][a-z0-9_-]*\.(txt|csv)$/) { out = d "/" p $2; printf "" >out }
      else { out = ""; printf "%s: data channel: file name \"%s\" refused (NAME.txt or NAME.csv)\n", who, substr($0, 16, 64) >"/dev/stderr" }
      next
    }
    /^CXL-DATA-END / { if (out != "") close(out); out = ""; next }
    out != "" { print >>out }'
done

ok=1
for n in "${vms[@]}"; do
  vms_say "vm$n (${V[$n,role]}): ${RES[$n]} [${DT[$n]:-?} s]"
  [[ ${RES[$n]} == PASS* ]] || ok=0
done
if [ $ok = 0 ]; then
  for n in "${vms[@]}"; do
    [[ ${RES[$n]} == PASS* ]] && continue
    echo "---- last lines of $log_dir/vm$n.serial.log" >&2
    tail -n 40 "$log_dir/vm$n.serial.log" | tr -d '\r' | sed 's/^/  | /' >&2
  done
  vms_say "FAILED; logs in $log_dir" >&2
  exit 1
fi
vms_say "logs in $log_dir"
