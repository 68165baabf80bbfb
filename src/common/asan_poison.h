/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Marking pool bytes for AddressSanitizer. Packet bytes live in the mapped
 * pool file, which ASan treats as one large valid region: an overread past
 * a frame or a value would read the next bytes of the buffer, or another
 * buffer, silently. In sanitizer builds the pool poisons every free buffer
 * and the netif poisons the bytes of a received buffer outside its frame,
 * so such reads fail. In other builds these are no-ops.
 */
#ifndef PST_ASAN_POISON_H
#define PST_ASAN_POISON_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PST_ASAN 1
#endif

#ifdef PST_ASAN
#include <sanitizer/asan_interface.h>
#define pst_poison(addr, len) ASAN_POISON_MEMORY_REGION((addr), (len))
#define pst_unpoison(addr, len) ASAN_UNPOISON_MEMORY_REGION((addr), (len))
#else
#define pst_poison(addr, len) ((void)(addr), (void)(len))
#define pst_unpoison(addr, len) ((void)(addr), (void)(len))
#endif

#endif /* PST_ASAN_POISON_H */
