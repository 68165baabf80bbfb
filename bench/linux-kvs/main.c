/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * linux-kvs: paste-kvs's Linux baseline, PASTE's "fence before every
 * write()" server. The same protocol parsers (RESP2 and HTTP/1.1), the same
 * persistent indexes (wal, btree) and the same store as paste-kvs, compiled
 * from examples/kvs/, over Linux sockets:
 *
 *   epoll, one thread: read() into a DRAM buffer per connection; the bytes
 *   are parsed in place (a kv_stream whose spans point into that buffer and
 *   carry no pool name); each SET copies its value into pool buffers of its
 *   own (pst_pool_take + memcpy + flush + keep) and records it in the index;
 *   after the requests of one read() are executed the pool is drained once
 *   (sfence, or msync) and only then are the replies written. GET replies
 *   are written with writev() straight from the value's pool buffers.
 *
 * It needs no DPDK EAL: the pool API works on its own.
 *
 *   linux-kvs [--index wal|btree] [--pool-file F] [--pool-bufs N]
 *             [--persist MODE] [--pm-drain-delay-us N] [--resp-port P]
 *             [--http-port P] [--bind ADDR] [--max-conns N] [--stats-period S]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "example_util.h"
#include "auth.h"
#include "multi.h"
#include "client.h"
#include "exec.h"
#include "main_shared.h"
#include "proto.h"
#include "store.h"
#include "stream.h"

#define RBUF_MIN (64u * 1024)       /* read() room per call */
#define STREAM_MAX (64u << 20)      /* unparsed bytes per connection */
#define OUT_HIGH (4u << 20)         /* stop executing above this much queued output */
#define IOV_BATCH 1024
#define SMALL 512

struct opts {
	struct kv_main_opts common;     /* the options paste-kvs has too */
	const char *bind_addr;
};

/* What epoll's data.ptr points at: a listener or a connection. */
enum { EP_LISTEN_RESP, EP_LISTEN_HTTP, EP_CONN };

struct listener {
	int kind;
	int fd;
};

/* A piece of output: bytes of the connection's arena (ptr NULL, at off),
 * or a value's bytes in the pool (ptr, with a reference on @ref). */
struct piece {
	const uint8_t *ptr;
	size_t off;
	uint32_t len;
	pst_name ref;
};

struct conn {
	int kind;
	int fd;
	int http;
	struct conn *prev, *next;   /* server.conns, for the timeouts */
	/* Clock (server.now) of: the last byte read, the first byte of the
	 * request in rx, the last output byte written (or queued first). */
	double last_rx, req_start, send_progress;
	/* Input: unconsumed bytes are buf[head, tail); rx describes them. */
	uint8_t *buf;
	size_t cap, head, tail;
	struct kv_stream rx;
	/* Output. */
	struct piece *out;
	unsigned int n_out, cap_out, out_done;
	size_t out_first_off;       /* bytes of out[out_done] already written */
	size_t out_bytes;
	char *arena;
	size_t arena_len, arena_cap;
	int closing;                /* close once the output is out */
	int eof;                    /* the peer shut its side */
	int continue_sent;          /* HTTP 100 Continue sent for this request */
	int epollout;               /* registered for EPOLLOUT (not EPOLLIN) */
	struct kv_parse_state parse; /* an incomplete request, read so far */
	struct kv_upload upload;     /* its value's reservation, or a discard */
	struct kv_auth_conn auth; /* AUTH passed, failures */
	struct kv_multi multi;    /* MULTI's queue, WATCHed keys */
	double multi_start;       /* clock (srv->now) of its MULTI */
	struct kv_client client;  /* CLIENT's id and name */
};

struct server {
	const struct kv_auth *auth;  /* for exec, which server_start() zeroes */
	struct kv_store *store;
	struct pst_pool *pool;
	int epfd;
	int dirty;                  /* flushes since the last drain */
	int drain_failed;           /* fail-stop: exit 74, no teardown */
	unsigned int n_conns, max_conns;
	uint64_t accepted, refused;
	/* The limits of one client, as paste-kvs's (0: none). */
	uint64_t output_limit;
	double idle_timeout, request_timeout, send_timeout;
	double now;                 /* the clock after the last epoll_wait */
	struct conn *conns;
	struct kv_exec exec;        /* requests: the same code as paste-kvs */
	uint64_t reads, writes, drains;
};

/* ---- output ------------------------------------------------------------ */

static struct piece *
piece_new(struct conn *c)
{
	if (c->n_out == c->cap_out) {
		unsigned int cap = c->cap_out ? c->cap_out * 2 : 64;
		struct piece *p = realloc(c->out, cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		c->out = p;
		c->cap_out = cap;
	}
	return &c->out[c->n_out++];
}

static void
out_bytes(struct server *srv, struct conn *c, const void *bytes, size_t len)
{
	struct piece *p;

	if (len == 0)
		return;
	if (c->n_out == c->out_done)
		c->send_progress = srv->now;
	if (c->arena_len + len > c->arena_cap) {
		size_t cap = c->arena_cap ? c->arena_cap : 4096;
		char *a;

		while (cap < c->arena_len + len)
			cap *= 2;
		a = realloc(c->arena, cap);
		if (a == NULL) {
			c->closing = 1;
			return;
		}
		c->arena = a;
		c->arena_cap = cap;
	}
	memcpy(c->arena + c->arena_len, bytes, len);
	/* Consecutive small replies (a pipelined batch) make one piece. */
	p = c->n_out > c->out_done ? &c->out[c->n_out - 1] : NULL;
	if (p != NULL && p->ptr == NULL && p->off + p->len == c->arena_len &&
	    p->len + len <= UINT32_MAX) {
		p->len += (uint32_t)len;
	} else {
		p = piece_new(c);
		if (p == NULL) {
			c->closing = 1;
			return;
		}
		p->ptr = NULL;
		p->off = c->arena_len;
		p->len = (uint32_t)len;
		p->ref = PST_NAME_INVALID;
	}
	c->arena_len += len;
	c->out_bytes += len;
}

/* A value's bytes, written from the pool; referenced until written, so an
 * overwrite or delete in the meantime cannot recycle the buffer. */
static void
out_value(struct server *srv, struct conn *c, const struct kv_value *v)
{
	unsigned int i;

	if (c->n_out == c->out_done)
		c->send_progress = srv->now;
	for (i = 0; i < v->n; i++) {
		struct piece *p = piece_new(c);

		if (p == NULL) {
			c->closing = 1;
			return;
		}
		p->ptr = pst_pool_name_to_addr(srv->pool, v->names[i]);
		p->off = 0;
		p->len = pst_name_length(v->names[i]);
		p->ref = v->names[i];
		kv_ref(srv->store, v->names[i]);
		c->out_bytes += p->len;
	}
}

/* Write queued output. Returns 1 when all of it is out, 0 when the socket
 * is full, -1 on a write error. */
static int
out_flush(struct server *srv, struct conn *c)
{
	struct iovec iov[IOV_BATCH];

	while (c->out_done < c->n_out) {
		unsigned int k = 0, i;
		ssize_t n;

		for (i = c->out_done; i < c->n_out && k < IOV_BATCH; i++, k++) {
			const struct piece *p = &c->out[i];
			const uint8_t *base = p->ptr ? p->ptr : (const uint8_t *)c->arena + p->off;
			size_t skip = i == c->out_done ? c->out_first_off : 0;

			iov[k].iov_base = (void *)(base + skip);
			iov[k].iov_len = p->len - skip;
		}
		n = writev(c->fd, iov, (int)k);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		srv->writes++;
		if (n > 0)
			c->send_progress = srv->now;
		while (n > 0) {
			struct piece *p = &c->out[c->out_done];
			size_t left = p->len - c->out_first_off;

			if ((size_t)n < left) {
				c->out_first_off += (size_t)n;
				break;
			}
			n -= (ssize_t)left;
			if (p->ref != PST_NAME_INVALID)
				kv_unref(srv->store, p->ref);
			c->out_first_off = 0;
			c->out_done++;
		}
	}
	c->n_out = c->out_done = 0;
	c->out_first_off = 0;
	c->arena_len = 0;
	c->out_bytes = 0;
	return 1;
}

/* ---- replies (kv_out for exec.c) ------------------------------------------ */

struct out_ctx {
	struct server *srv;
	struct conn *c;
};

static void
out_bytes_cb(void *ctx, const void *data, size_t len)
{
	struct out_ctx *o = ctx;

	out_bytes(o->srv, o->c, data, len);
}

static void
out_value_cb(void *ctx, const struct kv_value *v)
{
	struct out_ctx *o = ctx;

	out_value(o->srv, o->c, v);
}

static void
out_close_cb(void *ctx)
{
	((struct out_ctx *)ctx)->c->closing = 1;
}

/* ---- connections ------------------------------------------------------- */

static void
conn_consume(struct conn *c, size_t n)
{
	if (n > c->rx.len)
		n = c->rx.len;
	kv_stream_consume(&c->rx, n, NULL, NULL);
	c->head += n;
	if (c->head == c->tail)
		c->head = c->tail = 0; /* the stream is empty: start over */
}

/* Push buf[from, to) onto the stream, in spans a name could describe. */
static int
conn_push(struct conn *c, size_t from, size_t to)
{
	while (from < to) {
		size_t len = to - from > UINT16_MAX ? UINT16_MAX : to - from;

		if (kv_stream_push(&c->rx, PST_NAME_INVALID, c->buf + from, (uint32_t)len) != 0)
			return -1;
		from += len;
	}
	return 0;
}

/* Room for a read(): move the unconsumed bytes to the front, or grow the
 * buffer; the stream's spans are rebuilt when the bytes move. */
static int
conn_room(struct conn *c)
{
	size_t live = c->tail - c->head, cap = c->cap;
	uint8_t *b;

	if (c->cap - c->tail >= RBUF_MIN / 2)
		return 0;
	while (cap - live < RBUF_MIN)
		cap *= 2;
	if (cap > STREAM_MAX + RBUF_MIN)
		return -1;
	if (cap != c->cap) {
		b = malloc(cap);
		if (b == NULL)
			return -1;
		memcpy(b, c->buf + c->head, live);
		free(c->buf);
		c->buf = b;
		c->cap = cap;
	} else {
		memmove(c->buf, c->buf + c->head, live);
	}
	c->head = 0;
	c->tail = live;
	kv_stream_consume(&c->rx, c->rx.len, NULL, NULL);
	return conn_push(c, 0, live);
}

static void
conn_free(struct server *srv, struct conn *c)
{
	unsigned int i;

	kv_exec_upload_end(&srv->exec, &c->upload);
	kv_multi_end(&srv->exec, &c->multi);
	kv_client_end(&srv->exec, &c->client);
	for (i = c->out_done; i < c->n_out; i++)
		if (c->out[i].ref != PST_NAME_INVALID)
			kv_unref(srv->store, c->out[i].ref);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	kv_stream_fini(&c->rx, NULL, NULL);
	free(c->buf);
	free(c->out);
	free(c->arena);
	free(c);
	srv->n_conns--;
	srv->exec.n_conns--;
}

/* Execute the complete requests in the stream, while the output is small.
 * Returns 1 when the output limit stopped it with requests left. */
static int
conn_execute(struct server *srv, struct conn *c)
{
	struct out_ctx ctx = { srv, c };
	const struct kv_out out = {
		.bytes = out_bytes_cb, .value = out_value_cb, .close = out_close_cb,
		.ctx = &ctx, .continue_sent = &c->continue_sent, .parse = &c->parse,
		.upload = &c->upload, .auth = &c->auth, .multi = &c->multi,
		.client = &c->client,
	};
	long used;
	int in_multi = c->multi.active;

	while (!c->closing && c->rx.len > 0) {
		if (c->out_bytes >= OUT_HIGH)
			return 1;
		used = kv_exec_next(&srv->exec, &c->rx, c->http, &out);
		if (used < 0)
			break;
		srv->dirty = 1; /* a write may have flushed, even a failed one */
		conn_consume(c, (size_t)used);
		c->req_start = srv->now; /* what is left starts the next request */
		if (c->multi.active && !in_multi)
			c->multi_start = srv->now;
		in_multi = c->multi.active;
	}
	if (c->eof)
		c->closing = 1; /* the peer is done: what it sent is answered */
	return 0;
}

static int
conn_want(struct server *srv, struct conn *c, int out)
{
	struct epoll_event ev = { .events = out ? EPOLLOUT : EPOLLIN, .data.ptr = c };

	if (c->epollout == out)
		return 0;
	c->epollout = out;
	return epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Execute, drain, write: the baseline's "fence before every write()". */
static void
conn_run(struct server *srv, struct conn *c)
{
	int more, r, round;

	for (round = 0; round < 64; round++) {
		more = conn_execute(srv, c);
		if (srv->dirty) {
			if (pst_pool_drain(srv->pool) != 0) {
				/* Never write a reply that waited for it, nor
				 * any later one (paste-kvs does the same). */
				fprintf(stderr, "linux-kvs: drain of the pool failed: %s; "
					"stopping\n", pst_errormsg());
				srv->drain_failed = 1;
				ex_force_quit = 1;
				return;
			}
			srv->drains++;
			srv->dirty = 0;
			kv_store_release_durable(srv->store);
		}
		if (srv->output_limit != 0 && c->out_bytes > srv->output_limit) {
			/* Like Redis's client-output-buffer-limit. */
			srv->exec.output_overflows++;
			conn_free(srv, c);
			return;
		}
		r = out_flush(srv, c);
		if (r < 0) {
			conn_free(srv, c);
			return;
		}
		if (r == 0) {
			/* The socket is full: stop reading until it drains. */
			if (conn_want(srv, c, 1) != 0)
				conn_free(srv, c);
			return;
		}
		if (!more)
			break;
	}
	if (c->closing) {
		conn_free(srv, c);
		return;
	}
	/* After 64 rounds with requests left, EPOLLOUT brings us back. */
	if (conn_want(srv, c, round == 64) != 0)
		conn_free(srv, c);
}

static void
conn_readable(struct server *srv, struct conn *c)
{
	ssize_t n;

	if (conn_room(c) != 0) {
		fprintf(stderr, "linux-kvs: connection dropped (too much unparsed input)\n");
		conn_free(srv, c);
		return;
	}
	n = read(c->fd, c->buf + c->tail, c->cap - c->tail);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_free(srv, c);
		return;
	}
	srv->reads++;
	if (n == 0) {
		c->eof = 1;
	} else {
		c->last_rx = srv->now;
		if (c->rx.len == 0)
			c->req_start = srv->now;
		if (conn_push(c, c->tail, c->tail + (size_t)n) != 0) {
			conn_free(srv, c);
			return;
		}
		c->tail += (size_t)n;
	}
	conn_run(srv, c);
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void
accept_all(struct server *srv, struct listener *l)
{
	int i;

	for (i = 0; i < 64; i++) {
		struct epoll_event ev;
		struct sockaddr_in peer = { 0 };
		socklen_t plen = sizeof(peer);
		struct conn *c;
		int fd, one = 1;

		fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (srv->n_conns >= srv->max_conns) {
			static const char resp[] = "-ERR max number of clients reached\r\n";
			static const char http_resp[] =
				"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
			ssize_t w;

			srv->refused++;
			if (l->kind == EP_LISTEN_HTTP)
				w = write(fd, http_resp, sizeof(http_resp) - 1);
			else
				w = write(fd, resp, sizeof(resp) - 1);
			(void)w;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c != NULL) {
			c->cap = RBUF_MIN;
			c->buf = malloc(c->cap);
		}
		if (c == NULL || c->buf == NULL) {
			free(c);
			close(fd);
			continue;
		}
		c->kind = EP_CONN;
		c->fd = fd;
		c->http = l->kind == EP_LISTEN_HTTP;
		c->last_rx = srv->now;
		kv_stream_init(&c->rx);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c->buf);
			free(c);
			close(fd);
			continue;
		}
		c->next = srv->conns;
		if (c->next != NULL)
			c->next->prev = c;
		srv->conns = c;
		srv->n_conns++;
		srv->exec.n_conns++;
		srv->accepted++;
		kv_client_start(&srv->exec, &c->client, ntohl(peer.sin_addr.s_addr),
				ntohs(peer.sin_port));
	}
}

/* Whether @c is past one of its timeouts (paste-kvs's rules). */
static int
conn_timed_out(const struct server *srv, const struct conn *c)
{
	if (c->out_done < c->n_out)
		return srv->send_timeout > 0 && srv->now - c->send_progress > srv->send_timeout;
	if (c->rx.len > 0 && srv->request_timeout > 0 &&
	    srv->now - c->req_start > srv->request_timeout)
		return 1;
	if (kv_multi_open(&c->multi) && srv->request_timeout > 0 &&
	    srv->now - c->multi_start > srv->request_timeout)
		return 1;
	return srv->idle_timeout > 0 && srv->now - c->last_rx > srv->idle_timeout;
}

/* Close the connections past a timeout: all they hold is freed. */
static void
sweep_timeouts(struct server *srv)
{
	struct conn *c, *next;

	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		if (conn_timed_out(srv, c)) {
			srv->exec.timed_out++;
			conn_free(srv, c);
		}
	}
}

static int
listen_on(struct server *srv, struct listener *l, const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
	int one = 1;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "linux-kvs: bad --bind address %s\n", addr);
		return -1;
	}
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(l->fd, 1024) != 0 ||
	    set_nonblock(l->fd) != 0 || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
		fprintf(stderr, "linux-kvs: listen on %s:%u: %s\n", addr, port, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: linux-kvs [options]\n"
		KV_MAIN_INDEX_USAGE
		"  --pool-file F            pool file (default /dev/shm/linux-kvs.pool)\n"
		"  --pool-bufs N            buffers when creating the pool (default 262144)\n"
		KV_MAIN_PERSIST_USAGE
		"  --resp-port P            RESP port (default 6379, 0: off)\n"
		"  --http-port P            HTTP port (default 8080, 0: off)\n"
		"  --bind ADDR              listen address (default 0.0.0.0)\n"
		"  --max-conns N            connection limit (default 1024)\n"
		KV_MAIN_LIMITS_USAGE
		KV_MAIN_AUTH_USAGE
		"  --stats-period S         print statistics every S seconds\n");
}

/* @return 0, 1 after --help, -1 on a bad command line (reported). */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		KV_MAIN_LONGOPTS,
		{ "bind", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret, li = 0;

	while ((c = getopt_long(argc, argv, "", lopts, &li)) != -1) {
		if (c == 'H') {
			usage(stdout);
			return 1;
		}
		if (c == 'a') {
			o->bind_addr = optarg;
			continue;
		}
		ret = kv_main_parse_opt(&o->common, c, optarg);
		if (ret > 0) {
			usage(stderr);
			return -1;
		}
		if (ret < 0) {
			/* argv[optind - 1] would be the value when it came
			 * as a word of its own */
			fprintf(stderr, "linux-kvs: bad value '%s' for --%s\n", optarg,
				lopts[li].name);
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "linux-kvs: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

static long
rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The same "kvs:" line as paste-kvs (bench/run.sh reads both), with the
 * process's CPU time instead of the stack's busy cycles. */
static void
print_stats(const struct server *srv)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	kv_main_print_counts(srv->store, &srv->exec, srv->n_conns, srv->accepted,
			     srv->refused);
	printf(" reads=%" PRIu64 " writes=%" PRIu64 " value_bytes=%" PRIu64
	       " user_us=%ld sys_us=%ld rss_kb=%ld\n",
	       srv->reads, srv->writes, srv->store->value_bytes,
	       (long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, rss_kb());
}

/* The requests' executor, epoll and the listeners; the "ready" line. */
static int
server_start(struct server *srv, const struct opts *o, struct listener *lresp,
	     struct listener *lhttp)
{
	const struct kv_main_opts *co = &o->common;

	if (kv_exec_init(&srv->exec, srv->store, 1) != 0) {
		fprintf(stderr, "linux-kvs: out of memory\n");
		return -1;
	}
	srv->exec.auth = srv->auth;
	srv->max_conns = co->max_conns;
	srv->exec.limits = co->limits;
	srv->output_limit = co->output_limit;
	srv->idle_timeout = co->idle_timeout;
	srv->request_timeout = co->request_timeout;
	srv->send_timeout = co->send_timeout;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0) {
		perror("linux-kvs: epoll_create1");
		return -1;
	}
	if (co->resp_port != 0 && listen_on(srv, lresp, o->bind_addr, co->resp_port) != 0)
		return -1;
	if (co->http_port != 0 && listen_on(srv, lhttp, o->bind_addr, co->http_port) != 0)
		return -1;
	printf("linux-kvs: ready resp=%u http=%u bind=%s index=%s values=copy persist=%s"
	       " drain_delay_us=%u\n", co->resp_port, co->http_port, o->bind_addr,
	       co->index->name, pst_persist_mode_name(co->persist), co->drain_delay_us);
	return 0;
}

/* Undo server_start(), whatever part of it was done. */
static void
server_stop(struct server *srv, struct listener *lresp, struct listener *lhttp)
{
	if (lresp->fd >= 0)
		close(lresp->fd);
	if (lhttp->fd >= 0)
		close(lhttp->fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	kv_exec_fini(&srv->exec);
}

/* Print the statistics when they are due.
 * @return how long epoll may wait (ms) before the next are. */
static int
stats_tick(const struct server *srv, double period, double *next)
{
	double t;

	if (period <= 0)
		return 1000;
	t = ex_now_s();
	if (t >= *next) {
		if (*next > 0)
			print_stats(srv);
		*next = t + period;
	}
	return (int)((*next - t) * 1000) + 1;
}

static void
on_event(struct server *srv, void *ptr)
{
	struct conn *c = ptr;

	if (*(int *)ptr != EP_CONN) {
		accept_all(srv, ptr);
		return;
	}
	/* A connection freed earlier in this batch cannot appear again:
	 * each fd is reported once per epoll_wait. */
	if (c->epollout)
		conn_run(srv, c);
	else
		conn_readable(srv, c);
}

/* Serve until SIGINT or SIGTERM (or a failed drain). */
static void
serve(struct server *srv, double stats_period)
{
	struct epoll_event events[256];
	double next_stats = 0, next_sweep = 0;
	int i, n, wait_ms;

	srv->now = ex_now_s();
	while (!ex_force_quit) {
		/* Wake up for the timeouts 10 times a second at least. */
		wait_ms = stats_tick(srv, stats_period, &next_stats);
		n = epoll_wait(srv->epfd, events, 256, wait_ms < 100 ? wait_ms : 100);
		srv->now = ex_now_s();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("linux-kvs: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++)
			on_event(srv, events[i].data.ptr);
		/* Not inside the batch: a freed connection's event may follow. */
		if (srv->now >= next_sweep) {
			sweep_timeouts(srv);
			kv_exec_expire(&srv->exec, KV_EXPIRE_STEP);
			next_sweep = srv->now + 0.1;
		}
	}
}

int
main(int argc, char **argv)
{
	struct opts o = {
		.common = KV_MAIN_OPTS_DEFAULT("/dev/shm/linux-kvs.pool"),
		.bind_addr = "0.0.0.0",
	};
	struct listener lresp = { .kind = EP_LISTEN_RESP, .fd = -1 };
	struct listener lhttp = { .kind = EP_LISTEN_HTTP, .fd = -1 };
	struct kv_store store;
	struct server srv = { .store = &store, .epfd = -1 };
	struct kv_auth auth = { 0 };
	int ret, status = 1;

	if (ex_help_requested(argc, argv)) {
		usage(stdout);
		return 0;
	}
	ret = parse_args(argc, argv, &o);
	if (ret != 0)
		return ret > 0 ? 0 : 2;
	if (kv_main_load_auth(&o.common, "linux-kvs", &auth) != 0)
		return 2;
	srv.auth = &auth;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	ex_catch_quit_signals();

	/* Values are always copied (kv_store_set_copy); copy_mode 0 keeps
	 * INCR's freshly written buffer without copying it twice. */
	srv.pool = kv_main_open_store(&o.common, "linux-kvs", 0, &store);
	if (srv.pool == NULL)
		return 1;
	if (server_start(&srv, &o, &lresp, &lhttp) == 0) {
		serve(&srv, o.common.stats_period);
		/* Closing the store would write to the pool whose sync failed;
		 * the kernel resets the connections as the process exits. */
		if (srv.drain_failed) {
			/* As paste-kvs: nothing closed, no exit handler. */
			fflush(stdout);
			_exit(74);
		}
		print_stats(&srv);
		status = 0;
	}
	server_stop(&srv, &lresp, &lhttp);
	kv_auth_fini(&auth);
	kv_store_close(&store);
	pst_pool_close(srv.pool);
	return status;
}
