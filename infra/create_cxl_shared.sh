#!/usr/bin/env bash
# create_cxl_shared.sh - the host file that backs the emulated CXL medium: two
# QEMU VMs map it as an ivshmem device (infra/run_vms.sh, run_cloud_vms.sh)
# and see it as PCI BAR2 (docs/VMS.md). It is (re)created sparse and
# zero-filled, so a guest finds a blank medium and the Redis module formats it.
# Usage: infra/create_cxl_shared.sh [--keep] PATH SIZE
#   SIZE: bytes or with K, M, G, T (powers of 1024); a power of two of at
#         least 1M (a PCI BAR's size is a power of two)
#   --keep: keep an existing file of exactly SIZE bytes as it is
set -euo pipefail

PROG=create_cxl_shared.sh DIE_RC=2
# shellcheck source=infra/lib.sh
source "$(dirname "$0")/lib.sh"
usage() { usage_from_header "$0"; }

keep=0
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown flag $1 (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -eq 2 ] || { usage >&2; die "need PATH and SIZE, got ${#args[@]} argument(s)"; }
path=${args[0]} size=${args[1]}

bytes=$(size_to_bytes "$size") || die "SIZE '$size' is not a size (e.g. 64M, 4G, 1073741824)"
[ "$bytes" -ge $((1 << 20)) ] || die "SIZE '$size' is below 1M"
[ $((bytes & (bytes - 1))) -eq 0 ] || die "SIZE '$size' ($bytes bytes) is not a power of two (an ivshmem BAR must be)"
[ -n "$path" ] || die "PATH is empty"
[ -d "$path" ] && die "PATH '$path' is a directory"
dir=$(dirname "$path")
[ -d "$dir" ] || mkdir -p "$dir" || die "cannot create the directory of '$path'"

if [ "$keep" = 1 ] && [ -f "$path" ] && [ "$(stat -c %s "$path")" = "$bytes" ]; then
  echo "create_cxl_shared.sh: keeping $path ($bytes bytes)"
  exit 0
fi
if [ -e "$path" ] && command -v fuser >/dev/null && fuser -s "$path" 2>/dev/null; then
  die "'$path' is in use (a VM maps it?): stop the VMs first (infra/run_vms.sh --stop)"
fi
rm -f "$path"
truncate -s "$bytes" "$path" || die "cannot create '$path' with $bytes bytes"
chmod 0660 "$path"
echo "create_cxl_shared.sh: $path: $bytes bytes, zero-filled (memory-backend-file mem-path=$path,size=$bytes)"
