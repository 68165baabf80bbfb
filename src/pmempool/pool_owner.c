/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Owners of the root slots: which application and which kind of structure
 * each slot leads to (pool_layout.h, struct pst_pool_owner_rec).
 *
 * Reconcile frees every kept buffer the caller's index does not name, so an
 * application that reconciled a pool holding another one's structure (or
 * its own other index kind) would free all of it. Every check here reads
 * the whole owner table before anything is written, so a refused claim or
 * reconcile leaves the file as it was.
 */
#include <errno.h>
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "crc.h"
#include "error.h"
#include "pool_internal.h"

static_assert(sizeof(((struct pst_pool_owner *)0)->app) == PST_POOL_OWNER_APP_LEN &&
	      sizeof(((struct pst_pool_owner *)0)->kind) == PST_POOL_OWNER_KIND_LEN,
	      "the public owner fields are the record's");

enum slot_status {
	SLOT_FREE,   /* no owner, no value: claimable */
	SLOT_OWNED,  /* a whole owner record */
	SLOT_BAD,    /* a value, but no whole owner record */
};

static struct pst_pool_owner_rec *
owner_rec(const struct pst_pool *pool, unsigned int slot)
{
	return (struct pst_pool_owner_rec *)(pool->base + PST_POOL_OWNERS_OFFSET) + slot;
}

static uint64_t
root_value(const struct pst_pool *pool, unsigned int slot)
{
	return ((const volatile uint64_t *)(pool->base + PST_POOL_ROOTS_OFFSET))[slot];
}

/* The slot number is part of the checksum: a record copied to another
 * slot (a stray write) does not pass for that slot's owner. */
static uint32_t
owner_crc(unsigned int slot, const struct pst_pool_owner_rec *r)
{
	uint8_t b[4 + PST_POOL_OWNER_APP_LEN + PST_POOL_OWNER_KIND_LEN];

	b[0] = (uint8_t)slot;
	b[1] = (uint8_t)(slot >> 8);
	b[2] = (uint8_t)(slot >> 16);
	b[3] = (uint8_t)(slot >> 24);
	memcpy(b + 4, r->app, sizeof(r->app));
	memcpy(b + 4 + sizeof(r->app), r->kind, sizeof(r->kind));
	return pst_crc32c(b, sizeof(b));
}

static int
rec_is_zero(const struct pst_pool_owner_rec *r)
{
	static const struct pst_pool_owner_rec zero;

	return memcmp(r, &zero, sizeof(zero)) == 0;
}

/* A name field holds a NUL-terminated string of printable characters. */
static int
field_ok(const char *f, size_t len)
{
	size_t i;

	for (i = 0; i < len && f[i] != '\0'; i++)
		if (f[i] < 0x21 || f[i] > 0x7e)
			return 0;
	return i < len;
}

/*
 * What slot @slot holds, its record copied to *@out when owned. A record
 * that fails its checksum is a claim a crash cut before its drain, which
 * is harmless while the slot is zero (the claimer set nothing after it);
 * with a value in the slot, the owner is unknown and nothing is safe.
 */
static enum slot_status
slot_status(const struct pst_pool *pool, unsigned int slot, struct pst_pool_owner_rec *out,
	    int *why_zero)
{
	struct pst_pool_owner_rec r;

	memcpy(&r, owner_rec(pool, slot), sizeof(r));
	*why_zero = rec_is_zero(&r);
	if (!*why_zero && r.crc == owner_crc(slot, &r) && field_ok(r.app, sizeof(r.app)) &&
	    r.app[0] != '\0' && field_ok(r.kind, sizeof(r.kind))) {
		*out = r;
		return SLOT_OWNED;
	}
	return root_value(pool, slot) == 0 ? SLOT_FREE : SLOT_BAD;
}

static int
fail_bad(const struct pst_pool *pool, unsigned int slot, int no_record)
{
	return pst_fail(PST_ECORRUPT,
			"pool %s: root slot %u holds 0x%016llx but %s: its owner is unknown",
			pool->path, slot, (unsigned long long)root_value(pool, slot),
			no_record ? "no owner record" : "a damaged owner record");
}

/* "app kind", or "app" when the kind is empty. */
static const char *
owner_str(const char *app, const char *kind, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", app, kind[0] != '\0' ? " " : "", kind);
	return buf;
}

static int
check_name(const char *what, const char *s, size_t max, int may_be_empty)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if ((n == 0 && !may_be_empty) || n > max || !field_ok(s != NULL ? s : "", n + 1))
		return pst_fail(EINVAL, "root claim: %s '%s' must be %s%zu printable characters",
				what, s != NULL ? s : "", may_be_empty ? "0 to " : "1 to ", max);
	return 0;
}

int
pst_pool_root_claim(struct pst_pool *pool, unsigned int slot, const char *app,
		    const char *kind)
{
	struct pst_pool_owner_rec want, have, *rec;
	char have_s[32], want_s[32];
	unsigned int s;
	int ret, zero;

	if (pool == NULL || slot >= PST_POOL_ROOT_SLOTS)
		return pst_fail(EINVAL, "root claim: %s", pool == NULL ? "NULL pool" :
				"slot out of range");
	if (kind == NULL)
		kind = "";
	ret = check_name("application", app, PST_POOL_OWNER_APP_MAX, 0);
	if (ret == 0)
		ret = check_name("kind", kind, PST_POOL_OWNER_KIND_MAX, 1);
	if (ret != 0)
		return ret;
	memset(&want, 0, sizeof(want));
	memcpy(want.app, app, strlen(app));
	memcpy(want.kind, kind, strlen(kind));
	want.crc = owner_crc(slot, &want);

	/* The whole table first: one owner per pool, and nothing written
	 * unless every slot agrees. */
	for (s = 0; s < PST_POOL_ROOT_SLOTS; s++) {
		switch (slot_status(pool, s, &have, &zero)) {
		case SLOT_BAD:
			return fail_bad(pool, s, zero);
		case SLOT_OWNED:
			if (strcmp(have.app, want.app) != 0 || strcmp(have.kind, want.kind) != 0)
				return pst_fail(PST_EOWNER,
						"pool %s's root slot %u holds a %s structure; %s asked for root slot %u",
						pool->path, s,
						owner_str(have.app, have.kind, have_s, sizeof(have_s)),
						owner_str(app, kind, want_s, sizeof(want_s)), slot);
			break;
		case SLOT_FREE:
			break;
		}
	}
	rec = owner_rec(pool, slot);
	if (memcmp(rec, &want, sizeof(want)) != 0) {
		memcpy(rec, &want, sizeof(want));
		ret = pst_persist_flush(&pool->persist, rec, sizeof(*rec));
		/* Durable before the caller sets the slot: a crash image with
		 * a value in the slot always has the owner record whole. */
		if (ret == 0)
			ret = pst_pool_drain(pool);
		if (ret != 0)
			return ret;
	}
	pool->claimed |= 1u << slot;
	return 0;
}

int
pst_pool_root_owner(const struct pst_pool *pool, unsigned int slot,
		    struct pst_pool_owner *owner)
{
	struct pst_pool_owner_rec r;
	int zero;

	if (pool == NULL || owner == NULL)
		return pst_fail(EINVAL, "root owner: NULL argument");
	if (slot >= PST_POOL_ROOT_SLOTS)
		return pst_fail(EINVAL, "root slot %u out of range", slot);
	memset(owner, 0, sizeof(*owner));
	switch (slot_status(pool, slot, &r, &zero)) {
	case SLOT_BAD:
		return fail_bad(pool, slot, zero);
	case SLOT_OWNED:
		/* field_ok() saw a NUL inside each field. */
		memcpy(owner->app, r.app, sizeof(owner->app));
		memcpy(owner->kind, r.kind, sizeof(owner->kind));
		return 1;
	case SLOT_FREE:
		break;
	}
	return 0;
}

int
pst_pool_owner_check_reconcile(const struct pst_pool *pool)
{
	struct pst_pool_owner_rec have;
	char have_s[32];
	unsigned int s;
	int zero;

	for (s = 0; s < PST_POOL_ROOT_SLOTS; s++) {
		switch (slot_status(pool, s, &have, &zero)) {
		case SLOT_BAD:
			return fail_bad(pool, s, zero);
		case SLOT_OWNED:
			if (!(pool->claimed & (1u << s)))
				return pst_fail(PST_EOWNER,
						"pool %s: reconcile refused: root slot %u holds a %s structure, not claimed by this opener",
						pool->path, s,
						owner_str(have.app, have.kind, have_s, sizeof(have_s)));
			break;
		case SLOT_FREE:
			break;
		}
	}
	return 0;
}
