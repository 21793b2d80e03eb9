#!/usr/bin/env bash
# tee_gramine_exec.sh - runs one program under Gramine and records the
# evidence the label-proof rule reads (scripts/tee_lib.sh,
# tee_prove_gramine_sgx; docs/TEE.md). It is the wrapper the TEE workflows
# hand to bench/compare.sh --server-wrap and bench/graph_compare.sh --wrap:
# the benchmark appends the program's own arguments.
#   scripts/tee_gramine_exec.sh --evidence DIR [--gramine-dir DIR] [--mode sgx|direct] MANIFEST [ARGS...]
#   scripts/tee_gramine_exec.sh --evidence DIR --render redis-ring|redis-native|cxl_graph-publish|cxl_graph-attach ARGS...
# --render makes this launch's own manifest from ARGS (render.py
# --launch-argv: the module, path=, TLS and key files mapped into the
# enclave), checks it (check.py), signs it (gramine-sgx-sign; SGX_SIGNING_KEY,
# GRAMINE_PKGLIBDIR) into DIR/<pid>/render/, and runs it with no host
# arguments; Redis's log (stdout inside) goes to the --logfile ARGS named.
# It changes into --gramine-dir (default build/gramine/, where `make -C
# gramine manifests sgx-sign` leaves MANIFEST.manifest.sgx and MANIFEST.sig), checks
# that the signed manifest is there (sgx: a non-empty MANIFEST.sig no older
# than MANIFEST.manifest.sgx), empties DIR/<pid>/ and writes there mode,
# manifest, gramine_dir, sig (path, sha256), loader (gramine-MODE's realpath)
# and device, starts a watcher that copies the lines of /proc/<pid>/maps
# whose path is exactly the SGX enclave device (on a machine: the character
# device /dev/sgx_enclave, by inode) into DIR/<pid>/maps once it is mapped,
# then execs gramine-sgx (or gramine-direct) MANIFEST ARGS... in its own process (same pid: the caller's cleanup stops the enclave itself).
# Environment: CXL_TEE_ROOT (the enclave device is $CXL_TEE_ROOT/dev/sgx_enclave:
# tests), TEE_PROOF_WAIT_S (how long the watcher waits, default 600).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=tee_gramine_exec.sh
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"

ev="" gdir=$ROOT/${BUILD:-build}/gramine mode=sgx render=0
while [ $# -gt 0 ]; do
  case $1 in
    --evidence) need "$@"; ev=$2; shift 2 ;;
    --render) render=1; shift ;;
    --gramine-dir) need "$@"; gdir=$2; shift 2 ;;
    --mode) need "$@"; mode=$2; shift 2 ;;
    -h|--help) usage_from_header "$0"; exit 0 ;;
    --) shift; break ;;
    -*) usage_error "unknown flag '$1' (see --help)" ;;
    *) break ;;
  esac
done
[ -n "$ev" ] || usage_error "--evidence DIR is required"
[ $# -ge 1 ] || usage_error "MANIFEST is required (e.g. redis-ring)"
[[ $mode == sgx || $mode == direct ]] || usage_error "--mode '$mode': sgx or direct"
manifest=$1; shift
[[ $manifest =~ ^[A-Za-z0-9_.-]+$ ]] || usage_error "MANIFEST '$manifest': a name in --gramine-dir, not a path"
if [ "$render" = 0 ]; then
  [ -d "$gdir" ] || die "--gramine-dir: no directory '$gdir' (make -C gramine manifests)"
  gdir=$(realpath "$gdir")
fi
mkdir -p "$ev"; ev=$(realpath "$ev")

loader=$(command -v "gramine-$mode" 2>/dev/null) || die "gramine-$mode is not on PATH"

# --render: this launch's own manifest, in its evidence folder: rendered from
# its arguments (render.py --launch-argv), checked, signed; the program then
# runs with no host arguments (its argv is in the signed manifest) and its
# log, which Redis writes to stdout inside, goes to the --logfile it named
logfile=""
if [ "$render" = 1 ]; then
  [ "$mode" = sgx ] || usage_error "--render is for --mode sgx"
  d=$ev/$$
  rm -rf "$d"
  gdir=$d/render
  mkdir -p "$gdir"
  medium="" prev="" outputs=()
  for a in "$@"; do
    case $a in path=*) medium=${a#path=} ;; esac
    case $prev in
      --logfile) logfile=$a ;;
      --path) medium=$a ;;   # cxl_graph's region
      --csv) outputs+=(--output "$a") ;;
    esac
    prev=$a
  done
  PY=python3
  $PY -c 'import jinja2, tomllib' 2>/dev/null || PY=/usr/bin/python3
  $PY -c 'import json, sys; json.dump(sys.argv[2:], open(sys.argv[1], "w"))' "$gdir/argv.json" "$@"
  build=${BUILD:-build}; [[ $build == /* ]] || build=$ROOT/$build
  $PY "$ROOT/gramine/render.py" --app "$manifest" --out "$gdir" --build "$build" \
    --launch-argv "$gdir/argv.json" ${GRAMINE_PKGLIBDIR:+--gramine-pkglibdir "$GRAMINE_PKGLIBDIR"} \
    ${OMP_NUM_THREADS:+--omp-threads "$OMP_NUM_THREADS"} >/dev/null ||
    die "render.py refused this launch's arguments (above)"
  $PY "$ROOT/gramine/check.py" "$gdir/$manifest.manifest" ${medium:+--medium "$medium"} "${outputs[@]}" ||
    die "check.py refused the manifest rendered for this launch (above)"
  command -v gramine-sgx-sign >/dev/null || die "gramine-sgx-sign is not on PATH"
  gramine-sgx-sign --manifest "$gdir/$manifest.manifest" --output "$gdir/$manifest.manifest.sgx" \
    ${SGX_SIGNING_KEY:+--key "$SGX_SIGNING_KEY"} >"$gdir/sign.log" 2>&1 ||
    die "gramine-sgx-sign failed: $(tail -n 3 "$gdir/sign.log" | tr '\n' ' ')"
  set -- # the arguments are in the manifest now
fi
if [ "$mode" = sgx ]; then
  msgx=$gdir/$manifest.manifest.sgx sig=$gdir/$manifest.sig
  [ -f "$msgx" ] || die "$msgx: no SGX manifest (make -C gramine manifests sgx-sign)"
  [ -f "$sig" ] || die "$sig: the manifest is not signed (make -C gramine sgx-sign)"
  [ -s "$sig" ] || die "$sig: empty: the manifest is not signed (make -C gramine sgx-sign)"
  [ ! "$sig" -ot "$msgx" ] || die "$sig is older than $msgx: signed before the manifest was rendered (make -C gramine sgx-sign)"
fi

# the evidence of this pid: a fresh folder (a reused pid must not inherit an
# old maps file; with --render it holds only this launch's manifest so far)
d=$ev/$$
if [ "$render" = 0 ]; then rm -rf "$d"; fi
mkdir -p "$d"
echo "$mode" >"$d/mode"
echo "$manifest" >"$d/manifest"
echo "$gdir" >"$d/gramine_dir"
realpath "$loader" >"$d/loader"
if [ "$mode" = sgx ]; then
  { echo "$sig"; sha256sum "$sig" | cut -d' ' -f1; } >"$d/sig"
fi

# the enclave device: exactly $CXL_TEE_ROOT/dev/sgx_enclave (a fixture file in
# the tests); on a machine (no CXL_TEE_ROOT) /dev/sgx_enclave must be a
# character device and the mapping must be of its inode
dev=${CXL_TEE_ROOT:-}/dev/sgx_enclave ino=""
if [ -z "${CXL_TEE_ROOT:-}" ]; then
  if [ -c "$dev" ]; then ino=$(stat -c %i "$dev"); else ino=not-a-device; fi
fi
echo "$dev${ino:+ $ino}" >"$d/device"
# the watcher: this process becomes gramine-$mode (exec keeps the pid); it
# records the maps lines whose path field is exactly the device (and, on a
# machine, whose inode is the device's)
pid=$$ wait_s=${TEE_PROOF_WAIT_S:-600}
(
  # every 20 ms: building an enclave (ECREATE, EADD of every page, EINIT) takes
  # far longer, and the mapping stays until the process ends
  for _ in $(seq $((wait_s * 50))); do
    if awk -v dev="$dev" -v ino="$ino" '
         { p = $0; if (!sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", p)) next }
         p == dev && (ino == "" || $5 == ino)' "/proc/$pid/maps" >"$d/maps.tmp" 2>/dev/null && [ -s "$d/maps.tmp" ]; then
      mv "$d/maps.tmp" "$d/maps"; exit 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  rm -f "$d/maps.tmp"
) </dev/null >/dev/null 2>&1 &
cd "$gdir"
if [ -n "$logfile" ]; then exec >>"$logfile" 2>&1; fi
exec "$loader" "$manifest" "$@"
