# shellcheck shell=bash
# scripts/tee_lib.sh - what the three TEE workflows share (docs/TEE.md):
#   scripts/host_bench_gramine_sgx.sh, scripts/host_recreate_and_bench_gramine_sgxvm.sh,
#   scripts/host_recreate_and_bench_tdx.sh.
# It owns: their common flags (--dry-run, --root DIR), the preflight (one line
# per requirement with its verdict; exit 77 naming every missing one), the
# plan (each step printed; run unless --dry-run) and the label-proof rules (a
# GramineSGX* result only when gramine-sgx ran a signed manifest and the
# process mapped the SGX enclave device; a TDX* result only when every guest
# said tdx_guest). Source it after setting ROOT (the repository) and PROG; it
# sources scripts/lib.sh (WORK, cleanup, prefix_labels) and infra/lib.sh
# (die, usage_error, need, shell_quote, size_to_bytes).
# Tests: CXL_TEE_ROOT=DIR (or --root DIR) reads /proc, /sys, /dev and
# /var/run under DIR instead of /, so a fixture tree stands for a machine.

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"

TEE_ROOT=${CXL_TEE_ROOT:-}
TEE_DRY=0
TEE_MISSING=() TEE_CHECKED=0
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}

# tee_common_flag ARGS...: --dry-run, --root DIR; sets TEE_SHIFT (status 1: not one of them)
# shellcheck disable=SC2034 # TEE_SHIFT is the scripts'
tee_common_flag() {
  TEE_SHIFT=1
  case $1 in
    --dry-run) TEE_DRY=1 ;;
    --root) need "$@"; [ -d "$2" ] || usage_error "--root: no directory '$2'"; TEE_ROOT=$(realpath "$2"); TEE_SHIFT=2 ;;
    *) return 1 ;;
  esac
}

# (a run with a fixture root writes its outputs as fixture_*: they prove
# nothing about the machine they ran on)
# tee_path PATH: PATH under the fixture root (CXL_TEE_ROOT / --root), or PATH
tee_path() { echo "$TEE_ROOT$1"; }
# tee_abs PATH: PATH if absolute, else under the repository
tee_abs() { if [[ $1 == /* ]]; then echo "$1"; else echo "$ROOT/$1"; fi; }

# --- the preflight -------------------------------------------------------------------------
tee_preflight_begin() { # WHAT: the heading
  TEE_MISSING=() TEE_CHECKED=0
  echo "$PROG: preflight ($1)${TEE_ROOT:+ [root $TEE_ROOT]}"
}

# tee_req NAME STATUS DETAIL: one requirement and its verdict (STATUS 0: present)
tee_req() {
  TEE_CHECKED=$((TEE_CHECKED + 1))
  if [ "$2" = 0 ]; then printf '  ok       %-44s %s\n' "$1" "$3"
  else printf '  MISSING  %-44s %s\n' "$1" "$3"; TEE_MISSING+=("$1"); fi
}

tee_cpu_flag() { # FLAG WHY: FLAG on a "flags" line of /proc/cpuinfo
  local f s=0; f=$(tee_path /proc/cpuinfo)
  grep -m1 '^flags' "$f" 2>/dev/null | tr ' \t' '\n\n' | grep -qx "$1" || s=1
  tee_req "cpu flag $1" $s "($2)"
}
tee_exists() { # PATH WHY: PATH exists (a device node, a directory, a file)
  local s=0; [ -e "$(tee_path "$1")" ] || s=1
  tee_req "$1" $s "($2)"
}
tee_socket() { # PATH WHY: a Unix socket there
  local s=0; [ -S "$(tee_path "$1")" ] || s=1
  tee_req "$1" $s "($2)"
}
tee_param_on() { # PATH WHY: a kernel module parameter that reads Y or 1
  local v=""
  v=$(cat "$(tee_path "$1")" 2>/dev/null) || true
  local s=0; [[ $v == Y || $v == 1 ]] || s=1
  tee_req "$1 = Y" $s "(${v:+reads '$v'; }$2)"
}
tee_cmd() { # NAME WHY: NAME on PATH
  local p=""
  p=$(command -v "$1" 2>/dev/null) || true
  tee_req "$1" "$([ -n "$p" ] && echo 0 || echo 1)" "(${p:-not on PATH}; $2)"
}
tee_cmd_ok() { # NAME WHY CMD...: CMD exits 0
  local n=$1 why=$2; shift 2
  local out rc=0
  if ! command -v "$1" >/dev/null 2>&1; then tee_req "$n" 1 "(not on PATH; $why)"; return 0; fi
  out=$("$@" 2>&1) || rc=$?
  tee_req "$n" "$([ $rc = 0 ] && echo 0 || echo 1)" "(exit $rc$( [ $rc = 0 ] || printf ': %s' "$(echo "$out" | grep -v '^\s*$' | tail -n 1 | cut -c1-60)"); $why)"
}
tee_qemu_object() { # OBJ: QEMU's -object help lists OBJ
  local have=1
  if command -v "$QEMU_BIN" >/dev/null 2>&1; then
    "$QEMU_BIN" -object help 2>/dev/null | grep -qw -- "$1" && have=0
  fi
  tee_req "QEMU object $1" $have "($QEMU_BIN -object help)"
}
tee_file() { # NAME PATH WHY: a regular file (not under the fixture root: a host path)
  tee_req "$1" "$([ -f "$2" ] && echo 0 || echo 1)" "($2; $3)"
}

# tee_preflight_end: the summary; exit 77 naming every missing requirement
# (in a dry run the plan still follows, and the exit is 77 after it: TEE_FAILED=1)
TEE_FAILED=0
tee_preflight_end() {
  if [ ${#TEE_MISSING[@]} -eq 0 ]; then
    echo "$PROG: preflight: all $TEE_CHECKED requirements present"
    return 0
  fi
  local list
  list=$(printf '%s, ' "${TEE_MISSING[@]}"); list=${list%, }
  echo "$PROG: preflight: missing ${#TEE_MISSING[@]} of $TEE_CHECKED: $list" >&2
  if [ "$TEE_DRY" = 1 ]; then
    echo "$PROG: preflight failed; the plan follows anyway (--dry-run), then exit 77"
    TEE_FAILED=1
    return 0
  fi
  echo "$PROG: nothing was run (exit 77: this machine lacks what the workflow needs; docs/TEE.md)" >&2
  exit 77
}

# --- the plan ------------------------------------------------------------------------------
TEE_STEP=0
# tee_step DESCRIPTION CMD...: prints the step and its command; runs it unless --dry-run
tee_step() {
  local d=$1; shift
  TEE_STEP=$((TEE_STEP + 1))
  echo "[$TEE_STEP] $d"
  echo "    + $(shell_quote "$@")"
  [ "$TEE_DRY" = 1 ] && return 0
  "$@" || die "step $TEE_STEP ($d) failed: $(shell_quote "$@")"
}
# tee_note TEXT: a line of the plan that runs nothing
tee_note() { echo "    $*"; }

# tee_done: the end of a dry run (exit 77 when the preflight failed)
tee_done() {
  if [ "$TEE_DRY" = 1 ]; then
    echo "$PROG: dry run: nothing was started"
    [ "$TEE_FAILED" = 0 ] || exit 77
  fi
  return 0
}

# --- the label proofs ----------------------------------------------------------------------
# A Gramine-SGX launch (scripts/tee_gramine_exec.sh --evidence DIR) leaves
# DIR/<pid>/: mode (sgx), manifest (its name), gramine_dir, sig (the .sig's
# path and sha256), loader (gramine-sgx's realpath), device (the enclave
# device's path [and inode]), maps (the process's /proc/PID/maps lines whose
# path is that device, written once the enclave is mapped).
# tee_python: a python3 with tomllib (python3 on PATH, else /usr/bin/python3)
tee_python() {
  local p
  for p in python3 /usr/bin/python3; do
    "$p" -c 'import tomllib' 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}
# tee_manifest_debug_off FILE: status 0 when the TOML manifest FILE has sgx.debug
# off (absent or false), 1 when it is on (or anything but false), 2 when it
# cannot be read
tee_manifest_debug_off() {
  local py
  py=$(tee_python) || return 2
  "$py" - "$1" <<'PY' 2>/dev/null
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        m = tomllib.load(f)
except (OSError, tomllib.TOMLDecodeError):
    sys.exit(2)
sgx = m.get("sgx", {})
sys.exit(0 if isinstance(sgx, dict) and sgx.get("debug", False) is False else 1)
PY
}
# tee_prove_gramine_sgx DIR: status 0 when DIR holds at least one launch and
# every launch proves it: mode sgx; the loader's realpath is a gramine-sgx; a
# non-empty .sig, unchanged since the launch, no older than its
# .manifest.sgx; neither MANIFEST.manifest.sgx nor MANIFEST.manifest in the
# gramine dir has sgx.debug on; the process mapped exactly the recorded
# enclave device. Else prints why on stderr, status 1
tee_prove_gramine_sgx() {
  local dir=$1 d n=0 bad=0 why sig msgx loader dev ino gd man f rc
  for d in "$dir"/*/; do
    [ -d "$d" ] || continue
    n=$((n + 1)) why=""
    [ "$(cat "$d/mode" 2>/dev/null)" = sgx ] || why+=" not run as gramine-sgx (mode '$(cat "$d/mode" 2>/dev/null)');"
    loader=$(cat "$d/loader" 2>/dev/null || true)
    [ "$(basename "${loader:-none}")" = gramine-sgx ] && [ -x "$loader" ] ||
      why+=" the loader '$loader' is not gramine-sgx;"
    gd=$(cat "$d/gramine_dir" 2>/dev/null || true) man=$(cat "$d/manifest" 2>/dev/null || true)
    sig=$(head -n 1 "$d/sig" 2>/dev/null || true) msgx=$gd/$man.manifest.sgx
    if [ -z "$sig" ] || [ ! -s "$sig" ]; then why+=" no signed manifest (a non-empty .sig) recorded;"
    elif [ "$(sha256sum "$sig" | cut -d' ' -f1)" != "$(sed -n 2p "$d/sig")" ]; then why+=" $sig changed since the launch;"
    elif [ -z "$gd" ] || [ -z "$man" ] || [ ! -f "$msgx" ]; then why+=" no $msgx;"
    elif [ "$sig" -ot "$msgx" ]; then why+=" $sig is older than $msgx;"
    fi
    for f in "$gd/$man.manifest.sgx" "$gd/$man.manifest"; do
      [ -n "$gd" ] && [ -n "$man" ] && [ -f "$f" ] || continue
      rc=0; tee_manifest_debug_off "$f" || rc=$?
      case $rc in
        0) ;;
        1) why+=" $f has sgx.debug on (a debug enclave: its memory is readable);" ;;
        *) why+=" $f: cannot read its sgx.debug (a python3 with tomllib? a TOML file?);" ;;
      esac
    done
    # every recorded line: exactly the device's path (and, when recorded, its inode)
    dev=$(cut -d' ' -f1 "$d/device" 2>/dev/null || true) ino=$(cut -s -d' ' -f2 "$d/device" 2>/dev/null || true)
    [ -n "$dev" ] && [ -s "$d/maps" ] && awk -v dev="$dev" -v ino="$ino" '
      { p = $0; if (!sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", p) || p != dev || (ino != "" && $5 != ino)) bad = 1 }
      END { exit bad }' "$d/maps" ||
      why+=" the process never mapped the SGX enclave device;"
    if [ -n "$why" ]; then
      bad=$((bad + 1))
      echo "$PROG: proof: launch $(basename "$d") ($man):$why" >&2
    fi
  done
  if [ $n = 0 ]; then echo "$PROG: proof: no Gramine launch recorded in $dir" >&2; return 1; fi
  [ $bad = 0 ] || return 1
  echo "$PROG: proof: $n Gramine-SGX launch(es) in $dir: gramine-sgx on a signed, non-debug manifest, enclave mapped"
}

# tee_prove_tdx LOG...: status 0 when every guest serial LOG says tdx_guest
# (guest/init.sh prints "cxl-vm: tee cpu flags: ..."); else prints why, status 1
tee_prove_tdx() {
  local f bad=0 line
  [ $# -gt 0 ] || { echo "$PROG: proof: no guest serial log" >&2; return 1; }
  for f in "$@"; do
    line=$(tr -d '\r' <"$f" 2>/dev/null | grep -a -m1 'cxl-vm: tee cpu flags:' || true)
    if [ -z "$line" ]; then
      echo "$PROG: proof: $f: no 'tee cpu flags' line (a guest built before docs/TEE.md? make vm)" >&2; bad=1
    elif ! echo "$line" | tr ' ' '\n' | grep -qx tdx_guest; then
      echo "$PROG: proof: $f: the guest's CPU flags have no tdx_guest (${line#*flags:}): not a TDX guest" >&2; bad=1
    fi
  done
  [ $bad = 0 ] || return 1
  echo "$PROG: proof: $# guest log(s) show tdx_guest"
}

# tee_refuse WHAT STAGE [PREFIX...]: the label-proof rule said no: keep STAGE
# renamed *_REFUSED, where every label PREFIX<label> (PREFIX then a capital)
# becomes UnprovenPREFIX<label>: every occurrence, whatever precedes it (a
# quote, a tab, "(", "_", ...), in every text file of the run (CSV, Markdown,
# .txt, logs: grep -I's text), and in the names of its files and folders.
# Binary files (e.g. graph.png) are left as they are. Nothing is published
# under results/ as a TEE result; exit 1
tee_refuse() {
  local what=$1 stage=$2 kept=${2%/}_REFUSED p f n expr=""
  shift 2
  for p in "$@"; do
    # every P[A-Z] gets Unproven, then any Unproven doubled by that collapses
    expr+="s/$p([A-Z])/Unproven$p\1/g; s/(Unproven)+$p([A-Z])/Unproven$p\2/g; "
  done
  if [ -n "$expr" ] && [ -d "$stage" ]; then
    grep -rlIZ -e . "$stage" 2>/dev/null | xargs -0 -r sed -E -i "$expr"
    find "$stage" -depth -mindepth 1 -print0 2>/dev/null | while IFS= read -r -d '' f; do
      n=$(basename "$f" | sed -E "$expr")
      [ "$n" = "$(basename "$f")" ] || mv "$f" "$(dirname "$f")/$n"
    done
  fi
  rm -rf "$kept"; mv "$stage" "$kept" 2>/dev/null || kept=$stage
  echo "$PROG: REFUSED: no proof that $what ran in the TEE; nothing published as a TEE result (kept for inspection: $kept)" >&2
  exit 1
}

# tee_cat_csv OUT IN...: IN files (one header) concatenated into OUT
tee_cat_csv() {
  local out=$1; shift
  awk 'FNR == 1 && NR != 1 { next } 1' "$@" >"$out"
}

# --- the VM roles' outputs as CSV (host_recreate_and_bench_tdx.sh) ---------------------------------
# tee_ycsb_csv LABEL WORKLOAD RECORDS FILE: cxl_ycsb's -load then -run output
# (YCSB's text: [OVERALL], RunTime starts a phase) as one CSV row per phase
tee_ycsb_csv() {
  echo "label,workload,phase,records,operations,throughput_ops,read_p99_us"
  tr -d '\r' <"$4" | awk -v l="$1" -v w="$2" -v rec="$3" '
    /^\[OVERALL\], RunTime/ { phase++ }
    /^\[OVERALL\], Throughput/ { t[phase] = $3 }
    /^\[READ\], 99thPercentileLatency/ { p[phase] = $3 }
    END { for (i = 1; i <= phase; i++) printf "%s,%s,%s,%s,%s,%s,%s\n", l, w, i == 1 ? "load" : "run", rec, rec, t[i], p[i] }'
}

# tee_graph_csv PREFIX SCALE LOG: the graph-attach role's bfs runs in a guest
# serial LOG (the plain graph first, then the sealed one): GAPBS's
# "Average Time:" of each as PREFIXRing, PREFIXCrypto
tee_graph_csv() {
  echo "label,kernel,scale,trials,average_s"
  tr -d '\r' <"$3" | awk -v p="$1" -v g="$2" '
    /Average Time:/ { n++; printf "%s%s,bfs,%s,3,%s\n", p, n == 1 ? "Ring" : "Crypto", g, $NF }'
}
