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
                -Wno-missing-field-initializers -fPIC -pthread -Iinclude -Isrc/lib
CFLAGS  ?=
ALL_CFLAGS = $(CFLAGS_COMMON) $(CFLAGS)
LDLIBS  = -lsodium -lnuma -lssl -lcrypto -lpthread -lm
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

LIB_SRCS   := $(sort $(wildcard src/lib/*.c))
LIB_HDRS   := $(wildcard include/cxl/*.h src/lib/*.h)

# Programs: one folder each under src/, binary name = folder's program name.
PROGRAMS   := cxl_shm cxl_ring_direct cxl_sec_mgr cxl_resp_gateway cxl_sodium_tunnel
cxl_shm_SRCS := $(wildcard src/shm_tool/*.c)
cxl_shm_HDRS := $(wildcard src/shm_tool/*.h)
cxl_resp_gateway_SRCS := $(wildcard src/gateway/*.c)
cxl_resp_gateway_HDRS := $(wildcard src/gateway/*.h)
cxl_ring_direct_SRCS := $(wildcard src/client/*.c)
cxl_ring_direct_HDRS := $(wildcard src/client/*.h)
cxl_sec_mgr_SRCS := $(wildcard src/sec_mgr/*.c)
cxl_sec_mgr_HDRS := $(wildcard src/sec_mgr/*.h)
cxl_sodium_tunnel_SRCS := $(wildcard src/tunnel/*.c)
cxl_sodium_tunnel_HDRS := $(wildcard src/tunnel/*.h)

MODULE_SRCS := $(wildcard src/redis_module/*.c)
MODULE_HDRS := $(wildcard src/redis_module/*.h)

TEST_HDRS  := $(wildcard tests/*.h)
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
TEST_PROGS := ring_stress redis_ring redis_rights keyring_threads
# The attacker suite: one program from the folder tests/attack/ (its rules below).
ATTACK_SRCS := $(wildcard tests/attack/*.c)
ATTACK_HDRS := $(wildcard tests/attack/*.h)

# Benches: one folder each under bench/, binary build/bench/<name>.
BENCHES    := ring_pingpong
ring_pingpong_SRCS := $(wildcard bench/pingpong/*.c)
ring_pingpong_HDRS := $(wildcard bench/pingpong/*.h)
FUZZERS    := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))

.PHONY: all deps test check fuzz fuzz-long fuzz-seeds demo bench clean
all: $(BUILD)/lib/libcxldsm.a $(PROGRAMS:%=$(BUILD)/bin/%) $(BUILD)/cxl_ring.so \
     $(UNIT_TESTS:%=$(BUILD)/tests/%) $(TEST_PROGS:%=$(BUILD)/tests/%) $(BUILD)/tests/attack \
     $(BENCHES:%=$(BUILD)/bench/%)

deps:
	@bash scripts/deps.sh test

# --- library (normal and sanitizer flavours) --------------------------------
$(BUILD)/obj/%.o: src/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/%.o: src/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/lib/libcxldsm.a: $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

$(BUILD)/asan/lib/libcxldsm.a: $(LIB_SRCS:src/%.c=$(BUILD)/asan/obj/%.o)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

# --- programs ----------------------------------------------------------------
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(%_SRCS) $$(%_HDRS) $(BUILD)/lib/libcxldsm.a $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $($*_SRCS) $(BUILD)/lib/libcxldsm.a $(LDLIBS)

# --- the Redis module: libcxldsm linked in, only the module entry points
# exported (-fvisibility=hidden, --exclude-libs) --------------------------------
$(BUILD)/cxl_ring.so: $(MODULE_SRCS) $(MODULE_HDRS) $(BUILD)/lib/libcxldsm.a $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -shared -o $@ $(MODULE_SRCS) $(BUILD)/lib/libcxldsm.a \
	    -Wl,--exclude-libs,ALL -Wl,-z,defs $(LDLIBS)

$(BUILD)/asan/cxl_ring.so: $(MODULE_SRCS) $(MODULE_HDRS) $(BUILD)/asan/lib/libcxldsm.a $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -fvisibility=hidden -shared -o $@ $(MODULE_SRCS) \
	    $(BUILD)/asan/lib/libcxldsm.a -Wl,--exclude-libs,ALL $(LDLIBS)

$(BUILD)/asan/bin/%: $$(%_SRCS) $$(%_HDRS) $(BUILD)/asan/lib/libcxldsm.a $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $($*_SRCS) $(BUILD)/asan/lib/libcxldsm.a $(LDLIBS)

# --- tests and benches (normal and sanitizer flavours) -------------------------
$(BUILD)/tests/%: tests/unit/%.c $(TEST_HDRS) $(BUILD)/lib/libcxldsm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(BUILD)/lib/libcxldsm.a $(LDLIBS)

$(BUILD)/asan/tests/%: tests/unit/%.c $(TEST_HDRS) $(BUILD)/asan/lib/libcxldsm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests -o $@ $< $(BUILD)/asan/lib/libcxldsm.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_HDRS) $(BUILD)/lib/libcxldsm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(BUILD)/lib/libcxldsm.a $(LDLIBS)

$(BUILD)/asan/tests/%: tests/%.c $(TEST_HDRS) $(BUILD)/asan/lib/libcxldsm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests -o $@ $< $(BUILD)/asan/lib/libcxldsm.a $(LDLIBS)

$(BUILD)/tests/attack: $(ATTACK_SRCS) $(ATTACK_HDRS) $(TEST_HDRS) $(BUILD)/lib/libcxldsm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $(ATTACK_SRCS) $(BUILD)/lib/libcxldsm.a $(LDLIBS)

$(BUILD)/asan/tests/attack: $(ATTACK_SRCS) $(ATTACK_HDRS) $(TEST_HDRS) $(BUILD)/asan/lib/libcxldsm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests -o $@ $(ATTACK_SRCS) $(BUILD)/asan/lib/libcxldsm.a $(LDLIBS)

$(BUILD)/bench/%: $$(%_SRCS) $$(%_HDRS) $(BUILD)/lib/libcxldsm.a $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $($*_SRCS) $(BUILD)/lib/libcxldsm.a $(LDLIBS)

# --- fuzzing (clang + libFuzzer) -----------------------------------------------
FUZZ_FLAGS = -std=gnu11 -g -O1 -Iinclude -Isrc/lib -fsanitize=fuzzer,address,undefined
# a target that reaches into a program names its sources: fuzz_<name>_SRCS
fuzz_tunnel_SRCS := src/tunnel/crypt.c src/tunnel/hello.c
fuzz_tunnel_INCS := -Isrc/tunnel
$(BUILD)/fuzz/%: fuzz/%.c $$(%_SRCS) $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) $($*_INCS) -o $@ $< $($*_SRCS) $(LIB_SRCS) $(LDLIBS)

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
