/*
 * The placeholder map: an open-addressing hash table from (type,
 * normalised value) to the value's index within its type.  One map per
 * table and call, so numbering restarts at 1 for every table and no raw
 * value outlives the call.
 */
#include "mask_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mask_entry {
    uint64_t hash;
    char *key; /* normalised value; NULL for an empty slot */
    size_t len;
    uint32_t index;
    uint8_t type;
};

struct mask_map {
    struct mask_entry *slots;
    size_t cap; /* power of two */
    size_t used;
    uint32_t next[PII_ENTITY_COUNT]; /* last index given, per type */
};

mask_map *mask_map_new(void)
{
    mask_map *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 64;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void mask_map_free(mask_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        struct mask_entry *e = &m->slots[i];
        if (e->key) {
            /* The keys are raw PII: do not leave them in freed memory. */
            explicit_bzero(e->key, e->len);
            free(e->key);
        }
    }
    free(m->slots);
    free(m);
}

const char *mask_type_label(pii_entity type)
{
    if (type <= PII_NONE || type >= PII_ENTITY_COUNT)
        return "PII";
    return pii_entity_name(type);
}

/* How values of a type are compared: the same e-mail in another case, or
 * the same number with other separators, is the same person's data. */
enum norm { NORM_TRIM, NORM_LOWER, NORM_ALNUM_UPPER, NORM_PHONE };

static enum norm norm_of(pii_entity type)
{
    switch (type) {
    case PII_EMAIL:
    case PII_IP_ADDRESS:
        return NORM_LOWER;
    case PII_PHONE:
        return NORM_PHONE;
    case PII_IBAN:
    case PII_CREDIT_CARD:
    case PII_US_SSN:
    case PII_FR_NIR:
    case PII_ES_NIF:
    case PII_IT_FISCAL_CODE:
    case PII_UK_NHS:
    case PII_PL_PESEL:
    case PII_DE_TAX_ID:
    case PII_MAC_ADDRESS:
        return NORM_ALNUM_UPPER;
    default:
        return NORM_TRIM;
    }
}

/* Writes the normalised form of value into out (at least len bytes) and
 * returns its length. */
static size_t normalise(pii_entity type, const char *v, size_t len, char *out)
{
    while (len > 0 && isspace((unsigned char)v[0])) {
        v++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)v[len - 1]))
        len--;
    enum norm how = norm_of(type);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (how == NORM_LOWER)
            out[n++] = (char)tolower(c);
        else if (how == NORM_ALNUM_UPPER && isalnum(c))
            out[n++] = (char)toupper(c);
        else if (how == NORM_PHONE && (isdigit(c) || (c == '+' && n == 0)))
            out[n++] = (char)c;
        else if (how == NORM_TRIM)
            out[n++] = (char)c;
    }
    /* A value made only of separators keeps its trimmed text as key. */
    if (n == 0 && how != NORM_TRIM) {
        memcpy(out, v, len);
        n = len;
    }
    return n;
}

/* FNV-1a over the type and the key: the map only needs spread, the keys
 * come from one table and never leave the call. */
static uint64_t hash_key(uint8_t type, const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    h = (h ^ type) * 1099511628211ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    return h;
}

static struct mask_entry *find_slot(struct mask_entry *slots, size_t cap,
                                    uint64_t hash, uint8_t type,
                                    const char *key, size_t len)
{
    for (size_t i = (size_t)hash & (cap - 1);; i = (i + 1) & (cap - 1)) {
        struct mask_entry *e = &slots[i];
        if (!e->key || (e->hash == hash && e->type == type && e->len == len &&
                        memcmp(e->key, key, len) == 0))
            return e;
    }
}

/* Doubles the table; entries move, keys are not copied. */
static int grow(mask_map *m)
{
    size_t cap = m->cap * 2;
    struct mask_entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct mask_entry *e = &m->slots[i];
        if (e->key)
            *find_slot(slots, cap, e->hash, e->type, e->key, e->len) = *e;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* The index of a normalised key, added when new; 0 when out of memory. */
static uint32_t index_of(mask_map *m, uint8_t type, const char *key, size_t len)
{
    uint64_t h = hash_key(type, key, len);
    struct mask_entry *e = find_slot(m->slots, m->cap, h, type, key, len);
    if (e->key)
        return e->index;
    if ((m->used + 1) * 2 > m->cap) {
        if (grow(m) != 0)
            return 0;
        e = find_slot(m->slots, m->cap, h, type, key, len);
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return 0;
    memcpy(copy, key, len);
    copy[len] = '\0';
    *e = (struct mask_entry){h, copy, len, ++m->next[type], type};
    m->used++;
    return e->index;
}

int mask_map_placeholder(mask_map *m, pii_entity type, const char *value,
                         size_t len, char *out)
{
    if (type < PII_NONE || type >= PII_ENTITY_COUNT)
        type = PII_NONE;
    char stack[256];
    char *buf = len <= sizeof stack ? stack : malloc(len);
    if (!buf)
        return -1;
    size_t n = normalise(type, value, len, buf);
    uint32_t idx = index_of(m, (uint8_t)type, buf, n);
    explicit_bzero(buf, n);
    if (buf != stack)
        free(buf);
    if (idx == 0)
        return -1;
    return snprintf(out, MASK_PLACEHOLDER_MAX, "<%s_%u>", mask_type_label(type),
                    idx);
}

json_t *mask_map_counts(const mask_map *m)
{
    json_t *o = json_object();
    for (int t = 0; o && t < PII_ENTITY_COUNT; t++) {
        if (m->next[t] > 0 &&
            json_object_set_new(o, mask_type_label((pii_entity)t),
                                json_integer(m->next[t])) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
