#!/usr/bin/env bash
# create_vm_images.sh - the cloud-image path (docs/VMS.md): one qcow2 overlay
# per VM on top of a base cloud image (the base is never written).
# Usage: infra/create_vm_images.sh --base IMG --outdir DIR [--vm1 vm1.qcow2]
#          [--vm2 vm2.qcow2] [--size 20G] [--dry-run]
#   --size     virtual disk size of each overlay (env DISK_SIZE, default 20G)
#   --dry-run  print the qemu-img commands instead of running them
set -euo pipefail
PROG=create_vm_images.sh
# shellcheck source=infra/lib.sh
source "$(dirname "$0")/lib.sh"
usage() { usage_from_header "$0"; }

base="" outdir="" vm1=vm1.qcow2 vm2=vm2.qcow2 size=${DISK_SIZE:-20G} dry=0
while [ $# -gt 0 ]; do
  case $1 in
    --base|--outdir|--vm1|--vm2|--size)
      need "$@"
      case $1 in --base) base=$2 ;; --outdir) outdir=$2 ;; --vm1) vm1=$2 ;; --vm2) vm2=$2 ;; --size) size=$2 ;; esac
      shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$base" ] || usage_error "--base IMG is required (an Ubuntu cloud image, e.g. ubuntu-24.04-server-cloudimg-amd64.img)"
[ -n "$outdir" ] || usage_error "--outdir DIR is required"
[ -f "$base" ] || [ $dry = 1 ] || usage_error "--base: no file '$base'"
size_to_bytes "$size" >/dev/null || usage_error "--size '$size' is not a size (e.g. 20G)"
[ "$vm1" != "$vm2" ] || usage_error "--vm1 and --vm2 are both '$vm1'"
base=$(realpath -m "$base")

fmt=qcow2
if [ $dry = 0 ]; then
  command -v qemu-img >/dev/null || die "qemu-img is missing (bash scripts/deps.sh vm: qemu-utils)"
  fmt=$(qemu-img info --output=json "$base" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])') ||
    die "qemu-img cannot read '$base'"
  mkdir -p "$outdir"
fi
for img in "$vm1" "$vm2"; do
  cmd=(qemu-img create -q -f qcow2 -F "$fmt" -b "$base" "$outdir/$img" "$size")
  if [ $dry = 1 ]; then
    echo "+ $(shell_quote "${cmd[@]}")"
  else
    "${cmd[@]}" || die "qemu-img could not create $outdir/$img"
    echo "create_vm_images: $outdir/$img ($size, backing $base, $fmt)"
  fi
done
