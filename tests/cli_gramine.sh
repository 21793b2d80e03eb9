#!/usr/bin/env bash
# cli_gramine.sh - gramine/: every manifest template rendered (render.py,
# against a stand-in of Gramine's library folder: Gramine is not installed
# here, and nothing here runs it) and parsed as TOML with its invariants
# checked (check.py): entrypoint mounted, trusted and existing; trusted files
# exact and existing; the medium the one allowed file, in an untrusted_shm
# mount; nothing allowed overlapping anything trusted; no broad folder; debug
# off in production. Then what must be refused: a thread count below the
# app's minimum, bad parameters, and manifests edited to break each rule;
# and the Makefile's manifests / sgx-sign / sgx-token steps.
# Usage: tests/cli_gramine.sh [BUILD]
source "$(dirname "$0")/check.sh"
# a Python with Jinja2 and tomllib: the first python3 on PATH, else Debian's
# (scripts/deps.sh installs python3-jinja2 for /usr/bin/python3)
PY=python3
$PY -c 'import jinja2, tomllib' 2>/dev/null || PY=/usr/bin/python3
export PYTHON=$PY
R="$PY gramine/render.py --build $BUILD"
C="$PY gramine/check.py"
for f in bin/cxl_graph bin/cxl_sodium_tunnel bin/cxl_sec_mgr cxl_ring.so; do
  [ -f "$BUILD/$f" ] || die "build $BUILD/$f first"
done
$PY -c 'import jinja2, tomllib' || die "needs Python >= 3.11 (tomllib) and Jinja2 (python3-jinja2)"

# a stand-in for Gramine's library folder: libsysdb.so and runtime/glibc
G=$WORK/gramine-lib
mkdir -p "$G/runtime/glibc" "$WORK/keys" "$WORK/data"
touch "$G/libsysdb.so"
for f in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 \
         libutil.so.1 libnss_dns.so.2 libnss_files.so.2; do touch "$G/runtime/glibc/$f"; done
COMMON=(--gramine-pkglibdir "$G" --keys-dir "$WORK/keys" --data-dir "$WORK/data")
MED=/dev/shm/cxl_shared.raw GMED=/dev/shm/cxl_graph.raw

# --- the production render: every app, every rule
OUT=$WORK/prod
$R --out "$OUT" "${COMMON[@]}" >/dev/null
check "render every app (production)" $?
n=$(ls "$OUT"/*.manifest 2>/dev/null | wc -l)
[ "$n" -eq 6 ]; check "six manifests rendered ($n)" $?
declare -A MIN=([redis-native]=7 [redis-ring]=8 [cxl_graph-publish]=5 [cxl_graph-attach]=5
                [cxl_sodium_tunnel]=4 [cxl_sec_mgr]=4)
declare -A MEDIA=([redis-ring]=$MED [cxl_graph-publish]=$GMED [cxl_graph-attach]=$GMED)
for app in "${!MIN[@]}"; do
  media=(); [ -n "${MEDIA[$app]:-}" ] && media=(--medium "${MEDIA[$app]}")
  $C "$OUT/$app.manifest" "${media[@]}" --min-threads "${MIN[$app]}"
  check "$app: every rule kept" $?
  $PY -c "import sys, tomllib; m = tomllib.load(open(sys.argv[1], 'rb')); sys.exit(m['sgx']['max_threads'] != int(sys.argv[2]) or m['sgx']['debug'] is not False)" \
    "$OUT/$app.manifest" "${MIN[$app]}"
  check "$app: sgx.max_threads is its minimum ${MIN[$app]}, sgx.debug false" $?
done
grep -qF 'loader.argv' "$OUT/redis-ring.manifest" && grep -qF '"path=/dev/shm/cxl_shared.raw"' "$OUT/redis-ring.manifest" \
  && grep -qF '"serve=thread"' "$OUT/redis-ring.manifest"
check "redis-ring: the module and its arguments in loader.argv" $?
grep -qF '{ type = "untrusted_shm", path = "/dev/shm", uri = "dev:/dev/shm" }' "$OUT/redis-ring.manifest"
check "redis-ring: the medium's folder is an untrusted_shm mount with a dev: URI" $?
grep -qF '"file:'"$(realpath "$BUILD/cxl_ring.so")"'"' "$OUT/redis-ring.manifest" &&
  grep -qF 'libsodium.so' "$OUT/redis-ring.manifest" && grep -qF 'libnuma.so' "$OUT/redis-ring.manifest"
check "redis-ring: the module, libsodium and libnuma are trusted files" $?
! grep -qE 'untrusted_shm|"dev:' "$OUT/redis-native.manifest"
check "redis-native: no medium" $?
grep -qF '"--cxl-mode",' "$OUT/cxl_graph-publish.manifest" && grep -qF '"publish",' "$OUT/cxl_graph-publish.manifest" &&
  grep -qF '"attach",' "$OUT/cxl_graph-attach.manifest"
check "cxl_graph: publish and attach renders" $?
grep -qF 'type = "encrypted"' "$OUT/cxl_sec_mgr.manifest" && grep -qF 'type = "encrypted"' "$OUT/cxl_sodium_tunnel.manifest"
check "tunnel and manager: their secrets in an encrypted mount" $?

# --- debug render: accepted as debug, refused as production
$R --out "$WORK/dbg" --app redis-ring --debug --edmm --log-level debug "${COMMON[@]}" >/dev/null
check "debug + EDMM render" $?
$C "$WORK/dbg/redis-ring.manifest" --medium $MED --allow-debug
check "debug render passes as a debug manifest" $?
check_fails "sgx.debug is on in a production manifest" $C "$WORK/dbg/redis-ring.manifest" --medium $MED
grep -qF 'sgx.edmm_enable = true' "$WORK/dbg/redis-ring.manifest"; check "--edmm sets sgx.edmm_enable" $?

# --- the thread minimum: refused below, with the reason
check_fails "--threads 7 is below its minimum 8" $R --out "$WORK/t" --app redis-ring --threads 7 "${COMMON[@]}"
check_fails "main thread + 3 bio threads + the module's serving thread" \
  $R --out "$WORK/t" --app redis-ring --threads 2 "${COMMON[@]}"
check_fails "--threads 8 is below its minimum 9" $R --out "$WORK/t" --app redis-ring --secure --threads 8 "${COMMON[@]}"
check_fails "--threads 6 is below its minimum 7" $R --out "$WORK/t" --app redis-native --threads 6 "${COMMON[@]}"
check_fails "--threads 6 is below its minimum 7" $R --out "$WORK/t" --app cxl_graph-attach --omp-threads 4 --threads 6 "${COMMON[@]}"
$R --out "$WORK/t" --app redis-ring --threads 16 "${COMMON[@]}" >/dev/null && grep -qF 'sgx.max_threads = 16' "$WORK/t/redis-ring.manifest"
check "--threads above the minimum is taken" $?
check_fails "sgx.max_threads 8 is below 9" $C "$OUT/redis-ring.manifest" --medium $MED --min-threads 9

# --- bad parameters
check_fails "must be a power of two" $R --out "$WORK/b" --enclave-size 300M "${COMMON[@]}"
check_fails "must be a power of two of at least 256M" $R --out "$WORK/b" --enclave-size 128M "${COMMON[@]}"
check_fails "is not a size" $R --out "$WORK/b" --enclave-size lots "${COMMON[@]}"
check_fails "must be an absolute, normalised path" $R --out "$WORK/b" --medium shm/x.raw "${COMMON[@]}"
check_fails "must be an absolute, normalised path" $R --out "$WORK/b" --medium /dev/shm/ "${COMMON[@]}"
check_fails "must be an absolute, normalised path" $R --out "$WORK/b" --medium /dev/shm/../etc/x "${COMMON[@]}"
check_fails "not in /" $R --out "$WORK/b" --medium /medium.raw "${COMMON[@]}"
check_fails "--port 0 is not in 1..65535" $R --out "$WORK/b" --port 0 "${COMMON[@]}"
check_fails "--rings 0 is not in 1..64" $R --out "$WORK/b" --rings 0 "${COMMON[@]}"
check_fails "serve=eventloop needs eventfd" $R --out "$WORK/b" --app redis-ring --serve eventloop "${COMMON[@]}"
check_fails "only 'error' in a production enclave" $R --out "$WORK/b" --log-level debug "${COMMON[@]}"
check_fails "--threads 0 must be at least 1" $R --out "$WORK/b" --threads 0 "${COMMON[@]}"
check_fails "is refused (plain words only" $R --out "$WORK/b" --graph-args "bfs --path /etc/passwd" "${COMMON[@]}"
check_fails "is not HOST:PORT" $R --out "$WORK/b" --listen nowhere "${COMMON[@]}"
check_fails "needs --keys-dir" $R --out "$WORK/b" --app cxl_sodium_tunnel --gramine-pkglibdir "$G"
check_fails "needs --data-dir" $R --out "$WORK/b" --app cxl_sec_mgr --gramine-pkglibdir "$G"
check_fails "is not built" $R --build "$WORK/nothing" --out "$WORK/b" --app cxl_sec_mgr "${COMMON[@]}"
check_fails "not Gramine's library folder" $R --out "$WORK/b" --gramine-pkglibdir "$WORK" --keys-dir /k --data-dir /d
if ! $PY -c 'import graminelibos' 2>/dev/null; then
  $R --out "$WORK/b" >/dev/null 2>"$WORK/err"; rc=$?
  [ $rc -eq 77 ] && grep -qF 'Gramine is not installed here' "$WORK/err"
  check "no Gramine and no --gramine-pkglibdir: exit 77 naming it (exit $rc)" $?
fi

# --- manifests edited to break each rule: check.py names it
broken() { # DESC WORDS SED_SCRIPT [check.py flags...]: the ring manifest edited, refused saying WORDS
  local desc=$1 words=$2 script=$3; shift 3
  sed "$script" "$OUT/redis-ring.manifest" >"$WORK/broken.manifest"
  check_fails "$words" $C "$WORK/broken.manifest" --medium $MED "$@"
}
broken "a folder allowed" "is a folder" 's|^  "dev:/dev/shm/cxl_shared.raw",|&\n  "file:/usr",|'
broken "all of /dev allowed" "is a folder" 's|"dev:/dev/shm/cxl_shared.raw"|"dev:/dev"|'
broken "another file allowed" "expected exactly" 's|^  "dev:/dev/shm/cxl_shared.raw",|&\n  "dev:/dev/shm/other.raw",|'
broken "the medium outside an untrusted_shm mount" "not directly in an untrusted_shm mount" '/type = "untrusted_shm"/d'
broken "all of /dev as untrusted_shm" "not all of /dev" 's|path = "/dev/shm", uri = "dev:/dev/shm"|path = "/dev", uri = "dev:/dev"|'
broken "a missing trusted file" "does not exist" 's|^sgx.trusted_files = \[|&\n  "file:/nonexistent/lib.so",|'
broken "a trusted folder" "is a folder" 's|^sgx.trusted_files = \[|&\n  "file:/usr/lib/",|'
broken "allowed overlapping trusted" "overlaps trusted" 's|^sgx.trusted_files = \[|&\n  "file:/dev/shm",|'
broken "the entrypoint not mounted" "is in no mounted path" '/path = "\/usr\/bin\/redis-server"/d'
broken "the entrypoint not trusted" "is not a trusted file" '/^  "file:\/usr\/bin\/redis-check-rdb",/d'
broken "host's /usr mounted" "exposes the host's whole /usr" 's|^fs.mounts = \[|&\n  { path = "/usr", uri = "file:/usr" },|'
broken "argv from the host" "insecure option" 's|^loader.argv = \[|loader.insecure__use_cmdline_argv = true\n&|'
broken "file check policy relaxed" "must stay 'strict'" 's|^sgx.debug = false|&\nsgx.file_check_policy = "allow_all_but_log"|'
broken "enclave size not a power of two" "is not a power of two" 's|^sgx.enclave_size = "1G"|sgx.enclave_size = "768M"|'
broken "not TOML" "broken.manifest" 's|^sgx.debug = false|sgx.debug = maybe|'
# (URIs with "//", "/" itself, tables for lists, paths that reach a trusted file another way)
broken "fs.root of the host's /" "fs.root" 's|^fs.mounts = \[|fs.root.uri = "file:/"\n&|'
broken "a chroot mount of file://" "exposes the host's whole /" 's|^fs.mounts = \[|&\n  { path = "/host", uri = "file://" },|'
broken "an untrusted_shm mount of dev://tmp" "not all of /tmp" 's|path = "/dev/shm", uri = "dev:/dev/shm"|path = "/dev/shm", uri = "dev://tmp"|'
broken "an encrypted mount of file:/" "exposes the host's whole /" \
  's|^fs.mounts = \[|&\n  { type = "encrypted", path = "/keys", uri = "file:/", key_name = "_sgx_mrenclave" },|'
broken "sgx.allowed_files as a table" "sgx.allowed_files must be a list" \
  's|^sgx.allowed_files = \[|sgx.allowed_files = { "dev:/dev/shm/cxl_shared.raw" = true }\nold_allowed = [|'
broken "sgx.trusted_files as a table" "sgx.trusted_files must be a list" \
  's|^sgx.trusted_files = \[|sgx.trusted_files = { "file:/usr/bin/redis-check-rdb" = true }\nold_trusted = [|'
# a medium that exists, in a folder of its own under WORK: fine alone, refused when it is also trusted
# (written file://WORK/...) or is a symlink to a trusted file
mkdir -p "$WORK/m" "$WORK/m2"; : >"$WORK/m/cxl.raw"; ln -s "$(realpath "$BUILD/cxl_ring.so")" "$WORK/m2/cxl.raw"
medium_in() { # DIR [SED]: the ring manifest with its medium DIR/cxl.raw (and SED applied) as $WORK/broken.manifest
  sed "s|/dev/shm/cxl_shared.raw|$1/cxl.raw|g; s|\"/dev/shm\"|\"$1\"|; s|\"dev:/dev/shm\"|\"dev:$1\"|; ${2:-}" \
    "$OUT/redis-ring.manifest" >"$WORK/broken.manifest"
}
medium_in "$WORK/m"; $C "$WORK/broken.manifest" --medium "$WORK/m/cxl.raw"
check "a medium in a folder of its own (the control): every rule kept" $?
medium_in "$WORK/m" "s|^sgx.trusted_files = \[|&\n  \"file:/$WORK/m/cxl.raw\",|"
check_fails "overlaps trusted" $C "$WORK/broken.manifest" --medium "$WORK/m/cxl.raw"
medium_in "$WORK/m2"
check_fails "overlaps trusted" $C "$WORK/broken.manifest" --medium "$WORK/m2/cxl.raw"
# a medium in the folder of trusted libraries: its untrusted_shm mount would cover them
libdir=$(sed -n 's|^  "file:\(/[^"]*\)/libsodium\.so[^"]*",$|\1|p' "$OUT/redis-ring.manifest")
medium_in "$libdir"
check_fails "holds trusted files" $C "$WORK/broken.manifest" --medium "$libdir/cxl.raw"
check_fails "holds trusted files" $R --out "$WORK/b" --app redis-ring --medium "$libdir/cxl.raw" "${COMMON[@]}"
check_fails "holds trusted files" $R --out "$WORK/b" --app cxl_graph-attach --graph-medium "$(dirname "$(realpath "$BUILD/bin/cxl_graph")")/g.raw" "${COMMON[@]}"

# --- the Makefile
make -s -C gramine manifests GRAMINE_PKGLIBDIR="$G" BUILD="$(realpath "$BUILD")" OUT="$WORK/mk" \
  KEYS_DIR="$WORK/keys" DATA_DIR="$WORK/data" >"$WORK/mk.log" 2>&1
check "make -C gramine manifests (render + check every manifest): $(tail -n 1 "$WORK/mk.log")" $?
make -s -C gramine manifests GRAMINE_PKGLIBDIR="$G" BUILD="$(realpath "$BUILD")" OUT="$WORK/mk" THREADS=2 >/dev/null 2>&1
[ $? -ne 0 ]; check "make -C gramine manifests THREADS=2 fails" $?
if ! command -v gramine-sgx-sign >/dev/null; then
  err=$(bash gramine/sgx.sh sign "$WORK/mk" 2>&1); rc=$?
  [ $rc -eq 77 ] && grep -qF 'gramine-sgx-sign is not installed' <<<"$err"
  check "sgx-sign without gramine-sgx-sign: exit 77 naming it (exit $rc)" $?
fi
err=$(bash gramine/sgx.sh token "$WORK/mk" 2>&1); rc=$?
if grep -qw sgx_lc /proc/cpuinfo; then
  [ $rc -eq 0 ] && grep -qF 'no launch token is needed' <<<"$err"
  check "sgx-token with FLC: a no-op that says so (exit $rc)" $?
elif ! command -v gramine-sgx-get-token >/dev/null; then
  [ $rc -eq 77 ] && grep -qF 'gramine-sgx-get-token is not installed' <<<"$err"
  check "sgx-token without FLC nor the tool: exit 77 naming it (exit $rc)" $?
fi
check_fails "usage: gramine/sgx.sh" bash gramine/sgx.sh seal "$WORK/mk"

# --- one launch's own manifest (--launch-argv; docs/TEE.md "Gramine launches of the matrix")
L=$WORK/launch; mkdir -p "$L/files"
echo crt >"$L/files/tls.crt"; echo key >"$L/files/tls.key"; echo node >"$L/files/node.key"
argv() { $PY -c 'import json, sys; json.dump(sys.argv[2:], open(sys.argv[1], "w"))' "$L/argv.json" "$@"; }
SO=$(realpath "$BUILD/cxl_ring.so")
argv --port 7100 --unixsocket "$L/r.sock" --dir "$L" --logfile "$L/r.log" --tls-port 7101 --tls-cert-file "$L/files/tls.crt" \
  --tls-key-file "$L/files/tls.key" --loadmodule "$SO" path=/dev/shm/cxl_launch.raw map_size=1M secure=1 \
  sec_mgr=127.0.0.1:7 node_id=1 key="$L/files/node.key"
$R --app redis-ring --out "$L/out" --gramine-pkglibdir "$G" --launch-argv "$L/argv.json" >/dev/null &&
  $C "$L/out/redis-ring.manifest" --medium /dev/shm/cxl_launch.raw --min-threads 9
check "--launch-argv: a secure launch with TLS files renders and keeps every rule (9 threads)" $?
$PY - "$L/out/redis-ring.manifest" "$L/files" <<'PYEOF'
import sys, tomllib
m = tomllib.load(open(sys.argv[1], "rb")); files = sys.argv[2]
argv, trusted = m["loader"]["argv"], m["sgx"]["trusted_files"]
want = ["--port", "7100", "--unixsocket", "/tmp/r.sock", "--dir", "/tmp", "--logfile", "",
        "--tls-cert-file", "/cxl-dsm/launch/0/tls.crt", "--loadmodule", "/cxl-dsm/cxl_ring.so",
        "path=/dev/shm/cxl_launch.raw", "key=/cxl-dsm/launch/0/node.key"]
ok = all(w in argv for w in want) and all(f"file:{files}/{n}" in trusted for n in ("tls.crt", "tls.key", "node.key"))
ok = ok and {"path": "/cxl-dsm/launch/0", "uri": "file:" + files} in m["fs"]["mounts"]
ok = ok and m["sgx"]["allowed_files"] == ["dev:/dev/shm/cxl_launch.raw"]
sys.exit(0 if ok else 1)
PYEOF
check "--launch-argv: the launch's arguments mapped inside, its files trusted in a mounted folder, the medium alone allowed" $?
refused() { # WORDS ARGS...: --launch-argv with ARGS refused, saying WORDS
  local words=$1; shift
  argv "$@"
  out=$($R --app redis-ring --out "$L/bad" --gramine-pkglibdir "$G" --launch-argv "$L/argv.json" 2>&1)
  check "--launch-argv refuses $*: '$words'" "$([ $? -ne 0 ] && grep -qF -- "$words" <<<"$out"; echo $?)"
}
refused "is not this build's" --loadmodule /lib/x86_64-linux-gnu/libc.so.6 path=/dev/shm/x.raw
refused "needs --loadmodule with exactly one path=" --port 1
refused "needs --loadmodule with exactly one path=" --loadmodule "$SO" path=/dev/shm/x.raw path=/dev/shm/y.raw
refused "serve=eventloop needs eventfd" --loadmodule "$SO" path=/dev/shm/x.raw serve=eventloop
refused "names a host path this launch mode does not map" --include /etc/redis/redis.conf --loadmodule "$SO" path=/dev/shm/x.raw
refused "names a host path this launch mode does not map" --loadmodule "$SO" path=/dev/shm/x.raw numa_file=/etc/passwd
refused "--logfile without its value" --loadmodule "$SO" path=/dev/shm/x.raw --logfile
refused "is not a file" --tls-cert-file /nonexistent/tls.crt --loadmodule "$SO" path=/dev/shm/x.raw
# cxl_graph: a Crypto attacher of the graph matrix (graph file and key trusted, its --csv an output)
mkdir -p "$L/rows"; echo graph >"$L/files/g.sg"; echo secret >"$L/files/crypto.key"
argv bfs -f "$L/files/g.sg" -n 2 -v --cxl-mode attach --node-id 2 --path /dev/shm/cxl_graph_launch.raw --crypto \
  --sec-key-file "$L/files/crypto.key" --csv "$L/rows/h1.csv" --label Crypto --host h1
$R --app cxl_graph-attach --out "$L/gout" --gramine-pkglibdir "$G" --launch-argv "$L/argv.json" >/dev/null &&
  $C "$L/gout/cxl_graph-attach.manifest" --medium /dev/shm/cxl_graph_launch.raw --output "$L/rows/h1.csv"
check "--launch-argv: a cxl_graph attacher renders and keeps every rule (its --csv the one output)" $?
$PY - "$L/gout/cxl_graph-attach.manifest" "$L" <<'PYEOF'
import sys, tomllib
m = tomllib.load(open(sys.argv[1], "rb")); L = sys.argv[2]
argv, trusted, allowed = m["loader"]["argv"], m["sgx"]["trusted_files"], m["sgx"]["allowed_files"]
ok = argv[:2] == ["cxl_graph", "bfs"] and "/dev/shm/cxl_graph_launch.raw" in argv
ok = ok and any(a.startswith("/cxl-dsm/launch/") and a.endswith("/g.sg") for a in argv)
ok = ok and any(a.startswith("/cxl-dsm/out/") and a.endswith("/h1.csv") for a in argv)
ok = ok and f"file:{L}/files/g.sg" in trusted and f"file:{L}/files/crypto.key" in trusted
ok = ok and sorted(allowed) == sorted(["dev:/dev/shm/cxl_graph_launch.raw", f"file:{L}/rows/h1.csv"])
sys.exit(0 if ok else 1)
PYEOF
check "--launch-argv: cxl_graph's files trusted, its output allowed, both mapped inside; the region the medium" $?
$C "$L/gout/cxl_graph-attach.manifest" --medium /dev/shm/cxl_graph_launch.raw 2>/dev/null
check "check.py: an output file nobody named is refused" "$([ $? -ne 0 ]; echo $?)"
grefused() { # APP WORDS ARGS...
  local app=$1 words=$2; shift 2
  argv "$@"
  out=$($R --app "$app" --out "$L/bad" --gramine-pkglibdir "$G" --launch-argv "$L/argv.json" 2>&1)
  check "--launch-argv ($app) refuses $*: '$words'" "$([ $? -ne 0 ] && grep -qF -- "$words" <<<"$out"; echo $?)"
}
grefused cxl_graph-attach "run it under cxl_graph-publish" bfs -g 10 --cxl-mode publish --path /dev/shm/x.raw
grefused cxl_graph-publish "run it under cxl_graph-attach" bfs -g 10 --cxl-mode attach --path /dev/shm/x.raw
grefused cxl_graph-attach "which an enclave does not see" bfs --cxl-mode attach --fabric /run/cxl/fabric.sock
grefused cxl_graph-attach "names a host path" bfs --cxl-mode attach --path /dev/shm/x.raw --out /etc/passwd
echo '{"not": "a list"}' >"$L/argv.json"
out=$($R --app redis-ring --out "$L/bad" --gramine-pkglibdir "$G" --launch-argv "$L/argv.json" 2>&1)
check "--launch-argv: a file that is not a JSON list of strings is refused" "$([ $? -ne 0 ] && grep -qF "JSON list of strings" <<<"$out"; echo $?)"
out=$($R --app redis-ring --app redis-native --out "$L/bad" --gramine-pkglibdir "$G" --launch-argv "$L/argv.json" 2>&1)
check "--launch-argv renders one app" "$([ $? -ne 0 ] && grep -qF "renders one app" <<<"$out"; echo $?)"

echo "$TEST_NAME: $checks checks, $failed failed"
[ $failed -eq 0 ]
