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

/* Order of a min-heap on "how good an entry is": the root is the worst
 * of the kept entries, the one a better candidate replaces. */
static int worse(const struct vcount *x, const struct vcount *y)
{
    const struct vcount *const px = x, *const py = y;
    return by_count_desc(&px, &py) > 0;
}

static void sift_down(struct vcount **h, size_t n, size_t i)
{
    for (;;) {
        size_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && worse(h[l], h[w]))
            w = l;
        if (r < n && worse(h[r], h[w]))
            w = r;
        if (w == i)
            return;
        struct vcount *t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void sift_up(struct vcount **h, size_t i)
{
    while (i > 0 && worse(h[i], h[(i - 1) / 2])) {
        struct vcount *t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* Keeps the k best entries in a bounded heap, O(n log k), instead of
 * sorting every distinct value of a column to report ten of them. */
struct vcount **counter_top(const struct counter *c, size_t k, size_t *n)
{
    *n = 0;
    if (c->used == 0 || k == 0)
        return NULL;
    size_t cap = k < c->used ? k : c->used;
    struct vcount **h = malloc(cap * sizeof *h);
    if (!h) {
        *n = SIZE_MAX;
        return NULL;
    }
    size_t m = 0;
    for (size_t i = 0; i < c->cap; i++) {
        struct vcount *s = &c->slots[i];
        if (!s->value)
            continue;
        if (m < cap) {
            h[m] = s;
            sift_up(h, m++);
        } else if (worse(h[0], s)) {
            h[0] = s;
            sift_down(h, m, 0);
        }
    }
    qsort(h, m, sizeof *h, by_count_desc);
    *n = m;
    return h;
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
