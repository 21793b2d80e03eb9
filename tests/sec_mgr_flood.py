#!/usr/bin/env python3
"""sec_mgr_flood.py - unauthenticated noise against cxl_sec_mgr's TCP port, for
tests/cli_sec_mgr.sh (docs/SECURITY.md, "Daemon limits").

  idle N      hold N connections open that never send a byte; every one the
              manager closes is opened again (at most --reopen-per-s a second)
  onebyte     connect, send one byte, close; again, as fast as it can
  (both kinds run until --seconds have passed or SIGTERM)

At the end it prints one line: mode=... opened=N closed_by_peer=N held=N
(held: connections still open after a last second that opens none,
idle mode: the ones the manager keeps)."""
import argparse
import errno
import selectors
import signal
import socket
import sys
import time

stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


def idle(host, port, n, seconds, reopen_per_s):
    sel = selectors.DefaultSelector()
    socks = set()
    opened = closed = failed = 0
    end = time.monotonic() + seconds
    settle = end + 1.0  # the last second opens nothing: what is held then, the manager keeps
    budget, last = float(reopen_per_s), time.monotonic()
    while not stop and time.monotonic() < settle:
        now = time.monotonic()
        budget = min(float(reopen_per_s), budget + (now - last) * reopen_per_s)
        last = now
        while now < end and len(socks) < n and budget >= 1 and not stop:
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError:  # out of descriptors here (ulimit -n): hold what we have
                failed += 1
                break
            s.setblocking(False)
            rc = s.connect_ex((host, port))
            budget -= 1
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                break
            sel.register(s, selectors.EVENT_READ)
            socks.add(s)
            opened += 1
        for key, _ in sel.select(timeout=0.02):
            s = key.fileobj
            try:
                data = s.recv(64)
            except OSError:
                data = b""
            if not data:  # the manager closed it (or refused it)
                sel.unregister(s)
                s.close()
                socks.discard(s)
                closed += 1
    print("mode=idle opened=%d closed_by_peer=%d held=%d connect_failed=%d"
          % (opened, closed, len(socks), failed), flush=True)


def onebyte(host, port, seconds):
    opened = failed = 0
    end = time.monotonic() + seconds
    while not stop and time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            s.connect((host, port))
            s.send(b"\x27")
            opened += 1
        except OSError:
            failed += 1
        finally:
            s.close()
    print("mode=onebyte opened=%d closed_by_peer=0 held=0 connect_failed=%d"
          % (opened, failed), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("mode", choices=["idle", "onebyte"])
    ap.add_argument("count", type=int, nargs="?", default=1100)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--reopen-per-s", type=float, default=500)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if a.mode == "idle":
        idle(a.host, a.port, a.count, a.seconds, a.reopen_per_s)
    else:
        onebyte(a.host, a.port, a.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
