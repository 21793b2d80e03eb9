#!/usr/bin/env bash
# gramine/sgx.sh - the SGX steps after rendering: `sign` (gramine-sgx-sign on
# each manifest: .manifest.sgx and .sig) and `token` (a launch token with
# gramine-sgx-get-token, needed only where the CPU lacks flexible launch
# control). Owns the tool checks: a missing tool is named, exit 77 (skip).
# Usage: gramine/sgx.sh sign|token DIR [SIGNING_KEY]
set -euo pipefail
usage() { echo "usage: gramine/sgx.sh sign|token DIR [SIGNING_KEY]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
step=$1 dir=$2 key=${3:-}
[ -d "$dir" ] || { echo "sgx.sh: $dir is not a folder (make -C gramine manifests first)" >&2; exit 2; }
shopt -s nullglob
manifests=("$dir"/*.manifest)
[ ${#manifests[@]} -gt 0 ] || { echo "sgx.sh: no *.manifest in $dir (make -C gramine manifests first)" >&2; exit 2; }

case "$step" in
  sign)
    command -v gramine-sgx-sign >/dev/null ||
      { echo "sgx.sh: gramine-sgx-sign is not installed (Gramine's package 'gramine'): cannot sign" >&2; exit 77; }
    for m in "${manifests[@]}"; do
      # gramine-sgx-sign hashes every trusted file now: sign on the host that runs it
      gramine-sgx-sign --manifest "$m" --output "$m.sgx" ${key:+--key "$key"}
    done ;;
  token)
    if grep -qw sgx_lc /proc/cpuinfo; then
      echo "sgx.sh: this CPU has flexible launch control (sgx_lc): no launch token is needed; nothing to do"
      exit 0
    fi
    command -v gramine-sgx-get-token >/dev/null ||
      { echo "sgx.sh: no flexible launch control here and gramine-sgx-get-token is not installed" \
             "(older Gramine, with the AESM service): cannot make launch tokens" >&2; exit 77; }
    for m in "${manifests[@]}"; do
      sig=${m%.manifest}.sig
      [ -f "$sig" ] || { echo "sgx.sh: $sig is missing (make -C gramine sgx-sign first)" >&2; exit 2; }
      gramine-sgx-get-token --sig "$sig" --output "${m%.manifest}.token"
    done ;;
  *) usage ;;
esac
