# coi: build, run and test. `make run` starts the service; `make test` runs every test.
.SUFFIXES:
.DEFAULT_GOAL := build

CC ?= cc
# Where objects and binaries go (helpers working side by side may each use their own).
BUILD ?= build
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -I/usr/include/postgresql -pthread $(WARN)
LIBS := -lulfius -lorcania -ljansson -ljwt -lpq -lsqlite3 -lstemmer -lmicrohttpd -lm -pthread

RELEASE_CFLAGS := $(BASE_CFLAGS) -O2 -g
ASAN_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined

SRC := $(wildcard api/*.c auth/*.c storage/*.c storage/sqlite/*.c storage/postgres/*.c)
LIB_SRC := $(filter-out api/main.c,$(SRC))
HDR := $(wildcard api/*.h auth/*.h storage/*.h storage/sqlite/*.h storage/postgres/*.h)
UNIT_SRC := $(wildcard tests/unit/*.c)
EMBED_INPUTS := $(wildcard migrations/*/*) $(wildcard migrations/*/) openapi/openapi.yaml scripts/embed.py data/danish_public_bodies.csv
GEN := $(BUILD)/gen/embedded.c

.PHONY: build run test deps test-deps bench clean format lint-openapi

build: $(BUILD)/coi

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

$(GEN): $(EMBED_INPUTS)
	@mkdir -p $(BUILD)/gen
	@echo "  EMBED   $@"
	@/usr/bin/python3 scripts/embed.py . $@

$(BUILD)/release/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(RELEASE_CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	@echo "  CC/san  $<"
	@$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(BUILD)/coi: $(SRC:%.c=$(BUILD)/release/%.o) $(BUILD)/release/$(GEN:.c=.o)
	@echo "  LD      $@"
	@$(CC) $(RELEASE_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/coi-test: $(SRC:%.c=$(BUILD)/asan/%.o) $(BUILD)/asan/$(GEN:.c=.o)
	@echo "  LD      $@"
	@$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit-tests: $(UNIT_SRC:%.c=$(BUILD)/asan/%.o) $(LIB_SRC:%.c=$(BUILD)/asan/%.o) $(BUILD)/asan/$(GEN:.c=.o)
	@echo "  LD      $@"
	@$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

run: deps $(BUILD)/coi
	@mkdir -p var
	./$(BUILD)/coi serve --dev

test: test-deps
	@$(MAKE) --no-print-directory $(BUILD)/coi-test $(BUILD)/unit-tests node_modules/.package-lock.json
	@BUILD=$(BUILD) tests/run.sh

# `make bench BENCH_SECONDS=N`: bench/run.sh, N seconds per measurement (COI_DB_POOL_SIZE too).
BENCH_SECONDS ?= 10

bench:
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/coi
	@COI_BIN=$(BUILD)/coi BENCH_SECONDS=$(BENCH_SECONDS) bench/run.sh

.PHONY: bench-search
bench-search:
	@bench/search.sh

# `make bench-batch`: bench/batch.sh, 100 000 cases pushed through the batch route on PostgreSQL
# (BENCH_BATCH_CONCURRENCY="1 2" runs 1 and 2 parallel streams, BENCH_BATCH_FORMAT=json arrays).
.PHONY: bench-batch
bench-batch:
	@$(MAKE) --no-print-directory $(BUILD)/coi
	@COI_BIN=$(BUILD)/coi bench/batch.sh

format:
	clang-format -i $(SRC) $(HDR) $(UNIT_SRC)

clean:
	rm -rf $(BUILD)
