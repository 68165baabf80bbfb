/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The durable packet log of paste-testpmd's `log` mode, read back by
 * paste-pcap. Frames stay where the driver wrote them: each one's pool
 * buffer is kept, and a record naming it is appended to a ring of log
 * segments in the same pool. See doc/testpmd.md for the layout.
 *
 *   root slot PL_ROOT_SLOT -> directory buffer: PL_DIR_MAGIC, nseg,
 *                             records per segment, CRC, segment indices
 *   segment buffer         -> header (magic, first_seq, CRC), then records
 *
 * A record is valid when its own CRC matches and its sequence number is
 * the one its slot holds in its segment's current incarnation: a reused
 * segment's header is rewritten first, so stale records fall out by seq.
 */
#ifndef PKTLOG_H
#define PKTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "paste.h"

/* Application root slot of the log (paste-kvs uses 0 and 1), and the
 * owner paste-testpmd claims it as (pst_pool_root_claim()) before it
 * discards or creates a log: a pool holding another program's structure
 * is refused, never reconciled. */
#define PL_ROOT_SLOT 4u
#define PL_OWNER_APP "paste-testpmd"
#define PL_OWNER_KIND "pktlog"

#define PL_DIR_MAGIC 0x474f4c544b504150ull  /* "PAPKTLOG" little-endian */
#define PL_SEG_MAGIC 0x47455354454b5041ull  /* "APKETSEG" */
#define PL_SEQ_NONE UINT64_MAX

/* One logged frame: 40 bytes, persistent. */
struct pl_rec {
	uint64_t seq;     /* frame number since the log was created */
	uint64_t name;    /* the frame's bytes, kept in the pool */
	uint64_t ts_ns;   /* CLOCK_REALTIME at reception (per burst) */
	uint32_t len;     /* frame length */
	uint16_t port;    /* receiving port */
	uint16_t flags;   /* 0 */
	uint32_t fcrc;    /* CRC32C of the frame */
	uint32_t rcrc;    /* CRC32C of the bytes above */
};

struct pl_seg_hdr {
	uint64_t magic;
	uint64_t first_seq;  /* PL_SEQ_NONE: empty */
	uint32_t crc;        /* CRC32C of magic and first_seq */
	uint32_t pad[5];
};

struct pl_dir {
	uint64_t magic;
	uint32_t nseg;
	uint32_t per_seg;    /* records per segment */
	uint32_t crc;        /* CRC32C of the header before it and of seg[] */
	uint32_t pad;
	uint32_t seg[];      /* buffer index of each segment */
};

/* What the writer did since pl_create. */
struct pl_stats {
	uint64_t records;          /* records appended */
	uint64_t evicted_segments; /* segments reused, oldest first */
	uint64_t evicted_frames;   /* frame buffers released by them */
	uint64_t release_errors;   /* releases refused (should stay 0) */
};

struct pl_writer;

/* Largest ring a pool of @p buf_size bytes per buffer can describe, and the
 * records one segment holds. */
uint32_t pl_max_segments(uint32_t buf_size);
uint32_t pl_records_per_segment(uint32_t buf_size);

/*
 * Create a log of @p nseg segments in @p pool: take and keep nseg + 1
 * buffers, write the directory and empty segments, drain, then point the
 * root slot at it (drained). The pool must hold no log yet.
 * @return 0, -EEXIST (a log exists: export it, then pl_discard), -EINVAL
 *   (nseg 0 or above pl_max_segments), -ENOBUFS, -ENOMEM, or a drain error.
 */
int pl_create(struct pst_pool *pool, uint32_t nseg, struct pl_writer **out);

/*
 * Forget the pool's log: clear the root slot (drained), then release every
 * kept buffer of the pool (pst_pool_reconcile with no names: the pool
 * belongs to the log). No buffer may be lent (call before the mempool).
 * @return 0 or a negative errno.
 */
int pl_discard(struct pst_pool *pool);

/*
 * Append the record of one kept frame, @p data its bytes in the pool: the
 * frame and the record are flushed (durable after the caller's next drain).
 * When the current segment is full the next one is opened; if it held
 * records, their buffers are released (the oldest frames go first).
 */
void pl_append(struct pl_writer *w, pst_name name, uint16_t port,
	       uint64_t ts_ns, const void *data, uint32_t len);

void pl_writer_stats(const struct pl_writer *w, struct pl_stats *st);
uint64_t pl_capacity(const struct pl_writer *w);   /* frames the ring holds */
void pl_writer_free(struct pl_writer *w);

/* What pl_read found. */
struct pl_read_report {
	uint32_t nseg, per_seg;
	uint64_t records;     /* valid records */
	uint64_t bad_frames;  /* valid record, frame CRC mismatch (skipped) */
};

/*
 * Read every valid record of the pool's log, in sequence order, into a
 * malloc'ed array (*recs, *n; free() it). Records whose frame bytes no
 * longer match their CRC are left out and counted.
 * @return 0, -ENOENT (no log), -EBADMSG (directory damaged), -ENOMEM.
 */
int pl_read(const struct pst_pool *pool, struct pl_rec **recs, size_t *n,
	    struct pl_read_report *rep);

#endif /* PKTLOG_H */
