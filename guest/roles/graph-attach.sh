# graph-attach (VM2) - the two-VM graph test's attacher (docs/VMS.md,
# docs/GRAPH.md): waits for VM1's graph in BAR2 at cxl.graph_offset and runs
# cxl_graph bfs -n 3 -v on it (zero-copy over the medium); with
# /cxl/run/graph.key in the overlay, the same on VM1's sealed (Crypto) graph
# at cxl.graph_offset + cxl.graph_size. Each run must print the
# Graph region: line naming node 1 and a Verification: PASS per trial.
# Parameters: cxl.graph_offset (64M), cxl.graph_size (32M), cxl.wait (seconds, 240)
# shellcheck shell=sh
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
off=$(bytes "$(arg graph_offset 64M)")
gs=$(bytes "$(arg graph_size 32M)")
wait_ms=$(( $(arg wait 240) * 1000 ))
key=/cxl/run/graph.key
status=PASS

attach() { # WHAT OFFSET FLAGS...
  _what=$1 _off=$2; shift 2
  log "$_what graph: cxl_graph bfs --cxl-mode attach${*:+ $*} -n 3 -v at offset $_off"
  cxl_graph bfs --cxl-mode attach --node-id 2 --path "$CXL_MEDIUM" --map-offset "$_off" --map-size "$gs" \
    --attach-timeout-ms "$wait_ms" -n 3 -v "$@" >/tmp/attach.out 2>&1
  _rc=$?
  sed 's/^/  /' /tmp/attach.out
  _pass=$(grep -c '^Verification: *PASS' /tmp/attach.out)
  if [ $_rc -eq 0 ] && [ "$_pass" -eq 3 ] && grep -q "^Graph region: .* by node 1, " /tmp/attach.out; then
    log "$_what graph: VM1's graph attached at offset $_off, bfs verified 3 of 3 trials"
  else
    log "FAIL: $_what graph: exit $_rc, $_pass of 3 trials verified"; status=FAIL
  fi
}
attach plain "$off"
if [ -f $key ]; then
  attach Crypto $((off + gs)) --crypto --sec-key-file $key
fi
[ $status = PASS ]
