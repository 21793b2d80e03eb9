#!/bin/sh
# bind_ivshmem_uio.sh - inside a guest, as root: bind the ivshmem device (PCI
# 1af4:1110) to uio_pci_generic and print where the shared memory is, as
# key=value lines:
#   bdf=0000:00:03.0  uio=/dev/uio0  uio_map0=<size>...
#   resource2=/sys/bus/pci/devices/0000:00:03.0/resource2  resource2_size=<bytes>
#   medium=<the path to give --path / path=>
# uio_pci_generic exposes only 32-bit non-prefetchable memory BARs as UIO maps:
# for ivshmem that is BAR0 (its registers), not BAR2 (the shared memory, a
# 64-bit prefetchable BAR), so the medium is BAR2's resource file, which the
# library maps directly (docs/VMS.md). /dev/uioN still gives interrupts and
# the registers. Runs under bash, dash and busybox sh.
# Usage: bind_ivshmem_uio.sh [BDF]      (default: the first ivshmem device)
set -eu

die() { echo "bind_ivshmem_uio.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it writes to /sys/bus/pci)"

bdf=${1:-}
if [ -z "$bdf" ]; then
  for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ]; then
      bdf=${d##*/}
      break
    fi
  done
  [ -n "$bdf" ] || die "no ivshmem device (PCI 1af4:1110) in /sys/bus/pci/devices: is the VM started with -device ivshmem-plain?"
fi
dev=/sys/bus/pci/devices/$bdf
[ -d "$dev" ] || die "no PCI device $bdf"
[ "$(cat "$dev/vendor"):$(cat "$dev/device")" = 0x1af4:0x1110 ] ||
  die "$bdf is $(cat "$dev/vendor"):$(cat "$dev/device"), not ivshmem (0x1af4:0x1110)"

drv=/sys/bus/pci/drivers/uio_pci_generic
if [ ! -d "$drv" ]; then
  modprobe uio_pci_generic 2>/dev/null || true
  [ -d "$drv" ] || die "the uio_pci_generic driver is not available (modprobe uio_pci_generic failed)"
fi
cur=""
[ -e "$dev/driver" ] && cur=$(basename "$(readlink "$dev/driver")")
if [ "$cur" != uio_pci_generic ]; then
  [ -n "$cur" ] && echo "$bdf" >"$dev/driver/unbind"
  echo uio_pci_generic >"$dev/driver_override"
  echo "$bdf" >/sys/bus/pci/drivers_probe 2>/dev/null || true
fi
i=0
while [ ! -d "$dev/uio" ] || [ -z "$(ls "$dev/uio" 2>/dev/null)" ]; do
  i=$((i + 1))
  [ $i -le 50 ] || die "$bdf did not get a UIO device after binding (driver: $(basename "$(readlink "$dev/driver" 2>/dev/null || echo none)"))"
  sleep 0.1
done
uio=$(ls "$dev/uio" | head -n 1)
i=0
while [ ! -c "/dev/$uio" ]; do
  i=$((i + 1)); [ $i -le 50 ] || die "/dev/$uio did not appear"; sleep 0.1
done

echo "bdf=$bdf"
echo "uio=/dev/$uio"
for m in /sys/class/uio/"$uio"/maps/map*; do
  [ -d "$m" ] && echo "uio_${m##*/}=$(cat "$m/size")"
done
# resource line 3 (BAR2): start end flags
bar2=$(sed -n 3p "$dev/resource")
set -- $bar2
size=$(( $2 - $1 + 1 ))
echo "resource2=$dev/resource2"
echo "resource2_size=$size"
covered=no
for m in /sys/class/uio/"$uio"/maps/map*; do
  [ -d "$m" ] && [ $(( $(cat "$m/addr") )) -eq $(( $1 )) ] && covered=${m##*/}
done
if [ "$covered" = no ]; then
  echo "note=uio_pci_generic does not map BAR2 (64-bit prefetchable); the medium is resource2"
  echo "medium=$dev/resource2"
else
  echo "medium=/dev/$uio (--uio-map ${covered#map})"
fi
