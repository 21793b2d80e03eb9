#!/usr/bin/env bash
# make_seeds.sh - write the seed inputs of the fuzz targets (docs/FUZZING.md):
# valid and slightly broken medium images for fuzz_header, hand-made queue
# contents for fuzz_queue. Plain bash + printf + dd; deterministic, so the
# seeds can be committed or regenerated at will.
# Usage: fuzz/make_seeds.sh [outdir]   (default fuzz/seeds)
set -euo pipefail
out=${1:-fuzz/seeds}
hdr_dir=$out/fuzz_header
q_dir=$out/fuzz_queue
mkdir -p "$hdr_dir" "$q_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# le VALUE NBYTES: VALUE little-endian (bash arithmetic is 64-bit two's complement)
le() {
  local v=$1 n=$2 i
  for ((i = 0; i < n; i++)); do
    printf "\\x$(printf %02x $(( (v >> (8 * i)) & 255 )))"
  done
}
zeros() { head -c "$1" /dev/zero; }
# patch FILE OFFSET: stdin overwrites FILE at OFFSET
patch() { dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# FNV-1a-64 of the first 64 bytes of FILE (the header checksum)
fnv64() {
  local h=$((0xcbf29ce484222325)) b
  for b in $(od -An -v -tu1 -N64 "$1"); do
    h=$(( (h ^ b) * 0x100000001b3 ))
  done
  echo "$h"
}
data_off() { echo $(( (4096 + $1 * 1024 + 4095) / 4096 * 4096 )); }

# image FILE RINGS SLOT_SIZE SLOTS FLAGS [LAYOUT_SIZE]: a formatted medium of
# exactly layout_size bytes (header page, ring table, zeroed queues)
image() {
  local f=$1 rings=$2 slot=$3 slots=$4 flags=$5 doff size
  doff=$(data_off "$rings")
  size=${6:-$(( doff + 2 * rings * slots * slot ))}
  {
    le 0x004d53442d4c5843 8   # magic "CXL-DSM\0"
    le 1 4                    # version
    le 4096 4                 # header_size
    le "$size" 8              # layout_size
    le "$rings" 4
    le "$slot" 4
    le "$slots" 4
    le "$flags" 4
    le 4096 8                 # ring_table_off
    le "$doff" 8              # data_off
    le 0x0123456789abcdef 8   # format_id
  } >"$tmp/line0"
  {
    cat "$tmp/line0"
    le "$(fnv64 "$tmp/line0")" 8  # checksum
    le 0x59444552 4               # state READY
    zeros $(( size - 76 ))
  } >"$f"
}
# index FILE RING FIELD VALUE: FIELD is req_tail, req_head, resp_tail, resp_head
index() {
  local off
  case $3 in req_tail) off=128 ;; req_head) off=256 ;; resp_tail) off=384 ;; resp_head) off=512 ;; esac
  le "$4" 8 | patch "$1" $(( 4096 + $2 * 1024 + off ))
}

# --- fuzz_header: medium images -------------------------------------------------
image "$hdr_dir/min_1ring_64B" 1 64 4 0
image "$hdr_dir/4rings_64B" 4 64 4 0
image "$hdr_dir/2rings_128B_secure" 2 128 8 1
image "$hdr_dir/indices_full" 1 64 4 0
index "$hdr_dir/indices_full" 0 req_head 5
index "$hdr_dir/indices_full" 0 req_tail 9
index "$hdr_dir/indices_full" 0 resp_head -1
index "$hdr_dir/indices_full" 0 resp_tail 2
cp "$hdr_dir/indices_full" "$hdr_dir/index_out_of_range"
index "$hdr_dir/index_out_of_range" 0 req_tail 10
cp "$hdr_dir/indices_full" "$hdr_dir/resp_index_out_of_range"
index "$hdr_dir/resp_index_out_of_range" 0 resp_tail 4
image "$hdr_dir/4rings_ring3_broken" 4 64 4 0
index "$hdr_dir/4rings_ring3_broken" 3 req_head 1
# headers alone (the target zero-extends them to layout_size)
image "$tmp/big" 1 64 16 0
head -c 4096 "$tmp/big" >"$hdr_dir/header_page_only"
head -c 80 "$tmp/big" >"$hdr_dir/header_line_only"
image "$tmp/big" 256 64 4 0
head -c 80 "$tmp/big" >"$hdr_dir/header_256rings"
zeros 4096 >"$hdr_dir/not_formatted"
head -c 16 "$hdr_dir/min_1ring_64B" >"$hdr_dir/tiny"

# --- fuzz_queue: flags, head, t, then the request queue's slots -----------------
# queue NAME FLAGS HEAD T SLOT_SIZE NSLOTS [LENS]: slots zeroed; msg adds headers
queue() {
  local name=$1 flags=$2 head=$3 t=$4 slot=$5 nslots=$6 lens=${7:-}
  { le "$flags" 1; le "$head" 8; le "$t" 8; zeros $(( slot * nslots )); } >"$q_dir/$name"
  if [ -n "$lens" ]; then
    local l
    for l in $lens; do le "$l" 2; done >>"$q_dir/$name"
  fi
  q_name=$name q_slot=$slot
}
# msg SLOT SEQ LEN FLAGS: a message header in slot SLOT of the last queue (SEQ is
# relative to the slot's natural position unless the input has flag 0x08)
msg() { { le "$2" 8; le "$3" 4; le "$4" 2; } | patch "$q_dir/$q_name" $(( 17 + $1 * q_slot )); }

queue two_msgs 0 0 3 64 16;            msg 0 0 0 0; msg 1 0 60 0
queue pad_at_end 0 13 5 64 16;         msg 13 0 0 1; msg 0 0 10 0
queue rewind_release 0x30 0 3 64 16;   msg 0 0 0 0; msg 1 0 60 0
queue bad_seq 0x08 7 2 64 16;          msg 7 8 0 0
queue bad_len 0 0 2 64 16;             msg 0 0 1000 0
queue bad_flags 0 0 1 64 16;           msg 0 0 0 0x80
queue tail_out_of_range 0x04 0 100 64 16
queue slots128 1 2 6 128 16;           msg 2 0 100 0; msg 4 0 0 2; msg 5 0 64 0
queue slots512_24 2 20 10 512 24;      msg 20 0 1000 0; msg 23 0 0 1; msg 0 0 2000 0
queue slots256_guard 3 0 16 256 16;    msg 0 0 1984 0; msg 8 0 1984 0
queue producer 0x80 5 2 64 16 "10 100 0 300 448 449 50 20"
queue producer_wrap 0xc0 3 2 64 16 "200 200 200 0 0 64 1 2"
queue producer_bad_head 0x84 5 1000 64 16 "10 20 30 40"
queue producer_512 0x82 30 5 512 24 "3000 6080 6081 100 0 9000 1 2"
queue producer_wrap_24 0x82 -1 3 512 24 "0 0 600 0 0 0 0 0"   # crosses 2^64 with 24 slots
echo "make_seeds: $(ls "$hdr_dir" | wc -l) fuzz_header seeds in $hdr_dir, $(ls "$q_dir" | wc -l) fuzz_queue seeds in $q_dir"
