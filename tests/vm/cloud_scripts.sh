#!/usr/bin/env bash
# cloud_scripts.sh - the cloud-image path, offline (docs/VMS.md, "How the test
# decides"): scripts/host_quickstart.sh --dry-run and the infra scripts with
# good and bad arguments. Bad flags, files, sizes, ports and NUMA nodes are
# refused naming them; the generated cloud-init user-data / meta-data and the
# printed QEMU command lines hold what the guests need; with the tools present
# the seeds (cloud-localds) and the qcow2 overlays (qemu-img, on a small base
# image made here) are really made and inspected. The cloud-image launcher is
# infra/run_cloud_vms.sh; infra/run_vms.sh given the original prototype's
# cloud-image flags hands them to it and prints what it printed before the
# two were split (its own name in every line): both ways are run. Nothing is
# downloaded and no cloud guest boots.
# Usage: tests/vm/cloud_scripts.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
source scripts/lib.sh
set +e

checks=0 failed=0 out="" rc=0
check() { # DESC STATUS(0 = ok)
  checks=$((checks + 1))
  if [ "$2" -ne 0 ]; then
    failed=$((failed + 1)); echo "cloud_scripts: FAIL: $1" >&2
    echo "  exit $rc; output: ${out:0:600}" >&2
  fi
}
run() { rc=0; out=$("$@" 2>&1) || rc=$?; }
has() { grep -qF -- "$2" <<<"$1"; }
expect_rc() { check "$1: exit $2" "$([ "$rc" -eq "$2" ]; echo $?)"; }
expect() { check "$1: output has '$2'" "$(has "$out" "$2"; echo $?)"; }
expect_not() { check "$1: output lacks '$2'" "$(! has "$out" "$2"; echo $?)"; }
file_has() { check "$1: $2 has '$3'" "$(grep -qF -- "$3" "$2"; echo $?)"; }

export VM_STATE_DIR=$WORK/state CXL_VM_ACCEL=tcg
unset VM1_CPU_NODE VM2_CPU_NODE CXL_MEM_NODE
ssh-keygen -q -t ed25519 -N '' -C tester@example -f "$WORK/id" >/dev/null 2>&1 ||
  printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTestOnlyxxxxxxxxxxxxxxxxxxxxx tester@example\n' >"$WORK/id.pub"
KEY=$(cat "$WORK/id.pub")
QS=(env OUTDIR="$WORK/out" MIRROR_DIR="$WORK/mirror" CXL_PATH="$WORK/cxl.raw" CLOUD_INIT_SSH_KEY_FILE="$WORK/id.pub")

# --- host_quickstart.sh --dry-run: the whole path, nothing run ----------------------------
run "${QS[@]}" bash scripts/host_quickstart.sh --dry-run
expect_rc "quickstart dry run" 0
expect "quickstart dry run" "would download https://"
expect "quickstart dry run" "ubuntu-24.04-server-cloudimg-amd64.img"
expect "quickstart dry run" "+ bash $ROOT/infra/create_cxl_shared.sh $WORK/cxl.raw 4G"
expect "quickstart dry run" "+ qemu-img create -q -f qcow2 -F qcow2 -b $WORK/mirror/ubuntu-24.04-server-cloudimg-amd64.img $WORK/out/vm1.qcow2 20G"
expect "quickstart dry run" "+ cloud-localds $WORK/out/seed-vm2.img $WORK/out/user-data-vm2 $WORK/out/meta-data-vm2"
expect "quickstart dry run" "nothing downloaded, created or started"
check "dry run downloaded nothing" "$([ ! -e "$WORK/mirror" ]; echo $?)"
check "dry run created no medium" "$([ ! -e "$WORK/cxl.raw" ]; echo $?)"
check "dry run created no disk or seed" "$([ ! -e "$WORK/out/vm1.qcow2" ] && [ ! -e "$WORK/out/seed-vm1.img" ]; echo $?)"
check "dry run left no pid file" "$([ ! -e "$VM_STATE_DIR/vm1.pid" ]; echo $?)"
vm1=$(grep '^qemu-system-x86_64 -name vm1 ' <<<"$out")
vm2=$(grep '^qemu-system-x86_64 -name vm2 ' <<<"$out")
check "quickstart prints both QEMU command lines" "$([ -n "$vm1" ] && [ -n "$vm2" ]; echo $?)"
for want in "-machine q35,accel=tcg" "-cpu max" "-smp 4" "-m 4G" \
    "-object memory-backend-file,id=cxl,share=on,mem-path=$WORK/cxl.raw,size=4294967296" \
    "-device ivshmem-plain,memdev=cxl" \
    "-drive if=virtio,file=$WORK/out/vm1.qcow2,format=qcow2" "-drive if=virtio,file=$WORK/out/seed-vm1.img,format=raw" \
    "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22" \
    "-virtfs local,path=$ROOT,mount_tag=hostshare,security_model=none" \
    "mac=52:54:00:12:34:01" "-daemonize -pidfile $VM_STATE_DIR/vm1.pid" "-serial file:$ROOT/results/vm/"; do
  check "vm1 command line has '$want'" "$(has "$vm1" "$want"; echo $?)"
done
check "vm2 forwards SSH on 127.0.0.1:2223" "$(has "$vm2" "hostfwd=tcp:127.0.0.1:2223-:22"; echo $?)"
check "vm2's link MAC" "$(has "$vm2" "mac=52:54:00:12:34:02"; echo $?)"
# the link: each VM sends to the other's port
p1=$(sed -n 's/.*udp=127.0.0.1:\([0-9]*\),localaddr=127.0.0.1:\([0-9]*\).*/\1 \2/p' <<<"$vm1")
p2=$(sed -n 's/.*udp=127.0.0.1:\([0-9]*\),localaddr=127.0.0.1:\([0-9]*\).*/\2 \1/p' <<<"$vm2")
check "the VM link: vm1 sends to vm2's port and back ($p1 / $p2)" "$([ -n "$p1" ] && [ "$p1" = "$p2" ]; echo $?)"
check "no address but 127.0.0.1 on the host side" \
  "$(! grep -oE '(udp|localaddr|hostfwd=tcp)[=:][0-9.]+' <<<"$vm1$vm2" | grep -v '127\.0\.0\.1' | grep -q .; echo $?)"

# the generated cloud-init data
for h in vm1 vm2; do
  n=${h#vm}
  ud=$WORK/out/user-data-$h md=$WORK/out/meta-data-$h
  check "$h user-data written" "$([ -s "$ud" ]; echo $?)"
  check "$h user-data starts with #cloud-config" "$([ "$(head -n 1 "$ud")" = "#cloud-config" ]; echo $?)"
  file_has "$h" "$ud" "hostname: $h"
  file_has "$h" "$ud" "      - $KEY"
  file_has "$h" "$ud" "macaddress: 52:54:00:12:34:0$n"
  file_has "$h" "$ud" "- 192.168.100.$n/24"
  file_has "$h" "$ud" "set-name: cxl0"
  file_has "$h" "$ud" "[hostshare, /mnt/hostshare, 9p,"
  file_has "$h" "$ud" "passwd: \$6\$"
  check "$h user-data holds no clear password" "$(! grep -q 'passwd: ubuntu' "$ud"; echo $?)"
  file_has "$h" "$md" "instance-id: cxl-dsm-$h"
  file_has "$h" "$md" "local-hostname: $h"
  if python3 -c 'import yaml' 2>/dev/null; then
    python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d["hostname"] == sys.argv[2]
assert d["users"][0]["name"] == "ubuntu"; yaml.safe_load(d["write_files"][0]["content"])' "$ud" "$h"
    check "$h user-data is valid YAML" $?
  fi
done

# settings through the environment
run env "${QS[@]:1}" VM1_SSH=3322 VM2_MEM=2G VM1_CPUS=2 CXL_SIZE=256M bash scripts/host_quickstart.sh --dry-run
expect_rc "quickstart with settings" 0
expect "VM1_SSH" "hostfwd=tcp:127.0.0.1:3322-:22"
expect "VM1_CPUS" "-name vm1 -machine q35,accel=tcg -cpu max -smp 2"
expect "VM2_MEM" "-smp 4 -m 2G"
expect "CXL_SIZE" "size=268435456"
base=$WORK/base.img
: >"$base"
run env "${QS[@]:1}" BASE_IMG="$base" bash scripts/host_quickstart.sh --dry-run
expect_rc "quickstart with BASE_IMG" 0
expect "BASE_IMG is used" "-b $base $WORK/out/vm1.qcow2"
expect_not "BASE_IMG present: no download" "would download"

# --- bad settings and arguments: refused, named ------------------------------------------------
run "${QS[@]}" bash scripts/host_quickstart.sh --frobnicate
expect_rc "quickstart unknown flag" 2
expect "quickstart unknown flag" "unknown argument '--frobnicate'"
run env "${QS[@]:1}" DOWNLOAD_BASE_IMG=0 bash scripts/host_quickstart.sh --dry-run
expect_rc "no image, no download" 1
expect "no image, no download" "BASE_IMG: no file"
expect "no image, no download" "DOWNLOAD_BASE_IMG=0"
run env "${QS[@]:1}" CXL_SIZE=lots bash scripts/host_quickstart.sh --dry-run
expect_rc "bad CXL_SIZE" 2
expect "bad CXL_SIZE" "CXL_SIZE='lots' is not a size"
run env "${QS[@]:1}" FORCE_RECREATE=yes bash scripts/host_quickstart.sh --dry-run
expect "bad FORCE_RECREATE" "FORCE_RECREATE='yes': 0 or 1"
run env "${QS[@]:1}" CLOUD_INIT_SSH_KEY_FILE=/nonexistent.pub bash scripts/host_quickstart.sh --dry-run
expect "missing SSH key file" "CLOUD_INIT_SSH_KEY_FILE: no file '/nonexistent.pub'"
run env "${QS[@]:1}" VM2_SSH=2222 bash scripts/host_quickstart.sh --dry-run
expect_rc "same SSH port twice" 2
expect "same SSH port twice" "--vm1-ssh and --vm2-ssh are both 2222"
run env "${QS[@]:1}" VM1_SSH=70000 bash scripts/host_quickstart.sh --dry-run
expect "SSH port out of range" "--vm1-ssh '70000' is not a port"
run env "${QS[@]:1}" VM1_MEM=much bash scripts/host_quickstart.sh --dry-run
expect "bad VM1_MEM" "--vm1-mem 'much' is not a size"
run env "${QS[@]:1}" VM2_CPUS=0 bash scripts/host_quickstart.sh --dry-run
expect "bad VM2_CPUS" "--vm2-cpus '0' is not a CPU count"
run env "${QS[@]:1}" HOSTSHARE=/nonexistent bash scripts/host_quickstart.sh --dry-run
expect "bad HOSTSHARE" "--hostshare: no directory '/nonexistent'"
run env "${QS[@]:1}" CXL_MEM_NODE=97 bash scripts/host_quickstart.sh --dry-run
expect_rc "a NUMA node that does not exist" 2
expect "a NUMA node that does not exist" "CXL_MEM_NODE=97: this host has no NUMA node 97"
run env "${QS[@]:1}" VM1_CPU_NODE=x bash scripts/host_quickstart.sh --dry-run
expect "a NUMA node that is not a number" "VM1_CPU_NODE='x' is not a NUMA node number"

# NUMA binding on the command lines (node 0 exists everywhere)
run env "${QS[@]:1}" VM1_CPU_NODE=0 VM2_CPU_NODE=0 CXL_MEM_NODE=0 bash scripts/host_quickstart.sh --dry-run
expect_rc "NUMA binding" 0
expect "VM1_CPU_NODE" "numactl --cpunodebind=0 --membind=0 -- qemu-system-x86_64 -name vm1"
expect "VM2_CPU_NODE" "numactl --cpunodebind=0 --membind=0 -- qemu-system-x86_64 -name vm2"
expect "CXL_MEM_NODE" "size=4294967296,host-nodes=0,policy=bind"

# --- run_vms.sh on its own -----------------------------------------------------------------------
R=(bash infra/run_vms.sh)
run "${R[@]}"
expect_rc "run_vms with nothing" 2
expect "run_vms with nothing" "nothing to run"
run "${R[@]}" --vm1-disk a --vm1-seed b --vm2-disk c --vm2-seed d --cxl-size 4G
expect "run_vms without --cxl" "--cxl PATH is required"
run "${R[@]}" --cxl x --cxl-size 3G --vm1-disk a --vm1-seed b --vm2-disk c --vm2-seed d
expect_rc "run_vms --cxl-size not a power of two" 2
expect "run_vms --cxl-size not a power of two" "--cxl-size '3G' must be a power of two"
run "${R[@]}" --cxl x --cxl-size 4G --vm1-disk a --vm1-seed b --vm2-disk c
expect "run_vms without --vm2-seed" "--vm2-seed is required"
run "${R[@]}" --cxl x --cxl-size 4G --vm1-disk a --vm1-seed b --vm2-disk c --vm2-seed d --vm1-role test-server
expect "run_vms mixing the two kinds of guest" "do not mix"
run "${R[@]}" --cxl "$WORK/nope.raw" --cxl-size 4G --vm1-disk a --vm1-seed b --vm2-disk c --vm2-seed d
expect_rc "run_vms with a missing medium" 1
expect "run_vms with a missing medium" "--cxl: no file '$WORK/nope.raw' (create it: infra/create_cxl_shared.sh"
bash infra/create_cxl_shared.sh "$WORK/small.raw" 1M >/dev/null
run "${R[@]}" --cxl "$WORK/small.raw" --cxl-size 4M --vm1-role probe
expect "run_vms --cxl-size larger than the file" "has 1048576 bytes, less than --cxl-size 4M"
bash infra/create_cxl_shared.sh "$WORK/m.raw" 4M >/dev/null
run "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-disk "$WORK/none.qcow2" --vm1-seed b --vm2-disk c --vm2-seed d
expect "run_vms with a missing disk" "--vm1-disk: no file '$WORK/none.qcow2'"
run "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-role probe --accel fast
expect "run_vms --accel" "--accel 'fast': auto, kvm or tcg"
run "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-role 'x;y'
expect "run_vms --vm1-role" "--vm1-role 'x;y'"
run "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-role probe --vm1-overlay /nonexistent
expect "run_vms --vm1-overlay" "--vm1-overlay: no directory '/nonexistent'"
run "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-role probe --timeout 5
expect "run_vms --timeout" "--timeout '5'"
run "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-role probe --bogus
expect_rc "run_vms unknown flag" 2
expect "run_vms unknown flag" "unknown argument '--bogus'"
run "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-role probe --kernel "$WORK/no-kernel"
expect "run_vms --kernel missing" "--kernel: no file '$WORK/no-kernel' (build the guest: make vm)"
run env VM_STATE_DIR="$WORK/empty" "${R[@]}" --stop
expect_rc "run_vms --stop with nothing running" 0
expect "run_vms --stop with nothing running" "run_vms: no running VM recorded"
run "${R[@]}" --help
expect_rc "run_vms --help" 0
expect "run_vms --help" "run_vms.sh - the initramfs guests"
expect "run_vms --help names the cloud-image launcher" "infra/run_cloud_vms.sh"
expect_not "run_vms --help is the header only" "set -euo pipefail"

# --- run_cloud_vms.sh, and run_vms.sh handing the cloud-image flags to it ------------------------
C=(bash infra/run_cloud_vms.sh)
run "${C[@]}" --help
expect_rc "run_cloud_vms --help" 0
expect "run_cloud_vms --help" "run_cloud_vms.sh - the cloud-image guests"
expect "run_cloud_vms --help" "infra/run_cloud_vms.sh --stop"
expect_not "run_cloud_vms --help is the header only" "set -euo pipefail"
run "${C[@]}"
expect_rc "run_cloud_vms with nothing" 2
expect "run_cloud_vms with nothing" "run_cloud_vms.sh: --cxl PATH is required"
run "${C[@]}" --cxl x --cxl-size 4G
expect "run_cloud_vms without disks" "run_cloud_vms.sh: --vm1-disk is required with the cloud-image guests"
run "${C[@]}" --cxl x --cxl-size 4G --bogus
expect_rc "run_cloud_vms unknown flag" 2
expect "run_cloud_vms unknown flag" "run_cloud_vms.sh: unknown argument '--bogus'"
run "${C[@]}" --cxl x --cxl-size 4G --vm1-disk a --vm1-seed b --vm2-disk c --vm2-seed d --vm1-role test-server
expect_rc "run_cloud_vms --vm1-role" 2
expect "run_cloud_vms --vm1-role" "--vm1-role is for the initramfs guests (infra/run_vms.sh)"
run "${R[@]}" --cxl x --cxl-size 4G --vm1-disk a --vm1-seed b --vm2-disk c --vm2-seed d --timeout 60
expect_rc "run_vms --timeout with cloud-image flags" 2
expect "run_vms --timeout with cloud-image flags" "run_vms.sh: --timeout is for the initramfs guests"
run "${C[@]}" --cxl x --cxl-size 4G --vm1-disk a --vm1-seed b --vm2-disk c --vm2-seed d --vm1-ssh 0
expect "run_cloud_vms --vm1-ssh 0" "run_cloud_vms.sh: --vm1-ssh '0' is not a port"
run "${C[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-disk "$WORK/none.qcow2" --vm1-seed b --vm2-disk c --vm2-seed d
expect_rc "run_cloud_vms with a missing disk" 1
expect "run_cloud_vms with a missing disk" "run_cloud_vms.sh: --vm1-disk: no file '$WORK/none.qcow2'"
run env VM_STATE_DIR="$WORK/empty" "${C[@]}" --stop
expect_rc "run_cloud_vms --stop with nothing running" 0
expect "run_cloud_vms --stop with nothing running" "run_cloud_vms: no running VM recorded in $WORK/empty"
# the same command lines both ways; run_vms.sh's lines say run_vms as they always did
cflags=(--cxl "$WORK/m.raw" --cxl-size 4M --vm1-disk a.qcow2 --vm1-seed a.img --vm2-disk b.qcow2 --vm2-seed b.img
        --vm2-ssh 3323 --vm1-mem 1G --vm2-cpus 2 --hostshare "$WORK" --log-dir "$WORK/dry" --dry-run)
run "${C[@]}" "${cflags[@]}"
expect_rc "run_cloud_vms dry run" 0
expect "run_cloud_vms dry run" "run_cloud_vms: accel tcg (asked for)"
expect "run_cloud_vms dry run" "-virtfs local,path=$WORK,mount_tag=hostshare"
expect "run_cloud_vms dry run" "-drive if=virtio,file=$ROOT/b.qcow2,format=qcow2"
expect "run_cloud_vms dry run" "hostfwd=tcp:127.0.0.1:3323-:22"
direct=$out
run "${R[@]}" "${cflags[@]}"
expect_rc "run_vms dry run with cloud-image flags" 0
expect "run_vms dry run with cloud-image flags" "run_vms: accel tcg (asked for)"
expect_not "run_vms dry run with cloud-image flags" "run_cloud_vms"
check "run_vms with cloud-image flags prints run_cloud_vms.sh's command lines" \
  "$([ "$out" = "${direct//run_cloud_vms: /run_vms: }" ]; echo $?)"
# a start without QEMU: a stand-in records what it was given; both VMs are
# started, each with its command line as kept in vmN.cmd, and the delegation's
# variable does not reach QEMU
mkdir -p "$WORK/fake"
cat >"$WORK/fake/qemu" <<EOF
#!/bin/sh
env | grep -c RUN_CLOUD_VMS_AS >"$WORK/fake/\$2.env"
printf '%s\n' "\$@" >"$WORK/fake/\$2.args"
EOF
chmod +x "$WORK/fake/qemu"
: >"$WORK/fake/d1"; : >"$WORK/fake/s1"; : >"$WORK/fake/d2"; : >"$WORK/fake/s2"
run env QEMU_BIN="$WORK/fake/qemu" VM_STATE_DIR="$WORK/fake/state" "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M \
  --vm1-disk "$WORK/fake/d1" --vm1-seed "$WORK/fake/s1" --vm2-disk "$WORK/fake/d2" --vm2-seed "$WORK/fake/s2" \
  --vm1-ssh "$(free_port)" --vm2-ssh "$(free_port)" --log-dir "$WORK/fake/logs"
expect_rc "run_vms starts cloud-image VMs (QEMU stand-in)" 0
expect "run_vms starts cloud-image VMs (QEMU stand-in)" "run_vms: starting vm2"
expect "run_vms starts cloud-image VMs (QEMU stand-in)" "run_vms: both VMs started"
expect "run_vms starts cloud-image VMs (QEMU stand-in)" "stop: bash infra/run_vms.sh --stop"
for v in 1 2; do
  check "vm$v: QEMU was run with the -name vm$v command line" \
    "$([ -s "$WORK/fake/vm$v.args" ] && grep -qx -- "-daemonize" "$WORK/fake/vm$v.args" &&
       grep -qx -- "if=virtio,file=$WORK/fake/d$v,format=qcow2" "$WORK/fake/vm$v.args"; echo $?)"
  check "vm$v: RUN_CLOUD_VMS_AS not in QEMU's environment" "$([ "$(cat "$WORK/fake/vm$v.env" 2>/dev/null)" = 0 ]; echo $?)"
  check "vm$v: vm$v.cmd kept" "$(grep -q -- "-name vm$v " "$WORK/fake/logs/vm$v.cmd"; echo $?)"
done

# the initramfs mode's command lines
mkdir -p "$WORK/ov"
run "${R[@]}" --cxl "$WORK/m.raw" --cxl-size 4M --vm1-role test-server --vm2-role test-client --dry-run \
  --vm1-append "cxl.n=10" --vm2-overlay "$WORK/ov" --kernel /k --initrd /i
expect_rc "initramfs dry run" 0
expect "initramfs dry run" "-kernel /k -initrd /i -append 'console=ttyS0 quiet loglevel=3 panic=-1 cxl.name=vm1 cxl.role=test-server"
expect "initramfs dry run: the link address" "cxl.ip=192.168.100.1 cxl.peer=192.168.100.2 cxl.mac=52:54:00:12:34:01 cxl.n=10'"
expect "initramfs dry run: the overlay" "| gzip | cat /i - >"
expect "initramfs dry run: serial and data logs" "-serial file:$ROOT/results/vm/"
expect "initramfs dry run: data log" "vm2.data.log"
expect "initramfs dry run: -no-reboot" "-no-reboot"
expect_not "initramfs dry run: no SSH forward" "hostfwd"

# --- create_cxl_shared.sh ---------------------------------------------------------------------------
run bash infra/create_cxl_shared.sh "$WORK/c.raw" 64M
expect_rc "create 64M" 0
check "64M file, sparse" "$([ "$(stat -c %s "$WORK/c.raw")" = 67108864 ] && [ "$(stat -c %b "$WORK/c.raw")" -lt 100 ]; echo $?)"
printf 'x' | dd of="$WORK/c.raw" conv=notrunc status=none
run bash infra/create_cxl_shared.sh --keep "$WORK/c.raw" 64M
expect "--keep keeps a file of the right size" "keeping"
check "--keep kept the content" "$([ "$(head -c 1 "$WORK/c.raw")" = x ]; echo $?)"
run bash infra/create_cxl_shared.sh "$WORK/c.raw" 64M
check "without --keep the file is zeroed" "$([ "$(head -c 1 "$WORK/c.raw" | od -An -tx1 | tr -d ' ')" = 00 ]; echo $?)"
run bash infra/create_cxl_shared.sh "$WORK/c.raw" 48M
expect_rc "create 48M" 2
expect "create 48M" "is not a power of two"
run bash infra/create_cxl_shared.sh "$WORK/c.raw" 512K
expect "create 512K" "is below 1M"
run bash infra/create_cxl_shared.sh "$WORK/c.raw"
expect "create without SIZE" "need PATH and SIZE"
run bash infra/create_cxl_shared.sh "$WORK" 64M
expect "create on a directory" "is a directory"

# --- create_cloud_init.sh and create_vm_images.sh for real (offline tools) --------------------------
run bash infra/create_cloud_init.sh --outdir "$WORK/ci" --ssh-key /nonexistent
expect "cloud-init: missing key" "--ssh-key: no file '/nonexistent'"
echo "not a key" >"$WORK/bad.pub"
run bash infra/create_cloud_init.sh --outdir "$WORK/ci" --ssh-key "$WORK/bad.pub"
expect "cloud-init: not a key" "is not an SSH public key"
run env CXL_NET_VM1_MAC=zz bash infra/create_cloud_init.sh --outdir "$WORK/ci" --ssh-key "$WORK/id.pub"
expect "cloud-init: bad MAC" "is not a lower-case MAC address"
run bash infra/create_cloud_init.sh
expect "cloud-init without --outdir" "--outdir DIR is required"
if command -v cloud-localds >/dev/null; then
  run env PASSWORD=s3cret bash infra/create_cloud_init.sh --outdir "$WORK/ci" --ssh-key "$WORK/id.pub"
  expect_rc "cloud-init seeds" 0
  for h in vm1 vm2; do
    s=$WORK/ci/seed-$h.img
    check "seed-$h.img made" "$([ -s "$s" ]; echo $?)"
    if command -v isoinfo >/dev/null; then
      check "seed-$h.img is an ISO labelled cidata" "$(isoinfo -d -i "$s" 2>/dev/null | grep -q 'Volume id: cidata'; echo $?)"
      check "seed-$h.img carries the user-data" \
        "$(isoinfo -i "$s" -R -x /user-data 2>/dev/null | grep -q "hostname: $h"; echo $?)"
      check "seed-$h.img carries the meta-data" \
        "$(isoinfo -i "$s" -R -x /meta-data 2>/dev/null | grep -q "local-hostname: $h"; echo $?)"
    fi
  done
  hash=$(sed -n 's/^    passwd: //p' "$WORK/ci/user-data-vm1")
  check "PASSWORD is hashed into user-data" \
    "$([ "$(openssl passwd -6 -salt "$(cut -d'$' -f3 <<<"$hash")" s3cret)" = "$hash" ]; echo $?)"
else
  echo "cloud_scripts: cloud-localds missing: seed images not made (bash scripts/deps.sh vm)" >&2
fi
if command -v qemu-img >/dev/null; then
  qemu-img create -q -f qcow2 "$WORK/base.qcow2" 64M
  run bash infra/create_vm_images.sh --base "$WORK/base.qcow2" --outdir "$WORK/img" --size 1G
  expect_rc "qcow2 overlays" 0
  for v in vm1 vm2; do
    info=$(qemu-img info -U "$WORK/img/$v.qcow2" 2>&1)
    check "$v.qcow2 is a qcow2 overlay on the base" \
      "$(grep -q "backing file: $WORK/base.qcow2" <<<"$info" && grep -q 'file format: qcow2' <<<"$info"; echo $?)"
    check "$v.qcow2 has the size asked for" "$(grep -q 'virtual size: 1 GiB' <<<"$info"; echo $?)"
  done
  run bash infra/create_vm_images.sh --base "$WORK/none.img" --outdir "$WORK/img"
  expect "overlays on a missing base" "--base: no file '$WORK/none.img'"
  run bash infra/create_vm_images.sh --base "$WORK/base.qcow2" --outdir "$WORK/img" --size big
  expect "overlays with a bad size" "--size 'big' is not a size"
  # the quickstart for real up to the VMs: a base image present, then the
  # VMs' start refused because an SSH port is taken (nothing boots)
  python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$WORK/port" &
  holder=$!; CLEANUP_PIDS+=("$holder")
  for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  busy=$(cat "$WORK/port")
  run env "${QS[@]:1}" BASE_IMG="$WORK/base.qcow2" CXL_SIZE=4M VM1_SSH="$busy" bash scripts/host_quickstart.sh
  expect "quickstart with a taken SSH port" "--vm1-ssh $busy: the port is in use on 127.0.0.1"
  check "quickstart made the overlays" "$([ -f "$WORK/out/vm1.qcow2" ] && [ -f "$WORK/out/vm2.qcow2" ]; echo $?)"
  check "quickstart made the medium" "$([ "$(stat -c %s "$WORK/cxl.raw" 2>/dev/null)" = 4194304 ]; echo $?)"
  check "no VM was started" "$([ ! -e "$VM_STATE_DIR/vm1.pid" ]; echo $?)"
  kill "$holder" 2>/dev/null
fi

# the cloud-image VMs really started (QEMU takes the command line: virtfs,
# SSH forwards, disks, the shared memory), then stopped; the blank disks boot
# nothing, which is all this needs
if command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null && command -v cloud-localds >/dev/null; then
  (cd "$WORK" && bash "$ROOT/infra/create_cxl_shared.sh" live.raw 4M >/dev/null)
  s1=$(free_port) s2=$(free_port)
  run bash -c "cd '$WORK' && bash '$ROOT/infra/run_cloud_vms.sh' --cxl live.raw --cxl-size 4M \
    --vm1-disk img/vm1.qcow2 --vm1-seed ci/seed-vm1.img --vm2-disk img/vm2.qcow2 --vm2-seed ci/seed-vm2.img \
    --vm1-ssh $s1 --vm2-ssh $s2 --vm1-mem 256M --vm2-mem 256M --vm1-cpus 1 --vm2-cpus 1 --log-dir '$WORK/live'"
  expect_rc "cloud-image VMs start" 0
  for v in 1 2; do [ -f "$VM_STATE_DIR/vm$v.pid" ] && CLEANUP_PIDS+=("$(cat "$VM_STATE_DIR/vm$v.pid")"); done
  expect "cloud-image VMs start" "run_cloud_vms: starting vm1"
  expect "cloud-image VMs start" "VM1: ssh ubuntu@127.0.0.1 -p $s1"
  expect "cloud-image VMs start" "stop: bash infra/run_cloud_vms.sh --stop"
  for v in 1 2; do
    check "vm$v runs (pid file)" "$(kill -0 "$(cat "$VM_STATE_DIR/vm$v.pid" 2>/dev/null)" 2>/dev/null; echo $?)"
    check "vm$v has a serial log" "$([ -f "$WORK/live/vm$v.serial.log" ]; echo $?)"
    check "vm$v's command line is kept" "$(grep -q "mem-path=$WORK/live.raw" "$WORK/live/vm$v.cmd"; echo $?)"
  done
  check "SSH forwards listen on 127.0.0.1:$s1 and :$s2" \
    "$(python3 -c 'import socket,sys
for p in sys.argv[1:]: socket.create_connection(("127.0.0.1", int(p)), 2).close()' "$s1" "$s2" 2>/dev/null; echo $?)"
  live=(--cxl "$WORK/live.raw" --cxl-size 4M --vm1-disk "$WORK/img/vm1.qcow2" --vm1-seed "$WORK/ci/seed-vm1.img"
        --vm2-disk "$WORK/img/vm2.qcow2" --vm2-seed "$WORK/ci/seed-vm2.img" --vm1-mem 256M --vm2-mem 256M)
  run bash infra/run_cloud_vms.sh "${live[@]}" --vm1-ssh "$(free_port)" --vm2-ssh "$(free_port)" --log-dir "$WORK/refused"
  expect_rc "a second start is refused" 1
  expect "a second start is refused" "vm1 is already running (pid $(cat "$VM_STATE_DIR/vm1.pid" 2>/dev/null)): infra/run_cloud_vms.sh --stop first"
  run bash infra/run_vms.sh "${live[@]}" --vm1-ssh "$(free_port)" --vm2-ssh "$(free_port)" --log-dir "$WORK/refused"
  expect "a second start through run_vms is refused" "run_vms.sh: vm1 is already running (pid"
  expect "a second start through run_vms is refused" "infra/run_vms.sh --stop first"
  pid1=$(cat "$VM_STATE_DIR/vm1.pid" 2>/dev/null)
  run bash infra/run_vms.sh --stop
  expect_rc "run_vms --stop" 0
  expect "run_vms --stop" "run_vms: stopped vm1"
  expect "run_vms --stop" "run_vms: stopped vm2"
  check "vm1 is gone after --stop" "$(! kill -0 "$pid1" 2>/dev/null; echo $?)"
  check "--stop removed the pid files" "$([ ! -e "$VM_STATE_DIR/vm1.pid" ] && [ ! -e "$VM_STATE_DIR/vm2.pid" ]; echo $?)"
  [ -n "$pid1" ] && kill "$pid1" 2>/dev/null
  # and the other way round: started through run_vms.sh, stopped by run_cloud_vms.sh
  run bash infra/run_vms.sh "${live[@]}" --vm1-ssh "$(free_port)" --vm2-ssh "$(free_port)" --vm1-cpus 1 --vm2-cpus 1 \
    --log-dir "$WORK/live2"
  expect_rc "cloud-image VMs start through run_vms" 0
  for v in 1 2; do [ -f "$VM_STATE_DIR/vm$v.pid" ] && CLEANUP_PIDS+=("$(cat "$VM_STATE_DIR/vm$v.pid")"); done
  expect "cloud-image VMs start through run_vms" "run_vms: starting vm1"
  expect "cloud-image VMs start through run_vms" "stop: bash infra/run_vms.sh --stop"
  pid2=$(cat "$VM_STATE_DIR/vm2.pid" 2>/dev/null)
  check "vm2 runs (pid file)" "$(kill -0 "$pid2" 2>/dev/null; echo $?)"
  run bash infra/run_cloud_vms.sh --stop
  expect_rc "run_cloud_vms --stop" 0
  expect "run_cloud_vms --stop" "run_cloud_vms: stopped vm1"
  expect "run_cloud_vms --stop" "run_cloud_vms: stopped vm2"
  check "vm2 is gone after --stop" "$(! kill -0 "$pid2" 2>/dev/null; echo $?)"
  [ -n "$pid2" ] && kill "$pid2" 2>/dev/null
fi

echo "cloud_scripts: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
