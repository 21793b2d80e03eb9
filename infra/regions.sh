# shellcheck shell=bash
# infra/regions.sh - hypervisor-enforced regions for the initramfs guests
# (infra/run_vms.sh --region; docs/VMS.md, "Regions a VM cannot write").
#
# A region is a host file shared with some VMs, each with one access:
#   rw    an ivshmem-plain device on a memory-backend-file (share=on)
#   ro    the same with readonly=on: QEMU maps the file read-only and the
#         guest's stores into the BAR are dropped (TCG: a ROM region; KVM: a
#         read-only memslot whose write exits QEMU ignores); the file never
#         changes from that VM
#   none  no device at all: the guest has nothing to map
# Each region's device sits at a fixed PCI slot (0x10 + its index), told to
# the guest as cxl.regions=NAME/SLOT/MODE,... so /init can name the devices
# (and keep them apart from the ring medium). Access comes from the flag
# (vm1=rw,vm2=ro) or, with --region-acl CONF, from cxl_sec_mgr's grants:
# a node's `serve` or `rw` grant of the region -> rw, `ro` -> ro, no grant ->
# none (the VM's node: --vmN-node NAME|ID); the ACL is checked first with
# cxl_sec_mgr check when that is built (CXL_SEC_MGR, default
# build/bin/cxl_sec_mgr). Sourced by run_vms.sh after
# infra/lib.sh; regions_flag parses, regions_check validates,
# regions_qemu_args / regions_append build VM N's part.

REGION_SPECS=() REGION_ACL=""
declare -gA REGION=() # REGION[i,name|file|size|bytes|vmN], REGION[n]
REGION_SLOT0=16        # first PCI slot (0x10); at most REGION_MAX regions
REGION_MAX=15          # 0x10..0x1e (q35 has its LPC bridge at 0x1f)

# regions_flag ARGS...: like vms_flag, for --region, --region-acl, --vmN-node
# shellcheck disable=SC2034 # VMS_SHIFT is the launcher's
regions_flag() {
  VMS_SHIFT=2
  case $1 in
    --region) need "$@"; REGION_SPECS+=("$2") ;;
    --region-acl) need "$@"; REGION_ACL=$2 ;;
    --vm[12]-node) need "$@"; V[${1:4:1},node]=$2 ;;
    *) return 1 ;;
  esac
}

# region_access_list I LIST: REGION[I,vmN] from "vm1=rw,vm2=ro" (unlisted: none)
region_access_list() {
  local i=$1 item seen="" items
  IFS=, read -ra items <<<"$2"
  for item in "${items[@]}"; do
    [[ $item =~ ^vm([12])=(rw|ro|none)$ ]] ||
      usage_error "--region ${REGION[$i,name]}: access '$item' is not vm1|vm2=rw|ro|none"
    [[ $seen != *"${BASH_REMATCH[1]}"* ]] || usage_error "--region ${REGION[$i,name]}: vm${BASH_REMATCH[1]} given twice"
    seen+=${BASH_REMATCH[1]}
    REGION[$i,vm${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  done
}

# region_acl_mode NODE REGION: rw, ro or none from the grants of REGION_ACL
# (NODE: a node's name or id; its node line must exist); "unknown" for a
# node that has none. The file passed cxl_sec_mgr check before (one node
# line per id and name, one grant per node and region, known modes).
region_acl_mode() {
  awk -v node="$1" -v region="$2" '
    { sub(/#.*/, "") }
    $1 == "node" && ($2 == node || $3 == node) { name = $3; found = 1 }
    $1 == "grant" { g[$2 SUBSEP $3] = $4 }
    END {
      if (!found) { print "unknown"; exit }
      m = g[name SUBSEP region]
      print (m == "serve" || m == "rw") ? "rw" : (m == "ro" ? "ro" : "none")
    }' "$REGION_ACL"
}

# region_acl_range REGION: the length of REGION_ACL's range region REGION in
# bytes, "ring" for a ring, "unknown" if there is no such region
region_acl_range() {
  awk -v region="$1" '
    { sub(/#.*/, "") }
    $1 == "region" && $2 == region { kind = $3; len = $5 }
    END {
      if (kind == "range") print len
      else if (kind == "ring") print "ring"
      else print "unknown"
    }' "$REGION_ACL"
}

# regions_check: every --region validated (name, file, size, access); with
# --region-acl, the access of each VM from its node's grants
regions_check() {
  local spec i=0 name rest file size access n mode
  REGION[n]=${#REGION_SPECS[@]}
  [ "${REGION[n]}" -le "$REGION_MAX" ] || usage_error "at most $REGION_MAX --region flags"
  if [ -n "$REGION_ACL" ]; then
    [ "${REGION[n]}" -gt 0 ] || usage_error "--region-acl without any --region"
    [ -f "$REGION_ACL" ] || usage_error "--region-acl: no file '$REGION_ACL'"
    local mgr=${CXL_SEC_MGR:-$ROOT/build/bin/cxl_sec_mgr} said
    [ -x "$mgr" ] || usage_error "--region-acl needs cxl_sec_mgr to check the file first: no '$mgr' (make, or CXL_SEC_MGR=PATH)"
    said=$("$mgr" check --config "$REGION_ACL" 2>&1) ||
      usage_error "--region-acl $REGION_ACL: cxl_sec_mgr check refuses it: $(head -n 3 <<<"$said" | tr '\n' ' ')"
  fi
  for n in 1 2; do
    [ -z "${V[$n,node]:-}" ] || [ -n "$REGION_ACL" ] || usage_error "--vm$n-node is for --region-acl"
  done
  for spec in "${REGION_SPECS[@]}"; do
    [[ $spec =~ ^([a-z][a-z0-9_]{0,15})=([^:]+):([^:]+)(:(.*))?$ ]] ||
      usage_error "--region '$spec': NAME=FILE:SIZE[:vm1=rw|ro|none,vm2=...] (NAME: a-z, 0-9, _; 16 at most)"
    name=${BASH_REMATCH[1]} file=${BASH_REMATCH[2]} size=${BASH_REMATCH[3]} access=${BASH_REMATCH[5]}
    [[ $file != *,* ]] || usage_error "--region $name: file '$file' has a comma (QEMU reads it as an option separator)"
    for ((k = 0; k < i; k++)); do
      [ "${REGION[$k,name]}" != "$name" ] || usage_error "--region $name given twice"
    done
    REGION[$i,name]=$name REGION[$i,file]=$file REGION[$i,size]=$size REGION[$i,vm1]=none REGION[$i,vm2]=none
    REGION[$i,bytes]=$(size_to_bytes "$size") || usage_error "--region $name: size '$size' is not a size (e.g. 16M)"
    rest=${REGION[$i,bytes]}
    [ $((rest & (rest - 1))) -eq 0 ] && [ "$rest" -ge $((1 << 20)) ] ||
      usage_error "--region $name: size $size must be a power of two of at least 1M (an ivshmem BAR)"
    if [ -n "$REGION_ACL" ]; then
      [ -z "$access" ] || usage_error "--region $name: give its access in the flag or by --region-acl, not both"
      rest=$(region_acl_range "$name")
      case $rest in
        unknown) usage_error "--region $name: $REGION_ACL has no region $name" ;;
        ring) usage_error "--region $name: $name is a ring in $REGION_ACL; a VM region is a range region" ;;
        0x[0-9a-fA-F]*|[0-9]*) rest=$((rest)) ;;
        *) usage_error "--region $name: $REGION_ACL gives region $name the length '$rest'" ;;
      esac
      [ "$rest" = "${REGION[$i,bytes]}" ] ||
        usage_error "--region $name: $size (${REGION[$i,bytes]} bytes) is not the $rest bytes $REGION_ACL gives region $name"
      for n in 1 2; do
        [ -n "${V[$n,role]:-}" ] || continue
        [ -n "${V[$n,node]:-}" ] || usage_error "--region-acl: vm$n needs --vm$n-node (its node in $REGION_ACL)"
        mode=$(region_acl_mode "${V[$n,node]}" "$name")
        [ "$mode" != unknown ] || usage_error "--vm$n-node '${V[$n,node]}': no such node in $REGION_ACL"
        REGION[$i,vm$n]=$mode
      done
    elif [ -n "$access" ]; then
      region_access_list "$i" "$access"
    else
      usage_error "--region $name: no access given (:vm1=rw,vm2=ro) and no --region-acl"
    fi
    if [ "$dry" = 0 ]; then
      [ -f "$file" ] || die "--region $name: no file '$file' (create it: infra/create_cxl_shared.sh $file $size)"
      [ "$(stat -c %s "$file")" -ge "${REGION[$i,bytes]}" ] ||
        die "--region $name: '$file' has $(stat -c %s "$file") bytes, less than $size"
    fi
    REGION[$i,file]=$(realpath -m "$file")
    [[ ${REGION[$i,file]} != *,* ]] ||
      usage_error "--region $name: '$file' resolves to '${REGION[$i,file]}', which has a comma (QEMU reads it as an option separator)"
    i=$((i + 1))
  done
  regions_distinct
}

# regions_distinct: no file serves twice (two regions, or a region and the
# --cxl medium): a VM given one of them read-only could write the same bytes
# through the other. The same inode (hard links, symbolic links, ./ and ../
# in the name), or for files not there yet (a dry run) the same real path.
regions_distinct() {
  local -A seen=()
  local i id f what
  for ((i = -1; i < ${REGION[n]}; i++)); do
    if [ "$i" -lt 0 ]; then f=$cxl what="--cxl"; else f=${REGION[$i,file]} what="--region ${REGION[$i,name]}"; fi
    [ -n "$f" ] || continue
    if [ -e "$f" ]; then id=$(stat -L -c %d:%i -- "$f"); else id=$(realpath -m -- "$f"); fi
    [ -z "${seen[$id]:-}" ] ||
      usage_error "$what: '$f' is the same file as ${seen[$id]} (one file, one region: a VM could write through the other)"
    seen[$id]=$what
  done
}

# regions_qemu_args N: append VM N's region devices to CMD (none: nothing)
# shellcheck disable=SC2054 # commas inside QEMU option values
regions_qemu_args() {
  local n=$1 i mode obj
  for ((i = 0; i < ${REGION[n]:-0}; i++)); do
    mode=${REGION[$i,vm$n]}
    [ "$mode" != none ] || continue
    obj="memory-backend-file,id=region-${REGION[$i,name]},share=on,mem-path=${REGION[$i,file]},size=${REGION[$i,bytes]}"
    [ "$mode" = rw ] || obj+=",readonly=on"
    CMD+=(-object "$obj"
          -device "ivshmem-plain,memdev=region-${REGION[$i,name]},id=region-${REGION[$i,name]},addr=$(printf '0x%x' $((REGION_SLOT0 + i)))")
  done
}

# regions_append N: VM N's cxl.regions=NAME/SLOT/MODE,... (empty: none)
regions_append() {
  local n=$1 i list=""
  for ((i = 0; i < ${REGION[n]:-0}; i++)); do
    [ "${REGION[$i,vm$n]}" = none ] && continue
    list+="${list:+,}${REGION[$i,name]}/$(printf '%x' $((REGION_SLOT0 + i)))/${REGION[$i,vm$n]}"
  done
  [ -z "$list" ] || echo "cxl.regions=$list"
}

# regions_say: one line per region and VM access (the launcher's report)
regions_say() {
  local i
  for ((i = 0; i < ${REGION[n]:-0}; i++)); do
    vms_say "region ${REGION[$i,name]}: ${REGION[$i,file]} (${REGION[$i,size]}), vm1 ${REGION[$i,vm1]}, vm2 ${REGION[$i,vm2]}${REGION_ACL:+ (from $REGION_ACL)}"
  done
}
