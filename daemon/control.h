/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd control socket: a unix stream socket (mode 0600) speaking JSON
 * lines.  A request is one object, {"cmd":"sessions"}, {"cmd":"paths"},
 * {"cmd":"timeline","session":ID} or {"cmd":"status"}; the reply is one
 * object per line (a session, a timeline entry, the status) followed by
 * a final {"ok":true} or {"ok":false,"error":"..."}.  Clients and their
 * buffers are bounded; a client over a bound is disconnected and counted.
 */
#ifndef JVPND_CONTROL_H
#define JVPND_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "loop.h"

#define CONTROL_MAX_CLIENTS	16
#define CONTROL_REQ_MAX		1024
#define CONTROL_OUT_MAX		(16u << 20)

struct jvpnd;

struct control_client {
	struct loop_fd h;
	struct jvpnd *d;
	bool used;
	char in[CONTROL_REQ_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
};

struct control {
	struct loop_fd h;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct control_client c[CONTROL_MAX_CLIENTS];
	uint64_t requests, refused_clients, overflows, bad_requests;
};

int control_open(struct jvpnd *d, const char *path);
void control_close(struct jvpnd *d);

#endif /* JVPND_CONTROL_H */
