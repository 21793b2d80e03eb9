#!/usr/bin/env bash
# host_bench_gramine_sgx.sh - the Gramine-SGX compare on an SGX-capable host
# (no VMs; docs/TEE.md). It owns the SGX workflow's order and its labels; the
# benchmarks are bench/compare.sh, bench/graph_compare.sh and
# bench/ycsb_compare.sh themselves, with every Redis / cxl_graph process run
# under gramine-sgx through scripts/tee_gramine_exec.sh:
#   1. preflight: every requirement and its verdict; exit 77 naming what is missing
#   2. make -C gramine manifests sgx-sign (and sgx-token with SGX_TOKEN_MODE=token)
#   3. HostNativeTCP: bench/compare.sh --labels NativeTCP, no Gramine
#   4. GramineSGXNativeTCP, GramineSGXSodiumTCP, GramineSGXRing,
#      GramineSGXRingCrypto, GramineSGXRingSecure: bench/compare.sh with
#      every Redis as `gramine-sgx redis-ring` on a manifest of its own
#      arguments (tee_gramine_exec.sh --render: rendered, checked, signed)
#   5. the graph matrix: bench/graph_compare.sh, every publisher under a
#      cxl_graph-publish manifest, every other cxl_graph under a
#      cxl_graph-attach one, each rendered for its launch:
#      GramineSGXNative, GramineSGXRing-zero-copy, ...
#   6. (--ycsb) bench/ycsb_compare.sh under gramine-sgx: GramineSGX<label> rows
#   7. the label proof: every Gramine launch ran as gramine-sgx on a signed
#      manifest and mapped the enclave device; otherwise nothing is published
#      under GramineSGX* labels (kept as *_REFUSED) and the exit is 1
# Outputs: results/sgx_compare_<time>.csv/.md (the compare matrix's columns:
# HostNativeTCP + GramineSGX*), results/sgx_graph_<time>/ (graph.csv ...),
# results/sgx_ycsb_<time>.csv/.md, results/sgx_<time>_proof/ (the evidence).
# Inside an SGX guest (scripts/host_recreate_and_bench_gramine_sgxvm.sh runs
# it there with --in-vm) the labels are SGXVMNativeTCP and GramineSGXVM*, the
# files sgxvm_*.
#
# Usage: sudo -E bash scripts/host_bench_gramine_sgx.sh [--dry-run] [--root DIR] [--in-vm]
#          [--requests N] [--rounds R] [--graph-scale S] [--graph-kernels "bfs pr"] [--graph-modes "Native Crypto"] [--no-graph]
#          [--ycsb] [--ycsb-workloads a,crudscan] [--records N]
#   --dry-run   preflight, then print every step and command; run nothing
#   --root DIR  read /proc, /sys, /dev, /var/run under DIR (tests; also CXL_TEE_ROOT)
# Defaults: compare.sh's own (20000 requests, 3 rounds), graph -g 16, kernels bfs pr cc;
# YCSB (--ycsb) workloads a and crudscan (the seed's CRUD+scan mix), ycsb_compare.sh's
# records and operations (10000; --records N sets both).
# Environment: GRAMINE_SRC (gramine: the templates and their Makefile),
#   GRAMINE_OUT (BUILD/gramine: the rendered, signed manifests; the Makefile's OUT),
#   GRAMINE_REDIS_MANIFEST (redis-ring), GRAMINE_GRAPH_MANIFEST (cxl_graph: the stem of
#   STEM-publish and STEM-attach),
#   SGX_TOKEN_MODE (skip: FLC, no token; token: make sgx-token), BUILD (build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=host_bench_gramine_sgx.sh
cd "$ROOT"
# shellcheck source=scripts/tee_lib.sh
source "$ROOT/scripts/tee_lib.sh"
usage() { usage_from_header "$ROOT/scripts/host_bench_gramine_sgx.sh"; }

in_vm=0 requests="" rounds="" gscale=16 gkernels="bfs pr cc" gmodes="" graph=1 ycsb=0 yw=a,crudscan records=""
while [ $# -gt 0 ]; do
  if tee_common_flag "$@"; then shift "$TEE_SHIFT"; continue; fi
  case $1 in
    --in-vm) in_vm=1; shift ;;
    --requests) need "$@"; [[ $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--requests '$2': a number"; requests=$2; shift 2 ;;
    --rounds) need "$@"; [[ $2 =~ ^[1-9][0-9]?$ ]] || usage_error "--rounds '$2': 1..99"; rounds=$2; shift 2 ;;
    --graph-scale) need "$@"; [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 30 ] ||
                     usage_error "--graph-scale '$2': 1..30"; gscale=$2; shift 2 ;;
    --graph-kernels) need "$@"; gkernels=$2; shift 2 ;;
    --graph-modes) need "$@"; [[ $2 =~ ^[A-Za-z\ -]+$ ]] || usage_error "--graph-modes '$2': e.g. \"Native Crypto\""
                   gmodes=$2; shift 2 ;;
    --no-graph) graph=0; shift ;;
    --ycsb) ycsb=1; shift ;;
    --ycsb-workloads) need "$@"; [[ $2 =~ ^[a-z,]+$ ]] || usage_error "--ycsb-workloads '$2': e.g. a,crudscan"; yw=$2; shift 2 ;;
    --records) need "$@"; [[ $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--records '$2': a number"; records=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done
GSRC=${GRAMINE_SRC:-gramine} GOUT=${GRAMINE_OUT:-$BUILD/gramine}
RMAN=${GRAMINE_REDIS_MANIFEST:-redis-ring} GMAN=${GRAMINE_GRAPH_MANIFEST:-cxl_graph}
TOKEN=${SGX_TOKEN_MODE:-skip}
[[ $TOKEN == skip || $TOKEN == token ]] || usage_error "SGX_TOKEN_MODE='$TOKEN': skip or token"
if [ $in_vm = 1 ]; then native=SGXVM sgx=GramineSGXVM file=sgxvm where="an SGX guest"
else native=Host sgx=GramineSGX file=sgx where="an SGX host"; fi
# a fixture root (tests) proves nothing about this machine: its files say so
[ -z "$TEE_ROOT" ] || file=fixture_$file

# --- 1. preflight ------------------------------------------------------------------------
tee_preflight_begin "Gramine-SGX on $where"
tee_cpu_flag sgx "the CPU has SGX"
tee_cpu_flag sgx_lc "Flexible Launch Control: the in-kernel SGX driver needs it"
tee_cpu_flag aes "AES-NI: the secure ring's AEAD"
tee_exists /dev/sgx_enclave "the in-kernel SGX driver (Linux >= 5.11)"
tee_socket /var/run/aesmd/aesm.socket "AESM (aesmd): launch tokens, attestation"
tee_cmd_ok is-sgx-available "Gramine's SGX check says the platform is ready" is-sgx-available
tee_cmd gramine-sgx "runs the enclaves"
tee_cmd gramine-direct "Gramine without SGX (not a TEE; builds and debugs)"
tee_cmd gramine-sgx-sign "signs the manifests"
tee_cmd gramine-manifest "renders the manifest templates"
tee_cmd redis-server "the server under Gramine"
tee_file "gramine/Makefile" "$(tee_abs "$GSRC")/Makefile" "make -C gramine manifests sgx-sign; gramine/README.md"
tee_file "$BUILD/cxl_ring.so" "$(tee_abs "$BUILD")/cxl_ring.so" "make"
tee_file "$BUILD/bin/cxl_ring_direct" "$(tee_abs "$BUILD")/bin/cxl_ring_direct" "make"
tee_file "$BUILD/bin/cxl_graph" "$(tee_abs "$BUILD")/bin/cxl_graph" "make"
tee_preflight_end

# --- the plan --------------------------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
stage=results/${file}_${stamp}_stage
proof=$stage/proof
wrap() { # MANIFEST: the wrapper the benchmarks put before the program's arguments: every launch gets a
         # manifest of its own arguments, rendered, checked and signed (tee_gramine_exec.sh --render)
  shell_quote bash "$ROOT/scripts/tee_gramine_exec.sh" --evidence "$ROOT/$proof/$1" --render "$1"
}
common=()
[ -z "$requests" ] || common+=(--requests "$requests")
[ -z "$rounds" ] || common+=(--rounds "$rounds")
export REDIS_START_TRIES=${REDIS_START_TRIES:-1200} # an enclave starts in seconds, not tenths

echo "$PROG: plan (labels ${native}NativeTCP, ${sgx}*; outputs results/${file}_*_$stamp)"
[ "$TEE_DRY" = 1 ] || mkdir -p "$stage" "$proof"
# every parameter that shapes a manifest given on make's command line: the
# Makefile's `VAR ?=` would take DEBUG=1, RENDER_FLAGS=--debug, THREADS, ...
# from the environment (sudo -E passes the user's), and a debug enclave is no TEE
mk=(make -C "$(tee_abs "$GSRC")" BUILD="$(tee_abs "$BUILD")" OUT="$(tee_abs "$GOUT")"
    DEBUG=0 EDMM=0 RENDER_FLAGS= THREADS= MEDIUM=/dev/shm/cxl_shared.raw GRAPH_MEDIUM=/dev/shm/cxl_graph.raw
    ENCLAVE_SIZE=1G manifests sgx-sign)
[ "$TOKEN" = token ] && mk+=(sgx-token)
tee_step "Gramine manifests, signed (gramine/README.md)" "${mk[@]}"
tee_step "${native}NativeTCP: Redis over TCP, no Gramine" \
  bash bench/compare.sh --labels NativeTCP "${common[@]}" --label-prefix "$native" --out "$stage/native"
tee_step "${sgx}NativeTCP/SodiumTCP/Ring/RingCrypto/RingSecure: every Redis under gramine-sgx $RMAN" \
  bash bench/compare.sh --labels NativeTCP,SodiumTCP,Ring,RingCrypto,RingSecure "${common[@]}" \
  --server-wrap "$(wrap "$RMAN")" --label-prefix "$sgx" --out "$stage/sgx"
tee_note "(the sodium tunnel's ends, cxl_sec_mgr and the client stay outside the enclave: only Redis is in it)"
if [ $graph = 1 ]; then
  tee_step "the graph matrix: publishers under gramine-sgx $GMAN-publish, the other cxl_graph runs under $GMAN-attach" \
    bash bench/graph_compare.sh --scale "$gscale" --kernels "$gkernels" ${rounds:+--rounds "$rounds"} ${gmodes:+--modes "$gmodes"} \
    --wrap "$(wrap "$GMAN-attach")" --publish-wrap "$(wrap "$GMAN-publish")" --label-prefix "$sgx" --out "$stage/graph"
fi
if [ $ycsb = 1 ]; then
  tee_step "YCSB over the matrix's transports: every Redis under gramine-sgx $RMAN" \
    bash bench/ycsb_compare.sh --workloads "$yw" --labels NativeTCP,SodiumTCP,Ring,RingCrypto,RingSecure ${rounds:+--rounds "$rounds"} \
    ${records:+--records "$records" --operations "$records"} \
    --server-wrap "$(wrap "$RMAN")" --label-prefix "$sgx" --out "$stage/ycsb"
fi
echo "[$((TEE_STEP + 1))] the label proof: every launch in $proof/*/ ran gramine-sgx on a signed manifest and mapped the enclave"
echo "    then: results/${file}_compare_$stamp.csv (+ .md), results/${file}_graph_$stamp/, results/${file}_ycsb_$stamp.csv"
tee_done
[ "$TEE_DRY" = 1 ] && exit 0

# --- 7. the proof, then the results ------------------------------------------------------------
ok=1
for m in "$RMAN" $([ $graph = 1 ] && echo "$GMAN-publish $GMAN-attach"); do
  tee_prove_gramine_sgx "$proof/$m" || ok=0
done
[ $ok = 1 ] || tee_refuse "Gramine-SGX" "$stage" "$sgx"
tee_cat_csv "results/${file}_compare_$stamp.csv" "$stage/native.csv" "$stage/sgx.csv"
cat "$stage/native.md" "$stage/sgx.md" >"results/${file}_compare_$stamp.md"
[ $graph = 0 ] || mv "$stage/graph" "results/${file}_graph_$stamp"
if [ $ycsb = 1 ]; then mv "$stage/ycsb.csv" "results/${file}_ycsb_$stamp.csv"; mv "$stage/ycsb.md" "results/${file}_ycsb_$stamp.md"; fi
mv "$proof" "results/${file}_${stamp}_proof"
mv "$stage" "results/${file}_${stamp}_logs"
echo "$PROG: csv: results/${file}_compare_$stamp.csv   graph: results/${file}_graph_$stamp/   proof: results/${file}_${stamp}_proof/"
