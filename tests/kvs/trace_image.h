/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a persistence trace (src/pmempool/persist_trace.h) and building
 * the crash images a power loss may leave, for kvs_trace_images.
 */
#ifndef KVS_TRACE_IMAGE_H
#define KVS_TRACE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum trace_mode {
	TRACE_M_RANDOM,           /* each new word with 0, 25, 50, 90 or 100 % */
	TRACE_M_ALL_BUT_ONE_BUF,  /* every new word but those of one buffer */
	TRACE_M_ALL_BUT_ONE_VALUE_WORD, /* every new word but one of a value */
	TRACE_M_INDEX_ONLY,       /* only words of index buffers */
	TRACE_M_META_ONLY,        /* only the pool's records (state, roots) */
	TRACE_M_NO_META,          /* everything but the pool's records */
	TRACE_M_NO_VALUES,        /* everything but value buffers */
	TRACE_M_COUNT
};

struct trace {
	uint8_t *data;            /* the whole file */
	size_t size;
	size_t len;               /* mapping length */
	uint64_t t_start;
	const uint8_t *image;     /* the mapping at the start */
	size_t *rec;              /* offsets of the complete drain records */
	size_t n_rec;
	uint64_t bufs_off, buf_size, buf_count;
};

/* How an image was chosen, and how many of the epoch's words it took. */
struct trace_pick {
	enum trace_mode mode;
	uint32_t pct;
	uint64_t victim_buf, victim_word; /* UINT64_MAX: none */
	uint64_t words, taken;
};

/* Read the trace at @path. Returns 0, or -1 with a message on stderr. */
int trace_load(struct trace *t, const char *path);
void trace_free(struct trace *t);

/* Record @r's drain number and CLOCK_MONOTONIC completion time. */
uint64_t trace_rec_drains(const struct trace *t, size_t r);
uint64_t trace_rec_time(const struct trace *t, size_t r);

/* The drained state moves past record @r. */
void trace_apply_durable(const struct trace *t, size_t r, uint8_t *state);

/* The image of a power loss in record @r's epoch into @img, @state being
 * the drained state before it; @p->mode chosen by the caller. */
void trace_build(const struct trace *t, size_t r, const uint8_t *state, uint8_t *img,
		 struct trace_pick *p, uint64_t *rs);

const char *trace_mode_name(enum trace_mode m);

uint64_t trace_rnd(uint64_t *s);
uint32_t trace_rndu(uint64_t *s, uint32_t n);

/* Write @len bytes to a new or truncated file. Returns 0 or -1 (errno). */
int trace_write_file(const char *path, const void *data, size_t len);

#endif /* KVS_TRACE_IMAGE_H */
