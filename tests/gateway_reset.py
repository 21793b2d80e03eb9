#!/usr/bin/env python3
"""gateway_reset.py - a slot's RESET that never happened must not hand the
slot's next client the user of the one before.

A client authenticates through the gateway (as the default user, the one
with the password) and leaves; its slot is dirty. Redis is stopped
(SIGSTOP), the next client connects to the same slot and sends a GET: the
gateway puts the slot's RESET on the ring, and an attacker on the medium
flips a byte of that sealed request before Redis reads it, so Redis answers
with an error instead of +RESET. The GET must not run as the earlier user:
the gateway closes that client; the slot's next client is reset again and
gets NOAUTH.

Usage: gateway_reset.py GATEWAY_PORT REDIS_PID MEDIUM RING"""
import mmap
import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pycheck import Checks, read_for, stop_process  # noqa: E402

HEADER_SIZE, RING_CTL_SIZE, REQ_TAIL, REQ_HEAD = 4096, 1024, 128, 256


def cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def ask(s, *args):
    s.sendall(cmd(*args))
    return s.recv(4096)


def message_at(m, line):
    """A v2 message header (docs/RING.md): its size and the payload length."""
    length, flags, fields = struct.unpack_from("<IBB", m, line + 4)
    sizes = [(0x01, 4), (0x02, 4), (0x04, 8), (0x08, 4), (0x10, 4), (0x20, 8)]
    return 12 + sum(n for bit, n in sizes if fields & bit), length


def main():
    port, redis_pid, medium, ring = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    check = Checks("gateway_reset")
    a = connect(port)
    check(ask(a, b"AUTH", b"gwpass") == b"+OK\r\n", "the first client authenticates")
    check(ask(a, b"SET", b"top", b"secret") == b"+OK\r\n", "and writes")
    a.close()
    time.sleep(0.3)  # the gateway saw it go: its slot is dirty

    with open(medium, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
    slot_size, slots = struct.unpack_from("<II", m, 28)
    data_off = struct.unpack_from("<Q", m, 48)[0]
    ctl = HEADER_SIZE + ring * RING_CTL_SIZE
    stop_process(redis_pid)
    try:
        tail0 = struct.unpack_from("<Q", m, ctl + REQ_TAIL)[0]
        b = connect(port)  # the free slot on top is the one a left
        b.sendall(cmd(b"GET", b"top"))
        for _ in range(1000):  # up to 10 s on a busy machine
            if struct.unpack_from("<Q", m, ctl + REQ_TAIL)[0] > tail0:
                break
            time.sleep(0.01)
        head = struct.unpack_from("<Q", m, ctl + REQ_HEAD)[0]
        tail = struct.unpack_from("<Q", m, ctl + REQ_TAIL)[0]
        line = data_off + 2 * ring * slots * slot_size + (head % slots) * slot_size
        hsize, length = message_at(m, line)
        lines = (hsize + length + slot_size - 1) // slot_size
        check(tail == head + lines, f"only the RESET is on the ring before its answer (head {head}, tail {tail}, "
              f"a message of {lines} lines)")
        m[line + hsize + length - 16] ^= 0x01  # the attacker: the tag; the sealed RESET will not open
    finally:
        os.kill(redis_pid, signal.SIGCONT)
    got, closed = read_for(b, 3)
    check(b"secret" not in got, f"the GET did not run as the earlier user: {got!r}")
    check(closed and got == b"", f"the client whose slot was not reset is closed, unanswered: {got!r}")
    c = connect(port)
    check(ask(c, b"GET", b"top") == b"-NOAUTH Authentication required.\r\n", "the next client is reset again")
    check(ask(c, b"AUTH", b"gwpass") == b"+OK\r\n" and ask(c, b"GET", b"top") == b"$6\r\nsecret\r\n",
          "and can authenticate")
    c.close()
    check.finish()


if __name__ == "__main__":
    main()
