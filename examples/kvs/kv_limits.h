/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-kvs: the sizes its parsers, store and indexes agree on. */
#ifndef KV_LIMITS_H
#define KV_LIMITS_H

#define KV_KEY_MAX 250            /* bytes; longer keys get an error reply */
#define KV_VALUE_MAX (1u << 20)   /* bytes; larger values get an error reply */
#define KV_VALUE_NAMES_MAX 1024   /* names per value (1 MiB / 1 KiB segments) */

#endif /* KV_LIMITS_H */
