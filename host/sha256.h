/*
 * SHA-256 (FIPS 180-4), used to fingerprint the manifest so a reload can
 * tell whether anything changed and the status endpoint can show which
 * version is running.  Not meant for large streams: one call, one buffer.
 */
#ifndef HOST_SHA256_H
#define HOST_SHA256_H

#include <stddef.h>

/* Writes the lowercase hex digest of data[0..len) and a NUL into out.
 * Pure function, any thread. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
