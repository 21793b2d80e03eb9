#!/usr/bin/env bash
# create_cloud_init.sh - the cloud-image path (docs/VMS.md): cloud-init data
# and seed images for VM1 and VM2: user "ubuntu" (sudo, password PASSWORD,
# default "ubuntu"; SSH is forwarded on 127.0.0.1 only) with the given SSH
# keys, the host name, the VM link "cxl0" (matched by the MAC that
# run_cloud_vms.sh gives it, 192.168.100.1 / .2), the 9p share on /mnt/hostshare.
# Writes OUTDIR/{user-data,meta-data}-vm{1,2} and OUTDIR/seed-vm{1,2}.img.
# Usage: infra/create_cloud_init.sh --outdir DIR [--ssh-key PUBKEY_FILE]...
#          [--dry-run]   (write the data files, print the cloud-localds commands)
# Environment: PASSWORD, INSTALL_PACKAGES=1 (apt in the guest: slower),
#   CXL_NET_ENABLE (1), CXL_NET_VM1_IP, CXL_NET_VM2_IP, CXL_NET_VM1_MAC, CXL_NET_VM2_MAC
# Without --ssh-key, ~/.ssh/id_ed25519.pub and ~/.ssh/id_rsa.pub (of SUDO_USER
# under sudo) are used when they exist.
set -euo pipefail
PROG=create_cloud_init.sh
# shellcheck source=infra/lib.sh
source "$(dirname "$0")/lib.sh"
usage() { usage_from_header "$0"; }

outdir="" dry=0 keys=()
while [ $# -gt 0 ]; do
  case $1 in
    --outdir) [ $# -ge 2 ] && [ -n "$2" ] || usage_error "--outdir needs a directory"; outdir=$2; shift 2 ;;
    --ssh-key) [ $# -ge 2 ] && [ -n "$2" ] || usage_error "--ssh-key needs a file"
      [ -f "$2" ] || usage_error "--ssh-key: no file '$2'"
      grep -Eq '^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+ [A-Za-z0-9+/=]+' "$2" || usage_error "--ssh-key '$2' is not an SSH public key"
      keys+=("$2"); shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$outdir" ] || usage_error "--outdir DIR is required"
if [ ${#keys[@]} -eq 0 ]; then
  home=$HOME
  if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then home=$(getent passwd "$SUDO_USER" | cut -d: -f6); fi
  for f in "$home/.ssh/id_ed25519.pub" "$home/.ssh/id_rsa.pub"; do [ -f "$f" ] && keys+=("$f"); done
fi
[ ${#keys[@]} -gt 0 ] || echo "create_cloud_init: no SSH key given or found: log in with the password" >&2

PASSWORD=${PASSWORD:-ubuntu}
CXL_NET_ENABLE=${CXL_NET_ENABLE:-1}
declare -A NET=([vm1,ip]=${CXL_NET_VM1_IP:-192.168.100.1} [vm2,ip]=${CXL_NET_VM2_IP:-192.168.100.2}
                [vm1,mac]=${CXL_NET_VM1_MAC:-${VMNET_VM1_MAC:-52:54:00:12:34:01}}
                [vm2,mac]=${CXL_NET_VM2_MAC:-${VMNET_VM2_MAC:-52:54:00:12:34:02}})
for h in vm1 vm2; do
  [[ ${NET[$h,mac]} =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || usage_error "the MAC of $h '${NET[$h,mac]}' is not a lower-case MAC address"
  [[ ${NET[$h,ip]} =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || usage_error "the address of $h '${NET[$h,ip]}' is not an IPv4 address"
done
command -v openssl >/dev/null || die "openssl is missing (it hashes the password)"
hash=$(openssl passwd -6 "$PASSWORD")
mkdir -p "$outdir"

user_data() { # HOST
  local h=$1 k
  echo "#cloud-config"
  echo "hostname: $h"
  echo "manage_etc_hosts: true"
  echo "users:"
  echo "  - name: ubuntu"
  echo "    sudo: ALL=(ALL) NOPASSWD:ALL"
  echo "    groups: sudo"
  echo "    shell: /bin/bash"
  echo "    lock_passwd: false"
  echo "    passwd: $hash"
  if [ ${#keys[@]} -gt 0 ]; then
    echo "    ssh_authorized_keys:"
    for k in "${keys[@]}"; do echo "      - $(head -n 1 "$k" | tr -d '\r')"; done
  fi
  echo "ssh_pwauth: true"
  if [ "${INSTALL_PACKAGES:-0}" = 1 ]; then
    printf 'package_update: true\npackages:\n  - numactl\n  - redis-server\n  - redis-tools\n  - libsodium23\n  - libnuma1\n'
  fi
  echo "mounts:"
  echo "  - [hostshare, /mnt/hostshare, 9p, \"trans=virtio,version=9p2000.L,nofail\", \"0\", \"0\"]"
  if [ "$CXL_NET_ENABLE" = 1 ]; then
    cat <<EOF
write_files:
  - path: /etc/netplan/99-cxl0.yaml
    permissions: "0600"
    content: |
      network:
        version: 2
        ethernets:
          cxl0:
            match:
              macaddress: ${NET[$h,mac]}
            set-name: cxl0
            dhcp4: false
            dhcp6: false
            addresses:
              - ${NET[$h,ip]}/24
            optional: true
EOF
  fi
  echo "runcmd:"
  [ "$CXL_NET_ENABLE" = 1 ] && echo "  - netplan apply"
  echo "  - mkdir -p /mnt/hostshare"
  echo "  - mount -a || true"
}

for h in vm1 vm2; do
  user_data $h >"$outdir/user-data-$h"
  printf 'instance-id: cxl-dsm-%s\nlocal-hostname: %s\n' $h $h >"$outdir/meta-data-$h"
  cmd=(cloud-localds "$outdir/seed-$h.img" "$outdir/user-data-$h" "$outdir/meta-data-$h")
  if [ $dry = 1 ]; then
    echo "+ $(shell_quote "${cmd[@]}")"
  else
    command -v cloud-localds >/dev/null || die "cloud-localds is missing (bash scripts/deps.sh vm: cloud-image-utils)"
    "${cmd[@]}" || die "cloud-localds could not write $outdir/seed-$h.img"
  fi
done
echo "create_cloud_init: $outdir/user-data-vm{1,2}, meta-data-vm{1,2}$([ $dry = 1 ] || echo ", seed-vm{1,2}.img")"
echo "create_cloud_init: login ubuntu / the password in PASSWORD ($([ "$PASSWORD" = ubuntu ] && echo 'the default: ubuntu' || echo set))"
