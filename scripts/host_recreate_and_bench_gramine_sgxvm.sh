#!/usr/bin/env bash
# host_recreate_and_bench_gramine_sgxvm.sh - the Gramine-SGX compare inside a
# QEMU guest with SGX EPC (docs/TEE.md). It owns the host side: the preflight
# of SGX virtualization, the cloud-image VMs recreated with --sgx-epc
# (scripts/host_quickstart.sh, VM_TEE_FLAGS; infra/run_cloud_vms.sh), and
# running the SGX workflow itself inside VM1 over SSH:
# scripts/host_bench_gramine_sgx.sh --in-vm, which does its own preflight in
# the guest (/dev/sgx_enclave, AESM, Gramine) and its own label proof (the
# enclave mapped in the guest). Labels: SGXVMNativeTCP, GramineSGXVMNativeTCP,
# GramineSGXVMSodiumTCP, GramineSGXVMRing, GramineSGXVMRingCrypto,
# GramineSGXVMRingSecure and the graph matrix's GramineSGXVM<mode>. Outputs
# (written by the guest into the shared repository): results/sgxvm_compare_<time>.csv/.md,
# results/sgxvm_graph_<time>/, results/sgxvm_<time>_proof/; this script's own log
# results/sgxvm_<time>_host.log. The ring labels run between processes inside
# VM1 (its /dev/shm as Gramine's untrusted_shm); VM2 boots with EPC too.
#
# Usage: sudo -E bash scripts/host_recreate_and_bench_gramine_sgxvm.sh [--dry-run] [--root DIR]
#          [--epc SIZE] [--ssh-wait SECONDS] [-- ARGS for host_bench_gramine_sgx.sh]
#   --dry-run   preflight, then every step and the QEMU command lines; start nothing
#   --root DIR  read /proc, /sys, /dev under DIR (tests; also CXL_TEE_ROOT)
# Defaults: --epc 128M, --ssh-wait 600. Environment: host_quickstart.sh's (BASE_IMG,
#   VM1_SSH ..., CLOUD_INIT_SSH_KEY_FILE), QEMU_BIN, GUEST_USER (ubuntu)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=host_recreate_and_bench_gramine_sgxvm.sh
cd "$ROOT"
# shellcheck source=scripts/tee_lib.sh
source "$ROOT/scripts/tee_lib.sh"
usage() { usage_from_header "$ROOT/scripts/host_recreate_and_bench_gramine_sgxvm.sh"; }

epc=128M ssh_wait=600 inner=()
while [ $# -gt 0 ]; do
  if tee_common_flag "$@"; then shift "$TEE_SHIFT"; continue; fi
  case $1 in
    --epc) need "$@"; epc=$2; shift 2 ;;
    --ssh-wait) need "$@"; [[ $2 =~ ^[0-9]+$ ]] || usage_error "--ssh-wait '$2': seconds"; ssh_wait=$2; shift 2 ;;
    --) shift; inner=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done
epc_bytes=$(size_to_bytes "$epc") && [ $((epc_bytes % 4096)) -eq 0 ] && [ "$epc_bytes" -gt 0 ] ||
  usage_error "--epc '$epc': a size in whole 4 KiB pages (e.g. 128M)"
user=${GUEST_USER:-ubuntu} ssh1=${VM1_SSH:-2222}

# --- preflight (the host) ----------------------------------------------------------------
tee_preflight_begin "SGX virtualization for QEMU guests"
tee_exists /dev/kvm "KVM"
tee_cpu_flag sgx "the CPU has SGX"
tee_cpu_flag sgx_lc "Flexible Launch Control (the guest's SGX driver needs it)"
tee_exists /dev/sgx_vepc "virtual EPC for guests (kernel CONFIG_X86_SGX_KVM)"
tee_param_on /sys/module/kvm_intel/parameters/sgx "KVM exposes SGX to guests"
tee_cmd "$QEMU_BIN" "QEMU"
tee_qemu_object memory-backend-epc
tee_cmd ssh "runs the workflow in VM1"
tee_cmd cloud-localds "the cloud-init seeds (cloud-image-utils)"
tee_preflight_end

# --- the plan ------------------------------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
touch "$WORK/start" # the guest's results must be newer
hostlog=results/sgxvm_${stamp}_host.log
if [ "$TEE_DRY" = 0 ]; then mkdir -p results; exec > >(tee -a "$hostlog") 2>&1; fi # everything from here on
ssh_cmd=(ssh -p "$ssh1" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 "$user@127.0.0.1")
in_guest="sudo mkdir -p /mnt/hostshare && (mountpoint -q /mnt/hostshare || sudo mount -t 9p -o trans=virtio,version=9p2000.L hostshare /mnt/hostshare)"
in_guest+=" && cd /mnt/hostshare && sudo bash scripts/deps.sh && make BUILD=build-sgxvm"
in_guest+=" && sudo -E BUILD=build-sgxvm bash scripts/host_bench_gramine_sgx.sh --in-vm $(shell_quote "${inner[@]}")"
echo "$PROG: plan (VMs with $epc of SGX EPC each; labels SGXVMNativeTCP, GramineSGXVM*)"
tee_step "recreate the cloud-image VMs with SGX EPC (scripts/host_quickstart.sh)" \
  env FORCE_RECREATE=1 STOP_EXISTING=1 VM_TEE_FLAGS="--sgx-epc $epc" bash scripts/host_quickstart.sh
if [ "$TEE_DRY" = 1 ]; then # its own dry run: every command and the QEMU command lines
  if [ -n "${OUTDIR:-}" ]; then tee_note "host_quickstart.sh's dry run (OUTDIR $OUTDIR):"
  else tee_note "host_quickstart.sh's dry run (its cloud-init files in a temporary OUTDIR, not infra/images):"; fi
  env FORCE_RECREATE=1 STOP_EXISTING=1 VM_TEE_FLAGS="--sgx-epc $epc" OUTDIR="${OUTDIR:-$WORK/images}" \
    bash scripts/host_quickstart.sh --dry-run 2>&1 | sed 's/^/      /' || die "host_quickstart.sh --dry-run failed"
fi
wait_ssh() {
  local t=$((SECONDS + ssh_wait))
  until "${ssh_cmd[@]}" true 2>/dev/null; do
    [ $SECONDS -lt $t ] || { echo "$PROG: VM1 answered no SSH within ${ssh_wait}s" >&2; return 1; }
    sleep 5
  done
}
stop_vms() { bash infra/run_cloud_vms.sh --stop || true; }
tee_step "wait for SSH on VM1 (127.0.0.1:$ssh1, up to ${ssh_wait}s)" wait_ssh
[ "$TEE_DRY" = 1 ] || trap 'stop_vms; cleanup' EXIT
tee_step "in VM1: mount the repository, build, run the SGX workflow with --in-vm (its own preflight and proof)" \
  "${ssh_cmd[@]}" "$in_guest"
tee_step "stop the VMs" bash infra/run_cloud_vms.sh --stop
tee_note "then: results/sgxvm_compare_<time>.csv (written by VM1 into the shared repository); host log $hostlog"
tee_done
[ "$TEE_DRY" = 1 ] && exit 0
trap cleanup EXIT
new=$(find results -maxdepth 1 -name 'sgxvm_compare_*.csv' -newer "$WORK/start" 2>/dev/null | head -n 1)
[ -n "$new" ] || die "VM1's run left no new results/sgxvm_compare_*.csv (did it refuse? see its output above)"
echo "$PROG: done: $new" | tee -a "$hostlog"
