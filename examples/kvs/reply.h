/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: reply elements (reply.c). Each writes one element into buf and
 * returns its length, or -1 if @size is too small. Values themselves are
 * sent by name, not formatted.
 */
#ifndef KVS_REPLY_H
#define KVS_REPLY_H

#include <stddef.h>
#include <stdint.h>

int kv_resp_simple(char *buf, size_t size, const char *msg);  /* +msg */
int kv_resp_error(char *buf, size_t size, const char *msg);   /* -msg */
int kv_resp_integer(char *buf, size_t size, int64_t n);       /* :n */
int kv_resp_bulk_header(char *buf, size_t size, size_t len);  /* $len */
int kv_resp_null_bulk(char *buf, size_t size);                /* $-1 */
int kv_resp_array_header(char *buf, size_t size, long n);     /* *n */
/* A whole HTTP/1.1 response header block ending in an empty line. */
int kv_http_status(char *buf, size_t size, int code, const char *text,
		   size_t content_length, int keepalive);

#endif /* KVS_REPLY_H */
