/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs's command table. Arity, flags and key positions are Redis
 * 7.0's for the same commands, so that a client sees here what a Redis
 * server would tell it.
 */
#include <string.h>

#include "command.h"
#include "reply.h"

#define ROW(op, name, arity, flags, first, last, step, args_max, key_values, run) \
	[op] = { name, sizeof(name) - 1, arity, flags, first, last, step, args_max, \
		 key_values, run }

#define RO_FAST (KVC_READONLY | KVC_FAST)
#define CONN (KVC_LOADING | KVC_STALE)
#define WRITE_FAST (KVC_WRITE | KVC_DENYOOM | KVC_FAST)
#define TX_FAST (KVC_NOSCRIPT | CONN | KVC_FAST | KVC_ALLOW_BUSY)

const struct kv_command kv_commands[KV_OP_COUNT] = {
	/*  op                name        arity flags            keys     max kv handler */
	ROW(KV_OP_PING,       "ping",     -1, KVC_FAST,          0, 0, 0, 1, 0, kv_cmd_ping),
	ROW(KV_OP_GET,        "get",       2, RO_FAST,           1, 1, 1, 0, 0, kv_cmd_get),
	ROW(KV_OP_SET,        "set",      -3, KVC_WRITE | KVC_DENYOOM,
							     1, 1, 1, 0, 1, kv_cmd_set),
	ROW(KV_OP_DEL,        "del",      -2, KVC_WRITE,         1, -1, 1, 0, 0, kv_cmd_del),
	ROW(KV_OP_EXISTS,     "exists",   -2, RO_FAST,           1, -1, 1, 0, 0, kv_cmd_exists),
	ROW(KV_OP_MSET,       "mset",     -3, KVC_WRITE | KVC_DENYOOM,
							     1, -1, 2, 0, 1, kv_cmd_mset),
	ROW(KV_OP_MGET,       "mget",     -2, RO_FAST,           1, -1, 1, 0, 0, kv_cmd_mget),
	ROW(KV_OP_INCR,       "incr",      2, KVC_WRITE | KVC_DENYOOM | KVC_FAST,
							     1, 1, 1, 0, 0, kv_cmd_incr),
	ROW(KV_OP_DBSIZE,     "dbsize",    1, RO_FAST,           0, 0, 0, 0, 0, kv_cmd_dbsize),
	ROW(KV_OP_FLUSHALL,   "flushall", -1, KVC_WRITE,         0, 0, 0, 0, 0, kv_cmd_flushall),
	ROW(KV_OP_INFO,       "info",     -1, CONN,              0, 0, 0, 0, 0, kv_cmd_info),
	ROW(KV_OP_CONFIG_GET, "config",   -2, 0,                 0, 0, 0, 0, 0, kv_cmd_config_get),
	ROW(KV_OP_COMMAND,    "command",  -1, CONN,              0, 0, 0, 0, 0, kv_cmd_command),
	ROW(KV_OP_QUIT,       "quit",     -1, KVC_NOSCRIPT | CONN | KVC_FAST | KVC_NO_AUTH |
					  KVC_ALLOW_BUSY,    0, 0, 0, 0, 0, kv_cmd_quit),
	ROW(KV_OP_SELECT,     "select",    2, CONN | KVC_FAST,   0, 0, 0, 0, 0, kv_cmd_select),
	ROW(KV_OP_ECHO,       "echo",      2, KVC_FAST,          0, 0, 0, 0, 0, kv_cmd_echo),
	ROW(KV_OP_CLUSTER,    "cluster",  -2, 0,                 0, 0, 0, 0, 0, kv_cmd_cluster),
	ROW(KV_OP_READONLY,   "readonly",  1, CONN | KVC_FAST,   0, 0, 0, 0, 0, kv_cmd_readonly),
	ROW(KV_OP_READWRITE,  "readwrite", 1, CONN | KVC_FAST,   0, 0, 0, 0, 0, kv_cmd_readonly),
	ROW(KV_OP_AUTH,       "auth",     -2, KVC_NOSCRIPT | CONN | KVC_FAST | KVC_NO_AUTH |
					  KVC_ALLOW_BUSY,    0, 0, 0, 0, 0, kv_cmd_auth),
	ROW(KV_OP_SETNX,      "setnx",     3, WRITE_FAST,        1, 1, 1, 0, 1, kv_cmd_setnx),
	ROW(KV_OP_GETSET,     "getset",    3, WRITE_FAST,        1, 1, 1, 0, 1, kv_cmd_getset),
	ROW(KV_OP_GETDEL,     "getdel",    2, KVC_WRITE | KVC_FAST,
							     1, 1, 1, 0, 0, kv_cmd_getdel),
	ROW(KV_OP_INCRBY,     "incrby",    3, WRITE_FAST,        1, 1, 1, 0, 0, kv_cmd_incrby),
	ROW(KV_OP_DECRBY,     "decrby",    3, WRITE_FAST,        1, 1, 1, 0, 0, kv_cmd_decrby),
	ROW(KV_OP_DECR,       "decr",      2, WRITE_FAST,        1, 1, 1, 0, 0, kv_cmd_decr),
	ROW(KV_OP_INCRBYFLOAT, "incrbyfloat", 3, WRITE_FAST,     1, 1, 1, 0, 0, kv_cmd_incrbyfloat),
	ROW(KV_OP_APPEND,     "append",    3, WRITE_FAST,        1, 1, 1, 0, 0, kv_cmd_append),
	ROW(KV_OP_STRLEN,     "strlen",    2, RO_FAST,           1, 1, 1, 0, 0, kv_cmd_strlen),
	ROW(KV_OP_GETRANGE,   "getrange",  4, KVC_READONLY,      1, 1, 1, 0, 0, kv_cmd_getrange),
	ROW(KV_OP_SUBSTR,     "substr",    4, KVC_READONLY,      1, 1, 1, 0, 0, kv_cmd_getrange),
	ROW(KV_OP_SETRANGE,   "setrange",  4, KVC_WRITE | KVC_DENYOOM,
							     1, 1, 1, 0, 0, kv_cmd_setrange),
	ROW(KV_OP_RENAME,     "rename",    3, KVC_WRITE,         1, 2, 1, 0, 0, kv_cmd_rename),
	ROW(KV_OP_RENAMENX,   "renamenx",  3, KVC_WRITE | KVC_FAST,
							     1, 2, 1, 0, 0, kv_cmd_renamenx),
	ROW(KV_OP_TYPE,       "type",      2, RO_FAST,           1, 1, 1, 0, 0, kv_cmd_type),
	ROW(KV_OP_UNLINK,     "unlink",   -2, KVC_WRITE | KVC_FAST,
							     1, -1, 1, 0, 0, kv_cmd_del),
	ROW(KV_OP_TOUCH,      "touch",    -2, RO_FAST,           1, -1, 1, 0, 0, kv_cmd_touch),
	ROW(KV_OP_EXPIRE,     "expire",   -3, KVC_WRITE | KVC_FAST, 1, 1, 1, 0, 0, kv_cmd_expire),
	ROW(KV_OP_PEXPIRE,    "pexpire",  -3, KVC_WRITE | KVC_FAST, 1, 1, 1, 0, 0, kv_cmd_pexpire),
	ROW(KV_OP_EXPIREAT,   "expireat", -3, KVC_WRITE | KVC_FAST, 1, 1, 1, 0, 0, kv_cmd_expireat),
	ROW(KV_OP_PEXPIREAT,  "pexpireat", -3, KVC_WRITE | KVC_FAST, 1, 1, 1, 0, 0,
								    kv_cmd_pexpireat),
	ROW(KV_OP_TTL,        "ttl",       2, RO_FAST,           1, 1, 1, 0, 0, kv_cmd_ttl),
	ROW(KV_OP_PTTL,       "pttl",      2, RO_FAST,           1, 1, 1, 0, 0, kv_cmd_pttl),
	ROW(KV_OP_EXPIRETIME, "expiretime", 2, RO_FAST,          1, 1, 1, 0, 0, kv_cmd_expiretime),
	ROW(KV_OP_PEXPIRETIME, "pexpiretime", 2, RO_FAST,        1, 1, 1, 0, 0, kv_cmd_pexpiretime),
	ROW(KV_OP_PERSIST,    "persist",   2, KVC_WRITE | KVC_FAST, 1, 1, 1, 0, 0, kv_cmd_persist),
	ROW(KV_OP_GETEX,      "getex",    -2, KVC_WRITE | KVC_FAST, 1, 1, 1, 0, 0, kv_cmd_getex),
	ROW(KV_OP_SETEX,      "setex",     4, KVC_WRITE | KVC_DENYOOM, 1, 1, 1, 0, 0, kv_cmd_setex),
	ROW(KV_OP_PSETEX,     "psetex",    4, KVC_WRITE | KVC_DENYOOM, 1, 1, 1, 0, 0, kv_cmd_psetex),
	ROW(KV_OP_COPY,       "copy",     -3, KVC_WRITE | KVC_DENYOOM, 1, 2, 1, 0, 0, kv_cmd_copy),
	ROW(KV_OP_MULTI,      "multi",     1, TX_FAST,           0, 0, 0, 0, 0, kv_cmd_multi),
	ROW(KV_OP_EXEC,       "exec",      1, KVC_NOSCRIPT | CONN | KVC_SKIP_SLOWLOG,
							     0, 0, 0, 0, 0, kv_cmd_exec),
	ROW(KV_OP_DISCARD,    "discard",   1, TX_FAST,           0, 0, 0, 0, 0, kv_cmd_discard),
	ROW(KV_OP_WATCH,      "watch",    -2, TX_FAST,           1, -1, 1, 0, 0, kv_cmd_watch),
	ROW(KV_OP_UNWATCH,    "unwatch",   1, TX_FAST,           0, 0, 0, 0, 0, kv_cmd_unwatch),
	ROW(KV_OP_KEYS,       "keys",      2, KVC_READONLY,      0, 0, 0, 0, 0, kv_cmd_keys),
	ROW(KV_OP_SCAN,       "scan",     -2, KVC_READONLY,      0, 0, 0, 0, 0, kv_cmd_scan),
	ROW(KV_OP_RANDOMKEY,  "randomkey", 1, KVC_READONLY,      0, 0, 0, 0, 0, kv_cmd_randomkey),
	/* FLUSHDB's and FLUSHALL's option: checked by the parser. */
	ROW(KV_OP_FLUSHDB,    "flushdb",  -1, KVC_WRITE,         0, 0, 0, 0, 0, kv_cmd_flushdb),
	ROW(KV_OP_HELLO,      "hello",    -1, KVC_NOSCRIPT | CONN | KVC_FAST | KVC_NO_AUTH |
					  KVC_ALLOW_BUSY,    0, 0, 0, 0, 0, kv_cmd_hello),
	/* CLIENT's subcommands and their arities: checked by the parser. */
	ROW(KV_OP_CLIENT,     "client",   -2, 0,                 0, 0, 0, 0, 0, kv_cmd_client),
	ROW(KV_OP_TIME,       "time",      1, CONN | KVC_FAST,   0, 0, 0, 0, 0, kv_cmd_time),
	ROW(KV_OP_WAIT,       "wait",      3, KVC_NOSCRIPT,      0, 0, 0, 0, 0, kv_cmd_wait),
	ROW(KV_OP_MSETNX,     "msetnx",   -3, KVC_WRITE | KVC_DENYOOM,
							     1, -1, 2, 0, 1, kv_cmd_msetnx),
};

static const char *const flag_names[] = {
	"write", "readonly", "denyoom", "admin", "noscript", "loading", "stale",
	"fast", "no_auth", "allow_busy", "skip_slowlog",
};

/* SET and GET, most requests by far, by their three bytes instead of a walk
 * of the table (about 70 instructions a request). @fold: 0x20 to fold
 * case: or-ing 0x20 into a byte gives one of these lowercase letters only
 * when the byte is that letter in either case. Returns NULL for any other
 * name. */
static inline const struct kv_command *
find_set_get(const char *name, size_t len, uint32_t fold)
{
	uint32_t w;

	if (len != 3)
		return NULL;
	w = ((uint32_t)(uint8_t)name[0] | (uint32_t)(uint8_t)name[1] << 8 |
	     (uint32_t)(uint8_t)name[2] << 16) | fold * 0x010101u;
	if (w == ('s' | 'e' << 8 | 't' << 16))
		return &kv_commands[KV_OP_SET];
	if (w == ('g' | 'e' << 8 | 't' << 16))
		return &kv_commands[KV_OP_GET];
	return NULL;
}

const struct kv_command *
kv_command_find(const char *name, size_t len)
{
	const struct kv_command *fast = find_set_get(name, len, 0);
	unsigned int op;

	if (fast != NULL)
		return fast;
	for (op = 1; op < KV_OP_COUNT; op++)
		if (kv_commands[op].name_len == len &&
		    memcmp(kv_commands[op].name, name, len) == 0)
			return &kv_commands[op];
	return NULL;
}

const struct kv_command *
kv_command_find_nocase(const char *name, size_t len)
{
	const struct kv_command *cmd = find_set_get(name, len, 0x20);
	size_t i;
	char c;

	if (cmd != NULL)
		return cmd;
	for (cmd = &kv_commands[1]; cmd < &kv_commands[KV_OP_COUNT]; cmd++) {
		/* Unequal but for the case bit: they cannot match. */
		if (cmd->name_len != len || len == 0 || ((name[0] ^ cmd->name[0]) & ~0x20))
			continue;
		for (i = 0; i < len; i++) {
			c = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
			if (c != cmd->name[i])
				break;
		}
		if (i == len)
			return cmd;
	}
	return NULL;
}

/* Count the element a reply.h writer put at buf + len, or fail when it
 * did not fit. */
#define APPEND(call)                      \
	do {                              \
		int n_ = (call);          \
		if (n_ < 0)               \
			return -1;        \
		len += (size_t)n_;        \
	} while (0)

int
kv_command_info(const struct kv_command *cmd, char *buf, size_t size)
{
	size_t len = 0, i;
	long nflags = 0;

	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		nflags += (cmd->flags >> i) & 1;
	APPEND(kv_resp_array_header(buf, size, 6));
	APPEND(kv_resp_bulk_header(buf + len, size - len, cmd->name_len));
	if (size - len < cmd->name_len + 2u)
		return -1;
	memcpy(buf + len, cmd->name, cmd->name_len);
	memcpy(buf + len + cmd->name_len, "\r\n", 2);
	len += cmd->name_len + 2u;
	APPEND(kv_resp_integer(buf + len, size - len, cmd->arity));
	APPEND(kv_resp_array_header(buf + len, size - len, nflags));
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if ((cmd->flags >> i) & 1)
			APPEND(kv_resp_simple(buf + len, size - len, flag_names[i]));
	APPEND(kv_resp_integer(buf + len, size - len, cmd->first_key));
	APPEND(kv_resp_integer(buf + len, size - len, cmd->last_key));
	APPEND(kv_resp_integer(buf + len, size - len, cmd->key_step));
	return (int)len;
}
