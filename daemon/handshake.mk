# Handshake message layer (INIT / RESP / COOKIE, mac1/mac2, cookies,
# timestamp replay rule, peer table) on top of the Noise core.
#
# Included by the top-level Makefile after daemon/crypto.mk (it uses
# CRYPTO_OBJS / CRYPTO_SAN_OBJS).  HANDSHAKE_OBJS is what jvpnd links,
# together with CRYPTO_OBJS.
#
# test_handshake counts X25519 operations by wrapping libsodium's
# crypto_scalarmult and crypto_scalarmult_base at link time
# (ld --wrap), to prove that cheap refusals happen before any DH.

HANDSHAKE_SRCS := daemon/handshake.c
HANDSHAKE_OBJS := $(addprefix $(BUILD)/,$(HANDSHAKE_SRCS:.c=.o))
HANDSHAKE_SAN_OBJS := $(addprefix $(BUILD)/san/,$(HANDSHAKE_SRCS:.c=.o))

HANDSHAKE_TEST_WRAP := -Wl,--wrap=crypto_scalarmult \
	-Wl,--wrap=crypto_scalarmult_base

UNIT_TESTS += $(BUILD)/tests/unit/test_handshake

$(BUILD)/tests/unit/test_handshake: $(BUILD)/san/tests/unit/test_handshake.o \
		$(HANDSHAKE_SAN_OBJS) $(CRYPTO_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) $(HANDSHAKE_TEST_WRAP) -o $@ $^ \
		$(SODIUM_LIBS)
