# Reattach and path-probe protocol (REATTACH_REQ / CHALLENGE / RESP,
# PROBE / PROBE_REPLY) and the session ownership store.
#
# Included by the top-level Makefile after daemon/crypto.mk,
# daemon/handshake.mk and daemon/build.mk (it uses CRYPTO_*, HANDSHAKE_*
# and DAEMON_CORE_* objects).  REATTACH_OBJS is what jvpnd links, together
# with DAEMON_CORE_OBJS, HANDSHAKE_OBJS and CRYPTO_OBJS.

REATTACH_SRCS := daemon/reattach.c daemon/store.c
REATTACH_OBJS := $(addprefix $(BUILD)/,$(REATTACH_SRCS:.c=.o))
REATTACH_SAN_OBJS := $(addprefix $(BUILD)/san/,$(REATTACH_SRCS:.c=.o))

UNIT_TESTS += $(BUILD)/tests/unit/test_reattach $(BUILD)/tests/unit/test_store

$(BUILD)/tests/unit/test_reattach: $(BUILD)/san/tests/unit/test_reattach.o \
		$(REATTACH_SAN_OBJS) $(DAEMON_CORE_SAN_OBJS) \
		$(HANDSHAKE_SAN_OBJS) $(CRYPTO_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^ $(SODIUM_LIBS)

$(BUILD)/tests/unit/test_store: $(BUILD)/san/tests/unit/test_store.o \
		$(BUILD)/san/daemon/store.o $(DAEMON_CORE_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^ $(SODIUM_LIBS)
