# jvpnd: make fragment included by the top-level Makefile.
#
# DAEMON_CORE_SRCS is the pure, natively testable core (no sockets, no
# event loop, no kernel calls).  jvpnd's main and event loop link against
# $(DAEMON_CORE_OBJS); the unit tests link the sanitizer build.

DAEMON_CORE_SRCS := daemon/fsm.c daemon/policy.c daemon/ratelimit.c \
	daemon/audit.c daemon/config.c
DAEMON_CORE_OBJS := $(DAEMON_CORE_SRCS:%.c=$(BUILD)/%.o)
DAEMON_CORE_SAN_OBJS := $(DAEMON_CORE_SRCS:%.c=$(BUILD)/san/%.o)

DAEMON_CORE_TESTS := $(addprefix $(BUILD)/tests/unit/test_, \
	fsm policy ratelimit audit config)
UNIT_TESTS += $(DAEMON_CORE_TESTS)

# Tests find tests/data/ and docs/ through JVPN_SRCDIR (the environment
# variable of the same name overrides it at run time).
$(DAEMON_CORE_TESTS:$(BUILD)/%=$(BUILD)/san/%.o): \
	USER_CFLAGS += -DJVPN_SRCDIR='"$(CURDIR)"'

$(DAEMON_CORE_TESTS): $(BUILD)/tests/unit/test_%: \
		$(BUILD)/san/tests/unit/test_%.o $(DAEMON_CORE_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^
