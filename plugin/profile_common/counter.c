/* Exact distinct counting for the sample; see counter.h. */
#include "counter.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

int counter_init(struct counter *c, size_t expected, int owns)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    c->slots = calloc(cap, sizeof *c->slots);
    c->cap = cap;
    c->used = 0;
    c->owns = owns;
    return c->slots ? 0 : -1;
}

static struct vcount *find_slot(struct vcount *slots, size_t cap, const char *v,
                                uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].value &&
           (slots[i].hash != h || strcmp(slots[i].value, v) != 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(struct counter *c)
{
    size_t cap = c->cap * 2;
    struct vcount *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].value)
            *find_slot(slots, cap, c->slots[i].value, c->slots[i].hash) =
                c->slots[i];
    free(c->slots);
    c->slots = slots;
    c->cap = cap;
    return 0;
}

int counter_add(struct counter *c, const char *v)
{
    if ((c->used + 1) * 2 > c->cap && grow(c) != 0)
        return -1;
    uint64_t h = fnv1a(v);
    struct vcount *s = find_slot(c->slots, c->cap, v, h);
    if (s->value) {
        s->count++;
        return 0;
    }
    const char *stored = c->owns ? strdup(v) : v;
    if (!stored)
        return -1;
    s->value = stored;
    s->hash = h;
    s->count = 1;
    c->used++;
    return 0;
}

static int by_count_desc(const void *a, const void *b)
{
    const struct vcount *x = *(const struct vcount *const *)a;
    const struct vcount *y = *(const struct vcount *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->value, y->value);
}

struct vcount **counter_sorted(const struct counter *c, size_t *n)
{
    *n = 0;
    if (c->used == 0)
        return NULL;
    struct vcount **v = malloc(c->used * sizeof *v);
    if (!v) {
        *n = SIZE_MAX;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].value)
            v[k++] = &c->slots[i];
    qsort(v, k, sizeof *v, by_count_desc);
    *n = k;
    return v;
}

void counter_free(struct counter *c)
{
    if (c->owns && c->slots)
        for (size_t i = 0; i < c->cap; i++)
            free((char *)c->slots[i].value);
    free(c->slots);
    c->slots = NULL;
    c->cap = c->used = 0;
}
