/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects connections on paste's stack: received segments held in a
 * receive stream (paste-kvs's, examples/kvs/stream.h), request heads read
 * across them, answered by handler.h, bodies consumed (not stored yet:
 * doc/objects.md), replies queued until the peer takes them. One request
 * at a time per connection, none while a reply waits.
 */
#ifndef OBJ_SERVER_H
#define OBJ_SERVER_H

#include <stdint.h>

#include "handler.h"

struct obj_conn;

struct obj_server {
	struct pst_stack *stack;
	struct obj_service svc;
	unsigned int max_conns, n_conns;
	/* Seconds (0: never) a request may take to arrive, head and body,
	 * and a connection may stay silent between requests. */
	double request_timeout, idle_timeout;
	double now;                     /* the clock of the last tick */
	uint64_t accepted, refused_conns, bad_heads, timed_out;
	struct obj_conn *conns;
};

/* Listen for HTTP on @port. @return 0 or -errno. */
int obj_server_listen(struct obj_server *srv, uint16_t port);

/* Abort the connections past a timeout, with @now the clock in seconds
 * (the same clock every call); a few times a second at least. */
void obj_server_tick(struct obj_server *srv, double now);

#endif /* OBJ_SERVER_H */
