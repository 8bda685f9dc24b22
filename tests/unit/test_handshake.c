// SPDX-License-Identifier: MIT
/*
 * Handshake message layer (daemon/handshake.c): full handshakes, every
 * refusal path, cookies and their rotation, the timestamp replay rule,
 * the peer table, and single-bit flips of every message.
 *
 * X25519 operations are counted by wrapping libsodium's
 * crypto_scalarmult / crypto_scalarmult_base at link time (see
 * daemon/handshake.mk): "refused before any DH" is checked as "the
 * counter did not move", and a successful INIT is checked to move it by
 * exactly two (es, ss), so that a zero is meaningful.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "handshake.h"
#include "kdf.h"
#include "tap.h"

/* ---------------------------------------------------------------------- */
/* DH counter                                                              */
/* ---------------------------------------------------------------------- */

static unsigned long dh_calls;

int __real_crypto_scalarmult(unsigned char *q, const unsigned char *n,
			     const unsigned char *p);
int __wrap_crypto_scalarmult(unsigned char *q, const unsigned char *n,
			     const unsigned char *p);
int __real_crypto_scalarmult_base(unsigned char *q, const unsigned char *n);
int __wrap_crypto_scalarmult_base(unsigned char *q, const unsigned char *n);

int __wrap_crypto_scalarmult(unsigned char *q, const unsigned char *n,
			     const unsigned char *p)
{
	dh_calls++;
	return __real_crypto_scalarmult(q, n, p);
}

int __wrap_crypto_scalarmult_base(unsigned char *q, const unsigned char *n)
{
	dh_calls++;
	return __real_crypto_scalarmult_base(q, n);
}

/* ---------------------------------------------------------------------- */
/* Fixture                                                                 */
/* ---------------------------------------------------------------------- */

#define T0_SEC		1700000000LL	/* an arbitrary wall clock */
#define ID_I		0x11223344u	/* initiator's local session id */
#define ID_R		0x55667788u	/* responder's local session id */
#define CAPACITY	8

struct keypair {
	uint8_t priv[NOISE_DHLEN];
	uint8_t pub[NOISE_DHLEN];
};

struct fixture {
	struct keypair rk, ik;
	struct hs_responder r;
	struct hs_initiator in;
	struct hs_source src;
	uint32_t peer;
	long long wall_sec;	/* advanced by fresh_init() */
};

static void keypair_make(struct keypair *kp)
{
	randombytes_buf(kp->priv, sizeof(kp->priv));
	crypto_scalarmult_base(kp->pub, kp->priv);
}

static struct timespec wall_at(long long sec, long nsec)
{
	struct timespec ts = { .tv_sec = (time_t)sec, .tv_nsec = nsec };

	return ts;
}

static void source_v4(struct hs_source *src, const char *ip, uint16_t port)
{
	struct in_addr a;

	inet_pton(AF_INET, ip, &a);
	hs_source_set(src, &a, 4, port);
}

/* Responder with one peer (the fixture's initiator); PSKs may be NULL. */
static int fixture_setup(struct fixture *f, const uint8_t *r_psk,
			 const uint8_t *i_psk)
{
	int err;

	memset(f, 0, sizeof(*f));
	keypair_make(&f->rk);
	keypair_make(&f->ik);
	f->wall_sec = T0_SEC;
	source_v4(&f->src, "192.0.2.10", 51820);
	err = hs_responder_init(&f->r, f->rk.priv, CAPACITY, 0);
	if (!err)
		err = hs_responder_add_peer(&f->r, f->ik.pub, r_psk, &f->peer);
	if (!err)
		err = hs_initiator_init(&f->in, f->ik.priv, f->rk.pub, i_psk);
	return err;
}

static void fixture_teardown(struct fixture *f)
{
	hs_responder_destroy(&f->r);
	hs_initiator_destroy(&f->in);
}

/* A new INIT one second later than the previous one. */
static int fresh_init(struct fixture *f, uint64_t now_ms,
		      uint8_t msg[HS_INIT_LEN])
{
	struct timespec wall = wall_at(++f->wall_sec, 0);

	return hs_initiator_begin(&f->in, ID_I, &wall, now_ms, msg);
}

/* consume_init on a throwaway result (wiped). */
static int consume(struct fixture *f, const uint8_t *msg, size_t len,
		   const struct hs_source *src, uint64_t now_ms,
		   bool under_load)
{
	struct hs_init_result res;
	int err;

	err = hs_responder_consume_init(&f->r, msg, len, src, now_ms,
					under_load, &res);
	hs_init_result_wipe(&res);
	return err;
}

/* INIT -> RESP; *resp receives the response bytes. */
static int respond(struct fixture *f, const uint8_t *init,
		   uint8_t resp[HS_RESP_LEN], struct jvpn_session_keys *keys)
{
	struct hs_init_result res;
	int err;

	err = hs_responder_consume_init(&f->r, init, HS_INIT_LEN, &f->src, 0,
					false, &res);
	if (err) {
		hs_init_result_wipe(&res);
		return err;
	}
	return hs_responder_write_resp(&res, ID_R, resp, keys);
}

static void flip_bit(uint8_t *buf, size_t bit)
{
	buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Recomputes mac1 as an attacker who knows the receiver's public key. */
static void remac1(uint8_t *msg, size_t mac1_off,
		   const uint8_t pub[NOISE_DHLEN])
{
	uint8_t key[HS_MAC_KEY_LEN];

	hs_derive_key(key, "mac1----", pub);
	hs_mac(msg + mac1_off, key, sizeof(key), msg, mac1_off);
}

/* ---------------------------------------------------------------------- */
/* Full handshake                                                          */
/* ---------------------------------------------------------------------- */

static void check_keys_match(const struct jvpn_session_keys *ki,
			     const struct jvpn_session_keys *kr,
			     const char *what)
{
	const uint8_t *itx, *irx, *rtx, *rrx;

	jvpn_kdf_data_keys(ki, NOISE_INITIATOR, &itx, &irx);
	jvpn_kdf_data_keys(kr, NOISE_RESPONDER, &rtx, &rrx);
	tap_ok(!memcmp(itx, rrx, JVPN_KEY_LEN) &&
	       !memcmp(irx, rtx, JVPN_KEY_LEN),
	       "%s: data keys equal, swapped by role", what);
	tap_ok(memcmp(itx, irx, JVPN_KEY_LEN) != 0,
	       "%s: the two directions differ", what);
	tap_ok(!memcmp(ki->reattach, kr->reattach, JVPN_REATTACH_KEY_LEN),
	       "%s: same reattach key", what);
}

static void full_handshake(const uint8_t *psk, const char *what)
{
	uint8_t init[HS_INIT_LEN], resp[HS_RESP_LEN];
	struct jvpn_session_keys kr;
	struct hs_init_result res;
	struct hs_resp_result rr;
	struct fixture f;
	int err;

	TAP_EQ_INT(fixture_setup(&f, psk, psk), HS_OK, "fixture");
	TAP_EQ_INT(fresh_init(&f, 0, init), HS_OK, "initiator writes INIT");
	dh_calls = 0;
	err = hs_responder_consume_init(&f.r, init, sizeof(init), &f.src, 0,
					false, &res);
	TAP_EQ_INT(err, HS_OK, "responder accepts INIT");
	/* es; ss was computed once when the peer was added (and the keys
	 * below match the initiator's, which computes it: the same ss). */
	TAP_EQ_INT(dh_calls, 1, "accepting an INIT costs exactly one DH");
	TAP_EQ_INT(res.peer_index, f.peer, "result names the peer");
	TAP_EQ_INT(res.initiator_id, ID_I, "result carries the sender id");
	TAP_EQ_INT(hs_responder_write_resp(&res, ID_R, resp, &kr), HS_OK,
		   "responder writes RESP");
	err = hs_initiator_consume_resp(&f.in, resp, sizeof(resp), &rr);
	TAP_EQ_INT(err, HS_OK, "initiator accepts RESP");
	TAP_EQ_INT(rr.responder_id, ID_R, "initiator learns responder id");
	TAP_EQ_INT(rr.local_id, ID_I, "initiator result echoes its id");
	check_keys_match(&rr.keys, &kr, what);
	TAP_EQ_INT(hs_initiator_consume_resp(&f.in, resp, sizeof(resp), &rr),
		   HS_E_NOT_PENDING, "a second RESP finds nothing pending");
	jvpn_kdf_wipe(&kr);
	fixture_teardown(&f);
}

static void test_full_handshakes(void)
{
	uint8_t psk[NOISE_PSKLEN];

	full_handshake(NULL, "no psk");
	randombytes_buf(psk, sizeof(psk));
	full_handshake(psk, "with psk");
}

/* The documented layout, checked independently of handshake.c. */
static void test_layout(void)
{
	uint8_t init[HS_INIT_LEN], resp[HS_RESP_LEN], mac[HS_MAC_LEN];
	uint8_t key[HS_MAC_KEY_LEN];
	struct jvpn_session_keys kr;
	struct fixture f;
	static const uint8_t zero[HS_MAC_LEN];

	fixture_setup(&f, NULL, NULL);
	fresh_init(&f, 0, init);
	tap_ok(init[0] == 1 && !init[1] && !init[2] && !init[3] &&
	       get_be32(init + 4) == ID_I,
	       "INIT: type 1, reserved zero, be32 sender id at 4");
	hs_derive_key(key, "mac1----", f.rk.pub);
	crypto_generichash_blake2b(mac, sizeof(mac), init, 116, key,
				   sizeof(key));
	tap_ok(!memcmp(mac, init + 116, 16),
	       "INIT: mac1 at 116 = BLAKE2b-128(BLAKE2b-256(\"mac1----\"||Spub_r), bytes 0..115)");
	tap_ok(!memcmp(init + 132, zero, 16), "INIT: mac2 zero without cookie");

	respond(&f, init, resp, &kr);
	tap_ok(resp[0] == 2 && !resp[1] && !resp[2] && !resp[3] &&
	       get_be32(resp + 4) == ID_R && get_be32(resp + 8) == ID_I,
	       "RESP: type 2, sender at 4, receiver at 8");
	hs_derive_key(key, "mac1----", f.ik.pub);
	crypto_generichash_blake2b(mac, sizeof(mac), resp, 60, key,
				   sizeof(key));
	tap_ok(!memcmp(mac, resp + 60, 16) && !memcmp(resp + 76, zero, 16),
	       "RESP: mac1 at 60 keyed with the initiator's key, mac2 zero");
	jvpn_kdf_wipe(&kr);
	fixture_teardown(&f);
}

/* ---------------------------------------------------------------------- */
/* mac1, replay, peers, PSK                                                */
/* ---------------------------------------------------------------------- */

static void test_mac1(void)
{
	uint8_t init[HS_INIT_LEN];
	struct fixture f;
	int err;

	fixture_setup(&f, NULL, NULL);
	fresh_init(&f, 0, init);
	flip_bit(init, HS_INIT_OFF_MAC1 * 8 + 3);
	dh_calls = 0;
	err = consume(&f, init, sizeof(init), &f.src, 0, false);
	TAP_EQ_INT(err, HS_E_MAC1, "mac1 bit flip refused");
	TAP_EQ_INT(dh_calls, 0, "... before any DH");
	flip_bit(init, HS_INIT_OFF_MAC1 * 8 + 3);
	flip_bit(init, HS_INIT_OFF_STATIC * 8);
	dh_calls = 0;
	err = consume(&f, init, sizeof(init), &f.src, 0, false);
	TAP_EQ_INT(err, HS_E_MAC1, "flip in the Noise part: mac1 refuses");
	TAP_EQ_INT(dh_calls, 0, "... before any DH");
	fixture_teardown(&f);
}

static void test_replay(void)
{
	uint8_t init[HS_INIT_LEN], old[HS_INIT_LEN];
	struct timespec wall;
	struct fixture f;

	fixture_setup(&f, NULL, NULL);
	fresh_init(&f, 0, init);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 0, false), HS_OK,
		   "INIT accepted once");
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 0, false),
		   HS_E_REPLAY, "same INIT bytes again: replay");

	wall = wall_at(T0_SEC + 100, 0);
	hs_initiator_begin(&f.in, ID_I, &wall, 0, init);
	wall = wall_at(T0_SEC + 50, 0);
	hs_initiator_begin(&f.in, ID_I, &wall, 0, old);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 0, false), HS_OK,
		   "newer timestamp accepted");
	TAP_EQ_INT(consume(&f, old, sizeof(old), &f.src, 0, false),
		   HS_E_STALE, "older timestamp (clock stepped back) refused");
	TAP_EQ_INT(hs_responder_reset_peer_timestamp(&f.r, f.peer), HS_OK,
		   "operator resets the peer's timestamp");
	TAP_EQ_INT(consume(&f, old, sizeof(old), &f.src, 0, false), HS_OK,
		   "after the reset the older clock is accepted");

	/* Precision is 2^24 ns: 1 ms apart in the same grain is a replay. */
	wall = wall_at(T0_SEC + 200, 0);
	hs_initiator_begin(&f.in, ID_I, &wall, 0, init);
	wall = wall_at(T0_SEC + 200, 1000000);
	hs_initiator_begin(&f.in, ID_I, &wall, 0, old);
	consume(&f, init, sizeof(init), &f.src, 0, false);
	TAP_EQ_INT(consume(&f, old, sizeof(old), &f.src, 0, false),
		   HS_E_REPLAY, "same 16.8 ms grain: equal timestamp, replay");
	fixture_teardown(&f);
}

static void test_unknown_peer(void)
{
	uint8_t init[HS_INIT_LEN];
	struct hs_initiator stranger;
	struct keypair sk;
	struct timespec wall = wall_at(T0_SEC + 1, 0);
	struct fixture f;

	fixture_setup(&f, NULL, NULL);
	keypair_make(&sk);
	hs_initiator_init(&stranger, sk.priv, f.rk.pub, NULL);
	hs_initiator_begin(&stranger, ID_I, &wall, 0, init);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 0, false),
		   HS_E_UNKNOWN_PEER, "unknown initiator static refused");
	hs_initiator_destroy(&stranger);

	TAP_EQ_INT(hs_responder_remove_peer(&f.r, f.peer), HS_OK,
		   "peer removed");
	fresh_init(&f, 0, init);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 0, false),
		   HS_E_UNKNOWN_PEER, "removed peer is unknown");
	fixture_teardown(&f);
}

static void wrong_psk(const uint8_t *r_psk, const uint8_t *i_psk,
		      const char *what)
{
	uint8_t init[HS_INIT_LEN], resp[HS_RESP_LEN];
	struct jvpn_session_keys kr;
	struct hs_resp_result rr;
	struct fixture f;

	fixture_setup(&f, r_psk, i_psk);
	fresh_init(&f, 0, init);
	TAP_EQ_INT(respond(&f, init, resp, &kr), HS_OK,
		   "psk enters at message 2: responder answers");
	TAP_EQ_INT(hs_initiator_consume_resp(&f.in, resp, sizeof(resp), &rr),
		   HS_E_DECRYPT, what);
	jvpn_kdf_wipe(&kr);
	fixture_teardown(&f);
}

static void test_wrong_psk(void)
{
	uint8_t a[NOISE_PSKLEN], b[NOISE_PSKLEN];

	randombytes_buf(a, sizeof(a));
	randombytes_buf(b, sizeof(b));
	wrong_psk(a, b, "different PSKs: initiator refuses RESP");
	wrong_psk(a, NULL, "responder has a PSK, initiator none: refused");
	wrong_psk(NULL, b, "initiator has a PSK, responder none: refused");
}

/* ---------------------------------------------------------------------- */
/* Cookies                                                                 */
/* ---------------------------------------------------------------------- */

/* Under load without mac2: a COOKIE, no DH, no state. */
static void test_cookie_reply(void)
{
	uint8_t init[HS_INIT_LEN], cookie[HS_MAC_LEN], want[HS_MAC_LEN];
	uint8_t key[HS_MAC_KEY_LEN], in[6];
	struct hs_init_result res;
	struct fixture f;
	const uint8_t *reply = res.cookie_reply;
	int err;

	fixture_setup(&f, NULL, NULL);
	fresh_init(&f, 0, init);
	dh_calls = 0;
	err = hs_responder_consume_init(&f.r, init, sizeof(init), &f.src, 0,
					true, &res);
	TAP_EQ_INT(err, HS_E_MAC2_NEEDED, "under load without mac2: refused");
	TAP_EQ_INT(dh_calls, 0, "... statelessly, before any DH");
	tap_ok(reply[0] == 3 && !reply[1] && !reply[2] && !reply[3] &&
	       get_be32(reply + 4) == ID_I,
	       "COOKIE: type 3, receiver = the INIT's sender id");

	/* Decrypt as documented and compare with the documented cookie. */
	hs_derive_key(key, "cookie--", f.rk.pub);
	err = crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL,
							 reply + 32, 32,
							 init + 116, 16,
							 reply + 8, key);
	memcpy(in, f.src.addr, 4);
	in[4] = 51820 >> 8;
	in[5] = 51820 & 0xff;
	crypto_generichash_blake2b(want, sizeof(want), in, sizeof(in),
				   f.r.secret_cur.key,
				   sizeof(f.r.secret_cur.key));
	tap_ok(!err && !memcmp(cookie, want, sizeof(want)),
	       "COOKIE: XChaCha20-Poly1305(cookie key, nonce at 8, AD = mac1) of BLAKE2b-128(secret, addr||port)");
	hs_init_result_wipe(&res);

	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 0, false), HS_OK,
		   "the cookie-refused INIT left no state (accepted later)");
	fixture_teardown(&f);
}

/* Runs INIT -> COOKIE -> consume; the initiator then holds a cookie. */
static int get_cookie(struct fixture *f, uint64_t r_now, uint64_t i_now)
{
	uint8_t init[HS_INIT_LEN];
	struct hs_init_result res;
	int err;

	fresh_init(f, i_now, init);
	err = hs_responder_consume_init(&f->r, init, sizeof(init), &f->src,
					r_now, true, &res);
	if (err == HS_E_MAC2_NEEDED)
		err = hs_initiator_consume_cookie(&f->in, res.cookie_reply,
						  HS_COOKIE_LEN, i_now);
	hs_init_result_wipe(&res);
	return err;
}

static void test_cookie_roundtrip(void)
{
	uint8_t init[HS_INIT_LEN];
	struct hs_source other;
	struct fixture f;
	static const uint8_t zero[HS_MAC_LEN];

	fixture_setup(&f, NULL, NULL);
	TAP_EQ_INT(get_cookie(&f, 1000, 0), HS_OK,
		   "initiator consumes the COOKIE");
	fresh_init(&f, 10, init);
	tap_ok(memcmp(init + HS_INIT_OFF_MAC2, zero, HS_MAC_LEN) != 0,
	       "next INIT carries mac2");
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 1010, true), HS_OK,
		   "INIT with mac2 accepted under load");

	fresh_init(&f, 20, init);
	source_v4(&other, "198.51.100.7", 51820);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &other, 1020, true),
		   HS_E_MAC2_BAD, "cookie from another address: not valid");
	source_v4(&other, "192.0.2.10", 51821);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &other, 1020, true),
		   HS_E_MAC2_BAD, "cookie from another port: not valid");
	TAP_EQ_INT(consume(&f, init, sizeof(init), &other, 1020, false),
		   HS_E_MAC2_BAD, "a bad mac2 is refused even without load");

	fresh_init(&f, HS_COOKIE_TTL_MS, init);
	tap_ok(!memcmp(init + HS_INIT_OFF_MAC2, zero, HS_MAC_LEN),
	       "initiator drops its cookie after HS_COOKIE_TTL_MS");
	fixture_teardown(&f);
}

static void test_cookie_rotation(void)
{
	const uint64_t period = HS_COOKIE_SECRET_PERIOD_MS;
	uint8_t init[HS_INIT_LEN];
	struct fixture f;

	fixture_setup(&f, NULL, NULL);
	/* Issued at the very end of epoch 0: still good in epoch 1. */
	get_cookie(&f, period - 1, 0);
	fresh_init(&f, 1000, init);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 2 * period - 1,
			   true), HS_OK, "cookie valid after one rotation");
	fresh_init(&f, 2000, init);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 2 * period, true),
		   HS_E_MAC2_BAD, "cookie invalid after two rotations");

	get_cookie(&f, 2 * period, 3000);
	fresh_init(&f, 4000, init);
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 9 * period, true),
		   HS_E_MAC2_BAD, "a jump over many epochs forgets both secrets");
	fixture_teardown(&f);
}

static void test_cookie_consume_errors(void)
{
	uint8_t init[HS_INIT_LEN], reply[HS_COOKIE_LEN];
	struct hs_init_result res;
	struct fixture f;

	fixture_setup(&f, NULL, NULL);
	fresh_init(&f, 0, init);
	hs_responder_consume_init(&f.r, init, sizeof(init), &f.src, 0, true,
				  &res);
	memcpy(reply, res.cookie_reply, sizeof(reply));
	hs_init_result_wipe(&res);

	put_be32(reply + 4, ID_I + 1);
	TAP_EQ_INT(hs_initiator_consume_cookie(&f.in, reply, sizeof(reply), 0),
		   HS_E_ID_MISMATCH, "COOKIE for another id refused");
	put_be32(reply + 4, ID_I);
	fresh_init(&f, 0, init);
	TAP_EQ_INT(hs_initiator_consume_cookie(&f.in, reply, sizeof(reply), 0),
		   HS_E_DECRYPT, "COOKIE for an earlier INIT fails (AD = mac1)");
	hs_initiator_destroy(&f.in);
	hs_initiator_init(&f.in, f.ik.priv, f.rk.pub, NULL);
	TAP_EQ_INT(hs_initiator_consume_cookie(&f.in, reply, sizeof(reply), 0),
		   HS_E_NOT_PENDING, "COOKIE with nothing pending refused");
	fixture_teardown(&f);
}

/* ---------------------------------------------------------------------- */
/* RESP refusals                                                           */
/* ---------------------------------------------------------------------- */

static void test_resp_refusals(void)
{
	uint8_t init[HS_INIT_LEN], resp[HS_RESP_LEN], bad[HS_RESP_LEN];
	struct jvpn_session_keys kr;
	struct hs_resp_result rr;
	struct fixture f;

	fixture_setup(&f, NULL, NULL);
	fresh_init(&f, 0, init);
	respond(&f, init, resp, &kr);

	memcpy(bad, resp, sizeof(bad));
	put_be32(bad + HS_RESP_OFF_RECEIVER, ID_I ^ 1);
	TAP_EQ_INT(hs_initiator_consume_resp(&f.in, bad, sizeof(bad), &rr),
		   HS_E_ID_MISMATCH, "RESP with wrong receiver id refused");

	memcpy(bad, resp, sizeof(bad));
	bad[HS_RESP_OFF_MAC2] = 1;
	TAP_EQ_INT(hs_initiator_consume_resp(&f.in, bad, sizeof(bad), &rr),
		   HS_E_MAC2_SET, "RESP with a mac2 refused");

	memcpy(bad, resp, sizeof(bad));
	put_be32(bad + HS_RESP_OFF_SENDER, 0);
	remac1(bad, HS_RESP_OFF_MAC1, f.ik.pub);
	TAP_EQ_INT(hs_initiator_consume_resp(&f.in, bad, sizeof(bad), &rr),
		   HS_E_ZERO_ID, "RESP with zero sender id refused");

	memcpy(bad, resp, sizeof(bad));
	bad[HS_RESP_OFF_EMPTY] ^= 0x80;
	remac1(bad, HS_RESP_OFF_MAC1, f.ik.pub);
	TAP_EQ_INT(hs_initiator_consume_resp(&f.in, bad, sizeof(bad), &rr),
		   HS_E_DECRYPT, "forged RESP with valid mac1: decrypt fails");
	TAP_EQ_INT(hs_initiator_consume_resp(&f.in, resp, sizeof(resp), &rr),
		   HS_OK, "... and did not cancel the pending handshake");
	check_keys_match(&rr.keys, &kr, "after a forged RESP");
	hs_resp_result_wipe(&rr);
	jvpn_kdf_wipe(&kr);
	fixture_teardown(&f);
}

static void test_init_crafted(void)
{
	uint8_t init[HS_INIT_LEN], bad[HS_INIT_LEN];
	struct fixture f;

	fixture_setup(&f, NULL, NULL);
	fresh_init(&f, 0, init);

	memcpy(bad, init, sizeof(bad));
	put_be32(bad + HS_INIT_OFF_SENDER, 0);
	remac1(bad, HS_INIT_OFF_MAC1, f.rk.pub);
	TAP_EQ_INT(consume(&f, bad, sizeof(bad), &f.src, 0, false),
		   HS_E_ZERO_ID, "INIT with zero sender id refused");

	memcpy(bad, init, sizeof(bad));
	memset(bad + HS_INIT_OFF_EPHEMERAL, 0, NOISE_DHLEN);
	remac1(bad, HS_INIT_OFF_MAC1, f.rk.pub);
	TAP_EQ_INT(consume(&f, bad, sizeof(bad), &f.src, 0, false), HS_E_DH,
		   "INIT with a low-order ephemeral refused");

	memcpy(bad, init, sizeof(bad));
	bad[HS_INIT_OFF_TIMESTAMP] ^= 1;
	remac1(bad, HS_INIT_OFF_MAC1, f.rk.pub);
	TAP_EQ_INT(consume(&f, bad, sizeof(bad), &f.src, 0, false),
		   HS_E_DECRYPT, "INIT with a tampered timestamp refused");

	memcpy(bad, init, sizeof(bad));
	bad[2] = 1;
	TAP_EQ_INT(consume(&f, bad, sizeof(bad), &f.src, 0, false),
		   HS_E_RESERVED, "INIT with reserved bytes set refused");
	TAP_EQ_INT(consume(&f, init, sizeof(init), &f.src, 0, false), HS_OK,
		   "the untouched INIT is still accepted");
	fixture_teardown(&f);
}

/* ---------------------------------------------------------------------- */
/* Sizes and types of every message                                        */
/* ---------------------------------------------------------------------- */

/* Which consumer a message type goes to, for the size/type/flip tests. */
enum target { T_INIT, T_RESP, T_COOKIE };

static int feed(struct fixture *f, enum target t, const uint8_t *msg,
		size_t len)
{
	struct hs_resp_result rr;
	int err;

	switch (t) {
	case T_INIT:
		return consume(f, msg, len, &f->src, 0, false);
	case T_RESP:
		err = hs_initiator_consume_resp(&f->in, msg, len, &rr);
		hs_resp_result_wipe(&rr);
		return err;
	default:
		return hs_initiator_consume_cookie(&f->in, msg, len, 0);
	}
}

/* Valid messages of all three types, all for the same pending INIT. */
struct messages {
	uint8_t init[HS_INIT_LEN];
	uint8_t resp[HS_RESP_LEN];
	uint8_t cookie[HS_COOKIE_LEN];
};

static void make_messages(struct fixture *f, struct messages *m)
{
	struct jvpn_session_keys kr;
	struct hs_init_result res;

	/* One INIT, answered first with a COOKIE (under load), then a RESP. */
	fresh_init(f, 0, m->init);
	hs_responder_consume_init(&f->r, m->init, HS_INIT_LEN, &f->src, 0,
				  true, &res);
	memcpy(m->cookie, res.cookie_reply, HS_COOKIE_LEN);
	hs_init_result_wipe(&res);
	respond(f, m->init, m->resp, &kr);
	jvpn_kdf_wipe(&kr);
}

static bool sizes_refused(struct fixture *f, enum target t,
			  const uint8_t *msg, size_t want)
{
	uint8_t buf[2048];
	size_t len;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, msg, want);
	for (len = 0; len < want; len++)
		if (feed(f, t, buf, len) != HS_E_SHORT)
			return false;
	return feed(f, t, buf, want + 1) == HS_E_LONG &&
	       feed(f, t, buf, 1500) == HS_E_LONG &&
	       feed(f, t, buf, sizeof(buf)) == HS_E_LONG;
}

static bool other_types_refused(struct fixture *f, enum target t,
				const uint8_t *msg, size_t len)
{
	uint8_t buf[HS_MAX_MSG_LEN];
	unsigned int type;

	memcpy(buf, msg, len);
	for (type = 0; type < 256; type++) {
		if (type == msg[0])
			continue;
		buf[0] = (uint8_t)type;
		if (feed(f, t, buf, len) != HS_E_TYPE)
			return false;
	}
	return true;
}

static void test_sizes_and_types(void)
{
	static const char *const names[] = { "INIT", "RESP", "COOKIE" };
	struct messages m;
	struct fixture f;
	const uint8_t *msgs[] = { m.init, m.resp, m.cookie };
	const size_t lens[] = { HS_INIT_LEN, HS_RESP_LEN, HS_COOKIE_LEN };
	enum target t;

	fixture_setup(&f, NULL, NULL);
	make_messages(&f, &m);
	for (t = T_INIT; t <= T_COOKIE; t++) {
		tap_ok(sizes_refused(&f, t, msgs[t], lens[t]),
		       "%s: every truncation short, oversized long", names[t]);
		tap_ok(other_types_refused(&f, t, msgs[t], lens[t]),
		       "%s: every other type byte refused", names[t]);
	}
	fixture_teardown(&f);
}

/* ---------------------------------------------------------------------- */
/* Single-bit flips                                                        */
/* ---------------------------------------------------------------------- */

/* Flips each bit in turn; true if every variant was refused. */
static bool every_flip_refused(struct fixture *f, enum target t,
			       const uint8_t *msg, size_t len)
{
	uint8_t buf[HS_MAX_MSG_LEN];
	bool all = true;
	size_t bit;

	for (bit = 0; bit < len * 8; bit++) {
		memcpy(buf, msg, len);
		flip_bit(buf, bit);
		if (feed(f, t, buf, len) == HS_OK) {
			printf("# bit %zu accepted\n", bit);
			all = false;
		}
	}
	return all;
}

static void test_bit_flips(void)
{
	struct messages m;
	struct fixture f;

	fixture_setup(&f, NULL, NULL);
	make_messages(&f, &m);

	/* make_messages() consumed m.init's timestamp: a new one. */
	fresh_init(&f, 0, m.init);
	dh_calls = 0;
	tap_ok(every_flip_refused(&f, T_INIT, m.init, HS_INIT_LEN),
	       "INIT: all %d single-bit flips refused", HS_INIT_LEN * 8);
	TAP_EQ_INT(dh_calls, 0, "INIT: ... every one before any DH");
	TAP_EQ_INT(feed(&f, T_INIT, m.init, HS_INIT_LEN), HS_OK,
		   "INIT: the unflipped message is accepted afterwards");

	/* RESP and COOKIE answer an INIT that is no longer pending. */
	fixture_teardown(&f);
	fixture_setup(&f, NULL, NULL);
	make_messages(&f, &m);
	tap_ok(every_flip_refused(&f, T_COOKIE, m.cookie, HS_COOKIE_LEN),
	       "COOKIE: all %d single-bit flips refused", HS_COOKIE_LEN * 8);
	TAP_EQ_INT(feed(&f, T_COOKIE, m.cookie, HS_COOKIE_LEN), HS_OK,
		   "COOKIE: the unflipped message is accepted afterwards");
	tap_ok(every_flip_refused(&f, T_RESP, m.resp, HS_RESP_LEN),
	       "RESP: all %d single-bit flips refused", HS_RESP_LEN * 8);
	TAP_EQ_INT(feed(&f, T_RESP, m.resp, HS_RESP_LEN), HS_OK,
		   "RESP: the unflipped message is accepted afterwards");
	fixture_teardown(&f);
}

/* ---------------------------------------------------------------------- */
/* Peer table                                                              */
/* ---------------------------------------------------------------------- */

#define MANY	32

static int handshake_as(struct hs_responder *r, const struct keypair *ik,
			const uint8_t r_pub[NOISE_DHLEN], long long sec,
			const struct hs_source *src)
{
	uint8_t init[HS_INIT_LEN];
	struct hs_init_result res;
	struct hs_initiator in;
	struct timespec wall = wall_at(sec, 0);
	int err;

	hs_initiator_init(&in, ik->priv, r_pub, NULL);
	hs_initiator_begin(&in, ID_I, &wall, 0, init);
	err = hs_responder_consume_init(r, init, sizeof(init), src, 0, false,
					&res);
	hs_init_result_wipe(&res);
	hs_initiator_destroy(&in);
	return err;
}

static bool lookups_match(struct hs_responder *r, const struct keypair *pk,
			  const struct keypair *rk, const bool *present,
			  long long sec, const struct hs_source *src)
{
	int i, want, got;

	for (i = 0; i < MANY; i++) {
		want = present[i] ? HS_OK : HS_E_UNKNOWN_PEER;
		got = handshake_as(r, &pk[i], rk->pub, sec, src);
		if (got != want)
			return false;
	}
	return true;
}

static void test_peer_table(void)
{
	struct keypair rk, pk[MANY];
	struct hs_responder r;
	struct hs_source src;
	bool present[MANY];
	uint32_t idx[MANY], extra;
	int i, err = HS_OK;

	keypair_make(&rk);
	source_v4(&src, "192.0.2.1", 1000);
	hs_responder_init(&r, rk.priv, MANY, 0);
	for (i = 0; i < MANY; i++) {
		keypair_make(&pk[i]);
		err |= hs_responder_add_peer(&r, pk[i].pub, NULL, &idx[i]);
		present[i] = true;
	}
	TAP_EQ_INT(err, HS_OK, "table filled to capacity");
	TAP_EQ_INT(hs_responder_add_peer(&r, rk.pub, NULL, &extra), HS_E_FULL,
		   "one more: table full");
	TAP_EQ_INT(hs_responder_add_peer(&r, pk[3].pub, NULL, &extra),
		   HS_E_DUPLICATE, "same static key twice refused");
	for (i = 0; i < MANY; i += 2) {
		err |= hs_responder_remove_peer(&r, idx[i]);
		present[i] = false;
	}
	TAP_EQ_INT(err, HS_OK, "every other peer removed");
	tap_ok(lookups_match(&r, pk, &rk, present, T0_SEC + 1, &src),
	       "after removals: present peers found, removed ones unknown");
	for (i = 0; i < MANY; i += 2) {
		err |= hs_responder_add_peer(&r, pk[i].pub, NULL, &idx[i]);
		present[i] = true;
	}
	tap_ok(!err && lookups_match(&r, pk, &rk, present, T0_SEC + 2, &src),
	       "re-added peers found again");
	for (i = 0; i < MANY && idx[i] == (uint32_t)i; i++)
		;
	TAP_EQ_INT(i, MANY, "re-added peers fill the freed entries, lowest first");
	TAP_EQ_INT(hs_responder_remove_peer(&r, idx[0]), HS_OK, "remove");
	TAP_EQ_INT(hs_responder_remove_peer(&r, idx[0]), HS_E_INVAL,
		   "removing twice refused");
	TAP_EQ_INT(hs_responder_remove_peer(&r, MANY), HS_E_INVAL,
		   "index out of range refused");
	hs_responder_destroy(&r);
}

/* ---------------------------------------------------------------------- */
/* Small pieces                                                            */
/* ---------------------------------------------------------------------- */

static void test_timestamp(void)
{
	uint8_t ts[HS_TIMESTAMP_LEN];
	struct timespec wall = wall_at(0x0102030405060708LL, 999999999);
	static const uint8_t want[HS_TIMESTAMP_LEN] = {
		1, 2, 3, 4, 5, 6, 7, 8, 0x3b, 0x00, 0x00, 0x00,
	};

	/* 999999999 = 0x3b9ac9ff, rounded down to 2^24: 0x3b000000. */
	TAP_EQ_INT(hs_timestamp_encode(ts, &wall), HS_OK, "timestamp encodes");
	tap_ok(!memcmp(ts, want, sizeof(want)),
	       "timestamp: be64 seconds, be32 nanoseconds rounded to 2^24");
	wall = wall_at(-1, 0);
	TAP_EQ_INT(hs_timestamp_encode(ts, &wall), HS_E_CLOCK,
		   "clock before 1970 refused");
	wall = wall_at(1, 1000000000L);
	TAP_EQ_INT(hs_timestamp_encode(ts, &wall), HS_E_CLOCK,
		   "nanoseconds out of range refused");
}

static void test_strerror(void)
{
	bool distinct = true;
	int a, b;

	for (a = HS_E_DUPLICATE; a <= HS_OK; a++) {
		if (!strcmp(hs_strerror(a), "unknown error"))
			distinct = false;
		for (b = HS_E_DUPLICATE; b < a; b++)
			if (!strcmp(hs_strerror(a), hs_strerror(b)))
				distinct = false;
	}
	tap_ok(distinct, "every error code has its own name");
	tap_ok(!strcmp(hs_strerror(1), "unknown error") &&
	       !strcmp(hs_strerror(HS_E_DUPLICATE - 1), "unknown error"),
	       "codes out of range are unknown");
}

static void test_sources(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct hs_source src;

	sin.sin_port = htons(4242);
	inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr);
	tap_ok(hs_source_from_sockaddr(&src, (struct sockaddr *)&sin,
				       sizeof(sin)) == HS_OK &&
	       src.addr_len == 4 && src.port == 4242 &&
	       !memcmp(src.addr, &sin.sin_addr, 4), "source from sockaddr_in");
	sin6.sin6_port = htons(4243);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	tap_ok(hs_source_from_sockaddr(&src, (struct sockaddr *)&sin6,
				       sizeof(sin6)) == HS_OK &&
	       src.addr_len == 16 && src.port == 4243 &&
	       !memcmp(src.addr, &sin6.sin6_addr, 16),
	       "source from sockaddr_in6");
	sin.sin_family = AF_UNIX;
	TAP_EQ_INT(hs_source_from_sockaddr(&src, (struct sockaddr *)&sin,
					   sizeof(sin)), HS_E_INVAL,
		   "other families refused");
	TAP_EQ_INT(hs_source_set(&src, "x", 5, 1), HS_E_INVAL,
		   "address length other than 4/16 refused");
}

static void test_bad_arguments(void)
{
	uint8_t init[HS_INIT_LEN], resp[HS_RESP_LEN];
	struct jvpn_session_keys kr;
	struct hs_init_result res;
	struct hs_source bad_src;
	struct timespec wall = wall_at(T0_SEC, 0);
	struct hs_responder other;
	struct fixture f;

	fixture_setup(&f, NULL, NULL);
	TAP_EQ_INT(hs_initiator_begin(&f.in, 0, &wall, 0, init), HS_E_INVAL,
		   "begin with local id 0 refused");
	fresh_init(&f, 0, init);
	memset(&bad_src, 0, sizeof(bad_src));
	TAP_EQ_INT(consume(&f, init, sizeof(init), &bad_src, 0, false),
		   HS_E_INVAL, "source without an address refused");
	hs_responder_consume_init(&f.r, init, sizeof(init), &f.src, 0, false,
				  &res);
	TAP_EQ_INT(hs_responder_write_resp(&res, 0, resp, &kr), HS_E_INVAL,
		   "RESP with local id 0 refused");
	TAP_EQ_INT(hs_responder_init(&other, f.rk.priv, 0, 0), HS_E_INVAL,
		   "responder with capacity 0 refused");
	TAP_EQ_INT(hs_responder_init(&other, f.rk.priv, HS_MAX_PEERS + 1, 0),
		   HS_E_INVAL, "responder over HS_MAX_PEERS refused");
	hs_responder_destroy(&other);
	fixture_teardown(&f);
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	test_full_handshakes();
	test_layout();
	test_mac1();
	test_replay();
	test_unknown_peer();
	test_wrong_psk();
	test_cookie_reply();
	test_cookie_roundtrip();
	test_cookie_rotation();
	test_cookie_consume_errors();
	test_resp_refusals();
	test_init_crafted();
	test_sizes_and_types();
	test_bit_flips();
	test_peer_table();
	test_timestamp();
	test_strerror();
	test_sources();
	test_bad_arguments();
	return tap_done();
}
