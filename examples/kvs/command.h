/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs's commands: one table, a row per command, describing it as
 * Redis describes its commands to clients (COMMAND): name, arity, flags and
 * where its keys are. The RESP parser checks each request against its row,
 * execution calls the row's handler, HTTP's methods map onto the rows of
 * GET, SET and DEL (proto_http.c), and COMMAND answers from the table, so
 * that cluster-aware clients that route by key positions read them right.
 */
#ifndef KVS_COMMAND_H
#define KVS_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"

/* Flags, as COMMAND names them; bit order is the order Redis lists them. */
enum {
	KVC_WRITE = 1 << 0,       /* may change the data */
	KVC_READONLY = 1 << 1,
	KVC_DENYOOM = 1 << 2,     /* refused when memory is full */
	KVC_ADMIN = 1 << 3,
	KVC_NOSCRIPT = 1 << 4,
	KVC_LOADING = 1 << 5,     /* allowed while loading */
	KVC_STALE = 1 << 6,       /* allowed on a stale replica */
	KVC_FAST = 1 << 7,        /* O(1) or O(log N) */
	KVC_NO_AUTH = 1 << 8,
	KVC_ALLOW_BUSY = 1 << 9,
	/* Out of Redis's order (it lists it before "fast"): the only command
	 * with it, EXEC, has none of the flags between. */
	KVC_SKIP_SLOWLOG = 1 << 10,
};

/* One request being executed (exec.c): where its arguments and replies are. */
struct kv_call;
typedef void kv_command_fn(struct kv_call *c);

struct kv_command {
	const char *name;         /* lower case, as COMMAND gives it */
	uint8_t name_len;
	int8_t arity;             /* words with the name; -N: at least N */
	uint16_t flags;           /* KVC_* */
	/* Key positions (the name is 0): first, last (-1: the last word),
	 * step between keys; 0, 0, 0 for commands without keys. */
	int8_t first_key, last_key, key_step;
	/* Arguments after the name at most, 0: no limit beyond arity (Redis
	 * checks these in PING and FLUSHALL themselves). */
	uint8_t args_max;
	uint8_t key_values;       /* each key is followed by its value */
	kv_command_fn *run;
};

/* The rows, indexed by enum kv_op; row KV_OP_NONE is empty. */
extern const struct kv_command kv_commands[KV_OP_COUNT];
#define KV_COMMANDS_N (KV_OP_COUNT - 1)

/* The row named @name (@len bytes, lower case), or NULL. */
const struct kv_command *kv_command_find(const char *name, size_t len);
/* The same, @name in any case (read where it lies, not lower-cased first). */
const struct kv_command *kv_command_find_nocase(const char *name, size_t len);

/* COMMAND's description of one command: *6, then its name, arity, flags
 * (an array of simple strings), first key, last key and key step. Into
 * @buf; returns the length, or -1 when @size is too small. */
int kv_command_info(const struct kv_command *cmd, char *buf, size_t size);

/* The handlers (exec.c). */
kv_command_fn kv_cmd_ping, kv_cmd_echo, kv_cmd_get, kv_cmd_set, kv_cmd_del,
	kv_cmd_exists, kv_cmd_mset, kv_cmd_mget, kv_cmd_incr, kv_cmd_dbsize,
	kv_cmd_flushall, kv_cmd_info, kv_cmd_config_get, kv_cmd_command,
	kv_cmd_quit, kv_cmd_select, kv_cmd_cluster, kv_cmd_readonly, kv_cmd_auth,
	kv_cmd_setnx, kv_cmd_getset, kv_cmd_getdel;
/* exec_strings.c */
kv_command_fn kv_cmd_incrby, kv_cmd_decrby, kv_cmd_decr, kv_cmd_incrbyfloat,
	kv_cmd_append, kv_cmd_strlen, kv_cmd_getrange, kv_cmd_setrange;
/* exec_keys.c */
kv_command_fn kv_cmd_rename, kv_cmd_renamenx, kv_cmd_type, kv_cmd_touch;
/* exec_ttl.c */
kv_command_fn kv_cmd_expire, kv_cmd_pexpire, kv_cmd_expireat, kv_cmd_pexpireat,
	kv_cmd_ttl, kv_cmd_pttl, kv_cmd_expiretime, kv_cmd_pexpiretime,
	kv_cmd_persist, kv_cmd_getex, kv_cmd_setex, kv_cmd_psetex, kv_cmd_copy;
/* multi.c */
kv_command_fn kv_cmd_multi, kv_cmd_exec, kv_cmd_discard, kv_cmd_watch, kv_cmd_unwatch;
/* exec_keyspace.c */
kv_command_fn kv_cmd_keys, kv_cmd_scan, kv_cmd_randomkey, kv_cmd_flushdb;
/* exec_conn.c */
kv_command_fn kv_cmd_hello, kv_cmd_client, kv_cmd_time, kv_cmd_wait;
/* exec.c: units (issue 24) */
kv_command_fn kv_cmd_msetnx;

#endif /* KVS_COMMAND_H */
