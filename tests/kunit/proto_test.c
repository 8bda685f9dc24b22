// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for kmod/proto.c (suite jvpn_proto).
 */
#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/string.h>

#include "proto.h"

/* type 4, key 7, reserved 0, session 0x12345678, counter 0x0102..08 */
static const u8 good_hdr[JVPN_DATA_HDR_LEN] = {
	0x04, 0x07, 0x00, 0x00,
	0x12, 0x34, 0x56, 0x78,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
};

/* A DATA message of @len bytes (>= header) in @buf: good_hdr + 0xee... */
static void make_msg(u8 *buf, unsigned int len)
{
	memset(buf, 0xee, len);
	memcpy(buf, good_hdr, min_t(unsigned int, len, sizeof(good_hdr)));
}

static void sentinel(struct jvpn_data_info *info)
{
	memset(info, 0x5a, sizeof(*info));
}

static bool untouched(const struct jvpn_data_info *info)
{
	struct jvpn_data_info s;

	sentinel(&s);
	return !memcmp(&s, info, sizeof(s));
}

static void proto_test_msg_type(struct kunit *test)
{
	u8 buf[4] = { JVPN_MSG_DATA, 0, 0, 0 };

	KUNIT_EXPECT_EQ(test, jvpn_msg_type(buf, 0), 0);
	KUNIT_EXPECT_EQ(test, jvpn_msg_type(NULL, 0), 0);
	KUNIT_EXPECT_EQ(test, jvpn_msg_type(buf, 1), JVPN_MSG_DATA);
	buf[0] = JVPN_MSG_PROBE;
	KUNIT_EXPECT_EQ(test, jvpn_msg_type(buf, sizeof(buf)), JVPN_MSG_PROBE);
	buf[0] = 0xff;
	KUNIT_EXPECT_EQ(test, jvpn_msg_type(buf, 1), 0xff);
}

static void proto_test_parse_good(struct kunit *test)
{
	u8 buf[JVPN_DATA_MIN_LEN + 100];
	struct jvpn_data_info info;

	make_msg(buf, sizeof(buf));
	sentinel(&info);
	KUNIT_ASSERT_EQ(test, jvpn_data_hdr_parse(buf, sizeof(buf), &info), 0);
	KUNIT_EXPECT_EQ(test, info.key_id, 7);
	KUNIT_EXPECT_EQ(test, info.session_id, 0x12345678U);
	KUNIT_EXPECT_EQ(test, info.counter, 0x0102030405060708ULL);
	KUNIT_EXPECT_EQ(test, info.payload_len,
			(unsigned int)sizeof(buf) - JVPN_DATA_HDR_LEN);
}

static void proto_test_parse_lengths(struct kunit *test)
{
	u8 buf[JVPN_DATA_MIN_LEN + 1];
	struct jvpn_data_info info;
	unsigned int len;

	KUNIT_EXPECT_EQ(test, JVPN_DATA_MIN_LEN, 32);
	make_msg(buf, sizeof(buf));

	/* A keepalive: header and tag only. */
	sentinel(&info);
	KUNIT_EXPECT_EQ(test, jvpn_data_hdr_parse(buf, JVPN_DATA_MIN_LEN,
						  &info), 0);
	KUNIT_EXPECT_EQ(test, info.payload_len, (unsigned int)JVPN_AEAD_TAG_LEN);
	KUNIT_EXPECT_EQ(test, jvpn_data_hdr_parse(buf, JVPN_DATA_MIN_LEN + 1,
						  &info), 0);
	KUNIT_EXPECT_EQ(test, info.payload_len, JVPN_AEAD_TAG_LEN + 1U);

	for (len = 0; len < JVPN_DATA_MIN_LEN; len++) {
		sentinel(&info);
		KUNIT_EXPECT_EQ_MSG(test, jvpn_data_hdr_parse(buf, len, &info),
				    -EMSGSIZE, "len %u", len);
		KUNIT_EXPECT_TRUE_MSG(test, untouched(&info),
				      "len %u: out written on error", len);
	}
	/* An empty buffer is never read. */
	KUNIT_EXPECT_EQ(test, jvpn_data_hdr_parse(NULL, 0, &info), -EMSGSIZE);
}

static void proto_test_parse_wrong_type(struct kunit *test)
{
	u8 buf[JVPN_DATA_MIN_LEN + 8];
	struct jvpn_data_info info;
	unsigned int t;

	for (t = 0; t <= 0xff; t++) {
		if (t == JVPN_MSG_DATA)
			continue;
		make_msg(buf, sizeof(buf));
		buf[0] = t;
		sentinel(&info);
		KUNIT_EXPECT_EQ_MSG(test, jvpn_data_hdr_parse(buf, sizeof(buf),
							      &info),
				    -EINVAL, "type %u", t);
		KUNIT_EXPECT_TRUE(test, untouched(&info));
		/* Short and wrong type: the type is what is reported. */
		KUNIT_EXPECT_EQ_MSG(test, jvpn_data_hdr_parse(buf, 1, &info),
				    -EINVAL, "type %u, len 1", t);
	}
}

static void proto_test_parse_reserved_ignored(struct kunit *test)
{
	static const u8 reserved[][2] = {
		{ 0x00, 0x01 }, { 0x80, 0x00 }, { 0xff, 0xff }, { 0x12, 0x34 },
	};
	u8 buf[JVPN_DATA_MIN_LEN];
	struct jvpn_data_info info;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		make_msg(buf, sizeof(buf));
		buf[2] = reserved[i][0];
		buf[3] = reserved[i][1];
		KUNIT_ASSERT_EQ(test, jvpn_data_hdr_parse(buf, sizeof(buf),
							  &info), 0);
		KUNIT_EXPECT_EQ(test, info.key_id, 7);
		KUNIT_EXPECT_EQ(test, info.session_id, 0x12345678U);
		KUNIT_EXPECT_EQ(test, info.counter, 0x0102030405060708ULL);
		KUNIT_EXPECT_EQ(test, info.payload_len,
				(unsigned int)JVPN_AEAD_TAG_LEN);
	}
}

/* The exact bytes on the wire, big endian, checked one by one. */
static void proto_test_build_layout(struct kunit *test)
{
	static const u8 want[JVPN_DATA_HDR_LEN] = {
		0x04, 0xab, 0x00, 0x00,
		0xde, 0xad, 0xbe, 0xef,
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	};
	u8 buf[JVPN_DATA_HDR_LEN + 4];
	unsigned int i;

	memset(buf, 0xcc, sizeof(buf));
	jvpn_data_hdr_build(buf, 0xab, 0xdeadbeef, 0x1122334455667788ULL);
	for (i = 0; i < JVPN_DATA_HDR_LEN; i++)
		KUNIT_EXPECT_EQ_MSG(test, buf[i], want[i], "byte %u", i);
	/* Nothing written past the header. */
	for (; i < sizeof(buf); i++)
		KUNIT_EXPECT_EQ_MSG(test, buf[i], 0xcc, "byte %u", i);

	jvpn_data_hdr_build(buf, 7, 0x12345678, 0x0102030405060708ULL);
	for (i = 0; i < JVPN_DATA_HDR_LEN; i++)
		KUNIT_EXPECT_EQ_MSG(test, buf[i], good_hdr[i], "byte %u", i);
}

static void proto_test_round_trip(struct kunit *test)
{
	static const struct {
		u8 key_id;
		u32 session_id;
		u64 counter;
	} v[] = {
		{ 0, 0, 0 },
		{ 1, 1, 1 },
		{ 0xff, U32_MAX, U64_MAX },
		{ 0x80, 0x80000000U, 0x8000000000000000ULL },
		{ 3, 0x00ff00ff, JVPN_COUNTER_REJECT - 1 },
		{ 42, 0xcafef00d, 0x00000001ffffffffULL },
	};
	u8 mem[JVPN_DATA_MIN_LEN + 64 + 8];
	struct jvpn_data_info info;
	unsigned int i, off;
	u8 *buf;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		/* Every alignment of the buffer. */
		for (off = 0; off < 8; off++) {
			buf = mem + off;
			memset(mem, 0x33, sizeof(mem));
			jvpn_data_hdr_build(buf, v[i].key_id, v[i].session_id,
					    v[i].counter);
			KUNIT_EXPECT_EQ(test, jvpn_msg_type(buf, 1),
					JVPN_MSG_DATA);
			sentinel(&info);
			KUNIT_ASSERT_EQ(test, jvpn_data_hdr_parse(buf,
					JVPN_DATA_MIN_LEN + 64, &info), 0);
			KUNIT_EXPECT_EQ(test, info.key_id, v[i].key_id);
			KUNIT_EXPECT_EQ(test, info.session_id, v[i].session_id);
			KUNIT_EXPECT_EQ(test, info.counter, v[i].counter);
			KUNIT_EXPECT_EQ(test, info.payload_len,
					JVPN_AEAD_TAG_LEN + 64U);
			KUNIT_EXPECT_EQ(test, buf[2], 0);
			KUNIT_EXPECT_EQ(test, buf[3], 0);
		}
	}
}

static struct kunit_case jvpn_proto_cases[] = {
	KUNIT_CASE(proto_test_msg_type),
	KUNIT_CASE(proto_test_parse_good),
	KUNIT_CASE(proto_test_parse_lengths),
	KUNIT_CASE(proto_test_parse_wrong_type),
	KUNIT_CASE(proto_test_parse_reserved_ignored),
	KUNIT_CASE(proto_test_build_layout),
	KUNIT_CASE(proto_test_round_trip),
	{}
};

static struct kunit_suite jvpn_proto_suite = {
	.name = "jvpn_proto",
	.test_cases = jvpn_proto_cases,
};
kunit_test_suite(jvpn_proto_suite);

MODULE_LICENSE("GPL");
