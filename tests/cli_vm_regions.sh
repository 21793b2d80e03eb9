#!/usr/bin/env bash
# cli_vm_regions.sh - infra/run_vms.sh --region and --region-acl without
# starting a VM (--dry-run; docs/VMS.md, "Regions a VM cannot write"): the
# QEMU devices each access gives (rw: a shared memory-backend-file and an
# ivshmem-plain device at the region's slot; ro: the same with readonly=on;
# none: nothing), the guest's cxl.regions= list, the access taken from
# cxl_sec_mgr's grants, and every bad flag refused with a clear error. The
# VMs themselves run in make test-vm (tests/vm/region_vms.sh).
# Usage: tests/cli_vm_regions.sh [BUILD]
source "$(dirname "$0")/check.sh"
MGR=$(realpath -m "$BUILD/bin/cxl_sec_mgr")
[ -x "$MGR" ] || die "$MGR is not built (make)"
export CXL_SEC_MGR=$MGR # run_vms.sh checks --region-acl files with it
cd "$WORK" || exit 1
R=$OLDPWD/infra/run_vms.sh
base=(--dry-run --cxl m.raw --cxl-size 16M --vm1-role a --vm2-role b)

# lines of the dry run: "# vm1", vm1's command, "# vm2", vm2's command
plan() { bash "$R" "${base[@]}" "$@" 2>&1; }
vm_cmd() { sed -n "/^# vm$1\$/{n;p}" <<<"$2"; }

out=$(plan --region "graph=/r/g.raw:32M:vm1=rw,vm2=ro" --region "secret=/r/s.raw:1M:vm1=rw")
check "dry run of two regions exits 0" "$?"
v1=$(vm_cmd 1 "$out") v2=$(vm_cmd 2 "$out")
check "vm1: graph shared read-write at slot 0x10" \
  "$(grep -qF -- "-object memory-backend-file,id=region-graph,share=on,mem-path=/r/g.raw,size=33554432 -device ivshmem-plain,memdev=region-graph,id=region-graph,addr=0x10" <<<"$v1"; echo $?)"
check "vm1: secret read-write at slot 0x11" \
  "$(grep -qF -- "mem-path=/r/s.raw,size=1048576 -device ivshmem-plain,memdev=region-secret,id=region-secret,addr=0x11" <<<"$v1"; echo $?)"
check "vm2: graph with readonly=on" \
  "$(grep -qF -- "mem-path=/r/g.raw,size=33554432,readonly=on -device ivshmem-plain,memdev=region-graph" <<<"$v2"; echo $?)"
check "vm2: no device for secret" "$(! grep -q "region-secret" <<<"$v2"; echo $?)"
check "vm1 told cxl.regions=graph/10/rw,secret/11/rw" "$(grep -qF "cxl.regions=graph/10/rw,secret/11/rw" <<<"$v1"; echo $?)"
check "vm2 told cxl.regions=graph/10/ro" "$(grep -qF "cxl.regions=graph/10/ro" <<<"$v2" && ! grep -q "secret/" <<<"$v2"; echo $?)"
check "the ring medium stays ivshmem0" "$(grep -qF -- "-device ivshmem-plain,memdev=cxl,id=ivshmem0" <<<"$v2"; echo $?)"
check "the plan names each region's access" "$(grep -q "region secret: .*vm1 rw, vm2 none" <<<"$out"; echo $?)"
out=$(plan)
check "without --region: no region device, no cxl.regions" "$(! grep -q "region-\|cxl.regions" <<<"$out"; echo $?)"

# access from cxl_sec_mgr's grants
"$MGR" keygen --manager --out mgr.key >/dev/null 2>&1
cat >acl.conf <<'ACL'
manager-key  mgr.key
master       master.secret
state        sec.state
audit        sec.audit
control      sec.sock
region graph  range 0x0 0x2000000
region secret range 0x2000000 0x100000
ACL
"$MGR" keygen --out n1.key --config acl.conf --id 1 --name vm-one >>acl.conf 2>/dev/null
"$MGR" keygen --out n2.key --config acl.conf --id 2 --name vm-two >>acl.conf 2>/dev/null
printf 'grant vm-one graph serve\ngrant vm-one secret rw\ngrant vm-two graph ro\n' >>acl.conf
"$MGR" check --config acl.conf >/dev/null 2>&1
check "the test's ACL passes cxl_sec_mgr check" $?
out=$(plan --region "graph=/r/g.raw:32M" --region "secret=/r/s.raw:1M" --region-acl acl.conf --vm1-node vm-one --vm2-node 2)
check "dry run with --region-acl exits 0" "$?"
check "serve and rw grants give rw, ro gives ro, no grant gives none" \
  "$(grep -q "region graph: .*vm1 rw, vm2 ro (from acl.conf)" <<<"$out" && grep -q "region secret: .*vm1 rw, vm2 none" <<<"$out"; echo $?)"
check "vm2 (node 2, by id) has graph read-only and no secret" \
  "$(v=$(vm_cmd 2 "$out"); grep -q "cxl.regions=graph/10/ro'" <<<"$v" && grep -q "size=33554432,readonly=on" <<<"$v" && ! grep -q region-secret <<<"$v"; echo $?)"

# bad flags: exit 2 and a message
check_fails "NAME=FILE:SIZE" bash "$R" "${base[@]}" --region "Graph=/r/g:16M:vm1=rw"
check_fails "must be a power of two of at least 1M" bash "$R" "${base[@]}" --region "g=/r/g:3M:vm1=rw"
check_fails "has a comma" bash "$R" "${base[@]}" --region "g=/r/g,readonly=off:1M:vm2=ro"
check_fails "has a comma" bash "$R" --dry-run --cxl "m.raw,readonly=on" --cxl-size 16M --vm1-role a
check_fails "is not a size" bash "$R" "${base[@]}" --region "g=/r/g:lots:vm1=rw"
check_fails "access 'vm3=rw' is not" bash "$R" "${base[@]}" --region "g=/r/g:1M:vm3=rw"
check_fails "access 'vm1=rx' is not" bash "$R" "${base[@]}" --region "g=/r/g:1M:vm1=rx"
check_fails "vm1 given twice" bash "$R" "${base[@]}" --region "g=/r/g:1M:vm1=rw,vm1=ro"
check_fails "--region g given twice" bash "$R" "${base[@]}" --region "g=/r/g:1M:vm1=rw" --region "g=/r/h:1M:vm1=rw"
check_fails "no access given" bash "$R" "${base[@]}" --region "g=/r/g:1M"
check_fails "not both" bash "$R" "${base[@]}" --region "graph=/r/g:32M:vm1=rw" --region-acl acl.conf --vm1-node 1 --vm2-node 2
check_fails "vm2 needs --vm2-node" bash "$R" "${base[@]}" --region "graph=/r/g:32M" --region-acl acl.conf --vm1-node 1
check_fails "--vm2-node 'nobody': no such node" bash "$R" "${base[@]}" --region "graph=/r/g:32M" --region-acl acl.conf --vm1-node 1 --vm2-node nobody
check_fails "--region-acl without any --region" bash "$R" "${base[@]}" --region-acl acl.conf
check_fails "--region-acl: no file" bash "$R" "${base[@]}" --region "graph=/r/g:1M" --region-acl nowhere.conf --vm1-node 1 --vm2-node 2
check_fails "region secret: 32M (33554432 bytes) is not the 1048576 bytes acl.conf gives" bash "$R" "${base[@]}" --region "secret=/r/s:32M" --region-acl acl.conf --vm1-node 1 --vm2-node 2
check_fails "acl.conf has no region nothere" bash "$R" "${base[@]}" --region "nothere=/r/n:1M" --region-acl acl.conf --vm1-node 1 --vm2-node 2
check_fails "needs cxl_sec_mgr to check the file first" env CXL_SEC_MGR=/nonexistent bash "$R" "${base[@]}" --region "graph=/r/g:32M" --region-acl acl.conf --vm1-node 1 --vm2-node 2
cp acl.conf ring.conf && echo "region ring0 ring 0" >>ring.conf
check_fails "ring0 is a ring in ring.conf" bash "$R" "${base[@]}" --region "ring0=/r/r:1M" --region-acl ring.conf --vm1-node 1 --vm2-node 2

# one file, one region: not two regions, not a region and the ring medium
truncate -s 1M one.raw two.raw && ln one.raw one-hard.raw && ln -s one.raw one-sym.raw
check_fails "is the same file as --region a" bash "$R" "${base[@]}" --region "a=one.raw:1M:vm2=ro" --region "b=./one.raw:1M:vm2=rw"
check_fails "is the same file as --region a" bash "$R" "${base[@]}" --region "a=one.raw:1M:vm2=ro" --region "b=one-hard.raw:1M:vm2=rw"
check_fails "is the same file as --region a" bash "$R" "${base[@]}" --region "a=one.raw:1M:vm2=ro" --region "b=one-sym.raw:1M:vm2=rw"
check_fails "is the same file as --cxl" bash "$R" --dry-run --cxl one.raw --cxl-size 1M --vm1-role a --vm2-role b --region "m=one-hard.raw:1M:vm2=ro"
check_fails "is the same file as --region a" bash "$R" "${base[@]}" --region "a=/r/x:1M:vm2=ro" --region "b=/r/../r/x:1M:vm2=rw"
out=$(plan --region "a=one.raw:1M:vm2=ro" --region "b=two.raw:1M:vm2=rw")
check "two files: two regions" "$?"
# a comma that only the real path has (a symbolic link's target)
mkdir -p "tgt" && truncate -s 1M "tgt/g,share=on,discard-data=on" && ln -s "$PWD/tgt/g,share=on,discard-data=on" comma-link
check_fails "which has a comma" bash "$R" "${base[@]}" --region "g=comma-link:1M:vm1=rw"
check_fails "which has a comma" bash "$R" --dry-run --cxl comma-link --cxl-size 1M --vm1-role a
# the VM link's addresses go into QEMU options and the guest's command line
check_fails "VMNET_VM2_IP '192.168.100.2 rdinit=/bin/sh' is not an IPv4 address" env VMNET_VM2_IP="192.168.100.2 rdinit=/bin/sh" bash "$R" "${base[@]}"
check_fails "VMNET_VM1_MAC '52:54:00:12:34:01,romfile=/x' is not a MAC address" env VMNET_VM1_MAC="52:54:00:12:34:01,romfile=/x" bash "$R" "${base[@]}"

echo "region 9bad" >>acl.conf
check_fails "cxl_sec_mgr check refuses it" bash "$R" "${base[@]}" --region "graph=/r/g:32M" --region-acl acl.conf --vm1-node 1 --vm2-node 2
check_fails "--vm1-node is for --region-acl" bash "$R" "${base[@]}" --region "g=/r/g:1M:vm1=rw" --vm1-node 1
# shellcheck disable=SC2046 # one word per flag and value
check_fails "at most 15 --region flags" bash "$R" "${base[@]}" $(for i in $(seq 0 15); do echo --region "r$i=/r/$i:1M:vm1=rw"; done)
check_fails "do not mix" bash "$R" --dry-run --cxl m.raw --cxl-size 16M --vm1-disk d.qcow2 --region "g=/r/g:1M:vm1=rw"
check_fails "--region g: no file '/nonexistent/g'" bash "$R" --cxl "$(mktemp -p "$WORK")" --cxl-size 1M --vm1-role a --region "g=/nonexistent/g:1M:vm1=rw"

echo "$TEST_NAME: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
