#!/usr/bin/env bash
# cli_tee_vms.sh - the QEMU command lines of the TEE guests (docs/TEE.md),
# golden: infra/run_vms.sh and infra/run_cloud_vms.sh --dry-run with --tdx
# and with --sgx-epc, and without them (today's command line, unchanged),
# compared line by line with tests/golden/*.txt; then the flags' errors
# (--tdx with --accel tcg, --tdx with --sgx-epc, a bad EPC size, --tdx-bios
# without --tdx). Nothing is started.
# Usage: bash tests/cli_tee_vms.sh [build-dir]   (the build is not needed)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
fails=0 checks=0
ok() { checks=$((checks + 1)); echo "ok: $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "cli_tee_vms: FAIL: $1" >&2; }
clean_env=(env -u QEMU_BIN -u VM1_CPU_NODE -u VM2_CPU_NODE -u CXL_MEM_NODE -u TDX_BIOS -u CXL_VM_ACCEL VMNET_ENABLE=1)
initramfs() {
  "${clean_env[@]}" bash infra/run_vms.sh --dry-run --accel kvm --cxl /golden/cxl.raw --cxl-size 64M \
    --vm1-role test-server --vm2-role test-client --kernel /golden/vmlinuz --initrd /golden/initramfs.cpio.gz \
    --log-dir /golden/logs "$@" 2>&1
}
cloud() {
  "${clean_env[@]}" VM_STATE_DIR=/golden/state bash infra/run_cloud_vms.sh --dry-run --accel kvm --cxl /golden/cxl.raw \
    --cxl-size 4G --vm1-disk /golden/vm1.qcow2 --vm1-seed /golden/seed1.img --vm2-disk /golden/vm2.qcow2 \
    --vm2-seed /golden/seed2.img --hostshare /tmp --log-dir /golden/logs "$@" 2>&1
}
golden() { # NAME CMD...: CMD's output is tests/golden/NAME.txt
  local name=$1 out; shift
  out=$("$@")
  if [ "$out" = "$(cat "tests/golden/$name.txt")" ]; then ok "$name: the golden command lines"
  else bad "$name differs from tests/golden/$name.txt:"; diff <(echo "$out") "tests/golden/$name.txt" | sed 's/^/  | /' >&2; fi
}
golden run_vms initramfs
golden run_vms_tdx initramfs --tdx --tdx-bios /golden/OVMF.inteltdx.fd
golden run_vms_sgx_epc initramfs --sgx-epc 64M
golden run_cloud_vms_tdx cloud --tdx --tdx-bios /golden/OVMF.inteltdx.fd
golden run_cloud_vms_sgx_epc cloud --sgx-epc 128M
# the same through run_vms.sh's hand-over of the cloud-image flags
out=$("${clean_env[@]}" VM_STATE_DIR=/golden/state bash infra/run_vms.sh --dry-run --accel kvm --cxl /golden/cxl.raw \
  --cxl-size 4G --vm1-disk /golden/vm1.qcow2 --vm1-seed /golden/seed1.img --vm2-disk /golden/vm2.qcow2 \
  --vm2-seed /golden/seed2.img --hostshare /tmp --log-dir /golden/logs --sgx-epc 128M 2>&1)
[ "$out" = "$(sed 's/^run_cloud_vms:/run_vms:/' tests/golden/run_cloud_vms_sgx_epc.txt)" ] &&
  ok "run_vms.sh hands --sgx-epc on to run_cloud_vms.sh" || bad "run_vms.sh --vm1-disk ... --sgx-epc: $out"

# what each line must hold (the golden files could be regenerated wrong)
t=$(cat tests/golden/run_vms_tdx.txt)
for want in 'q35,accel=kvm,kernel-irqchip=split,confidential-guest-support=tdx0' '-object tdx-guest,id=tdx0' \
            '-bios /golden/OVMF.inteltdx.fd' '-cpu host' \
            '-object memory-backend-file,id=cxl,share=on,mem-path=/golden/cxl.raw' '-device ivshmem-plain,memdev=cxl'; do
  [[ $t == *"$want"* ]] && ok "--tdx: '$want'" || bad "--tdx: no '$want'"
done
s=$(cat tests/golden/run_vms_sgx_epc.txt)
for want in 'q35,accel=kvm,sgx-epc.0.memdev=epc0,sgx-epc.0.node=0' '-object memory-backend-epc,id=epc0,size=67108864,prealloc=on'; do
  [[ $s == *"$want"* ]] && ok "--sgx-epc: '$want'" || bad "--sgx-epc: no '$want'"
done
[ "$(grep -c 'tdx\|epc' tests/golden/run_vms.txt)" = 0 ] && ok "no TEE option without the flags" || bad "TEE options without the flags"

# the flags' errors: exit 2 and a message naming the flag
err() { # DESC WANT ARGS...
  local desc=$1 want=$2 out rc; shift 2
  out=$(initramfs "$@"); rc=$?
  if [ $rc = 2 ] && [[ $out == *"$want"* ]]; then ok "$desc: exit 2, '$want'"; else bad "$desc: exit $rc, $out"; fi
}
err "--tdx under TCG" "--tdx needs KVM" --tdx --tdx-bios /x.fd --accel tcg
err "--tdx with --sgx-epc" "do not mix" --tdx --tdx-bios /x.fd --sgx-epc 64M
err "--sgx-epc not a size" "--sgx-epc 'lots' is not a size" --sgx-epc lots
err "--sgx-epc not whole pages" "4 KiB pages" --sgx-epc 1000
err "--tdx-bios alone" "--tdx-bios without --tdx" --tdx-bios /x.fd
err "--sgx-epc without a value" "--sgx-epc needs a value" --sgx-epc
out=$("${clean_env[@]}" bash infra/run_vms.sh --dry-run --cxl /golden/cxl.raw --cxl-size 64M --vm1-role a \
  --kernel /k --initrd /i --log-dir /golden/logs --tdx --tdx-bios /x.fd 2>&1)
[[ $out == *"accel kvm"* && $out == *"-machine q35,accel=kvm,"* ]] && ok "--tdx with --accel auto: KVM" || bad "--tdx auto: $out"

echo "cli_tee_vms: $((checks - fails)) of $checks checks passed"
[ $fails = 0 ]
