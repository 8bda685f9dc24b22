# Noise handshake core and jvpn key schedule (libsodium).
#
# Included by the top-level Makefile.  CRYPTO_OBJS is what jvpnd links;
# test_noise runs every published vector (tests/data/noise-vectors.json)
# plus negative tests, built with ASan/UBSan like every unit test.

CRYPTO_SRCS := daemon/noise.c daemon/kdf.c
CRYPTO_OBJS := $(addprefix $(BUILD)/,$(CRYPTO_SRCS:.c=.o))
CRYPTO_SAN_OBJS := $(addprefix $(BUILD)/san/,$(CRYPTO_SRCS:.c=.o))

UNIT_TESTS += $(BUILD)/tests/unit/test_noise

$(BUILD)/tests/unit/test_noise: $(BUILD)/san/tests/unit/test_noise.o \
		$(CRYPTO_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^ $(SODIUM_LIBS)
