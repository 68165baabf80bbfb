/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-kvs connections: receive in place, parse, execute, reply. */
#ifndef KVS_SERVER_H
#define KVS_SERVER_H

#include <stdint.h>

#include "exec.h"
#include "store.h"

struct kv_server {
	struct pst_stack *stack;
	struct kv_store *store;
	unsigned int max_conns;
	unsigned int n_conns;
	uint64_t accepted, refused;
	struct kv_exec exec;       /* requests, shared with linux-kvs */
};

/* Listen with RESP on @resp_port and HTTP on @http_port (0: off). */
int kv_server_listen(struct kv_server *srv, uint16_t resp_port,
		     uint16_t http_port);

#endif /* KVS_SERVER_H */
