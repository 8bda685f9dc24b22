// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Config parser: the good files under tests/data/config/ parse to the
 * expected values; every bad-*.conf there is refused with exactly one
 * error, which must contain "FILE:" followed by the text of its
 * "# expect: LINE: ..." comment (so file and line are both checked).
 * Generated inputs cover the limits (line length, NUL, peer count).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tap.h"
#include "../../daemon/config.h"

#ifndef JVPN_SRCDIR
#define JVPN_SRCDIR "."
#endif

#define KEY_A "pU3KGCUwux1tEyze1iN7LtkeP3IfyxlxF0SU1kk8nVw="

static struct jvpn_config cfg;
static struct cfg_errors errs;
static char datadir[4096];

static const char *srcdir(void)
{
	const char *env = getenv("JVPN_SRCDIR");

	return env ? env : JVPN_SRCDIR;
}

static int load(const char *name)
{
	char path[8192];

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	config_free(&cfg);
	return config_load(path, &cfg, &errs);
}

static int parse_text(const char *text)
{
	config_free(&cfg);
	return config_parse("mem.conf", text, strlen(text), &cfg, &errs);
}

static int any_error(const char *needle)
{
	unsigned int i;

	for (i = 0; i < errs.n; i++)
		if (strstr(errs.msg[i], needle))
			return 1;
	return 0;
}

static void show_errors(void)
{
	unsigned int i;

	for (i = 0; i < errs.n; i++)
		printf("#   %s\n", errs.msg[i]);
}

static int prefix_is(const struct cfg_prefix *p, const char *text)
{
	char buf[64];

	return config_format_prefix(p, buf, sizeof(buf)) > 0 &&
	       !strcmp(buf, text);
}

/* ---------------------------------------------------------------------- */
/* Good files                                                              */
/* ---------------------------------------------------------------------- */

static void test_minimal(void)
{
	int ret = load("good-minimal.conf");

	tap_ok(!ret && errs.n == 0, "good-minimal.conf parses");
	tap_ok(cfg.has_interface && cfg.iface.has_private_key &&
	       cfg.iface.private_key[0] == 0xa5 && cfg.iface.private_key[31] == 0x5c &&
	       cfg.n_peers == 0 && cfg.iface.n_listen_ports == 0 &&
	       cfg.iface.name[0] == '\0', "minimal: key decoded, rest empty");
	tap_ok(cfg.policy.max_recovery_window_ms == 5000 &&
	       cfg.policy.session_ttl_s == 86400, "minimal: policy defaults");
}

static void test_client(void)
{
	const struct cfg_peer *p;
	int ret = load("good-client.conf");

	if (ret)
		show_errors();
	tap_ok(!ret, "good-client.conf parses");
	p = &cfg.peers[0];
	tap_ok(cfg.n_peers == 1 && p->n_endpoints == 3 &&
	       p->persistent_keepalive_s == 25, "client: one peer, 3 endpoints");
	tap_ok(p->endpoints[0].literal && p->endpoints[0].family == AF_INET &&
	       p->endpoints[0].port == 51820 &&
	       !strcmp(p->endpoints[0].host, "192.0.2.10"),
	       "client: IPv4 endpoint");
	tap_ok(p->endpoints[1].literal && p->endpoints[1].family == AF_INET6 &&
	       p->endpoints[1].port == 443 && p->endpoints[1].addr[0] == 0x20 &&
	       p->endpoints[1].addr[15] == 0x10, "client: [IPv6]:port endpoint");
	tap_ok(!p->endpoints[2].literal &&
	       !strcmp(p->endpoints[2].host, "vpn.example.net") &&
	       p->endpoints[2].port == 51820, "client: DNS endpoint kept as text");
	tap_ok(p->n_allowed_ips == 2 && prefix_is(&p->allowed_ips[0], "0.0.0.0/0") &&
	       prefix_is(&p->allowed_ips[1], "::/0"), "client: default routes");
	tap_ok(cfg.iface.n_addresses == 2 &&
	       prefix_is(&cfg.iface.addresses[0], "10.77.0.2/32") &&
	       prefix_is(&cfg.iface.addresses[1], "fd77::2/128"),
	       "client: addresses");
}

static void test_server(void)
{
	int ret = load("good-server.conf");

	if (ret)
		show_errors();
	tap_ok(!ret, "good-server.conf parses (case, blanks, comments)");
	tap_ok(cfg.iface.n_listen_ports == 2 && cfg.iface.listen_ports[0] == 51820 &&
	       cfg.iface.listen_ports[1] == 443 && !strcmp(cfg.iface.name, "jvpn0"),
	       "server: ports and name");
	tap_ok(cfg.iface.n_addresses == 2 &&
	       prefix_is(&cfg.iface.addresses[0], "10.77.0.1/24"),
	       "server: an interface address may have host bits");
	tap_ok(cfg.n_peers == 3 && cfg.peers[0].has_preshared_key &&
	       !cfg.peers[1].has_preshared_key && cfg.peers[1].n_allowed_ips == 3 &&
	       cfg.peers[1].persistent_keepalive_s == 0 &&
	       cfg.peers[2].n_endpoints == 1 && cfg.peers[0].line == 8 &&
	       cfg.peers[1].line == 13, "server: three peers with their lines");
	tap_ok(cfg.policy.max_recovery_window_ms == 8000 &&
	       cfg.policy.max_switches_per_minute == 10 &&
	       cfg.policy.switch_cooldown_ms == 0 &&
	       cfg.policy.transport_loss_ttl_ms == 900 &&
	       cfg.policy.session_ttl_s == 3600 &&
	       cfg.policy.probe_interval_ms == 250 && cfg.policy.max_probes == 20 &&
	       cfg.policy.max_loss_percent == 5 && cfg.policy.max_latency_ms == 400 &&
	       cfg.policy.max_jitter_ms == 80 && cfg.policy.reattach_rate == 5 &&
	       cfg.policy.reattach_burst == 10 &&
	       cfg.policy.global_reattach_rate == 5000 &&
	       cfg.policy.global_reattach_burst == 10000 &&
	       cfg.policy.handshake_rate == 500 &&
	       cfg.policy.handshake_burst == 1000 && cfg.policy.max_sessions == 64,
	       "server: every policy knob set from [Policy]");
}

static void test_crlf(void)
{
	int ret = load("good-crlf.conf");

	tap_ok(!ret && cfg.n_peers == 1 && cfg.iface.listen_ports[0] == 51820 &&
	       cfg.peers[0].endpoints[0].family == AF_INET6,
	       "CRLF line endings accepted");
}

/* ---------------------------------------------------------------------- */
/* Bad files                                                               */
/* ---------------------------------------------------------------------- */

/* The "# expect: ..." comment of a bad file, prefixed with its name. */
static int expected_message(const char *name, char *out, size_t len)
{
	char path[8192], line[1024];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *e = strstr(line, "# expect: ");

		if (!e)
			continue;
		e += strlen("# expect: ");
		e[strcspn(e, "\n")] = '\0';
		snprintf(out, len, "%s:%s", name, e);
		found = 1;
	}
	fclose(f);
	return found;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_bad_files(void)
{
	char *names[256], want[1100];
	unsigned int n = 0, i;
	struct dirent *de;
	DIR *d = opendir(datadir);

	tap_ok(d != NULL, "data directory %s", datadir);
	while (d && (de = readdir(d)) && n < 256)
		if (!strncmp(de->d_name, "bad-", 4))
			names[n++] = strdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	tap_ok(n >= 40, "%u bad files found", n);
	for (i = 0; i < n; i++) {
		int ret = load(names[i]);
		int ok = expected_message(names[i], want, sizeof(want)) &&
			 ret == -EINVAL && errs.n == 1 && !errs.suppressed &&
			 strstr(errs.msg[0], want) &&
			 !strstr(errs.msg[0], "pU3KGCUwux1tEyze");

		if (!ok) {
			printf("# want: %s\n", want);
			show_errors();
		}
		tap_ok(ok, "%s", want);
		free(names[i]);
	}
}

/* ---------------------------------------------------------------------- */
/* Generated inputs                                                        */
/* ---------------------------------------------------------------------- */

static void test_line_limits(void)
{
	size_t n = CFG_LINE_MAX + 100;
	char *text = malloc(n + 64);

	memset(text, ' ', n);
	memcpy(text, "[Interface]\n# ", 14);
	strcpy(text + n, "\nPrivateKey = " KEY_A "\n");
	tap_ok(parse_text(text) == -EINVAL &&
	       any_error("mem.conf:2: line too long"),
	       "over-long line refused with its line number");
	free(text);

	{
		static const char nul[] = "[Interface]\nPrivate\0Key = x\n"
					  "PrivateKey = " KEY_A "\n";

		config_free(&cfg);
		tap_ok(config_parse("mem.conf", nul, sizeof(nul) - 1, &cfg,
				    &errs) == -EINVAL &&
		       errs.n == 1 && any_error("mem.conf:2: NUL byte in line"),
		       "NUL byte refused, parsing goes on");
	}
	{
		char *huge = calloc(1, CFG_FILE_MAX + 2);

		memset(huge, '#', CFG_FILE_MAX + 1);
		config_free(&cfg);
		tap_ok(config_parse("mem.conf", huge, CFG_FILE_MAX + 1, &cfg,
				    &errs) == -EINVAL &&
		       any_error("mem.conf:0: file too large"),
		       "file over 1 MiB refused");
		free(huge);
	}
	tap_ok(parse_text("") == -EINVAL &&
	       any_error("mem.conf:0: section [Interface]: missing"),
	       "empty file refused");
	tap_ok(parse_text("[Interface]\nPrivateKey = " KEY_A) == 0,
	       "last line without newline");
}

static void test_many_peers(void)
{
	size_t cap = (CFG_MAX_PEERS + 2) * 80 + 200, len = 0;
	char *text = malloc(cap);
	unsigned int i;

	len += (size_t)sprintf(text + len,
			       "[Interface]\nPrivateKey = " KEY_A "\n"
			       "[Policy]\nMaxSessions = 1048576\n");
	for (i = 0; i < CFG_MAX_PEERS + 1; i++) {
		uint8_t key[32] = { 1 };
		char b64[64];

		key[28] = (uint8_t)(i >> 8);
		key[29] = (uint8_t)i;
		/* 32 bytes -> base64 by hand: 10 full groups + 2-byte tail */
		{
			static const char al[] =
				"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			int j, o = 0;

			for (j = 0; j < 30; j += 3) {
				uint32_t v = (uint32_t)key[j] << 16 |
					     (uint32_t)key[j + 1] << 8 | key[j + 2];

				b64[o++] = al[v >> 18];
				b64[o++] = al[(v >> 12) & 63];
				b64[o++] = al[(v >> 6) & 63];
				b64[o++] = al[v & 63];
			}
			b64[o++] = al[key[30] >> 2];
			b64[o++] = al[((key[30] & 3) << 4) | (key[31] >> 4)];
			b64[o++] = al[(key[31] & 15) << 2];
			b64[o++] = '=';
			b64[o] = '\0';
		}
		len += (size_t)sprintf(text + len, "[Peer]\nPublicKey = %s\n", b64);
	}
	tap_ok(parse_text(text) == -EINVAL && errs.n == 1 &&
	       any_error("section [Peer]: too many peers (max 1024)") &&
	       cfg.n_peers == CFG_MAX_PEERS,
	       "peer %u refused, the first %u kept", CFG_MAX_PEERS + 1,
	       CFG_MAX_PEERS);
	free(text);
}

static void test_error_cap(void)
{
	char text[8192];
	size_t len = 0;
	int i;

	len += (size_t)sprintf(text, "[Interface]\nPrivateKey = " KEY_A "\n");
	for (i = 0; i < CFG_MAX_ERRORS + 8; i++)
		len += (size_t)sprintf(text + len, "Bogus%d = 1\n", i);
	tap_ok(parse_text(text) == -EINVAL && errs.n == CFG_MAX_ERRORS &&
	       errs.suppressed == 8, "error list bounded, overflow counted");
	tap_ok(any_error("mem.conf:3: field 'Bogus0'") &&
	       any_error("mem.conf:34: field 'Bogus31'"),
	       "every error reported in one run, in order");
}

static void test_missing_file(void)
{
	config_free(&cfg);
	tap_ok(config_load("/nonexistent/jvpn.conf", &cfg, &errs) == -ENOENT &&
	       any_error("/nonexistent/jvpn.conf:0: cannot open"),
	       "missing file reported");
}

/* Random mutations of a good file: never a crash, always a verdict. */
static void test_mutations(void)
{
	char path[8192], *orig, *buf;
	uint64_t rnd = 0x9e3779b97f4a7c15ULL;
	size_t len, n, i;
	unsigned int odd = 0, refused = 0;
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/good-server.conf", datadir);
	f = fopen(path, "r");
	orig = calloc(1, 65536);
	len = f ? fread(orig, 1, 65535, f) : 0;
	if (f)
		fclose(f);
	buf = malloc(len + 64);
	for (i = 0; i < 20000; i++) {
		unsigned int k, edits;

		memcpy(buf, orig, len);
		n = len;
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		edits = 1 + (unsigned int)(rnd % 4);
		for (k = 0; k < edits; k++) {
			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			if (rnd % 5 == 0)
				n = (size_t)(rnd >> 8) % (n + 1);
			else if (n)
				buf[(rnd >> 8) % n] = (char)(rnd >> 40);
		}
		config_free(&cfg);
		ret = config_parse("fuzz.conf", buf, n, &cfg, &errs);
		odd += !(ret == 0 || ret == -EINVAL) ||
		       (ret == 0) != (errs.n == 0) || errs.n > CFG_MAX_ERRORS;
		refused += ret != 0;
	}
	TAP_EQ_INT(odd, 0, "20000 mutated files: each accepted or refused cleanly");
	tap_ok(refused > 10000, "most mutations refused (%u)", refused);
	free(buf);
	free(orig);
}

static void test_docs(void)
{
	static const char *const keys[] = {
		"PrivateKey", "ListenPort", "Address", "Name", "PublicKey",
		"PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive",
	};
	char path[8192], *doc = NULL, row[256];
	unsigned int i, missing = 0;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/docs/config.md", srcdir());
	f = fopen(path, "r");
	if (f) {
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		doc = calloc(1, (size_t)n + 1);
		if (fread(doc, 1, (size_t)n, f) != (size_t)n)
			doc[0] = '\0';
		fclose(f);
	}
	tap_ok(doc != NULL, "docs/config.md exists");
	for (i = 0; doc && i < sizeof(keys) / sizeof(keys[0]); i++)
		missing += !strstr(doc, keys[i]);
	for (i = 0; doc && i < policy_n_knobs; i++) {
		const struct policy_knob *k = &policy_knobs[i];

		snprintf(row, sizeof(row), "| `%s` | %s | %u | %u .. %u |",
			 k->name, k->unit, k->def, k->min, k->max);
		missing += !strstr(doc, row);
	}
	TAP_EQ_INT(missing, 0,
		   "docs/config.md documents every key, default and range");
	free(doc);
}

int main(void)
{
	snprintf(datadir, sizeof(datadir), "%s/tests/data/config", srcdir());
	test_minimal();
	test_client();
	test_server();
	test_crlf();
	test_bad_files();
	test_line_limits();
	test_many_peers();
	test_error_cap();
	test_missing_file();
	test_mutations();
	test_docs();
	config_free(&cfg);
	return tap_done();
}
