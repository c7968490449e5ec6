/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the kernel program and the helper: the bitmaps that sit in front of the filter maps,
 * and the first-component screen, so both sides compute the same bit for the same key. */
#ifndef ARMORWATCH_FILTER_H
#define ARMORWATCH_FILTER_H

#define AW_BITMAP_WORDS 1024 /* 64 Ki bits per bitmap */

/* The first component of an absolute path, as a number: its first 8 bytes, byte i at bits 8i,
 * zero from the first '/' or NUL on. A path whose key has a clear bit in aw_first_bits starts
 * with a component no filter entry starts with, and so cannot pass: it is rejected after reading
 * a few bytes. Keys 0, "." and ".." never reject (the path is not in folded form). */
#define AW_FIRST_KEY_DOT 0x2eULL
#define AW_FIRST_KEY_DOTDOT 0x2e2eULL

/* Bit of a key: the top 16 bits of a multiplicative (Fibonacci) hash. */
static inline __u32 aw_first_bit(__u64 key)
{
	return (__u32)((key * 0x9e3779b97f4a7c15ULL) >> 48);
}

/* Bit of a watched identity (struct aw_ident_key) in aw_ident_bits. */
static inline __u32 aw_ident_bit(__u64 ino, __u32 dev)
{
	return (__u32)(((ino ^ ((__u64)dev << 32)) * 0x9e3779b97f4a7c15ULL) >> 48);
}

#endif
