"""cluster_gateway.py - cluster clients through cxl_resp_gateway --cluster
(tests/cli_cluster_gateway.sh): what a gateway answers for CLUSTER SLOTS,
SHARDS, NODES and MYID (gateway addresses for pod nodes, the real one for
the others), keys written by redis-py's RedisCluster through a gateway and
found over TCP on the node owning their slot.
Usage: cluster_gateway.py POD_MAP NODE_PORTS MODE ...   (NODE_PORTS: a,b,c)
  views GW_PORT            CLUSTER SLOTS / SHARDS / NODES / MYID through GW_PORT
  fill GW_PORT N           N keys by a RedisCluster pipeline, each then on its owner
  client GW_PORT N         RedisCluster set/get of N keys, one command at a time
  where PREFIX N           keys PREFIX0..N-1 each on the node owning its slot
Prints one line per check; exit 1 if any failed."""
import socket
import sys

from redis import Redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot

HOST = "127.0.0.1"
failed = 0


def check(desc, ok):
    global failed
    print(("ok: " if ok else "FAIL: ") + desc)
    if not ok:
        failed += 1


def gateways(path):
    """node port -> gateway port, from the pod map"""
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 2 and f[0] == "node" and "gateway" in f:
            out[int(f[1].rsplit(":", 1)[1])] = int(f[f.index("gateway") + 1].rsplit(":", 1)[1])
    return out


def raw(port, *args):
    """one command over a raw socket, the reply parsed (RESP2)"""
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    f = s.makefile("rb")

    def read():
        line = f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return (t + rest).decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else f.read(n + 2)[:-2].decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [read() for _ in range(n)]
        raise ValueError("bad reply %r" % line)
    try:
        return read()
    finally:
        s.close()


def owner_of(slots_reply, slot):
    for r in slots_reply:
        if r[0] <= slot <= r[1]:
            return r[2][1]
    return None


def views(pod_map, nodes, gw):
    gws = gateways(pod_map)
    expect = {p: gws.get(p, p) for p in nodes}  # a node's port as a client must see it
    direct = raw(nodes[0], b"CLUSTER", b"SLOTS")
    via = raw(gw, b"CLUSTER", b"SLOTS")
    want = [[r[0], r[1]] + [[n[0], expect[n[1]]] + n[2:] for n in r[2:]] for r in direct]
    check("CLUSTER SLOTS via %d: %s" % (gw, [(r[0], r[1], r[2][1]) for r in via]),
          sorted(via) == sorted(want) and len(via) == 3)
    tcp_only = [p for p in nodes if p not in gws]
    check("CLUSTER SLOTS: the TCP node %s keeps its port" % tcp_only,
          sorted(r[2][1] for r in via) == sorted(expect.values()) and all(p in [r[2][1] for r in via] for p in tcp_only))
    nodes_text = raw(gw, b"CLUSTER", b"NODES")
    addrs = sorted(line.split()[1].split("@")[0] for line in nodes_text.splitlines())
    check("CLUSTER NODES via %d: %s" % (gw, addrs), addrs == sorted("%s:%d" % (HOST, p) for p in expect.values()))
    cports = sorted(line.split()[1].split("@")[1] for line in nodes_text.splitlines())
    check("CLUSTER NODES: cluster bus ports as they were %s" % cports, cports == sorted(str(p + 10000) for p in nodes))
    shards = raw(gw, b"CLUSTER", b"SHARDS")
    seen = []
    for shard in shards:
        sh = dict(zip(shard[::2], shard[1::2]))
        for node in sh["nodes"]:
            n = dict(zip(node[::2], node[1::2]))
            seen.append((n["ip"], n["endpoint"], n["port"]))
    check("CLUSTER SHARDS via %d: %s" % (gw, seen),
          sorted(seen) == sorted((HOST, HOST, p) for p in expect.values()))
    mine = [p for p, g in gws.items() if g == gw][0]
    check("CLUSTER MYID unchanged", raw(gw, b"CLUSTER", b"MYID") == raw(mine, b"CLUSTER", b"MYID"))


def where(nodes, prefix, n):
    """every key on the node owning its slot, over TCP; 0 elsewhere"""
    slots = raw(nodes[0], b"CLUSTER", b"SLOTS")
    by_node = {}
    for i in range(n):
        k = "%s%d" % (prefix, i)
        by_node.setdefault(owner_of(slots, key_slot(k.encode())), []).append(k)
    wrong = 0
    for port, keys in by_node.items():
        p = Redis(host=HOST, port=port).pipeline(transaction=False)
        for k in keys:
            p.get(k)
        got = p.execute()
        wrong += sum(1 for k, v in zip(keys, got) if v != ("v" + k).encode())
    spread = {p: len(k) for p, k in sorted(by_node.items())}
    check("%d keys %s*, each on the node owning its slot over TCP (%s): %d wrong" % (n, prefix, spread, wrong),
          wrong == 0 and len(by_node) == len(nodes))


def cluster(gw):
    return RedisCluster(startup_nodes=[ClusterNode(HOST, gw)], socket_timeout=10)


def fill(nodes, gw, n):
    rc = cluster(gw)
    p = rc.pipeline()
    for i in range(n):
        p.set("fill%d" % i, "vfill%d" % i)
    res = p.execute()
    check("RedisCluster pipeline via %d: %d SETs, all OK" % (gw, n), len(res) == n and all(res))
    where(nodes, "fill", n)


def client(pod_map, nodes, gw, n):
    rc = cluster(gw)
    gws = gateways(pod_map)
    ports = sorted(node.port for node in rc.get_nodes())
    check("RedisCluster sees %s" % ports, ports == sorted(gws.get(p, p) for p in nodes))
    for i in range(n):
        rc.set("py%d" % i, "vpy%d" % i)
    bad = sum(1 for i in range(n) if rc.get("py%d" % i) != ("vpy%d" % i).encode())
    check("RedisCluster via %d: %d keys set and read back, %d wrong" % (gw, n, bad), bad == 0)
    where(nodes, "py", n)


def main():
    pod_map, nodes, mode = sys.argv[1], [int(p) for p in sys.argv[2].split(",")], sys.argv[3]
    if mode == "views":
        views(pod_map, nodes, int(sys.argv[4]))
    elif mode == "fill":
        fill(nodes, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "client":
        client(pod_map, nodes, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "where":
        where(nodes, sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit("unknown mode " + mode)
    sys.exit(1 if failed else 0)


main()
