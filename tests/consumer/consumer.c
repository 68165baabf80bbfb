/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program outside paste's build: compiled against the installed headers
 * and libpaste.a through `pkg-config --static paste`. It uses only the
 * public API: create a pool, keep a buffer, reopen, read it back by name.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <paste.h>

int
main(int argc, char **argv)
{
	struct pst_pool_config cfg = { .buf_count = 64 };
	struct pst_pool *pool;
	const char *msg = "stored by a consumer of libpaste.a";
	pst_name name;
	uint32_t index;
	char *buf;

	if (argc != 2) {
		fprintf(stderr, "usage: %s POOL_FILE\n", argv[0]);
		return 2;
	}
	cfg.path = argv[1];
	unlink(cfg.path);
	pool = pst_pool_create(&cfg);
	if (pool == NULL)
		goto fail;
	if (pst_pool_take(pool, &index) != 0)
		goto fail;
	buf = pst_pool_buf_addr(pool, index);
	strcpy(buf, msg);
	name = pst_pool_addr_to_name(pool, buf, strlen(msg) + 1);
	if (pst_pool_flush(pool, buf, strlen(msg) + 1) != 0 ||
	    pst_pool_keep(pool, index) != 0 || pst_pool_drain(pool) != 0)
		goto fail;
	pst_pool_close(pool);

	cfg.buf_count = 0;
	pool = pst_pool_open(&cfg);
	if (pool == NULL)
		goto fail;
	buf = pst_pool_name_to_addr(pool, name);
	if (buf == NULL || strcmp(buf, msg) != 0) {
		fprintf(stderr, "consumer: name did not resolve to the stored bytes\n");
		pst_pool_close(pool);
		unlink(cfg.path);
		return 1;
	}
	printf("consumer: name 0x%016llx -> \"%s\"\n", (unsigned long long)name, buf);
	pst_pool_close(pool);
	unlink(cfg.path);
	return 0;
fail:
	fprintf(stderr, "consumer: %s (%s)\n", pst_errormsg(), pst_strerror(pst_errno));
	pst_pool_close(pool);
	unlink(cfg.path);
	return 1;
}
