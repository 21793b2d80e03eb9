# probe - nothing to do: the result line itself tells run_vms.sh that this
# accelerator boots the guest (docs/VMS.md, "KVM or TCG").
# shellcheck shell=sh disable=SC2046 # key/value lists are split into words on purpose
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
log "probe: booted"
