#!/usr/bin/env bash
# deps.sh - install the Debian packages cxl-dsm needs, only those missing.
# Idempotent: a second run installs nothing and does not touch the network.
# Usage: scripts/deps.sh [build|test|demo|vm|redis-suite|all]   (default: all but vm)
set -euo pipefail

want_build=(gcc make pkg-config libsodium-dev libnuma-dev libssl-dev libc6-dev)
want_test=(clang libclang-rt-14-dev libomp-dev redis-server redis-tools python3 python3-redis procps psmisc cpio
           python3-jinja2 strace)
want_demo=(gnuplot-nox numactl openssl)
# Redis's own test suite through the gateway (make test-redis-suite): its
# runner is Tcl; dpkg-dev unpacks the source package
want_redis_suite=(tcl dpkg-dev)
# the two-VM emulation (docs/VMS.md): QEMU, the guest's pieces (the kernel
# itself is fetched by infra/build_guest.sh with apt-get download, so the
# host's kernel is not touched), the cloud-image path's tools
want_vm=(qemu-system-x86 qemu-utils busybox-static cpio kmod gzip xz-utils binutils numactl psmisc
         python3 redis-server redis-tools cloud-image-utils genisoimage mtools openssl)

case "${1:-default}" in
  build) pkgs=("${want_build[@]}") ;;
  test) pkgs=("${want_build[@]}" "${want_test[@]}") ;;
  demo|default) pkgs=("${want_build[@]}" "${want_test[@]}" "${want_demo[@]}") ;;
  vm) pkgs=("${want_vm[@]}") ;;
  redis-suite) pkgs=("${want_build[@]}" "${want_test[@]}" "${want_redis_suite[@]}") ;;
  all) pkgs=("${want_build[@]}" "${want_test[@]}" "${want_demo[@]}" "${want_vm[@]}" "${want_redis_suite[@]}") ;;
  *) echo "deps.sh: unknown set '$1' (build, test, demo, vm, redis-suite, all)" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a redis-server on 6379 where an init system runs; the project
# starts its own servers on free ports, so the packaged one is left alone.
echo "deps.sh: done"
