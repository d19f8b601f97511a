/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).  SHA-256 fingerprints
 * the manifest so a reload can tell whether anything changed and the
 * status endpoint can show which version is running; HMAC-SHA256 verifies
 * signed webhook deliveries.  Pure functions, any thread; a sha256_ctx
 * belongs to one caller at a time.
 */
#ifndef HOST_SHA256_H
#define HOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* Incremental hashing: init, update any number of times, final once. */
struct sha256_ctx {
    uint32_t h[8];
    unsigned char buf[64];
    size_t n;       /* bytes buffered in buf */
    uint64_t total; /* bytes hashed so far */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Writes the 32-byte digest; the ctx must be re-initialised to reuse it. */
void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_LEN]);

/* Writes the lowercase hex digest of data[0..len) and a NUL into out. */
void sha256_hex(const void *data, size_t len, char out[65]);

/* HMAC-SHA256 of data[0..len) under key[0..key_len) into out (32 bytes).
 * Any key length, including 0. */
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[SHA256_LEN]);

#endif
