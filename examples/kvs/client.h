/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: what CLIENT and HELLO know of a connection (its id, name,
 * address, age), kept by the server per connection and listed in the
 * executor for CLIENT LIST.
 */
#ifndef KVS_CLIENT_H
#define KVS_CLIENT_H

#include <stdint.h>

/* Longest name CLIENT SETNAME takes (Redis takes any length). */
#define KV_CLIENT_NAME_MAX 128

struct kv_exec;

struct kv_client {
	uint64_t id;              /* from 1, in connection order */
	uint64_t created_ms;      /* kv_expiry_now_ms()'s clock */
	unsigned int last_op;     /* the last command's enum kv_op */
	char addr[24];            /* "a.b.c.d:port", or "" */
	uint16_t name_len;        /* 0: no name */
	char name[KV_CLIENT_NAME_MAX];
	struct kv_client *prev, *next;  /* kv_exec::clients */
};

/* A connection starts: give @cl (zeroed) its id and put it on @x's
 * list; @ipv4 (host order) and @port its peer, or 0. */
void kv_client_start(struct kv_exec *x, struct kv_client *cl, uint32_t ipv4,
		     uint16_t port);
/* It ends: off the list. */
void kv_client_end(struct kv_exec *x, struct kv_client *cl);

#endif /* KVS_CLIENT_H */
