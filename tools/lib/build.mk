# Shared userspace library (netlink client and parsers) used by jvpnctl and
# jvpnd.  Programs link $(LIBJVPN_OBJS) (or $(LIBJVPN_SAN_OBJS) for
# sanitizer builds) together with $(NL_LIBS).

LIBJVPN_SRCS := tools/lib/jvpn_nl.c tools/lib/util.c
LIBJVPN_OBJS := $(LIBJVPN_SRCS:%.c=$(BUILD)/%.o)
LIBJVPN_SAN_OBJS := $(LIBJVPN_SRCS:%.c=$(BUILD)/san/%.o)

UNIT_TESTS += $(BUILD)/tests/unit/test_util

$(BUILD)/tests/unit/test_util: $(BUILD)/san/tests/unit/test_util.o \
		$(BUILD)/san/tools/lib/util.o
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^
