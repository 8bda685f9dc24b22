// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd - the jvpn daemon: handshakes, sessions, rekeying, audit and
 * restart adoption for one jvpn interface.
 *
 *   jvpnd -c FILE [-i IFNAME] [--foreground] [--control PATH]
 *         [--audit PATH|-] [--state-dir DIR] [--teardown-on-exit]
 *
 * docs/jvpnd.md describes the files, sockets, signals and the restart
 * behaviour; docs/man/jvpnd.8 is the manual page.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "jvpn_nl.h"
#include "jvpnd.h"

#define RUN_DIR		"/run/jvpn"
#define LOG_DIR		"/var/log/jvpn"
#define AUDIT_RING	(1u << 20)

struct opts {
	const char *config;
	const char *ifname;
	const char *control;
	const char *audit;
	const char *state_dir;
	bool foreground;
	bool teardown;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: jvpnd -c FILE [-i IFNAME] [--foreground] "
		"[--control PATH]\n"
		"             [--audit PATH|-] [--state-dir DIR] "
		"[--teardown-on-exit]\n"
		"       jvpnd --help | --version\n\n"
		"  -c, --config FILE     configuration (docs/config.md)\n"
		"  -i, --interface NAME  interface (default: config Name, "
		"else FILE's name)\n"
		"  -f, --foreground      stay in the foreground, audit to "
		"stdout\n"
		"      --control PATH    control socket (" RUN_DIR
		"/IFNAME.sock)\n"
		"      --audit PATH|-    audit log (" LOG_DIR
		"/IFNAME.audit.jsonl; -: stdout)\n"
		"      --state-dir DIR   persisted sessions (" RUN_DIR ")\n"
		"      --teardown-on-exit  remove sessions on SIGTERM/SIGINT\n");
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "control", required_argument, NULL, 'C' },
		{ "audit", required_argument, NULL, 'A' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "teardown-on-exit", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:i:fh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'i': o->ifname = optarg; break;
		case 'f': o->foreground = true; break;
		case 'C': o->control = optarg; break;
		case 'A': o->audit = optarg; break;
		case 'S': o->state_dir = optarg; break;
		case 'T': o->teardown = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("jvpnd %s\n", JVPN_VERSION); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (!o->config || optind != argc) {
		usage(stderr);
		exit(2);
	}
}

static _Noreturn void die(int err, const char *what)
{
	fprintf(stderr, "jvpnd: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* Same rule as the config's Name: 1..15 of [A-Za-z0-9_.-]. */
static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n < IFNAMSIZ && strspn(s, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n &&
	       strcmp(s, ".") && strcmp(s, "..");
}

/* Like wg-quick: /etc/jvpn/jvpn0.conf is interface jvpn0. */
static void pick_ifname(struct jvpnd *d, const struct opts *o)
{
	char copy[PATH_MAX], *base, *dot;

	if (o->ifname) {
		snprintf(d->ifname, sizeof(d->ifname), "%s", o->ifname);
	} else if (d->cfg.iface.name[0]) {
		snprintf(d->ifname, sizeof(d->ifname), "%s", d->cfg.iface.name);
	} else {
		snprintf(copy, sizeof(copy), "%s", o->config);
		base = basename(copy);
		dot = strrchr(base, '.');
		if (dot && !strcmp(dot, ".conf"))
			*dot = '\0';
		if (strlen(base) >= sizeof(d->ifname))
			base = "";
		snprintf(d->ifname, sizeof(d->ifname), "%s", base);
	}
	if (!ifname_ok(d->ifname)) {
		fprintf(stderr, "jvpnd: invalid interface name '%s'\n",
			d->ifname);
		exit(2);
	}
}

static void load_config(struct jvpnd *d, const char *path)
{
	struct cfg_errors errs;
	int ret = config_load(path, &d->cfg, &errs);

	if (ret == -EINVAL) {
		config_print_errors(&errs, stderr);
		exit(1);
	}
	if (ret)
		die(ret, path);
	if (!d->cfg.has_interface || !d->cfg.iface.has_private_key) {
		fprintf(stderr, "jvpnd: %s: [Interface] PrivateKey missing\n",
			path);
		exit(1);
	}
}

/* ---- audit sink -------------------------------------------------------- */

static void audit_writable(uint32_t events, void *arg)
{
	(void)events;
	jvpnd_audit_flush(arg);
}

static void setup_audit(struct jvpnd *d, const struct opts *o)
{
	struct audit_config ac = { .ring_bytes = AUDIT_RING, .fd = -1 };
	char path[PATH_MAX];
	const char *p = o->audit;
	struct stat st;
	int ret;

	if (!p && o->foreground)
		p = "-";
	if (!p) {
		mkdir(LOG_DIR, 0750);
		snprintf(path, sizeof(path), LOG_DIR "/%s.audit.jsonl",
			 d->ifname);
		p = path;
	}
	if (!strcmp(p, "-")) {
		d->audit_fd = STDOUT_FILENO;
		fcntl(d->audit_fd, F_SETFL,
		      fcntl(d->audit_fd, F_GETFL) | O_NONBLOCK);
	} else {
		d->audit_fd = open(p, O_WRONLY | O_APPEND | O_CREAT |
				   O_NONBLOCK | O_CLOEXEC, 0640);
		if (d->audit_fd < 0)
			die(-errno, p);
	}
	ac.fd = d->audit_fd;
	ac.timeline_sessions = d->cfg.policy.max_sessions < AUDIT_TIMELINE_MAX ?
			       d->cfg.policy.max_sessions : AUDIT_TIMELINE_MAX;
	randombytes_buf(ac.hash_key, sizeof(ac.hash_key));
	ret = audit_init(&d->audit, &ac);
	if (ret)
		die(ret, "audit");
	/* Pipes and ttys can block: watch them; files are just written. */
	d->audit_pollable = !fstat(d->audit_fd, &st) && !S_ISREG(st.st_mode);
	d->audit_h.fd = d->audit_fd;
	d->audit_h.fn = audit_writable;
	d->audit_h.arg = d;
	if (d->audit_pollable && loop_add_fd(d->loop, &d->audit_h, 0))
		d->audit_pollable = false;
}

/* ---- set-up ------------------------------------------------------------ */

static int lock_instance(struct jvpnd *d, const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.lock", dir, d->ifname);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "jvpnd: another jvpnd runs for %s (%s)\n",
			d->ifname, path);
		exit(1);
	}
	return fd;	/* held until exit */
}

/*
 * The kernel reports the active path silent after TransportLossTtlMs
 * without authenticated RX; passive keepalives at a quarter of that keep
 * an idle but working path from looking silent.
 */
static void set_silence(struct jvpnd *d)
{
	uint32_t silent = d->cfg.policy.transport_loss_ttl_ms;
	uint32_t keepalive = silent / 4;
	int ret;

	if (keepalive < JVPND_KEEPALIVE_MIN_MS)
		keepalive = JVPND_KEEPALIVE_MIN_MS;
	ret = kernel_dev_set(&d->k, silent, keepalive);
	if (ret)
		fprintf(stderr, "jvpnd: setting silent-ms %u keepalive-ms %u: "
			"%s\n", silent, keepalive, strerror(-ret));
}

static void setup_device(struct jvpnd *d)
{
	unsigned int i, j;
	int ret;

	ret = kernel_link_ensure(&d->k, d->ifname, &d->dev_created);
	if (ret)
		die(ret, "creating the jvpn interface");
	for (i = 0; i < d->cfg.iface.n_addresses; i++) {
		ret = kernel_addr_add(&d->k, &d->cfg.iface.addresses[i]);
		if (ret)
			die(ret, "adding an address");
	}
	ret = kernel_link_up(&d->k);
	if (ret)
		die(ret, "setting the interface up");
	set_silence(d);
	for (i = 0; i < d->cfg.n_peers; i++) {
		const struct cfg_peer *cp = &d->cfg.peers[i];

		/* A default route needs policy routing; not done here. */
		for (j = 0; j < cp->n_allowed_ips; j++)
			if (cp->allowed_ips[j].len &&
			    kernel_route_add(&d->k, &cp->allowed_ips[j]))
				fprintf(stderr, "jvpnd: route for peer %u "
					"failed\n", i + 1);
	}
}

static void setup_peers(struct jvpnd *d)
{
	const struct jvpn_policy *pol = &d->cfg.policy;
	uint8_t key[16];
	uint32_t idx;
	unsigned int i;
	int ret;

	ret = hs_responder_init(&d->resp, d->cfg.iface.private_key,
				d->cfg.n_peers ? d->cfg.n_peers : 1,
				loop_now_ms());
	if (ret)
		die(-EINVAL, hs_strerror(ret));
	d->n_peers = d->cfg.n_peers;
	d->peers = calloc(d->n_peers ? d->n_peers : 1, sizeof(*d->peers));
	if (!d->peers)
		die(-ENOMEM, "peers");
	for (i = 0; i < d->n_peers; i++) {
		struct peer *p = &d->peers[i];
		const struct cfg_peer *cp = &d->cfg.peers[i];
		const uint8_t *psk = cp->has_preshared_key ?
				     cp->preshared_key : NULL;

		p->cfg = cp;
		p->index = i;
		ret = hs_responder_add_peer(&d->resp, cp->public_key, psk, &idx);
		if (ret || idx != i)
			die(-EINVAL, "adding a peer");
		proto_setup_peer(d, p);
		if (!p->initiator)
			continue;
		p->hs = calloc(1, sizeof(*p->hs));
		if (!p->hs || hs_initiator_init(p->hs, d->cfg.iface.private_key,
						cp->public_key, psk))
			die(-EINVAL, "initiator state");
	}
	tbucket_init(&d->hs_global, pol->handshake_rate, pol->handshake_burst,
		     loop_now_ms());
	randombytes_buf(key, sizeof(key));
	if (rl_table_init(&d->hs_src, JVPND_SRC_TABLE, JVPND_SRC_RATE,
			  JVPND_SRC_BURST, RL_FULL_EVICT_OLDEST, key))
		die(-ENOMEM, "rate limiter");
}

static void setup_sockets(struct jvpnd *d)
{
	unsigned int i;
	int ret;

	ret = net_open(&d->net, d->cfg.iface.listen_ports,
		       d->cfg.iface.n_listen_ports);
	if (ret)
		die(ret, "opening UDP sockets");
	for (i = 0; i < d->net.n; i++) {
		struct net_sock *s = &d->net.s[i];

		ret = kernel_socket_attach(&d->k, s->fd, &s->kid);
		if (ret)
			die(ret, "attaching a socket");
		s->ctx = d;
		s->h.fn = proto_sock_readable;
		s->h.arg = s;
		ret = loop_add_fd(d->loop, &s->h, EPOLLIN);
		if (ret)
			die(ret, "epoll");
	}
}

/* ---- signals ----------------------------------------------------------- */

static void signal_event(uint32_t events, void *arg)
{
	struct jvpnd *d = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(d->sig_h.fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			loop_stop(d->loop);
}

static void setup_signals(struct jvpnd *d)
{
	sigset_t set;

	/* Audit sinks and control clients that vanish give EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->sig_h.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_h.fd < 0)
		die(-errno, "signalfd");
	d->sig_h.fn = signal_event;
	d->sig_h.arg = d;
	if (loop_add_fd(d->loop, &d->sig_h, EPOLLIN))
		die(-errno, "epoll");
}

/* ---- shutdown ---------------------------------------------------------- */

static void teardown(struct jvpnd *d)
{
	struct session *s;
	unsigned int i;

	for (i = 0; i < d->st.capacity; i++) {
		s = session_at(&d->st, i);
		if (s)
			sess_destroy(d, s, FSM_EV_OPERATOR_CLOSE,
				     FSM_R_OPERATOR_CLOSE, true);
	}
	for (i = 0; i < d->net.n; i++)
		kernel_socket_detach(&d->k, d->net.s[i].kid);
	if (d->dev_created)
		kernel_link_delete(&d->k);
}

static void final_flush(struct jvpnd *d)
{
	int tries;

	if (d->audit_fd < 0)
		return;
	/* Best effort, bounded: the sink may be gone or stuck. */
	fcntl(d->audit_fd, F_SETFL, fcntl(d->audit_fd, F_GETFL) & ~O_NONBLOCK);
	for (tries = 0; tries < 16 && audit_pending(&d->audit); tries++)
		if (audit_flush(&d->audit) < 0)
			break;
}

static void shutdown_daemon(struct jvpnd *d)
{
	unsigned int i;

	jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_DAEMON_STOPPING, 0,
		    &(struct audit_kv){ .key = "teardown", .type = AUDIT_KV_BOOL,
					.b = d->teardown_on_exit }, 1);
	if (d->teardown_on_exit) {
		teardown(d);
	} else {
		jvpnd_save_state(d);
		jvpnd_flush_state(d);	/* what the next jvpnd adopts */
	}
	control_close(d);
	link_close(d);
	events_close(d);
	final_flush(d);
	for (i = 0; i < d->n_peers; i++) {
		/* Out of the timer heap before the memory goes. */
		loop_timer_cancel(d->loop, &d->peers[i].hs_timer);
		if (d->peers[i].hs)
			hs_initiator_destroy(d->peers[i].hs);
		free(d->peers[i].hs);
	}
	free(d->peers);
	hs_responder_destroy(&d->resp);
	rl_table_destroy(&d->hs_src);
	for (i = 0; i < d->st.capacity; i++)
		if (session_at(&d->st, i))
			roam_session_down(d, session_at(&d->st, i));
	roam_destroy(d);
	session_table_destroy(&d->st);
	audit_destroy(&d->audit);
	net_close(&d->net);
	kernel_close(&d->k);
	loop_destroy(d->loop);
	config_free(&d->cfg);
}

static void start(struct jvpnd *d, const struct opts *o)
{
	const char *dir = o->state_dir ? o->state_dir : RUN_DIR;
	char path[PATH_MAX];
	unsigned int i;
	int ret;

	mkdir(RUN_DIR, 0700);
	mkdir(dir, 0700);
	lock_instance(d, dir);
	snprintf(d->state_path, sizeof(d->state_path), "%s/%s.state", dir,
		 d->ifname);
	ret = kernel_open(&d->k);
	if (ret == -ENOENT)
		die(ret, JVPN_NL_NOFAMILY_MSG);
	if (ret)
		die(ret, "netlink");
	setup_device(d);
	setup_peers(d);
	ret = session_table_init(&d->st, d->cfg.policy.max_sessions);
	if (ret)
		die(ret, "session table");
	ret = roam_init(d);
	if (ret)
		die(ret, "reattach state");
	ret = events_open(d);
	if (ret)
		die(ret, "kernel event socket");
	/* An accelerator: without it the kernel's silence still detects. */
	ret = link_open(d);
	if (ret) {
		d->stats.link_open_errors++;
		fprintf(stderr, "jvpnd: no link watch (%s): link failures are "
			"detected by silence only\n", strerror(-ret));
	}
	setup_sockets(d);
	if (!d->dev_created && (ret = adopt_sessions(d)))
		fprintf(stderr, "jvpnd: adopting sessions: %s\n",
			strerror(-ret));
	for (i = 0; i < d->n_peers; i++)
		if (!d->peers[i].session)
			proto_initiate(d, &d->peers[i], false);
	snprintf(path, sizeof(path), RUN_DIR "/%s.sock", d->ifname);
	ret = control_open(d, o->control ? o->control : path);
	if (ret)
		die(ret, "control socket");
}

int main(int argc, char **argv)
{
	static struct jvpnd d;
	struct opts o = { 0 };
	int ret;

	parse_args(argc, argv, &o);
	if (sodium_init() < 0)
		die(-EIO, "libsodium");
	d.audit_fd = -1;
	d.ctl.h.fd = -1;
	d.teardown_on_exit = o.teardown;
	load_config(&d, o.config);
	pick_ifname(&d, &o);
	ret = loop_init(&d.loop, 4 * d.cfg.policy.max_sessions +
			d.cfg.n_peers + 16);
	if (ret)
		die(ret, "event loop");
	d.start_ms = loop_now_ms();
	setup_audit(&d, &o);
	setup_signals(&d);
	if (!o.foreground && daemon(0, 0))
		die(-errno, "daemon");
	start(&d, &o);
	loop_set_idle(d.loop, jvpnd_audit_flush, &d);
	jvpnd_audit(&d, AUDIT_T_EVENT, AUDIT_ACT_DAEMON_STARTED, 0,
		    (struct audit_kv[]){
			{ .key = "ifname", .type = AUDIT_KV_STR, .s = d.ifname },
			{ .key = "adopted", .type = AUDIT_KV_U64, .u = d.adopted },
			{ .key = "peers", .type = AUDIT_KV_U64, .u = d.n_peers },
		    }, 3);
	jvpnd_audit_flush(&d);
	ret = loop_run(d.loop);
	shutdown_daemon(&d);
	return ret ? 1 : 0;
}
