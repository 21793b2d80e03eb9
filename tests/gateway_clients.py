#!/usr/bin/python3
"""gateway_clients.py - real RESP clients against cxl_resp_gateway, each
result cross-checked over a direct TCP connection to Redis:
  mixed     python3-redis (Debian's): strings, counters, hashes, lists, sets,
            expiry, pipelines, binary values, errors; 4 threads at once
  malformed junk, bad and huge lengths, half-closed sockets: an error or a
            close, and the gateway keeps serving everyone else
  slow      a client that never reads its replies does not stall others
  pipeline  3000 GETs of a 100 KB value sent at once, then read: every reply,
            in order, none an error (run against a gateway with a small
            --max-output: commands already read wait for room in the output,
            and the ring's last reply must not wait for a next request)
Usage: gateway_clients.py GATEWAY_PORT REDIS_PORT [test...]"""
import socket
import sys
import threading
import time

import redis

from pycheck import Checks, read_for

GW, RD = int(sys.argv[1]), int(sys.argv[2])
check = Checks("gateway_clients")


def mixed_worker(n, errors):
    g = redis.Redis(port=GW, socket_timeout=10)
    d = redis.Redis(port=RD, socket_timeout=10)
    p = f"py{n}:"
    try:
        check(g.set(p + "s", "v1") is True, "SET")
        check(d.get(p + "s") == b"v1", "SET visible over TCP")
        d.set(p + "t", "from-tcp")
        check(g.get(p + "t") == b"from-tcp", "GET of a TCP write")
        check(g.get(p + "missing") is None, "GET missing")
        check([g.incr(p + "c") for _ in range(5)] == [1, 2, 3, 4, 5], "INCR")
        g.hset(p + "h", mapping={"a": "1", "b": "2"})
        check(d.hgetall(p + "h") == {b"a": b"1", b"b": b"2"}, "HSET")
        check(g.hgetall(p + "h") == {b"a": b"1", b"b": b"2"}, "HGETALL")
        g.rpush(p + "l", *[str(i) for i in range(100)])
        check(g.lrange(p + "l", 0, -1) == d.lrange(p + "l", 0, -1), "LRANGE")
        g.sadd(p + "set", "x", "y")
        check(g.smembers(p + "set") == {b"x", b"y"}, "SMEMBERS")
        g.set(p + "e", "v", ex=100)
        check(90 <= d.ttl(p + "e") <= 100, "SET EX")
        blob = bytes(range(256)) * 64
        g.set(p + "bin", blob)
        check(d.get(p + "bin") == blob and g.get(p + "bin") == blob, "binary value")
        pipe = g.pipeline(transaction=False)
        for i in range(500):
            pipe.set(f"{p}pk{i}", i)
            pipe.get(f"{p}pk{i}")
        out = pipe.execute()
        check(out[1::2] == [str(i).encode() for i in range(500)], "pipeline order")
        try:
            g.incr(p + "h")
            check(False, "INCR on a hash must fail")
        except redis.ResponseError as e:
            check("WRONGTYPE" in str(e), "WRONGTYPE error")
        try:
            g.execute_command("NOSUCHCMD")
            check(False, "unknown command must fail")
        except redis.ResponseError as e:
            check("unknown command" in str(e), "unknown command error")
        try:
            g.execute_command("SUBSCRIBE", "ch")
            check(False, "SUBSCRIBE must be refused")
        except redis.ResponseError as e:
            check("cannot run through the cxl ring gateway" in str(e), "SUBSCRIBE refused")
        check(g.ping() is True, "PING")
    except Exception as e:  # a hang or a broken connection
        errors.append(f"worker {n}: {e!r}")


def test_mixed():
    errors = []
    threads = [threading.Thread(target=mixed_worker, args=(n, errors)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(not errors, f"workers: {errors}")


def raw(data, wait=1.0, shut=False):
    s = socket.create_connection(("127.0.0.1", GW), timeout=5)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    out, _ = read_for(s, wait)
    s.close()
    return out


def test_malformed():
    check(raw(b"PING\r\n").startswith(b"+PONG"), "inline PING")
    check(raw(b"*1\r\n$4\r\nPING\r\n", shut=True) == b"+PONG\r\n", "half-closed: the reply still comes")
    for junk in (b"*abc\r\n", b"*1\r\n$-5\r\n", b"*1\r\n:12\r\n", b"*2\r\n$3\r\nGET\r\n$999999999999\r\n",
                 b"*99999999\r\n", b"\x00\x01\x02junk\r\n*1\r\n$x\r\n"):
        out = raw(junk)
        check(out.startswith(b"-") or out == b"", f"junk {junk!r}: an error or a close, got {out[:60]!r}")
    check(redis.Redis(port=GW).ping() is True, "still serving after junk")


def test_slow():
    g = redis.Redis(port=GW)
    g.set("big", b"x" * 100000)
    s = socket.create_connection(("127.0.0.1", GW))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 2000)  # 200 MB of replies, never read
    time.sleep(0.5)
    t0 = time.time()
    other = redis.Redis(port=GW, socket_timeout=5)
    for i in range(200):
        other.set(f"fast{i}", i)
    check(time.time() - t0 < 5, "another client is served while one does not read")
    s.close()
    check(other.ping() is True, "still serving")


def test_pipeline():
    n, value = 3000, b"v" * 100000
    redis.Redis(port=GW).set("pipebig", value)
    s = socket.create_connection(("127.0.0.1", GW), timeout=20)
    s.sendall(b"*2\r\n$3\r\nGET\r\n$7\r\npipebig\r\n" * n)
    one = b"$%d\r\n%s\r\n" % (len(value), value)
    want, got = len(one) * n, bytearray()
    try:
        while len(got) < want:
            b = s.recv(1 << 20)
            if not b:
                break
            got += b
    except socket.timeout:
        pass
    s.close()
    check(len(got) == want, f"{n} pipelined GETs: {len(got)} of {want} bytes")
    check(got == one * n, "every reply is the value (no error among them)")


tests = {"mixed": test_mixed, "malformed": test_malformed, "slow": test_slow}  # the default set
named = dict(tests, pipeline=test_pipeline)
for name in sys.argv[3:] or tests:
    named[name]()
check.finish()
