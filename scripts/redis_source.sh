#!/usr/bin/env bash
# redis_source.sh - Debian's source of the installed redis-server (its test
# suite: make test-redis-suite), unpacked under DIR (default build/redis-src).
# Adds a deb-src entry for Debian bookworm (deb.debian.org, signed by the
# Debian archive keyring) when no deb-src line exists, then `apt-get source
# redis`, the installed version when the archive still has it. Idempotent:
# an unpacked tree is reused without touching the network. Prints the tree's
# path. Usage: scripts/redis_source.sh [DIR]
set -euo pipefail
dir=${1:-build/redis-src}
SOURCES_FILE=/etc/apt/sources.list.d/cxl-dsm-deb-src.sources

tree=$(ls -d "$dir"/redis-*/ 2>/dev/null | head -n 1 || true)
if [ -n "$tree" ] && [ -f "$tree/tests/test_helper.tcl" ]; then
  echo "${tree%/}"
  exit 0
fi

has_deb_src() {
  grep -rqsE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/
}
if ! has_deb_src; then
  [ "$(id -u)" -eq 0 ] || { echo "redis_source.sh: no deb-src line; run as root to add $SOURCES_FILE" >&2; exit 1; }
  echo "redis_source.sh: adding $SOURCES_FILE" >&2
  cat >"$SOURCES_FILE" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq >&2
fi

mkdir -p "$dir"
version=$(dpkg-query -W -f='${Version}' redis-server 2>/dev/null || true)
(
  cd "$dir"
  # the installed version's tests first; the archive's version otherwise
  if [ -n "$version" ] && apt-get source -qq "redis=$version" >/dev/null 2>&1; then
    exit 0
  fi
  echo "redis_source.sh: redis $version has no source in the archive; fetching its current one" >&2
  apt-get source -qq redis >&2 2>&1 || { apt-get update -qq >&2 && apt-get source -qq redis >&2 2>&1; }
)
tree=$(ls -d "$dir"/redis-*/ 2>/dev/null | head -n 1 || true)
[ -n "$tree" ] && [ -f "$tree/tests/test_helper.tcl" ] || { echo "redis_source.sh: no Redis tree in $dir" >&2; exit 1; }
echo "${tree%/}"
