/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the example programs (examples/ and bench/linux-kvs) do alike and the
 * library has no business offering: open-or-create a pool file, stop on
 * SIGINT/SIGTERM, read a monotonic clock, and parse command-line values.
 *
 * The parsers print nothing. Each program words its own errors, so the
 * messages its users and scripts know stay as they are.
 */
#ifndef EXAMPLE_UTIL_H
#define EXAMPLE_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "paste_pool.h"

/* Set by SIGINT and SIGTERM once ex_catch_quit_signals() has run. An int
 * underneath, so pst_stack_run() can watch it directly. */
extern volatile sig_atomic_t ex_force_quit;

/* Clear ex_force_quit and make SIGINT and SIGTERM set it. */
void ex_catch_quit_signals(void);

/* CLOCK_MONOTONIC in seconds. */
double ex_now_s(void);

/*
 * Open the pool file @cfg names; when there is none, create it with
 * @buf_count buffers (@cfg's other fields as given).
 * @return the pool, or NULL with pst_errno set by pst_pool_open() (any
 * error but ENOENT) or pst_pool_create().
 */
struct pst_pool *ex_pool_open_or_create(const struct pst_pool_config *cfg,
					uint64_t buf_count);

/*
 * A decimal number in [@min, @max], digits only: no blank and no sign
 * (strtoull alone would turn "-1" into a huge count).
 * @return 0, or -1 with *@out untouched.
 */
int ex_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* The same, for narrower fields. */
int ex_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int ex_parse_u16(const char *s, uint16_t min, uint16_t max, uint16_t *out);

/* A byte count with an optional binary suffix K, M or G (at most 2^50 bytes).
 * @return 0, or -1. */
int ex_parse_bytes(const char *s, uint64_t *out);

/* A number (strtod syntax, not NaN) in [@min, @max]. @return 0, or -1. */
int ex_parse_double(const char *s, double min, double max, double *out);

/* "A.B.C.D" into a host-order address. @return 0, or -1. */
int ex_parse_ipv4(const char *s, uint32_t *out);

/*
 * Split @s at its first @sep: what precedes it is copied into @head (@size
 * bytes with the terminator), *@tail points just past it inside @s (NULL
 * when @s has no @sep, @head then holding all of @s).
 * @return 0, or -1 when that does not fit @head.
 */
int ex_split(const char *s, char sep, char *head, size_t size, const char **tail);

/* "A.B.C.D[/len]" (a /24 when no length is given) into a host-order
 * address and netmask. @return 0, or -1 with both untouched. */
int ex_parse_ipv4_prefix(const char *s, uint32_t *ip, uint32_t *netmask);

/* Write @s to @f as a JSON string: quotes and backslashes escaped, control
 * bytes as \u00XX (the programs' own messages and paths). */
void ex_json_str(FILE *f, const char *s);

/* The netmask of a prefix length in [0, 32], host order. */
uint32_t ex_netmask(unsigned int prefix_len);

/* The index of @s among @names[0 .. @n - 1] (NULL entries never match).
 * @return that index, or -1. */
int ex_parse_choice(const char *s, const char *const *names, unsigned int n);

/*
 * Whether the command line asks for the program's usage: a word "--help"
 * or "-h" among @argv[1 .. @argc - 1], before "--" (among the EAL's
 * arguments) or after it (the program's). Every program asks first thing
 * in main(), before rte_eal_init(): the usage then needs no hugepages, no
 * privileges and no otherwise valid command line. No option of theirs
 * takes "-h" or "--help" as its value.
 * @return 1 if so, else 0.
 */
int ex_help_requested(int argc, char *const *argv);

#endif /* EXAMPLE_UTIL_H */
