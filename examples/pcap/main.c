/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-pcap: export the packet log of paste-testpmd's log mode as a pcap
 * file (libpcap, nanosecond timestamps: the ones taken at reception).
 *
 *   paste-pcap POOL-FILE OUT.pcap      ("-" writes to stdout)
 *
 * Works on the pool file of a stopped or crashed logger: opening the pool
 * rebuilds its free list as after any crash; the log is only read. Frames
 * come out in the order they were logged; a record whose frame no longer
 * matches its CRC is left out and counted.
 *
 * Exit status: 0 success, 1 run-time failure (no pool, no log, a write
 * error), 2 bad command line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "paste.h"
#include "example_util.h"
#include "pktlog.h"

#define PROG "paste-pcap"
#define SNAPLEN 65535

static int
export(const struct pst_pool *pool, const char *out)
{
	struct pl_read_report rep;
	struct pcap_pkthdr hdr;
	struct pl_rec *recs = NULL;
	pcap_dumper_t *dump = NULL;
	pcap_t *pc = NULL;
	size_t i, n;
	int ret, status = 1;

	ret = pl_read(pool, &recs, &n, &rep);
	if (ret != 0) {
		fprintf(stderr, "%s: %s\n", PROG, ret == -ENOENT ?
			"the pool holds no packet log" : ret == -EBADMSG ?
			"the packet log's directory is damaged" : strerror(-ret));
		return 1;
	}
	pc = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, SNAPLEN,
						  PCAP_TSTAMP_PRECISION_NANO);
	if (pc == NULL) {
		fprintf(stderr, "%s: pcap_open_dead failed\n", PROG);
		goto fail;
	}
	dump = pcap_dump_open(pc, out);
	if (dump == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PROG, out, pcap_geterr(pc));
		goto fail;
	}
	for (i = 0; i < n; i++) {
		memset(&hdr, 0, sizeof(hdr));
		hdr.ts.tv_sec = (time_t)(recs[i].ts_ns / 1000000000ull);
		/* With nanosecond precision libpcap stores tv_usec as ns. */
		hdr.ts.tv_usec = (suseconds_t)(recs[i].ts_ns % 1000000000ull);
		hdr.caplen = recs[i].len < SNAPLEN ? recs[i].len : SNAPLEN;
		hdr.len = recs[i].len;
		pcap_dump((u_char *)dump, &hdr,
			  pst_pool_name_to_addr(pool, recs[i].name));
	}
	if (pcap_dump_flush(dump) != 0) {
		fprintf(stderr, "%s: %s: write failed\n", PROG, out);
		goto fail;
	}
	fprintf(stderr, "%s: %zu frames exported (ring of %u segments x %u records; "
		"%" PRIu64 " skipped: frame CRC mismatch)\n", PROG, n, rep.nseg,
		rep.per_seg, rep.bad_frames);
	status = 0;
fail:
	if (dump != NULL)
		pcap_dump_close(dump);
	if (pc != NULL)
		pcap_close(pc);
	free(recs);
	return status;
}

int
main(int argc, char **argv)
{
	struct pst_pool_config cfg;
	struct pst_pool *pool;
	int status;

	if (ex_help_requested(argc, argv)) {
		printf("usage: %s POOL-FILE OUT.pcap   (\"-\": stdout)\n", PROG);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: %s POOL-FILE OUT.pcap   (\"-\": stdout)\n", PROG);
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = argv[1];
	pool = pst_pool_open(&cfg);
	if (pool == NULL) {
		fprintf(stderr, "%s: %s: %s (%s)%s\n", PROG, argv[1], pst_errormsg(),
			pst_strerror(pst_errno),
			pst_errno == EBUSY ? "; is the logger still running?" : "");
		return 1;
	}
	status = export(pool, argv[2]);
	pst_pool_close(pool);
	return status;
}
