/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs's Redis Cluster node (cluster.h): the static slot map, key
 * slots, redirects and the CLUSTER command. Replies are what Redis 7.0
 * sends for the same requests, so that cluster clients (redis-cli -c,
 * redis-benchmark --cluster, redis-py's RedisCluster) read them as they
 * read Redis's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster.h"
#include "command.h"
#include "kv_limits.h"
#include "reply.h"

/* ---- key slots ------------------------------------------------------- */

/* CRC16-CCITT (XMODEM) a byte at a time from a table built on first use:
 * every SET of a new key counts it into its slot, and the bit-at-a-time
 * loop was over a thousand instructions for a 16-byte key, more than the
 * rest of the store's work for that SET. */
static uint16_t crc16_table[256];
static int crc16_table_ready;

static void
crc16_table_build(void)
{
	unsigned int i, b;

	for (i = 0; i < 256; i++) {
		uint16_t crc = (uint16_t)(i << 8);

		for (b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
		crc16_table[i] = crc;
	}
	crc16_table_ready = 1;
}

uint16_t
kv_cluster_crc16(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint16_t crc = 0;
	size_t i;

	if (!crc16_table_ready)
		crc16_table_build();
	for (i = 0; i < len; i++)
		crc = (uint16_t)((crc << 8) ^ crc16_table[(uint8_t)(crc >> 8) ^ p[i]]);
	return crc;
}

unsigned int
kv_cluster_key_slot(const void *key, size_t len)
{
	const char *k = key;
	const char *open = memchr(k, '{', len);

	if (open != NULL) {
		size_t start = (size_t)(open - k) + 1;
		const char *close = memchr(k + start, '}', len - start);

		if (close != NULL && close > k + start)
			return kv_cluster_crc16(k + start, (size_t)(close - (k + start))) &
			       (KV_CLUSTER_SLOTS - 1);
	}
	return kv_cluster_crc16(k, len) & (KV_CLUSTER_SLOTS - 1);
}

/* ---- the slot map file ------------------------------------------------ */

static void
set_err(char *err, size_t errlen, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (err == NULL || errlen == 0)
		return;
	if (line > 0)
		n = snprintf(err, errlen, "line %u: ", line);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A decimal number in [lo, hi] spanning all of @s up to @end. */
static int
parse_num(const char *s, const char *end, long lo, long hi, long *v)
{
	long n = 0;

	if (s == end || end - s > 6)
		return -1;
	for (; s < end; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		n = n * 10 + (*s - '0');
	}
	if (n < lo || n > hi)
		return -1;
	*v = n;
	return 0;
}

/* Node ids are 40 hex digits, derived from the name (FNV-1a, re-seeded per
 * 16 digits) so that every node of the map computes the same ones. */
static void
make_id(const char *name, char *id)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = 0;
	unsigned int i, round;
	const char *p;

	for (i = 0; i < KV_CLUSTER_ID_LEN; i++) {
		if (i % 16 == 0) {
			round = i / 16;
			h = 0xcbf29ce484222325ULL ^ (round * 0x9e3779b97f4a7c15ULL);
			for (p = name; *p != '\0'; p++)
				h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
		}
		id[i] = hex[(h >> (4 * (i % 16))) & 0xf];
	}
	id[KV_CLUSTER_ID_LEN] = '\0';
}

/* "host:port": the host (a name or IPv4 address, no ':') and the port. */
static int
parse_endpoint(struct kv_cluster_node *n, const char *w, size_t len)
{
	const char *colon = memrchr(w, ':', len);
	long port;

	if (colon == NULL || colon == w || (size_t)(colon - w) >= sizeof(n->host) ||
	    memchr(w, ':', (size_t)(colon - w)) != NULL ||
	    parse_num(colon + 1, w + len, 1, 65535, &port) != 0)
		return -1;
	memcpy(n->host, w, (size_t)(colon - w));
	n->host[colon - w] = '\0';
	n->port = (uint16_t)port;
	return 0;
}

/* "a-b" or "a", owned by node @ni. */
static int
parse_range(struct kv_cluster *cl, unsigned int ni, const char *w, size_t len,
	    unsigned int line, char *err, size_t errlen)
{
	struct kv_cluster_node *n = &cl->nodes[ni];
	const char *dash = memchr(w, '-', len);
	long lo, hi, s;

	if (dash == NULL ? parse_num(w, w + len, 0, KV_CLUSTER_SLOTS - 1, &lo) != 0
			 : parse_num(w, dash, 0, KV_CLUSTER_SLOTS - 1, &lo) != 0 ||
			   parse_num(dash + 1, w + len, 0, KV_CLUSTER_SLOTS - 1, &hi) != 0) {
		set_err(err, errlen, line, "bad slot range '%.*s' (slots are 0-%d)", (int)len,
			w, KV_CLUSTER_SLOTS - 1);
		return -1;
	}
	if (dash == NULL)
		hi = lo;
	if (hi < lo) {
		set_err(err, errlen, line, "slot range '%.*s' ends before it starts", (int)len, w);
		return -1;
	}
	if (n->n_ranges == KV_CLUSTER_RANGES_MAX) {
		set_err(err, errlen, line, "more than %d slot ranges for node '%s'",
			KV_CLUSTER_RANGES_MAX, n->name);
		return -1;
	}
	for (s = lo; s <= hi; s++) {
		if (cl->owner[s] != UINT8_MAX) {
			set_err(err, errlen, line, "slot %ld owned by '%s' and '%s'", s,
				cl->nodes[cl->owner[s]].name, n->name);
			return -1;
		}
		cl->owner[s] = (uint8_t)ni;
	}
	n->range_lo[n->n_ranges] = (uint16_t)lo;
	n->range_hi[n->n_ranges] = (uint16_t)hi;
	n->n_ranges++;
	n->n_slots += (unsigned int)(hi - lo + 1);
	return 0;
}

/* The words of one line: name host:port [http=P] ranges... */
static int
parse_node(struct kv_cluster *cl, char **words, unsigned int nw, unsigned int line,
	   char *err, size_t errlen)
{
	struct kv_cluster_node *n;
	unsigned int i, w = 2;
	long port;

	if (nw < 3) {
		set_err(err, errlen, line, "expected: name host:port [http=PORT] slots...");
		return -1;
	}
	if (cl->n_nodes == KV_CLUSTER_NODES_MAX) {
		set_err(err, errlen, line, "more than %d nodes", KV_CLUSTER_NODES_MAX);
		return -1;
	}
	n = &cl->nodes[cl->n_nodes];
	memset(n, 0, sizeof(*n));
	if (strlen(words[0]) >= sizeof(n->name)) {
		set_err(err, errlen, line, "node name longer than %d bytes",
			KV_CLUSTER_NAME_MAX - 1);
		return -1;
	}
	strcpy(n->name, words[0]);
	if (parse_endpoint(n, words[1], strlen(words[1])) != 0) {
		set_err(err, errlen, line, "bad host:port '%s'", words[1]);
		return -1;
	}
	if (strncmp(words[2], "http=", 5) == 0) {
		if (parse_num(words[2] + 5, words[2] + strlen(words[2]), 1, 65535, &port) != 0) {
			set_err(err, errlen, line, "bad HTTP port '%s'", words[2]);
			return -1;
		}
		n->http_port = (uint16_t)port;
		w = 3;
	}
	for (i = 0; i < cl->n_nodes; i++) {
		if (strcmp(cl->nodes[i].name, n->name) == 0 ||
		    (strcmp(cl->nodes[i].host, n->host) == 0 && cl->nodes[i].port == n->port)) {
			set_err(err, errlen, line, "node '%s' (%s:%u) given twice", n->name,
				n->host, n->port);
			return -1;
		}
	}
	if (w == nw) {
		set_err(err, errlen, line, "node '%s' owns no slots", n->name);
		return -1;
	}
	for (; w < nw; w++)
		if (parse_range(cl, cl->n_nodes, words[w], strlen(words[w]), line, err,
				errlen) != 0)
			return -1;
	make_id(n->name, n->id);
	cl->n_nodes++;
	return 0;
}

/* Every slot owned, @self known. */
static int
check_map(struct kv_cluster *cl, const char *self, char *err, size_t errlen)
{
	unsigned int s, i, lo;

	for (s = 0; s < KV_CLUSTER_SLOTS; s++) {
		if (cl->owner[s] != UINT8_MAX)
			continue;
		for (lo = s; s + 1 < KV_CLUSTER_SLOTS && cl->owner[s + 1] == UINT8_MAX; s++)
			;
		set_err(err, errlen, 0, "slots %u-%u are owned by no node", lo, s);
		return -1;
	}
	cl->self = -1;
	if (self == NULL)
		return 0;
	for (i = 0; i < cl->n_nodes; i++)
		if (strcmp(cl->nodes[i].name, self) == 0)
			cl->self = (int)i;
	if (cl->self < 0) {
		set_err(err, errlen, 0, "node '%s' is not in the slot map", self);
		return -1;
	}
	return 0;
}

int
kv_cluster_parse(struct kv_cluster *cl, const char *text, const char *self,
		 char *err, size_t errlen)
{
	char *copy = strdup(text), *p, *next, *words[3 + KV_CLUSTER_RANGES_MAX + 1];
	unsigned int line = 0, nw;
	int ret = -1;

	memset(cl, 0, sizeof(*cl));
	memset(cl->owner, UINT8_MAX, sizeof(cl->owner));
	cl->self = -1;
	if (copy == NULL) {
		set_err(err, errlen, 0, "out of memory");
		return -1;
	}
	for (p = copy; p != NULL; p = next) {
		next = strchr(p, '\n');
		if (next != NULL)
			*next++ = '\0';
		line++;
		if (strchr(p, '#') != NULL)
			*strchr(p, '#') = '\0';
		nw = 0;
		for (char *tok = strtok(p, " \t\r"); tok != NULL; tok = strtok(NULL, " \t\r")) {
			if (nw == sizeof(words) / sizeof(words[0])) {
				set_err(err, errlen, line, "too many words (at most %d ranges)",
					KV_CLUSTER_RANGES_MAX);
				goto fail;
			}
			words[nw++] = tok;
		}
		if (nw > 0 && parse_node(cl, words, nw, line, err, errlen) != 0)
			goto fail;
	}
	if (cl->n_nodes == 0) {
		set_err(err, errlen, 0, "no nodes");
		goto fail;
	}
	ret = check_map(cl, self, err, errlen);
fail:
	free(copy);
	return ret;
}

int
kv_cluster_load(struct kv_cluster *cl, const char *path, const char *self,
		char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	long size;
	int ret = -1;

	if (f == NULL) {
		set_err(err, errlen, 0, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* A map of 64 nodes of 64 ranges is under 64 KiB; more is not one. */
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) != 0) {
		set_err(err, errlen, 0, "%s: not a readable file of at most 1 MiB", path);
		fclose(f);
		return -1;
	}
	text = calloc(1, (size_t)size + 1);
	if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size)
		set_err(err, errlen, 0, "%s: cannot read", path);
	else if (memchr(text, '\0', (size_t)size) != NULL)
		set_err(err, errlen, 0, "%s: not a text file", path);
	else
		ret = kv_cluster_parse(cl, text, self, err, errlen);
	free(text);
	fclose(f);
	return ret;
}

/* ---- replies ------------------------------------------------------------ */

/* A reply built in memory, then emitted in one piece. */
struct reply {
	char *buf;
	size_t len;
	FILE *f;
};

static int
reply_open(struct reply *r)
{
	r->buf = NULL;
	r->len = 0;
	r->f = open_memstream(&r->buf, &r->len);
	return r->f == NULL ? -1 : 0;
}

static void
reply_emit(struct reply *r, kv_cluster_emit_fn *emit, void *ctx)
{
	static const char oom[] = "-ERR out of memory\r\n";

	if (r->f == NULL || fclose(r->f) != 0 || r->buf == NULL)
		emit(ctx, oom, sizeof(oom) - 1);
	else
		emit(ctx, r->buf, r->len);
	free(r->buf);
}

static void
put_bulk(FILE *f, const char *s)
{
	fprintf(f, "$%zu\r\n%s\r\n", strlen(s), s);
}

static void
emit_str(kv_cluster_emit_fn *emit, void *ctx, const char *s)
{
	emit(ctx, s, strlen(s));
}

/* A key's slot, or -1 for a key longer than keys may be. */
static int
arg_slot(const struct kv_stream *rx, const struct kv_arg *a)
{
	char key[KV_KEY_MAX];

	if (a->len > KV_KEY_MAX)
		return -1;
	return (int)kv_cluster_key_slot(key, kv_stream_copy(rx, a->off, key, a->len));
}

/* The slot all of the request's keys are in; -1: no keys, -2: several. */
static int
request_slot(const struct kv_stream *rx, const struct kv_request *req)
{
	const struct kv_command *cmd = &kv_commands[req->op];
	int last, pos, slot = -1, s;

	if (cmd->first_key == 0)
		return -1;
	last = cmd->last_key < 0 ? (int)req->argc + 1 + cmd->last_key : cmd->last_key;
	for (pos = cmd->first_key; pos <= last && pos <= (int)req->argc; pos += cmd->key_step) {
		s = arg_slot(rx, &req->argv[pos - 1]);
		if (s < 0)
			continue; /* refused by execution as too long */
		if (slot >= 0 && s != slot)
			return -2;
		slot = s;
	}
	return slot;
}

int
kv_cluster_request_slot(const struct kv_stream *rx, const struct kv_request *req)
{
	return request_slot(rx, req);
}

/* An HTTP status without a body. */
static void
http_empty(int code, const char *text, const struct kv_request *req,
	   kv_cluster_emit_fn *emit, void *ctx)
{
	char buf[128];
	int n = kv_http_status(buf, sizeof(buf), code, text, 0, req->http_keepalive);

	if (n > 0)
		emit(ctx, buf, (size_t)n);
}

/* HTTP 307 to the owner's URL for the same key (curl -L follows). */
static void
http_moved(const struct kv_cluster_node *n, const struct kv_stream *rx,
	   const struct kv_request *req, kv_cluster_emit_fn *emit, void *ctx)
{
	char key[KV_KEY_MAX];
	struct reply r;
	size_t klen;

	if (n->http_port == 0) {
		http_empty(421, "Misdirected Request", req, emit, ctx);
		return;
	}
	klen = kv_stream_copy(rx, req->argv[0].off, key, req->argv[0].len);
	if (reply_open(&r) == 0)
		fprintf(r.f, "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://%s:%u/%.*s\r\n"
			"Content-Length: 0\r\nConnection: %s\r\n\r\n", n->host, n->http_port,
			(int)klen, key, req->http_keepalive ? "keep-alive" : "close");
	reply_emit(&r, emit, ctx);
}

int
kv_cluster_redirect(const struct kv_cluster *cl, const struct kv_stream *rx,
		    const struct kv_request *req, kv_cluster_emit_fn *emit, void *ctx)
{
	const struct kv_cluster_node *n;
	int slot = request_slot(rx, req);
	char buf[128 + KV_CLUSTER_HOST_MAX];

	if (slot == -1)
		return 0;
	if (slot == -2) {
		if (req->http)
			http_empty(400, "Bad Request", req, emit, ctx);
		else
			emit_str(emit, ctx, "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
		return 1;
	}
	if (cl->owner[slot] == cl->self)
		return 0;
	n = &cl->nodes[cl->owner[slot]];
	if (req->http) {
		http_moved(n, rx, req, emit, ctx);
		return 1;
	}
	snprintf(buf, sizeof(buf), "-MOVED %d %s:%u\r\n", slot, n->host, n->port);
	emit_str(emit, ctx, buf);
	return 1;
}

/* ---- CLUSTER subcommands --------------------------------------------- */

/* One node as Redis 7.0's CLUSTER SLOTS lists it: ip, port, id and its
 * metadata map, empty (RESP2: "*0") when no hostname is announced. Clients
 * that read the map find it where they expect it. */
static void
slots_node(FILE *f, const struct kv_cluster_node *n)
{
	fprintf(f, "*4\r\n");
	put_bulk(f, n->host);
	fprintf(f, ":%u\r\n", n->port);
	put_bulk(f, n->id);
	fprintf(f, "*0\r\n");
}

static void
cluster_slots(const struct kv_cluster *cl, FILE *f)
{
	unsigned int i, k, n = 0;

	for (i = 0; i < cl->n_nodes; i++)
		n += cl->nodes[i].n_ranges;
	fprintf(f, "*%u\r\n", n);
	for (i = 0; i < cl->n_nodes; i++)
		for (k = 0; k < cl->nodes[i].n_ranges; k++) {
			fprintf(f, "*3\r\n:%u\r\n:%u\r\n", cl->nodes[i].range_lo[k],
				cl->nodes[i].range_hi[k]);
			slots_node(f, &cl->nodes[i]);
		}
}

/* Redis 7's CLUSTER SHARDS: per shard, its slots and its one node. */
static void
cluster_shards(const struct kv_cluster *cl, FILE *f)
{
	const struct kv_cluster_node *n;
	unsigned int i, k;

	fprintf(f, "*%u\r\n", cl->n_nodes);
	for (i = 0; i < cl->n_nodes; i++) {
		n = &cl->nodes[i];
		fprintf(f, "*4\r\n");
		put_bulk(f, "slots");
		fprintf(f, "*%u\r\n", 2 * n->n_ranges);
		for (k = 0; k < n->n_ranges; k++)
			fprintf(f, ":%u\r\n:%u\r\n", n->range_lo[k], n->range_hi[k]);
		put_bulk(f, "nodes");
		fprintf(f, "*1\r\n*14\r\n");
		put_bulk(f, "id");
		put_bulk(f, n->id);
		put_bulk(f, "port");
		fprintf(f, ":%u\r\n", n->port);
		put_bulk(f, "ip");
		put_bulk(f, n->host);
		put_bulk(f, "endpoint");
		put_bulk(f, n->host);
		put_bulk(f, "role");
		put_bulk(f, "master");
		put_bulk(f, "replication-offset");
		fprintf(f, ":0\r\n");
		put_bulk(f, "health");
		put_bulk(f, "online");
	}
}

/* CLUSTER NODES' text: one line per node, as Redis writes nodes.conf. */
static void
cluster_nodes(const struct kv_cluster *cl, FILE *f)
{
	const struct kv_cluster_node *n;
	struct reply text;
	unsigned int i, k;

	if (reply_open(&text) != 0) {
		fprintf(f, "-ERR out of memory\r\n");
		return;
	}
	for (i = 0; i < cl->n_nodes; i++) {
		n = &cl->nodes[i];
		fprintf(text.f, "%s %s:%u@%u %s - 0 0 %u connected", n->id, n->host, n->port,
			n->port <= 55535 ? n->port + 10000u : 0u,
			(int)i == cl->self ? "myself,master" : "master", i + 1);
		for (k = 0; k < n->n_ranges; k++) {
			if (n->range_lo[k] == n->range_hi[k])
				fprintf(text.f, " %u", n->range_lo[k]);
			else
				fprintf(text.f, " %u-%u", n->range_lo[k], n->range_hi[k]);
		}
		fprintf(text.f, "\n");
	}
	if (fclose(text.f) != 0 || text.buf == NULL) {
		fprintf(f, "-ERR out of memory\r\n");
	} else {
		fprintf(f, "$%zu\r\n", text.len);
		fwrite(text.buf, 1, text.len, f);
		fprintf(f, "\r\n");
	}
	free(text.buf);
}

static void
cluster_info(const struct kv_cluster *cl, FILE *f)
{
	char text[512];
	int n;

	n = snprintf(text, sizeof(text),
		     "cluster_state:ok\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"
		     "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\n"
		     "cluster_known_nodes:%u\r\ncluster_size:%u\r\ncluster_current_epoch:%u\r\n"
		     "cluster_my_epoch:%d\r\ncluster_stats_messages_sent:0\r\n"
		     "cluster_stats_messages_received:0\r\n",
		     KV_CLUSTER_SLOTS, KV_CLUSTER_SLOTS, cl->n_nodes, cl->n_nodes, cl->n_nodes,
		     cl->self + 1);
	fprintf(f, "$%d\r\n%s\r\n", n, text);
}

/* Argument @i of the request as a NUL-terminated word (truncated to fit). */
static void
arg_word(const struct kv_stream *rx, const struct kv_request *req, unsigned int i,
	 char *buf, size_t size)
{
	size_t n = kv_stream_copy(rx, req->argv[i].off, buf,
				  req->argv[i].len < size ? req->argv[i].len : size - 1);

	buf[n] = '\0';
}

/* Subcommands that take @want arguments after their name. */
static int
args_ok(const struct kv_request *req, unsigned int want, const char *sub, FILE *f)
{
	if (req->argc == want + 1)
		return 1;
	fprintf(f, "-ERR wrong number of arguments for 'cluster|%s' command\r\n", sub);
	return 0;
}

/* COUNTKEYSINSLOT: the store's count; a slot this node does not own holds
 * no key (MOVED kept it from storing there). */
static void
count_keys_in_slot(const uint32_t *slot_keys, const struct kv_stream *rx,
		   const struct kv_request *req, FILE *f)
{
	char word[16];
	long slot;

	arg_word(rx, req, 1, word, sizeof(word));
	if (req->argv[1].len >= sizeof(word) ||
	    parse_num(word, word + strlen(word), 0, KV_CLUSTER_SLOTS - 1, &slot) != 0)
		fprintf(f, "-ERR Invalid slot\r\n");
	else
		fprintf(f, ":%u\r\n", slot_keys != NULL ? slot_keys[slot] : 0);
}

void
kv_cluster_command(const struct kv_cluster *cl, const uint32_t *slot_keys,
		   const struct kv_stream *rx, const struct kv_request *req,
		   kv_cluster_emit_fn *emit, void *ctx)
{
	char word[129], sub[24], key[KV_KEY_MAX];
	struct reply r;
	size_t i;

	if (cl == NULL) {
		emit_str(emit, ctx, "-ERR This instance has cluster support disabled\r\n");
		return;
	}
	if (reply_open(&r) != 0) {
		reply_emit(&r, emit, ctx);
		return;
	}
	/* The word as sent, for the error: 128 bytes of it at most, as
	 * Redis's "%.128s" (up to a NUL), CR and LF as blanks (they would end
	 * the reply line), as its rejectCommandFormat() maps them. */
	arg_word(rx, req, 0, word, sizeof(word));
	for (i = 0; word[i] != '\0'; i++) {
		if (word[i] == '\r' || word[i] == '\n')
			word[i] = ' ';
		if (i < sizeof(sub) - 1)
			sub[i] = (char)tolower((unsigned char)word[i]);
	}
	/* Lower-cased for the lookup, when whole: a longer word (or one
	 * with a NUL) is no subcommand, whatever it starts with. */
	sub[i < sizeof(sub) - 1 && i == req->argv[0].len ? i : 0] = '\0';
	if (strcmp(sub, "slots") == 0 && args_ok(req, 0, sub, r.f)) {
		cluster_slots(cl, r.f);
	} else if (strcmp(sub, "shards") == 0 && args_ok(req, 0, sub, r.f)) {
		cluster_shards(cl, r.f);
	} else if (strcmp(sub, "nodes") == 0 && args_ok(req, 0, sub, r.f)) {
		cluster_nodes(cl, r.f);
	} else if (strcmp(sub, "info") == 0 && args_ok(req, 0, sub, r.f)) {
		cluster_info(cl, r.f);
	} else if (strcmp(sub, "myid") == 0 && args_ok(req, 0, sub, r.f)) {
		/* MYSHARDID came with Redis 7.2: 7.0, whose replies these
		 * are, answers it as any unknown subcommand. */
		put_bulk(r.f, cl->nodes[cl->self].id);
	} else if (strcmp(sub, "keyslot") == 0 && args_ok(req, 1, sub, r.f)) {
		i = kv_stream_copy(rx, req->argv[1].off, key,
				   req->argv[1].len < sizeof(key) ? req->argv[1].len : sizeof(key));
		if (req->argv[1].len > sizeof(key))
			fprintf(r.f, "-ERR key too long\r\n");
		else
			fprintf(r.f, ":%u\r\n", kv_cluster_key_slot(key, i));
	} else if (strcmp(sub, "countkeysinslot") == 0 && args_ok(req, 1, sub, r.f)) {
		count_keys_in_slot(slot_keys, rx, req, r.f);
	} else if (strcmp(sub, "help") == 0) {
		fprintf(r.f, "*1\r\n+CLUSTER SLOTS|SHARDS|NODES|INFO|MYID|"
			     "KEYSLOT key|COUNTKEYSINSLOT slot\r\n");
	} else if (ftell(r.f) == 0) {
		fprintf(r.f, "-ERR unknown subcommand '%s'. Try CLUSTER HELP.\r\n", word);
	}
	reply_emit(&r, emit, ctx);
}
