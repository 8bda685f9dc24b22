// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd persisted state.  See state.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "state.h"
#include "util.h"

int state_format(const struct state_record *r, char *buf, size_t len)
{
	char pub[JVPN_KEY_B64_LEN + 1], rk[JVPN_KEY_B64_LEN + 1];
	int n;

	jvpn_key_to_base64(r->peer_pub, pub);
	jvpn_key_to_base64(r->reattach_key, rk);
	n = snprintf(buf, len, "session %" PRIu32 " %" PRIu32 " %s %u %s %s %s %"
		     PRIu64 "\n", r->local_id, r->peer_id, pub, r->key_id, rk,
		     r->initiator ? "initiator" : "responder",
		     fsm_state_name(r->state), r->version);
	sodium_memzero(rk, sizeof(rk));
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

static int parse_fields(char **f, struct state_record *r)
{
	uint32_t key_id;
	int st;

	if (strcmp(f[0], "session") ||
	    jvpn_parse_u32(f[1], &r->local_id) || !r->local_id ||
	    jvpn_parse_u32(f[2], &r->peer_id) || !r->peer_id ||
	    jvpn_key_from_text(f[3], strlen(f[3]), r->peer_pub) ||
	    jvpn_parse_u32(f[4], &key_id) || key_id > 255 ||
	    jvpn_key_from_text(f[5], strlen(f[5]), r->reattach_key) ||
	    jvpn_parse_u64(f[8], &r->version))
		return -EINVAL;
	r->key_id = (uint8_t)key_id;
	if (!strcmp(f[6], "initiator"))
		r->initiator = true;
	else if (strcmp(f[6], "responder"))
		return -EINVAL;
	st = fsm_state_from_name(f[7]);
	if (st < 0)
		return -EINVAL;
	r->state = (enum fsm_state)st;
	return 0;
}

int state_parse(const char *line, struct state_record *r)
{
	char buf[STATE_LINE_MAX], *f[9], *save = NULL, *tok;
	size_t len = strlen(line);
	unsigned int n = 0;
	int ret;

	if (len && line[len - 1] == '\n')
		len--;
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, line, len);
	buf[len] = '\0';
	memset(r, 0, sizeof(*r));
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (n == 9)
			return -EINVAL;
		f[n++] = tok;
	}
	ret = n == 9 ? parse_fields(f, r) : -EINVAL;
	sodium_memzero(buf, sizeof(buf));
	if (ret)
		sodium_memzero(r, sizeof(*r));
	return ret;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int write_records(int fd, const struct state_record *r, size_t n)
{
	char line[STATE_LINE_MAX];
	size_t i;
	int len, ret = 0;

	for (i = 0; i < n && !ret; i++) {
		len = state_format(&r[i], line, sizeof(line));
		ret = len < 0 ? len : write_all(fd, line, (size_t)len);
	}
	sodium_memzero(line, sizeof(line));
	return ret;
}

static void fsync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int state_save(const char *path, const struct state_record *r, size_t n)
{
	char tmp[PATH_MAX];
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = write_records(fd, r, n);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	else
		fsync_dir(path);
	return ret;
}

int state_load(const char *path, size_t max, struct state_record **out,
	       size_t *n, unsigned int *bad)
{
	char line[STATE_LINE_MAX + 2];
	struct state_record *v;
	FILE *f;

	*out = NULL;
	*n = 0;
	*bad = 0;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	v = calloc(max ? max : 1, sizeof(*v));
	if (!v) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		if (*n < max && !state_parse(line, &v[*n]))
			(*n)++;
		else
			(*bad)++;
	}
	sodium_memzero(line, sizeof(line));
	fclose(f);
	*out = v;
	return 0;
}
