#!/usr/bin/env python3
"""render.py - renders this folder's Gramine manifest templates
(*.manifest.template, Jinja2) into manifests, with every path resolved at
render time: the binaries from the build folder and `command -v`, the
libraries from ldd (exact files, never folders), Gramine's own files from
graminelibos or --gramine-pkglibdir. Owns the parameters (medium, debug,
EDMM, enclave size, threads ...) and their checks: a bad value or a thread
count below an app's minimum is refused with a message naming both.

Usage: render.py [--app NAME]... --out DIR [options]   (--help lists them)
gramine/README.md has the parameters and what each manifest is for."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Gramine's own threads in an enclave (its manifest documentation): the IPC
# thread, the async (timer) thread and one TLS-handshake thread for pipes.
GRAMINE_HELPERS = 3
# Debian's Redis 7: the main thread and three bio threads (close-file,
# AOF-fsync, lazy-free); io-threads stays 1 in our redis.conf.
REDIS_THREADS = 4
MIN_ENCLAVE = 256 << 20
INSIDE = "/cxl-dsm"  # where our own files appear inside the enclave
APPS = ("redis-native", "redis-ring", "cxl_graph-publish", "cxl_graph-attach",
        "cxl_sodium_tunnel", "cxl_sec_mgr")


def die(msg, code=2):
    print(f"render.py: {msg}", file=sys.stderr)
    sys.exit(code)


def size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text)
    if not m:
        die(f"'{text}' is not a size (a number with an optional K, M or G)")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def hostport(text, what):
    m = re.fullmatch(r"([0-9A-Za-z.:-]+):(\d+)", text)
    if not m or not 0 < int(m.group(2)) < 65536:
        die(f"{what} '{text}' is not HOST:PORT with a port in 1..65535")
    return text


def abs_file_path(text, what):
    if not text.startswith("/") or "/../" in text + "/" or "//" in text or text.endswith("/"):
        die(f"{what} '{text}' must be an absolute, normalised path to a file")
    if os.path.dirname(text) in ("", "/"):
        die(f"{what} '{text}' must be in a folder of its own (the folder is mounted), not in /")
    return text


def gramine_dirs(args):
    """Gramine's libsysdb.so and its runtime (patched glibc) folder."""
    pkglib = args.gramine_pkglibdir
    if not pkglib:
        try:
            import graminelibos  # installed with Gramine
            pkglib = graminelibos._CONFIG_PKGLIBDIR
        except (ImportError, AttributeError):
            die("Gramine is not installed here (no graminelibos): pass --gramine-pkglibdir DIR, "
                "the folder holding libsysdb.so and runtime/glibc", 77)
    libos, runtime = os.path.join(pkglib, "libsysdb.so"), os.path.join(pkglib, "runtime", "glibc")
    if not os.path.isfile(libos) or not os.path.isdir(runtime):
        die(f"{pkglib} has no libsysdb.so and runtime/glibc/: not Gramine's library folder", 77)
    files = sorted(f for f in os.listdir(runtime) if os.path.isfile(os.path.join(runtime, f)))
    return libos, runtime, files


def ldd(binary):
    """The shared libraries a binary loads, as ldd names them (dir/soname)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if out.returncode != 0:
        die(f"ldd {binary} failed: {out.stderr.strip() or out.stdout.strip()}")
    libs = []
    for line in out.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            libs.append(m.group(1))
        elif "=> not found" in line:
            die(f"{binary}: a library is not found: {line.strip()}")
    return libs


def libraries(binaries, runtime, runtime_files):
    """Trusted libraries (exact files) and their folders: what Gramine's
    runtime provides (glibc's own, ld.so) comes from there instead."""
    libs = []
    for b in binaries:
        for lib in ldd(b):
            if os.path.basename(lib) not in runtime_files and lib not in libs:
                libs.append(lib)
    dirs = []
    for lib in libs:
        if os.path.dirname(lib) not in dirs:
            dirs.append(os.path.dirname(lib))
    return libs, dirs


def find_redis(args):
    path = args.redis_server or shutil.which("redis-server")
    if not path or not os.path.isfile(path):
        die("redis-server not found (install Debian's redis-server, or pass --redis-server PATH)")
    return os.path.realpath(path)


def our_binary(args, rel):
    path = os.path.realpath(os.path.join(args.build, rel))
    if not os.path.isfile(path):
        die(f"{path} is not built (make, or pass --build DIR)")
    return path


# A launch's arguments (render.py --launch-argv): what each names on the host
# and what it becomes inside the enclave.
LAUNCH_TRUSTED_FLAGS = ("--tls-cert-file", "--tls-key-file", "--tls-ca-cert-file")  # read-only files
LAUNCH_TRUSTED_MODULE_KEYS = ("key", "key_file")  # the module's key files (secure=1, crypto=1)


def launch_redis_argv(app, args, p, launch):
    """The argv of one redis-server launch (a bench's own arguments) made
    into the enclave's: the module must be this build's cxl_ring.so (its
    trusted copy is loaded), path= is the one medium, the files it reads
    (TLS, the module's keys) become trusted files in folders mounted under
    INSIDE/launch/N, the log goes to stdout (the launcher keeps it), the
    working folder and Unix socket stay inside (/tmp); any other host path
    is refused. Returns the argv after redis-server's."""
    so = os.path.realpath(os.path.join(args.build, "cxl_ring.so"))
    folders = {}

    def inside_copy(host):
        abs_file_path(host, "a launch's file")
        if not os.path.isfile(host):
            die(f"--launch-argv: {host} is not a file")
        d = os.path.dirname(host)
        if d not in folders:
            folders[d] = f"{INSIDE}/launch/{len(folders)}"
            p["mounts"].append({"path": folders[d], "uri": "file:" + d})
        if host not in p["trusted"]:
            p["trusted"].append(host)
        return f"{folders[d]}/{os.path.basename(host)}"

    out, i, module, media = [], 0, False, []
    while i < len(launch):
        a = launch[i]
        nxt = launch[i + 1] if i + 1 < len(launch) else None
        if a in LAUNCH_TRUSTED_FLAGS + ("--logfile", "--dir", "--unixsocket", "--loadmodule") and nxt is None:
            die(f"--launch-argv: {a} without its value")
        if a in LAUNCH_TRUSTED_FLAGS:
            out += [a, inside_copy(nxt)]
            i += 2
        elif a == "--logfile":
            out += [a, ""]  # stdout: tee_gramine_exec.sh appends it to the host's log file
            i += 2
        elif a == "--dir":
            out += [a, "/tmp"]
            i += 2
        elif a == "--unixsocket":
            out += [a, "/tmp/" + os.path.basename(nxt)]
            i += 2
        elif a == "--loadmodule":
            if app != "redis-ring":
                die(f"--launch-argv: {app} loads no module (use redis-ring)")
            if os.path.realpath(nxt) != so:
                die(f"--launch-argv: the module {nxt} is not this build's {so}")
            out += [a, f"{INSIDE}/cxl_ring.so"]
            module = True
            i += 2
            while i < len(launch) and not launch[i].startswith("--"):
                k, eq, v = launch[i].partition("=")
                if k == "path" and eq:
                    media.append(abs_file_path(v, "the module's path="))
                    out.append(launch[i])
                elif k in LAUNCH_TRUSTED_MODULE_KEYS and eq:
                    out.append(f"{k}={inside_copy(v)}")
                elif launch[i] == "serve=eventloop":
                    die("--launch-argv: serve=eventloop needs eventfd, which Gramine refuses: serve=thread")
                elif "/" in v:
                    die(f"--launch-argv: module argument '{launch[i]}' names a host path this launch mode does not map")
                else:
                    out.append(launch[i])
                    if launch[i] in ("secure", "secure=1"):
                        p["app_threads"] += 1
                        p["why"] += " + the keyring's refresh thread"
                i += 1
        elif a.startswith("/") or "=/" in a:
            die(f"--launch-argv: '{a}' names a host path this launch mode does not map")
        else:
            out.append(a)
            i += 1
    if app == "redis-ring" and (not module or len(media) != 1):
        die("--launch-argv: redis-ring needs --loadmodule with exactly one path=")
    p["media"] = media
    return out


LAUNCH_GRAPH_TRUSTED = ("-f", "--sec-key-file", "--sec-key")  # a graph file, the key files: read only
LAUNCH_GRAPH_OUTPUT = ("--csv",)                              # written: an allowed file of its own


def launch_graph_argv(app, args, p, launch):
    """The argv of one cxl_graph launch (a bench's own arguments) made into
    the enclave's: --path is the one medium (the region; untrusted_shm), the
    graph and key files it reads become trusted files and its --csv an
    allowed output file, each in a folder mounted under INSIDE/launch/N or
    INSIDE/out/N; a publisher runs only under cxl_graph-publish, --fabric is
    refused (its socket is the host's), so is any other host path."""
    folders, out, media, i = {}, [], [], 0

    def mapped(host, kind):
        abs_file_path(host, f"a launch's {kind} file")
        d = os.path.dirname(host)
        if (kind, d) not in folders:
            folders[(kind, d)] = f"{INSIDE}/{'out' if kind == 'output' else 'launch'}/{len(folders)}"
            p["mounts"].append({"path": folders[(kind, d)], "uri": "file:" + d})
        if kind == "output":
            if host not in p["outputs"]:
                p["outputs"].append(host)
        else:
            if not os.path.isfile(host):
                die(f"--launch-argv: {host} is not a file")
            if host not in p["trusted"]:
                p["trusted"].append(host)
        return f"{folders[(kind, d)]}/{os.path.basename(host)}"

    while i < len(launch):
        a = launch[i]
        nxt = launch[i + 1] if i + 1 < len(launch) else None
        if a in LAUNCH_GRAPH_TRUSTED + LAUNCH_GRAPH_OUTPUT + ("--path", "--cxl-mode") and nxt is None:
            die(f"--launch-argv: {a} without its value")
        if a == "--path":
            media.append(abs_file_path(nxt, "--path"))
            out += [a, nxt]
            i += 2
        elif a in LAUNCH_GRAPH_TRUSTED:
            out += [a, mapped(nxt, "input")]
            i += 2
        elif a in LAUNCH_GRAPH_OUTPUT:
            out += [a, mapped(nxt, "output")]
            i += 2
        elif a == "--cxl-mode":
            if nxt in ("publish", "auto") and app != "cxl_graph-publish":
                die(f"--launch-argv: --cxl-mode {nxt} publishes: run it under cxl_graph-publish")
            if nxt == "attach" and app != "cxl_graph-attach":
                die("--launch-argv: --cxl-mode attach: run it under cxl_graph-attach")
            out += [a, nxt]
            i += 2
        elif a == "--fabric":
            die("--launch-argv: --fabric reaches the host's manager socket, which an enclave does not see")
        elif a.startswith("/") or "=/" in a:
            die(f"--launch-argv: '{a}' names a host path this launch mode does not map")
        else:
            out.append(a)
            i += 1
    if app == "cxl_graph-publish" and "--cxl-mode" not in out:
        die("--launch-argv: cxl_graph-publish runs a publisher (--cxl-mode publish)")
    if len(media) > 1:
        die("--launch-argv: more than one --path")
    p["media"] = media
    return out


def app_params(app, args):
    """What differs between apps: entrypoint, argv, extra files, threads."""
    p = {"env": {}, "mounts": [], "trusted": [], "media": [], "outputs": [], "encrypted": None, "sys": {}}
    own = lambda name, host: ({"path": f"{INSIDE}/{name}", "uri": "file:" + host})
    if app.startswith("redis"):
        binary = find_redis(args)
        conf = os.path.join(HERE, "redis.conf")
        p["entry"] = {"path": "/usr/bin/redis-server", "uri": "file:" + binary}
        p["mounts"].append(own("redis.conf", conf))
        p["trusted"] += [binary, conf]
        p["argv"] = ["redis-server", f"{INSIDE}/redis.conf", "--port", str(args.port),
                     "--bind", args.bind]
        p["app_threads"] = REDIS_THREADS
        p["why"] = f"redis-server's main thread + 3 bio threads"
        p["binaries"] = [binary]
        if app == "redis-ring":
            if args.serve == "eventloop":
                die("serve=eventloop needs eventfd, which Gramine refuses unless "
                    "sys.insecure__allow_eventfd = true: use serve=thread or thread-only")
            so = our_binary(args, "cxl_ring.so")
            p["mounts"].append(own("cxl_ring.so", so))
            p["trusted"].append(so)
            p["binaries"].append(so)
            p["media"].append(args.medium)
            p["argv"] += ["--loadmodule", f"{INSIDE}/cxl_ring.so", f"path={args.medium}",
                          f"map_size={args.map_size}", f"rings={args.rings}", f"serve={args.serve}"]
            # the module serves from one thread in every serve= mode
            # (src/redis_module/driver.c); a secure ring adds the keyring's
            # refresh thread (src/lib/sec/keyring.c)
            p["app_threads"] += 1 + (1 if args.secure else 0)
            p["why"] += " + the module's serving thread" + (" + the keyring's refresh thread" if args.secure else "")
            if args.secure:
                p["argv"] += ["secure", f"sec_mgr={args.sec_mgr}", f"node_id={args.node_id}",
                              f"key={INSIDE}/keys/node.key"]
        if args.launch_argv is not None:
            p["media"] = []
            p["app_threads"] = REDIS_THREADS + (1 if app == "redis-ring" else 0)
            p["why"] = "redis-server's main thread + 3 bio threads" + \
                (" + the module's serving thread" if app == "redis-ring" else "")
            p["argv"] = ["redis-server", f"{INSIDE}/redis.conf"] + launch_redis_argv(app, args, p, args.launch_argv)
    elif app.startswith("cxl_graph"):
        binary = our_binary(args, "bin/cxl_graph")
        mode = app.split("-")[1]
        p["entry"] = {"path": f"{INSIDE}/bin/cxl_graph", "uri": "file:" + binary}
        p["trusted"].append(binary)
        p["binaries"] = [binary]
        p["media"].append(args.graph_medium)
        p["argv"] = ["cxl_graph"] + args.graph_args.split() + ["--cxl-mode", mode, "--path", args.graph_medium]
        if args.launch_argv is not None:
            p["argv"] = ["cxl_graph"] + launch_graph_argv(app, args, p, args.launch_argv)
        p["env"]["OMP_NUM_THREADS"] = str(args.omp_threads)
        p["app_threads"] = args.omp_threads
        p["why"] = f"{args.omp_threads} OpenMP threads (the main one included)"
    elif app == "cxl_sodium_tunnel":
        binary = our_binary(args, "bin/cxl_sodium_tunnel")
        p["entry"] = {"path": f"{INSIDE}/bin/cxl_sodium_tunnel", "uri": "file:" + binary}
        p["trusted"].append(binary)
        p["binaries"] = [binary]
        p["argv"] = ["cxl_sodium_tunnel", "--mode", "server", "--listen", args.listen,
                     "--backend", args.backend, "--key", f"{INSIDE}/keys/server.key",
                     "--peer-key", f"{INSIDE}/keys/client.pub"]
        p["app_threads"] = 1
        p["why"] = "one event-loop thread"
    elif app == "cxl_sec_mgr":
        binary = our_binary(args, "bin/cxl_sec_mgr")
        p["entry"] = {"path": f"{INSIDE}/bin/cxl_sec_mgr", "uri": "file:" + binary}
        p["trusted"].append(binary)
        p["binaries"] = [binary]
        p["argv"] = ["cxl_sec_mgr", "--config", f"{INSIDE}/data/acl.conf", "--listen", args.listen]
        p["app_threads"] = 1
        p["why"] = "one event-loop thread"
    # secrets (node keys, the manager's state) live in an encrypted mount
    keys = {"redis-ring": args.keys_dir if args.secure else None, "cxl_sodium_tunnel": args.keys_dir,
            "cxl_sec_mgr": args.data_dir}.get(app)
    if app in ("cxl_sodium_tunnel", "cxl_sec_mgr") or (app == "redis-ring" and args.secure):
        if not keys or not os.path.isabs(keys):
            die(f"{app} needs --{'data' if app == 'cxl_sec_mgr' else 'keys'}-dir ABSOLUTE_DIR "
                "(its secrets, mounted encrypted)")
        inside = f"{INSIDE}/data" if app == "cxl_sec_mgr" else f"{INSIDE}/keys"
        p["encrypted"] = {"path": inside, "uri": "file:" + os.path.normpath(keys), "key_name": args.seal_key}
    if app == "cxl_sodium_tunnel" or app == "cxl_sec_mgr":
        p["sys"]["enable_extra_runtime_domain_names_conf"] = True
    return p


def render(app, args, gramine, env):
    libos, runtime, runtime_files = gramine
    p = app_params(app, args)
    p["min_threads"] = p["app_threads"] + GRAMINE_HELPERS
    threads = args.threads if args.threads is not None else p["min_threads"]
    if threads < p["min_threads"]:
        die(f"{app}: --threads {threads} is below its minimum {p['min_threads']} "
            f"({p['why']} + {GRAMINE_HELPERS} Gramine helpers)")
    libs, lib_dirs = libraries(p.pop("binaries"), runtime, runtime_files)
    p["mounts"] = [{"path": "/lib", "uri": "file:" + runtime}] + \
                  [{"path": d, "uri": "file:" + d} for d in lib_dirs] + [p["entry"]] + p["mounts"]
    p["shm_dirs"] = sorted({os.path.dirname(m) for m in p["media"]})
    p["trusted"] = [libos] + [os.path.join(runtime, f) for f in runtime_files] + libs + p["trusted"]
    # the medium's folder becomes an untrusted_shm mount: it must hold no
    # trusted file, nor be inside (or around) a trusted file's folder
    # (check.py refuses such a manifest too)
    def within(a, b):
        return a == b or a.startswith(b.rstrip("/") + "/")
    for d in p["shm_dirs"]:
        for t in p["trusted"]:
            td = os.path.dirname(t)
            for x, y in ((d, td), (os.path.realpath(d), os.path.realpath(td))):
                if within(x, y) or within(y, x):
                    die(f"{app}: the medium's folder {d} holds trusted files ({t} is in {td}): it would be an "
                        "untrusted_shm mount over them; put the medium in a folder of its own (e.g. /dev/shm)")
    p.update(app=app, libos=libos, threads=threads, debug=args.debug, edmm=args.edmm,
             enclave_size=args.enclave_size, log_level=args.log_level,
             ld_library_path=":".join(["/lib"] + lib_dirs))
    template = env.get_template(f"{app.split('-')[0] if app.startswith('cxl_graph') else app}.manifest.template")
    return template.render(p=p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--app", action="append", choices=APPS, help="one app (repeat; default: all)")
    ap.add_argument("--out", required=True, help="folder for the NAME.manifest files")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"), help="cxl-dsm's build folder")
    ap.add_argument("--gramine-pkglibdir", help="Gramine's library folder (default: from graminelibos)")
    ap.add_argument("--redis-server", help="default: command -v redis-server")
    ap.add_argument("--medium", default="/dev/shm/cxl_shared.raw", help="the rings' medium (one file)")
    ap.add_argument("--graph-medium", default="/dev/shm/cxl_graph.raw", help="cxl_graph's region (one file)")
    ap.add_argument("--debug", action="store_true", help="a debug enclave (never in production)")
    ap.add_argument("--edmm", action="store_true", help="sgx.edmm_enable (SGX2 CPUs, Linux >= 6.0)")
    ap.add_argument("--enclave-size", default="1G", help="a power of two, at least 256M")
    ap.add_argument("--threads", type=int, help="sgx.max_threads (default: the app's minimum)")
    ap.add_argument("--log-level", default="error", choices=("error", "warning", "debug", "trace", "all"))
    ap.add_argument("--port", type=int, default=6379, help="redis-server's TCP port")
    ap.add_argument("--bind", default="127.0.0.1", help="redis-server's bind address")
    ap.add_argument("--map-size", default="1G", help="the module's map_size")
    ap.add_argument("--rings", type=int, default=4)
    ap.add_argument("--serve", default="thread", choices=("thread", "thread-only", "eventloop"))
    ap.add_argument("--secure", action="store_true", help="redis-ring: a secure ring (keys from cxl_sec_mgr)")
    ap.add_argument("--sec-mgr", default="127.0.0.1:7700", help="the manager, HOST:PORT")
    ap.add_argument("--node-id", type=int, default=1)
    ap.add_argument("--keys-dir", help="host folder of the node's keys (mounted encrypted)")
    ap.add_argument("--data-dir", help="cxl_sec_mgr: host folder of acl.conf, keys, state, audit (encrypted)")
    ap.add_argument("--seal-key", default="_sgx_mrsigner", choices=("_sgx_mrsigner", "_sgx_mrenclave"),
                    help="the sealing key of the encrypted mount")
    ap.add_argument("--graph-args", default="bfs -g 16 -n 4", help="cxl_graph's kernel and its flags")
    ap.add_argument("--omp-threads", type=int, default=2, help="cxl_graph's OMP_NUM_THREADS")
    ap.add_argument("--listen", default="0.0.0.0:7000", help="tunnel / manager listen address")
    ap.add_argument("--backend", default="127.0.0.1:6379", help="the tunnel's Redis")
    ap.add_argument("--launch-argv", metavar="FILE",
                    help="redis-native/redis-ring/cxl_graph-*: the arguments of one launch, a JSON list of "
                         "strings (what a bench passes the program); the manifest runs exactly these "
                         "(scripts/tee_gramine_exec.sh --render, docs/TEE.md)")
    args = ap.parse_args()
    if args.launch_argv is not None:
        if not args.app or len(args.app) != 1 or args.app[0] not in \
                ("redis-native", "redis-ring", "cxl_graph-publish", "cxl_graph-attach"):
            die("--launch-argv renders one app: --app redis-native, redis-ring, cxl_graph-publish or cxl_graph-attach")
        try:
            with open(args.launch_argv) as f:
                args.launch_argv = json.load(f)
        except (OSError, ValueError) as e:
            die(f"--launch-argv: {e}")
        if not isinstance(args.launch_argv, list) or not all(isinstance(a, str) for a in args.launch_argv):
            die("--launch-argv: the file must hold a JSON list of strings")

    # the parameters' own checks, before anything is resolved
    enclave = size(args.enclave_size)
    if enclave < MIN_ENCLAVE or enclave & (enclave - 1):
        die(f"--enclave-size {args.enclave_size} must be a power of two of at least 256M (SGX needs a power of two)")
    if args.threads is not None and args.threads < 1:
        die(f"--threads {args.threads} must be at least 1")
    if not 0 < args.port < 65536:
        die(f"--port {args.port} is not in 1..65535")
    if not 0 < args.rings <= 64:
        die(f"--rings {args.rings} is not in 1..64")
    if not 0 < args.omp_threads <= 256:
        die(f"--omp-threads {args.omp_threads} is not in 1..256")
    if size(args.map_size) == 0:
        die("--map-size must be greater than 0")
    if args.node_id < 1:
        die(f"--node-id {args.node_id} must be at least 1")
    if not args.debug and args.log_level != "error":
        die(f"--log-level {args.log_level} may leak secrets: only 'error' in a production enclave (add --debug)")
    for word in args.graph_args.split():
        if re.search(r"[\"'\\$`]", word) or word.startswith(("--cxl-mode", "--path", "--map")):
            die(f"--graph-args: '{word}' is refused (plain words only; --cxl-mode, --path, --map-* come from the manifest)")
    abs_file_path(args.medium, "--medium")
    abs_file_path(args.graph_medium, "--graph-medium")
    hostport(args.listen, "--listen")
    hostport(args.backend, "--backend")
    hostport(args.sec_mgr, "--sec-mgr")
    args.enclave_size = args.enclave_size if args.enclave_size[-1] in "KMG" else str(enclave)

    try:
        import jinja2
    except ImportError:
        die("Jinja2 is missing: apt-get install python3-jinja2")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["q"] = lambda s: json.dumps(str(s))  # a TOML basic string
    gramine = gramine_dirs(args)
    os.makedirs(args.out, exist_ok=True)
    for app in args.app or APPS:
        text = render(app, args, gramine, env)
        with open(os.path.join(args.out, f"{app}.manifest"), "w") as f:
            f.write(text)
        print(f"{args.out}/{app}.manifest")


if __name__ == "__main__":
    main()
