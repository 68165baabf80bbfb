/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwIP's compiler and platform port for paste: glibc types, host byte order,
 * and diagnostics that never stop the process.
 */
#ifndef PST_ARCH_CC_H
#define PST_ARCH_CC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
/* BYTE_ORDER comes from glibc (<endian.h>, via <stdlib.h>). */

#define LWIP_NO_STDINT_H 0
#define LWIP_NO_INTTYPES_H 0
#define LWIP_NO_LIMITS_H 0
#define LWIP_NO_CTYPE_H 0


/* Byte order: lwIP's own lwip_htons()/lwip_htonl() are functions in
 * def.c, called some twenty times per frame sent or received (every
 * header field it reads or writes); as compiler builtins they are one
 * instruction where they are used. */
#if BYTE_ORDER == LITTLE_ENDIAN
#define lwip_htons(x) ((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define lwip_htonl(x) ((uint32_t)__builtin_bswap32((uint32_t)(x)))
#endif

/* Random numbers for initial sequence numbers and ports. */
uint32_t pst_lwip_rand(void);
#define LWIP_RAND() pst_lwip_rand()

/* lwIP's assertions guard its own invariants. The library must not abort
 * on them (a server keeps serving its other clients): they are counted and
 * reported, and lwIP's own error paths after the assert take over. */
void pst_lwip_assert(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_ASSERT(x) pst_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)

#endif /* PST_ARCH_CC_H */
