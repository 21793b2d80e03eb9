#!/bin/busybox sh
# shellcheck shell=dash
# /init of the initramfs guest (docs/VMS.md, "Boot flow"): mounts, kernel
# modules, the VM link, the ivshmem medium, then the role named by cxl.role=
# on the kernel command line; prints CXL-VM-RESULT: PASS|FAIL on the console
# and powers off. Every cxl.KEY=VALUE of the command line is exported as
# CXL_ARG_KEY (dots and dashes become underscores).
/bin/busybox --install -s /bin
export PATH=/cxl/bin:/usr/bin:/bin:/sbin HOME=/root TERM=dumb LC_ALL=C
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run

say() { echo "cxl-vm: $*"; }
finish() { # finish PASS|FAIL DETAIL: the result line, then power off
  echo "CXL-VM-RESULT: $1 $2 uptime=$(cut -d' ' -f1 /proc/uptime)s"
  sync
  poweroff -f
  echo o >/proc/sysrq-trigger
  sleep 30
}

for w in $(cat /proc/cmdline); do
  case $w in
    cxl.*=*)
      k=${w%%=*}; k=$(echo "${k#cxl.}" | tr '.-' '__'); v=${w#*=}
      export "CXL_ARG_$k=$v" ;;
  esac
done
role=${CXL_ARG_role:-}
export CXL_NAME=${CXL_ARG_name:-vm}
hostname "$CXL_NAME"
say "$CXL_NAME: kernel $(uname -r), $(nproc) cpu(s), $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo), build $(cat /cxl/build.info)"
# the CPU flags that prove a TEE (docs/TEE.md: a TDX* label needs tdx_guest here)
say "tee cpu flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'tdx_guest|sgx|sgx_lc|hypervisor' | tr '\n' ' ')"
[ -n "$role" ] || finish FAIL "role=none reason=no-cxl.role-on-the-kernel-command-line"
[ -f "/cxl/roles/$role.sh" ] || finish FAIL "role=$role reason=no-such-role"

while read -r m; do
  insmod "$m" 2>/tmp/insmod.err || say "insmod $m: $(cat /tmp/insmod.err)"
done </cxl/modules.list

# the VM link: the NIC with the MAC run_vms.sh gave it
ip link set lo up
if [ -n "${CXL_ARG_ip:-}" ]; then
  dev=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    for n in /sys/class/net/*; do
      [ "$(cat "$n/address" 2>/dev/null)" = "${CXL_ARG_mac:-none}" ] && dev=${n##*/}
    done
    [ -n "$dev" ] && break
    sleep 0.2
  done
  [ -n "$dev" ] || finish FAIL "role=$role reason=no-link-nic-with-mac-${CXL_ARG_mac:-unset}"
  ip addr add "$CXL_ARG_ip/24" dev "$dev" && ip link set "$dev" up ||
    finish FAIL "role=$role reason=cannot-configure-$dev"
  export CXL_LINK_DEV=$dev
  say "link $dev $CXL_ARG_ip/24 (peer ${CXL_ARG_peer:-?})"
fi

# the regions run_vms.sh --region gave this VM (cxl.regions=NAME/SLOT/MODE,...):
# CXL_REGION_<NAME> = its BAR2, CXL_REGION_MODE_<NAME> = rw or ro
region_slots=" "
for r in $(echo "${CXL_ARG_regions:-}" | tr ',' ' '); do
  name=${r%%/*} rest=${r#*/}; slot=${rest%%/*} mode=${rest#*/}
  bdf=0000:00:$(printf '%02x' "0x$slot").0
  region_slots="$region_slots$bdf "
  if [ -f "/sys/bus/pci/devices/$bdf/resource2" ]; then
    export "CXL_REGION_$name=/sys/bus/pci/devices/$bdf/resource2" "CXL_REGION_MODE_$name=$mode"
    say "region $name ($mode): /sys/bus/pci/devices/$bdf/resource2 ($(stat -c %s "/sys/bus/pci/devices/$bdf/resource2") bytes)"
  else
    say "region $name ($mode): no device at $bdf"
  fi
done

# the medium: BAR2 of the ivshmem device (PCI 1af4:1110) that is no region
CXL_MEDIUM=""
for d in /sys/bus/pci/devices/*; do
  case $region_slots in *" ${d##*/} "*) continue ;; esac
  if [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ]; then
    CXL_MEDIUM=$d/resource2
    break
  fi
done
if [ -n "$CXL_MEDIUM" ]; then
  export CXL_MEDIUM CXL_BDF=${d##*/}
  say "medium $CXL_MEDIUM ($(stat -c %s "$CXL_MEDIUM") bytes)"
elif [ "$role" != probe ]; then
  finish FAIL "role=$role reason=no-ivshmem-device-1af4:1110"
fi

# the data channel: the second serial port, raw
if [ -c /dev/ttyS1 ]; then
  stty -F /dev/ttyS1 raw -echo 2>/dev/null && export CXL_DATA=/dev/ttyS1
fi

timeout=${CXL_ARG_timeout:-300}
say "role $role (deadline ${timeout}s)"
cd /tmp || exit 1
timeout "$timeout" sh "/cxl/roles/$role.sh"
rc=$?
if [ $rc -eq 0 ]; then
  finish PASS "role=$role"
elif [ $rc -eq 143 ] || [ $rc -eq 124 ]; then
  finish FAIL "role=$role rc=$rc reason=deadline-of-${timeout}s"
else
  finish FAIL "role=$role rc=$rc"
fi
