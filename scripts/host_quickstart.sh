#!/usr/bin/env bash
# host_quickstart.sh - the original prototype's one-command path with Ubuntu cloud images
# (needs internet for the image; docs/VMS.md): the shared CXL file, a qcow2
# overlay and a cloud-init seed per VM, then both VMs in the background with
# SSH on 127.0.0.1:2222 / 2223 and the repository as 9p share "hostshare".
# Without internet use the initramfs guests instead (make vm; make test-vm).
#
# Usage: [VAR=value ...] bash scripts/host_quickstart.sh [--dry-run]
#   --dry-run  download nothing, create no disk, start nothing: write the
#              cloud-init data files into OUTDIR and print every command
# Environment (defaults in brackets):
#   BASE_IMG            the Ubuntu cloud image [MIRROR_DIR/ubuntu-24.04-server-cloudimg-amd64.img,
#                       or the jammy one if that is what MIRROR_DIR holds]
#   DOWNLOAD_BASE_IMG   1: download the image when it is missing [1]
#   BASE_IMG_URL        where from [Ubuntu's 24.04 release image]
#   MIRROR_DIR          download cache [../mirror]
#   OUTDIR              qcow2 overlays, seeds, cloud-init data [infra/images]
#   CXL_PATH, CXL_SIZE  the shared file [/tmp/cxl_shared.raw, 4G]
#   VM1_SSH, VM2_SSH    host ports for SSH [2222, 2223]
#   VM1_MEM, VM2_MEM, VM1_CPUS, VM2_CPUS  [4G, 4G, 4, 4]
#   HOSTSHARE           directory shared into the guests [this repository]
#   FORCE_RECREATE      1: new overlays and seeds even if they exist [0]
#   STOP_EXISTING       1: stop running VMs first when recreating [0]
#   CLOUD_INIT_SSH_KEY_FILE  an SSH public key for the guests [~/.ssh/id_*.pub]
#   VM_TEE_FLAGS        launcher flags for TEE guests, e.g. '--sgx-epc 64M' or '--tdx' (docs/TEE.md) []
#   VM1_CPU_NODE, VM2_CPU_NODE, CXL_MEM_NODE, CXL_VM_ACCEL, VM_STATE_DIR
#                       (see infra/run_cloud_vms.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INFRA=$ROOT/infra
PROG=host_quickstart.sh
# shellcheck source=infra/lib.sh
source "$INFRA/lib.sh"
usage() { usage_from_header "$0"; }

dry=0
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help; settings are environment variables)" ;;
  esac
done
[ "${DRY_RUN:-0}" = 1 ] && dry=1

MIRROR_DIR=${MIRROR_DIR:-$ROOT/../mirror}
BASE_IMG=${BASE_IMG:-}
DOWNLOAD_BASE_IMG=${DOWNLOAD_BASE_IMG:-1}
BASE_IMG_URL=${BASE_IMG_URL:-https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img}
OUTDIR=${OUTDIR:-$INFRA/images}
CXL_PATH=${CXL_PATH:-/tmp/cxl_shared.raw}
CXL_SIZE=${CXL_SIZE:-4G}
VM1_SSH=${VM1_SSH:-2222} VM2_SSH=${VM2_SSH:-2223}
VM1_MEM=${VM1_MEM:-4G} VM2_MEM=${VM2_MEM:-4G} VM1_CPUS=${VM1_CPUS:-4} VM2_CPUS=${VM2_CPUS:-4}
HOSTSHARE=${HOSTSHARE:-$ROOT}
FORCE_RECREATE=${FORCE_RECREATE:-0} STOP_EXISTING=${STOP_EXISTING:-0}
CLOUD_INIT_SSH_KEY_FILE=${CLOUD_INIT_SSH_KEY_FILE:-}

for v in DOWNLOAD_BASE_IMG FORCE_RECREATE STOP_EXISTING; do
  [[ ${!v} =~ ^[01]$ ]] || usage_error "$v='${!v}': 0 or 1"
done
size_to_bytes "$CXL_SIZE" >/dev/null || usage_error "CXL_SIZE='$CXL_SIZE' is not a size (e.g. 4G)"
[ -z "$CLOUD_INIT_SSH_KEY_FILE" ] || [ -f "$CLOUD_INIT_SSH_KEY_FILE" ] ||
  usage_error "CLOUD_INIT_SSH_KEY_FILE: no file '$CLOUD_INIT_SSH_KEY_FILE'"
# the remaining settings are checked by the infra scripts, which name them by flag
run() { # print in a dry run, else run
  if [ $dry = 1 ]; then echo "+ $(shell_quote "$@")"; else "$@"; fi
}

echo "[1/4] base image"
if [ -z "$BASE_IMG" ]; then
  BASE_IMG=$MIRROR_DIR/ubuntu-24.04-server-cloudimg-amd64.img
  [ -f "$BASE_IMG" ] || [ ! -f "$MIRROR_DIR/jammy-server-cloudimg-amd64.img" ] ||
    BASE_IMG=$MIRROR_DIR/jammy-server-cloudimg-amd64.img
fi
if [ -f "$BASE_IMG" ]; then
  echo "    $BASE_IMG"
elif [ "$DOWNLOAD_BASE_IMG" = 1 ]; then
  echo "    $([ $dry = 1 ] && echo "would download" || echo downloading) $BASE_IMG_URL"
  echo "    to $BASE_IMG"
  if [ $dry = 1 ]; then
    echo "+ curl -fL --retry 5 -C - -o $(shell_quote "$BASE_IMG.part") $(shell_quote "$BASE_IMG_URL") && mv $(shell_quote "$BASE_IMG.part" "$BASE_IMG")"
  else
    mkdir -p "$(dirname "$BASE_IMG")"
    if command -v curl >/dev/null; then
      curl -fL --retry 5 -C - -o "$BASE_IMG.part" "$BASE_IMG_URL" || die "download of $BASE_IMG_URL failed (no internet? set BASE_IMG, or use the initramfs guests: make test-vm)"
    elif command -v wget >/dev/null; then
      wget -c -O "$BASE_IMG.part" "$BASE_IMG_URL" || die "download of $BASE_IMG_URL failed (no internet? set BASE_IMG, or use the initramfs guests: make test-vm)"
    else
      die "need curl or wget to download the base image"
    fi
    [ -s "$BASE_IMG.part" ] || die "the download of $BASE_IMG_URL is empty"
    mv "$BASE_IMG.part" "$BASE_IMG"
  fi
else
  die "BASE_IMG: no file '$BASE_IMG' and DOWNLOAD_BASE_IMG=0 (set BASE_IMG to an Ubuntu cloud image)"
fi

echo "[2/4] shared CXL file $CXL_PATH ($CXL_SIZE)"
if [ -f "$CXL_PATH" ] && [ "$(stat -c %s "$CXL_PATH")" -ge "$(size_to_bytes "$CXL_SIZE")" ]; then
  echo "    reuse $CXL_PATH"
else
  run bash "$INFRA/create_cxl_shared.sh" "$CXL_PATH" "$CXL_SIZE"
fi

echo "[3/4] VM disks and cloud-init seeds in $OUTDIR"
running=0
for n in 1 2; do
  cloud_vm_pid "$n" >/dev/null && running=1
done
if [ "$FORCE_RECREATE" = 1 ]; then
  if [ $running = 1 ]; then
    [ "$STOP_EXISTING" = 1 ] || die "the VMs are running: stop them (bash infra/run_vms.sh --stop) or set STOP_EXISTING=1"
    run bash "$INFRA/run_vms.sh" --stop
    running=0
  fi
  run rm -f "$OUTDIR/vm1.qcow2" "$OUTDIR/vm2.qcow2" "$OUTDIR/seed-vm1.img" "$OUTDIR/seed-vm2.img"
fi
[ $running = 0 ] || die "the VMs are already running (bash infra/run_vms.sh --stop, or FORCE_RECREATE=1 STOP_EXISTING=1)"
if [ "$FORCE_RECREATE" = 1 ] || [ ! -f "$OUTDIR/vm1.qcow2" ] || [ ! -f "$OUTDIR/vm2.qcow2" ]; then
  img=(--base "$BASE_IMG" --outdir "$OUTDIR" --vm1 vm1.qcow2 --vm2 vm2.qcow2)
  [ $dry = 1 ] && img+=(--dry-run)
  bash "$INFRA/create_vm_images.sh" "${img[@]}"
else
  echo "    reuse $OUTDIR/vm1.qcow2, vm2.qcow2"
fi
if [ "$FORCE_RECREATE" = 1 ] || [ $dry = 1 ] || [ ! -f "$OUTDIR/seed-vm1.img" ] || [ ! -f "$OUTDIR/seed-vm2.img" ]; then
  ci=(--outdir "$OUTDIR")
  [ -z "$CLOUD_INIT_SSH_KEY_FILE" ] || ci+=(--ssh-key "$CLOUD_INIT_SSH_KEY_FILE")
  [ $dry = 1 ] && ci+=(--dry-run)
  bash "$INFRA/create_cloud_init.sh" "${ci[@]}"
else
  echo "    reuse $OUTDIR/seed-vm1.img, seed-vm2.img"
fi

echo "[4/4] the VMs"
# run_vms.sh hands the cloud-image flags to run_cloud_vms.sh; through it the
# VMs' lines read "run_vms: ..." as they always did
vm=(--cxl "$CXL_PATH" --cxl-size "$CXL_SIZE"
    --vm1-disk "$OUTDIR/vm1.qcow2" --vm1-seed "$OUTDIR/seed-vm1.img"
    --vm2-disk "$OUTDIR/vm2.qcow2" --vm2-seed "$OUTDIR/seed-vm2.img"
    --vm1-ssh "$VM1_SSH" --vm2-ssh "$VM2_SSH" --vm1-mem "$VM1_MEM" --vm2-mem "$VM2_MEM"
    --vm1-cpus "$VM1_CPUS" --vm2-cpus "$VM2_CPUS" --hostshare "$HOSTSHARE")
[ $dry = 1 ] && vm+=(--dry-run)
if [ -n "${VM_TEE_FLAGS:-}" ]; then read -ra tee_flags <<<"$VM_TEE_FLAGS"; vm+=("${tee_flags[@]}"); fi
bash "$INFRA/run_vms.sh" "${vm[@]}"
if [ $dry = 1 ]; then
  echo "host_quickstart: dry run: nothing downloaded, created or started"
else
  echo "host_quickstart: done. VM1: ssh ubuntu@127.0.0.1 -p $VM1_SSH   VM2: ssh ubuntu@127.0.0.1 -p $VM2_SSH"
  echo "    in a guest: sudo bash /mnt/hostshare/guest/bind_ivshmem_uio.sh   (prints the medium path)"
fi
