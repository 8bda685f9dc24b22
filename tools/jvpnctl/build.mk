# jvpnctl, the operator's netlink CLI.  Needs tools/lib/build.mk first.
# $(BUILD)/san/jvpnctl is an ASan/UBSan build for tests (not installed).

JVPNCTL_SRCS := $(wildcard tools/jvpnctl/*.c)
JVPNCTL_OBJS := $(JVPNCTL_SRCS:%.c=$(BUILD)/%.o)
JVPNCTL_SAN_OBJS := $(JVPNCTL_SRCS:%.c=$(BUILD)/san/%.o)

USER_BINS += $(BUILD)/jvpnctl

$(BUILD)/jvpnctl: $(JVPNCTL_OBJS) $(LIBJVPN_OBJS) $(BUILD)/daemon/jsonl.o
	$(CC) $(USER_LDFLAGS) -o $@ $^ $(NL_LIBS) $(SODIUM_LIBS)

$(BUILD)/san/jvpnctl: $(JVPNCTL_SAN_OBJS) $(LIBJVPN_SAN_OBJS) \
		$(BUILD)/san/daemon/jsonl.o
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^ $(NL_LIBS) $(SODIUM_LIBS)

# jvpnctl against a fake jvpnd (runs the sanitizer build).
UNIT_TESTS += $(BUILD)/tests/unit/test_jvpnctl_daemon

$(BUILD)/san/tests/unit/test_jvpnctl_daemon.o: \
	USER_CFLAGS += -DJVPNCTL_BIN='"$(CURDIR)/$(BUILD)/san/jvpnctl"'

$(BUILD)/tests/unit/test_jvpnctl_daemon: \
		$(BUILD)/san/tests/unit/test_jvpnctl_daemon.o $(BUILD)/san/jvpnctl
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $<
