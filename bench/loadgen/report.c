/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen's report: a table (as redis-benchmark's summary: requests/s
 * and latency percentiles per test) and the same figures as JSON for
 * bench/run.sh.
 */
#include <inttypes.h>
#include <stdio.h>

#include <rte_cycles.h>

#include "example_util.h"
#include "loadgen.h"

static double
rps(const struct lg_result *r)
{
	return r->seconds > 0 ? (double)r->replies / r->seconds : 0;
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/* The generator's own core time per reply: its stack's busy cycles. */
static double
client_us_per_req(const struct lg_result *r)
{
	return r->replies > 0 ?
		(double)r->client_busy_cycles / (double)rte_get_tsc_hz() * 1e6 / (double)r->replies :
		0;
}

void
lg_report_table(const struct lg_run *run, FILE *f)
{
	const struct lg_opts *o = run->opt;
	const struct lg_result *r;
	unsigned int i;

	fprintf(f, "%s: %u connections, pipeline %u, values of %u B, keyspace %" PRIu64 "\n",
		LG_PROG, o->conns, o->pipeline, o->value_size, o->keyspace);
	fprintf(f, "%-5s %10s %7s %8s %11s %9s %9s %9s %9s %10s\n", "test", "requests",
		"errors", "seconds", "req/s", "p50 us", "p99 us", "p99.9 us", "max us",
		"client us/req");
	for (i = 0; i < run->n_results; i++) {
		r = &run->results[i];
		fprintf(f, "%-5s %10" PRIu64 " %7" PRIu64 " %8.3f %11.0f %9.1f %9.1f %9.1f %9.1f %10.3f\n",
			lg_op_name(r->op), r->replies, r->errors, r->seconds, rps(r),
			us(lg_hist_quantile(&r->hist, 0.5)), us(lg_hist_quantile(&r->hist, 0.99)),
			us(lg_hist_quantile(&r->hist, 0.999)), us(r->hist.max_ns),
			client_us_per_req(r));
		if (r->errors > 0)
			fprintf(f, "%s: %s: %" PRIu64 " wrong replies (%" PRIu64 " wrong values),"
				" the first: %s\n", LG_PROG, lg_op_name(r->op), r->errors,
				r->wrong_values, r->first_error);
	}
	if (run->failed)
		fprintf(f, "%s: failed: %s\n", LG_PROG, run->reason);
}

int
lg_report_json(const struct lg_run *run, const char *path)
{
	const struct lg_opts *o = run->opt;
	const struct lg_result *r;
	unsigned int i;
	int ok = !run->failed;
	char ip[16];
	FILE *f;

	for (i = 0; i < run->n_results; i++)
		ok &= run->results[i].errors == 0;
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "%s: cannot write %s\n", LG_PROG, path);
		return -1;
	}
	fprintf(f, "{\"tool\": \"%s\", \"server\": \"%s\", \"conns\": %u, \"pipeline\": %u,"
		" \"value_size\": %u, \"keyspace\": %" PRIu64 ", \"status\": \"%s\", \"reason\": ",
		LG_PROG, lg_ip_str(o->server, ip), o->conns, o->pipeline, o->value_size,
		o->keyspace, ok ? "ok" : "failed");
	ex_json_str(f, run->reason);
	fprintf(f, ",\n \"tests\": [");
	for (i = 0; i < run->n_results; i++) {
		r = &run->results[i];
		fprintf(f, "%s\n  {\"test\": \"%s\", \"proto\": \"%s\", \"preload\": %" PRIu64
			", \"requests\": %" PRIu64 ", \"replies\": %" PRIu64 ", \"errors\": %" PRIu64
			", \"values_checked\": %" PRIu64 ", \"wrong_values\": %" PRIu64
			", \"seconds\": %.6f, \"rps\": %.1f, \"latency_us\": {\"p50\": %.2f,"
			" \"p99\": %.2f, \"p999\": %.2f, \"max\": %.2f, \"mean\": %.2f},"
			" \"client_us_per_req\": %.4f, \"first_error\": ",
			i > 0 ? "," : "", lg_op_name(r->op), lg_op_is_http(r->op) ? "http" : "resp",
			r->preload, r->requests, r->replies, r->errors, r->values_checked,
			r->wrong_values, r->seconds, rps(r),
			us(lg_hist_quantile(&r->hist, 0.5)), us(lg_hist_quantile(&r->hist, 0.99)),
			us(lg_hist_quantile(&r->hist, 0.999)), us(r->hist.max_ns),
			r->hist.count > 0 ? us(r->hist.sum_ns / r->hist.count) : 0.0,
			client_us_per_req(r));
		ex_json_str(f, r->first_error);
		fprintf(f, "}");
	}
	fprintf(f, "\n]}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "%s: cannot write %s\n", LG_PROG, path);
		return -1;
	}
	return 0;
}
