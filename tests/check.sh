# tests/check.sh - the start of a shell test: source it first thing. Goes to
# the repository root, takes the build directory from $1 (default build),
# sources scripts/lib.sh (servers, ports, cleanup) and defines
#   check DESC STATUS   count one check; STATUS 0 = passed, else print DESC
#   check_fails WORDS CMD...  CMD exits non-zero saying WORDS on stderr (two checks)
# Finish with: echo "$TEST_NAME: $checks checks, $failed failed"; [ $failed -eq 0 ]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TEST_NAME=$(basename "$0" .sh)
source scripts/lib.sh
set +e
checks=0 failed=0
check() {
  checks=$((checks + 1))
  if [ "$2" -ne 0 ]; then failed=$((failed + 1)); echo "$TEST_NAME: FAIL: $1" >&2; fi
}

# check_fails WORDS CMD...: two checks, CMD exits non-zero and its stderr has WORDS
check_fails() {
  local words=$1 err r=0; shift
  err=$("$@" 2>&1 >/dev/null) || r=$?
  check "$* fails" "$([ "$r" -ne 0 ]; echo $?)"
  check "$*: says '$words'" "$(grep -qF -- "$words" <<<"$err"; echo $?)"
}
