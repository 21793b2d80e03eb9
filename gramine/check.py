#!/usr/bin/env python3
"""check.py - checks a rendered Gramine manifest (TOML) against this
project's rules, without Gramine: it parses, its entrypoint is a mounted,
trusted, existing file, every trusted file is one existing file (no
folders), the trusted and allowed files are lists of strings, the allowed
files are exactly the media given (each in an untrusted_shm mount of its
folder), nothing allowed overlaps anything trusted (as written or with
symlinks resolved), no untrusted_shm mount holds a trusted file's folder,
no broad folder (nor "/") is the root, allowed or mounted, and a production
manifest has debug off and no insecure__ option. Every URI goes through one
normaliser (host_path: scheme stripped, leading slashes collapsed,
normalised). Owns those rules; render.py owns
producing manifests that keep them.

Usage: check.py MANIFEST [--medium PATH]... [--output PATH]... [--min-threads N] [--allow-debug]
Exit 0 if it keeps every rule, else 1 with one line per broken rule."""
import argparse
import os
import sys
import tomllib

BROAD = {"/", "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/sys", "/proc", "/dev",
         "/dev/shm", "/tmp", "/var", "/run", "/home", "/root", "/usr/lib", "/usr/bin"}


def inside(path, folder):
    """path is folder or below it."""
    folder = folder.rstrip("/") or "/"
    return path == folder or path.startswith(folder + "/") or folder == "/"


def host_path(uri):
    """The host path of a file: or dev: URI, the one normaliser every rule uses:
    the scheme stripped, leading slashes collapsed to one (os.path.normpath
    keeps a leading "//"), normalised; None for another scheme or a relative
    path."""
    for prefix in ("file:", "dev:"):
        if isinstance(uri, str) and uri.startswith(prefix):
            rest = uri[len(prefix):]
            if not rest.startswith("/"):
                return None
            return os.path.normpath("/" + rest.lstrip("/"))
    return None


def real(path):
    """path with every symlink resolved (what the host actually opens)."""
    return os.path.realpath(path)


def overlap(a, b):
    """a and b (host paths) are the same, or one is inside the other, as
    written or once symlinks are resolved."""
    return any(inside(x, y) or inside(y, x) for x in (a, real(a)) for y in (b, real(b)))


def strings(value, key, err):
    """value as a list of strings (Gramine's list forms), else an error."""
    if not isinstance(value, list):
        err(f"{key} must be a list of strings (a TOML array), not {type(value).__name__}")
        return []
    out = []
    for v in value:
        if key == "sgx.trusted_files" and isinstance(v, dict) and isinstance(v.get("uri"), str):
            out.append(v["uri"])
        elif isinstance(v, str):
            out.append(v)
        else:
            err(f"{key} must be a list of strings: {v!r} is not one")
    return out


def flat_keys(table, prefix=""):
    for k, v in table.items():
        if isinstance(v, dict):
            yield from flat_keys(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def check(m, media, min_threads, allow_debug, outputs=()):
    errors = []
    err = errors.append
    loader, libos, sgx, fs = m.get("loader", {}), m.get("libos", {}), m.get("sgx", {}), m.get("fs", {})
    mounts = fs.get("mounts", [])
    if not isinstance(mounts, list) or not all(isinstance(x, dict) for x in mounts):
        err("fs.mounts must be a list of tables")
        mounts = [x for x in mounts if isinstance(x, dict)] if isinstance(mounts, list) else []
    trusted = strings(sgx.get("trusted_files", []), "sgx.trusted_files", err)
    allowed = strings(sgx.get("allowed_files", []), "sgx.allowed_files", err)

    # the root: never the host's broad folders
    root = fs.get("root", {})
    ruri = root.get("uri") if isinstance(root, dict) else root
    if ruri is not None and (host_path(ruri) is None or host_path(ruri) in BROAD):
        err(f"fs.root {ruri!r} exposes the host's whole {host_path(ruri) or ruri}")

    # trusted files: exact, existing files
    for t in trusted:
        p = host_path(t)
        if not t.startswith("file:") or p is None:
            err(f"trusted file {t!r} is not a file: URI")
        elif t.endswith("/") or os.path.isdir(p):
            err(f"trusted file {t!r} is a folder: name exact files")
        elif not os.path.isfile(p):
            err(f"trusted file {t!r} does not exist")
    trusted_paths = [host_path(t) for t in trusted if host_path(t)]

    # the loader and the entrypoint
    lent = loader.get("entrypoint", {})
    luri = lent.get("uri") if isinstance(lent, dict) else lent
    if not luri or luri not in trusted:
        err(f"loader.entrypoint.uri {luri!r} is missing or not trusted")
    entry = libos.get("entrypoint")
    chroots = [x for x in mounts if x.get("type", "chroot") == "chroot"]
    best = max((x for x in chroots if entry and inside(entry, x["path"])), key=lambda x: len(x["path"]), default=None)
    if not entry:
        err("libos.entrypoint is missing")
    elif not best:
        err(f"libos.entrypoint {entry} is in no mounted path")
    else:
        host = os.path.normpath((host_path(best["uri"]) or "/nonexistent") + entry[len(best["path"].rstrip("/")):])
        if not os.path.isfile(host):
            err(f"libos.entrypoint {entry} is {host} on the host, which does not exist")
        elif host not in trusted_paths:
            err(f"libos.entrypoint {entry} ({host}) is not a trusted file")

    # mounts: nothing broad from the host; no untrusted_shm over a trusted file's folder
    trusted_dirs = sorted({os.path.dirname(t) for t in trusted_paths})
    for x in mounts:
        kind, uri = x.get("type", "chroot"), x.get("uri", "")
        p = host_path(uri)
        if kind in ("chroot", "untrusted_shm", "encrypted") and p is None:
            err(f"mount {x} has no file:/dev: URI of an absolute path")
        elif kind == "untrusted_shm":
            if not uri.startswith("dev:") or (p in BROAD and p != "/dev/shm") or real(p) in BROAD - {"/dev/shm"}:
                err(f"untrusted_shm mount {x} must be a dev: URI of the medium's own folder (not all of {p})")
            for tdir in trusted_dirs:
                if overlap(p, tdir):
                    err(f"untrusted_shm mount {x} holds trusted files (the folder {tdir}): "
                        "untrusted shared memory over them")
        elif kind in ("chroot", "encrypted") and (p in BROAD or real(p) in BROAD):
            err(f"{kind} mount of {x.get('path')} exposes the host's whole {p}")
    shm = [x for x in mounts if x.get("type") == "untrusted_shm"]
    # allowed files: exactly the media, each directly in an untrusted_shm mount,
    # and the output files named (one launch's, in a mounted folder of their own)
    want = ["dev:" + os.path.normpath(x) for x in media]
    outs = ["file:" + os.path.normpath(x) for x in outputs]
    if sorted(allowed) != sorted(want + outs) or \
            sorted(host_path(a) or a for a in allowed) != sorted(host_path(w) for w in want + outs):
        err(f"sgx.allowed_files is {allowed}, expected exactly {want + outs}")
    for o in outs:
        p = host_path(o)
        if p in BROAD or os.path.isdir(p):
            err(f"output file {o!r} is a folder")
        if not any(x.get("type", "chroot") == "chroot" and host_path(x.get("uri", "")) == os.path.dirname(p)
                   for x in mounts):
            err(f"output file {o!r} is not directly in a mounted folder")
        for t in trusted_paths:
            if overlap(p, t):
                err(f"output {o!r} overlaps trusted {t!r}")
    for a in [a for a in allowed if a not in outs]:
        p = host_path(a)
        if p is None:
            err(f"allowed file {a!r} has no file:/dev: URI")
            continue
        if a.endswith("/") or p in BROAD or os.path.isdir(p):
            err(f"allowed file {a!r} is a folder: only the medium's file may be allowed")
        if not any(host_path(x.get("uri", "")) == os.path.dirname(p) for x in shm):
            err(f"allowed file {a!r} is not directly in an untrusted_shm mount of its folder")
        for t in trusted_paths:
            if overlap(p, t):
                err(f"allowed {a!r} overlaps trusted {t!r}")

    # production and sizes
    if sgx.get("debug", False) is not False and not allow_debug:
        err("sgx.debug is on in a production manifest")
    if loader.get("log_level", "error") != "error" and not allow_debug:
        err(f"loader.log_level is {loader.get('log_level')!r} in a production manifest (only 'error')")
    for key in flat_keys(m):
        if "insecure__" in key and not allow_debug:
            err(f"{key} is an insecure option")
    if sgx.get("file_check_policy", "strict") != "strict":
        err("sgx.file_check_policy must stay 'strict'")
    threads = sgx.get("max_threads")
    if not isinstance(threads, int) or threads < max(1, min_threads):
        err(f"sgx.max_threads {threads!r} is below {max(1, min_threads)}")
    size = str(sgx.get("enclave_size", ""))
    num = int(size[:-1]) << {"K": 10, "M": 20, "G": 30}[size[-1]] if size[-1:] in "KMG" and size[:-1].isdigit() \
        else (int(size) if size.isdigit() else 0)
    if num < (256 << 20) or num & (num - 1):
        err(f"sgx.enclave_size {size!r} is not a power of two of at least 256M")
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    ap.add_argument("--medium", action="append", default=[], help="a medium file the app may open (repeat)")
    ap.add_argument("--output", action="append", default=[], help="an output file one launch writes (repeat)")
    ap.add_argument("--min-threads", type=int, default=1)
    ap.add_argument("--allow-debug", action="store_true", help="a debug render: debug on, other log levels")
    args = ap.parse_args()
    try:
        with open(args.manifest, "rb") as f:
            m = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        print(f"check.py: {args.manifest}: {e}", file=sys.stderr)
        return 1
    errors = check(m, args.medium, args.min_threads, args.allow_debug, args.output)
    for e in errors:
        print(f"check.py: {args.manifest}: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
