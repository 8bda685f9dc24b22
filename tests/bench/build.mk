# Native control-plane benchmark (issue 5): make fragment included by the
# top-level Makefile after the daemon fragments (it links their objects).
#
# $(BUILD)/bench/cplane is built like jvpnd (-O2, no sanitizers): `make
# bench` (tests/bench/run.sh) runs it on the host, tests/bench/cplane-smoke.sh
# with --smoke.  $(BUILD)/san/bench/cplane is the same under ASan/UBSan, to
# check the harness itself (use --smoke: it is much slower).  Neither is in
# USER_BINS: nothing here is installed.

CPLANE_SRCS := tests/bench/cplane.c tests/bench/cplane_util.c \
	tests/bench/cplane_fixture.c tests/bench/cplane_reattach.c \
	tests/bench/cplane_audit.c tests/bench/cplane_hs.c
# What it drives of the daemon: everything but sockets, netlink and epoll.
CPLANE_DAEMON_SRCS := daemon/session.c daemon/loop.c daemon/state.c \
	tools/lib/util.c $(REATTACH_SRCS) $(HANDSHAKE_SRCS) $(CRYPTO_SRCS) \
	$(DAEMON_CORE_SRCS)
CPLANE_OBJS := $(addprefix $(BUILD)/,$(CPLANE_SRCS:.c=.o) \
	$(CPLANE_DAEMON_SRCS:.c=.o))
CPLANE_SAN_OBJS := $(addprefix $(BUILD)/san/,$(CPLANE_SRCS:.c=.o) \
	$(CPLANE_DAEMON_SRCS:.c=.o))
CPLANE_LIBS := $(SODIUM_LIBS) -pthread -lm

$(BUILD)/bench/cplane: $(CPLANE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_LDFLAGS) -o $@ $^ $(CPLANE_LIBS)

$(BUILD)/san/bench/cplane: $(CPLANE_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(USER_LDFLAGS) -o $@ $^ $(CPLANE_LIBS)
