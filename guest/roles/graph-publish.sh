# graph-publish (VM1) - the two-VM graph test's publisher (docs/VMS.md,
# docs/GRAPH.md): builds the kron -g SCALE graph and publishes it into BAR2
# at cxl.graph_offset (cxl_graph --cxl-mode publish --publish-only, node 1);
# with /cxl/run/graph.key in the overlay, publishes it sealed (Crypto) at
# cxl.graph_offset + cxl.graph_size too. VM2 attaches; this VM is done once
# both are READY (the medium outlives it: it is the host's file).
# Parameters: cxl.graph_scale (12), cxl.graph_offset (64M), cxl.graph_size (32M)
# shellcheck shell=sh
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
g=$(arg graph_scale 12)
off=$(bytes "$(arg graph_offset 64M)")
gs=$(bytes "$(arg graph_size 32M)")
key=/cxl/run/graph.key

publish() { # WHAT OFFSET FLAGS...
  _what=$1 _off=$2; shift 2
  log "$_what graph: cxl_graph bfs -g $g --cxl-mode publish --publish-only${*:+ $*} on $CXL_MEDIUM at offset $_off"
  if cxl_graph bfs -g "$g" --cxl-mode publish --publish-only --node-id 1 --path "$CXL_MEDIUM" \
       --map-offset "$_off" --map-size "$gs" "$@" >/tmp/publish.out 2>&1; then
    sed 's/^/  /' /tmp/publish.out
    log "$_what graph: published at offset $_off"
  else
    cat /tmp/publish.out; fail "$_what graph: cxl_graph publish failed"
  fi
}
publish plain "$off"
if [ -f $key ]; then
  publish Crypto $((off + gs)) --crypto --sec-key-file $key
fi
log "all published"
