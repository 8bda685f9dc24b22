// SPDX-License-Identifier: MIT
/*
 * Structured output (see out.h).
 *
 * Text style, chosen to be readable and still easy to grep/awk:
 *
 *   session_id: 7                 scalar members: "key: value"
 *   inner: 10.0.0.2/32 fd00::2/128   lists of scalars: on one line
 *   paths:                        lists of objects: YAML-like items
 *     - path_id: 1
 *       active: yes
 *   stats:                        nested objects: indented
 *     rx_packets: 12
 *
 * Top-level records (e.g. the devices of "dev show") are separated by a
 * blank line.  JSON is compact; every top-level value ends with "\n".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

#define OUT_MAX_DEPTH	8

enum frame_kind { FRAME_OBJ, FRAME_LIST };

struct frame {
	enum frame_kind kind;
	unsigned int count;	/* members emitted so far */
	int indent;		/* text: indentation level of the members */
	bool flat;		/* text: unkeyed top-level list */
	bool header_open;	/* text: "key:" printed, line not ended */
	bool dash;		/* text: first line of a list item gets "- " */
};

static struct {
	enum out_style style;
	int depth;
	unsigned int top_count;	/* text: top-level records so far */
	bool line_used;		/* line style: something on this line */
	struct frame st[OUT_MAX_DEPTH];
} out;

void out_init(enum out_style style)
{
	memset(&out, 0, sizeof(out));
	out.style = style;
}

bool out_json(void)
{
	return out.style == OUT_JSON;
}

static struct frame *top(void)
{
	return out.depth ? &out.st[out.depth - 1] : NULL;
}

static struct frame *push(enum frame_kind kind, int indent)
{
	struct frame *f;

	/* The printers nest three levels at most: this is a bug. */
	if (out.depth == OUT_MAX_DEPTH)
		abort();
	f = &out.st[out.depth++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->indent = indent;
	return f;
}

/* ---- JSON --------------------------------------------------------------- */

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The comma and, inside an object, the key before a value. */
static void json_prefix(const char *key)
{
	struct frame *f = top();

	if (!f)
		return;
	if (f->count++)
		putchar(',');
	if (f->kind == FRAME_OBJ) {
		json_string(key ? key : "");
		putchar(':');
	}
}

static void json_end(char close)
{
	putchar(close);
	out.depth--;
	if (!out.depth)
		putchar('\n');
}

/* ---- text --------------------------------------------------------------- */

static void text_indent(struct frame *f)
{
	int n = f ? f->indent : 0;

	if (f && f->dash) {
		printf("%*s- ", 2 * (n - 1), "");
		f->dash = false;
	} else {
		printf("%*s", 2 * n, "");
	}
}

static void text_scalar(const char *key, const char *val)
{
	struct frame *f = top();

	if (f && f->kind == FRAME_LIST) {
		printf(f->flat ? "%s\n" : " %s", val);
	} else {
		text_indent(f);
		printf("%s: %s\n", key, val);
	}
	if (f)
		f->count++;
}

static void text_obj_begin(struct frame *parent, const char *key)
{
	struct frame *f;

	if (!parent || parent->flat) {
		unsigned int *count = parent ? &parent->count : &out.top_count;

		if ((*count)++)
			putchar('\n');
		push(FRAME_OBJ, 0);
	} else if (parent->kind == FRAME_LIST) {
		if (parent->header_open)
			putchar('\n');
		parent->header_open = false;
		parent->count++;
		f = push(FRAME_OBJ, parent->indent + 1);
		f->dash = true;
	} else {
		text_indent(parent);
		printf("%s:\n", key);
		parent->count++;
		push(FRAME_OBJ, parent->indent + 1);
	}
}

static void text_list_begin(struct frame *parent, const char *key)
{
	struct frame *f;

	if (!parent) {
		f = push(FRAME_LIST, 0);
		f->flat = true;
		return;
	}
	text_indent(parent);
	printf("%s:", key);
	parent->count++;
	f = push(FRAME_LIST, parent->indent + 1);
	f->header_open = true;
}

/* ---- one line per record ------------------------------------------------ */

static void line_scalar(const char *key, const char *val)
{
	struct frame *f = top();

	if (f && f->kind == FRAME_LIST) {
		printf(f->count++ ? ",%s" : " %s", val);
		return;
	}
	if (out.line_used)
		putchar(' ');
	out.line_used = true;
	printf("%s %s", key, val);
}

static void line_list_begin(const char *key)
{
	if (out.line_used)
		putchar(' ');
	out.line_used = true;
	printf("%s", key ? key : "");
	push(FRAME_LIST, 0);
}

/* ---- public ------------------------------------------------------------- */

void out_obj_begin(const char *key)
{
	switch (out.style) {
	case OUT_JSON:
		json_prefix(key);
		putchar('{');
		push(FRAME_OBJ, 0);
		break;
	case OUT_LINE:
		push(FRAME_OBJ, 0);	/* members go on the same line */
		break;
	case OUT_TEXT:
		text_obj_begin(top(), key);
		break;
	}
}

void out_obj_end(void)
{
	if (out.style == OUT_JSON) {
		json_end('}');
		return;
	}
	out.depth--;
	if (out.style == OUT_LINE && !out.depth && out.line_used) {
		putchar('\n');
		out.line_used = false;
	}
}

void out_list_begin(const char *key)
{
	switch (out.style) {
	case OUT_JSON:
		json_prefix(key);
		putchar('[');
		push(FRAME_LIST, 0);
		break;
	case OUT_LINE:
		line_list_begin(key);
		break;
	case OUT_TEXT:
		text_list_begin(top(), key);
		break;
	}
}

void out_list_end(void)
{
	struct frame *f = top();

	if (out.style == OUT_JSON) {
		json_end(']');
		return;
	}
	if (out.style == OUT_LINE && !f->count)
		printf(" none");
	if (out.style == OUT_TEXT && f->header_open)
		printf("%s\n", f->count ? "" : " none");
	out.depth--;
}

static void scalar(const char *key, const char *text, bool quoted)
{
	switch (out.style) {
	case OUT_JSON:
		json_prefix(key);
		if (quoted)
			json_string(text);
		else
			fputs(text, stdout);
		if (!out.depth)
			putchar('\n');
		break;
	case OUT_LINE:
		line_scalar(key, text);
		break;
	case OUT_TEXT:
		text_scalar(key, text);
		break;
	}
}

void out_u64(const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	scalar(key, buf, false);
}

void out_str(const char *key, const char *s)
{
	scalar(key, s, true);
}

void out_bool(const char *key, bool v)
{
	if (out.style == OUT_JSON)
		scalar(key, v ? "true" : "false", false);
	else
		scalar(key, v ? "yes" : "no", false);
}

void out_close_all(void)
{
	while (out.depth) {
		if (top()->kind == FRAME_OBJ)
			out_obj_end();
		else
			out_list_end();
	}
	fflush(stdout);
}
