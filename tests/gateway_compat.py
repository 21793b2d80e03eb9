#!/usr/bin/python3
"""gateway_compat.py - the same bytes to redis-server and to cxl_resp_gateway
over raw sockets: the replies must be byte for byte the same, and so must
what happens to the connection after them (closed by the server, still open,
or waiting for the rest of a request).

  cases   hand-written: empty requests ("*0", "*-1", blank lines, a client's
          first bytes "\\r\\n"), inline quoting and escapes (sdssplitargs),
          unbalanced quotes, every multibulk error Redis names, lines past
          64 KiB, NUL bytes, bytes Redis skips unchecked, QUIT, POST/Host:
  random  inline lines of quotes, backslashes, hex digits and blanks, as
          arguments of EVAL "return ARGV" 0 (which returns them as parsed)

Usage: gateway_compat.py GATEWAY_PORT REDIS_PORT [cases|random ...]"""
import random
import socket
import sys
import time

from pycheck import Checks

GW, RD = int(sys.argv[1]), int(sys.argv[2])
check = Checks("gateway_compat")
WAIT_REPLY = 5.0   # for replies that must come (not a speed limit: a stall guard)
WAIT_QUIET = 1.0   # how long "no answer to a PING" counts as "waiting for more"


def read_all(s, until=None):
    """Read until EOF (or until `until` bytes arrived); a reset counts as EOF."""
    out = b""
    s.settimeout(WAIT_REPLY)
    try:
        while until is None or len(out) < until:
            b = s.recv(65536)
            if not b:
                return out, "closed"
            out += b
    except (ConnectionResetError, BrokenPipeError):
        return out, "closed"
    except socket.timeout:
        return out, "timeout"
    return out, None


def replies(port, data):
    """Everything the server answers to data followed by our half-close."""
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except (ConnectionResetError, BrokenPipeError):
        pass
    out, _ = read_all(s)
    s.close()
    return out


def state_after(port, data, expect_len, quiet=WAIT_QUIET):
    """After data and its replies: has the server closed the connection, is
    it open (answers a PING), or is it waiting for the rest of a request?"""
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    out, end = read_all(s, expect_len)
    if end == "closed":
        return "closed"
    try:
        s.sendall(b"PING\r\n")
        s.settimeout(quiet)
        b = s.recv(100)
        return "open" if b.startswith(b"+PONG") else "closed" if not b else f"other {b[:20]!r}"
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    except socket.timeout:
        return "waiting"
    finally:
        s.close()


def flush():
    s = socket.create_connection(("127.0.0.1", RD))
    s.sendall(b"FLUSHALL\r\n")
    s.recv(100)
    s.close()


def compare(data, what=None, states=True):
    what = what or repr(data[:60])
    flush()
    r = replies(RD, data)
    flush()
    g = replies(GW, data)
    check(r == g, f"{what}: redis {r[:120]!r} vs gateway {g[:120]!r}")
    if states:
        flush()
        sr = state_after(RD, data, len(r))
        flush()
        sg = state_after(GW, data, len(r))
        if sr != sg:  # a slow answer looks like "waiting": look again, longer
            flush()
            sr = state_after(RD, data, len(r), WAIT_REPLY)
            flush()
            sg = state_after(GW, data, len(r), WAIT_REPLY)
        check(sr == sg, f"{what}: after the replies, redis {sr}, gateway {sg}")


CASES = [
    # empty requests: ignored, the command after them answered
    b"*-1\r\nPING\r\n", b"*-10\r\nPING\r\n", b"*0\r\nPING\r\n", b"*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\n",
    b"\r\nPING\r\n", b"\r\n", b"\n\n\r\nPING\r\n", b"   \t\r\nPING\r\n", b"\r\n\r\n*0\r\n",
    # inline quoting (sdssplitargs)
    b'SET k "a\\x41b"\r\nGET k\r\n', b'SET "q k" "v 1"\r\nGET "q k"\r\n',
    b"SET k 'it\\'s' \r\nGET k\r\n", b"SET k 'a\\nb'\r\nGET k\r\n",
    b'SET k "\\n\\r\\t\\b\\a\\\\\\"\\z\\x4g\\xfF"\r\nGET k\r\n', b'SET k "a\\x00b"\r\nSTRLEN k\r\n',
    b'SET k a"b c"d\r\n', b'SET k a"b c"\r\nGET k\r\n', b"SET k \"\"\r\nSTRLEN k\r\n",
    b'SET k "a"\tb\r\n', b"SET k \x0bv\x0b\r\nGET k\r\n", b"SET k a\x0bb\r\nGET k\r\n",
    b"SET k \x80\xff\r\nGET k\r\n", b"  SET   k   v  \r\nGET k\n",
    # unbalanced quotes: an error, then closed
    b'SET k "abc\r\nPING\r\n', b"SET k 'abc\r\n", b'SET k "a"b\r\n', b"SET k 'a'b\r\n",
    b'SET k "a\\"\r\n', b'PING\r\nSET k "abc\r\nPING\r\n',
    # multibulk errors, Redis's texts; then closed
    b"*x\r\n", b"*01\r\n", b"*+1\r\n", b"*-0\r\n", b"*\r\n", b"*2147483648\r\n", b"*1\r\n$x\r\n",
    b"*1\r\n$-1\r\n", b"*1\r\n$01\r\n", b"*1\r\n:12\r\n", b"*1\r\nx\r\n", b"*1\r\n\r\n",
    b"*2\r\n$4\r\nPING\r\n+OK\r\n", b"*1\r\n$99999999999999999999\r\n", b"*1\r\n$536870913\r\n",
    b"PING\r\n*x\r\nPING\r\n", b"*1\r\n$4\r\nPING\r\n*1\r\n$y\r\n",
    # what Redis does not check: the 2 bytes after an argument and after a CR
    b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", b"*1\rX$4\rYPING\r\n",
    # a NUL before a line's end: the line never ends (Redis searches with strchr)
    b"*1\x00\r\n$4\r\nPING\r\n", b"PI\x00NG\r\n", b"*1\r\n$4\x00\r\nPING\r\n",
    # incomplete requests: no answer, the server waits
    b"*1\r\n$4\r\nPIN", b"*2\r\n$3\r\nGET\r\n", b"GET k", b"*3\r\n$3\r\nSET\r\n$1\r\nk",
    # lines past 64 KiB
    b"x" * 70000, b"*" + b"1" * 70000, b"*1\r\n$" + b"1" * 70000, b"SET k " + b"v" * 60000 + b"\r\nSTRLEN k\r\n",
    # QUIT, HTTP
    b"PING\r\nQUIT\r\nPING\r\n", b"PING\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n", b"Host: x\r\n", b"post\r\n",
    b"*1\r\n$4\r\nPOST\r\n",
    # ordinary commands, inline and multibulk, pipelined
    b"PING\r\n*1\r\n$4\r\nPING\r\nPING\r\nECHO hello\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n",
    b"NOSUCHCMD a b\r\n",
]


def test_cases():
    for i, data in enumerate(CASES):
        print(f"  case {i + 1}/{len(CASES)}", end="\r", file=sys.stderr)
        compare(data)
    print(file=sys.stderr)


ALPHABET = ['a', 'b', ' ', ' ', '\t', '"', '"', "'", "'", '\\', '\\', 'x', '4', 'f', 'n', '\x0b', '\x00', '\r']


def test_random():
    rng = random.Random(11)
    for i in range(300):
        if i % 50 == 0:
            print(f"  random inline line {i}/300", end="\r", file=sys.stderr)
        words = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 16)))
        data = b'EVAL "return ARGV" 0 ' + words.encode("latin-1") + b"\r\nPING\r\n"
        compare(data, f"random line {data!r}", states=False)
    print(file=sys.stderr)


tests = {"cases": test_cases, "random": test_random}
t0 = time.time()
for name in sys.argv[3:] or tests:
    tests[name]()
check.finish(f" ({time.time() - t0:.0f} s)")
