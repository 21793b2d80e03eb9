#!/usr/bin/env bash
# host_recreate_and_bench_tdx.sh - the benchmarks between two Intel TDX guests
# (trust domains) sharing the ivshmem medium (docs/TEE.md). It owns the TDX
# workflow's order, its preflight, its labels and its proof; the guests are
# the initramfs guests (make vm) started by infra/run_vms.sh --tdx, and the
# benchmarks are the project's own:
#   1. preflight: every requirement and its verdict; exit 77 naming what is missing
#   2. the compare matrix: bench/vm_compare.sh --vm-flags '--tdx ...' --label-prefix TDX:
#      TDXNativeTCP, TDXNativeTLS, TDXSodiumTCP, TDXRing, TDXRingCrypto, TDXRingSecure
#   3. YCSB workload A over the ring (the ycsb-server / ycsb-client roles, cxl_ycsb): TDXYCSBRing
#   4. the graph: VM1 publishes kron -g SCALE plain and sealed, VM2 runs bfs on
#      each (the graph-publish / graph-attach roles, cxl_graph): TDXGraphRing, TDXGraphCrypto
#   5. the label proof: every guest's serial log shows the CPU flag tdx_guest
#      (guest/init.sh prints it); otherwise nothing is published under TDX*
#      labels (kept as *_REFUSED) and the exit is 1
# The medium is never inside a TD's private memory: it is a shared device BAR.
# Only the secure ring (TDXRingCrypto, TDXRingSecure) protects what crosses it.
# Outputs: results/tdx_compare_<time>.csv/.md (compare matrix columns),
# results/tdx_ycsb_<time>.csv, results/tdx_graph_<time>.csv, and the VM logs
# in results/tdx_<time>_logs/.
#
# Usage: sudo -E bash scripts/host_recreate_and_bench_tdx.sh [--dry-run] [--root DIR]
#          [--tdx-bios FILE] [--requests N] [--records N] [--graph-scale S] [--timeout S] [--vm-cpus N]
#   --dry-run   preflight, then every step and the QEMU command lines; start nothing
#   --root DIR  read /proc, /sys, /dev under DIR (tests; also CXL_TEE_ROOT)
# Defaults: TDVF from TDX_BIOS or the first of OVMF.inteltdx.fd / OVMF.fd found
# (infra/lib.sh), vm_compare.sh's request count, 2000 records, -g 14, timeout 1200 s.
# Environment: QEMU_BIN, BUILD (build; the guest in BUILD/vm: make vm),
#   CXL_TDX_VM_FLAGS (replaces '--tdx --tdx-bios F': tests of the workflow
#   itself without TDX, whose results the proof then refuses)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=host_recreate_and_bench_tdx.sh
cd "$ROOT"
# shellcheck source=scripts/tee_lib.sh
source "$ROOT/scripts/tee_lib.sh"
usage() { usage_from_header "$ROOT/scripts/host_recreate_and_bench_tdx.sh"; }

bios=${TDX_BIOS:-} requests="" records=2000 gscale=14 timeout=1200 cpus=1
while [ $# -gt 0 ]; do
  if tee_common_flag "$@"; then shift "$TEE_SHIFT"; continue; fi
  case $1 in
    --tdx-bios) need "$@"; bios=$2; shift 2 ;;
    --requests) need "$@"; [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 100 ] || usage_error "--requests '$2': a number >= 100"; requests=$2; shift 2 ;;
    --records) need "$@"; [[ $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--records '$2': a number"; records=$2; shift 2 ;;
    --graph-scale) need "$@"; [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 20 ] ||
                     usage_error "--graph-scale '$2': 1..20 (the graph lives in 32 MiB of the medium)"; gscale=$2; shift 2 ;;
    --timeout) need "$@"; [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 60 ] || usage_error "--timeout '$2': seconds, at least 60"; timeout=$2; shift 2 ;;
    --vm-cpus) need "$@"; [[ $2 =~ ^[1-9]$ ]] || usage_error "--vm-cpus '$2': 1 to 9"; cpus=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$bios" ] || bios=$(vms_tdx_bios_default) || bios=""
kernel=$BUILD/vm/vmlinuz initrd=$BUILD/vm/initramfs.cpio.gz

# --- 1. preflight ------------------------------------------------------------------------------
tee_preflight_begin "Intel TDX guests with the ivshmem medium"
tee_exists /dev/kvm "KVM"
tee_param_on /sys/module/kvm_intel/parameters/tdx "KVM runs TDX guests (kvm_intel tdx=1, a TDX host kernel and BIOS)"
tee_cmd "$QEMU_BIN" "QEMU"
tee_qemu_object tdx-guest
tee_file "TDVF firmware" "${bios:-none found (--tdx-bios FILE or TDX_BIOS)}" "a TDX-enabled OVMF, e.g. OVMF.inteltdx.fd"
tee_file "guest kernel" "$(tee_abs "$kernel")" "make vm"
kconf=$(tee_abs "$BUILD/vm/kernel.config")
if grep -qx 'CONFIG_INTEL_TDX_GUEST=y' "$kconf" 2>/dev/null; then s=0; else s=1; fi
tee_req "guest kernel CONFIG_INTEL_TDX_GUEST=y" $s "($(grep -m1 'CONFIG_INTEL_TDX_GUEST' "$kconf" 2>/dev/null || echo "no $BUILD/vm/kernel.config: make vm"); Debian 12's 6.1 lacks it: infra/build_guest.sh --kernel-deb a TDX-enabled linux-image)"
tee_file "guest initramfs" "$(tee_abs "$initrd")" "make vm"
if [ -f "$(tee_abs "$initrd")" ] && zcat "$(tee_abs "$initrd")" 2>/dev/null | cpio -i --to-stdout --quiet init 2>/dev/null | grep 'tee cpu flags' >/dev/null; then s=0; else s=1; fi
tee_req "guest prints its TEE CPU flags" $s "(the TDX proof reads them; make vm after this change)"
tee_preflight_end

# --- the plan --------------------------------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
stage=results/tdx_${stamp}_stage
vmflags="--tdx --tdx-bios ${bios:-/usr/share/ovmf/OVMF.inteltdx.fd}"
# CXL_TDX_VM_FLAGS replaces the launcher flags: only to exercise the workflow
# on a machine without TDX (its guests then show no tdx_guest: refused)
vmflags=${CXL_TDX_VM_FLAGS-$vmflags}
read -ra vmf <<<"$vmflags"
[ "$TEE_DRY" = 1 ] || mkdir -p "$stage"
echo "$PROG: plan (two TDX guests, labels TDX*; outputs results/tdx_*_$stamp)"

tee_step "the compare matrix between two TDs: TDXNativeTCP ... TDXRingSecure" \
  bash bench/vm_compare.sh ${requests:+--requests "$requests"} --timeout "$timeout" --vm-cpus "$cpus" \
  --vm-flags "$vmflags" --label-prefix TDX --out "$stage/compare"

# YCSB and the graph: the guests' own roles (as tests/vm/ycsb_vms.sh and graph_vms.sh run them)
medium() { # NAME SIZE: a zero-filled medium file in /dev/shm, removed on exit
  CLEANUP_FILES+=("/dev/shm/cxl_tdx_$1_$$.raw")
  bash infra/create_cxl_shared.sh "/dev/shm/cxl_tdx_$1_$$.raw" "$2" >/dev/null
}
vms() { # LOGDIR ARGS...: both TDs, run_vms.sh in the foreground
  local logs=$1; shift
  bash infra/run_vms.sh --accel "${CXL_VM_ACCEL:-kvm}" --kernel "$kernel" --initrd "$initrd" --vm1-cpus "$cpus" --vm2-cpus "$cpus" \
    --timeout "$timeout" --log-dir "$logs" "${vmf[@]}" "$@"
}
ycsb_m=/dev/shm/cxl_tdx_ycsb_$$.raw graph_m=/dev/shm/cxl_tdx_graph_$$.raw
yargs="cxl.map_size=32M cxl.records=$records cxl.wait=$((timeout - 40))" # (VM1 checks it holds the records)
tee_step "YCSB: a medium for the ring" medium ycsb 64M
tee_step "YCSB workload A over the ring between the TDs: TDXYCSBRing" \
  vms "$stage/ycsb_vm" --cxl "$ycsb_m" --cxl-size 64M --vm1-role ycsb-server --vm2-role ycsb-client \
  --vm1-append "$yargs" --vm2-append "$yargs cxl.ops=$records"
ov=$WORK/graph
key_overlays() { # the Crypto key, the same file to both TDs (as tests/vm/graph_vms.sh)
  mkdir -p "$ov/vm1/cxl/run" "$ov/vm2/cxl/run"
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$ov/key" && echo >>"$ov/key")
  cp -p "$ov/key" "$ov/vm1/cxl/run/graph.key" && cp -p "$ov/key" "$ov/vm2/cxl/run/graph.key"
}
gargs="cxl.graph_scale=$gscale cxl.graph_offset=64M cxl.graph_size=32M cxl.wait=$((timeout - 40))"
tee_step "graph: a medium, the Crypto key for both TDs" eval 'medium graph 128M && key_overlays'
tee_step "graph: VM1 publishes kron -g $gscale plain and sealed, VM2 runs bfs on each: TDXGraphRing, TDXGraphCrypto" \
  vms "$stage/graph_vm" --cxl "$graph_m" --cxl-size 128M --vm1-role graph-publish --vm1-overlay "$ov/vm1" \
  --vm1-append "$gargs" --vm2-role graph-attach --vm2-overlay "$ov/vm2" --vm2-append "$gargs"
if [ "$TEE_DRY" = 1 ]; then
  echo "[$((TEE_STEP + 1))] the QEMU command lines (infra/run_vms.sh --dry-run $vmflags; every run above starts two such TDs)"
  vms "$stage/ycsb_vm" --dry-run --cxl "$ycsb_m" --cxl-size 64M --vm1-role ycsb-server --vm2-role ycsb-client | sed 's/^/    /'
fi
echo "[$((TEE_STEP + 2))] the label proof: every guest serial log in $stage/*_vm/ shows tdx_guest"
echo "    then: results/tdx_compare_$stamp.csv (+ .md), results/tdx_ycsb_$stamp.csv, results/tdx_graph_$stamp.csv"
tee_done
[ "$TEE_DRY" = 1 ] && exit 0

# --- 5. the proof, then the results ------------------------------------------------------------------
tee_prove_tdx "$stage"/compare_vm/vm*.serial.log "$stage"/ycsb_vm/vm*.serial.log "$stage"/graph_vm/vm*.serial.log ||
  tee_refuse "TDX" "$stage" TDX
mv "$stage/compare.csv" "results/tdx_compare_$stamp.csv"; mv "$stage/compare.md" "results/tdx_compare_$stamp.md"
tee_ycsb_csv TDXYCSBRing a "$records" "$stage/ycsb_vm/vm2.ycsb.txt" >"results/tdx_ycsb_$stamp.csv"
tee_graph_csv TDXGraph "$gscale" "$stage/graph_vm/vm2.serial.log" >"results/tdx_graph_$stamp.csv"
mv "$stage" "results/tdx_${stamp}_logs"
echo "$PROG: csv: results/tdx_compare_$stamp.csv results/tdx_ycsb_$stamp.csv results/tdx_graph_$stamp.csv   logs: results/tdx_${stamp}_logs/"
