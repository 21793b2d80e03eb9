#!/usr/bin/env bash
# cli_medium_syscalls.sh - what our programs do to the medium's file
# descriptor, seen by strace (-f -y: every fd shown with its path), checked
# against what Gramine's untrusted_shm mount offers an enclave: open/openat,
# fstat, ftruncate, mmap with MAP_SHARED, close (munmap and madvise take no
# fd). Never read/write/pread/pwrite/readv/writev/sendfile/lseek/ioctl... on
# it: the medium is touched through the mapping only. fallocate (hole punch
# when cxl_shm init zeroes the rings) is tolerated: Gramine answers ENOSYS
# to it and the library falls back to memset (src/lib/ring/medium.c,
# cxl_medium_zero). Traced: cxl_shm init/info/write/read, redis-server with
# cxl_ring.so, cxl_ring_direct (one-shot and bench) against it, cxl_graph
# publish + attach (zero-copy and --copy) on a region file.
# Usage: tests/cli_medium_syscalls.sh [BUILD]
source "$(dirname "$0")/check.sh"
command -v strace >/dev/null || die "needs strace (scripts/deps.sh test installs it)"
SO=$(realpath "$BUILD/cxl_ring.so")
MED=/dev/shm/cxl_medsys_$$.raw
GMED=/dev/shm/cxl_medsys_graph_$$.raw
CLEANUP_FILES+=("$MED" "$GMED")
# every syscall that takes a file descriptor, and the mapping ones
TRACE=desc,memory,fallocate
ST() { # ST LOG CMD...: CMD under strace, its trace appended to LOG
  local log=$1; shift
  strace -f -y -qq -e trace=$TRACE -o "$log.part" "$@"
  local rc=$?
  cat "$log.part" >>"$log" 2>/dev/null; rm -f "$log.part"
  return $rc
}

# verdict LOG MEDIUM DESC: every traced line naming MEDIUM is an allowed
# call; at least one mmap(MAP_SHARED) of it was seen
verdict() {
  local log=$1 med=$2 desc=$3 bad
  bad=$(grep -F "<$med" "$log" | grep -vE '^[0-9]+ +(openat|open|close|fstat|newfstatat|ftruncate|fallocate|mmap)\(' \
        | grep -vE 'resumed>|\+\+\+|---' | head -n 5)
  [ -z "$bad" ]; check "$desc: only open/fstat/ftruncate/mmap/close on $med; not: $bad" $?
  bad=$(grep -F "<$med" "$log" | grep -E '^[0-9]+ +mmap\(' | grep -v MAP_SHARED | head -n 3)
  [ -z "$bad" ]; check "$desc: every mmap of the medium is MAP_SHARED; not: $bad" $?
  # (not grep -q: it would quit at the first match, the grep before it would
  # die of SIGPIPE on a long trace, and pipefail would call that a failure)
  grep -F "<$med" "$log" | grep -E '^[0-9]+ +mmap\(.*MAP_SHARED' >/dev/null
  check "$desc: the medium was mapped (MAP_SHARED) at all" $?
  bad=$(grep -F "<$med" "$log" | grep -E '^[0-9]+ +(read|write|pread64|pwrite64|readv|writev|preadv|pwritev|preadv2|pwritev2)\(' | head -n 3)
  [ -z "$bad" ]; check "$desc: no read/write on the medium: $bad" $?
}

# the verdict itself: a made-up trace with a pread64 and a private mapping fails it
printf '%s\n' '1 openat(3</dev/shm>, "x", O_RDWR) = 4</dev/shm/x>' \
  '1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4</dev/shm/x>, 0) = 0x1000' '1 pread64(4</dev/shm/x>, "", 8, 0) = 8' >"$WORK/fake.trace"
f=$(failed=0; verdict "$WORK/fake.trace" /dev/shm/x self-test 2>/dev/null; echo $failed)
[ "$f" -eq 4 ]; check "the verdict refuses pread64 and MAP_PRIVATE on a medium (self-test: $f of 4 checks failed)" $?

# --- cxl_shm: init (formats: sizes, zeroes), info, write, read
L=$WORK/shm.trace
ST "$L" "$BUILD/bin/cxl_shm" --path "$MED" --map-size 8M init >/dev/null; check "cxl_shm init" $?
ST "$L" "$BUILD/bin/cxl_shm" --path "$MED" info >/dev/null; check "cxl_shm info" $?
ST "$L" "$BUILD/bin/cxl_shm" --path "$MED" write --offset 4096 --data hello >/dev/null; check "cxl_shm write" $?
out=$(ST "$L" "$BUILD/bin/cxl_shm" --path "$MED" read --offset 4096 --len 5); check "cxl_shm read" $?
grep -qF hello <<<"$out"; check "cxl_shm read gives what write put: $out" $?
verdict "$L" "$MED" "cxl_shm init/info/write/read"
rm -f "$MED"

# --- redis-server with the module (it formats the blank medium), and the client
L=$WORK/redis.trace
PORT=$(free_port)
strace -f -y -qq -e trace=$TRACE -o "$L" \
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" \
  --loadmodule "$SO" path="$MED" map_size=16M rings=2 &
RPID=$!
CLEANUP_PIDS+=($RPID)
for i in $(seq 150); do
  redis-cli -p "$PORT" cxlring.info >/dev/null 2>&1 && break
  kill -0 $RPID 2>/dev/null || break
  sleep 0.1
done
redis-cli -p "$PORT" cxlring.info >/dev/null 2>&1; check "redis-server with the module starts under strace" $?
C=$WORK/client.trace
ST "$C" "$BUILD/bin/cxl_ring_direct" --path "$MED" SET medsys value >/dev/null; check "ring SET" $?
out=$(ST "$C" "$BUILD/bin/cxl_ring_direct" --path "$MED" GET medsys); check "ring GET" $?
[ "$out" = value ]; check "ring GET answers what SET stored ('$out')" $?
ST "$C" "$BUILD/bin/cxl_ring_direct" --path "$MED" --bench 2000 --pipeline --max-inflight 16 >/dev/null
check "ring bench 2000 requests" $?
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
wait $RPID 2>/dev/null
verdict "$L" "$MED" "redis-server + cxl_ring.so"
verdict "$C" "$MED" "cxl_ring_direct"
rm -f "$MED"

# --- cxl_graph: publish into a region file, attach zero-copy and by copy
L=$WORK/graph.trace
export OMP_NUM_THREADS=2
ST "$L" "$BUILD/bin/cxl_graph" bfs -g 10 --cxl-mode publish --publish-only --path "$GMED" >/dev/null
check "cxl_graph publish" $?
ST "$L" "$BUILD/bin/cxl_graph" bfs -g 10 --cxl-mode attach --path "$GMED" -n 1 -v >"$WORK/g.out"
check "cxl_graph attach (zero-copy)" $?
ST "$L" "$BUILD/bin/cxl_graph" bfs -g 10 --cxl-mode attach --copy --path "$GMED" -n 1 -v >>"$WORK/g.out"
check "cxl_graph attach --copy" $?
[ "$(grep -c 'PASS' "$WORK/g.out")" -eq 2 ]; check "both attached runs verify" $?
verdict "$L" "$GMED" "cxl_graph publish + attach"

echo "$TEST_NAME: $checks checks, $failed failed"
[ $failed -eq 0 ]
