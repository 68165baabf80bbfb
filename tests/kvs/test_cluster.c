/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': paste-kvs as a Redis Cluster node (examples/kvs/cluster.c):
 * CRC16 and key slots against Redis's published values, the slot map
 * file's validation, -MOVED / -CROSSSLOT / HTTP 307 redirects of parsed
 * requests, and the CLUSTER command's replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster.h"
#include "proto.h"
#include "stream.h"

/* ---- a request parsed from one buffer, and the reply bytes ---------- */

struct parsed {
	struct kv_stream s;
	struct kv_request req;
	char *buf;
};

static void
parse(struct parsed *p, const char *msg, int http)
{
	size_t len = strlen(msg);
	char err[128];

	p->buf = malloc(len);
	assert_non_null(p->buf);
	memcpy(p->buf, msg, len);
	kv_stream_init(&p->s);
	assert_int_equal(kv_stream_push(&p->s, pst_name_make(0, 0, (uint16_t)len), p->buf,
					(uint32_t)len), 0);
	assert_int_equal(http ? kv_http_parse(&p->s, NULL, &p->req, err, sizeof(err))
			      : kv_resp_parse(&p->s, NULL, &p->req, err, sizeof(err)), KV_PARSE_OK);
}

static void
unparse(struct parsed *p)
{
	kv_stream_fini(&p->s, NULL, NULL);
	free(p->buf);
}

struct out {
	char buf[8192];
	size_t len;
};

static void
collect(void *ctx, const void *data, size_t len)
{
	struct out *o = ctx;

	assert_true(o->len + len < sizeof(o->buf));
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	o->buf[o->len] = '\0';
}

/* The reply to @msg (RESP) on node @cl: redirect, else CLUSTER's reply
 * when it is a CLUSTER command; "" when the node runs it itself. */
/* The store's keys per slot, as COUNTKEYSINSLOT sees them. */
static uint32_t slot_keys[KV_CLUSTER_SLOTS];

static void
reply_to(const struct kv_cluster *cl, const char *msg, int http, struct out *o)
{
	struct parsed p;

	o->len = 0;
	o->buf[0] = '\0';
	parse(&p, msg, http);
	if (!kv_cluster_redirect(cl, &p.s, &p.req, collect, o) && p.req.op == KV_OP_CLUSTER)
		kv_cluster_command(cl, slot_keys, &p.s, &p.req, collect, o);
	unparse(&p);
}

static const char two_nodes[] =
	"# the testbed's two shards\n"
	"shard0 198.18.0.1:6379 http=8080 0-8191   # first half\n"
	"\n"
	"shard1 198.18.0.2:6380 8192-16383\n";

static struct kv_cluster *
load(const char *text, const char *self)
{
	struct kv_cluster *cl = malloc(sizeof(*cl));
	char err[256];

	assert_non_null(cl);
	if (kv_cluster_parse(cl, text, self, err, sizeof(err)) != 0)
		fail_msg("map refused: %s", err);
	return cl;
}

/* ---- key slots ---------------------------------------------------------- */

static unsigned int
slot_of(const char *key)
{
	return kv_cluster_key_slot(key, strlen(key));
}

static void
test_crc16(void **state)
{
	(void)state;
	/* The check value of CRC-16/XMODEM, which Redis's cluster spec quotes. */
	assert_int_equal(kv_cluster_crc16("123456789", 9), 0x31C3);
	assert_int_equal(kv_cluster_crc16("", 0), 0);
}

static void
test_key_slot(void **state)
{
	(void)state;
	/* CLUSTER KEYSLOT as Redis 7 answers it. */
	assert_int_equal(slot_of("foo"), 12182);
	assert_int_equal(slot_of("bar"), 5061);
	assert_int_equal(slot_of("hello"), 866);
	/* Hash tags: the bytes between the first '{' and the next '}'. */
	assert_int_equal(slot_of("{user1000}.following"), slot_of("{user1000}.followers"));
	assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
	assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
	assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
	/* An empty tag or no closing brace: the whole key. */
	assert_int_equal(slot_of("foo{}{bar}"),
			 kv_cluster_crc16("foo{}{bar}", 10) & (KV_CLUSTER_SLOTS - 1));
	assert_int_equal(slot_of("foo{bar"),
			 kv_cluster_crc16("foo{bar", 7) & (KV_CLUSTER_SLOTS - 1));
	/* Binary keys: a NUL is a byte like another. */
	assert_int_equal(kv_cluster_key_slot("a\0{b}", 5), slot_of("b"));
}

/* ---- the slot map ------------------------------------------------------- */

static void
test_map_valid(void **state)
{
	struct kv_cluster *cl = load(two_nodes, "shard1");

	(void)state;
	assert_int_equal(cl->n_nodes, 2);
	assert_int_equal(cl->self, 1);
	assert_string_equal(cl->nodes[0].host, "198.18.0.1");
	assert_int_equal(cl->nodes[0].port, 6379);
	assert_int_equal(cl->nodes[0].http_port, 8080);
	assert_int_equal(cl->nodes[1].http_port, 0);
	assert_int_equal(cl->nodes[0].n_slots + cl->nodes[1].n_slots, KV_CLUSTER_SLOTS);
	assert_int_equal(cl->owner[0], 0);
	assert_int_equal(cl->owner[8191], 0);
	assert_int_equal(cl->owner[8192], 1);
	assert_int_equal(cl->owner[16383], 1);
	/* Ids: 40 hex digits, the same on every node, different per node. */
	assert_int_equal(strlen(cl->nodes[0].id), KV_CLUSTER_ID_LEN);
	assert_int_equal(strspn(cl->nodes[0].id, "0123456789abcdef"), KV_CLUSTER_ID_LEN);
	assert_string_not_equal(cl->nodes[0].id, cl->nodes[1].id);
	{
		struct kv_cluster *other = load(two_nodes, "shard0");

		assert_string_equal(other->nodes[1].id, cl->nodes[1].id);
		free(other);
	}
	free(cl);
	/* Single slots and several ranges per node, nodes named by host name. */
	cl = load("a host-a:7000 0-99 101 200-16383\nb host-b:7000 100 102-199\n", "a");
	assert_int_equal(cl->nodes[0].n_ranges, 3);
	assert_int_equal(cl->owner[100], 1);
	assert_int_equal(cl->owner[101], 0);
	assert_int_equal(cl->nodes[1].n_slots, 99);
	free(cl);
}

/* @text is refused with an error containing @why. */
static void
refused(const char *text, const char *self, const char *why)
{
	struct kv_cluster *cl = malloc(sizeof(*cl));
	char err[256] = "";

	assert_non_null(cl);
	if (kv_cluster_parse(cl, text, self, err, sizeof(err)) == 0)
		fail_msg("map accepted: %s", text);
	if (strstr(err, why) == NULL)
		fail_msg("error '%s' does not say '%s'", err, why);
	free(cl);
}

static void
test_map_refused(void **state)
{
	(void)state;
	refused("", NULL, "no nodes");
	refused("# only a comment\n", NULL, "no nodes");
	refused("a h:1 0-8191\n", NULL, "slots 8192-16383 are owned by no node");
	refused("a h:1 0-100\nb h:2 102-16383\n", NULL, "slots 101-101 are owned by no node");
	refused("a h:1 0-8192\nb h:2 8192-16383\n", NULL,
		"line 2: slot 8192 owned by 'a' and 'b'");
	refused("a h:1 0-16384\n", NULL, "bad slot range '0-16384'");
	refused("a h:1 10-5\n", NULL, "ends before it starts");
	refused("a h:1 x-5\n", NULL, "bad slot range");
	refused("a h:1 -5\n", NULL, "bad slot range");
	refused("a h:1\n", NULL, "expected: name host:port");
	refused("a h:1 http=80\n", NULL, "owns no slots");
	refused("a h 0-16383\n", NULL, "bad host:port 'h'");
	refused("a h:0 0-16383\n", NULL, "bad host:port");
	refused("a h:65536 0-16383\n", NULL, "bad host:port");
	refused("a :1 0-16383\n", NULL, "bad host:port");
	refused("a h:1 http=0 0-16383\n", NULL, "bad HTTP port");
	refused("a h:1 0-8191\na h:2 8192-16383\n", NULL, "given twice");
	refused("a h:1 0-8191\nb h:1 8192-16383\n", NULL, "given twice");
	refused(two_nodes, "shard9", "node 'shard9' is not in the slot map");
	refused("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa h:1 0-16383\n", NULL,
		"node name longer");
}

static void
test_map_load(void **state)
{
	char path[] = "/tmp/paste-test-cluster-XXXXXX", err[256];
	struct kv_cluster *cl = malloc(sizeof(*cl));
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(cl);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, two_nodes, strlen(two_nodes)), (ssize_t)strlen(two_nodes));
	close(fd);
	assert_int_equal(kv_cluster_load(cl, path, "shard0", err, sizeof(err)), 0);
	assert_int_equal(cl->self, 0);
	unlink(path);
	assert_int_equal(kv_cluster_load(cl, path, "shard0", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	free(cl);
}

/* ---- redirects ------------------------------------------------------ */

static void
test_moved(void **state)
{
	struct kv_cluster *cl = load(two_nodes, "shard0");
	struct out o;

	(void)state;
	/* "bar" is slot 5061: ours; "foo" is 12182: shard1's. */
	reply_to(cl, "*2\r\n$3\r\nGET\r\n$3\r\nbar\r\n", 0, &o);
	assert_string_equal(o.buf, "");
	reply_to(cl, "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n", 0, &o);
	assert_string_equal(o.buf, "-MOVED 12182 198.18.0.2:6380\r\n");
	reply_to(cl, "SET foo 1 EX 10\r\n", 0, &o);
	assert_string_equal(o.buf, "-MOVED 12182 198.18.0.2:6380\r\n");
	/* Keyless commands run wherever they are sent. */
	reply_to(cl, "PING\r\n", 0, &o);
	assert_string_equal(o.buf, "");
	reply_to(cl, "DBSIZE\r\n", 0, &o);
	assert_string_equal(o.buf, "");
	/* Multi-key: one slot (by tag) is fine, or MOVED when not ours... */
	reply_to(cl, "MSET {bar}a 1 {bar}b 2\r\n", 0, &o);
	assert_string_equal(o.buf, "");
	reply_to(cl, "MGET {foo}a {foo}b\r\n", 0, &o);
	assert_string_equal(o.buf, "-MOVED 12182 198.18.0.2:6380\r\n");
	/* ... and CROSSSLOT across slots, even when all of them are ours. */
	reply_to(cl, "DEL bar hello\r\n", 0, &o);
	assert_string_equal(o.buf, "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	reply_to(cl, "MSET bar 1 foo 2\r\n", 0, &o);
	assert_string_equal(o.buf, "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	free(cl);
}

static void
test_http_redirect(void **state)
{
	struct kv_cluster *cl = load(two_nodes, "shard1");
	struct out o;

	(void)state;
	reply_to(cl, "GET /bar HTTP/1.1\r\nHost: x\r\n\r\n", 1, &o);
	assert_string_equal(o.buf, "HTTP/1.1 307 Temporary Redirect\r\n"
			    "Location: http://198.18.0.1:8080/bar\r\nContent-Length: 0\r\n"
			    "Connection: keep-alive\r\n\r\n");
	reply_to(cl, "DELETE /bar HTTP/1.1\r\nConnection: close\r\n\r\n", 1, &o);
	assert_non_null(strstr(o.buf, "Connection: close\r\n"));
	reply_to(cl, "GET /foo HTTP/1.1\r\n\r\n", 1, &o);
	assert_string_equal(o.buf, "");
	free(cl);
	/* The owner has no HTTP port: nowhere to send the client. */
	cl = load(two_nodes, "shard0");
	reply_to(cl, "GET /foo HTTP/1.1\r\n\r\n", 1, &o);
	assert_non_null(strstr(o.buf, "HTTP/1.1 421 Misdirected Request\r\n"));
	free(cl);
}

/* ---- CLUSTER -------------------------------------------------------- */

static void
test_cluster_command(void **state)
{
	struct kv_cluster *cl = load(two_nodes, "shard0");
	char want[1024];
	struct out o;

	(void)state;
	reply_to(cl, "CLUSTER KEYSLOT foo\r\n", 0, &o);
	assert_string_equal(o.buf, ":12182\r\n");
	reply_to(cl, "cluster keyslot {user1000}.followers\r\n", 0, &o);
	snprintf(want, sizeof(want), ":%u\r\n", slot_of("user1000"));
	assert_string_equal(o.buf, want);
	reply_to(cl, "CLUSTER MYID\r\n", 0, &o);
	snprintf(want, sizeof(want), "$40\r\n%s\r\n", cl->nodes[0].id);
	assert_string_equal(o.buf, want);
	/* Redis 7.0's node entries have a fourth element, the node's
	 * metadata: an empty map (RESP2: an empty array) without hostnames. */
	reply_to(cl, "CLUSTER SLOTS\r\n", 0, &o);
	snprintf(want, sizeof(want),
		 "*2\r\n*3\r\n:0\r\n:8191\r\n*4\r\n$10\r\n198.18.0.1\r\n:6379\r\n$40\r\n%s\r\n*0\r\n"
		 "*3\r\n:8192\r\n:16383\r\n*4\r\n$10\r\n198.18.0.2\r\n:6380\r\n$40\r\n%s\r\n*0\r\n",
		 cl->nodes[0].id, cl->nodes[1].id);
	assert_string_equal(o.buf, want);
	reply_to(cl, "CLUSTER NODES\r\n", 0, &o);
	snprintf(want, sizeof(want),
		 "%s 198.18.0.1:6379@16379 myself,master - 0 0 1 connected 0-8191\n"
		 "%s 198.18.0.2:6380@16380 master - 0 0 2 connected 8192-16383\n",
		 cl->nodes[0].id, cl->nodes[1].id);
	assert_non_null(strstr(o.buf, want));
	assert_int_equal(atoi(o.buf + 1), (int)strlen(want));
	reply_to(cl, "CLUSTER INFO\r\n", 0, &o);
	assert_non_null(strstr(o.buf, "cluster_state:ok\r\n"));
	assert_non_null(strstr(o.buf, "cluster_slots_assigned:16384\r\n"));
	assert_non_null(strstr(o.buf, "cluster_known_nodes:2\r\n"));
	reply_to(cl, "CLUSTER SHARDS\r\n", 0, &o);
	assert_int_equal(strncmp(o.buf, "*2\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:8191\r\n"
				 "$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n", 60), 0);
	reply_to(cl, "CLUSTER COUNTKEYSINSLOT 12182\r\n", 0, &o);
	assert_string_equal(o.buf, ":0\r\n");
	/* An owned slot: the store's count, whatever it is. */
	slot_keys[5474] = 3;
	slot_keys[0] = 70000;
	reply_to(cl, "CLUSTER COUNTKEYSINSLOT 5474\r\n", 0, &o);
	assert_string_equal(o.buf, ":3\r\n");
	reply_to(cl, "CLUSTER COUNTKEYSINSLOT 0\r\n", 0, &o);
	assert_string_equal(o.buf, ":70000\r\n");
	reply_to(cl, "CLUSTER COUNTKEYSINSLOT 1\r\n", 0, &o);
	assert_string_equal(o.buf, ":0\r\n");
	reply_to(cl, "CLUSTER COUNTKEYSINSLOT -1\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR Invalid slot\r\n");
	reply_to(cl, "CLUSTER COUNTKEYSINSLOT 16384\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR Invalid slot\r\n");
	reply_to(cl, "CLUSTER KEYSLOT\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n");
	/* Unknown subcommands are named as sent (Redis's "%.128s", CR and
	 * LF as blanks). MYSHARDID came with Redis 7.2: 7.0 knows it not. */
	reply_to(cl, "CLUSTER MYSHARDID\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR unknown subcommand 'MYSHARDID'. Try CLUSTER HELP.\r\n");
	reply_to(cl, "cluster myshardid\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR unknown subcommand 'myshardid'. Try CLUSTER HELP.\r\n");
	reply_to(cl, "CLUSTER MYSHARDID x\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR unknown subcommand 'MYSHARDID'. Try CLUSTER HELP.\r\n");
	reply_to(cl, "CLUSTER MEET 1.2.3.4 5\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR unknown subcommand 'MEET'. Try CLUSTER HELP.\r\n");
	reply_to(cl, "CLUSTER NoSuch arg\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR unknown subcommand 'NoSuch'. Try CLUSTER HELP.\r\n");
	reply_to(cl, "*2\r\n$7\r\nCLUSTER\r\n$4\r\na\r\nb\r\n", 0, &o);
	assert_string_equal(o.buf, "-ERR unknown subcommand 'a  b'. Try CLUSTER HELP.\r\n");
	{
		char msg[256], x[201];

		memset(x, 'X', 200);
		x[200] = '\0';
		snprintf(msg, sizeof(msg), "CLUSTER %s\r\n", x);
		reply_to(cl, msg, 0, &o);
		snprintf(want, sizeof(want), "-ERR unknown subcommand '%.128s'. Try CLUSTER HELP.\r\n",
			 x);
		assert_string_equal(o.buf, want);
	}
	free(cl);
	/* Without a slot map: Redis's error when cluster mode is off. */
	{
		struct parsed p;

		o.len = 0;
		parse(&p, "CLUSTER SLOTS\r\n", 0);
		kv_cluster_command(NULL, slot_keys, &p.s, &p.req, collect, &o);
		unparse(&p);
		assert_string_equal(o.buf, "-ERR This instance has cluster support disabled\r\n");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16),
		cmocka_unit_test(test_key_slot),
		cmocka_unit_test(test_map_valid),
		cmocka_unit_test(test_map_refused),
		cmocka_unit_test(test_map_load),
		cmocka_unit_test(test_moved),
		cmocka_unit_test(test_http_redirect),
		cmocka_unit_test(test_cluster_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
