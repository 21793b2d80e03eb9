#!/usr/bin/python3
"""tunnel_mitm.py - the attacker on the wire between the two ends of
cxl_sodium_tunnel, for tests/cli_tunnel.sh. One connection at a time.

  relay PORT TARGET_PORT RECORD_FILE [--flip OFFSET] [--cut OFFSET]
      forward both ways; record what the client end sends; optionally flip
      one bit of the byte at OFFSET of the client's stream, or close both
      connections once OFFSET bytes of it have passed
  replay TARGET_PORT RECORD_FILE
      send the recorded bytes to the server end as a new connection; print
      how many bytes came back and whether the server closed the connection
"""
import socket
import sys
import threading


def pump(src, dst, record=None, flip=None, cut=None):
    seen = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            data = bytearray(data)
            if flip is not None and seen <= flip < seen + len(data):
                data[flip - seen] ^= 0x01
            if cut is not None and seen + len(data) >= cut:
                data = data[:cut - seen]
                if record is not None:
                    record.write(data)
                dst.sendall(data)
                break
            if record is not None:
                record.write(data)
                record.flush()
            dst.sendall(data)
            seen += len(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(port, target, record_path, flip, cut):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    print("ready", flush=True)
    while True:
        client, _ = ls.accept()
        server = socket.create_connection(("127.0.0.1", target))
        with open(record_path, "wb") as record:
            up = threading.Thread(target=pump, args=(client, server, record, flip, cut))
            down = threading.Thread(target=pump, args=(server, client))
            up.start()
            down.start()
            up.join()
            down.join()
        client.close()
        server.close()


def replay(target, record_path):
    data = open(record_path, "rb").read()
    s = socket.create_connection(("127.0.0.1", target))
    s.settimeout(3)
    got, closed = 0, False
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            got += len(chunk)
    except socket.timeout:
        pass
    except OSError:
        closed = True
    print(f"sent={len(data)} received={got} closed={int(closed)}")


def main():
    args = sys.argv[1:]
    opt = lambda name: int(args[args.index(name) + 1]) if name in args else None
    if args[:1] == ["relay"] and len(args) >= 4:
        relay(int(args[1]), int(args[2]), args[3], opt("--flip"), opt("--cut"))
    elif args[:1] == ["replay"] and len(args) == 3:
        replay(int(args[1]), args[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
