#!/usr/bin/python3
"""gateway_hostile.py - cxl_resp_gateway against clients that do not play by
the rules; the gateway's own process is watched through /proc (CPU time,
open descriptors, private resident memory). Bounds are generous: a busy loop is a
whole core, a leak is thousands of descriptors.

  halfclose  thousands of clients send half a command and go (close, shut
             down their side, or reset): no descriptor kept, no CPU burnt
             afterwards (< 10% of a core over 2 s; a busy loop is ~100%), a
             normal client served after them
  maxclients (gateway with --max-clients 16) 16 clients hold every slot: the
             17th gets Redis's "max number of clients reached"; slots come
             back when clients leave, also after 500 half-command clients
  bigargs    24 clients each leave 6 MB of a 16 MB argument pending: the
             gateway holds about what it was sent (RSS), other clients are
             served meanwhile, a 16 MB SET completes intact, and the memory
             is given back once the 24 leave
  querylimit (gateway with --client-query-buffer-limit 4mb) clients with 6 MB
             pending are closed without a reply, as Redis does; RSS stays low
  maxmemory  (gateway with --maxmemory-clients 32mb) 24 clients with 3 MB
             pending each: the biggest are closed until all hold <= 32 MB

Usage: gateway_hostile.py GATEWAY_PORT GATEWAY_PID REDIS_PORT TEST... [--no-rss]
(--no-rss: skip the memory bounds, for a sanitizer build whose allocator
keeps freed memory in quarantine)"""
import socket
import struct
import sys
import time

from pycheck import Checks

GW, PID, RD = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
NO_RSS = "--no-rss" in sys.argv[4:]
MB = 1 << 20
check = Checks("gateway_hostile")


def check_rss(cond, what):
    if not NO_RSS:
        check(cond, what)


def progress(text):
    print("  " + text, file=sys.stderr)


def cpu_ticks():
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def fds():
    import os
    return len(os.listdir(f"/proc/{PID}/fd"))


def rss_mb():
    """Private resident memory (RssAnon): the clients' buffers; the medium's
    pages (shared, touched by big requests and replies) are not counted."""
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return 0


def cpu_share_over(seconds=2.0):
    hz = 100  # USER_HZ on Linux
    t0, c0 = time.time(), cpu_ticks()
    time.sleep(seconds)
    return (cpu_ticks() - c0) / hz / (time.time() - t0)


def call(port, data, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    while not out.endswith(b"\r\n"):
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out


def served(what):
    check(call(GW, b"*3\r\n$3\r\nSET\r\n$5\r\nhostk\r\n$2\r\nok\r\n") == b"+OK\r\n", f"{what}: SET served")
    check(call(GW, b"GET hostk\r\n") == b"$2\r\nok\r\n", f"{what}: GET served")


HALVES = [b"*3\r\n$3\r\nSET\r\n$1\r\nk", b"*3\r\n$3\r\nSE", b"GET k", b"*1\r\n", b"*2\r\n$3\r\nGET\r\n$10\r\nab",
          b'SET k "unfinished', b"\r\n*1\r\n$4\r\nPI"]


def half_clients(n, wave=100):
    for start in range(0, n, wave):
        socks = []
        for i in range(start, min(n, start + wave)):
            s = socket.create_connection(("127.0.0.1", GW))
            socks.append(s)
            try:
                s.sendall(HALVES[i % len(HALVES)])
                if i % 3 == 1:
                    s.shutdown(socket.SHUT_WR)
                if i % 3 == 2:  # a reset instead of a FIN
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass  # refused (no free slot): closed by the gateway already
        for s in socks:
            s.close()
        if start % 1000 == 0:
            progress(f"{start + len(socks)}/{n} half-command clients")


def settle(base_fds):
    for _ in range(50):  # the gateway closes them within a loop round or two
        if fds() <= base_fds:
            return
        time.sleep(0.1)


def test_halfclose():
    served("before")
    base = fds()
    half_clients(3000)
    settle(base)
    check(fds() <= base, f"descriptors after 3000 half-command clients: {fds()}, before {base}")
    share = cpu_share_over()
    check(share < 0.10, f"gateway CPU while idle after them: {share:.0%} of a core")
    served("after 3000 half-command clients")


def test_maxclients():
    held = [socket.create_connection(("127.0.0.1", GW)) for _ in range(16)]
    for s in held:
        s.sendall(b"PING\r\n")
        check(s.recv(100) == b"+PONG\r\n", "a client within --max-clients")
    extra = socket.create_connection(("127.0.0.1", GW), timeout=5)
    check(extra.recv(100) == b"-ERR max number of clients reached\r\n", "the 17th client refused with Redis's text")
    extra.close()
    for s in held[:4]:
        s.close()
    time.sleep(0.3)
    half_clients(500)
    time.sleep(0.3)
    again = [socket.create_connection(("127.0.0.1", GW)) for _ in range(4)]
    for s in again:
        s.sendall(b"PING\r\n")
        check(s.recv(100) == b"+PONG\r\n", "a slot given back is used again")
    for s in held[4:] + again:
        s.close()


def pending_clients(n, total, sent):
    """n clients, each sending `sent` bytes of a SET of a `total`-byte value."""
    socks, chunk = [], b"x" * MB
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", GW))
        s.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % total)
        socks.append(s)
    for k in range(sent // MB):
        for s in socks:
            try:
                s.sendall(chunk)
            except OSError:
                pass  # closed by the gateway
        if k % 2 == 1:
            progress(f"{n} clients: {k + 1} MB of {total // MB} MB sent each, gateway RSS {rss_mb():.0f} MB")
    time.sleep(0.5)
    return socks


def closed_without_reply(s):
    s.settimeout(5)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def still_open(s):
    s.setblocking(False)
    try:
        return s.recv(100) is None
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_bigargs():
    base = rss_mb()
    socks = pending_clients(24, 16 * MB, 6 * MB)
    grown = rss_mb() - base
    check(all(still_open(s) for s in socks), "clients with a pending argument under the limits stay")
    check_rss(grown < 1.5 * 144 + 16, f"RSS grew {grown:.0f} MB holding 24 x 6 MB pending (at most ~1.5x)")
    served("while 24 big arguments are pending")
    value = bytes(range(256)) * (16 * MB // 256)
    s = socket.create_connection(("127.0.0.1", GW), timeout=20)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$7\r\nbigdone\r\n$%d\r\n%s\r\n" % (len(value), value))
    check(s.recv(100) == b"+OK\r\n", "a 16 MB SET completes")
    s.sendall(b"*2\r\n$3\r\nGET\r\n$7\r\nbigdone\r\n")
    want, got = b"$%d\r\n%s\r\n" % (len(value), value), b""
    while len(got) < len(want):
        b = s.recv(MB)
        if not b:
            break
        got += b
    check(got == want, "the 16 MB value read back intact")
    s.close()
    for s in socks:
        s.close()
    time.sleep(1)
    check_rss(rss_mb() - base < 24, f"memory given back once they left: RSS {rss_mb():.0f} MB, before {base:.0f} MB")


def test_querylimit():
    base = rss_mb()
    socks = pending_clients(8, 16 * MB, 6 * MB)
    check(all(closed_without_reply(s) for s in socks), "clients over client-query-buffer-limit closed, no reply")
    check_rss(rss_mb() - base < 24, f"RSS {rss_mb():.0f} MB, before {base:.0f} MB")
    for s in socks:
        s.close()
    served("after clients over the query buffer limit")


def test_maxmemory():
    base = rss_mb()
    socks = pending_clients(24, 8 * MB, 3 * MB)
    alive = sum(still_open(s) for s in socks)
    check(1 <= alive <= 11, f"{alive} of 24 clients of 3 MB each kept under maxmemory-clients 32mb")
    check_rss(rss_mb() - base < 32 + 24, f"RSS {rss_mb():.0f} MB, before {base:.0f} MB (limit 32 MB)")
    for s in socks:
        s.close()
    served("after maxmemory-clients evictions")


tests = {"halfclose": test_halfclose, "maxclients": test_maxclients, "bigargs": test_bigargs,
         "querylimit": test_querylimit, "maxmemory": test_maxmemory}
for name in [a for a in sys.argv[4:] if a != "--no-rss"]:
    progress(f"{name} ...")
    tests[name]()
check.finish()
