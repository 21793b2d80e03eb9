# shellcheck shell=bash
# tests/graph_cli.sh - the checks of cxl_graph's shell tests (cli_graph,
# cli_graph_region, cli_fabric): source it after setting TEST_NAME, TOOL
# (the cxl_graph binary) and DIR (a scratch folder). Defines
#   check DESC STATUS            count one check; STATUS 0 = passed, else print
#                                DESC, the last run's exit status, stdout, stderr
#   run ARGS...                  $TOOL ARGS: sets rc, out, err
#   has TEXT WORDS / count RE    WORDS in TEXT / lines of the last stdout matching RE
#   sum_of                       the last run's "Graph checksum:" value
#   expect_ok DESC TEXT ARGS...  run: exit 0, stdout has TEXT, no sanitizer report
#   expect_exit DESC STATUS WORDS ARGS...
#                                run: exit STATUS, stderr has WORDS, no sanitizer report
# GRAPH_TEST_DEBUG=1 prints every expect_ok run's output.

checks=0 failed=0 out="" err="" rc=0
check() {
  checks=$((checks + 1))
  if [ "$2" -ne 0 ]; then
    failed=$((failed + 1))
    echo "$TEST_NAME: FAIL: $1" >&2
    echo "  exit $rc; stdout: ${out:0:800}" >&2
    echo "  stderr: ${err:0:600}" >&2
  fi
}
run() { rc=0; out=$("$TOOL" "$@" 2>"$DIR/err") || rc=$?; err=$(cat "$DIR/err"); }
has() { grep -qF -- "$2" <<<"$1"; }
count() { grep -c -- "$1" <<<"$out"; }
sum_of() { grep '^Graph checksum:' <<<"$out" | awk '{print $3}'; }
no_sanitizer_report() { check "$1: no sanitizer report" "$(! grep -q 'Sanitizer' <<<"$err"; echo $?)"; }
expect_ok() {
  local desc=$1 text=$2; shift 2
  run "$@"
  [ -z "${GRAPH_TEST_DEBUG:-}" ] || printf "%s\n%s\n" "$out" "$err" >&2
  check "$desc: exit 0" "$([ "$rc" -eq 0 ]; echo $?)"
  check "$desc: has '$text'" "$(has "$out" "$text"; echo $?)"
  no_sanitizer_report "$desc"
}
expect_exit() {
  local desc=$1 status=$2 words=$3; shift 3
  run "$@"
  check "$desc: exit $status" "$([ "$rc" -eq "$status" ]; echo $?)"
  check "$desc: stderr has '$words'" "$(has "$err" "$words"; echo $?)"
  no_sanitizer_report "$desc"
}
