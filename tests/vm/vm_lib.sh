# shellcheck shell=bash
# tests/vm/vm_lib.sh - what the two-VM tests (two_vms, graph_vms, ycsb_vms,
# region_vms) share: source it from the repository root after setting
# TEST_NAME and BUILD. It sources scripts/lib.sh (WORK, cleanup, die) and
# defines
#   check DESC STATUS         count one check (STATUS 0 = passed), print ok/FAIL
#   run_pair LABEL FLAGS...   infra/run_vms.sh with the built guest and FLAGS,
#                             its output shown and kept in $WORK/run.out; one
#                             check that both VMs passed, each VM's result
#                             line checked; sets rc and logs (the run's folder)
#   vm_logged VM|both WANT... one check per WANT: that VM's serial log has it
#   vm_finish                 the summary line; status 1 if a check failed
source scripts/lib.sh
set +e
[ -f "$BUILD/vm/initramfs.cpio.gz" ] && [ -f "$BUILD/vm/vmlinuz" ] || die "no guest in $BUILD/vm (make vm)"

checks=0 failed=0 rc=0 logs=""
check() {
  checks=$((checks + 1))
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else failed=$((failed + 1)); echo "$TEST_NAME: FAIL: $1" >&2; fi
}

run_pair() {
  local label=$1 t0 v; shift
  t0=$(date +%s)
  bash infra/run_vms.sh --kernel "$BUILD/vm/vmlinuz" --initrd "$BUILD/vm/initramfs.cpio.gz" "$@" \
    --label "$label" 2>&1 | tee "$WORK/run.out"
  rc=${PIPESTATUS[0]}
  echo "$TEST_NAME: the VMs ran $(( $(date +%s) - t0 )) s"
  check "both VMs report PASS (run_vms.sh exit $rc)" "$rc"
  logs=$(sed -n 's/^run_vms: .*logs in //p' "$WORK/run.out" | tail -n 1)
  [ -n "$logs" ] || logs=$(find results/vm -maxdepth 1 -name "*-$label" 2>/dev/null | sort | tail -n 1)
  for v in 1 2; do
    grep -aq 'CXL-VM-RESULT: PASS' "$logs/vm$v.serial.log" 2>/dev/null
    check "vm$v's serial log ends with CXL-VM-RESULT: PASS" $?
  done
}

vm_logged() {
  local vm=$1 want who files; shift
  if [ "$vm" = both ]; then
    who="a VM" files=("$logs/vm1.serial.log" "$logs/vm2.serial.log")
  else
    who="VM$vm" files=("$logs/vm$vm.serial.log")
  fi
  for want in "$@"; do
    grep -aqF -- "$want" "${files[@]}" 2>/dev/null
    check "$who logged '$want'" $?
  done
}

vm_finish() {
  [ "$failed" -gt 0 ] && echo "$TEST_NAME: logs in $logs" >&2
  echo "$TEST_NAME: $checks checks, $failed failed"
  [ "$failed" -eq 0 ]
}
