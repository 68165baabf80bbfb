/* SPDX-License-Identifier: BSD-3-Clause */
/* Output batching over a receive burst (tcp_batch.c). */
#ifndef PST_TCP_BATCH_H
#define PST_TCP_BATCH_H

/* One per stack (struct pst_stack); written by tcp_batch.c only. */
struct pst_tcp_batch {
	int batching;   /* a receive burst is being fed to lwIP */
	int deferred;   /* a send waits for the end of the burst */
};

/* From here on, sends lwIP wants after each received segment wait. */
void pst_tcp_batch_begin(struct pst_tcp_batch *b);

/* Send what the burst produced, once per connection. */
void pst_tcp_batch_end(struct pst_tcp_batch *b);

#endif /* PST_TCP_BATCH_H */
