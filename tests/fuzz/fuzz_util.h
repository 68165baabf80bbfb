/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the libFuzzer targets (header only, static functions):
 * reading an input as a sequence of fields, a private directory for pool
 * files, whole-file reads and writes, and a hard failure that libFuzzer
 * records as a crash (with the input that caused it).
 */
#ifndef PST_FUZZ_UTIL_H
#define PST_FUZZ_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An invariant broke: report it and abort, so libFuzzer saves the input. */
static __attribute__((unused, noreturn, format(printf, 1, 2))) void
fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz invariant: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

#define FZ_CHECK(cond, ...) do { if (!(cond)) fz_fail(__VA_ARGS__); } while (0)

/* The input, read front to back; past its end every field reads as 0. */
struct fz_in {
	const uint8_t *p;
	size_t left;
};

static __attribute__((unused)) uint8_t
fz_u8(struct fz_in *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

static __attribute__((unused)) uint16_t
fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t)(lo | fz_u8(in) << 8);
}

static __attribute__((unused)) uint32_t
fz_u32(struct fz_in *in)
{
	uint32_t lo = fz_u16(in);

	return lo | (uint32_t)fz_u16(in) << 16;
}

static __attribute__((unused)) uint64_t
fz_u64(struct fz_in *in)
{
	uint64_t lo = fz_u32(in);

	return lo | (uint64_t)fz_u32(in) << 32;
}

/* Up to @n bytes of the input into @dst; returns how many. */
static __attribute__((unused)) size_t
fz_bytes(struct fz_in *in, void *dst, size_t n)
{
	if (n > in->left)
		n = in->left;
	memcpy(dst, in->p, n);
	in->p += n;
	in->left -= n;
	return n;
}

/* A directory of this process's own under /dev/shm (tmpfs: pools there
 * are in RAM, so flush mode is accepted), removed at exit. */
static char fz_dir[128];

static void
fz_dir_remove(void)
{
	char cmd[160];

	if (fz_dir[0] != '\0' && snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fz_dir) <
	    (int)sizeof(cmd) && system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fz_dir);
}

/* A crash aborts without running atexit(): the directories of fuzz
 * processes that are gone (pst-fuzz-TAG-PID, PID not running) are removed
 * when the next one starts. */
static void
fz_dir_reap(void)
{
	if (system("for d in /dev/shm/pst-fuzz-*-[0-9]*; do [ -d \"$d\" ] || continue; "
		   "kill -0 \"${d##*-}\" 2>/dev/null || rm -rf \"$d\"; done") != 0)
		fprintf(stderr, "fuzz: could not remove stale /dev/shm/pst-fuzz-* directories\n");
}

static __attribute__((unused)) const char *
fz_path(const char *tag, const char *name, char *buf, size_t len)
{
	if (fz_dir[0] == '\0') {
		fz_dir_reap();
		snprintf(fz_dir, sizeof(fz_dir), "/dev/shm/pst-fuzz-%s-%ld", tag,
			 (long)getpid());
		if (mkdir(fz_dir, 0700) != 0 && errno != EEXIST)
			fz_fail("mkdir %s: %s", fz_dir, strerror(errno));
		atexit(fz_dir_remove);
	}
	snprintf(buf, len, "%s/%s", fz_dir, name);
	return buf;
}

/* pwrite/pread the whole range or fail. */
static __attribute__((unused)) void
fz_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = pwrite(fd, (const char *)buf + done, len - done,
				   off + (off_t)done);

		if (w <= 0)
			fz_fail("pwrite: %s", strerror(errno));
		done += (size_t)w;
	}
}

static __attribute__((unused)) void
fz_pread(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (r <= 0)
			fz_fail("pread: %s", strerror(errno));
		done += (size_t)r;
	}
}

#endif /* PST_FUZZ_UTIL_H */
