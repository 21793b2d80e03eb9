# region-publish (VM1) - the enforced-regions test's writer (docs/VMS.md,
# "Regions a VM cannot write"): publishes the kron -g SCALE graph into the
# region named graph (this VM maps it read-write) and writes a marker into
# the region named secret (read-write here; VM2 has no device for it).
# Parameters: cxl.graph_scale (12), cxl.marker (the marker's text)
# shellcheck shell=sh disable=SC2154 # CXL_REGION_* come from /init
# shellcheck source=guest/roles/common.sh
. /cxl/roles/common.sh
g=$(arg graph_scale 12)
marker=$(arg marker secret-marker)
[ "${CXL_REGION_MODE_graph:-}" = rw ] || fail "region graph: not mapped read-write here (${CXL_REGION_MODE_graph:-no device})"
[ "${CXL_REGION_MODE_secret:-}" = rw ] || fail "region secret: not mapped read-write here (${CXL_REGION_MODE_secret:-no device})"
size=$(stat -c %s "$CXL_REGION_graph")
log "graph: cxl_graph bfs -g $g --cxl-mode publish --publish-only into region graph ($size bytes)"
cxl_graph bfs -g "$g" --cxl-mode publish --publish-only --node-id 1 --path "$CXL_REGION_graph" \
  --map-size "$size" >/tmp/publish.out 2>&1 || { cat /tmp/publish.out; fail "graph: cxl_graph publish failed"; }
sed 's/^/  /' /tmp/publish.out
log "graph: published in region graph"
cxl_shm write --path "$CXL_REGION_secret" --offset 0 --data "$marker" >/tmp/write.out 2>&1 ||
  { cat /tmp/write.out; fail "secret: cannot write the marker"; }
log "secret: marker written"
