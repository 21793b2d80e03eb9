# cxl-dsm build. `make` builds everything into build/; `make test` runs every
# test (and the unit/stress tests again under ASan+UBSan); `make demo` runs the
# main job. Both install missing Debian packages first (scripts/deps.sh).
# `make check` runs the fast tests only (after the packages are there);
# `make test T=regex` / `make check T=regex` run the tests whose name matches.

CC      ?= gcc
CLANG   ?= clang
BUILD   ?= build
OPT     ?= -O2
CFLAGS_COMMON = -std=gnu11 -g $(OPT) -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
                -Wno-missing-field-initializers -fPIC -pthread -Iinclude
CFLAGS  ?=
# The public API is include/cxl/ (what a user links against: tests/public_api.c
# builds with it alone); the layers' internal headers are src/lib/<layer>/*.h,
# for the library itself and the project's own programs, tests and benches.
PUBLIC_CFLAGS = $(CFLAGS_COMMON) $(CFLAGS)
ALL_CFLAGS = $(PUBLIC_CFLAGS) -Isrc/lib
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# --- the library, one archive per layer (docs/ARCHITECTURE.md) ------------------
# Listed from the top down, the order a static link needs; each layer uses
# only the ones after it. The system libraries each layer needs:
LAYERS         := config report net kv sec ring base
config_SYSLIBS :=
report_SYSLIBS :=
net_SYSLIBS    := -lssl -lcrypto
kv_SYSLIBS     :=
sec_SYSLIBS    := -lsodium
ring_SYSLIBS   := -lnuma
base_SYSLIBS   := -lpthread -lm
$(foreach l,$(LAYERS),$(eval $(l)_SRCS := $(sort $(wildcard src/lib/$(l)/*.c))))
LIB_SRCS   := $(foreach l,$(LAYERS),$($(l)_SRCS))
LIB_HDRS   := $(wildcard include/cxl/*.h src/lib/*/*.h)
ALL_SYSLIBS := $(foreach l,$(LAYERS),$($(l)_SYSLIBS))
# The archives and system libraries of the layers in $(1), in link order.
layer_libs = $(foreach l,$(LAYERS),$(if $(filter $(l),$(1)),$(2)/lib/libcxl_$(l).a))
layer_syslibs = $(foreach l,$(LAYERS),$(if $(filter $(l),$(1)),$($(l)_SYSLIBS)))

# Programs: one folder each under src/, binary name = folder's program name,
# linked with the layers it uses.
PROGRAMS   := cxl_shm cxl_ring_direct cxl_sec_mgr cxl_resp_gateway cxl_sodium_tunnel cxl_graph cxl_ycsb
cxl_shm_DIR := src/shm_tool
cxl_shm_LAYERS := config ring sec base
cxl_resp_gateway_DIR := src/gateway
cxl_resp_gateway_LAYERS := config net kv sec ring base
cxl_ring_direct_DIR := src/client
cxl_ring_direct_LAYERS := config report net kv sec ring base
cxl_sec_mgr_DIR := src/sec_mgr
cxl_sec_mgr_LAYERS := sec base
cxl_sodium_tunnel_DIR := src/tunnel
cxl_sodium_tunnel_LAYERS := net sec base
# cxl_graph (docs/GRAPH.md): OpenMP for it alone; its files other than main.c
# (GRAPH_CORE_SRCS) link into a test with $(cxl_graph_CFLAGS).
cxl_graph_DIR := src/graph
cxl_graph_LAYERS := config report sec ring base
cxl_graph_CFLAGS := -fopenmp
GRAPH_CORE_SRCS = $(filter-out src/graph/main.c,$(cxl_graph_SRCS))
# cxl_ycsb (docs/YCSB.md); its files other than main.c link into test_ycsb
cxl_ycsb_DIR := src/ycsb
cxl_ycsb_LAYERS := config report net kv sec ring base
YCSB_CORE_SRCS = $(filter-out src/ycsb/main.c,$(cxl_ycsb_SRCS))
$(foreach p,$(PROGRAMS),$(eval $(p)_SRCS := $(wildcard $($(p)_DIR)/*.c)) \
                        $(eval $(p)_HDRS := $(wildcard $($(p)_DIR)/*.h)))

MODULE_SRCS := $(wildcard src/redis_module/*.c)
MODULE_HDRS := $(wildcard src/redis_module/*.h)
MODULE_LAYERS := config kv sec ring base

TEST_HDRS  := $(wildcard tests/*.h)
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
TEST_PROGS := ring_stress redis_ring redis_rights redis_node_users keyring_threads fabric redis_cluster
# The attacker suite: one program from the folder tests/attack/ (its rules below).
ATTACK_SRCS := $(wildcard tests/attack/*.c)
ATTACK_HDRS := $(wildcard tests/attack/*.h)

# Benches: one folder each under bench/, binary build/bench/<name>.
BENCHES    := ring_pingpong
ring_pingpong_SRCS := $(wildcard bench/pingpong/*.c)
ring_pingpong_HDRS := $(wildcard bench/pingpong/*.h)
ring_pingpong_LAYERS := config report ring base
# aead_cost (issue 15): the AEADs of libsodium and OpenSSL, no layer of ours
BENCHES    += aead_cost
aead_cost_SRCS := $(wildcard bench/aead_cost/*.c)
aead_cost_HDRS := $(wildcard bench/aead_cost/*.h)
aead_cost_LAYERS :=
aead_cost_SYSLIBS := -lsodium -lcrypto
FUZZERS    := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))

.PHONY: all deps test check fuzz fuzz-long fuzz-seeds demo bench clean
all: $(PROGRAMS:%=$(BUILD)/bin/%) $(BUILD)/cxl_ring.so $(BUILD)/tests/public_api \
     $(UNIT_TESTS:%=$(BUILD)/tests/%) $(TEST_PROGS:%=$(BUILD)/tests/%) $(BUILD)/tests/attack \
     $(BENCHES:%=$(BUILD)/bench/%)

deps:
	@bash scripts/deps.sh test

# --- library layers (normal and sanitizer flavours) -----------------------------
$(BUILD)/obj/%.o: src/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/%.o: src/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

define layer_archive
$(BUILD)/$(2)lib/libcxl_$(1).a: $(patsubst src/%.c,$(BUILD)/$(2)obj/%.o,$($(1)_SRCS))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_archive,$(l),)) $(eval $(call layer_archive,$(l),asan/)))

.SECONDEXPANSION:
ALL_LIBS      = $(call layer_libs,$(LAYERS),$(BUILD))
ALL_ASAN_LIBS = $(call layer_libs,$(LAYERS),$(BUILD)/asan)

# --- programs ----------------------------------------------------------------
$(BUILD)/bin/%: $$(%_SRCS) $$(%_HDRS) $$(call layer_libs,$$(%_LAYERS),$(BUILD)) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $($*_CFLAGS) -o $@ $($*_SRCS) $(call layer_libs,$($*_LAYERS),$(BUILD)) $(call layer_syslibs,$($*_LAYERS))

$(BUILD)/asan/bin/%: $$(%_SRCS) $$(%_HDRS) $$(call layer_libs,$$(%_LAYERS),$(BUILD)/asan) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $($*_CFLAGS) $(SAN_FLAGS) -o $@ $($*_SRCS) $(call layer_libs,$($*_LAYERS),$(BUILD)/asan) \
	    $(call layer_syslibs,$($*_LAYERS))

# --- the Redis module: its layers linked in, only the module entry points
# exported (-fvisibility=hidden, --exclude-libs) --------------------------------
$(BUILD)/cxl_ring.so: $(MODULE_SRCS) $(MODULE_HDRS) $(call layer_libs,$(MODULE_LAYERS),$(BUILD)) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -shared -o $@ $(MODULE_SRCS) \
	    $(call layer_libs,$(MODULE_LAYERS),$(BUILD)) -Wl,--exclude-libs,ALL -Wl,-z,defs \
	    $(call layer_syslibs,$(MODULE_LAYERS))

$(BUILD)/asan/cxl_ring.so: $(MODULE_SRCS) $(MODULE_HDRS) $(call layer_libs,$(MODULE_LAYERS),$(BUILD)/asan) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -fvisibility=hidden -shared -o $@ $(MODULE_SRCS) \
	    $(call layer_libs,$(MODULE_LAYERS),$(BUILD)/asan) -Wl,--exclude-libs,ALL \
	    $(call layer_syslibs,$(MODULE_LAYERS))

# --- tests (every layer) and benches (their own), normal and sanitizer flavours ---
# test_graph: cxl_graph's files but main.c, with OpenMP
$(BUILD)/tests/test_graph: tests/unit/test_graph.c $(GRAPH_CORE_SRCS) $(cxl_graph_HDRS) $(TEST_HDRS) \
                          $(call layer_libs,$(cxl_graph_LAYERS),$(BUILD))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(cxl_graph_CFLAGS) -Itests -Isrc/graph -o $@ $< $(GRAPH_CORE_SRCS) \
	    $(call layer_libs,$(cxl_graph_LAYERS),$(BUILD)) $(call layer_syslibs,$(cxl_graph_LAYERS))

$(BUILD)/asan/tests/test_graph: tests/unit/test_graph.c $(GRAPH_CORE_SRCS) $(cxl_graph_HDRS) $(TEST_HDRS) \
                               $(call layer_libs,$(cxl_graph_LAYERS),$(BUILD)/asan)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(cxl_graph_CFLAGS) $(SAN_FLAGS) -Itests -Isrc/graph -o $@ $< $(GRAPH_CORE_SRCS) \
	    $(call layer_libs,$(cxl_graph_LAYERS),$(BUILD)/asan) $(call layer_syslibs,$(cxl_graph_LAYERS))

# test_ycsb: cxl_ycsb's files but main.c
$(BUILD)/tests/test_ycsb: tests/unit/test_ycsb.c $(YCSB_CORE_SRCS) $(cxl_ycsb_HDRS) $(TEST_HDRS) \
                         $(call layer_libs,$(cxl_ycsb_LAYERS),$(BUILD))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -Isrc/ycsb -o $@ $< $(YCSB_CORE_SRCS) \
	    $(call layer_libs,$(cxl_ycsb_LAYERS),$(BUILD)) $(call layer_syslibs,$(cxl_ycsb_LAYERS))

$(BUILD)/asan/tests/test_ycsb: tests/unit/test_ycsb.c $(YCSB_CORE_SRCS) $(cxl_ycsb_HDRS) $(TEST_HDRS) \
                              $(call layer_libs,$(cxl_ycsb_LAYERS),$(BUILD)/asan)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests -Isrc/ycsb -o $@ $< $(YCSB_CORE_SRCS) \
	    $(call layer_libs,$(cxl_ycsb_LAYERS),$(BUILD)/asan) $(call layer_syslibs,$(cxl_ycsb_LAYERS))

$(BUILD)/tests/%: tests/unit/%.c $(TEST_HDRS) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(ALL_LIBS) $(ALL_SYSLIBS)

$(BUILD)/asan/tests/%: tests/unit/%.c $(TEST_HDRS) $(ALL_ASAN_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests -o $@ $< $(ALL_ASAN_LIBS) $(ALL_SYSLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_HDRS) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(ALL_LIBS) $(ALL_SYSLIBS)

$(BUILD)/asan/tests/%: tests/%.c $(TEST_HDRS) $(ALL_ASAN_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests -o $@ $< $(ALL_ASAN_LIBS) $(ALL_SYSLIBS)

# the public headers alone: no -Isrc/lib
$(BUILD)/tests/public_api: tests/public_api.c $(wildcard include/cxl/*.h) $(call layer_libs,kv sec ring base,$(BUILD))
	@mkdir -p $(dir $@)
	$(CC) $(PUBLIC_CFLAGS) -o $@ $< $(call layer_libs,kv sec ring base,$(BUILD)) $(call layer_syslibs,kv sec ring base)

$(BUILD)/tests/attack: $(ATTACK_SRCS) $(ATTACK_HDRS) $(TEST_HDRS) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $(ATTACK_SRCS) $(ALL_LIBS) $(ALL_SYSLIBS)

$(BUILD)/asan/tests/attack: $(ATTACK_SRCS) $(ATTACK_HDRS) $(TEST_HDRS) $(ALL_ASAN_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests -o $@ $(ATTACK_SRCS) $(ALL_ASAN_LIBS) $(ALL_SYSLIBS)

$(BUILD)/bench/%: $$(%_SRCS) $$(%_HDRS) $$(call layer_libs,$$(%_LAYERS),$(BUILD)) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $($*_SRCS) $(call layer_libs,$($*_LAYERS),$(BUILD)) $(call layer_syslibs,$($*_LAYERS)) \
	    $($*_SYSLIBS)

# --- the graph kernels (src/graph/, OpenMP) and their test ----------------------
GRAPH_KERNEL_SRCS := $(addprefix src/graph/,bfs.c pr.c pr_spmv.c cc.c cc_sv.c sssp.c bc.c tc.c kernel_arrays.c \
                     fault.c verify.c verify_kernels.c)
GRAPH_KERNEL_DEPS := tests/graph_kernels.c $(GRAPH_KERNEL_SRCS) src/graph/graph.h src/graph/kernels.h $(TEST_HDRS)
all: $(BUILD)/tests/graph_kernels $(BUILD)/gapbs/.links

# GAPBS's program names, as the original prototype's builds: build/gapbs/bfs,
# bfs-ring, bfs-ring-crypto, bfs-ring-secure ... (argv[0] picks kernel and mode)
GRAPH_KERNELS := bfs sssp pr pr_spmv cc cc_sv bc tc
$(BUILD)/gapbs/.links: $(BUILD)/bin/cxl_graph
	@mkdir -p $(dir $@)
	@for k in $(GRAPH_KERNELS); do for m in "" -ring -ring-crypto -ring-secure; do \
	  ln -sf ../bin/cxl_graph $(dir $@)$$k$$m; done; done; touch $@
test: $(BUILD)/asan/tests/graph_kernels

$(BUILD)/tests/graph_kernels: $(GRAPH_KERNEL_DEPS) $(BUILD)/lib/libcxl_base.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fopenmp -Itests -Isrc -o $@ tests/graph_kernels.c $(GRAPH_KERNEL_SRCS) \
	    $(BUILD)/lib/libcxl_base.a $(base_SYSLIBS)

$(BUILD)/asan/tests/graph_kernels: $(GRAPH_KERNEL_DEPS) $(BUILD)/asan/lib/libcxl_base.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -fopenmp -Itests -Isrc -o $@ tests/graph_kernels.c \
	    $(GRAPH_KERNEL_SRCS) $(BUILD)/asan/lib/libcxl_base.a $(base_SYSLIBS)

# --- fuzzing (clang + libFuzzer) -----------------------------------------------
FUZZ_FLAGS = -std=gnu11 -g -O1 -Iinclude -Isrc/lib -fsanitize=fuzzer,address,undefined
$(BUILD)/fuzz/%: fuzz/%.c $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRCS) $(ALL_SYSLIBS)

# fuzz_graph: cxl_graph's files but main.c, with OpenMP (libomp)
$(BUILD)/fuzz/fuzz_graph: fuzz/fuzz_graph.c $(GRAPH_CORE_SRCS) $(cxl_graph_HDRS) $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -fopenmp -Isrc/graph -o $@ $< $(GRAPH_CORE_SRCS) $(LIB_SRCS) $(ALL_SYSLIBS)

fuzz: $(FUZZERS:%=$(BUILD)/fuzz/%)
	@for f in $(FUZZERS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$f; \
	  echo "fuzz: $$f (bounded run, $${FUZZ_SECONDS:-20}s)"; \
	  $(BUILD)/fuzz/$$f -max_total_time=$${FUZZ_SECONDS:-20} -print_final_stats=1 \
	     -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$f fuzz/seeds/$$f \
	     >$(BUILD)/fuzz/$$f.log 2>&1; rc=$$?; tail -n 4 $(BUILD)/fuzz/$$f.log; \
	  [ $$rc -eq 0 ] || { echo "fuzz: $$f failed, see $(BUILD)/fuzz/$$f.log"; exit 1; }; \
	done

fuzz-seeds:
	@bash fuzz/make_seeds.sh

fuzz-long:
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-1800}

# --- the two commands ------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_TESTS:%=$(BUILD)/asan/tests/%) \
	    $(TEST_PROGS:%=$(BUILD)/asan/tests/%) $(BUILD)/asan/tests/attack $(FUZZERS:%=$(BUILD)/fuzz/%) \
	    $(BUILD)/asan/cxl_ring.so $(PROGRAMS:%=$(BUILD)/asan/bin/%)
	@TESTS="$(T)" bash tests/run.sh $(BUILD)

# the fast tests only: no package installs, no sanitizer builds, no fuzzing
check: all
	@QUICK=1 TESTS="$(T)" bash tests/run.sh $(BUILD)

demo:
	@bash scripts/deps.sh demo
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh $(BUILD)

bench: all
	@bash bench/run.sh $(BUILD)

# --- the two-VM emulation (docs/VMS.md) -----------------------------------------------
.PHONY: vm test-vm
vm: all
	@bash infra/build_guest.sh --build $(BUILD)

test-vm:
	@bash scripts/deps.sh test
	@bash scripts/deps.sh vm
	@$(MAKE) --no-print-directory vm
	@bash tests/vm/run.sh $(BUILD)

# --- Redis 7.0's own test suite through the gateway (~15 min; not part of test) ----
.PHONY: test-redis-suite
test-redis-suite:
	@bash scripts/deps.sh redis-suite
	@$(MAKE) --no-print-directory $(BUILD)/bin/cxl_resp_gateway $(BUILD)/cxl_ring.so
	@bash tests/redis_suite.sh $(BUILD)

clean:
	rm -rf $(BUILD)
