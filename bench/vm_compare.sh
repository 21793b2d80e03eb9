#!/usr/bin/env bash
# bench/vm_compare.sh - the compare matrix (bench/compare.sh) between two QEMU
# VMs (docs/VMS.md): VM1 serves (Redis with cxl_ring.so on BAR2 of the shared
# ivshmem device, Redis's TLS, cxl_sec_mgr, the cxl_sodium_tunnel server end),
# VM2 runs the same cxl_ring_direct benchmark over every label, every reply
# checked:
#   NativeTCP   Redis over TCP across the VM link    NativeTLS   Redis's own TLS across the link
#   SodiumTCP   TCP through cxl_sodium_tunnel          Ring        the shared-memory ring (BAR2)
#   RingCrypto  the secure ring, shared key file       RingSecure  the secure ring, cxl_sec_mgr in VM1
# (NativeUnix has no meaning between two kernels.) Output: the CSV
# results/vm_compare_<time>.csv (compare matrix columns) and a Markdown table
# with ratios against NativeTCP (.md).
# Under TCG (no working KVM, as on this project's machines) every guest
# instruction is emulated: the figures show that each transport works between
# two kernels, not how fast it is; the output says so.
#
# Usage: bench/vm_compare.sh [--requests N] [--pipeline 1,16] [--value-size 3]
#          [--labels L1,L2] [--timeout SECONDS] [--vm-cpus N]
#          [--vm-flags 'FLAGS'] [--label-prefix P] [--out PREFIX]
# --vm-flags hands FLAGS to infra/run_vms.sh (e.g. '--tdx --tdx-bios F':
# both VMs TDX guests, docs/TEE.md); --label-prefix P names the labels
# P<label>; --out writes PREFIX.csv, PREFIX.md and the VM logs in PREFIX_vm/
# instead of results/vm_compare_<time>.* and results/vm/<time>-vm-compare.
# Defaults: 2000 requests per op (TCG) or 20000 (KVM), pipeline 1,16, 3 B,
# every label, timeout 1200 s, 1 vCPU per VM. Needs `make vm`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

requests="" pipelines=1,16 sizes=3 timeout=1200 cpus=1 vm_flags=() lprefix="" out=""
labels=NativeTCP,NativeTLS,SodiumTCP,Ring,RingCrypto,RingSecure
while [ $# -gt 0 ]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --pipeline) pipelines=$2; shift 2 ;;
    --value-size) sizes=$2; shift 2 ;;
    --labels) labels=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --vm-cpus) cpus=$2; shift 2 ;;
    --vm-flags) [ $# -ge 2 ] || die "--vm-flags: needs the flags"; read -ra vm_flags <<<"$2"; shift 2 ;;
    --label-prefix) [[ ${2:-} =~ ^[A-Za-z][A-Za-z0-9]*$ ]] || die "--label-prefix: letters and digits, not '${2:-}'"
                    lprefix=$2; shift 2 ;;
    --out) [ $# -ge 2 ] && [ -n "$2" ] || die "--out: needs a path prefix"; out=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
list_ok() { [[ $1 =~ ^[0-9]+(,[0-9]+)*$ ]] || die "$2: need a comma list of numbers, not '$1'"; }
list_ok "$pipelines" --pipeline; list_ok "$sizes" --value-size
[ -z "$requests" ] || [[ $requests =~ ^[0-9]+$ && $requests -ge 100 ]] || die "--requests: need a number >= 100"
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout: need seconds"
[[ $cpus =~ ^[1-9]$ ]] || die "--vm-cpus: 1 to 9"
for l in ${labels//,/ }; do
  [[ ,NativeTCP,NativeTLS,SodiumTCP,Ring,RingCrypto,RingSecure, == *",$l,"* ]] || die "--labels: unknown label $l"
done
[ -f "$BUILD/vm/initramfs.cpio.gz" ] && [ -f "$BUILD/vm/vmlinuz" ] || die "no guest in $BUILD/vm: run make vm"
MGR=$(realpath "$BUILD/bin/cxl_sec_mgr")
wants() { [[ ,$labels, == *",$1,"* ]]; }
if wants SodiumTCP && ! zcat "$BUILD/vm/initramfs.cpio.gz" | cpio -t --quiet 2>/dev/null | grep -q 'cxl/bin/cxl_sodium_tunnel$'; then
  die "SodiumTCP: the guest has no cxl_sodium_tunnel (make; make vm), or leave it out with --labels"
fi

# --- what the guests get -----------------------------------------------------------
ov1=$WORK/vm1/cxl/run ov2=$WORK/vm2/cxl/run
mkdir -p "$ov1/tls" "$ov1/sec" "$ov1/tunnel" "$ov2/tls" "$ov2/sec" "$ov2/tunnel"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=vm1 \
  -keyout "$ov1/tls/tls.key" -out "$ov1/tls/tls.crt" >/dev/null 2>&1 || die "openssl could not make a certificate"
cp "$ov1/tls/tls.crt" "$ov2/tls/tls.crt"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$ov1/crypto.secret"; echo >>"$ov1/crypto.secret"
chmod 600 "$ov1/crypto.secret"; cp -p "$ov1/crypto.secret" "$ov2/crypto.secret"
(cd "$ov1/sec" && "$MGR" keygen --manager --out mgr.key >/dev/null &&
 printf 'manager-key mgr.key\nmaster master.secret\nstate sec.state\naudit sec.audit\ncontrol sec.sock\nrotate 0\nrefresh 5\n' >acl.conf &&
 for i in 0 1 2 3; do echo "region ring$i ring $i"; done >>acl.conf &&
 "$MGR" keygen --out server.key --config acl.conf --id 1 --name redis-vm1 >>acl.conf &&
 "$MGR" keygen --out client.key --config acl.conf --id 2 --name client-vm2 >>acl.conf &&
 for i in 0 1 2 3; do printf 'grant redis-vm1 ring%s serve\ngrant client-vm2 ring%s rw\n' $i $i; done >>acl.conf) 2>/dev/null ||
  die "cannot provision cxl_sec_mgr"
mv "$ov1/sec/client.key" "$ov2/sec/client.key"
"$MGR" keygen --out "$ov1/tunnel/server.key" >/dev/null 2>&1 && "$MGR" keygen --out "$ov2/tunnel/client.key" >/dev/null 2>&1 ||
  die "cannot make the tunnel's keys"
grep '^public ' "$ov1/tunnel/server.key" >"$ov2/tunnel/server.pub"
grep '^public ' "$ov2/tunnel/client.key" >"$ov1/tunnel/client.pub"

medium=/dev/shm/cxl_vmcompare_$$.raw
CLEANUP_FILES+=("$medium")
bash infra/create_cxl_shared.sh "$medium" 128M >/dev/null

# --- the run ---------------------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
logs=results/vm/$stamp-vm-compare
[ -z "$out" ] || logs=${out}_vm
common="cxl.map_size=32M cxl.wait=$((timeout - 30))"
client="cxl.pipeline=$pipelines cxl.value_size=$sizes cxl.labels=$labels"
# the accelerator decides the default request count (run_vms.sh probes KVM once per boot)
accel=$(bash infra/run_vms.sh --print-accel --kernel "$BUILD/vm/vmlinuz" --initrd "$BUILD/vm/initramfs.cpio.gz") ||
  die "cannot tell KVM from TCG (infra/run_vms.sh --print-accel)"
[ -n "$requests" ] || requests=$([ $accel = kvm ] && echo 20000 || echo 2000)
echo "vm_compare: two VMs ($accel, $cpus vCPU each), labels $labels, pipeline $pipelines, value ${sizes} B, $requests requests per op" >&2
bash infra/run_vms.sh --cxl "$medium" --cxl-size 128M --accel "$accel" \
  --kernel "$BUILD/vm/vmlinuz" --initrd "$BUILD/vm/initramfs.cpio.gz" \
  --vm1-role compare-server --vm1-overlay "$WORK/vm1" --vm1-append "$common" --vm1-cpus "$cpus" \
  --vm2-role compare-client --vm2-overlay "$WORK/vm2" --vm2-append "$common $client cxl.requests=$requests" \
  --vm2-cpus "$cpus" --timeout "$timeout" --log-dir "$logs" "${vm_flags[@]}" >&2 || die "the VMs failed (logs in $logs)"
[ -s "$logs/vm2.compare.csv" ] || die "VM2 sent no compare.csv (logs in $logs)"
out=${out:-results/vm_compare_$stamp}
mkdir -p "$(dirname "$out")"
csv=$out.csv
cp "$logs/vm2.compare.csv" "$csv"

# --- the table -----------------------------------------------------------------------------
md=${csv%.csv}.md
{
  if [ $accel = tcg ]; then
    echo "**TCG: both guests are emulated instruction by instruction (no working KVM here). These figures"
    echo "show that every transport works between two kernels over the shared ivshmem medium and the VM"
    echo "link; they say nothing about speed. Measure under KVM for numbers.**"
    echo
  fi
  echo "Two QEMU VMs ($accel, $cpus vCPU each) on a host with $(nproc) cores: VM1 serves, VM2 runs cxl_ring_direct"
  echo "(set,get, $requests requests per op, keys of 16 B, every reply checked). Ring labels: PCI BAR2 of an"
  echo "ivshmem device; socket labels: the VMs' private link (QEMU UDP socket netdev)."
  echo
  /usr/bin/python3 bench/report.py vm-compare "$csv" # the table (bench/report.py)
} >"$md"
if [ -n "$lprefix" ]; then # the labels get their prefix; the ratios are against ${lprefix}NativeTCP
  prefix_labels "$lprefix" "$csv" "$md"
  printf '\nLabels prefixed %s%s: the ratios are against %sNativeTCP of the same run.\n' "$lprefix" \
    "${vm_flags[*]:+ (both VMs started with infra/run_vms.sh ${vm_flags[*]})}" "$lprefix" >>"$md"
fi
cat "$md"
echo
echo "csv: $csv   table: $md   VM logs: $logs"
