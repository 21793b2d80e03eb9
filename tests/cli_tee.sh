#!/usr/bin/env bash
# cli_tee.sh - the three TEE workflows where no TEE exists (docs/TEE.md):
#   - the preflight of scripts/host_bench_gramine_sgx.sh,
#     host_recreate_and_bench_gramine_sgxvm.sh and host_recreate_and_bench_tdx.sh
#     against a fixture tree (--root / CXL_TEE_ROOT: /proc/cpuinfo, /dev,
#     /sys/module, /var/run/aesmd) and PATH-stubbed gramine-*, is-sgx-available
#     and qemu-system-x86_64: all present -> the preflight passes and --dry-run
#     prints the plan (exit 0); each requirement missing alone -> exit 77
#     naming it and nothing run;
#   - the label proofs: scripts/tee_gramine_exec.sh under a stub gramine-sgx
#     that maps the fixture's enclave device (proven) or not (refused), with
#     gramine-direct (refused), without a .sig (not launched); tee_prove_tdx on
#     guest logs with and without tdx_guest; tee_refuse keeps a refused run
#     out of results/ and renames every label in its text files;
#   - the SGX plan launches only manifests gramine/Makefile renders (the graph
#     step: cxl_graph-publish for publishers, cxl_graph-attach for the rest),
#     and bench/graph_compare.sh --publish-wrap (with the build's cxl_graph;
#     skipped when it is not built).
# Usage: bash tests/cli_tee.sh [build-dir]   (only the last check needs the build)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
DIR=$(mktemp -d /tmp/cli_tee.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$DIR"' EXIT
fails=0 checks=0
ok() { checks=$((checks + 1)); echo "ok: $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "cli_tee: FAIL: $1" >&2; }

# --- the fixture: a machine with everything -----------------------------------------------
F=$DIR/root STUB=$DIR/bin FB=$DIR/build G=$DIR/gramine
mkdir -p "$F/proc" "$F/dev" "$F/var/run/aesmd" "$F/sys/module/kvm_intel/parameters" "$STUB" "$FB/bin" "$FB/vm" "$G"
FLAGS="fpu vme de pse tsc msr aes sgx sgx_lc hypervisor"
printf 'processor\t: 0\nflags\t\t: %s\n' "$FLAGS" >"$F/proc/cpuinfo"
touch "$F/dev/sgx_enclave" "$F/dev/sgx_vepc" "$F/dev/kvm"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$F/var/run/aesmd/aesm.socket"
echo Y >"$F/sys/module/kvm_intel/parameters/sgx"; echo Y >"$F/sys/module/kvm_intel/parameters/tdx"
for b in gramine-direct gramine-sgx-sign gramine-manifest cloud-localds; do printf '#!/bin/sh\nexit 0\n' >"$STUB/$b"; done
printf '#!/bin/sh\necho "SGX1 supported: true"\nexit 0\n' >"$STUB/is-sgx-available"
# gramine-sgx: maps the fixture's enclave device (as a real enclave maps /dev/sgx_enclave), then waits
cat >"$STUB/gramine-sgx" <<'EOF'
#!/usr/bin/env python3
import mmap, os, sys, time
f = open(os.environ.get("CXL_TEE_ROOT", "") + "/dev/sgx_enclave", "r+b")
m = mmap.mmap(f.fileno(), 4096)
time.sleep(float(os.environ.get("STUB_SLEEP", "3")))
EOF
printf '#!/bin/sh\n[ "$1 $2" = "-object help" ] || exit 1\nprintf "List of user creatable objects:\\n  memory-backend-epc\\n  memory-backend-file\\n  tdx-guest\\n"\n' \
  >"$STUB/qemu-system-x86_64"
chmod +x "$STUB"/*
head -c 4096 /dev/zero >"$F/dev/sgx_enclave"
echo CONFIG_INTEL_TDX_GUEST=y >"$FB/vm/kernel.config"
touch "$FB/cxl_ring.so" "$FB/bin/cxl_ring_direct" "$FB/bin/cxl_graph" "$FB/vm/vmlinuz" "$G/Makefile" "$DIR/OVMF.inteltdx.fd"
(mkdir -p "$DIR/rd" && cd "$DIR/rd" && cp "$REPO/guest/init.sh" init && echo init | cpio -o -H newc --quiet | gzip >"$FB/vm/initramfs.cpio.gz")
(mkdir -p "$DIR/rd0" && cd "$DIR/rd0" && echo '#!/bin/sh' >init && echo init | cpio -o -H newc --quiet | gzip >"$DIR/old-initramfs.cpio.gz")
touch "$DIR/base.img"

# run SCRIPT ARGS...: the script against the fixture (stubs first on PATH)
run() {
  local s=$1; shift
  env PATH="$STUB:$PATH" BUILD="$FB" GRAMINE_SRC="$G" GRAMINE_OUT="$G" TDX_BIOS="$DIR/OVMF.inteltdx.fd" QEMU_BIN=qemu-system-x86_64 \
    OUTDIR="$DIR/images" BASE_IMG="$DIR/base.img" CXL_PATH="$DIR/cxl.raw" CXL_SIZE=64M VM_STATE_DIR="$DIR/state" \
    ${EXTRA_ENV:-} bash "scripts/$s.sh" --root "$F" "$@" 2>&1
}
sgx=host_bench_gramine_sgx sgxvm=host_recreate_and_bench_gramine_sgxvm tdx=host_recreate_and_bench_tdx

# --- all present: the preflight passes, --dry-run prints the plan ---------------------------
out=$(run $sgx --dry-run); rc=$?
if [ $rc = 0 ] && [[ $out == *"preflight: all 15 requirements present"* ]]; then ok "sgx: all present, exit 0"
else bad "sgx: all present: exit $rc"; echo "$out" | sed 's/^/  | /' >&2; fi
for want in "make -C $G BUILD=$FB OUT=$G DEBUG=0 EDMM=0 RENDER_FLAGS= THREADS= MEDIUM=/dev/shm/cxl_shared.raw" "ENCLAVE_SIZE=1G manifests sgx-sign" "bash bench/compare.sh --labels NativeTCP" "--label-prefix Host" \
            "--labels NativeTCP,SodiumTCP,Ring,RingCrypto,RingSecure --server-wrap" "scripts/tee_gramine_exec.sh --evidence" \
            "--render redis-ring" "--label-prefix GramineSGX" "bash bench/graph_compare.sh" "--wrap 'bash $REPO/scripts/tee_gramine_exec.sh" "--render cxl_graph-attach'" \
            "--publish-wrap 'bash $REPO/scripts/tee_gramine_exec.sh" "--render cxl_graph-publish'" \
            "the label proof" "dry run: nothing was started"; do
  [[ $out == *"$want"* ]] && ok "sgx --dry-run: '$want'" || bad "sgx --dry-run: no '$want'"
done
# every app the plan launches (a manifest rendered per launch) is one of gramine/ (render.py --app)
names=$(echo "$out" | grep -oE -- "--render [A-Za-z0-9_.-]+" | awk '{print $2}' | sort -u)
apps=$(python3 -c 'import ast, sys; src = open("gramine/render.py").read(); i = src.index("APPS = ");
print(" ".join(ast.literal_eval(src[i + 7:src.index(")", i) + 1])))')
[ -n "$names" ] && for n in $names; do [[ " $apps " == *" $n "* ]] || echo "$n"; done | { ! grep .; } &&
  ok "sgx --dry-run: every app it launches ($(echo $names)) is one render.py knows" ||
  bad "sgx --dry-run: apps render.py does not know: $(for n in $names; do [[ " $apps " == *" $n "* ]] || echo "$n"; done)"
stamp=$(echo "$out" | sed -n 's/.*outputs results\/fixture_sgx_\*_\([0-9-]*\)).*/\1/p')
[ -n "$stamp" ] && [ ! -e "$REPO/results/fixture_sgx_${stamp}_stage" ] && ok "sgx --dry-run: fixture_ outputs, no stage directory ($stamp)" ||
  bad "sgx --dry-run made a stage directory (stamp '$stamp')"
out=$(run $sgx --dry-run --in-vm --ycsb --no-graph)
[[ $out == *"--label-prefix SGXVM"* && $out == *"--label-prefix GramineSGXVM"* && $out == *"bench/ycsb_compare.sh"* &&
   $out != *"graph_compare"* ]] && ok "sgx --in-vm --ycsb --no-graph: SGXVM labels, YCSB, no graph" || bad "sgx --in-vm: $out"

out=$(run $sgxvm --dry-run); rc=$?; [ -z "${TEE_DEBUG:-}" ] || echo "$out" >"$TEE_DEBUG"
if [ $rc = 0 ] && [[ $out == *"preflight: all 9 requirements present"* ]]; then ok "sgxvm: all present, exit 0"
else bad "sgxvm: all present: exit $rc"; echo "$out" | sed 's/^/  | /' >&2; fi
for want in "VM_TEE_FLAGS=--sgx-epc 128M" "host_quickstart.sh's dry run" "sgx-epc.0.memdev=epc0" \
            "-object memory-backend-epc,id=epc0,size=134217728,prealloc=on" "host_bench_gramine_sgx.sh --in-vm" \
            "infra/run_cloud_vms.sh --stop"; do
  [[ $out == *"$want"* ]] && ok "sgxvm --dry-run: '$want'" || bad "sgxvm --dry-run: no '$want'"
done

out=$(run $tdx --dry-run); rc=$?
if [ $rc = 0 ] && [[ $out == *"preflight: all 9 requirements present"* ]]; then ok "tdx: all present, exit 0"
else bad "tdx: all present: exit $rc"; echo "$out" | sed 's/^/  | /' >&2; fi
for want in "bench/vm_compare.sh" "--vm-flags '--tdx --tdx-bios $DIR/OVMF.inteltdx.fd'" "--label-prefix TDX" \
            "TDXYCSBRing" "--vm1-role ycsb-server --vm2-role ycsb-client" "TDXGraphRing, TDXGraphCrypto" \
            "--vm1-role graph-publish" "-machine q35,accel=kvm,kernel-irqchip=split,confidential-guest-support=tdx0" \
            "-object tdx-guest,id=tdx0 -bios $DIR/OVMF.inteltdx.fd" "shows tdx_guest"; do
  [[ $out == *"$want"* ]] && ok "tdx --dry-run: '$want'" || bad "tdx --dry-run: no '$want'"
done

# --- each requirement missing alone: exit 77 naming it (no --dry-run: nothing may run) ---------
# missing SCRIPT NAME SETUP UNDO: SETUP removes one thing from the fixture, UNDO restores it
missing() {
  local s=$1 name=$2 out rc
  eval "$3"
  out=$(run "$s"); rc=$?
  eval "$4"
  if [ $rc = 77 ] && [[ $out == *"preflight: missing 1 of "*": $name"* ]] && [[ $out == *"MISSING  $name"* ]]; then
    ok "$s: without $name: exit 77 naming it"
  else
    bad "$s: without $name: exit $rc"; echo "$out" | tail -n 4 | sed 's/^/  | /' >&2
  fi
}
flags() { printf 'processor\t: 0\nflags\t\t: %s\n' "$1" >"$F/proc/cpuinfo"; }
hide() { mv "$1" "$1.hidden"; }
unhide() { mv "$1.hidden" "$1"; }
for fl in sgx sgx_lc aes; do
  missing $sgx "cpu flag $fl" "flags '$(echo " $FLAGS " | sed "s/ $fl / /")'" "flags '$FLAGS'"
done
missing $sgx /dev/sgx_enclave "hide $F/dev/sgx_enclave" "unhide $F/dev/sgx_enclave"
missing $sgx /var/run/aesmd/aesm.socket "hide $F/var/run/aesmd/aesm.socket" "unhide $F/var/run/aesmd/aesm.socket"
missing $sgx is-sgx-available "hide $STUB/is-sgx-available" "unhide $STUB/is-sgx-available"
cp "$STUB/is-sgx-available" "$DIR/isa"
missing $sgx is-sgx-available "printf '#!/bin/sh\necho SGX not ready\nexit 1\n' >$STUB/is-sgx-available" "cp $DIR/isa $STUB/is-sgx-available"
for b in gramine-sgx gramine-direct gramine-sgx-sign gramine-manifest; do
  missing $sgx "$b" "hide $STUB/$b" "unhide $STUB/$b"
done
missing $sgx gramine/Makefile "hide $G/Makefile" "unhide $G/Makefile"
missing $sgxvm /dev/kvm "hide $F/dev/kvm" "unhide $F/dev/kvm"
for fl in sgx sgx_lc; do
  missing $sgxvm "cpu flag $fl" "flags '$(echo " $FLAGS " | sed "s/ $fl / /")'" "flags '$FLAGS'"
done
missing $sgxvm /dev/sgx_vepc "hide $F/dev/sgx_vepc" "unhide $F/dev/sgx_vepc"
missing $sgxvm "/sys/module/kvm_intel/parameters/sgx = Y" "echo N >$F/sys/module/kvm_intel/parameters/sgx" \
  "echo Y >$F/sys/module/kvm_intel/parameters/sgx"
cp "$STUB/qemu-system-x86_64" "$DIR/qemu"
missing $sgxvm "QEMU object memory-backend-epc" "sed -i 's/memory-backend-epc/memory-backend-ram/' $STUB/qemu-system-x86_64" \
  "cp $DIR/qemu $STUB/qemu-system-x86_64"
missing $tdx /dev/kvm "hide $F/dev/kvm" "unhide $F/dev/kvm"
missing $tdx "/sys/module/kvm_intel/parameters/tdx = Y" "hide $F/sys/module/kvm_intel/parameters/tdx" \
  "unhide $F/sys/module/kvm_intel/parameters/tdx"
missing $tdx "QEMU object tdx-guest" "sed -i 's/tdx-guest/sev-guest/' $STUB/qemu-system-x86_64" "cp $DIR/qemu $STUB/qemu-system-x86_64"
missing $tdx "TDVF firmware" "hide $DIR/OVMF.inteltdx.fd" "unhide $DIR/OVMF.inteltdx.fd"
missing $tdx "guest kernel" "hide $FB/vm/vmlinuz" "unhide $FB/vm/vmlinuz"
missing $tdx "guest kernel CONFIG_INTEL_TDX_GUEST=y" "echo '# CONFIG_INTEL_TDX_GUEST is not set' >$FB/vm/kernel.config" \
  "echo CONFIG_INTEL_TDX_GUEST=y >$FB/vm/kernel.config"
missing $tdx "guest prints its TEE CPU flags" "cp $FB/vm/initramfs.cpio.gz $DIR/new-rd; cp $DIR/old-initramfs.cpio.gz $FB/vm/initramfs.cpio.gz" \
  "cp $DIR/new-rd $FB/vm/initramfs.cpio.gz"
# CXL_TEE_ROOT works as --root does
out=$(env CXL_TEE_ROOT="$F" PATH="$STUB:$PATH" QEMU_BIN=qemu-system-x86_64 TDX_BIOS="$DIR/OVMF.inteltdx.fd" BUILD="$FB" \
  bash scripts/$tdx.sh --dry-run 2>&1); rc=$?
[ $rc = 0 ] && ok "CXL_TEE_ROOT as --root" || bad "CXL_TEE_ROOT: exit $rc"
# on this machine (no TEE): the dry run prints the plan and exits 77
out=$(bash scripts/$tdx.sh --dry-run --tdx-bios /nonexistent.fd 2>&1); rc=$?
[ $rc = 77 ] && [[ $out == *"the plan follows anyway"* && $out == *"bench/vm_compare.sh"* ]] &&
  ok "a dry run on a machine without it: the plan, then exit 77" || bad "dry run, missing: exit $rc"
out=$(run $sgx --bogus); [ $? = 2 ] && [[ $out == *"unknown argument '--bogus'"* ]] && ok "an unknown flag: exit 2" || bad "unknown flag: $out"

# --- the Gramine-SGX proof --------------------------------------------------------------------------
touch "$G/redis-ring.manifest.sgx"; echo signature >"$G/redis-ring.sig"
EV=$DIR/evidence
launch() { # MODE: tee_gramine_exec.sh launches the stub; waits for it
  env PATH="$STUB:$PATH" CXL_TEE_ROOT="$F" STUB_SLEEP=1.5 \
    bash scripts/tee_gramine_exec.sh --evidence "$EV" --gramine-dir "$G" --mode "$1" redis-ring --port 1 >"$DIR/launch.log" 2>&1
}
prove() { (ROOT=$REPO PROG=cli_tee; source scripts/tee_lib.sh; tee_prove_gramine_sgx "$1") 2>&1; }
launch sgx; rc=$?
out=$(prove "$EV"); prc=$?
[ $rc = 0 ] && [ $prc = 0 ] && [[ $out == *"1 Gramine-SGX launch(es)"* ]] && ok "gramine-sgx that mapped the enclave: proven" ||
  { bad "proof of a good launch: launch $rc, prove $prc: $out"; cat "$DIR/launch.log" >&2; }
[ "$(cat "$EV"/*/mode)" = sgx ] && grep -q "$G/redis-ring.sig" "$EV"/*/sig && grep -q sgx_enclave "$EV"/*/maps &&
  ok "the evidence: mode, the .sig, the enclave mapping" || bad "evidence incomplete: $(ls "$EV"/*/)"
# a launch that never maps the enclave (e.g. gramine-sgx forked, or SGX was not used): refused
cp "$STUB/gramine-sgx" "$DIR/gs"; printf '#!/bin/sh\nsleep 1\n' >"$STUB/gramine-sgx"
rm -rf "$EV"; launch sgx
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"never mapped the SGX enclave device"* ]] && ok "no enclave mapped: refused" || bad "no enclave: $prc $out"
cp "$DIR/gs" "$STUB/gramine-sgx"
# gramine-direct (no SGX at all): refused, whatever it maps
printf '#!/bin/sh\nsleep 1\n' >"$STUB/gramine-direct"
rm -rf "$EV"; launch direct
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"not run as gramine-sgx"* && $out == *"no signed manifest"* ]] && ok "gramine-direct: refused" ||
  bad "gramine-direct: $prc $out"
# one good launch and one bad: refused (every launch must prove it)
rm -rf "$EV"; launch sgx; launch direct
out=$(prove "$EV"); [ $? = 1 ] && ok "one unproven launch among proven ones: refused" || bad "mixed launches: $out"
# no launch at all: refused
rm -rf "$EV"; mkdir -p "$EV"
out=$(prove "$EV"); [ $? = 1 ] && [[ $out == *"no Gramine launch recorded"* ]] && ok "no launch: refused" || bad "no launch: $out"
# what is not Gramine-SGX on its enclave device: each was proven before, refused now
XB=$DIR/xbin MAPPER=$DIR/mapper
mkdir -p "$XB" "$DIR/x$F/dev" "$DIR/x/dev" "$DIR/fake"
printf '#!/usr/bin/env python3\nimport mmap, os, time\nf = open(os.environ["STUB_MAP"], "r+b")\nm = mmap.mmap(f.fileno(), 4096)\ntime.sleep(float(os.environ.get("STUB_SLEEP", "3")))\n' >"$MAPPER"
chmod +x "$MAPPER"
head -c 4096 /dev/zero >"$DIR/x$F/dev/sgx_enclave"; head -c 4096 /dev/zero >"$DIR/x/dev/sgx_enclave"
launchx() { # ROOT MAPFILE: tee_gramine_exec.sh (CXL_TEE_ROOT=ROOT, '': unset) with $XB's gramine-sgx mapping MAPFILE
  local r=(); [ -z "$1" ] || r=(CXL_TEE_ROOT="$1")
  env -u CXL_TEE_ROOT PATH="$XB:$STUB:$PATH" "${r[@]}" STUB_SLEEP=1.5 STUB_MAP="$2" \
    bash scripts/tee_gramine_exec.sh --evidence "$EV" --gramine-dir "$G" redis-ring --port 1 >"$DIR/launch.log" 2>&1
}
cp "$MAPPER" "$XB/gramine-sgx"
rm -rf "$EV"; launchx "$F" "$DIR/x$F/dev/sgx_enclave"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"never mapped the SGX enclave device"* ]] &&
  ok "a regular file whose path contains the fixture's enclave path: refused" || bad "a look-alike file under the root: $prc $out"
rm -rf "$EV"; launchx "" "$DIR/x/dev/sgx_enclave"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"never mapped the SGX enclave device"* ]] &&
  ok "no root: a regular file at .../dev/sgx_enclave is not the device: refused" || bad "a look-alike /dev/sgx_enclave: $prc $out"
{ [ -c /dev/sgx_enclave ] || grep -q "^/dev/sgx_enclave not-a-device$" "$EV"/*/device; } &&
  ok "no root, no character device /dev/sgx_enclave here: recorded as not a device" || bad "device: $(cat "$EV"/*/device)"
cp "$MAPPER" "$DIR/fake/python-thing"; ln -sf "$DIR/fake/python-thing" "$XB/gramine-sgx"
rm -rf "$EV"; launchx "$F" "$F/dev/sgx_enclave"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"the loader '$DIR/fake/python-thing' is not gramine-sgx"* ]] &&
  ok "a gramine-sgx that is a symlink to another program: refused, its realpath recorded" || bad "a fake loader: $prc $out"
rm -f "$XB/gramine-sgx"
rm -rf "$EV"; launch sgx; cp "$EV"/*/maps "$DIR/good.maps"
: >"$G/redis-ring.sig"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"no signed manifest (a non-empty .sig)"* ]] && ok "the .sig emptied after the launch: refused" ||
  bad "an empty .sig: $prc $out"
rm -rf "$EV"; launch sgx; rc=$?
[ $rc != 0 ] && grep -q "empty: the manifest is not signed" "$DIR/launch.log" && ok "an empty .sig: not launched" ||
  bad "empty .sig launched: rc $rc $(cat "$DIR/launch.log")"
echo signature >"$G/redis-ring.sig"; rm -rf "$EV"; launch sgx
touch -d '-1 hour' "$G/redis-ring.sig"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"redis-ring.sig is older than"* ]] && ok "a .sig older than its manifest: refused" || bad "an old .sig: $prc $out"
rm -rf "$EV"; launch sgx; rc=$?
[ $rc != 0 ] && grep -q "older than" "$DIR/launch.log" && ok "a .sig older than its manifest: not launched" ||
  bad "old .sig launched: rc $rc $(cat "$DIR/launch.log")"
touch "$G/redis-ring.sig"
# the proof re-checks the recorded inode: a maps line of the device's path but another inode is refused
rm -rf "$EV"; launch sgx
d1=$(ls -d "$EV"/*/); echo "$F/dev/sgx_enclave 4242424242" >"$d1/device"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"never mapped the SGX enclave device"* ]] && ok "the device's path with another inode: refused" ||
  bad "inode: $prc $out"
# a reused pid: an old maps file in DIR/<pid>/ must not prove a launch that mapped nothing
printf '#!/bin/sh\nsleep 1\n' >"$STUB/gramine-sgx"
rm -rf "$EV"
( p=$BASHPID; mkdir -p "$EV/$p"; cp "$DIR/good.maps" "$EV/$p/maps"
  exec env PATH="$STUB:$PATH" CXL_TEE_ROOT="$F" bash scripts/tee_gramine_exec.sh --evidence "$EV" --gramine-dir "$G" redis-ring \
    >"$DIR/launch.log" 2>&1 )
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"never mapped the SGX enclave device"* ]] && ok "a reused pid's old maps file: removed, refused" ||
  bad "pid reuse: $prc $out"
cp "$DIR/gs" "$STUB/gramine-sgx"
# a debug enclave (sgx.debug = true in the .manifest.sgx or the .manifest): refused, whatever else it proves
rm -rf "$EV"; launch sgx
printf 'sgx.debug = true\n' >"$G/redis-ring.manifest.sgx"; touch "$G/redis-ring.sig"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"redis-ring.manifest.sgx has sgx.debug on"* ]] && ok "sgx.debug = true in the .manifest.sgx: refused" ||
  bad "a debug .manifest.sgx: $prc $out"
printf '[sgx]\ndebug = false\n' >"$G/redis-ring.manifest.sgx"; printf '[sgx]\ndebug = true\n' >"$G/redis-ring.manifest"; touch "$G/redis-ring.sig"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"redis-ring.manifest has sgx.debug on"* ]] && ok "sgx.debug = true in the .manifest: refused" ||
  bad "a debug .manifest: $prc $out"
printf 'sgx.debug = false\n' >"$G/redis-ring.manifest"; touch "$G/redis-ring.sig"
out=$(prove "$EV"); prc=$?
[ $prc = 0 ] && ok "sgx.debug = false in both: proven" || bad "sgx.debug false: $prc $out"
printf 'sgx.debug = maybe\n' >"$G/redis-ring.manifest"; touch "$G/redis-ring.sig"
out=$(prove "$EV"); prc=$?
[ $prc = 1 ] && [[ $out == *"cannot read its sgx.debug"* ]] && ok "a manifest that is not TOML: refused" || bad "not TOML: $prc $out"
rm -f "$G/redis-ring.manifest"; : >"$G/redis-ring.manifest.sgx"; touch "$G/redis-ring.sig"
# an unsigned manifest is not even launched
rm "$G/redis-ring.sig"; rm -rf "$EV"
launch sgx; rc=$?
[ $rc != 0 ] && grep -q "not signed" "$DIR/launch.log" && [ -z "$(ls "$EV" 2>/dev/null)" ] && ok "no .sig: not launched" ||
  bad "unsigned: rc $rc $(cat "$DIR/launch.log")"

# --- the TDX proof and the refusal ---------------------------------------------------------------
printf 'cxl-vm: vm1: kernel 6.1\r\ncxl-vm: tee cpu flags: tdx_guest hypervisor \r\nCXL-VM-RESULT: PASS\r\n' >"$DIR/td.log"
printf 'cxl-vm: vm2: kernel 6.1\ncxl-vm: tee cpu flags: hypervisor \nCXL-VM-RESULT: PASS\n' >"$DIR/plain.log"
printf 'cxl-vm: vm2: kernel 6.1\nCXL-VM-RESULT: PASS\n' >"$DIR/old.log"
ptdx() { (ROOT=$REPO PROG=cli_tee; source scripts/tee_lib.sh; tee_prove_tdx "$@") 2>&1; }
out=$(ptdx "$DIR/td.log" "$DIR/td.log"); [ $? = 0 ] && ok "TDX: both guests show tdx_guest: proven" || bad "TDX proof: $out"
out=$(ptdx "$DIR/td.log" "$DIR/plain.log"); [ $? = 1 ] && [[ $out == *"no tdx_guest"* ]] && ok "TDX: a guest without tdx_guest: refused" || bad "TDX plain: $out"
out=$(ptdx "$DIR/old.log"); [ $? = 1 ] && [[ $out == *"no 'tee cpu flags' line"* ]] && ok "TDX: a guest that says nothing: refused" || bad "TDX old: $out"
out=$(ptdx); [ $? = 1 ] && ok "TDX: no log: refused" || bad "TDX no log: $out"
# tee_refuse: the stage is kept as *_REFUSED, exit 1, nothing else published
mkdir -p "$DIR/res/tdx_x_stage/ycsb"
printf 'label,op\nTDXRing,set\nTDXNativeTCP,get\n' >"$DIR/res/tdx_x_stage/compare.csv"
printf '| label | op |\n| --- | --- |\n| TDXRing | set |\n' >"$DIR/res/tdx_x_stage/compare.md"
printf 'workload,label\na,TDXYCSBRing\n' >"$DIR/res/tdx_x_stage/ycsb/y.csv"
# labels in other contexts and files: quoted, after a tab or "(", in a .txt, a .log named after one
mkdir -p "$DIR/res/tdx_x_stage/logs"
printf '"TDXRing",1\nop\tTDXRingCrypto\n' >"$DIR/res/tdx_x_stage/quoted.csv"
printf 'isolation (TDXRingSecure): ok\nfrom_TDXNativeTCP\n' >"$DIR/res/tdx_x_stage/compare_isolation.txt"
printf 'server TDXRing started\n' >"$DIR/res/tdx_x_stage/logs/TDXRing.log"
out=$( (ROOT=$REPO PROG=cli_tee; source scripts/tee_lib.sh
        tee_prove_tdx "$DIR/plain.log" || tee_refuse TDX "$DIR/res/tdx_x_stage" TDX; echo "not reached") 2>&1); rc=$?
K=$DIR/res/tdx_x_stage_REFUSED
[ $rc = 1 ] && [[ $out == *"REFUSED: no proof that TDX ran"* && $out != *"not reached"* ]] && [ -d "$K" ] &&
  [ "$(ls "$DIR/res")" = tdx_x_stage_REFUSED ] && ok "refusal: exit 1, the run kept as *_REFUSED only" || bad "refusal: rc $rc $out"
[ "$(cat "$K/compare.csv")" = "$(printf 'label,op\nUnprovenTDXRing,set\nUnprovenTDXNativeTCP,get')" ] &&
  grep -q '^| UnprovenTDXRing |' "$K/compare.md" && grep -q '^a,UnprovenTDXYCSBRing$' "$K/ycsb/y.csv" &&
  ! grep -rqE '(^|[|, ])TDX[A-Z]' "$K" && ok "refusal: no TDX* label left in the kept files (Unproven...)" ||
  bad "refusal: labels left: $(cat "$K/compare.csv" "$K/compare.md" "$K/ycsb/y.csv")"
left=$(grep -rhoE '[A-Za-z]*TDX[A-Z][A-Za-z]*' "$K" | grep -vxE 'UnprovenTDX[A-Za-z]+')
[ -z "$left" ] && grep -qxF '"UnprovenTDXRing",1' "$K/quoted.csv" && grep -qF "$(printf 'op\tUnprovenTDXRingCrypto')" "$K/quoted.csv" &&
  grep -qF '(UnprovenTDXRingSecure)' "$K/compare_isolation.txt" && grep -qxF 'from_UnprovenTDXNativeTCP' "$K/compare_isolation.txt" &&
  ok "refusal: labels after a quote, a tab, '(' or '_', in .txt and .log files: all Unproven" ||
  bad "refusal: labels left: $left"
[ -f "$K/logs/UnprovenTDXRing.log" ] && [ ! -e "$K/logs/TDXRing.log" ] && ok "refusal: a file named after a label renamed" ||
  bad "refusal: file names: $(ls "$K/logs")"

# --- the TDX workflow's CSVs from the guests' outputs (formats as cxl_ycsb and cxl_graph print them) ---
printf '[OVERALL], RunTime(ms), 19\r\n[OVERALL], Throughput(ops/sec), 2675.035\r\n[INSERT], Return=OK, 50\r\n[OVERALL], RunTime(ms), 4\r\n[OVERALL], Throughput(ops/sec), 13240.077\r\n[READ], 99thPercentileLatency(us), 79\r\n[READ], Return=OK, 23\r\n' >"$DIR/ycsb.txt"
out=$( (ROOT=$REPO PROG=cli_tee; source scripts/tee_lib.sh; tee_ycsb_csv TDXYCSBRing a 50 "$DIR/ycsb.txt") 2>&1)
want="label,workload,phase,records,operations,throughput_ops,read_p99_us
TDXYCSBRing,a,load,50,50,2675.035,
TDXYCSBRing,a,run,50,50,13240.077,79"
[ "$out" = "$want" ] && ok "TDX YCSB CSV from cxl_ycsb's output" || bad "YCSB CSV: $out"
printf 'cxl-vm: role graph-attach\r\n  Trial Time:          0.06402\r\n  Average Time:        0.05214\r\n  Average Time:        0.07001\r\nCXL-VM-RESULT: PASS\r\n' >"$DIR/g.log"
out=$( (ROOT=$REPO PROG=cli_tee; source scripts/tee_lib.sh; tee_graph_csv TDXGraph 14 "$DIR/g.log") 2>&1)
want="label,kernel,scale,trials,average_s
TDXGraphRing,bfs,14,3,0.05214
TDXGraphCrypto,bfs,14,3,0.07001"
[ "$out" = "$want" ] && ok "TDX graph CSV from the attach role's bfs runs" || bad "graph CSV: $out"

# --- the graph step's two wrappers: publishers through --publish-wrap, every other cxl_graph through --wrap ---
GB=${1:-build}; [[ $GB == /* ]] || GB=$REPO/$GB
# --- the SGX workflow end to end, with stand-ins for Gramine's signer and loader -----------------
# (tests/tee_standin/: they run each launch's rendered manifest - loader.argv,
# paths mapped back - so every server and cxl_graph of the compare and graph
# matrices runs as the bench meant it; no enclave: the results are fixture_*)
if [ -x "$GB/bin/cxl_graph" ] && [ -x "$GB/bin/cxl_sec_mgr" ] && [ -f "$GB/cxl_ring.so" ]; then
  SB=$DIR/standin; mkdir -p "$SB"; cp tests/tee_standin/* "$SB/"
  for b in gramine-direct gramine-manifest; do cp "$STUB/$b" "$SB/"; done
  cp "$STUB/is-sgx-available" "$SB/"
  GL2=$DIR/glib2; mkdir -p "$GL2/runtime/glibc"; touch "$GL2/libsysdb.so"
  for f in ld-linux-x86-64.so.2 libc.so.6 libm.so.6; do touch "$GL2/runtime/glibc/$f"; done
  env PATH="$SB:$PATH" GRAMINE_PKGLIBDIR="$GL2" CXL_TEE_ROOT="$F" BUILD="$GB" \
    bash scripts/$sgx.sh --root "$F" --requests 200 --rounds 1 --graph-scale 8 --graph-kernels bfs \
    --graph-modes "Native Crypto" >"$DIR/e2e.log" 2>&1; rc=$?
  stamp=$(sed -n 's|.*results/fixture_sgx_compare_\([0-9-]*\)\.csv.*|\1|p' "$DIR/e2e.log" | tail -n 1)
  csv=results/fixture_sgx_compare_$stamp.csv
  [ $rc = 0 ] && [ -n "$stamp" ] && ok "sgx workflow end to end (stand-ins): exit 0" ||
    bad "sgx workflow end to end: exit $rc: $(grep -E 'failed|REFUSED|rror' "$DIR/e2e.log" | head -n 3)"
  for app in redis-ring cxl_graph-publish cxl_graph-attach; do
    grep -qE "proof: [0-9]+ Gramine-SGX launch\(es\) in .*/proof/$app:" "$DIR/e2e.log" &&
      ok "end to end: every $app launch proven (a manifest rendered and signed for it)" || bad "end to end: no proof for $app"
  done
  rows=$(awk -F, '$1 ~ /^GramineSGX(NativeTCP|SodiumTCP|Ring|RingCrypto|RingSecure)$/ && $11 == 0' "$csv" 2>/dev/null | wc -l)
  [ "$rows" -eq 20 ] && ok "end to end: the compare CSV has the 5 GramineSGX labels x 4 rows, 0 errors each" ||
    bad "end to end: $rows GramineSGX rows without errors in $csv"
  grep -q '^bfs,GramineSGXCrypto,' "results/fixture_sgx_graph_$stamp/graph.csv" 2>/dev/null &&
    ok "end to end: the graph matrix's rows are GramineSGX*" || bad "end to end: no GramineSGX graph rows"
  [ -n "$stamp" ] && rm -rf results/fixture_sgx_*"$stamp"*
else
  echo "skip: sgx workflow end to end ($GB/bin/cxl_graph, cxl_sec_mgr or cxl_ring.so is not built)"
fi

# --- --render: a manifest per launch, made from the launch's own arguments -------------------
# (needs the real build: render.py reads cxl_ring.so's and redis-server's libraries with ldd)
if [ -f "$GB/cxl_ring.so" ] && command -v redis-server >/dev/null &&
   { python3 -c 'import jinja2, tomllib' 2>/dev/null || /usr/bin/python3 -c 'import jinja2, tomllib' 2>/dev/null; }; then
  RB=$DIR/rbin GL=$DIR/glib EV2=$DIR/evidence-render
  mkdir -p "$RB" "$GL/runtime/glibc"; touch "$GL/libsysdb.so"
  for f in ld-linux-x86-64.so.2 libc.so.6 libm.so.6; do touch "$GL/runtime/glibc/$f"; done
  # gramine-sgx-sign: the .manifest.sgx and its .sig; gramine-sgx: says so on stdout, maps the enclave
  printf '#!/bin/sh
while [ $# -gt 0 ]; do case $1 in --manifest) m=$2; shift 2 ;; --output) o=$2; shift 2 ;; *) shift ;; esac; done
cp "$m" "$o" && echo sig >"${o%%.manifest.sgx}.sig"
' >"$RB/gramine-sgx-sign"
  { echo '#!/bin/sh'; echo 'echo "stub gramine-sgx ran $1 with $# argument(s)"'; echo "exec $STUB/gramine-sgx "\$@""; } >"$RB/gramine-sgx"
  chmod +x "$RB"/*
  rlaunch() { # ARGS...: tee_gramine_exec.sh --render redis-ring ARGS
    env PATH="$RB:$STUB:$PATH" CXL_TEE_ROOT="$F" STUB_SLEEP=1.5 GRAMINE_PKGLIBDIR="$GL" BUILD="$GB" \
      bash scripts/tee_gramine_exec.sh --evidence "$EV2" --render redis-ring "$@" >"$DIR/rlaunch.log" 2>&1
  }
  rlaunch --port 7001 --save '' --dir "$DIR" --logfile "$DIR/redis.log" --loadmodule "$GB/cxl_ring.so" \
    path=/dev/shm/cxl_tee_render.raw map_size=1M rings=1; rc=$?
  out=$(prove "$EV2"); prc=$?
  m=$(ls "$EV2"/*/render/redis-ring.manifest 2>/dev/null | head -n 1)
  [ $rc = 0 ] && [ $prc = 0 ] && ok "--render: a manifest rendered, checked and signed for this launch; proven" ||
    bad "--render: launch $rc, prove $prc: $out $(cat "$DIR/rlaunch.log")"
  [ -n "$m" ] && grep -qF '"7001"' "$m" && grep -qF '"/cxl-dsm/cxl_ring.so"' "$m" &&
    grep -qF '"path=/dev/shm/cxl_tee_render.raw"' "$m" && grep -qF '"dev:/dev/shm/cxl_tee_render.raw"' "$m" &&
    ok "--render: loader.argv holds the launch's port and module arguments, the medium the one allowed file" ||
    bad "--render: the manifest ($m) lacks the launch's arguments"
  grep -q "stub gramine-sgx ran redis-ring with 1 argument(s)" "$DIR/redis.log" 2>/dev/null &&
    ok "--render: no host arguments passed, the program's output in the --logfile it named" ||
    bad "--render: the log: $(cat "$DIR/redis.log" 2>/dev/null)"
  rlaunch --port 7002 --loadmodule /usr/lib/x86_64-linux-gnu/libc.so.6 path=/dev/shm/x.raw; rc=$?
  [ $rc != 0 ] && grep -q "is not this build's" "$DIR/rlaunch.log" && ok "--render: another module refused" ||
    bad "--render: another module: rc $rc $(cat "$DIR/rlaunch.log")"
  rlaunch --port 7003 --include /etc/redis/redis.conf --loadmodule "$GB/cxl_ring.so" path=/dev/shm/x.raw; rc=$?
  [ $rc != 0 ] && grep -q "names a host path this launch mode does not map" "$DIR/rlaunch.log" &&
    ok "--render: a host file it does not know refused" || bad "--render: unknown file: rc $rc $(cat "$DIR/rlaunch.log")"
else
  echo "skip: --render ($GB/cxl_ring.so, redis-server or Jinja2 missing)"
fi

echo "cli_tee: $((checks - fails)) of $checks checks passed"
[ $fails = 0 ]
