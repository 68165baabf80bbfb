/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * objects-load: the objects benchmark's load generator (bench/lib/
 * objbench.py). C connections, one thread each, blocking Linux sockets,
 * HTTP/1.1 keep-alive, one request at a time per connection: PutObject of
 * SIZE bytes or GetObject of objects of SIZE bytes (every reply's status
 * and length checked), signed with SigV4 and UNSIGNED-PAYLOAD (the server
 * accepts it; each signature costs the client a few microseconds, not a
 * pass over the body).
 *
 *   objects-load --addr IP:PORT --id ID --secret S --bucket B
 *                --op mkbucket|put|get --size N [--conns C] [--keys K]
 *                [--seconds S | --count N] [--prefix P]
 *
 * Keys are PREFIX/0 .. PREFIX/K-1; connection i takes keys i, i+C, ...
 * in turn. One JSON line on stdout: ops, errors, bytes, seconds, and the
 * rates. Exit status 1 if any request failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sigv4.h"
#include "example_util.h"

enum op { OP_MKBUCKET, OP_PUT, OP_GET };

struct load {
	struct sockaddr_in sa;
	char host[64];
	const char *id, *secret, *bucket, *prefix, *region;
	enum op op;
	uint64_t size, count;
	uint32_t conns, keys;
	double seconds;
	uint8_t *body;                  /* PUT: SIZE bytes */
};

struct worker {
	const struct load *l;
	pthread_t th;
	unsigned int i;
	uint64_t ops, errors, bytes;
	char err[256];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
send_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len > 0) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The request's head, signed. @return its length, or -1. */
static int
head_of(const struct load *l, const char *method, const char *path, uint64_t length,
	char *out, size_t size)
{
	char amz[32], date[16], creq[1024], sts[512], hash[OBJ_SIGV4_HEX + 1];
	char sig[OBJ_SIGV4_HEX + 1];
	uint8_t key[32];
	time_t t = time(NULL);
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	strftime(amz, sizeof(amz), "%Y%m%dT%H%M%SZ", &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	n = snprintf(creq, sizeof(creq),
		     "%s\n%s\n\nhost:%s\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:%s\n\n"
		     "host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD", method, path,
		     l->host, amz);
	if (n < 0 || (size_t)n >= sizeof(creq))
		return -1;
	obj_sigv4_hash_hex(creq, (size_t)n, hash);
	n = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", amz,
		     date, l->region, hash);
	obj_sigv4_signing_key(l->secret, date, l->region, "s3", key);
	obj_sigv4_sign(key, sts, (size_t)n, sig);
	n = snprintf(out, size,
		     "%s %s HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\n"
		     "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
		     "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
		     "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s\r\n"
		     "Content-Length: %" PRIu64 "\r\n\r\n", method, path, l->host, amz, l->id,
		     date, l->region, sig, length);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Read a reply: its status and body (GET: counted, not kept).
 * @return the status, or -1 (the connection is lost). */
static int
read_reply(int fd, char *buf, size_t cap, uint64_t *body_len)
{
	size_t have = 0, hl = 0;
	uint64_t clen = 0, got;
	int status = -1;
	char *p;

	for (;;) {
		ssize_t n = recv(fd, buf + have, cap - 1 - have, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		p = strstr(buf, "\r\n\r\n");
		if (p != NULL) {
			hl = (size_t)(p - buf) + 4;
			break;
		}
		if (have == cap - 1)
			return -1;
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	for (p = buf; p < buf + hl; p++) {
		if ((p == buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0) {
			clen = strtoull(p + 15, NULL, 10);
			break;
		}
	}
	got = have - hl;
	while (got < clen) {
		uint64_t want = clen - got < cap ? clen - got : cap;
		ssize_t n = recv(fd, buf, (size_t)want, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (uint64_t)n;
	}
	if (got > clen)
		return -1;      /* one request at a time: nothing may follow */
	*body_len = clen;
	return status;
}

static int
connect_to(const struct load *l)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct timeval tv = { .tv_sec = 30 };

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&l->sa, sizeof(l->sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	const struct load *l = w->l;
	size_t cap = 1u << 20;
	char *buf = malloc(cap), head[2048], path[512];
	double deadline = now_s() + l->seconds;
	uint64_t k = w->i, n = 0;
	int fd = connect_to(l);

	if (buf == NULL || fd < 0) {
		snprintf(w->err, sizeof(w->err), "connect: %s", strerror(errno));
		w->errors++;
		goto out;
	}
	for (;;) {
		uint64_t blen = 0;
		int hl, status, want;

		if (l->count ? n >= l->count : now_s() >= deadline)
			break;
		if (l->op == OP_MKBUCKET)
			snprintf(path, sizeof(path), "/%s", l->bucket);
		else
			snprintf(path, sizeof(path), "/%s/%s/%" PRIu64, l->bucket, l->prefix,
				 k % l->keys);
		hl = head_of(l, l->op == OP_GET ? "GET" : "PUT", path,
			     l->op == OP_PUT ? l->size : 0, head, sizeof(head));
		if (hl < 0 || send_all(fd, head, (size_t)hl) != 0 ||
		    (l->op == OP_PUT && send_all(fd, l->body, l->size) != 0) ||
		    (status = read_reply(fd, buf, cap, &blen)) < 0) {
			snprintf(w->err, sizeof(w->err), "%s %.200s: connection lost (%s)",
				 l->op == OP_GET ? "GET" : "PUT", path, strerror(errno));
			w->errors++;
			break;
		}
		want = l->op == OP_MKBUCKET ? (status == 409 ? 409 : 200) : 200;
		if (status != want || (l->op == OP_GET && blen != l->size)) {
			if (w->errors++ == 0)
				snprintf(w->err, sizeof(w->err), "%.200s: status %d, %" PRIu64 " bytes",
					 path, status, blen);
		} else {
			w->ops++;
			w->bytes += l->op == OP_MKBUCKET ? 0 : l->size;
		}
		n++;
		k += l->conns;
		if (l->op == OP_MKBUCKET)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: objects-load --addr IP:PORT --id ID --secret S --bucket B\n"
		"         --op mkbucket|put|get --size N [--conns C] [--keys K]\n"
		"         [--seconds S | --count N] [--prefix P] [--region R]\n");
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "addr", required_argument, NULL, 'a' }, { "id", required_argument, NULL, 'i' },
		{ "secret", required_argument, NULL, 's' },
		{ "bucket", required_argument, NULL, 'b' }, { "op", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 'z' }, { "conns", required_argument, NULL, 'c' },
		{ "keys", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "region", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	struct load l = { .prefix = "o", .region = "us-east-1", .conns = 1, .keys = 16,
			  .seconds = 1, .op = OP_PUT };
	struct worker *ws;
	const char *addr = NULL, *op = "put";
	uint64_t ops = 0, errors = 0, bytes = 0;
	double t0, el;
	unsigned int i;
	int c;

	if (ex_help_requested(argc, argv)) {
		usage(stdout);
		return 0;
	}
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		const char *what = NULL;        /* a numeric option's name */
		int ret = 0;

		switch (c) {
		case 'a': addr = optarg; break;
		case 'i': l.id = optarg; break;
		case 's': l.secret = optarg; break;
		case 'b': l.bucket = optarg; break;
		case 'o': op = optarg; break;
		case 'z': what = "size"; ret = ex_parse_bytes(optarg, &l.size); break;
		case 'c': what = "conns"; ret = ex_parse_u32(optarg, 1, 1024, &l.conns); break;
		case 'k': what = "keys"; ret = ex_parse_u32(optarg, 1, UINT32_MAX, &l.keys); break;
		case 't': what = "seconds"; ret = ex_parse_double(optarg, 0.001, 1e6, &l.seconds); break;
		case 'n': what = "count"; ret = ex_parse_u64(optarg, 1, UINT64_MAX, &l.count); break;
		case 'p': l.prefix = optarg; break;
		case 'r': l.region = optarg; break;
		default: usage(stderr); return 2;
		}
		if (ret != 0) {
			fprintf(stderr, "objects-load: bad value for --%s: %s\n", what, optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "objects-load: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	l.op = strcmp(op, "get") == 0 ? OP_GET : strcmp(op, "mkbucket") == 0 ? OP_MKBUCKET :
	       OP_PUT;
	if (addr == NULL || l.id == NULL || l.secret == NULL || l.bucket == NULL ||
	    l.conns == 0 || l.conns > 1024 || l.keys == 0 || strchr(addr, ':') == NULL ||
	    (strcmp(op, "put") != 0 && l.op == OP_PUT)) {
		usage(stderr);
		return 2;
	}
	snprintf(l.host, sizeof(l.host), "%s", addr);
	*strchr(l.host, ':') = '\0';
	l.sa.sin_family = AF_INET;
	l.sa.sin_port = htons((uint16_t)atoi(strchr(addr, ':') + 1));
	if (inet_pton(AF_INET, l.host, &l.sa.sin_addr) != 1) {
		usage(stderr);
		return 2;
	}
	snprintf(l.host, sizeof(l.host), "%s", addr);   /* the Host header: IP:PORT */
	if (l.op == OP_MKBUCKET) {
		l.conns = 1;    /* one request, whatever --seconds says */
		l.count = 1;
	}
	if (l.op == OP_PUT) {
		l.body = malloc(l.size ? l.size : 1);
		if (l.body == NULL)
			return 2;
		for (uint64_t j = 0; j < l.size; j++)
			l.body[j] = (uint8_t)(j * 2654435761u >> 13);
	}
	ws = calloc(l.conns, sizeof(*ws));
	if (ws == NULL)
		return 2;
	t0 = now_s();
	for (i = 0; i < l.conns; i++) {
		ws[i].l = &l;
		ws[i].i = i;
		if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0)
			return 2;
	}
	for (i = 0; i < l.conns; i++) {
		pthread_join(ws[i].th, NULL);
		ops += ws[i].ops;
		errors += ws[i].errors;
		bytes += ws[i].bytes;
	}
	el = now_s() - t0;
	printf("{\"op\": \"%s\", \"size\": %" PRIu64 ", \"conns\": %u, \"ops\": %" PRIu64
	       ", \"errors\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"seconds\": %.4f"
	       ", \"ops_per_s\": %.1f, \"mib_per_s\": %.2f", op, l.size, l.conns, ops, errors,
	       bytes, el, el > 0 ? ops / el : 0, el > 0 ? bytes / el / 1048576 : 0);
	for (i = 0; i < l.conns; i++)
		if (ws[i].err[0]) {
			printf(", \"error\": \"");
			for (const char *q = ws[i].err; *q; q++)
				putchar(*q == '"' || *q == '\\' ? '\'' : *q);
			printf("\"");
			break;
		}
	printf("}\n");
	free(ws);
	free(l.body);
	return errors ? 1 : 0;
}
