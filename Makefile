# criu-lite: one Makefile. Everything it makes goes into build/ (B=...
# for another folder): objects, generated sources, blobs, libraries and
# programs, build/cr among them. `make V=1` shows full commands.

ARCH		?= x86
CC		?= gcc
LD		?= ld
OBJCOPY		?= objcopy
PROTOC_C	?= protoc-c
B		?= build

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2);
endif

# `make` alone builds what `make all` does.
.DEFAULT_GOAL	:= all

VERSION		:= 0.1
# libnl-3 for sock_diag (unix and inet sockets).
# Evaluated when used (after `make deps` installed libnl), quiet before.
NL_CFLAGS	= $(shell pkg-config --cflags libnl-3.0 libnl-route-3.0 2>/dev/null)
NL_LIBS		= $(shell pkg-config --libs libnl-3.0 libnl-route-3.0 2>/dev/null)
# Generated headers (protobuf-c, blobs) are found in build/ too.
INCLUDES	:= -iquote include -iquote arch/$(ARCH)/include -iquote criu-lite \
		   -iquote parasite -iquote proto -iquote pie -iquote $(B)/proto -iquote $(B)/pie
WARN		:= -Wall -Wextra -Werror
CFLAGS_HOST	= -std=gnu11 -O2 -g $(WARN) $(INCLUDES) -D_GNU_SOURCE \
		   -DCR_VERSION='"$(VERSION)"' -MMD -MP $(NL_CFLAGS) $(EXTRA_CFLAGS)
# libzstd: dump --compress (criu-lite/pagez*.c); libcrypto (OpenSSL 3):
# the MACs of signed images (--key-file, image-mac.c).
LIBS		= -lprotobuf-c $(NL_LIBS) -lzstd -lcrypto
# The injection engine (parasite/, arch/) sees none of the tool's folders:
# an include of criu-lite/, proto/ or pie/ there does not compile.
ENGINE_INCLUDES	:= -iquote include -iquote arch/$(ARCH)/include -iquote parasite
CFLAGS_ENGINE	:= -std=gnu11 -O2 -g $(WARN) $(ENGINE_INCLUDES) -D_GNU_SOURCE -MMD -MP $(EXTRA_CFLAGS)

# Every rule makes its output's folder first.
mkout		= @mkdir -p $(@D)

# ---- protobuf ---------------------------------------------------------
PROTOS		:= $(wildcard proto/*.proto)
PROTO_C		:= $(PROTOS:%.proto=$(B)/%.pb-c.c)
PROTO_H		:= $(PROTOS:%.proto=$(B)/%.pb-c.h)
PROTO_O		:= $(PROTOS:%.proto=$(B)/%.pb-c.o)

# Static pattern rules throughout: generated headers must be explicit
# targets, or make's implicit search rejects rules that need them.
$(PROTO_H): $(B)/proto/%.pb-c.h: proto/%.proto
	$(mkout)
	$(call msg,PROTOC,$<)
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(B)/proto $<

# protoc-c writes the .c together with the .h.
$(PROTO_C): $(B)/proto/%.pb-c.c: $(B)/proto/%.pb-c.h
	$(Q)test -f $@ || $(PROTOC_C) --proto_path=proto --c_out=$(B)/proto proto/$*.proto

$(PROTO_O): %.o: %.c
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -iquote $(B)/proto -c -o $@ $<

# ---- PIE blobs (no libc) ----------------------------------------------
PIE_FLAGS	:= -std=gnu11 -O2 $(WARN) -Wno-unused-parameter \
		   -ffreestanding -nostdlib -fpie -fno-stack-protector \
		   -fomit-frame-pointer -fno-asynchronous-unwind-tables \
		   -fno-unwind-tables -fvisibility=hidden -fno-builtin \
		   -fcf-protection=none -mno-red-zone -mgeneral-regs-only \
		   -D_FORTIFY_SOURCE=0 -U_FORTIFY_SOURCE \
		   -DPIE_NOLIBC -MMD -MP
CFLAGS_PIE	:= $(PIE_FLAGS) $(INCLUDES) -iquote pie/lib
LINK_BLOB	= $(LD) -static -nostdlib -pie --no-dynamic-linker -z noexecstack --no-warn-rwx-segments -T pie/pie.lds
PIE_LIB_SRC	:= $(wildcard pie/lib/*.c) $(wildcard arch/$(ARCH)/pie/*.S)
PIE_LIB_O	:= $(patsubst %.c,$(B)/%.pie.o,$(patsubst %.S,$(B)/%.pie.o,$(PIE_LIB_SRC)))
BLOBS		:= parasite restorer
HEAD_PIE_O	:= $(B)/arch/$(ARCH)/pie/head.pie.o

$(B)/pie/%.pie.o: pie/%.c
	$(mkout)
	$(call msg,PIECC,$@)
	$(Q)$(CC) $(CFLAGS_PIE) -c -o $@ $<
$(B)/pie/lib/%.pie.o: pie/lib/%.c
	$(mkout)
	$(call msg,PIECC,$@)
	$(Q)$(CC) $(CFLAGS_PIE) -c -o $@ $<
$(B)/arch/$(ARCH)/pie/%.pie.o: arch/$(ARCH)/pie/%.S
	$(mkout)
	$(call msg,PIEAS,$@)
	$(Q)$(CC) $(CFLAGS_PIE) -c -o $@ $<

$(B)/pie/%.elf: $(B)/pie/%.pie.o $(PIE_LIB_O) pie/pie.lds
	$(call msg,LD,$@)
	$(Q)$(LINK_BLOB) -o $@ $(filter %.pie.o,$^)
# The restorer's parts in files of their own.
$(B)/pie/restorer.elf: $(B)/pie/restorer-aio.pie.o $(B)/pie/restorer-huge.pie.o $(B)/pie/restorer-uffd.pie.o

BLOB_H		:= $(BLOBS:%=$(B)/pie/%-blob.h)
$(BLOB_H): $(B)/pie/%-blob.h: $(B)/pie/%.elf scripts/blob2h
	$(call msg,BLOB,$@)
	$(Q)sh scripts/blob2h $< $* > $@.tmp && mv $@.tmp $@

# ---- the injection engine: libinfect.a -----------------------------------
# parasite/ and arch/ alone; its API is parasite/infect.h (the blob's side:
# parasite/infect-abi.h). cr, the unit tests and test/engine link it.
ENGINE_SRC	:= $(wildcard parasite/*.c) $(wildcard arch/$(ARCH)/*.c)
ENGINE_ASM	:= $(wildcard arch/$(ARCH)/*.S)
ENGINE_O	:= $(ENGINE_SRC:%.c=$(B)/%.o) $(ENGINE_ASM:%.S=$(B)/%.o)
LIBINFECT	:= $(B)/libinfect.a

$(ENGINE_SRC:%.c=$(B)/%.o): $(B)/%.o: %.c
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_ENGINE) -c -o $@ $<
$(ENGINE_ASM:%.S=$(B)/%.o): $(B)/%.o: %.S
	$(mkout)
	$(call msg,AS,$@)
	$(Q)$(CC) $(CFLAGS_ENGINE) -c -o $@ $<
$(LIBINFECT): $(ENGINE_O)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# ---- the cr tool --------------------------------------------------------
TOOL_SRC	:= $(wildcard criu-lite/*.c)
TOOL_O		:= $(TOOL_SRC:%.c=$(B)/%.o)
LIB_O		:= $(filter-out $(B)/criu-lite/main.o,$(TOOL_O)) $(PROTO_O)
CR		:= $(B)/cr
LIBCR		:= $(B)/libcr.a

$(TOOL_O): $(B)/criu-lite/%.o: criu-lite/%.c | $(PROTO_H) $(BLOB_H)
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_HOST) -c -o $@ $<

.SECONDARY:

all: cr zdtm-bins engine-test rpc-client console-recv migrate-bins stats-bins
cr: $(CR)
.PHONY: all cr

$(CR): $(TOOL_O) $(PROTO_O) $(LIBINFECT)
	$(call msg,LINK,$@)
	$(Q)$(CC) -o $@ $^ $(LIBS)

# ---- tests --------------------------------------------------------------
UNIT_SRC	:= $(wildcard test/unit/*.c)
UNIT_O		:= $(UNIT_SRC:%.c=$(B)/%.o)
UNIT_TESTS	:= $(B)/test/unit/unit-tests
$(UNIT_O): $(B)/test/unit/%.o: test/unit/%.c | $(PROTO_H) $(BLOB_H)
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_HOST) -c -o $@ $<
# An archive: tests pull in only the objects they use.
$(LIBCR): $(LIB_O)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(UNIT_TESTS): $(UNIT_O) $(LIBCR) $(LIBINFECT)
	$(call msg,LINK,$@)
	$(Q)$(CC) -o $@ $(UNIT_O) $(LIBCR) $(LIBINFECT) $(LIBS) -lcunit
unit-tests: $(UNIT_TESTS)
.PHONY: unit-tests

# The engine's own test: a target, a blob built like pie/'s but from the
# engine's headers alone, and a program that sees only the engine's
# folders and links every object of libinfect.a and nothing else: an
# undefined reference there is the engine leaning on cr.
ET		:= $(B)/test/engine
$(ET)/engine-blob.pie.o: test/engine/engine-blob.c
	$(mkout)
	$(call msg,PIECC,$@)
	$(Q)$(CC) $(PIE_FLAGS) $(ENGINE_INCLUDES) -c -o $@ $<
$(ET)/engine-blob.elf: $(ET)/engine-blob.pie.o $(HEAD_PIE_O) pie/pie.lds
	$(call msg,LD,$@)
	$(Q)$(LINK_BLOB) -o $@ $(filter %.o,$^)
$(ET)/engine-blob.h: $(ET)/engine-blob.elf scripts/blob2h
	$(call msg,BLOB,$@)
	$(Q)sh scripts/blob2h $< engine > $@.tmp && mv $@.tmp $@
$(ET)/engine-test.o: test/engine/engine-test.c | $(ET)/engine-blob.h
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_ENGINE) -iquote $(ET) -c -o $@ $<
$(ET)/engine-test: $(ET)/engine-test.o $(LIBINFECT)
	$(call msg,LINK,$@)
	$(Q)$(CC) -o $@ $< -Wl,--whole-archive $(LIBINFECT) -Wl,--no-whole-archive
$(ET)/engine-target: test/engine/engine-target.c
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -o $@ $<
engine-test: $(ET)/engine-test $(ET)/engine-target
.PHONY: engine-test

ZT		:= $(B)/test/zdtm
ZDTM_SRC	:= $(wildcard test/zdtm/static/*.c)
ZDTM_BIN	:= $(ZDTM_SRC:%.c=$(B)/%)
ZDTM_LIB	:= $(wildcard test/zdtm/lib/*.c)
$(ZDTM_BIN): $(ZT)/static/%: test/zdtm/static/%.c $(ZDTM_LIB) $(wildcard test/zdtm/lib/*.h)
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -iquote test/zdtm/lib -o $@ $< $(ZDTM_LIB) -lpthread -lrt
# A test built from another one's source.
$(ZT)/static/amx_released: test/zdtm/static/amx_tiles.c
$(ZT)/static/anon_256m: test/zdtm/static/anon_64m.c
$(ZT)/static/ns_mounts_base: test/zdtm/static/ns_mounts.c
# The image fuzzer knows the format from image.h alone.
$(ZT)/fuzz-images: test/zdtm/fuzz-images.c criu-lite/image.h
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -iquote criu-lite -o $@ $<
# The runners' subreaper (test/zdtm/lib/procs.sh builds it too when missing).
$(ZT)/subreaper: test/zdtm/subreaper.c
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<
zdtm-bins: $(ZDTM_BIN) $(ZT)/fuzz-images $(ZT)/subreaper
.PHONY: zdtm-bins

# The RPC's own client (test/rpc): speaks criu's RPC to `cr swrk` as libcriu does.
RPC_CLIENT	:= $(B)/test/rpc/rpc-client
$(RPC_CLIENT): test/rpc/rpc-client.c $(B)/proto/rpc.pb-c.o | $(B)/proto/rpc.pb-c.h
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -iquote $(B)/proto -o $@ $< $(B)/proto/rpc.pb-c.o -lprotobuf-c
rpc-client: $(RPC_CLIENT)
.PHONY: rpc-client

# The container tests' console socket (test/containers/run's runc-tty).
CONSOLE_RECV	:= $(B)/test/containers/console-recv
$(CONSOLE_RECV): test/containers/console-recv.c
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -o $@ $<
console-recv: $(CONSOLE_RECV)
.PHONY: console-recv

# The two-host migration test (test/migrate/run): its writer, and the
# plain TCP stream scripts/bench-pageserver compares the page server with.
MIGRATE_BINS	:= $(B)/test/migrate/mig-writer $(B)/test/migrate/tcp-stream
$(MIGRATE_BINS): $(B)/test/migrate/%: test/migrate/%.c
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -o $@ $<
migrate-bins: $(MIGRATE_BINS)
.PHONY: migrate-bins

# --stats, the progress line and show --pages (test/stats/run): the process it dumps.
STATS_BINS	:= $(B)/test/stats/stats-target
$(STATS_BINS): $(B)/test/stats/%: test/stats/%.c
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -o $@ $<
stats-bins: $(STATS_BINS)
.PHONY: stats-bins

# make install [PREFIX=/usr/local] [DESTDIR=...] [CRIU_LINK=1]: cr in
# $(PREFIX)/sbin, where criu goes; with CRIU_LINK=1 also as `criu`, for
# runtimes that look criu up in PATH (runc's default --criu is "criu").
PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
install: cr
	$(call msg,INSTALL,$(DESTDIR)$(SBINDIR)/cr)
	$(Q)install -D -m 755 $(CR) $(DESTDIR)$(SBINDIR)/cr
ifeq ($(CRIU_LINK),1)
	$(call msg,LN,$(DESTDIR)$(SBINDIR)/criu)
	$(Q)ln -sfn cr $(DESTDIR)$(SBINDIR)/criu
endif
uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/cr
	$(Q)if [ "$$(readlink $(DESTDIR)$(SBINDIR)/criu 2>/dev/null)" = cr ]; then rm -f $(DESTDIR)$(SBINDIR)/criu; fi
.PHONY: install uninstall

deps:
	$(Q)sh scripts/install-deps

check: deps
	$(Q)$(MAKE) --no-print-directory all unit-tests
	$(Q)B=$(B) sh scripts/run-tests

demo: deps
	$(Q)$(MAKE) --no-print-directory cr $(B)/scripts/demo-counter
	$(Q)B=$(B) V=$(V) sh scripts/demo

bench: deps
	$(Q)$(MAKE) --no-print-directory cr migrate-bins
	$(Q)B=$(B) sh scripts/bench

$(B)/scripts/demo-counter: scripts/demo-counter.c
	$(mkout)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

clean:
	$(Q)rm -rf $(B)
.PHONY: deps check demo bench clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
