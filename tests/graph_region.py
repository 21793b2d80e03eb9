#!/usr/bin/env python3
"""graph_region.py - the attacker's hands on a graph region (docs/GRAPH.md,
"Threats and failures"): read the header, edit any field or array element,
flip, swap and replay bytes, scan for plaintext. Used by
tests/cli_graph_region.sh; the layout is src/graph/region.h's.

  graph_region.py header FILE                       print the header as key=value
  graph_region.py set FILE FIELD VALUE [--fix]      a header field (--fix: recompute the plain checksum)
  graph_region.py array-offset FILE I VALUE [--fix] the offset of array I
  graph_region.py elem FILE ARRAY I VALUE           element I of array 0..3 (index: int64, neigh: int32)
  graph_region.py elem-every FILE ARRAY STEP VALUE  every STEP-th neighbour id
  graph_region.py flip FILE ARRAY BYTE              flip a bit of the array's stored byte BYTE
  graph_region.py swap-chunks FILE ARRAY C1 C2      exchange two sealed chunks
  graph_region.py poke FILE OFFSET HEX [--fix]      raw bytes at a byte offset of the region
  graph_region.py save FILE COPY / restore FILE COPY
  graph_region.py scan FILE SG                      count 64-byte runs of SG's neighbour array found in FILE
"""
import struct
import sys

HDR = 360
FIELDS = {  # name: (offset, struct format)
    "version": (8, "<I"), "header_size": (12, "<I"), "state": (16, "<I"), "owner_node": (20, "<I"),
    "generation": (24, "<Q"), "flags": (48, "<I"), "n_arrays": (52, "<I"), "num_nodes": (56, "<q"),
    "num_edges": (64, "<q"), "key_epoch": (264 + 32, "<I"),
}
ARRAY = 72  # 4 x 48 bytes: kind u32, elem_size u32, offset, elems, stored_bytes, chunk_bytes, reserved
CHUNK, TAG = 65536, 16


def read(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n)


def write(path, off, data):
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(data)


def array(path, i):
    kind, size, off, elems, stored, chunk, _ = struct.unpack("<IIQQQQQ", read(path, ARRAY + 48 * i, 48))
    return {"kind": kind, "elem_size": size, "offset": off, "elems": elems, "stored": stored, "chunk": chunk}


def fix_checksum(path):
    h = bytearray(read(path, 0, HDR))
    h[16:20] = b"\0" * 4
    h[344:360] = b"\0" * 16
    x = 0xCBF29CE484222325
    for b in h:
        x = ((x ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    write(path, 344, struct.pack("<Q", x))


def main(argv):
    cmd, path = argv[1], argv[2]
    fix = "--fix" in argv
    args = [a for a in argv[3:] if a != "--fix"]
    if cmd == "header":
        for name, (off, fmt) in FIELDS.items():
            print(f"{name}={struct.unpack(fmt, read(path, off, struct.calcsize(fmt)))[0]}")
        print("publication=" + read(path, 32, 16).hex())
        for i in range(4):
            print(f"array{i}=" + ",".join(f"{k}:{v}" for k, v in array(path, i).items()))
    elif cmd == "set":
        off, fmt = FIELDS[args[0]]
        write(path, off, struct.pack(fmt, int(args[1], 0)))
    elif cmd == "poke":
        write(path, int(args[0], 0), bytes.fromhex(args[1]))
    elif cmd == "array-offset":
        write(path, ARRAY + 48 * int(args[0]) + 8, struct.pack("<Q", int(args[1], 0)))
    elif cmd == "elem":
        a = array(path, int(args[0]))
        fmt = "<q" if a["elem_size"] == 8 and a["kind"] % 2 == 1 else "<i"
        write(path, a["offset"] + int(args[1]) * a["elem_size"], struct.pack(fmt, int(args[2], 0)))
    elif cmd == "elem-every":  # ARRAY STEP VALUE: every STEP-th element
        a = array(path, int(args[0]))
        with open(path, "r+b") as f:
            for i in range(0, a["elems"], int(args[1])):
                f.seek(a["offset"] + i * a["elem_size"])
                f.write(struct.pack("<i", int(args[2], 0)))
    elif cmd == "flip":
        a = array(path, int(args[0]))
        pos = a["offset"] + int(args[1])
        write(path, pos, bytes([read(path, pos, 1)[0] ^ 0x01]))
    elif cmd == "swap-chunks":
        a = array(path, int(args[0]))
        c1, c2 = int(args[1]), int(args[2])
        p1, p2 = (a["offset"] + c * (CHUNK + TAG) for c in (c1, c2))
        b1, b2 = read(path, p1, CHUNK + TAG), read(path, p2, CHUNK + TAG)
        write(path, p1, b2)
        write(path, p2, b1)
    elif cmd == "save":
        with open(path, "rb") as f, open(args[0], "wb") as g:
            g.write(f.read())
    elif cmd == "restore":
        with open(args[0], "rb") as f:
            write(path, 0, f.read())
    elif cmd == "scan":
        medium = open(path, "rb").read()
        sg = open(args[0], "rb").read()
        _, _, n = struct.unpack("<?qq", sg[:17])
        total = struct.unpack("<q", sg[17 + 8 * n:17 + 8 * n + 8])[0]  # offsets[n]: directed entries
        neigh = sg[17 + 8 * (n + 1):17 + 8 * (n + 1) + 4 * total]
        runs = [neigh[i:i + 64] for i in range(0, len(neigh) - 64, 4096)]
        print(sum(1 for r in runs if r in medium), "of", len(runs))
    else:
        sys.exit(f"graph_region.py: unknown command {cmd}")
    if fix:
        fix_checksum(path)


if __name__ == "__main__":
    main(sys.argv)
