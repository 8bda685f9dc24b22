// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd control socket.  See control.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonl.h"
#include "jvpnd.h"
#include "util.h"

#define LINE_MAX_LEN	2048

/* ---- output buffer ----------------------------------------------------- */

static bool out_put(struct control_client *c, const char *p, size_t n)
{
	size_t need = c->out_len + n;
	char *nb;

	if (need > CONTROL_OUT_MAX)
		return false;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;

		while (cap < need)
			cap *= 2;
		nb = realloc(c->out, cap);
		if (!nb)
			return false;
		c->out = nb;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return true;
}

__attribute__((format(printf, 2, 3)))
static bool out_line(struct control_client *c, const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return false;
	line[n++] = '\n';
	return out_put(c, line, (size_t)n);
}

static void out_error(struct control_client *c, const char *msg)
{
	char q[256];

	if (jsonl_quote(q, sizeof(q), msg) < 0)
		snprintf(q, sizeof(q), "\"error\"");
	out_line(c, "{\"ok\":false,\"error\":%s}", q);
}

/* ---- commands ---------------------------------------------------------- */

static int refresh_one(const struct kernel_session *ks, void *arg)
{
	struct session *s = session_find(arg, ks->id);

	if (s) {
		s->rx_packets = ks->rx_packets;
		s->rx_bytes = ks->rx_bytes;
		s->tx_packets = ks->tx_packets;
		s->tx_bytes = ks->tx_bytes;
	}
	return 0;
}

static bool out_session(struct control_client *c, const struct session *s)
{
	const struct session_path *ap = session_active_path(s);
	char pub[JVPN_KEY_B64_LEN + 1], path[JVPN_ENDPOINT_STRLEN] = "";
	uint64_t now = loop_now_ms();

	jvpn_key_to_base64(s->peer->cfg->public_key, pub);
	if (ap)
		jvpn_format_endpoint((const void *)&ap->remote, path,
				     sizeof(path));
	return out_line(c, "{\"session_id\":%u,\"session\":\"%08x\","
			"\"peer_id\":%u,\"peer\":\"%s\",\"role\":\"%s\","
			"\"state\":\"%s\",\"version\":%llu,\"key_id\":%u,"
			"\"rekeys\":%llu,\"active_path\":%u,\"path\":\"%s\","
			"\"paths\":%u,\"rx_packets\":%llu,\"rx_bytes\":%llu,"
			"\"tx_packets\":%llu,\"tx_bytes\":%llu,"
			"\"age_ms\":%llu,\"adopted\":%s}",
			s->local_id, s->local_id, s->peer_id, pub,
			s->role == ROLE_INITIATOR ? "initiator" : "responder",
			fsm_state_name(s->fsm.state),
			(unsigned long long)s->fsm.state_version, s->key_id,
			(unsigned long long)s->rekeys, s->active_path, path,
			s->n_paths, (unsigned long long)s->rx_packets,
			(unsigned long long)s->rx_bytes,
			(unsigned long long)s->tx_packets,
			(unsigned long long)s->tx_bytes,
			(unsigned long long)(s->established_ms ?
					     now - s->established_ms : 0),
			s->adopted ? "true" : "false");
}

static void cmd_sessions(struct control_client *c)
{
	struct jvpnd *d = c->d;
	struct session *s;
	uint32_t i;

	if (kernel_session_dump(&d->k, refresh_one, &d->st))
		d->stats.kernel_errors++;
	for (i = 0; i < d->st.capacity; i++) {
		s = session_at(&d->st, i);
		if (s && !out_session(c, s)) {
			out_error(c, "reply too large");
			return;
		}
	}
	out_line(c, "{\"ok\":true}");
}

/* The client's candidate for kernel path id, or -1 (responder, none). */
static int candidate_of(const struct ra_client *rc, uint32_t path_id)
{
	uint32_t i;

	for (i = 0; rc && i < RA_CLIENT_MAX_CANDIDATES; i++)
		if (rc->cand[i].used && rc->cand[i].path.path_id == path_id)
			return (int)i;
	return -1;
}

static uint64_t ago(uint64_t now, uint64_t t)
{
	return t && now >= t ? now - t : 0;
}

/*
 * One line per path of a session.  On the initiator, what a reattach
 * would make of it now (ra_client_candidate_use()) and the probe figures
 * behind that: the answer to "why did it (not) switch there?".
 */
static bool out_path(struct control_client *c, const struct session *s,
		     const struct session_path *sp, uint64_t now)
{
	char ep[JVPN_ENDPOINT_STRLEN] = "", tail[512] = "";
	int idx = candidate_of(s->rc, sp->id);

	jvpn_format_endpoint((const void *)&sp->remote, ep, sizeof(ep));
	if (idx >= 0) {
		const struct ra_candidate *k = &s->rc->cand[idx];
		enum fsm_reason why;
		enum ra_cand_use u = ra_client_candidate_use(s->rc, (uint32_t)idx,
							     now, &why);
		struct path_quality q;

		ra_client_quality(s->rc, (uint32_t)idx, &q);
		snprintf(tail, sizeof(tail),
			 ",\"use\":\"%s\",\"why\":\"%s\",\"srtt_ms\":%u,"
			 "\"rttvar_ms\":%u,\"loss_permille\":%u,"
			 "\"probes\":%u,\"unanswered\":%u,"
			 "\"last_reply_ago_ms\":%llu,\"validated_ago_ms\":%llu",
			 ra_cand_use_name(u), fsm_reason_name(why),
			 k->has_rtt ? k->srtt_ms : 0,
			 k->has_rtt ? k->rttvar_ms : 0, q.loss_permille,
			 k->n_probes, k->unanswered,
			 (unsigned long long)ago(now, k->last_reply_ms),
			 (unsigned long long)ago(now, k->validated_ms));
	}
	return out_line(c, "{\"session_id\":%u,\"session\":\"%08x\","
			"\"path_id\":%u,\"remote\":\"%s\",\"active\":%s%s}",
			s->local_id, s->local_id, sp->id, ep,
			sp->id == s->active_path ? "true" : "false", tail);
}

static void cmd_paths(struct control_client *c)
{
	struct jvpnd *d = c->d;
	uint64_t now = loop_now_ms();
	struct session *s;
	uint32_t i, j;

	for (i = 0; i < d->st.capacity; i++) {
		s = session_at(&d->st, i);
		for (j = 0; s && j < s->n_paths; j++)
			if (!out_path(c, s, &s->paths[j], now)) {
				out_error(c, "reply too large");
				return;
			}
	}
	out_line(c, "{\"ok\":true}");
}

static void cmd_timeline(struct control_client *c, uint32_t sid)
{
	struct audit_tl_entry e[AUDIT_TIMELINE_K];
	char line[AUDIT_LINE_MAX];
	size_t i, n = audit_timeline(&c->d->audit, sid, e, AUDIT_TIMELINE_K);

	if (!n && !session_find(&c->d->st, sid)) {
		out_error(c, "no such session");
		return;
	}
	for (i = 0; i < n; i++)
		if (audit_format_tl_entry(&e[i], line, sizeof(line)) > 0)
			out_line(c, "%s", line);
	out_line(c, "{\"ok\":true}");
}

static uint64_t sum_refused(const struct jvpnd *d)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 1; i < sizeof(d->stats.hs_refused) / sizeof(uint64_t); i++)
		sum += d->stats.hs_refused[i];
	return sum;
}

/* ---- status ------------------------------------------------------------ */

/* Far above the ~3 KiB the status takes; overflowing is a bug. */
#define STATUS_MAX	8192

/* The status: one flat JSON object, built member by member. */
struct status_obj {
	char buf[STATUS_MAX];
	size_t len;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void st_add(struct status_obj *o, const char *fmt, ...)
{
	size_t room = sizeof(o->buf) - o->len;
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		o->full = true;
	else
		o->len += (size_t)n;
}

static void st_u64(struct status_obj *o, const char *key, uint64_t v)
{
	st_add(o, ",\"%s\":%llu", key, (unsigned long long)v);
}

static void status_daemon(struct status_obj *o, const struct jvpnd *d)
{
	const struct jvpnd_stats *st = &d->stats;
	const struct audit_stats *as = audit_get_stats(&d->audit);

	st_add(o, "{\"ifname\":\"%s\",\"ifindex\":%u,\"version\":\"%s\"",
	       d->ifname, d->k.ifindex, JVPN_VERSION);
	st_u64(o, "uptime_ms", loop_now_ms() - d->start_ms);
	st_u64(o, "peers", d->n_peers);
	st_u64(o, "sessions", d->st.n);
	st_u64(o, "max_sessions", d->st.capacity);
	st_u64(o, "adopted", d->adopted);
	st_u64(o, "sockets", d->net.n);
	st_u64(o, "rx_msgs", st->rx_msgs);
	st_u64(o, "rx_errors", st->rx_errors);
	st_u64(o, "rx_unhandled", st->rx_bad_type);
	st_u64(o, "hs_init_rx", st->hs_init_rx);
	st_u64(o, "hs_refused", sum_refused(d));
	st_u64(o, "hs_replay", st->hs_refused[-HS_E_REPLAY]);
	st_u64(o, "hs_unknown_peer", st->hs_refused[-HS_E_UNKNOWN_PEER]);
	st_u64(o, "hs_mac1", st->hs_refused[-HS_E_MAC1]);
	st_u64(o, "hs_rate_limited", st->hs_rate_limited);
	st_u64(o, "cookies_sent", st->cookies_sent);
	st_u64(o, "sessions_created", st->sessions_created);
	st_u64(o, "sessions_refused", st->sessions_refused);
	st_u64(o, "sessions_removed", st->sessions_removed);
	st_u64(o, "rekeys", st->rekeys);
	st_u64(o, "hs_timeouts", st->hs_timeouts);
	st_u64(o, "send_errors", st->send_errors);
	st_u64(o, "kernel_errors", st->kernel_errors);
	st_u64(o, "state_save_errors", st->state_save_errors);
	st_u64(o, "paths_evicted", st->paths_evicted);
	st_u64(o, "path_blocks_refused", d->st.pb_failed);
	st_u64(o, "state_saves", st->state_saves);
	st_u64(o, "state_saves_deferred", st->state_saves_deferred);
	st_u64(o, "timers_refused", st->timers_refused);
	st_u64(o, "events", d->ev.received);
	st_u64(o, "events_lost", d->ev.gaps);
	st_u64(o, "event_overflows", d->ev.overflows);
	st_u64(o, "resyncs", d->ev.resyncs);
	st_u64(o, "audit_emitted", as->emitted);
	st_u64(o, "audit_dropped", as->dropped);
	st_u64(o, "control_refused", d->ctl.refused_clients);
}

/* Reattach: the daemon's counts, then the server layer's own. */
static void status_reattach(struct status_obj *o, const struct jvpnd *d)
{
	static const struct ra_server_stats none;
	const struct ra_server_stats *rs = d->roam_ready ?
					   ra_server_get_stats(&d->ra_srv) :
					   &none;
	char key[JSONL_KEY_MAX];
	int i;

	st_u64(o, "ra_refused", d->stats.ra_refused);
	st_u64(o, "ra_switches", d->stats.ra_switches);
	st_u64(o, "ra_window_rescued", d->stats.ra_window_rescued);
	st_u64(o, "ra_srv_pending",
	       d->roam_ready ? ra_server_pending_count(&d->ra_srv) : 0);
	st_u64(o, "ra_srv_challenges_sent", rs->challenges_sent);
	st_u64(o, "ra_srv_commits", rs->commits);
	st_u64(o, "ra_srv_commits_standby", rs->commits_standby);
	st_u64(o, "ra_srv_pending_expired", rs->pending_expired);
	st_u64(o, "ra_srv_probes_answered", rs->probes_answered);
	st_u64(o, "ra_srv_audit_suppressed", rs->audit_suppressed);
	st_u64(o, "ra_srv_mac_old_key", rs->mac_old_key);
	st_u64(o, "ra_srv_old_key_full", rs->old_key_full);
	/* Every reason, zero or not: a stable set of keys. */
	for (i = 1; i < RA_ERR_COUNT; i++) {
		snprintf(key, sizeof(key), "ra_srv_refused_%s", ra_errname(-i));
		st_u64(o, key, rs->refused[i]);
	}
}

static void status_link(struct status_obj *o, const struct jvpnd *d)
{
	const struct jvpnd_stats *st = &d->stats;

	st_add(o, ",\"link_watch\":%s", d->link.registered ? "true" : "false");
	st_u64(o, "link_open_errors", st->link_open_errors);
	st_u64(o, "link_events", st->link_events);
	st_u64(o, "link_overruns", st->link_overruns);
	st_u64(o, "link_lookups", st->link_lookups);
	st_u64(o, "link_lookup_errors", st->link_lookup_errors);
	st_u64(o, "link_reattaches", st->link_reattaches);
	st_u64(o, "link_probe_kicks", st->link_probe_kicks);
}

static void cmd_status(struct control_client *c)
{
	struct status_obj o = { .len = 0 };

	status_daemon(&o, c->d);
	status_reattach(&o, c->d);
	status_link(&o, c->d);
	st_add(&o, "}\n");
	if (o.full || !out_put(c, o.buf, o.len)) {
		out_error(c, "reply too large");
		return;
	}
	out_line(c, "{\"ok\":true}");
}

static void handle_request(struct control_client *c, const char *line)
{
	struct jsonl_member cmd, sid;
	uint32_t id;

	c->d->ctl.requests++;
	if (jsonl_get(line, "cmd", &cmd) || cmd.type != JSONL_STR) {
		c->d->ctl.bad_requests++;
		out_error(c, "bad request: expected {\"cmd\":...}");
	} else if (!strcmp(cmd.val, "sessions")) {
		cmd_sessions(c);
	} else if (!strcmp(cmd.val, "paths")) {
		cmd_paths(c);
	} else if (!strcmp(cmd.val, "status")) {
		cmd_status(c);
	} else if (!strcmp(cmd.val, "timeline")) {
		if (jsonl_get(line, "session", &sid) || sid.type != JSONL_NUM ||
		    jvpn_parse_u32(sid.val, &id) || !id)
			out_error(c, "timeline needs \"session\": a session id");
		else
			cmd_timeline(c, id);
	} else {
		c->d->ctl.bad_requests++;
		out_error(c, "unknown command");
	}
}

/* ---- clients ----------------------------------------------------------- */

static void client_close(struct control_client *c)
{
	loop_del_fd(c->d->loop, &c->h);
	close(c->h.fd);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
	c->in_len = 0;
	c->used = false;
}

/* Returns false if the client is gone. */
static bool client_write(struct control_client *c)
{
	ssize_t w;

	while (c->out_off < c->out_len) {
		w = send(c->h.fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			client_close(c);
			return false;
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	loop_mod_fd(c->d->loop, &c->h, c->out_len ? EPOLLOUT : EPOLLIN);
	return true;
}

/* Handles every complete line in the input buffer. */
static void client_lines(struct control_client *c)
{
	char *nl;
	size_t used;

	while ((nl = memchr(c->in, '\n', c->in_len))) {
		*nl = '\0';
		handle_request(c, c->in);
		used = (size_t)(nl - c->in) + 1;
		memmove(c->in, nl + 1, c->in_len - used);
		c->in_len -= used;
	}
}

static void client_event(uint32_t events, void *arg)
{
	struct control_client *c = arg;
	ssize_t n;

	if (events & EPOLLOUT) {
		client_write(c);
		return;
	}
	n = recv(c->h.fd, c->in + c->in_len, sizeof(c->in) - c->in_len - 1,
		 MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->in_len += (size_t)n;
	client_lines(c);
	if (c->in_len == sizeof(c->in) - 1) {
		/* A request longer than the bound: refuse and hang up. */
		c->d->ctl.overflows++;
		client_close(c);
		return;
	}
	client_write(c);
}

static void accept_event(uint32_t events, void *arg)
{
	struct jvpnd *d = arg;
	struct control_client *c = NULL;
	unsigned int i;
	int fd;

	(void)events;
	fd = accept4(d->ctl.h.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < CONTROL_MAX_CLIENTS && !c; i++)
		if (!d->ctl.c[i].used)
			c = &d->ctl.c[i];
	if (!c) {
		d->ctl.refused_clients++;
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->d = d;
	c->h.fd = fd;
	c->h.fn = client_event;
	c->h.arg = c;
	if (loop_add_fd(d->loop, &c->h, EPOLLIN)) {
		close(fd);
		c->used = false;
	}
}

int control_open(struct jvpnd *d, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A stale socket of a killed daemon; the lock says we are alone. */
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    chmod(path, 0600) || listen(fd, CONTROL_MAX_CLIENTS)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	snprintf(d->ctl.path, sizeof(d->ctl.path), "%s", path);
	d->ctl.h.fd = fd;
	d->ctl.h.fn = accept_event;
	d->ctl.h.arg = d;
	return loop_add_fd(d->loop, &d->ctl.h, EPOLLIN);
}

void control_close(struct jvpnd *d)
{
	unsigned int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (d->ctl.c[i].used)
			client_close(&d->ctl.c[i]);
	if (d->ctl.h.fd > 0) {
		loop_del_fd(d->loop, &d->ctl.h);
		close(d->ctl.h.fd);
		unlink(d->ctl.path);
		d->ctl.h.fd = -1;
	}
}
