/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * On-media layout of a paste pool file. Sized types only, little-endian,
 * no pointers: the file may be mapped anywhere.
 *
 *   offset 0                header (struct pst_pool_header), one 4 KiB page;
 *                           the owners of the root slots at
 *                           PST_POOL_OWNERS_OFFSET, the application root
 *                           slots at PST_POOL_ROOTS_OFFSET
 *   state_offset            one state byte per buffer (PST_BUF_STATE_*)
 *   bufs_offset             buf_count buffers of buf_size bytes, 2 MiB aligned
 *   file_size               bufs_offset + buf_count * buf_size, rounded up
 *                           to 2 MiB so DAX can map it with huge pages
 */
#ifndef PST_POOL_LAYOUT_H
#define PST_POOL_LAYOUT_H

#include <assert.h>
#include <stdint.h>

#define PST_POOL_MAGIC "PASTE-POOL\0\0\0\0\0"
#define PST_POOL_MAGIC_LEN 16
/* Version 2 added the owner records of the root slots. A version 1 file has
 * zeros there, and reconcile would trust any index with it: refused. */
#define PST_POOL_LAYOUT_VERSION 2u
#define PST_POOL_HEADER_AREA 4096u
#define PST_POOL_BUFS_ALIGN (2u << 20)

/* Sixteen 8-byte root slots for the application (where its index starts),
 * in the header page but outside the checksummed header: each is updated
 * by one aligned 8-byte store, which is failure-atomic. Zero means unset. */
#define PST_POOL_ROOTS_OFFSET 1024u
#define PST_POOL_ROOT_SLOTS 16u

/*
 * One owner record per root slot: which application and which kind of
 * structure the slot leads to, so that no application reconciles the pool
 * against a structure it cannot read (reconcile frees every kept buffer its
 * index does not name). A record is written once, by its claim, long after
 * the header: it carries its own CRC32C (of the slot number and the names)
 * rather than sharing the header's, whose rewrite would not be
 * failure-atomic. All zero: unclaimed. A record whose CRC does not match
 * is a claim torn by a crash; the claim is drained before the application
 * may set the slot, so that is only legitimate while the slot is zero.
 */
#define PST_POOL_OWNERS_OFFSET 512u
#define PST_POOL_OWNER_APP_LEN 16u   /* NUL-padded, at least one NUL */
#define PST_POOL_OWNER_KIND_LEN 12u  /* NUL-padded, at least one NUL */

struct pst_pool_owner_rec {
	char app[PST_POOL_OWNER_APP_LEN];
	char kind[PST_POOL_OWNER_KIND_LEN];
	uint32_t crc;            /* CRC32C of (le32 slot, app, kind) */
};

/* Buffer state bytes. Zero is free so that a freshly sized file (all zero)
 * is a pool whose buffers are all free. Any other value reads as kept:
 * holding a buffer reconcile can free is better than losing data. */
#define PST_BUF_STATE_FREE 0u
#define PST_BUF_STATE_KEPT 1u

struct pst_pool_header {
	uint8_t magic[PST_POOL_MAGIC_LEN];
	uint32_t layout_version;
	uint32_t header_size;    /* sizeof(struct pst_pool_header) */
	uint32_t buf_size;
	uint32_t flags;          /* none defined; must be 0 */
	uint64_t buf_count;
	uint64_t state_offset;
	uint64_t bufs_offset;
	uint64_t file_size;
	uint8_t uuid[16];
	uint64_t created_unix_ns;
	uint8_t reserved[36];    /* zero; room for later versions */
	uint32_t header_crc;     /* CRC32C of every byte before this field */
};

static_assert(sizeof(struct pst_pool_header) == 128, "header layout changed");
static_assert(PST_POOL_ROOTS_OFFSET >= sizeof(struct pst_pool_header) &&
	      PST_POOL_ROOTS_OFFSET + 8 * PST_POOL_ROOT_SLOTS <= PST_POOL_HEADER_AREA,
	      "root slots must lie in the header page, after the header");
static_assert(sizeof(struct pst_pool_owner_rec) == 32, "owner record layout changed");
static_assert(PST_POOL_OWNERS_OFFSET >= sizeof(struct pst_pool_header) &&
	      PST_POOL_OWNERS_OFFSET + 32 * PST_POOL_ROOT_SLOTS <= PST_POOL_ROOTS_OFFSET,
	      "owner records must lie between the header and the root slots");
static_assert(sizeof(struct pst_pool_header) <= PST_POOL_HEADER_AREA,
	      "header must fit its page");

#endif /* PST_POOL_LAYOUT_H */
