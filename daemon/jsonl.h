/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Flat JSON objects, one per line: what jvpnd's control socket speaks.
 * Members are strings, numbers, booleans or null; nested values are
 * refused.  Shared by jvpnd (requests) and jvpnctl (replies).  Pure.
 */
#ifndef JVPND_JSONL_H
#define JVPND_JSONL_H

#include <stddef.h>

#define JSONL_KEY_MAX	64
#define JSONL_VAL_MAX	256

enum jsonl_type {
	JSONL_STR,
	JSONL_NUM,
	JSONL_BOOL,
	JSONL_NULL,
};

struct jsonl_member {
	char key[JSONL_KEY_MAX];
	enum jsonl_type type;
	char val[JSONL_VAL_MAX];	/* unescaped text; numbers as written */
};

/* *p at '{' (after blanks).  0 or -EINVAL. */
int jsonl_begin(const char **p);
/* 1: a member in m; 0: the closing '}' was read; -EINVAL: bad input. */
int jsonl_next(const char **p, struct jsonl_member *m);
/* Finds key in line; 0, -ENOENT, or -EINVAL. */
int jsonl_get(const char *line, const char *key, struct jsonl_member *m);

/* s as a JSON string with quotes into buf; length or -ENOSPC. */
int jsonl_quote(char *buf, size_t len, const char *s);

#endif /* JVPND_JSONL_H */
