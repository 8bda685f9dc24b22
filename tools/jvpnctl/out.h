/* SPDX-License-Identifier: MIT */
/*
 * Structured output for jvpnctl: the printers describe a value once
 * (objects, lists, scalars) and this module renders it either as JSON
 * or as indented "key: value" text, so both formats always agree.
 */
#ifndef JVPNCTL_OUT_H
#define JVPNCTL_OUT_H

#include <stdbool.h>
#include <stdint.h>

enum out_style {
	OUT_TEXT,	/* "key: value" lines, nesting by indentation */
	OUT_LINE,	/* "key value key value", one line per top object */
	OUT_JSON,	/* compact JSON, one top-level value per line */
};

void out_init(enum out_style style);
bool out_json(void);

/* key is ignored (may be NULL) inside lists and at the top level. */
void out_obj_begin(const char *key);
void out_obj_end(void);
void out_list_begin(const char *key);
void out_list_end(void);

void out_u64(const char *key, uint64_t v);
void out_str(const char *key, const char *s);
void out_bool(const char *key, bool v);

/* Closes whatever is still open (error paths keep JSON well-formed). */
void out_close_all(void);

#endif /* JVPNCTL_OUT_H */
