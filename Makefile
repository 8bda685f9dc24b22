# jvpn top-level Makefile.
#
#   make            build jvpn.ko (against the installed kernel headers) and
#                   the userspace programs (jvpnd, jvpnctl)
#   make check      install what the suite needs, build, run every test layer
#   make demo       build, boot a guest, show a session jumping paths
#   make bench      benchmarks against WireGuard (writes docs/benchmarks.md)
#   make install    install the module, programs and man pages
#
# The kernel part is built by Kbuild (see ./Kbuild); this file only drives it.

KVER ?= $(shell tools/kver)
KDIR ?= /lib/modules/$(KVER)/build
BUILD ?= build
PREFIX ?= /usr/local

CC ?= cc
PKG_CONFIG ?= pkg-config
NL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS := $(shell $(PKG_CONFIG) --libs libnl-genl-3.0 2>/dev/null)
SODIUM_LIBS := $(shell $(PKG_CONFIG) --libs libsodium 2>/dev/null)
MNL_LIBS := $(shell $(PKG_CONFIG) --libs libmnl 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
USER_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Iinclude/uapi -Itools/lib \
	-Idaemon $(NL_CFLAGS) $(CFLAGS)
SAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
USER_LDFLAGS := $(LDFLAGS)

.PHONY: all module user check demo bench install uninstall clean deps \
	checkpatch unit-tests

all: module user

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Userspace fragments add their binaries to USER_BINS and their unit tests
# to UNIT_TESTS (built with sanitizers into $(BUILD)/tests/unit/).
USER_BINS :=
UNIT_TESTS :=
-include tools/lib/build.mk
-include tools/jvpnctl/build.mk
-include daemon/crypto.mk
-include daemon/handshake.mk
-include daemon/build.mk
-include daemon/jvpnd.mk
-include daemon/reattach.mk
-include tests/unit/build.mk
-include tests/bench/build.mk

user: $(USER_BINS)

unit-tests: $(UNIT_TESTS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -MMD -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN_CFLAGS) -MMD -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

deps:
	tools/deps.sh

check: deps
	$(MAKE) all unit-tests
	tests/run.sh

demo: deps
	$(MAKE) all
	tests/demo.sh

bench: deps
	$(MAKE) all
	tests/bench/run.sh

checkpatch:
	tools/checkpatch.sh

install: all
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=extra modules_install
	depmod -a $(KVER)
	install -D -m 0755 $(USER_BINS) -t $(DESTDIR)$(PREFIX)/sbin
	install -D -m 0644 docs/man/*.8 -t $(DESTDIR)$(PREFIX)/share/man/man8

uninstall:
	rm -f /lib/modules/$(KVER)/extra/jvpn.ko
	depmod -a $(KVER)
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/sbin/,$(notdir $(USER_BINS)))

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)
