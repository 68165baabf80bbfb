/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "example_util.h"

volatile sig_atomic_t ex_force_quit;

static void
on_quit_signal(int signum)
{
	(void)signum;
	ex_force_quit = 1;
}

void
ex_catch_quit_signals(void)
{
	ex_force_quit = 0;
	signal(SIGINT, on_quit_signal);
	signal(SIGTERM, on_quit_signal);
}

double
ex_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct pst_pool *
ex_pool_open_or_create(const struct pst_pool_config *cfg, uint64_t buf_count)
{
	struct pst_pool_config create_cfg;
	struct pst_pool *pool;

	pool = pst_pool_open(cfg);
	if (pool != NULL || pst_errno != ENOENT)
		return pool;
	create_cfg = *cfg;
	create_cfg.buf_count = buf_count;
	return pst_pool_create(&create_cfg);
}

int
ex_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
ex_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int ret = ex_parse_u64(s, min, max, &v);

	if (ret == 0)
		*out = (uint32_t)v;
	return ret;
}

int
ex_parse_u16(const char *s, uint16_t min, uint16_t max, uint16_t *out)
{
	uint64_t v;
	int ret = ex_parse_u64(s, min, max, &v);

	if (ret == 0)
		*out = (uint16_t)v;
	return ret;
}

int
ex_parse_bytes(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k': case 'K': mult = 1ull << 10; end++; break;
		case 'm': case 'M': mult = 1ull << 20; end++; break;
		case 'g': case 'G': mult = 1ull << 30; end++; break;
		default: break;
		}
	}
	if (errno != 0 || *end != '\0' || v > (1ull << 50) / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int
ex_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || isnan(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
ex_parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

int
ex_split(const char *s, char sep, char *head, size_t size, const char **tail)
{
	const char *at = strchr(s, sep);
	size_t len = at != NULL ? (size_t)(at - s) : strlen(s);

	if (len >= size)
		return -1;
	memcpy(head, s, len);
	head[len] = '\0';
	*tail = at != NULL ? at + 1 : NULL;
	return 0;
}

uint32_t
ex_netmask(unsigned int prefix_len)
{
	/* A shift by the width of the type is undefined: 32 is its own case. */
	return prefix_len >= 32 ? UINT32_MAX : ~(UINT32_MAX >> prefix_len);
}

int
ex_help_requested(int argc, char *const *argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int
ex_parse_choice(const char *s, const char *const *names, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

int
ex_parse_ipv4_prefix(const char *s, uint32_t *ip, uint32_t *netmask)
{
	char addr[32];
	const char *len_s;
	uint64_t len = 24;
	uint32_t a;

	if (ex_split(s, '/', addr, sizeof(addr), &len_s) != 0 ||
	    (len_s != NULL && ex_parse_u64(len_s, 1, 32, &len) != 0) ||
	    ex_parse_ipv4(addr, &a) != 0)
		return -1;
	*ip = a;
	*netmask = ex_netmask((unsigned int)len);
	return 0;
}

void
ex_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}
