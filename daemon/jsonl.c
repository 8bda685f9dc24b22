// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Flat JSON objects.  See jsonl.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jsonl.h"

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n')
		(*p)++;
}

int jsonl_begin(const char **p)
{
	skip_ws(p);
	if (**p != '{')
		return -EINVAL;
	(*p)++;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \uXXXX: ASCII kept, anything else becomes '?' (display only). */
static int unicode_escape(const char **p, char *out)
{
	int i, v = 0, h;

	for (i = 0; i < 4; i++) {
		h = hexval((*p)[i]);
		if (h < 0)
			return -EINVAL;
		v = v * 16 + h;
	}
	*p += 4;
	*out = v >= 0x20 && v < 0x7f ? (char)v : '?';
	return 0;
}

static int escape_char(const char **p, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e = strchr(from, **p);

	if (**p == 'u') {
		(*p)++;
		return unicode_escape(p, out);
	}
	if (!**p || !e)
		return -EINVAL;
	*out = to[e - from];
	(*p)++;
	return 0;
}

static int parse_string(const char **p, char *out, size_t cap)
{
	size_t n = 0;
	char c;

	if (**p != '"')
		return -EINVAL;
	(*p)++;
	while (**p != '"') {
		if (!**p || (unsigned char)**p < 0x20)
			return -EINVAL;
		if (**p == '\\') {
			(*p)++;
			if (escape_char(p, &c))
				return -EINVAL;
		} else {
			c = *(*p)++;
		}
		if (n + 1 >= cap)
			return -EINVAL;
		out[n++] = c;
	}
	(*p)++;
	out[n] = '\0';
	return 0;
}

static int parse_bare(const char **p, struct jsonl_member *m)
{
	size_t n = strspn(*p, "-+.0123456789eEtruefalsn");

	if (!n || n >= sizeof(m->val))
		return -EINVAL;
	memcpy(m->val, *p, n);
	m->val[n] = '\0';
	*p += n;
	if (!strcmp(m->val, "true") || !strcmp(m->val, "false"))
		m->type = JSONL_BOOL;
	else if (!strcmp(m->val, "null"))
		m->type = JSONL_NULL;
	else if (strspn(m->val, "-+.0123456789eE") == n)
		m->type = JSONL_NUM;
	else
		return -EINVAL;
	return 0;
}

int jsonl_next(const char **p, struct jsonl_member *m)
{
	skip_ws(p);
	if (**p == '}') {
		(*p)++;
		return 0;
	}
	if (**p == ',') {
		(*p)++;
		skip_ws(p);
	}
	if (parse_string(p, m->key, sizeof(m->key)))
		return -EINVAL;
	skip_ws(p);
	if (*(*p)++ != ':')
		return -EINVAL;
	skip_ws(p);
	if (**p == '"') {
		m->type = JSONL_STR;
		return parse_string(p, m->val, sizeof(m->val)) ? -EINVAL : 1;
	}
	return parse_bare(p, m) ? -EINVAL : 1;
}

int jsonl_get(const char *line, const char *key, struct jsonl_member *m)
{
	const char *p = line;
	int ret;

	if (jsonl_begin(&p))
		return -EINVAL;
	while ((ret = jsonl_next(&p, m)) > 0)
		if (!strcmp(m->key, key))
			return 0;
	return ret < 0 ? ret : -ENOENT;
}

int jsonl_quote(char *buf, size_t len, const char *s)
{
	size_t n = 0;
	int w;

#define PUT(c) do { if (n + 1 >= len) return -ENOSPC; buf[n++] = (c); } while (0)
	PUT('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c < 0x20 || c >= 0x7f) {
			if (n + 7 >= len)
				return -ENOSPC;
			w = snprintf(buf + n, len - n, "\\u%04x", c);
			n += (size_t)w;
		} else {
			PUT((char)c);
		}
	}
	PUT('"');
#undef PUT
	buf[n] = '\0';
	return (int)n;
}
