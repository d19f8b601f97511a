/* Exact counting of distinct strings: an open-addressing hash table.
 * Internal to profile_common. */
#ifndef PROFILE_COUNTER_H
#define PROFILE_COUNTER_H

#include <stddef.h>
#include <stdint.h>

struct vcount {
    const char *value; /* borrowed, or owned when the counter copies */
    uint64_t hash;
    size_t count;
};

struct counter {
    struct vcount *slots;
    size_t cap, used;
    int owns; /* values are strdup'd and freed with the counter */
};

/* Returns 0 or -1 on allocation failure. */
int counter_init(struct counter *c, size_t expected, int owns);
/* Counts one occurrence of v; returns 0 or -1 on allocation failure. */
int counter_add(struct counter *c, const char *v);
/* A malloc'd array of pointers to the k most frequent slots, most
 * frequent first (ties: byte order of the value); *n receives its length
 * (at most k).  NULL with *n == 0 when empty; NULL with *n == SIZE_MAX on
 * allocation failure. */
struct vcount **counter_top(const struct counter *c, size_t k, size_t *n);
void counter_free(struct counter *c);

#endif
