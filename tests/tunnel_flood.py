#!/usr/bin/python3
"""tunnel_flood.py - unauthenticated peers flooding the server end of
cxl_sodium_tunnel, and peers holding handshakes with genuine first frames,
for tests/cli_tunnel.sh. Python 3 standard library only.

  tunnel_flood.py PORT KIND SECONDS [--open N] [--record FILE]
  tunnel_flood.py PORT hold SECONDS --key CLIENT_KEY --peer-key SERVER_PUB
                  [--fresh N] [--stale N]

Opens connections to 127.0.0.1:PORT as fast as it can for SECONDS, keeping
at most N (default 900) open (the oldest is reset to make room), each from
its own source port. KIND:
  silent   sends nothing
  slow     garbage, slowly: the header of a frame as long as the client end's
           first one, then one byte every 0.5 s
  msg1     a well-formed message 1 of the cxl_sec handshake (node 1, a random
           ephemeral key) as a frame of its own, then nothing
  forged   the client end's first frame as anyone can make it: message 1, a
           stamp and 16 random bytes where its MAC goes, then nothing
  replay   the first frame of a recorded real session (--record FILE, the
           client end's bytes), then nothing
  mixed    these kinds in turn (replay only with --record)
Stops early on SIGTERM. Prints one line: how many connections it opened and
at what rate.

hold: what the client end's first frame proves (docs/TUNNEL.md, "Handshake
slots"), made here from the key files: N connections each send a genuine
first frame with a fresh stamp, N more one stamped two minutes back (stale),
one sends again a first frame already sent (a replay); none goes further.
After SECONDS it prints how many of each the server end still holds open,
then how long the fresh ones stayed open in all (until the deadline).
"""
import argparse
import errno
import hashlib
import os
import signal
import socket
import struct
import time
from collections import deque

FIRST_FRAME_BODY = 39 + 8 + 16  # message 1, stamp, MAC (docs/TUNNEL.md)


def first_frame(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<I", data[:4])
    return data[:4 + length]


def msg1_frame(forged):
    body = b"CXLS" + bytes([1]) + struct.pack("<H", 1) + os.urandom(32)
    if forged:
        body += struct.pack("<Q", int(time.time() * 1e6)) + os.urandom(16)
    return struct.pack("<I", len(body)) + body


def payload(kind, replayed):
    if kind == "silent":
        return b""
    if kind == "slow":
        return struct.pack("<I", FIRST_FRAME_BODY)
    if kind in ("msg1", "forged"):
        return msg1_frame(kind == "forged")
    return replayed


# ---- X25519 (RFC 7748) and the first frame's proof, for "hold" ----------------

P25519 = 2**255 - 19


def x25519(scalar, point):
    k = bytearray(scalar)
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    k = int.from_bytes(k, "little")
    x1 = int.from_bytes(point, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        if swap ^ bit:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = x2 + z2, x2 - z2
        aa, bb = a * a % P25519, b * b % P25519
        e = aa - bb
        c, d = x3 + z3, x3 - z3
        da, cb = d * a % P25519, c * b % P25519
        x3, z3 = (da + cb) ** 2 % P25519, x1 * (da - cb) ** 2 % P25519
        x2, z2 = aa * bb % P25519, e * (aa + 121665 * e) % P25519
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P25519 - 2, P25519) % P25519).to_bytes(32, "little")


def key_line(path, name):
    for line in open(path):
        words = line.split()
        if len(words) == 2 and words[0] == name:
            return bytes.fromhex(words[1])
        if len(words) == 1 and len(words[0]) == 64:
            return bytes.fromhex(words[0])
    raise SystemExit(f"{path}: no '{name}' line")


def hello_key(key_file, peer_file):
    shared = x25519(key_line(key_file, "secret"), key_line(peer_file, "public"))
    return hashlib.blake2b(b"cxl-dsm tunnel hello v1", digest_size=32, key=shared).digest()


def genuine_first_frame(key, stamp_us):
    body = b"CXLS" + bytes([1]) + struct.pack("<H", 1) + os.urandom(32) + struct.pack("<Q", stamp_us)
    body += hashlib.blake2b(body, digest_size=16, key=key).digest()
    return struct.pack("<I", len(body)) + body


def still_open(s):
    """True while the server end has not closed s (message 2 may have come)."""
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def hold(a):
    key = hello_key(a.key, a.peer_key)
    now = int(time.time() * 1e6)
    addr = ("127.0.0.1", a.port)
    frames = [genuine_first_frame(key, now + i) for i in range(a.fresh)]
    frames += [genuine_first_frame(key, now - 120 * 1000000 + i) for i in range(a.stale)]
    conns = []
    for f in frames + frames[:1]:  # the last one: a replay of the first
        s = socket.create_connection(addr)
        s.sendall(f)
        s.setblocking(False)
        conns.append(s)
        time.sleep(0.01)
    time.sleep(0.3)
    replay_open = still_open(conns[-1])
    time.sleep(a.seconds)
    fresh = sum(still_open(s) for s in conns[:a.fresh])
    stale = sum(still_open(s) for s in conns[a.fresh:-1])
    print(f"hold: fresh {fresh} of {a.fresh} open, stale {stale} of {a.stale} open, "
          f"replay {'open' if replay_open else 'closed'}", flush=True)
    start = time.monotonic()
    while any(still_open(s) for s in conns[:a.fresh]) and time.monotonic() - start < 60:
        time.sleep(0.05)
    print(f"hold: the fresh ones closed {time.monotonic() - start + a.seconds + 0.3:.1f} s after they came",
          flush=True)


def reset(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("kind", choices=["silent", "slow", "msg1", "forged", "replay", "mixed", "hold"])
    ap.add_argument("seconds", type=float)
    ap.add_argument("--open", type=int, default=900)
    ap.add_argument("--record")
    ap.add_argument("--key")
    ap.add_argument("--peer-key")
    ap.add_argument("--fresh", type=int, default=4)
    ap.add_argument("--stale", type=int, default=2)
    a = ap.parse_args()
    if a.kind == "hold":
        return hold(a)
    replayed = first_frame(a.record) if a.record else None
    kinds = [a.kind] if a.kind != "mixed" else ["silent", "slow", "msg1", "forged"] + (["replay"] if replayed else [])
    if "replay" in kinds and not replayed:
        ap.error("replay needs --record FILE")
    addr = ("127.0.0.1", a.port)
    live = deque()      # (socket, kind) in the order opened
    unsent = {}         # socket -> bytes still to send
    opened = refused = 0
    start = time.monotonic()
    end = start + a.seconds
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    next_drip = start + 0.5
    while time.monotonic() < end and not stop:
        for _ in range(64):
            kind = kinds[opened % len(kinds)]
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            rc = s.connect_ex(addr)
            if rc not in (0, errno.EINPROGRESS):
                refused += 1
                s.close()
                continue
            opened += 1
            live.append((s, kind))
            data = payload(kind, replayed)
            if data:
                unsent[s] = data
            while len(live) > a.open:
                old, _ = live.popleft()
                unsent.pop(old, None)
                reset(old)
        for s, data in list(unsent.items()):
            try:
                n = s.send(data)
                if n == len(data):
                    del unsent[s]
                else:
                    unsent[s] = data[n:]
            except BlockingIOError:
                pass
            except OSError:  # already dropped by the server
                del unsent[s]
        now = time.monotonic()
        if now >= next_drip:  # the slow ones: one more byte each
            next_drip = now + 0.5
            for s, kind in live:
                if kind == "slow" and s not in unsent:
                    try:
                        s.send(b"x")
                    except OSError:
                        pass
    took = time.monotonic() - start
    for s, _ in live:
        reset(s)
    print(f"flood {a.kind}: {opened} connections in {took:.1f} s ({opened / took:.0f}/s), "
          f"{refused} refused at connect", flush=True)


if __name__ == "__main__":
    main()
