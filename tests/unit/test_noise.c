// SPDX-License-Identifier: MIT
/*
 * Noise handshake core (daemon/noise.c) and jvpn key schedule
 * (daemon/kdf.c) against the published cacophony vectors, plus negative
 * tests and known answers for the primitives.
 *
 *   test_noise [tests/data/noise-vectors.json]
 *
 * Vector convention (cacophony): message i is sent by the initiator when
 * i is even; once the handshake is complete the remaining messages are
 * transport messages, the initiator's under Split()'s c1 and the
 * responder's under c2, with empty associated data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kdf.h"
#include "noise.h"
#include "tap.h"

#define DEFAULT_VECTORS		"tests/data/noise-vectors.json"
#define JSON_MAX_FILE		(1 << 20)
#define JSON_MAX_DEPTH		16
#define MAX_VECTOR_MSGS		32
#define MAX_VECTORS		64
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------------- */
/* A small JSON reader: enough for the vectors file, strict about syntax   */
/* ---------------------------------------------------------------------- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype type;
	char *key;		/* member name when inside an object */
	char *str;		/* J_STR decoded, J_NUM raw text */
	struct jnode *child;	/* first element or member */
	struct jnode *next;
};

struct jparser {
	const char *p, *end;
	const char *err;
};

static void jfree(struct jnode *n)
{
	while (n) {
		struct jnode *next = n->next;

		jfree(n->child);
		free(n->key);
		free(n->str);
		free(n);
		n = next;
	}
}

static void jskip_ws(struct jparser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
				   *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int jfail(struct jparser *jp, const char *why)
{
	if (!jp->err)
		jp->err = why;
	return -1;
}

static int hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

static int junicode(struct jparser *jp, char *out, size_t *o)
{
	unsigned long cp = 0;
	int i, v;

	if (jp->end - jp->p < 4)
		return jfail(jp, "short \\u escape");
	for (i = 0; i < 4; i++) {
		v = hex_nibble((unsigned char)*jp->p++);
		if (v < 0)
			return jfail(jp, "bad \\u escape");
		cp = cp << 4 | (unsigned long)v;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		return jfail(jp, "surrogates not supported");
	*o += put_utf8(out + *o, cp);
	return 0;
}

static int jescape(struct jparser *jp, char *out, size_t *o)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	char c;

	if (jp->p >= jp->end)
		return jfail(jp, "unterminated escape");
	c = *jp->p++;
	if (c == 'u')
		return junicode(jp, out, o);
	hit = strchr(from, c);
	if (!c || !hit)
		return jfail(jp, "bad escape");
	out[(*o)++] = to[hit - from];
	return 0;
}

/* At the opening quote; returns a malloc'ed, NUL-terminated string. */
static char *jstring(struct jparser *jp)
{
	/* Decoding never grows the text: \uXXXX (6) -> at most 3 bytes. */
	char *out = malloc((size_t)(jp->end - jp->p) + 1);
	size_t o = 0;

	if (!out || *jp->p++ != '"') {
		free(out);
		jfail(jp, "expected string");
		return NULL;
	}
	while (jp->p < jp->end && *jp->p != '"') {
		unsigned char c = (unsigned char)*jp->p++;

		if (c < 0x20 || (c == '\\' && jescape(jp, out, &o))) {
			jfail(jp, "bad character in string");
			free(out);
			return NULL;
		}
		if (c != '\\')
			out[o++] = (char)c;
	}
	if (jp->p >= jp->end) {
		jfail(jp, "unterminated string");
		free(out);
		return NULL;
	}
	jp->p++;
	out[o] = '\0';
	return out;
}

static struct jnode *jvalue(struct jparser *jp, int depth);

/* Parses "[ v, v ]" or "{ "k": v, ... }" into n->child. */
static int jcontainer(struct jparser *jp, struct jnode *n, int depth)
{
	char close = n->type == J_ARR ? ']' : '}';
	struct jnode **tail = &n->child;
	char *key = NULL;

	jp->p++;
	jskip_ws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		return 0;
	}
	for (;;) {
		jskip_ws(jp);
		if (n->type == J_OBJ) {
			if (jp->p >= jp->end || *jp->p != '"')
				return jfail(jp, "expected member name");
			key = jstring(jp);
			if (!key)
				return -1;
			jskip_ws(jp);
			if (jp->p >= jp->end || *jp->p++ != ':') {
				free(key);
				return jfail(jp, "expected ':'");
			}
		}
		*tail = jvalue(jp, depth + 1);
		if (!*tail) {
			free(key);
			return -1;
		}
		(*tail)->key = key;
		key = NULL;
		tail = &(*tail)->next;
		jskip_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p++ == close)
			return 0;
		return jfail(jp, "expected ',' or end of container");
	}
}

static int jliteral(struct jparser *jp, struct jnode *n)
{
	static const struct { const char *text; enum jtype type; } lits[] = {
		{ "true", J_BOOL }, { "false", J_BOOL }, { "null", J_NULL },
	};
	size_t i, len;

	for (i = 0; i < ARRAY_SIZE(lits); i++) {
		len = strlen(lits[i].text);
		if ((size_t)(jp->end - jp->p) >= len &&
		    !memcmp(jp->p, lits[i].text, len)) {
			n->type = lits[i].type;
			n->str = strdup(lits[i].text);
			jp->p += len;
			return n->str ? 0 : jfail(jp, "out of memory");
		}
	}
	return jfail(jp, "unexpected character");
}

static int jnumber(struct jparser *jp, struct jnode *n)
{
	const char *start = jp->p;

	while (jp->p < jp->end && *jp->p && strchr("+-.eE0123456789", *jp->p))
		jp->p++;
	if (jp->p == start)
		return jfail(jp, "bad number");
	n->type = J_NUM;
	n->str = strndup(start, (size_t)(jp->p - start));
	return n->str ? 0 : jfail(jp, "out of memory");
}

static struct jnode *jvalue(struct jparser *jp, int depth)
{
	struct jnode *n;
	int err = 0;

	if (depth > JSON_MAX_DEPTH) {
		jfail(jp, "nested too deeply");
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		jfail(jp, "out of memory");
		return NULL;
	}
	jskip_ws(jp);
	if (jp->p >= jp->end) {
		err = jfail(jp, "unexpected end");
	} else if (*jp->p == '"') {
		n->type = J_STR;
		n->str = jstring(jp);
		err = n->str ? 0 : -1;
	} else if (*jp->p == '[' || *jp->p == '{') {
		n->type = *jp->p == '[' ? J_ARR : J_OBJ;
		err = jcontainer(jp, n, depth);
	} else if (*jp->p == '-' || (*jp->p >= '0' && *jp->p <= '9')) {
		err = jnumber(jp, n);
	} else {
		err = jliteral(jp, n);
	}
	if (err) {
		jfree(n);
		return NULL;
	}
	return n;
}

static struct jnode *jparse(const char *text, size_t len, const char **err)
{
	struct jparser jp = { .p = text, .end = text + len };
	struct jnode *root = jvalue(&jp, 0);

	jskip_ws(&jp);
	if (root && jp.p != jp.end) {
		jfail(&jp, "trailing data");
		jfree(root);
		root = NULL;
	}
	*err = jp.err;
	return root;
}

static const struct jnode *jget(const struct jnode *obj, const char *key)
{
	const struct jnode *n;

	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (n = obj->child; n; n = n->next)
		if (!strcmp(n->key, key))
			return n;
	return NULL;
}

static struct jnode *load_json(const char *path)
{
	struct jnode *root = NULL;
	const char *err = NULL;
	char *text = malloc(JSON_MAX_FILE);
	FILE *f = fopen(path, "rb");
	size_t len;

	if (!f || !text) {
		printf("# cannot open %s\n", path);
		goto out;
	}
	len = fread(text, 1, JSON_MAX_FILE, f);
	if (ferror(f) || len == JSON_MAX_FILE) {
		printf("# cannot read %s (or larger than %d bytes)\n", path,
		       JSON_MAX_FILE);
		goto out;
	}
	root = jparse(text, len, &err);
	if (!root)
		printf("# %s: %s\n", path, err ? err : "parse error");
out:
	if (f)
		fclose(f);
	free(text);
	return root;
}

/* ---------------------------------------------------------------------- */
/* Test vectors                                                            */
/* ---------------------------------------------------------------------- */

struct bytes {
	uint8_t *p;	/* NULL when absent */
	size_t len;
};

struct vector {
	const char *protocol;
	enum noise_pattern_id id;
	struct bytes init_prologue, init_static, init_ephemeral;
	struct bytes init_remote_static, init_psk;
	struct bytes resp_prologue, resp_static, resp_ephemeral;
	struct bytes resp_remote_static, resp_psk;
	struct bytes handshake_hash;
	size_t n_msgs;
	struct bytes payload[MAX_VECTOR_MSGS], ciphertext[MAX_VECTOR_MSGS];
};

static void bytes_free(struct bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

static void vector_free(struct vector *v)
{
	size_t i;

	bytes_free(&v->init_prologue);
	bytes_free(&v->init_static);
	bytes_free(&v->init_ephemeral);
	bytes_free(&v->init_remote_static);
	bytes_free(&v->init_psk);
	bytes_free(&v->resp_prologue);
	bytes_free(&v->resp_static);
	bytes_free(&v->resp_ephemeral);
	bytes_free(&v->resp_remote_static);
	bytes_free(&v->resp_psk);
	bytes_free(&v->handshake_hash);
	for (i = 0; i < v->n_msgs; i++) {
		bytes_free(&v->payload[i]);
		bytes_free(&v->ciphertext[i]);
	}
}

/* Decodes a hex J_STR; an empty string gives a non-NULL, 0-byte buffer. */
static int hex_decode(const struct jnode *n, struct bytes *out)
{
	size_t len, i;
	int hi, lo;

	if (!n || n->type != J_STR)
		return -1;
	len = strlen(n->str);
	if (len % 2 || len / 2 > NOISE_MAX_MSG_LEN)
		return -1;
	out->p = malloc(len / 2 + 1);
	if (!out->p)
		return -1;
	out->len = len / 2;
	for (i = 0; i < out->len; i++) {
		hi = hex_nibble((unsigned char)n->str[2 * i]);
		lo = hex_nibble((unsigned char)n->str[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			bytes_free(out);
			return -1;
		}
		out->p[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* An optional field of exactly want bytes (0: any length). */
static int load_field(const struct jnode *obj, const char *key,
		      struct bytes *out, size_t want, bool required)
{
	const struct jnode *n = jget(obj, key);

	if (!n)
		return required ? -1 : 0;
	if (hex_decode(n, out))
		return -1;
	if (want && out->len != want) {
		bytes_free(out);
		return -1;
	}
	return 0;
}

/* "init_psks"/"resp_psks": our patterns use at most one PSK. */
static int load_psk(const struct jnode *obj, const char *key,
		    struct bytes *out)
{
	const struct jnode *arr = jget(obj, key);

	if (!arr)
		return 0;
	if (arr->type != J_ARR || !arr->child || arr->child->next)
		return -1;
	if (hex_decode(arr->child, out))
		return -1;
	if (out->len != NOISE_PSKLEN) {
		bytes_free(out);
		return -1;
	}
	return 0;
}

static int load_messages(const struct jnode *obj, struct vector *v)
{
	const struct jnode *arr = jget(obj, "messages"), *m;

	if (!arr || arr->type != J_ARR)
		return -1;
	for (m = arr->child; m; m = m->next) {
		if (v->n_msgs == MAX_VECTOR_MSGS)
			return -1;
		if (load_field(m, "payload", &v->payload[v->n_msgs], 0, true))
			return -1;
		if (load_field(m, "ciphertext", &v->ciphertext[v->n_msgs], 0,
			       true)) {
			bytes_free(&v->payload[v->n_msgs]);
			return -1;
		}
		v->n_msgs++;
	}
	return v->n_msgs ? 0 : -1;
}

static int load_keys(const struct jnode *o, struct vector *v)
{
	return load_field(o, "init_prologue", &v->init_prologue, 0, false) ||
	       load_field(o, "init_static", &v->init_static, 32, false) ||
	       load_field(o, "init_ephemeral", &v->init_ephemeral, 32, true) ||
	       load_field(o, "init_remote_static", &v->init_remote_static,
			  32, false) ||
	       load_psk(o, "init_psks", &v->init_psk) ||
	       load_field(o, "resp_prologue", &v->resp_prologue, 0, false) ||
	       load_field(o, "resp_static", &v->resp_static, 32, false) ||
	       load_field(o, "resp_ephemeral", &v->resp_ephemeral, 32, true) ||
	       load_field(o, "resp_remote_static", &v->resp_remote_static,
			  32, false) ||
	       load_psk(o, "resp_psks", &v->resp_psk) ||
	       load_field(o, "handshake_hash", &v->handshake_hash,
			  NOISE_HASHLEN, true) ? -1 : 0;
}

static int load_vector(const struct jnode *o, struct vector *v)
{
	const struct jnode *name = jget(o, "protocol_name");

	memset(v, 0, sizeof(*v));
	if (!name || name->type != J_STR)
		return -1;
	v->protocol = name->str;
	if (noise_pattern_from_name(v->protocol, &v->id))
		return -1;
	/* Every supported pattern has at most 3 handshake messages. */
	if (load_keys(o, v) || load_messages(o, v) || v->n_msgs < 3) {
		vector_free(v);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Driving both parties                                                    */
/* ---------------------------------------------------------------------- */

/* What one party is initialized with; tests may substitute any field. */
struct party {
	const uint8_t *prologue;
	size_t prologue_len;
	const uint8_t *s, *e, *rs, *psk;
};

static struct party party_of(const struct vector *v, enum noise_role role)
{
	bool ini = role == NOISE_INITIATOR;
	struct party p = {
		.prologue = ini ? v->init_prologue.p : v->resp_prologue.p,
		.prologue_len = ini ? v->init_prologue.len :
				      v->resp_prologue.len,
		.s = ini ? v->init_static.p : v->resp_static.p,
		.e = ini ? v->init_ephemeral.p : v->resp_ephemeral.p,
		.rs = ini ? v->init_remote_static.p : v->resp_remote_static.p,
		.psk = ini ? v->init_psk.p : v->resp_psk.p,
	};
	return p;
}

static int party_start(struct noise_handshake *hs, const struct vector *v,
		       enum noise_role role, const struct party *p)
{
	int err;

	err = noise_handshake_init(hs, v->id, role, p->prologue,
				   p->prologue_len, p->s, p->rs, p->psk);
	if (!err && p->e)
		err = noise_handshake_set_ephemeral(hs, p->e);
	if (err)
		printf("# %s: init %s: %s\n", v->protocol,
		       role == NOISE_INITIATOR ? "initiator" : "responder",
		       noise_strerror(err));
	return err;
}

static int start_both(struct noise_handshake *ini, struct noise_handshake *resp,
		      const struct vector *v)
{
	struct party pi = party_of(v, NOISE_INITIATOR);
	struct party pr = party_of(v, NOISE_RESPONDER);

	if (party_start(ini, v, NOISE_INITIATOR, &pi))
		return -1;
	return party_start(resp, v, NOISE_RESPONDER, &pr);
}

static bool bytes_eq(const uint8_t *a, size_t alen, const struct bytes *b)
{
	return alen == b->len && (!alen || !memcmp(a, b->p, alen));
}

/* Message i's writer and reader (cacophony: initiator on even i). */
static void pick_sides(size_t i, struct noise_handshake *ini,
		       struct noise_handshake *resp,
		       struct noise_handshake **from,
		       struct noise_handshake **to)
{
	*from = i % 2 == 0 ? ini : resp;
	*to = i % 2 == 0 ? resp : ini;
}

/* Writes message i and checks it against the vector. */
static int write_checked(struct noise_handshake *from, const struct vector *v,
			 size_t i, uint8_t *msg, size_t *msg_len)
{
	int err;

	err = noise_handshake_write(from, v->payload[i].p, v->payload[i].len,
				    msg, NOISE_MAX_MSG_LEN, msg_len);
	if (err) {
		printf("# write %zu: %s\n", i, noise_strerror(err));
		return err;
	}
	return bytes_eq(msg, *msg_len, &v->ciphertext[i]) ? 0 : -1;
}

static int read_checked(struct noise_handshake *to, const struct vector *v,
			size_t i, const uint8_t *msg, size_t msg_len)
{
	static uint8_t payload[NOISE_MAX_MSG_LEN];
	size_t len;
	int err;

	err = noise_handshake_read(to, msg, msg_len, payload, sizeof(payload),
				   &len);
	if (err) {
		printf("# read %zu: %s\n", i, noise_strerror(err));
		return err;
	}
	return bytes_eq(payload, len, &v->payload[i]) ? 0 : -1;
}

/* Runs handshake messages [0, count) correctly, without TAP output. */
static int run_prefix(struct noise_handshake *ini, struct noise_handshake *resp,
		      const struct vector *v, size_t count)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN];
	struct noise_handshake *from, *to;
	size_t i, len;

	for (i = 0; i < count; i++) {
		pick_sides(i, ini, resp, &from, &to);
		if (write_checked(from, v, i, msg, &len) ||
		    read_checked(to, v, i, msg, len))
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Positive run of one vector                                              */
/* ---------------------------------------------------------------------- */

struct transport {
	struct noise_cipher_state ini_c1, ini_c2, resp_c1, resp_c2;
};

static size_t run_handshake(struct noise_handshake *ini,
			    struct noise_handshake *resp,
			    const struct vector *v)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN];
	struct noise_handshake *from, *to;
	size_t i, len;

	for (i = 0; i < v->n_msgs && !noise_handshake_is_complete(ini); i++) {
		pick_sides(i, ini, resp, &from, &to);
		tap_ok(!write_checked(from, v, i, msg, &len),
		       "%s: handshake message %zu matches the vector",
		       v->protocol, i);
		tap_ok(!read_checked(to, v, i, msg, len),
		       "%s: handshake message %zu payload decrypts",
		       v->protocol, i);
	}
	return i;
}

static void check_hash(const struct noise_handshake *ini,
		       const struct noise_handshake *resp,
		       const struct vector *v)
{
	uint8_t hi[NOISE_HASHLEN], hr[NOISE_HASHLEN];

	tap_ok(noise_handshake_is_complete(ini) &&
	       noise_handshake_is_complete(resp),
	       "%s: both sides complete", v->protocol);
	tap_ok(!noise_handshake_get_hash(ini, hi) &&
	       bytes_eq(hi, sizeof(hi), &v->handshake_hash),
	       "%s: initiator handshake hash matches", v->protocol);
	tap_ok(!noise_handshake_get_hash(resp, hr) &&
	       bytes_eq(hr, sizeof(hr), &v->handshake_hash),
	       "%s: responder handshake hash matches", v->protocol);
}

static int transport_one(struct transport *t, const struct vector *v,
			 size_t i)
{
	static uint8_t ct[NOISE_MAX_MSG_LEN], pt[NOISE_MAX_MSG_LEN];
	bool ini_sends = i % 2 == 0;
	struct noise_cipher_state *tx = ini_sends ? &t->ini_c1 : &t->resp_c2;
	struct noise_cipher_state *rx = ini_sends ? &t->resp_c1 : &t->ini_c2;
	size_t clen, plen;

	if (noise_cipher_encrypt(tx, NULL, 0, v->payload[i].p,
				 v->payload[i].len, ct, sizeof(ct), &clen) ||
	    !bytes_eq(ct, clen, &v->ciphertext[i]))
		return -1;
	if (noise_cipher_decrypt(rx, NULL, 0, ct, clen, pt, sizeof(pt), &plen))
		return -1;
	return bytes_eq(pt, plen, &v->payload[i]) ? 0 : -1;
}

static void check_kdf_agrees(const struct transport *t, const struct vector *v,
			     const uint8_t h[NOISE_HASHLEN])
{
	struct jvpn_session_keys ki, kr;
	const uint8_t *tx_i, *rx_i, *tx_r, *rx_r;

	tap_ok(!jvpn_kdf_derive(t->ini_c1.k, t->ini_c2.k, h, &ki) &&
	       !jvpn_kdf_derive(t->resp_c1.k, t->resp_c2.k, h, &kr) &&
	       !memcmp(&ki, &kr, sizeof(ki)),
	       "%s: both sides derive the same jvpn keys", v->protocol);
	jvpn_kdf_data_keys(&ki, NOISE_INITIATOR, &tx_i, &rx_i);
	jvpn_kdf_data_keys(&kr, NOISE_RESPONDER, &tx_r, &rx_r);
	tap_ok(!memcmp(tx_i, rx_r, JVPN_KEY_LEN) &&
	       !memcmp(tx_r, rx_i, JVPN_KEY_LEN) &&
	       memcmp(tx_i, rx_i, JVPN_KEY_LEN) &&
	       memcmp(ki.reattach, ki.i2r, JVPN_KEY_LEN) &&
	       memcmp(ki.reattach, ki.r2i, JVPN_KEY_LEN),
	       "%s: data keys pair up, reattach key is distinct",
	       v->protocol);
	jvpn_kdf_wipe(&ki);
	jvpn_kdf_wipe(&kr);
}

static void run_transport(struct noise_handshake *ini,
			  struct noise_handshake *resp,
			  const struct vector *v, size_t first)
{
	struct transport t;
	uint8_t h[NOISE_HASHLEN];
	size_t i;

	noise_handshake_get_hash(ini, h);
	tap_ok(!noise_handshake_split(ini, &t.ini_c1, &t.ini_c2) &&
	       !noise_handshake_split(resp, &t.resp_c1, &t.resp_c2),
	       "%s: Split() on both sides", v->protocol);
	for (i = first; i < v->n_msgs; i++)
		tap_ok(!transport_one(&t, v, i),
		       "%s: transport message %zu (%s) matches and decrypts",
		       v->protocol, i, i % 2 ? "responder" : "initiator");
	check_kdf_agrees(&t, v, h);
	sodium_memzero(&t, sizeof(t));
}

static void run_vector(const struct vector *v)
{
	struct noise_handshake ini, resp;
	size_t next;

	if (start_both(&ini, &resp, v)) {
		tap_ok(0, "%s: initialize both parties", v->protocol);
		return;
	}
	next = run_handshake(&ini, &resp, v);
	check_hash(&ini, &resp, v);
	run_transport(&ini, &resp, v, next);
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
}

/* ---------------------------------------------------------------------- */
/* Negative tests                                                          */
/* ---------------------------------------------------------------------- */

/*
 * Like TAP_EQ_INT, but a function: TAP_EQ_INT evaluates its arguments
 * twice, which would run a state-changing call twice.
 */
static void expect_err(int got, int want, const char *name)
{
	if (got == want)
		tap_ok(1, "%s: %s", name, noise_strerror(got));
	else
		tap_ok(0, "%s (got %s, want %s)", name, noise_strerror(got),
		       noise_strerror(want));
}

static const uint8_t zero_key[32];
/* u = 1: a point of order 4; X25519 with any clamped scalar gives 0. */
static const uint8_t low_order_key[32] = { 1 };

/* Is message i of the vector refused when bit @bit is flipped? */
static bool flip_refused(const struct vector *v, size_t i, size_t bit)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN], pt[NOISE_MAX_MSG_LEN];
	struct noise_handshake ini, resp, *from, *to;
	const struct bytes *ct = &v->ciphertext[i];
	size_t len;
	bool refused = false;

	if (!start_both(&ini, &resp, v) && !run_prefix(&ini, &resp, v, i)) {
		pick_sides(i, &ini, &resp, &from, &to);
		memcpy(msg, ct->p, ct->len);
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		refused = noise_handshake_read(to, msg, ct->len, pt,
					       sizeof(pt), &len) != NOISE_OK &&
			  noise_handshake_read(to, ct->p, ct->len, pt,
					       sizeof(pt), &len) ==
			  NOISE_E_FAILED;
	}
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
	return refused;
}

/* Every single-bit change of every IK/IKpsk2 handshake message fails. */
static void test_bit_flips(const struct vector *v)
{
	size_t i, bit, refused, bits;

	for (i = 0; i < 2; i++) {
		bits = v->ciphertext[i].len * 8;
		for (refused = 0, bit = 0; bit < bits; bit++)
			refused += flip_refused(v, i, bit);
		tap_ok(refused == bits,
		       "%s: all %zu bit flips of message %zu refused (%zu)",
		       v->protocol, bits, i, refused);
	}
}

/* XX message 0 is cleartext: tampering shows up at message 1 (via h). */
static void test_xx_cleartext_tamper(const struct vector *v)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN], pt[NOISE_MAX_MSG_LEN];
	struct noise_handshake ini, resp;
	size_t len, plen;
	int r0 = -1, r1 = -1;

	if (!start_both(&ini, &resp, v)) {
		noise_handshake_write(&ini, v->payload[0].p, v->payload[0].len,
				      msg, sizeof(msg), &len);
		msg[len - 1] ^= 0x01;	/* last payload byte */
		r0 = noise_handshake_read(&resp, msg, len, pt, sizeof(pt),
					  &plen);
		noise_handshake_write(&resp, NULL, 0, msg, sizeof(msg), &len);
		r1 = noise_handshake_read(&ini, msg, len, pt, sizeof(pt),
					  &plen);
	}
	tap_ok(r0 == NOISE_OK && r1 == NOISE_E_DECRYPT,
	       "%s: tampered cleartext message 0 is caught at message 1",
	       v->protocol);
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
}

/* Reads message 0 of v written by @pi into a responder set up as @pr. */
static int read_first(const struct vector *v, const struct party *pi,
		      const struct party *pr)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN], pt[NOISE_MAX_MSG_LEN];
	struct noise_handshake ini, resp;
	size_t len, plen;
	int err;

	err = party_start(&ini, v, NOISE_INITIATOR, pi);
	if (!err)
		err = party_start(&resp, v, NOISE_RESPONDER, pr);
	if (!err)
		err = noise_handshake_write(&ini, v->payload[0].p,
					    v->payload[0].len, msg,
					    sizeof(msg), &len);
	if (!err)
		err = noise_handshake_read(&resp, msg, len, pt, sizeof(pt),
					   &plen);
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
	return err;
}

static void test_wrong_responder_static(const struct vector *v)
{
	uint8_t other_priv[32], other_pub[32];
	struct party pi = party_of(v, NOISE_INITIATOR);
	struct party pr = party_of(v, NOISE_RESPONDER);

	memset(other_priv, 0x5a, sizeof(other_priv));
	crypto_scalarmult_base(other_pub, other_priv);
	pi.rs = other_pub;
	expect_err(read_first(v, &pi, &pr), NOISE_E_DECRYPT,
		   "IK: initiator with a wrong responder static key fails");
	pi = party_of(v, NOISE_INITIATOR);
	pr.s = other_priv;
	expect_err(read_first(v, &pi, &pr), NOISE_E_DECRYPT,
		   "IK: responder with another static key refuses message 0");
}

static void test_zero_peer_keys(const struct vector *v)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN], pt[NOISE_MAX_MSG_LEN];
	struct party pi = party_of(v, NOISE_INITIATOR);
	struct party pr = party_of(v, NOISE_RESPONDER);
	struct noise_handshake ini, resp;
	size_t plen, len = v->ciphertext[0].len;

	pi.rs = zero_key;
	expect_err(read_first(v, &pi, &pr), NOISE_E_DH,
		   "IK: all-zero responder static key refused by initiator");
	pi.rs = low_order_key;
	expect_err(read_first(v, &pi, &pr), NOISE_E_DH,
		   "IK: low-order responder static key refused by initiator");

	memcpy(msg, v->ciphertext[0].p, len);
	memset(msg, 0, NOISE_DHLEN);		/* message 0 starts with e */
	start_both(&ini, &resp, v);
	expect_err(noise_handshake_read(&resp, msg, len, pt, sizeof(pt),
					&plen), NOISE_E_DH,
		   "IK: all-zero initiator ephemeral refused by responder");
	start_both(&ini, &resp, v);
	memcpy(msg, low_order_key, NOISE_DHLEN);
	expect_err(noise_handshake_read(&resp, msg, len, pt, sizeof(pt),
					&plen), NOISE_E_DH,
		   "IK: low-order initiator ephemeral refused by responder");
	expect_err(noise_handshake_read(&resp, v->ciphertext[0].p, len, pt,
					sizeof(pt), &plen), NOISE_E_FAILED,
		   "IK: a failed handshake stays failed");
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
}

/* XX: the responder's ephemeral arrives first in message 1 ("ee"). */
static void test_xx_zero_ephemeral(const struct vector *v)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN], pt[NOISE_MAX_MSG_LEN];
	struct noise_handshake ini, resp;
	size_t len = v->ciphertext[1].len, plen;
	int err = -1;

	if (!start_both(&ini, &resp, v) && !run_prefix(&ini, &resp, v, 1)) {
		memcpy(msg, v->ciphertext[1].p, len);
		memset(msg, 0, NOISE_DHLEN);
		err = noise_handshake_read(&ini, msg, len, pt, sizeof(pt),
					   &plen);
	}
	expect_err(err, NOISE_E_DH,
		   "XX: all-zero responder ephemeral refused by initiator");
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
}

static int psk_message1(const struct vector *v, const struct party *pi,
			const struct party *pr)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN], pt[NOISE_MAX_MSG_LEN];
	struct noise_handshake ini, resp;
	size_t len, plen;
	int err;

	err = party_start(&ini, v, NOISE_INITIATOR, pi);
	if (!err)
		err = party_start(&resp, v, NOISE_RESPONDER, pr);
	if (!err)
		err = run_prefix(&ini, &resp, v, 1);	/* psk not used yet */
	if (!err)
		err = noise_handshake_write(&resp, v->payload[1].p,
					    v->payload[1].len, msg,
					    sizeof(msg), &len);
	if (!err)
		err = noise_handshake_read(&ini, msg, len, pt, sizeof(pt),
					   &plen);
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
	return err;
}

static void test_wrong_psk(const struct vector *v)
{
	struct party pi = party_of(v, NOISE_INITIATOR);
	struct party pr = party_of(v, NOISE_RESPONDER);
	uint8_t psk[NOISE_PSKLEN];

	memcpy(psk, v->init_psk.p, sizeof(psk));
	psk[0] ^= 0x80;
	pi.psk = psk;
	expect_err(psk_message1(v, &pi, &pr), NOISE_E_DECRYPT,
		   "IKpsk2: initiator with a wrong PSK refuses message 1");
	pi = party_of(v, NOISE_INITIATOR);
	pr.psk = psk;
	expect_err(psk_message1(v, &pi, &pr), NOISE_E_DECRYPT,
		   "IKpsk2: responder with a wrong PSK is refused");
}

/* The responder picks the PSK after learning who the initiator is. */
static void test_late_psk(const struct vector *v)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN];
	struct party pi = party_of(v, NOISE_INITIATOR);
	struct party pr = party_of(v, NOISE_RESPONDER);
	struct noise_handshake ini, resp;
	uint8_t rs[NOISE_DHLEN], ini_pub[NOISE_DHLEN];
	size_t len;
	int ok = 0;

	pr.psk = NULL;
	crypto_scalarmult_base(ini_pub, v->init_static.p);
	if (!party_start(&ini, v, NOISE_INITIATOR, &pi) &&
	    !party_start(&resp, v, NOISE_RESPONDER, &pr) &&
	    !run_prefix(&ini, &resp, v, 1)) {
		ok = noise_handshake_write(&resp, NULL, 0, msg, sizeof(msg),
					   &len) == NOISE_E_MISSING_KEY;
		ok &= !noise_handshake_get_remote_static(&resp, rs) &&
		      !memcmp(rs, ini_pub, sizeof(rs));
		ok &= !noise_handshake_set_psk(&resp, v->resp_psk.p);
		ok &= !write_checked(&resp, v, 1, msg, &len);
	}
	tap_ok(ok, "IKpsk2: PSK chosen after message 0 by initiator identity");
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
}

/* Length and turn errors are refused before anything is mutated. */
static void test_prechecks(const struct vector *v)
{
	static uint8_t msg[NOISE_MAX_MSG_LEN + 1], pt[NOISE_MAX_MSG_LEN];
	const struct bytes *ct0 = &v->ciphertext[0];
	struct noise_handshake ini, resp;
	size_t len, plen;

	start_both(&ini, &resp, v);
	expect_err(noise_handshake_write(&resp, NULL, 0, msg, sizeof(msg),
					 &len), NOISE_E_STATE,
		   "responder may not write first");
	expect_err(noise_handshake_read(&ini, ct0->p, ct0->len, pt,
					sizeof(pt), &plen), NOISE_E_STATE,
		   "initiator may not read first");
	expect_err(noise_handshake_write(&ini, v->payload[0].p,
					 v->payload[0].len, msg,
					 ct0->len - 1, &len), NOISE_E_BUF,
		   "write into a too small buffer refused");
	expect_err(noise_handshake_write(&ini, pt, NOISE_MAX_MSG_LEN, msg,
					 sizeof(msg), &len),
		   NOISE_E_TOO_LONG, "payload beyond 65535-byte message refused");
	expect_err(noise_handshake_read(&resp, ct0->p,
					ct0->len - v->payload[0].len - 1, pt,
					sizeof(pt), &plen), NOISE_E_SHORT,
		   "truncated message 0 refused");
	expect_err(noise_handshake_read(&resp, msg, NOISE_MAX_MSG_LEN + 1, pt,
					sizeof(pt), &plen), NOISE_E_TOO_LONG,
		   "message beyond 65535 bytes refused");
	expect_err(noise_handshake_read(&resp, ct0->p, ct0->len, pt,
					v->payload[0].len - 1, &plen),
		   NOISE_E_BUF, "payload into a too small buffer refused");
	expect_err(noise_handshake_split(&ini, &(struct noise_cipher_state){0},
					 &(struct noise_cipher_state){0}),
		   NOISE_E_STATE, "Split() before completion refused");
	tap_ok(!run_prefix(&ini, &resp, v, 2),
	       "after refused calls the handshake still matches the vector");
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
}

static void test_init_errors(const struct vector *xx)
{
	struct noise_handshake hs, peer;
	uint8_t k[32] = { 7 };

	expect_err(noise_handshake_init(&hs, NOISE_PATTERN_IK, NOISE_INITIATOR,
					NULL, 0, k, NULL, NULL),
		   NOISE_E_MISSING_KEY, "IK initiator needs the responder key");
	expect_err(noise_handshake_init(&hs, NOISE_PATTERN_IK, NOISE_RESPONDER,
					NULL, 0, NULL, NULL, NULL),
		   NOISE_E_MISSING_KEY, "IK responder needs its static key");
	expect_err(noise_handshake_init(&hs, NOISE_PATTERN_XX, NOISE_INITIATOR,
					NULL, 0, k, k, NULL),
		   NOISE_E_INVAL, "XX refuses a preset remote static key");
	expect_err(noise_handshake_init(&hs, NOISE_PATTERN_IK, NOISE_INITIATOR,
					NULL, 0, k, k, k),
		   NOISE_E_INVAL, "IK refuses a PSK");
	expect_err(noise_handshake_init(&hs, (enum noise_pattern_id)99,
					NOISE_INITIATOR, NULL, 0, k, k, NULL),
		   NOISE_E_INVAL, "unknown pattern refused");
	expect_err(noise_handshake_init(&hs, NOISE_PATTERN_IK, NOISE_INITIATOR,
					NULL, 3, k, k, NULL),
		   NOISE_E_INVAL, "NULL prologue with a length refused");
	start_both(&hs, &peer, xx);
	expect_err(noise_handshake_set_psk(&hs, k), NOISE_E_INVAL,
		   "XX refuses a PSK later too");
	noise_handshake_wipe(&hs);
	noise_handshake_wipe(&peer);
}

/* ---------------------------------------------------------------------- */
/* CipherState and primitives                                              */
/* ---------------------------------------------------------------------- */

static void test_cipher_limits(void)
{
	struct noise_cipher_state tx, rx;
	uint8_t key[NOISE_KEYLEN] = { 1, 2, 3 };
	uint8_t ct[64], pt[64];
	size_t len, plen;

	noise_cipher_init(&tx, key);
	noise_cipher_init(&rx, key);
	tx.n = UINT64_MAX - 1;
	rx.n = UINT64_MAX - 1;
	tap_ok(!noise_cipher_encrypt(&tx, NULL, 0, key, 8, ct, sizeof(ct),
				     &len) &&
	       !noise_cipher_decrypt(&rx, NULL, 0, ct, len, pt, sizeof(pt),
				     &plen) && plen == 8,
	       "nonce 2^64-2 is the last one used");
	expect_err(noise_cipher_encrypt(&tx, NULL, 0, key, 8, ct, sizeof(ct),
					&len), NOISE_E_NONCE,
		   "nonce 2^64-1 is reserved for encryption");
	expect_err(noise_cipher_decrypt(&rx, NULL, 0, ct, len, pt, sizeof(pt),
					&plen), NOISE_E_NONCE,
		   "nonce 2^64-1 is reserved for decryption");
	noise_cipher_wipe(&tx);
	noise_cipher_wipe(&rx);
}

static void test_cipher_tamper_and_rekey(void)
{
	struct noise_cipher_state tx, rx;
	uint8_t key[NOISE_KEYLEN] = { 9 }, ad[3] = { 'a', 'd', 0 };
	uint8_t ct[64], pt[64];
	size_t len, plen, bit, refused = 0;

	noise_cipher_init(&tx, key);
	noise_cipher_init(&rx, key);
	noise_cipher_encrypt(&tx, ad, sizeof(ad), key, 20, ct, sizeof(ct),
			     &len);
	for (bit = 0; bit < len * 8; bit++) {
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		refused += noise_cipher_decrypt(&rx, ad, sizeof(ad), ct, len,
						pt, sizeof(pt), &plen) ==
			   NOISE_E_DECRYPT;
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	tap_ok(refused == len * 8 && rx.n == 0,
	       "transport: all %zu bit flips refused, nonce not advanced",
	       len * 8);
	tap_ok(!noise_cipher_decrypt(&rx, ad, sizeof(ad), ct, len, pt,
				     sizeof(pt), &plen) && rx.n == 1,
	       "transport: the untampered message still decrypts");
	tap_ok(!noise_cipher_rekey(&tx) && !noise_cipher_rekey(&rx) &&
	       memcmp(tx.k, key, sizeof(key)) &&
	       !noise_cipher_encrypt(&tx, NULL, 0, key, 5, ct, sizeof(ct),
				     &len) &&
	       !noise_cipher_decrypt(&rx, NULL, 0, ct, len, pt, sizeof(pt),
				     &plen),
	       "Rekey() changes the key and both sides agree");
	noise_cipher_wipe(&tx);
	noise_cipher_wipe(&rx);
}

static bool hex_eq(const uint8_t *got, size_t len, const char *hex)
{
	struct jnode n = { .type = J_STR, .str = (char *)hex };
	struct bytes want = { 0 };
	bool eq;

	eq = !hex_decode(&n, &want) && bytes_eq(got, len, &want);
	bytes_free(&want);
	return eq;
}

/*
 * Known answers computed independently: HMAC and Noise HKDF with Python's
 * hmac + hashlib.blake2b, the jvpn KDF with the Python "cryptography"
 * package's RFC 5869 HKDF over BLAKE2b(64) (salt = h, ikm = k1 || k2,
 * info = label, L = 32).
 */
static const char kat_hmac_short[] =
	"92294f92c0dfb9b00ec9ae8bd94d7e7d8a036b885a499f149dfe2fd2199394aaaf6b8894a1730cccb2cd050f9bcf5062a38b51b0dab33207f8ef35ae2c9df51b";
static const char kat_hmac_long[] =
	"57f84f1ccaa3b21c77894f84cc40aa1b4cb07effd4b711ec768d7fc7aaaa2d201e68d5f1e13f688034c13599601ec50eb44b932c4119580b66e641ced92642a3";
static const char *const kat_hkdf[3] = {
	"2262ed5f40c3324574d00a1e0849a7cc67fb5b6a80211c3c59404bb8e47512b1cb95e73840718c5d68ca345f934f39a52f1f31e8f6d3ed521f0664f46feddae4",
	"f6a6559fa2aaab64d3d2666b83fe3f4fed6fae1959537fedd6a39b6f8d411e6132593234cc2a750244335da5021c27bf7eacbb65cfa608457de6ecc144b90077",
	"07c82c1301c70e885f4662f1f3f7b7bb9e04d81c94a6e1882f812c02ffb69580c93095bb599ad2fced3d3cf38c9c17df4fb3c0029f231247fca69b040e16449e",
};

static const char kat_kdf_i2r[] =
	"83c91eec7efec79e9a660eac7b52c15b7a4714f3bba314a87e14d43d0c2bccd6";
static const char kat_kdf_r2i[] =
	"980321c747de0596bd841a9bf2b57f77458d3bbd59690874f62fc15d602d1c8d";
static const char kat_kdf_reattach[] =
	"23133c7a70939111f44dcf36b0fc86ad0309e82199e40c2a285b9ad552dd8a8c";

static void fill_counting(uint8_t *buf, size_t len, uint8_t first)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(first + i);
}

static void test_hmac_hkdf(void)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	uint8_t out[NOISE_HASHLEN], o2[NOISE_HASHLEN], o3[NOISE_HASHLEN];
	uint8_t ck[NOISE_HASHLEN], ikm[32], longkey[200];

	noise_hmac(out, (const uint8_t *)"key", 3, (const uint8_t *)fox,
		   strlen(fox));
	tap_ok(hex_eq(out, sizeof(out), kat_hmac_short),
	       "HMAC-BLAKE2b known answer (short key)");
	fill_counting(longkey, sizeof(longkey), 0);
	noise_hmac(out, longkey, sizeof(longkey), (const uint8_t *)"jvpn", 4);
	tap_ok(hex_eq(out, sizeof(out), kat_hmac_long),
	       "HMAC-BLAKE2b known answer (key longer than a block)");
	fill_counting(ck, sizeof(ck), 0);
	fill_counting(ikm, sizeof(ikm), 100);
	noise_hkdf(ck, ikm, sizeof(ikm), out, o2, o3);
	tap_ok(hex_eq(out, sizeof(out), kat_hkdf[0]) &&
	       hex_eq(o2, sizeof(o2), kat_hkdf[1]) &&
	       hex_eq(o3, sizeof(o3), kat_hkdf[2]),
	       "Noise HKDF known answer (three outputs)");
}

static void test_kdf_known_answer(void)
{
	uint8_t k1[32], k2[32], h[64];
	struct jvpn_session_keys keys;

	fill_counting(k1, sizeof(k1), 0);
	fill_counting(k2, sizeof(k2), 32);
	fill_counting(h, sizeof(h), 64);
	tap_ok(!jvpn_kdf_derive(k1, k2, h, &keys) &&
	       hex_eq(keys.i2r, sizeof(keys.i2r), kat_kdf_i2r) &&
	       hex_eq(keys.r2i, sizeof(keys.r2i), kat_kdf_r2i) &&
	       hex_eq(keys.reattach, sizeof(keys.reattach), kat_kdf_reattach),
	       "jvpn KDF known answer (labels fixed)");
	jvpn_kdf_wipe(&keys);
}

static void test_kdf_from_handshake(const struct vector *v)
{
	struct jvpn_session_keys ki = { 0 }, kr = { 0 };
	struct noise_handshake ini, resp;
	int ei = -1, er = -1;

	start_both(&ini, &resp, v);
	expect_err(jvpn_kdf_from_handshake(&ini, &ki), NOISE_E_STATE,
		   "KDF refuses an unfinished handshake");
	if (!run_prefix(&ini, &resp, v, 2)) {
		ei = jvpn_kdf_from_handshake(&ini, &ki);
		er = jvpn_kdf_from_handshake(&resp, &kr);
	}
	tap_ok(!ei && !er && !memcmp(&ki, &kr, sizeof(ki)),
	       "%s: jvpn_kdf_from_handshake agrees on both sides",
	       v->protocol);
	expect_err(jvpn_kdf_from_handshake(&ini, &ki), NOISE_E_STATE,
		   "Split() only once");
	jvpn_kdf_wipe(&ki);
	jvpn_kdf_wipe(&kr);
	noise_handshake_wipe(&ini);
	noise_handshake_wipe(&resp);
}

/* ---------------------------------------------------------------------- */

static const struct vector *find(const struct vector *v, size_t n,
				 enum noise_pattern_id id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

static void run_negative(const struct vector *v, size_t n)
{
	const struct vector *ik = find(v, n, NOISE_PATTERN_IK);
	const struct vector *psk = find(v, n, NOISE_PATTERN_IKPSK2);
	const struct vector *xx = find(v, n, NOISE_PATTERN_XX);

	tap_ok(ik && psk && xx, "the file has IK, IKpsk2 and XX vectors");
	if (!ik || !psk || !xx)
		return;
	test_bit_flips(ik);
	test_bit_flips(psk);
	test_xx_cleartext_tamper(xx);
	test_wrong_responder_static(ik);
	test_zero_peer_keys(ik);
	test_xx_zero_ephemeral(xx);
	test_wrong_psk(psk);
	test_late_psk(psk);
	test_prechecks(ik);
	test_init_errors(xx);
	test_kdf_from_handshake(psk);
}

static size_t load_all(const struct jnode *root, struct vector *v)
{
	const struct jnode *arr = jget(root, "vectors"), *o;
	size_t n = 0;

	tap_ok(arr && arr->type == J_ARR && arr->child,
	       "vectors file has a non-empty \"vectors\" array");
	for (o = arr ? arr->child : NULL; o && n < MAX_VECTORS; o = o->next) {
		const struct jnode *name = jget(o, "protocol_name");

		if (load_vector(o, &v[n])) {
			tap_ok(0, "load vector %s",
			       name && name->str ? name->str : "(unnamed)");
			continue;
		}
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	static struct vector vectors[MAX_VECTORS];
	const char *path = argc > 1 ? argv[1] : DEFAULT_VECTORS;
	struct jnode *root;
	size_t n, i;

	if (sodium_init() < 0) {
		tap_ok(0, "sodium_init");
		return tap_done();
	}
	root = load_json(path);
	tap_ok(!!root, "parse %s", path);
	n = root ? load_all(root, vectors) : 0;
	for (i = 0; i < n; i++)
		run_vector(&vectors[i]);
	run_negative(vectors, n);
	test_cipher_limits();
	test_cipher_tamper_and_rekey();
	test_hmac_hkdf();
	test_kdf_known_answer();
	for (i = 0; i < n; i++)
		vector_free(&vectors[i]);
	jfree(root);
	return tap_done();
}
