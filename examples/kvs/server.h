/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-kvs connections: receive in place, parse, execute, reply. */
#ifndef KVS_SERVER_H
#define KVS_SERVER_H

#include <stdint.h>

#include "exec.h"
#include "store.h"

struct kv_conn;

struct kv_server {
	struct pst_stack *stack;
	struct kv_store *store;
	unsigned int max_conns;
	/* Limits of one client (0: none), set before kv_server_listen. */
	struct kv_limits limits;
	uint64_t output_limit;     /* bytes of queued replies */
	double idle_timeout, request_timeout, send_timeout; /* seconds */
	unsigned int n_conns;
	uint64_t accepted, refused;
	double now;                /* the clock as of the last kv_server_tick */
	struct kv_conn *conns;     /* every open connection, for the tick */
	struct kv_conn *pend_conns; /* small replies waiting for the burst's
	                            * end (server.c, burst_end) */
	struct kv_exec exec;       /* requests, shared with linux-kvs */
};

/* Listen with RESP on @resp_port and HTTP on @http_port (0: off). */
int kv_server_listen(struct kv_server *srv, uint16_t resp_port,
		     uint16_t http_port);

/* Close the clients past a timeout, with @now the clock in seconds (the
 * same clock every call), and reclaim expired keys in KV_EXPIRE_STEP
 * buckets of the expiry table. Call it from the poll loop a few times a
 * second at least: the timeouts are that coarse. */
void kv_server_tick(struct kv_server *srv, double now);

#endif /* KVS_SERVER_H */
