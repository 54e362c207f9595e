# criu-lite: one Makefile, in-tree build. `make V=1` shows full commands.

ARCH		?= x86
CC		?= gcc
LD		?= ld
OBJCOPY		?= objcopy
PROTOC_C	?= protoc-c

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
NL_CFLAGS	= $(shell pkg-config --cflags libnl-3.0 2>/dev/null)
NL_LIBS		= $(shell pkg-config --libs libnl-3.0 2>/dev/null)
INCLUDES	:= -iquote include -iquote arch/$(ARCH)/include -iquote criu-lite \
		   -iquote parasite -iquote proto -iquote pie
WARN		:= -Wall -Wextra -Werror
CFLAGS_HOST	= -std=gnu11 -O2 -g $(WARN) $(INCLUDES) -D_GNU_SOURCE \
		   -DCR_VERSION='"$(VERSION)"' -MMD -MP $(NL_CFLAGS) $(EXTRA_CFLAGS)
LIBS		= -lprotobuf-c $(NL_LIBS)
# The injection engine (parasite/, arch/) sees none of the tool's folders:
# an include of criu-lite/, proto/ or pie/ there does not compile.
ENGINE_INCLUDES	:= -iquote include -iquote arch/$(ARCH)/include -iquote parasite
CFLAGS_ENGINE	:= -std=gnu11 -O2 -g $(WARN) $(ENGINE_INCLUDES) -D_GNU_SOURCE -MMD -MP $(EXTRA_CFLAGS)

# ---- protobuf ---------------------------------------------------------
PROTOS		:= $(wildcard proto/*.proto)
PROTO_C		:= $(PROTOS:.proto=.pb-c.c)
PROTO_H		:= $(PROTOS:.proto=.pb-c.h)
PROTO_O		:= $(PROTOS:.proto=.pb-c.o)

# Static pattern rules throughout: generated headers must be explicit
# targets, or make's implicit search rejects rules that need them.
$(PROTO_H): proto/%.pb-c.h: proto/%.proto
	$(call msg,PROTOC,$<)
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=proto $<

# protoc-c writes the .c together with the .h.
$(PROTO_C): proto/%.pb-c.c: proto/%.pb-c.h
	$(Q)test -f $@ || $(PROTOC_C) --proto_path=proto --c_out=proto proto/$*.proto

$(PROTO_O): %.o: %.c
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -iquote proto -c -o $@ $<

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
PIE_LIB_O	:= $(patsubst %.c,%.pie.o,$(patsubst %.S,%.pie.o,$(PIE_LIB_SRC)))
BLOBS		:= parasite restorer

pie/%.pie.o: pie/%.c
	$(call msg,PIECC,$@)
	$(Q)$(CC) $(CFLAGS_PIE) -c -o $@ $<
pie/lib/%.pie.o: pie/lib/%.c
	$(call msg,PIECC,$@)
	$(Q)$(CC) $(CFLAGS_PIE) -c -o $@ $<
arch/$(ARCH)/pie/%.pie.o: arch/$(ARCH)/pie/%.S
	$(call msg,PIEAS,$@)
	$(Q)$(CC) $(CFLAGS_PIE) -c -o $@ $<

pie/%.elf: pie/%.pie.o $(PIE_LIB_O) pie/pie.lds
	$(call msg,LD,$@)
	$(Q)$(LINK_BLOB) -o $@ $< $(PIE_LIB_O)

BLOB_H		:= $(BLOBS:%=pie/%-blob.h)
$(BLOB_H): pie/%-blob.h: pie/%.elf scripts/blob2h
	$(call msg,BLOB,$@)
	$(Q)sh scripts/blob2h $< $* > $@.tmp && mv $@.tmp $@

# ---- the injection engine: libinfect.a -----------------------------------
# parasite/ and arch/ alone; its API is parasite/infect.h (the blob's side:
# parasite/infect-abi.h). cr, the unit tests and test/engine link it.
ENGINE_SRC	:= $(wildcard parasite/*.c) $(wildcard arch/$(ARCH)/*.c)
ENGINE_ASM	:= $(wildcard arch/$(ARCH)/*.S)
ENGINE_O	:= $(ENGINE_SRC:.c=.o) $(ENGINE_ASM:.S=.o)

$(ENGINE_SRC:.c=.o): %.o: %.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_ENGINE) -c -o $@ $<
$(ENGINE_ASM:.S=.o): %.o: %.S
	$(call msg,AS,$@)
	$(Q)$(CC) $(CFLAGS_ENGINE) -c -o $@ $<
libinfect.a: $(ENGINE_O)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# ---- the cr tool --------------------------------------------------------
TOOL_SRC	:= $(wildcard criu-lite/*.c)
TOOL_O		:= $(TOOL_SRC:.c=.o)
LIB_O		:= $(filter-out criu-lite/main.o,$(TOOL_O)) $(PROTO_O)

$(filter criu-lite/%,$(TOOL_O)): criu-lite/%.o: criu-lite/%.c | $(PROTO_H) $(BLOB_H)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_HOST) -c -o $@ $<

.SECONDARY:

all: cr zdtm-bins engine-test
.PHONY: all

cr: $(TOOL_O) $(PROTO_O) libinfect.a
	$(call msg,LINK,$@)
	$(Q)$(CC) -o $@ $^ $(LIBS)

# ---- tests --------------------------------------------------------------
UNIT_SRC	:= $(wildcard test/unit/*.c)
UNIT_O		:= $(UNIT_SRC:.c=.o)
$(UNIT_O): test/unit/%.o: test/unit/%.c | $(PROTO_H) $(BLOB_H)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_HOST) -c -o $@ $<
# An archive: tests pull in only the objects they use.
libcr.a: $(LIB_O)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
test/unit/unit-tests: $(UNIT_O) libcr.a libinfect.a
	$(call msg,LINK,$@)
	$(Q)$(CC) -o $@ $(UNIT_O) libcr.a libinfect.a $(LIBS) -lcunit

# The engine's own test: a target, a blob built like pie/'s but from the
# engine's headers alone, and a program that sees only the engine's
# folders and links every object of libinfect.a and nothing else: an
# undefined reference there is the engine leaning on cr.
test/engine/engine-blob.pie.o: test/engine/engine-blob.c
	$(call msg,PIECC,$@)
	$(Q)$(CC) $(PIE_FLAGS) $(ENGINE_INCLUDES) -c -o $@ $<
test/engine/engine-blob.elf: test/engine/engine-blob.pie.o arch/$(ARCH)/pie/head.pie.o pie/pie.lds
	$(call msg,LD,$@)
	$(Q)$(LINK_BLOB) -o $@ $(filter %.o,$^)
test/engine/engine-blob.h: test/engine/engine-blob.elf scripts/blob2h
	$(call msg,BLOB,$@)
	$(Q)sh scripts/blob2h $< engine > $@.tmp && mv $@.tmp $@
test/engine/engine-test.o: test/engine/engine-test.c | test/engine/engine-blob.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_ENGINE) -c -o $@ $<
test/engine/engine-test: test/engine/engine-test.o libinfect.a
	$(call msg,LINK,$@)
	$(Q)$(CC) -o $@ $< -Wl,--whole-archive libinfect.a -Wl,--no-whole-archive
test/engine/engine-target: test/engine/engine-target.c
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -o $@ $<
engine-test: test/engine/engine-test test/engine/engine-target
.PHONY: engine-test

ZDTM_SRC	:= $(wildcard test/zdtm/static/*.c)
ZDTM_BIN	:= $(ZDTM_SRC:.c=)
ZDTM_LIB	:= $(wildcard test/zdtm/lib/*.c)
test/zdtm/static/%: test/zdtm/static/%.c $(ZDTM_LIB) $(wildcard test/zdtm/lib/*.h)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -iquote test/zdtm/lib -o $@ $< $(ZDTM_LIB) -lpthread -lrt
# A test built from another one's source.
test/zdtm/static/amx_released: test/zdtm/static/amx_tiles.c
test/zdtm/static/anon_256m: test/zdtm/static/anon_64m.c
# The image fuzzer knows the format from image.h alone.
test/zdtm/fuzz-images: test/zdtm/fuzz-images.c criu-lite/image.h
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -iquote criu-lite -o $@ $<
zdtm-bins: $(ZDTM_BIN) test/zdtm/fuzz-images
.PHONY: zdtm-bins

deps:
	$(Q)sh scripts/install-deps

check: deps
	$(Q)$(MAKE) --no-print-directory all test/unit/unit-tests
	$(Q)sh scripts/run-tests

demo: deps
	$(Q)$(MAKE) --no-print-directory cr scripts/demo-counter
	$(Q)V=$(V) sh scripts/demo

bench: deps
	$(Q)$(MAKE) --no-print-directory cr
	$(Q)sh scripts/bench

scripts/demo-counter: scripts/demo-counter.c
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

clean:
	$(Q)rm -f cr libcr.a libinfect.a $(TOOL_O) $(ENGINE_O) $(UNIT_O) test/unit/unit-tests $(ZDTM_BIN) test/zdtm/fuzz-images \
		proto/*.pb-c.[cho] pie/*.o pie/lib/*.o arch/*/pie/*.o pie/*.elf pie/*-blob.h \
		scripts/demo-counter test/engine/engine-test test/engine/engine-target test/engine/*.o \
		test/engine/*.elf test/engine/*-blob.h $(shell find . -name '*.d')
.PHONY: deps check demo bench clean

-include $(shell find . -name '*.d' 2>/dev/null)
