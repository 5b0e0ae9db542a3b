# SPDX-License-Identifier: Apache-2.0
# agentfence: `make run` and `make test` are all a newcomer needs.

CC      ?= gcc
CFLAGS  ?= -O2 -g -DNDEBUG
WARN    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror
LDLIBS  := -lyaml -ljansson -lcurl
BUILD   ?= build
VERSION := 0.1.0
DATE    := December 1, 2026
PREFIX  ?= /usr/local
DESTDIR ?=

# Debian packages the build and the tests need (Debian's versions are the contract).
# util-linux and iproute2: tests/probe builds its network namespaces with unshare and ip.
# mandoc to fish: tests/pkg checks the man pages and the completions;
# debhelper to lintian: tests/pkg builds the Debian package (debian/) and checks it.
# pre-commit: tests/test_ci.py runs the hook of .pre-commit-hooks.yaml.
DEB_PKGS := gcc make libyaml-dev libjansson-dev libcmocka-dev \
            libcurl4-openssl-dev openssl util-linux iproute2 \
            mandoc man-db groff-base bash-completion zsh fish \
            debhelper dpkg-dev fakeroot lintian pre-commit

# compiler/: the compiler; cluster/: the client that puts its output on a
# cluster (kubeconfig, API client, apply). compiler/ never includes a
# cluster/ header (its objects are built without -Icluster); main.c, the
# CLI of both, sees both.
SRCS := $(filter-out compiler/main.c,$(wildcard compiler/*.c cluster/*.c probe/*.c))
HDRS := $(wildcard compiler/*.h cluster/*.h probe/*.h)
OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(notdir $(SRCS))) $(BUILD)/obj/templates.o \
        $(BUILD)/obj/schemas.o
INC  := -Icompiler -Icluster -Iprobe
TEMPLATES := templates/pod.yaml templates/networkpolicy.yaml templates/egressgatewaypolicy.yaml
# schema/ embedded too: `agentfence crd` generates the CRDs from them
SCHEMAS := schema/agentisolation.schema.json schema/clusterprofile.schema.json

.PHONY: all run test deps unit golden e2e update-golden bench asan ubsan valgrind clean \
        fuzz test-bins lint check-deps alloc safety doc install uninstall
all: $(BUILD)/agentfence

CC_OBJ = @mkdir -p $(@D); echo "  CC $<"; \
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -DAGENTFENCE_VERSION='"$(VERSION)"' $(1) -c $< -o $@

$(BUILD)/obj/main.o: compiler/main.c $(HDRS)
	$(call CC_OBJ,$(INC) -DAGENTFENCE_DATE='"$(DATE)"')

$(BUILD)/obj/%.o: compiler/%.c $(wildcard compiler/*.h)
	$(call CC_OBJ,-Icompiler)

$(BUILD)/obj/%.o: cluster/%.c $(HDRS)
	$(call CC_OBJ,$(INC))

# probe/: `agentfence probe`, run inside an agent's Pod (it reads the catalogue)
$(BUILD)/obj/%.o: probe/%.c $(HDRS)
	$(call CC_OBJ,-Icompiler -Iprobe)

# templates/ embedded as C strings
$(BUILD)/templates.c: $(TEMPLATES) tests/embed.sh
	@mkdir -p $(@D)
	sh tests/embed.sh $(TEMPLATES) > $@

$(BUILD)/obj/templates.o: $(BUILD)/templates.c
	$(CC) $(WARN) $(CFLAGS) -Wno-missing-variable-declarations -c $< -o $@

$(BUILD)/schemas.c: $(SCHEMAS) tests/embed.sh
	@mkdir -p $(@D)
	sh tests/embed.sh -p schema $(SCHEMAS) > $@

$(BUILD)/obj/schemas.o: $(BUILD)/schemas.c
	$(CC) $(WARN) $(CFLAGS) -Wno-missing-variable-declarations -c $< -o $@

$(BUILD)/libagentfence.a: $(OBJS)
	@ar rcs $@ $^

$(BUILD)/agentfence: $(BUILD)/obj/main.o $(BUILD)/libagentfence.a
	@echo "  LD $@"; $(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --- man pages and shell completion: written by the binary from its option table ---
$(BUILD)/man/.stamp: $(BUILD)/agentfence
	@rm -rf $(@D); mkdir -p $(@D)
	@set -e; for p in $$($(BUILD)/agentfence __man --list); do \
	  c=$${p#agentfence}; echo "  MAN $(@D)/$$p.1"; \
	  $(BUILD)/agentfence __man $${c#-} > $(@D)/$$p.1; done; touch $@

$(BUILD)/completion/.stamp: $(BUILD)/agentfence
	@rm -rf $(@D); mkdir -p $(@D)
	$(BUILD)/agentfence completion bash > $(@D)/agentfence
	$(BUILD)/agentfence completion zsh > $(@D)/_agentfence
	$(BUILD)/agentfence completion fish > $(@D)/agentfence.fish
	@touch $@

doc: $(BUILD)/man/.stamp $(BUILD)/completion/.stamp

# `make install PREFIX=/usr DESTDIR=/tmp/root`; kubectl-agentfence makes it a kubectl plugin
BINDIR := $(DESTDIR)$(PREFIX)/bin
MAN1DIR := $(DESTDIR)$(PREFIX)/share/man/man1
BASHDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR := $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions
FISHDIR := $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

install: all doc
	install -d $(BINDIR) $(MAN1DIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	install -m 755 $(BUILD)/agentfence $(BINDIR)/agentfence
	ln -sf agentfence $(BINDIR)/kubectl-agentfence
	install -m 644 $(BUILD)/man/*.1 $(MAN1DIR)/
	ln -sf agentfence.1 $(MAN1DIR)/kubectl-agentfence.1
	install -m 644 $(BUILD)/completion/agentfence $(BASHDIR)/agentfence
	ln -sf agentfence $(BASHDIR)/kubectl-agentfence
	install -m 644 $(BUILD)/completion/_agentfence $(ZSHDIR)/_agentfence
	install -m 644 $(BUILD)/completion/agentfence.fish $(FISHDIR)/agentfence.fish

uninstall:
	rm -f $(BINDIR)/agentfence $(BINDIR)/kubectl-agentfence
	rm -f $(MAN1DIR)/agentfence.1 $(MAN1DIR)/agentfence-*.1 $(MAN1DIR)/kubectl-agentfence.1
	rm -f $(BASHDIR)/agentfence $(BASHDIR)/kubectl-agentfence $(ZSHDIR)/_agentfence \
	  $(FISHDIR)/agentfence.fish

deps:
	@sh tests/deps.sh $(DEB_PKGS)

# what the sanitizer, fuzz, valgrind and lint targets need on top
CHECK_PKGS := clang libclang-rt-dev clang-tidy cppcheck valgrind
check-deps:
	@sh tests/deps.sh $(DEB_PKGS) $(CHECK_PKGS)

run: deps
	@$(MAKE) --no-print-directory all
	rm -rf out
	@set -e; for f in examples/*.yaml; do \
	  case $$f in examples/profile-*) continue;; esac; \
	  b=$$(basename $$f .yaml); prof=; \
	  [ -f examples/profile-$$b.yaml ] && prof="--cluster examples/profile-$$b.yaml"; \
	  echo "  compile $$f -> out/$$b/"; \
	  $(BUILD)/agentfence compile $$prof -o out/$$b $$f; \
	done

# --- tests ---
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libagentfence.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(INC) $< -o $@ $(BUILD)/libagentfence.a $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "  unit $$t"; $$t; done

# fuzz targets (tests/fuzz/): replay drivers for the saved corpus and crashes
# (tests/run.sh runs them), libFuzzer binaries in build/fuzz/ for `make fuzz`
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/memfile.h $(BUILD)/libagentfence.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(INC) $< tests/fuzz/replay.c -o $@ $(BUILD)/libagentfence.a $(LDLIBS)

# tests/diff/: the address module on lines of stdin, against Python's ipaddress
$(BUILD)/cidr_driver: tests/diff/cidr_driver.c $(BUILD)/libagentfence.a
	$(CC) $(WARN) $(CFLAGS) $(INC) $< -o $@ $(BUILD)/libagentfence.a $(LDLIBS)

# what tests/run.sh needs beside the binary
test-bins: $(FUZZ_TARGETS:%=$(BUILD)/replay/%) $(BUILD)/cidr_driver

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/memfile.h $(BUILD)/libagentfence.a
	$(CC) $(WARN) $(CFLAGS) -fsanitize=fuzzer $(INC) $< -o $@ $(BUILD)/libagentfence.a $(LDLIBS)

# new inputs go to build/fuzz/corpus/T (tests/fuzz/corpus/T is read only);
# crashes to build/fuzz/crashes/T/: copy them to tests/fuzz/crashes/T/ with the fix
fuzz: check-deps
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -DAF_PLAIN_MALLOC" \
	  $(FUZZ_TARGETS:%=build/fuzz/%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t build/fuzz/crashes/$$t; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  echo "  fuzz $$t for $(FUZZ_SECONDS)s"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -workers=1 -print_final_stats=1 $$dict \
	    -artifact_prefix=build/fuzz/crashes/$$t/ build/fuzz/corpus/$$t tests/fuzz/corpus/$$t; \
	done

test: deps
	@$(MAKE) --no-print-directory all unit test-bins
	LC_ALL=C sh tests/run.sh $(BUILD)/agentfence

update-golden: all
	LC_ALL=C sh tests/golden.sh $(BUILD)/agentfence --update

bench: all
	sh bench/run.sh $(BUILD)/agentfence

# the benchmark's read floor: libyaml's event parser alone (bench/run.sh builds it)
$(BUILD)/bench/floor: bench/floor.c
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(WARN) $(CFLAGS) $< -o $@ -lyaml

# ASan + UBSan (LeakSanitizer included) over the whole suite; a sanitizer
# report exits 86/87, never 1 (which the tests expect of bad input)
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:exitcode=86 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -DAF_PLAIN_MALLOC
UBSAN_CFLAGS := -O1 -g -fsanitize=undefined -fno-sanitize-recover=all

asan: check-deps
	@$(SAN_ENV) $(MAKE) --no-print-directory BUILD=build/asan CC=clang CFLAGS="$(ASAN_CFLAGS)" \
	  LDFLAGS="-fsanitize=address,undefined" all test-bins unit
	$(SAN_ENV) LC_ALL=C sh tests/run.sh build/asan/agentfence

ubsan: check-deps
	@$(SAN_ENV) $(MAKE) --no-print-directory BUILD=build/ubsan CFLAGS="$(UBSAN_CFLAGS)" \
	  LDFLAGS="-fsanitize=undefined" all test-bins unit
	$(SAN_ENV) LC_ALL=C sh tests/run.sh build/ubsan/agentfence

valgrind: check-deps
	@$(MAKE) --no-print-directory BUILD=build/plain CFLAGS="-O1 -g -DAF_PLAIN_MALLOC" all
	LC_ALL=C AGENTFENCE_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	  sh tests/e2e.sh build/plain/agentfence

# allocation-failure walk (tests/alloc.sh): each allocation of a full compile fails once
alloc: check-deps
	@$(MAKE) --no-print-directory BUILD=build/failmalloc CC=clang CFLAGS="$(ASAN_CFLAGS) -DAF_FAILMALLOC" \
	  LDFLAGS="-fsanitize=address,undefined" all
	LC_ALL=C sh tests/alloc.sh build/failmalloc/agentfence

# output folder safety (tests/outdir.sh): kill -9 in the middle of 20,000 agents, a full disk
safety: all
	LC_ALL=C sh tests/outdir.sh $(BUILD)/agentfence

# static analysis: cppcheck, and clang-tidy with .clang-tidy (findings are errors)
lint: check-deps
	cppcheck -q --enable=warning,performance,portability --error-exitcode=1 --inline-suppr $(INC) compiler/ cluster/ probe/
	clang-tidy --quiet $(wildcard compiler/*.c cluster/*.c probe/*.c) -- $(WARN) -DAGENTFENCE_VERSION='"$(VERSION)"' $(INC)

clean:
	rm -rf build out
