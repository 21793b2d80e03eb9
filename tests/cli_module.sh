#!/usr/bin/env bash
# cli_module.sh - cxl_ring.so's key=value arguments and the original
# prototype's environment variables (CXL_RING_PATH, CXL_RING_MAP_SIZE,
# CXL_RING_MAP_OFFSET, CXL_RING_COUNT, CXL_RING_SLOT_SIZE, CXL_SHM_DELAY_NS,
# CXL_SEC_*) with Debian's redis-server: what loads and with which geometry,
# delay and node id (an argument wins over its variable), and what refuses
# to load with which line in the log (a bad variable is named "(from VAR)",
# and refuses the load even when an argument overrides it).
# Usage: tests/cli_module.sh [BUILD]
source "$(dirname "$0")/check.sh"
so=$(realpath "$BUILD/cxl_ring.so")
med=/dev/shm/cxl_cli_module_$$.raw
CLEANUP_FILES+=("$med")

refused() { # DESC TEXT ENV... -- ARGS...: the load fails and the log has TEXT
  local desc=$1 text=$2; shift 2
  local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  local log=$WORK/refused.log
  rm -f "$log" "$med"
  env "${envs[@]}" timeout 20 redis-server --port "$(free_port)" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --logfile "$log" \
    --loadmodule "$so" "$@" >/dev/null 2>&1
  local rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qF -- "cxl ring: cannot load: arguments: $text" "$log"
  local ok=$? said
  said=$(grep -F 'cxl ring' "$log" 2>/dev/null | tail -n 1 | cut -c1-200)
  check "$desc: refused (exit $rc) with '$text': $said" $ok
}

info() { # FIELD: its value in CXLRING.INFO
  redis-cli -p "$REDIS_PORT" CXLRING.INFO | sed -n "/^$1\$/{n;p;q}"
}

loads() { # DESC CHECKS ENV... -- ARGS...: loads; CHECKS is "field=value ..." of CXLRING.INFO
  local desc=$1 want=$2; shift 2
  local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  local kv got ok=0
  env "${envs[@]}" true # (validates the assignments)
  for kv in "${envs[@]}"; do export "${kv?}"; done
  start_redis module "$med" "$@"
  for kv in "${envs[@]}"; do unset "${kv%%=*}"; done
  for kv in $want; do
    if [ "${kv%%=*}" = server_node ]; then
      got=$("$BUILD/bin/cxl_shm" --path "$med" info | sed -n 's/^server_node: //p')
    else
      got=$(info "${kv%%=*}")
    fi
    [ "$got" = "${kv#*=}" ] || { ok=1; echo "$desc: ${kv%%=*} is '$got', not '${kv#*=}'" >&2; }
  done
  kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
  check "$desc" $ok
}

# what the variables give, and the arguments over them
rm -f "$med"
loads "CXL_RING_MAP_SIZE, CXL_RING_COUNT, CXL_RING_SLOT_SIZE" "map_size=8388608 ring_count=3 slot_size=1024" \
  CXL_RING_MAP_SIZE=8M CXL_RING_COUNT=3 CXL_RING_SLOT_SIZE=1024 --
rm -f "$med"
loads "slot_size=2K (a size, as cxl_shm --slot-size)" "slot_size=2048" -- map_size=4M slot_size=2K
rm -f "$med"
loads "arguments over the variables" "map_size=4194304 ring_count=2 slot_size=2048" \
  CXL_RING_MAP_SIZE=8M CXL_RING_COUNT=3 CXL_RING_SLOT_SIZE=1024 -- map_size=4M rings=2 slot_size=2048
loads "an existing medium is mapped whole" "map_size=4194304 ring_count=2" --
rm -f "$med"
loads "delay_ns=" "delay_ns=150" -- map_size=8M delay_ns=150
loads "CXL_SHM_DELAY_NS" "delay_ns=150" CXL_SHM_DELAY_NS=150 -- map_size=8M
loads "delay_ns= over CXL_SHM_DELAY_NS" "delay_ns=5" CXL_SHM_DELAY_NS=150 -- map_size=8M delay_ns=5
loads "delay_model=serial" "delay_model=serial" -- map_size=8M delay_ns=150 delay_model=serial
loads "CXL_SHM_DELAY_MODEL, delay_bw_gbps=" "delay_model=serial delay_bw_mbps=36000" CXL_SHM_DELAY_MODEL=serial -- map_size=8M delay_bw_gbps=36
loads "the default delay model" "delay_model=mlp delay_bw_mbps=25000" -- map_size=8M delay_ns=150
loads "node_id=" "server_node=7" -- map_size=8M node_id=7
loads "CXL_SEC_NODE_ID" "server_node=7" CXL_SEC_NODE_ID=7 -- map_size=8M
loads "node_id= over CXL_SEC_NODE_ID" "server_node=2" CXL_SEC_NODE_ID=7 -- map_size=8M node_id=2

# refused: the key's message, "(from VAR)" for a variable
refused "map_size=0" "map_size: must be greater than 0" -- path="$med" map_size=0
refused "CXL_RING_MAP_SIZE=0" "map_size: must be greater than 0 (from CXL_RING_MAP_SIZE)" CXL_RING_MAP_SIZE=0 -- path="$med"
[ ! -e "$med" ]; check "CXL_RING_MAP_SIZE=0 made no file" $?
refused "CXL_RING_MAP_SIZE=abc under map_size=" "map_size: 'abc' is not a number (from CXL_RING_MAP_SIZE)" \
  CXL_RING_MAP_SIZE=abc -- path="$med" map_size=8M
refused "CXL_RING_MAP_OFFSET=abc" "offset: 'abc' is not a number (from CXL_RING_MAP_OFFSET)" CXL_RING_MAP_OFFSET=abc -- path="$med"
refused "CXL_RING_COUNT=0" "rings: 0 is out of range [1, 256] (from CXL_RING_COUNT)" CXL_RING_COUNT=0 -- path="$med"
# the idle back-off's keys (the options table)
refused "idle_sleep_us=0" "idle_sleep_us: 0 is out of range [1, 100000]" -- path="$med" idle_sleep_us=0
refused "idle_after_ms=x" "idle_after_ms: 'x' is not a number" -- path="$med" idle_after_ms=x
# slot_size= is validated as cxl_shm's --slot-size (the shared options' table): sizes with suffixes
refused "CXL_RING_SLOT_SIZE=100" "slot_size: 100 is not a power of two in [64, 1048576] (from CXL_RING_SLOT_SIZE)" CXL_RING_SLOT_SIZE=100 -- path="$med"
refused "slot_size=32" "slot_size: 32 is not a power of two in [64, 1048576]" -- path="$med" slot_size=32
refused "CXL_SHM_DELAY_NS=abc" "delay_ns: 'abc' is not a number (from CXL_SHM_DELAY_NS)" CXL_SHM_DELAY_NS=abc -- path="$med"
refused "delay_model=fast" "delay_model: 'fast' is not a delay model (serial or mlp)" -- path="$med" delay_model=fast
refused "delay_bw_gbps=0" "delay_bw_gbps: 0 is out of range [1, 1000] GB/s" -- path="$med" delay_bw_gbps=0
refused "CXL_SEC_NODE_ID=abc" "node_id: 'abc' is not a number (from CXL_SEC_NODE_ID)" CXL_SEC_NODE_ID=abc -- path="$med"
long=/dev/shm/$(printf 'p%.0s' $(seq 300))
refused "CXL_RING_PATH too long" "path: '$long' is empty or too long (from CXL_RING_PATH)" CXL_RING_PATH="$long" --
refused "CXL_SEC_MGR too long" "sec_mgr: '${long#/dev/shm/}' is empty or too long (from CXL_SEC_MGR)" \
  CXL_SEC_MGR="${long#/dev/shm/}" -- path="$med"
refused "a variable's error before an argument's" "rings: 0 is out of range [1, 256] (from CXL_RING_COUNT)" \
  CXL_RING_COUNT=0 -- path="$med" map_size=abc
refused "secure=1 without its keys" "secure=1 needs sec_mgr=HOST:PORT and key=FILE" -- path="$med" secure=1

echo "cli_module: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
