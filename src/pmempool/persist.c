/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/magic.h>
#include <sys/vfs.h>

#include <libpmem.h>

#include "error.h"
#include "persist.h"
#include "persist_trace.h"

static const char *const mode_names[] = {
	[PST_PERSIST_AUTO] = "auto",
	[PST_PERSIST_FLUSH] = "flush",
	[PST_PERSIST_MSYNC] = "msync",
	[PST_PERSIST_FENCE] = "fence",
};

const char *
pst_persist_mode_name(enum pst_persist_mode mode)
{
	if ((unsigned int)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return "unknown";
	return mode_names[mode];
}

int
pst_persist_mode_parse(const char *name, enum pst_persist_mode *mode)
{
	unsigned int i;

	if (name == NULL || mode == NULL)
		return pst_fail(EINVAL, "persist mode: NULL argument");
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*mode = (enum pst_persist_mode)i;
			return 0;
		}
	}
	return pst_fail(EINVAL,
			"unknown persist mode '%s' (auto, flush, msync, fence)",
			name);
}

/* pst_persist_flush's inline case applies: flush mode, no hook, no trace. */
static void
plain_update(struct pst_persist *p)
{
	p->plain = p->mode == PST_PERSIST_FLUSH && p->trace == NULL &&
		   p->hook.on_flush == NULL;
}

int
pst_persist_init(struct pst_persist *p, enum pst_persist_mode mode,
		 void *base, size_t len, int is_pmem)
{
	memset(p, 0, sizeof(*p));
	switch (mode) {
	case PST_PERSIST_AUTO:
		if (!is_pmem)
			mode = PST_PERSIST_MSYNC;
		else if (pmem_has_auto_flush() == 1)
			mode = PST_PERSIST_FENCE;
		else
			mode = PST_PERSIST_FLUSH;
		break;
	case PST_PERSIST_FLUSH:
	case PST_PERSIST_MSYNC:
	case PST_PERSIST_FENCE:
		break;
	default:
		return pst_fail(EINVAL, "unknown persist mode %d", (int)mode);
	}
	p->mode = mode;
	p->map_base = base;
	p->map_len = len;
	plain_update(p);
	return 0;
}

int
pst_persist_check_durable(enum pst_persist_mode mode, int is_pmem,
			  int fs_volatile, int unsafe, const char *path)
{
	if (mode == PST_PERSIST_MSYNC || is_pmem || fs_volatile || unsafe)
		return 0;
	return pst_fail(EINVAL,
			"pool %s: persist mode %s does not make writes durable on a file "
			"that is not persistent memory (its page cache is never written "
			"back by a fence or cache flush); use auto or msync, or give up "
			"durability explicitly (persist_unsafe; paste-kvs --persist-unsafe)",
			path, pst_persist_mode_name(mode));
}

int
pst_persist_fs_volatile(int fd)
{
	struct statfs st;

	if (fstatfs(fd, &st) != 0)
		return pst_fail(errno, "fstatfs: %s", strerror(errno));
	return st.f_type == TMPFS_MAGIC || st.f_type == RAMFS_MAGIC;
}

int
pst_persist_flush_full(struct pst_persist *p, const void *addr, size_t len)
{
	const char *lo = addr;

	if (lo < p->map_base || len > p->map_len ||
	    (size_t)(lo - p->map_base) > p->map_len - len)
		return pst_fail(EINVAL, "flush of %zu bytes at %p outside the pool mapping",
				len, addr);
	if (p->hook.on_flush != NULL)
		p->hook.on_flush(p->hook.ctx, addr, len);
	if (p->trace != NULL)
		pst_persist_trace_flushed(p->trace, p->map_base, (size_t)(lo - p->map_base), len);
	p->flushes++;
	p->bytes_flushed += len;
	p->pending = 1;
	switch (p->mode) {
	case PST_PERSIST_FLUSH:
		pmem_flush(addr, len);
		break;
	case PST_PERSIST_MSYNC:
		/* One msync per drain over the union of flushed ranges costs
		 * one system call per batch instead of one per flush. */
		if (p->dirty_hi == NULL || lo < p->dirty_lo)
			p->dirty_lo = (char *)lo;
		if (p->dirty_hi == NULL || lo + len > p->dirty_hi)
			p->dirty_hi = (char *)lo + len;
		break;
	default:
		break;
	}
	return 0;
}

/* Spin rather than sleep: microsecond sleeps overshoot by tens of
 * microseconds, and a real drain stalls the core too. */
static void
delay(uint32_t ns)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u +
		 (uint64_t)t.tv_nsec - (uint64_t)t0.tv_nsec < ns);
}

/* The part of a drain that can fail: 0 or an errno value. */
static int
sync_pending(struct pst_persist *p)
{
	if (p->mode != PST_PERSIST_MSYNC) {
		pmem_drain();
		return 0;
	}
	if (p->dirty_hi == NULL || p->dirty_hi <= p->dirty_lo)
		return 0;
	p->msyncs++;
	if (pmem_msync(p->dirty_lo, (size_t)(p->dirty_hi - p->dirty_lo)) != 0)
		return errno != 0 ? errno : EIO;
	return 0;
}

int
pst_persist_drain(struct pst_persist *p)
{
	int err = 0;

	if (p->failed != 0) {
		p->drain_failures++;
		return pst_fail(p->failed, "the pool's medium failed a drain earlier (%s): "
				"nothing is synced again", strerror(p->failed));
	}
	if (p->pending && p->delay_ns > 0)
		delay(p->delay_ns);
	if (p->hook.fail_drain != NULL)
		err = p->hook.fail_drain(p->hook.ctx);
	if (err == 0)
		err = sync_pending(p);
	if (err != 0) {
		/* Never retried: the pages may already be clean and lost
		 * (persist.h). Callers release or send nothing that waited for
		 * this drain, nor for any later one. */
		p->failed = err;
		p->drain_failures++;
		return pst_fail(err, "drain of the pool failed (msync): %s", strerror(err));
	}
	p->drains++;
	/* A trace that cannot be written says so in pst_errormsg() and
	 * stops; the drain itself succeeded. */
	if (p->trace != NULL && p->pending)
		(void)pst_persist_trace_drained(p->trace, p->map_base, p->drains);
	p->dirty_lo = p->dirty_hi = NULL;
	p->pending = 0;
	if (p->hook.on_drain != NULL)
		p->hook.on_drain(p->hook.ctx);
	return 0;
}

int
pst_persist_trace_from_env(struct pst_persist *p)
{
	const char *path = getenv(PST_TRACE_ENV);

	if (path == NULL || *path == '\0')
		return 0;
	p->trace = pst_persist_trace_start(path, p->map_base, p->map_len);
	plain_update(p);
	return p->trace != NULL ? 0 : -pst_errno;
}

void
pst_persist_fini(struct pst_persist *p)
{
	pst_persist_trace_stop(p->trace);
	p->trace = NULL;
	plain_update(p);
}

void
pst_persist_set_hook(struct pst_persist *p, const struct pst_persist_hook *hook)
{
	if (hook == NULL)
		memset(&p->hook, 0, sizeof(p->hook));
	else
		p->hook = *hook;
	plain_update(p);
}
