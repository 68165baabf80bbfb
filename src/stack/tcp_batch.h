/* SPDX-License-Identifier: BSD-3-Clause */
/* Output batching over a receive burst (tcp_batch.c). */
#ifndef PST_TCP_BATCH_H
#define PST_TCP_BATCH_H

/* From here on, sends lwIP wants after each received segment wait. */
void pst_tcp_batch_begin(void);

/* Send what the burst produced, once per connection. */
void pst_tcp_batch_end(void);

#endif /* PST_TCP_BATCH_H */
