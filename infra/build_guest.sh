#!/usr/bin/env bash
# build_guest.sh - the initramfs guest of the two-VM emulation (docs/VMS.md):
# Debian's kernel (its linux-image package, fetched with `apt-get download`
# and unpacked with dpkg-deb into OUT/kernel/, cached: the host's own kernel
# is not touched) and one initramfs holding busybox, the project's programs
# and cxl_ring.so, redis-server and redis-cli, every library they load, the
# kernel modules of the VM link (virtio-net) and of uio_pci_generic, the init
# (guest/init.sh), the roles (guest/roles/) and cxl_ycsb's workload files
# (workloads/, as /cxl/workloads/).
# Usage: infra/build_guest.sh [--build DIR] [--out DIR] [--kernel-deb FILE]
#   --build DIR       where `make` put the programs (default build)
#   --out DIR         output: vmlinuz, initramfs.cpio.gz, guest.info, kernel.config (default BUILD/vm)
#   --kernel-deb FILE use this linux-image-*.deb instead of Debian's current one
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=build_guest.sh
source infra/lib.sh
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

build=build out="" kernel_deb=""
while [ $# -gt 0 ]; do
  case $1 in
    --build) [ $# -ge 2 ] || usage_error "--build needs a directory"; build=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage_error "--out needs a directory"; out=$2; shift 2 ;;
    --kernel-deb) [ $# -ge 2 ] || usage_error "--kernel-deb needs a file"; kernel_deb=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done
out=${out:-$build/vm}
[ -z "$kernel_deb" ] || [ -f "$kernel_deb" ] || usage_error "--kernel-deb: no file '$kernel_deb'"

# --- what it needs ----------------------------------------------------------------
for p in cxl_shm cxl_ring_direct cxl_sec_mgr cxl_resp_gateway cxl_ycsb; do
  [ -x "$build/bin/$p" ] || die "$build/bin/$p is not built (run make)"
done
[ -f "$build/cxl_ring.so" ] || die "$build/cxl_ring.so is not built (run make)"
for t in cpio gzip dpkg-deb depmod modprobe ldd; do
  command -v "$t" >/dev/null || die "'$t' is missing (bash scripts/deps.sh vm)"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox is missing (bash scripts/deps.sh vm: busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is linked dynamically: install busybox-static"
redis_server=$(command -v redis-server || true) redis_cli=$(command -v redis-cli || true)
[ -n "$redis_server" ] && [ -n "$redis_cli" ] || die "redis-server/redis-cli are missing (bash scripts/deps.sh test)"

mkdir -p "$out/kernel"
out=$(realpath "$out")

# --- the kernel -------------------------------------------------------------------
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'; }
fetch_kernel() { # PKG: the .deb into OUT/kernel (the only one kept there)
  rm -f "$out/kernel/"linux-image-*.deb
  echo "build_guest: downloading $1 (apt-get download)"
  (cd "$out/kernel" && apt-get download "$1" >download.log 2>&1)
}
if [ -z "$kernel_deb" ]; then
  command -v apt-cache >/dev/null || die "no apt-cache: pass --kernel-deb FILE (a Debian linux-image-*-amd64 package)"
  pkg=$(kernel_pkg)
  [ -n "$pkg" ] || { apt-get update -qq >/dev/null 2>&1 || true; pkg=$(kernel_pkg); }
  [ -n "$pkg" ] || die "apt-cache does not know linux-image-amd64 (apt-get update?); or pass --kernel-deb FILE"
  kernel_deb=$(ls "$out/kernel/${pkg}"_*.deb 2>/dev/null | tail -n 1 || true)
  if [ -z "$kernel_deb" ]; then
    if ! fetch_kernel "$pkg"; then # stale package lists: the archive moved on
      apt-get update -qq >/dev/null 2>&1 || true
      pkg=$(kernel_pkg)
      fetch_kernel "$pkg" || die "apt-get download $pkg failed: $(tail -n 3 "$out/kernel/download.log")"
    fi
    kernel_deb=$(ls "$out/kernel/${pkg}"_*.deb | tail -n 1)
  fi
fi
kernel_deb=$(realpath "$kernel_deb")
# unpacked for this build only (the package holds ~450 MB of modules; the
# initramfs takes a few)
rm -rf "$out/kernel/root" "$out/kernel/unpacked"
kroot=$(mktemp -d "$out/kernel/unpacked.XXXXXX")
trap 'rm -rf "$kroot"' EXIT
dpkg-deb -x "$kernel_deb" "$kroot" || die "cannot unpack $kernel_deb"
kver=$(ls "$kroot/lib/modules" 2>/dev/null | head -n 1)
[ -n "$kver" ] && [ -f "$kroot/boot/vmlinuz-$kver" ] || die "$kernel_deb holds no /boot/vmlinuz-* and /lib/modules/*"
depmod -b "$kroot" "$kver" || die "depmod on $kroot failed"

# --- the root file system ------------------------------------------------------------
rootfs=$out/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,var/tmp,usr/bin,lib64,cxl/bin,cxl/lib,cxl/roles,cxl/run}
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
install -m 0755 "$busybox" "$rootfs/bin/busybox"
install -m 0755 guest/init.sh "$rootfs/init"
install -m 0755 guest/bind_ivshmem_uio.sh "$rootfs/cxl/bin/bind_ivshmem_uio.sh"
install -m 0644 guest/roles/*.sh "$rootfs/cxl/roles/"
mkdir -p "$rootfs/cxl/workloads" # cxl_ycsb's workload files (-P /cxl/workloads/workloada)
install -m 0644 workloads/workload* "$rootfs/cxl/workloads/"
for f in "$build"/bin/*; do
  [ -f "$f" ] && [ -x "$f" ] && install -m 0755 "$f" "$rootfs/cxl/bin/"
done
install -m 0755 "$build/cxl_ring.so" "$rootfs/cxl/lib/cxl_ring.so"
if command -v strip >/dev/null; then
  strip --strip-debug "$rootfs"/cxl/bin/cxl_* "$rootfs/cxl/lib/cxl_ring.so" 2>/dev/null || true
fi
# redis-server is a symlink to redis-check-rdb in Debian: the binary picks its
# role from argv[0]
rs_real=$(readlink -f "$redis_server")
install -m 0755 "$rs_real" "$rootfs/usr/bin/$(basename "$rs_real")"
[ "$(basename "$rs_real")" = redis-server ] || ln -s "$(basename "$rs_real")" "$rootfs/usr/bin/redis-server"
install -m 0755 "$(readlink -f "$redis_cli")" "$rootfs/usr/bin/redis-cli"

# every library the ELF files load, at the same path, the loader included
libs=$(for f in "$rootfs"/cxl/bin/cxl_* "$rootfs/cxl/lib/cxl_ring.so" "$rootfs/usr/bin/redis-cli" "$rootfs/usr/bin/$(basename "$rs_real")"; do
         ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
       done | sort -u)
for l in $libs; do
  mkdir -p "$rootfs$(dirname "$l")"
  cp -L "$l" "$rootfs$l"
done
grep -q ld-linux <<<"$libs" || die "ldd named no dynamic loader"

# kernel modules in load order: the link NIC, the UIO driver
mods=$(for m in virtio_pci virtio_net uio_pci_generic; do
         modprobe -d "$kroot" -S "$kver" --show-depends "$m" || die "no kernel module $m in $kernel_deb"
       done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
mkdir -p "$rootfs/lib/modules/$kver"
: >"$rootfs/cxl/modules.list"
for m in $mods; do
  case $m in
    *.ko) cp "$m" "$rootfs/lib/modules/$kver/" ;;
    *.ko.xz) xz -dc "$m" >"$rootfs/lib/modules/$kver/$(basename "$m" .xz)" ;;
    *.ko.zst) zstd -qdc "$m" >"$rootfs/lib/modules/$kver/$(basename "$m" .zst)" ;;
    *) die "unknown module format: $m" ;;
  esac
  m=$(basename "$m"); echo "/lib/modules/$kver/${m%.ko*}.ko" >>"$rootfs/cxl/modules.list"
done

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
printf '127.0.0.1 localhost\n192.168.100.1 vm1\n192.168.100.2 vm2\n' >"$rootfs/etc/hosts"
echo "$kver" >"$rootfs/cxl/kernel.version"
git log -1 --format='%h %cI' >"$rootfs/cxl/build.info" 2>/dev/null || echo unknown >"$rootfs/cxl/build.info"

# --- the archive -------------------------------------------------------------------------
(cd "$rootfs" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
   cpio --null -o -H newc -R 0:0 --quiet) | gzip -6 >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
cp "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"
# the kernel's configuration: what it can be (e.g. CONFIG_INTEL_TDX_GUEST for docs/TEE.md's TDX workflow)
cp "$kroot/boot/config-$kver" "$out/kernel.config" 2>/dev/null || rm -f "$out/kernel.config"
{
  echo "kernel $kver ($(basename "$kernel_deb"))"
  echo "initramfs $(stat -c %s "$out/initramfs.cpio.gz") bytes, $(find "$rootfs" -mindepth 1 | wc -l) entries"
  echo "programs $(cd "$rootfs/cxl/bin" && echo *)"
  echo "workloads $(cd "$rootfs/cxl/workloads" && echo *)"
  echo "redis $("$redis_server" --version | awk '{print $3}')"
  echo "modules $(xargs -n1 basename <"$rootfs/cxl/modules.list" | tr '\n' ' ')"
} >"$out/guest.info"
sed 's/^/build_guest: /' "$out/guest.info"
echo "build_guest: $out/vmlinuz $out/initramfs.cpio.gz"
