/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guarded reads of persistent memory. A poisoned line raises SIGBUS when
 * read; during recovery that must make a value torn, not kill the server.
 * The handler jumps back into the read that faulted (sigsetjmp /
 * siglongjmp) and is installed only while a read or a phase is under way;
 * any other SIGBUS goes to the disposition found when it was installed.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "crc.h"
#include "error.h"
#include "paste_media.h"

static struct sigaction prev_action;
static unsigned int guard_depth;
/* Set only while this thread copies from a guarded source. */
static __thread sigjmp_buf *volatile armed;

static void
on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *j = armed;

	if (j != NULL) {
		armed = NULL;
		siglongjmp(*j, 1);
	}
	/* Not a guarded read: as if we were not there. */
	if (prev_action.sa_flags & SA_SIGINFO) {
		prev_action.sa_sigaction(sig, si, uc);
	} else if (prev_action.sa_handler != SIG_DFL && prev_action.sa_handler != SIG_IGN) {
		prev_action.sa_handler(sig);
	} else {
		/* Returning re-executes the faulting access, which then
		 * kills the process as SIGBUS would have. */
		signal(SIGBUS, SIG_DFL);
	}
}

int
pst_media_guard_begin(void)
{
	struct sigaction sa;

	if (guard_depth++ > 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &prev_action) != 0) {
		guard_depth--;
		return pst_fail(errno, "media guard: sigaction: %s", strerror(errno));
	}
	return 0;
}

void
pst_media_guard_end(void)
{
	if (guard_depth == 0 || --guard_depth > 0)
		return;
	sigaction(SIGBUS, &prev_action, NULL);
}

/* Copy or checksum @len bytes at @src under the guard; 0 or -EIO. */
static int
guarded(void *dst, const void *src, size_t len, uint32_t *crc)
{
	sigjmp_buf jb;
	int ret;

	ret = pst_media_guard_begin();
	if (ret != 0)
		return ret;
	if (sigsetjmp(jb, 1) == 0) {
		armed = &jb;
		if (dst != NULL)
			memcpy(dst, src, len);
		else
			*crc = pst_crc32c(src, len);
		armed = NULL;
		ret = 0;
	} else {
		ret = pst_fail(EIO, "media read of %zu bytes at %p: SIGBUS (a poisoned "
			       "line of persistent memory, or a mapping past its file's end)",
			       len, src);
	}
	pst_media_guard_end();
	return ret;
}

int
pst_media_read(void *dst, const void *src, size_t len)
{
	if (len == 0)
		return 0;
	if (dst == NULL || src == NULL)
		return pst_fail(EINVAL, "media read: NULL pointer");
	return guarded(dst, src, len, NULL);
}

int
pst_media_crc32c(const void *src, size_t len, uint32_t *crc)
{
	if (crc == NULL || (src == NULL && len > 0))
		return pst_fail(EINVAL, "media crc: NULL pointer");
	return guarded(NULL, src, len, crc);
}
