/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * LD_PRELOAD shim for tests/kvs/test_kvs_misconf.sh: msync() fails with EIO
 * while the file named by $PASTE_FAIL_MSYNC_WHILE exists. paste-kvs runs
 * unchanged, and its real drain path (libpmem's pmem_msync, which calls
 * msync) sees the failure a dying disk would give it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int
msync(void *addr, size_t len, int flags)
{
	static int (*real_msync)(void *, size_t, int);
	const char *flag = getenv("PASTE_FAIL_MSYNC_WHILE");

	if (flag != NULL && access(flag, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	if (real_msync == NULL)
		*(void **)&real_msync = dlsym(RTLD_NEXT, "msync");
	if (real_msync == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real_msync(addr, len, flags);
}
