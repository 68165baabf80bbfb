/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen's values: the bytes of (key, version) and their checker.
 *
 * A value is the first -d bytes of an endless stream of its own: a header
 * "key:000000000042:0000000003:" (LG_VALUE_HDR bytes: the key, the version)
 * over a pattern of 64-bit words seeded by a hash of both. A word depends
 * on its index too, so bytes moved within a value (a segment repeated or
 * out of order) do not match either. Any byte of it can be produced alone:
 * the checker compares a reply as it arrives, segment by segment, without
 * keeping it, and the generator writes a value without storing one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "loadgen.h"

static uint64_t
mix64(uint64_t x)
{
	/* splitmix64's finalizer: every input bit reaches every output bit. */
	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBULL;
	x ^= x >> 31;
	return x;
}

static uint64_t
seed_of(uint64_t key, uint32_t version)
{
	return mix64(key * 0x9E3779B97F4A7C15ULL ^ mix64((uint64_t)version + 1));
}

/* Word @w of a value's stream: one multiply, since a 1 MiB value has
 * 131072 of them to make and to check. */
static inline uint64_t
word(uint64_t seed, uint64_t w)
{
	uint64_t x = (seed + w) * 0x9E3779B97F4A7C15ULL;

	return x ^ (x >> 29);
}

static inline uint8_t
pattern_byte(uint64_t seed, uint64_t pos)
{
	return (uint8_t)(word(seed, pos / 8) >> (8 * (pos % 8)));
}

void
lg_value_header(uint64_t key, uint32_t version, char hdr[LG_VALUE_HDR + 1])
{
	snprintf(hdr, LG_VALUE_HDR + 1, "key:%0*" PRIu64 ":%010" PRIu32 ":", LG_KEY_DIGITS,
		 key, version);
}

/* The pattern's bytes [@pos, @pos + @n) into @dst. */
static void
pattern_fill(uint64_t seed, uint64_t pos, uint8_t *dst, size_t n)
{
	uint64_t x;

	for (; n > 0 && pos % 8 != 0; n--)
		*dst++ = pattern_byte(seed, pos++);
	for (; n >= 8; n -= 8, dst += 8, pos += 8) {
		x = word(seed, pos / 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		memcpy(dst, &x, 8);
#else
		for (int j = 0; j < 8; j++)
			dst[j] = (uint8_t)(x >> (8 * j));
#endif
	}
	for (; n > 0; n--)
		*dst++ = pattern_byte(seed, pos++);
}

/* The first byte of @d[0, @n) that is not the pattern's at @pos: its index,
 * or -1 when they all are. */
static int64_t
pattern_diff(uint64_t seed, uint64_t pos, const uint8_t *d, size_t n)
{
	size_t i = 0;
	uint64_t x;

	for (; i < n && (pos + i) % 8 != 0; i++)
		if (d[i] != pattern_byte(seed, pos + i))
			return (int64_t)i;
	for (; i + 8 <= n; i += 8) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		memcpy(&x, d + i, 8);
		if (x != word(seed, (pos + i) / 8))
			break;  /* the byte loop below finds which */
#else
		break;
#endif
	}
	for (; i < n; i++)
		if (d[i] != pattern_byte(seed, pos + i))
			return (int64_t)i;
	return -1;
}

void
lg_value_fill(uint64_t key, uint32_t version, uint64_t off, uint8_t *dst, size_t n)
{
	char hdr[LG_VALUE_HDR + 1];
	size_t h;

	if (off < LG_VALUE_HDR) {
		lg_value_header(key, version, hdr);
		h = LG_VALUE_HDR - off < n ? LG_VALUE_HDR - off : n;
		memcpy(dst, hdr + off, h);
		dst += h;
		off += h;
		n -= h;
	}
	pattern_fill(seed_of(key, version), off, dst, n);
}

/* ---- the checker ------------------------------------------------------ */

void
lg_vcheck_begin(struct lg_vcheck *vc, uint64_t key, const uint32_t *versions,
		unsigned int n_versions, uint32_t size)
{
	memset(vc, 0, sizeof(*vc));
	vc->armed = 1;
	vc->key = key;
	if (n_versions > LG_VCHECK_VERSIONS)
		n_versions = LG_VCHECK_VERSIONS;
	memcpy(vc->versions, versions, n_versions * sizeof(*versions));
	vc->n_versions = n_versions;
	vc->size = size;
	vc->bad_off = -1;
}

/* A header's digits: @n of them from @s. @return 0, or -1. */
static int
digits(const uint8_t *s, int n, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* The header complete (or the value shorter): whose value it says it is.
 * One of the expected versions of the key, or another key's or version's
 * header (then the body is checked against that one, to tell a whole
 * stale or swapped value from a corrupt one), or no header of ours. */
static void
resolve_header(struct lg_vcheck *vc)
{
	uint32_t hlen = vc->size < LG_VALUE_HDR ? vc->size : LG_VALUE_HDR;
	char hdr[LG_VALUE_HDR + 1];
	uint64_t k, v;
	unsigned int i;

	for (i = 0; i < vc->n_versions; i++) {
		lg_value_header(vc->key, vc->versions[i], hdr);
		if (memcmp(vc->hdr, hdr, hlen) == 0) {
			vc->found = LG_VFOUND_EXPECTED;
			vc->found_key = vc->key;
			vc->found_version = vc->versions[i];
			vc->seed = seed_of(vc->key, vc->versions[i]);
			return;
		}
	}
	if (hlen == LG_VALUE_HDR && memcmp(vc->hdr, "key:", 4) == 0 &&
	    digits(vc->hdr + 4, LG_KEY_DIGITS, &k) == 0 && vc->hdr[4 + LG_KEY_DIGITS] == ':' &&
	    digits(vc->hdr + 5 + LG_KEY_DIGITS, 10, &v) == 0 && v <= UINT32_MAX &&
	    vc->hdr[LG_VALUE_HDR - 1] == ':') {
		vc->found = k == vc->key ? LG_VFOUND_OTHER_VERSION : LG_VFOUND_OTHER_KEY;
		vc->found_key = k;
		vc->found_version = (uint32_t)v;
		vc->seed = seed_of(k, (uint32_t)v);
		return;
	}
	vc->found = LG_VFOUND_GARBAGE;
	/* Where it first differs from the first expected version's header. */
	lg_value_header(vc->key, vc->n_versions > 0 ? vc->versions[0] : 0, hdr);
	for (i = 0; i < hlen && vc->hdr[i] == (uint8_t)hdr[i]; i++)
		;
	vc->bad_off = i;
}

void
lg_vcheck_feed(struct lg_vcheck *vc, const uint8_t *d, size_t n)
{
	uint32_t hlen = vc->size < LG_VALUE_HDR ? vc->size : LG_VALUE_HDR;
	size_t h;
	int64_t at;

	if (vc->off < hlen) {
		h = hlen - vc->off < n ? hlen - vc->off : n;
		memcpy(vc->hdr + vc->off, d, h);
		vc->off += h;
		d += h;
		n -= h;
		if (vc->off == hlen)
			resolve_header(vc);
	}
	if (n == 0)
		return;
	if (vc->bad_off < 0 && vc->found != LG_VFOUND_GARBAGE) {
		at = pattern_diff(vc->seed, vc->off, d, n);
		if (at >= 0) {
			vc->bad_off = (int64_t)vc->off + at;
			vc->bad_byte = d[at];
		}
	}
	vc->off += n;
}

static void
versions_str(const struct lg_vcheck *vc, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < vc->n_versions && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%" PRIu32, i > 0 ? " or " : "",
					 vc->versions[i]);
}

int
lg_vcheck_end(struct lg_vcheck *vc, char *why, size_t len)
{
	char want[64], corrupt[64] = "", seen[LG_VALUE_HDR + 1];
	uint32_t i;

	vc->armed = 0;
	if (vc->found == LG_VFOUND_NONE)
		resolve_header(vc);     /* an empty value, or a short one */
	if (vc->found == LG_VFOUND_EXPECTED && vc->bad_off < 0 && vc->off == vc->size)
		return 0;
	versions_str(vc, want, sizeof(want));
	if (vc->bad_off >= 0 && vc->found != LG_VFOUND_GARBAGE)
		snprintf(corrupt, sizeof(corrupt), ", corrupt from byte %" PRId64 " (0x%02x, not 0x%02x)",
			 vc->bad_off, vc->bad_byte,
			 pattern_byte(vc->seed, (uint64_t)vc->bad_off));
	switch (vc->found) {
	case LG_VFOUND_EXPECTED:
		if (vc->off != vc->size)
			snprintf(why, len, "key:%0*" PRIu64 " version %s: %" PRIu64 " of %" PRIu32
				 " bytes checked", LG_KEY_DIGITS, vc->key, want, vc->off, vc->size);
		else
			snprintf(why, len, "key:%0*" PRIu64 " version %" PRIu32 "%s", LG_KEY_DIGITS,
				 vc->key, vc->found_version, corrupt);
		break;
	case LG_VFOUND_OTHER_VERSION:
		snprintf(why, len, "key:%0*" PRIu64 ": version %" PRIu32 " where %s was expected%s",
			 LG_KEY_DIGITS, vc->key, vc->found_version, want, corrupt);
		break;
	case LG_VFOUND_OTHER_KEY:
		snprintf(why, len, "key:%0*" PRIu64 " (version %s): the value of key:%0*" PRIu64
			 " version %" PRIu32 "%s", LG_KEY_DIGITS, vc->key, want, LG_KEY_DIGITS,
			 vc->found_key, vc->found_version, corrupt);
		break;
	default:
		/* What came instead, printable. */
		for (i = 0; i < LG_VALUE_HDR && i < vc->off; i++)
			seen[i] = vc->hdr[i] >= ' ' && vc->hdr[i] < 127 ? (char)vc->hdr[i] : '.';
		seen[i] = '\0';
		snprintf(why, len, "key:%0*" PRIu64 " (version %s): no header of ours, wrong from"
			 " byte %" PRId64 " ('%s')", LG_KEY_DIGITS, vc->key, want, vc->bad_off, seen);
		break;
	}
	return -1;
}
