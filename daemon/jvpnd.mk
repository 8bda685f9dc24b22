# jvpnd, the daemon: make fragment included by the top-level Makefile
# after tools/lib/build.mk, daemon/crypto.mk, daemon/handshake.mk and
# daemon/build.mk (it links their objects).
#
# $(BUILD)/jvpnd is installed; $(BUILD)/san/jvpnd is an ASan/UBSan build
# for guest tests (JVPND=build/san/jvpnd).

# The reattach layer (daemon/reattach.mk lists it too, for its tests).
REATTACH_SRCS_JVPND := daemon/reattach.c daemon/store.c
JVPND_SRCS := daemon/main.c daemon/loop.c daemon/kernel.c daemon/net.c \
	daemon/session.c daemon/peer.c daemon/events.c daemon/control.c \
	daemon/state.c daemon/proto.c daemon/lifecycle.c daemon/adopt.c \
	daemon/jsonl.c daemon/roam.c daemon/link.c daemon/linkmsg.c \
	$(REATTACH_SRCS_JVPND)
JVPND_OBJS := $(JVPND_SRCS:%.c=$(BUILD)/%.o)
JVPND_SAN_OBJS := $(JVPND_SRCS:%.c=$(BUILD)/san/%.o)
JVPND_LIBS := $(NL_LIBS) $(SODIUM_LIBS) $(MNL_LIBS)

USER_BINS += $(BUILD)/jvpnd

$(BUILD)/jvpnd: $(JVPND_OBJS) $(LIBJVPN_OBJS) $(CRYPTO_OBJS) \
		$(HANDSHAKE_OBJS) $(DAEMON_CORE_OBJS)
	$(CC) $(USER_LDFLAGS) -o $@ $^ $(JVPND_LIBS)

$(BUILD)/san/jvpnd: $(JVPND_SAN_OBJS) $(LIBJVPN_SAN_OBJS) \
		$(CRYPTO_SAN_OBJS) $(HANDSHAKE_SAN_OBJS) $(DAEMON_CORE_SAN_OBJS)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^ $(JVPND_LIBS)

# Unit tests of jvpnd's own pure parts: timer heap, session table, state
# file, control-protocol JSON, link watch messages and decisions.
JVPND_TESTS := $(addprefix $(BUILD)/tests/unit/test_, loop session state \
	jsonl link)
UNIT_TESTS += $(JVPND_TESTS)

$(BUILD)/tests/unit/test_loop: $(BUILD)/san/tests/unit/test_loop.o \
		$(BUILD)/san/daemon/loop.o
$(BUILD)/tests/unit/test_session: $(BUILD)/san/tests/unit/test_session.o \
		$(BUILD)/san/daemon/session.o $(DAEMON_CORE_SAN_OBJS)
$(BUILD)/tests/unit/test_state: $(BUILD)/san/tests/unit/test_state.o \
		$(BUILD)/san/daemon/state.o $(BUILD)/san/tools/lib/util.o \
		$(DAEMON_CORE_SAN_OBJS)
$(BUILD)/tests/unit/test_jsonl: $(BUILD)/san/tests/unit/test_jsonl.o \
		$(BUILD)/san/daemon/jsonl.o
$(BUILD)/tests/unit/test_link: $(BUILD)/san/tests/unit/test_link.o \
		$(BUILD)/san/daemon/linkmsg.o

$(JVPND_TESTS):
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^ $(SODIUM_LIBS) $(MNL_LIBS)
