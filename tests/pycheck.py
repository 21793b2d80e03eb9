"""pycheck.py - the checks of the Python tests, as tests/check.h is for the
C ones: count every check, print a failing one on stderr with the test's
name, end with "NAME: N checks, M failed" and exit 1 if any failed.
Thread-safe.

    from pycheck import Checks
    check = Checks("gateway_compat")
    check(reply == b"+OK\\r\\n", "SET")
    check.finish()

read_for(sock, seconds): what a socket sends until it is quiet that long
or closes; returns (bytes, closed).

stop_process(pid): SIGSTOP, and wait until every thread of the process is
stopped (kill() returns before the signal is taken: a polling thread of the
process may run on for milliseconds on a busy machine)."""
import os
import signal
import socket
import sys
import threading
import time


def stop_process(pid, timeout=10.0):
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:
                pass
        if states and all(st in ("T", "t") for st in states):
            return
        time.sleep(0.001)
    raise RuntimeError(f"process {pid} did not stop in {timeout} s")


def read_for(sock, seconds):
    sock.settimeout(seconds)
    got = b""
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                return got, True
            got += b
    except (socket.timeout, ConnectionResetError):
        return got, False


class Checks:
    def __init__(self, name):
        self.name, self.checks, self.failed = name, 0, 0
        self._lock = threading.Lock()

    def __call__(self, cond, what):
        with self._lock:
            self.checks += 1
            if not cond:
                self.failed += 1
                print(f"{self.name}: FAIL:", what, file=sys.stderr)
        return cond

    def finish(self, extra=""):
        print(f"{self.name}: {self.checks} checks, {self.failed} failed{extra}")
        sys.exit(1 if self.failed else 0)
