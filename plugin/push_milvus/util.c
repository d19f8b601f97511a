/* Small helpers of push_milvus: formatting, hashes, UTF-8 safe cuts. */
#include "push_milvus.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* malloc'd, the caller frees; NULL when out of memory.  Any thread. */
char *pm_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

/* Writes the entity's message into j->err (cut to fit); returns rc. */
int pm_fail(struct pm_job *j, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* FNV-1a 64, chainable: pass the previous result as h.  Pure. */
uint64_t pm_fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A prefix length <= max that ends on a UTF-8 boundary.  Pure. */
size_t pm_utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t cut = max;
    /* back off continuation bytes so that no sequence is split */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

/* New reference (NULL when out of memory or s is not UTF-8). */
json_t *pm_string_max(const char *s, size_t max)
{
    size_t n = strlen(s);
    return json_stringn(s, pm_utf8_cut(s, n, max));
}

static void buf_grow(struct pm_buf *b, size_t more)
{
    if (b->oom || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

/* Appends; on failure b->oom is set and later appends do nothing. */
void pm_buf_add(struct pm_buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_grow(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* printf-style pm_buf_add. */
void pm_buf_addf(struct pm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    buf_grow(b, (size_t)n);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Frees the text and resets b for reuse. */
void pm_buf_free(struct pm_buf *b)
{
    free(b->p);
    *b = (struct pm_buf){0};
}
