/*
 * SipHash-2-4, written from "SipHash: a fast short-input PRF" (Aumasson,
 * Bernstein, 2012): 2 compression rounds per 8-byte word, 4 finalization
 * rounds, little-endian words, the last word carrying len mod 256 in its
 * top byte.  Keyed hashes let top values be compared across tables of one
 * installation without being reversible by a dictionary without the key.
 */
#include "profile_common.h"

#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = ROTL(v[2], 32);
}

static void sip_absorb(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

uint64_t prof_siphash24(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
                     k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
    size_t full = len - (len % 8);
    for (size_t i = 0; i < full; i += 8)
        sip_absorb(v, load_le64(in + i));

    uint8_t tail[8] = {0};
    memcpy(tail, in + full, len - full);
    tail[7] = (uint8_t)len;
    sip_absorb(v, load_le64(tail));

    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Two hashes of the passphrase under fixed, distinct keys give the two
 * key halves; the constant keys only separate the halves. */
void prof_key_from_string(const char *passphrase, uint8_t key[16])
{
    static const uint8_t k_lo[16] = "catalog-sync/k0";
    static const uint8_t k_hi[16] = "catalog-sync/k1";
    size_t n = passphrase ? strlen(passphrase) : 0;
    uint64_t a = prof_siphash24(k_lo, passphrase ? passphrase : "", n);
    uint64_t b = prof_siphash24(k_hi, passphrase ? passphrase : "", n);
    for (int i = 0; i < 8; i++) {
        key[i] = (uint8_t)(a >> (8 * i));
        key[8 + i] = (uint8_t)(b >> (8 * i));
    }
}
