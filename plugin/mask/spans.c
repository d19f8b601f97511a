/*
 * Free-text masking: the validated PII substrings pii_find_spans() finds
 * are replaced by their placeholders, the rest of the text is kept byte
 * for byte.
 */
#include "mask_internal.h"

#include <stdlib.h>
#include <string.h>

/* Spans asked for per pii_find_spans() call; longer texts loop. */
#define SPAN_BATCH 16

struct strbuf {
    char *p;
    size_t len, cap;
};

static int sb_add(struct strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* The buffer may hold raw text: wipe before freeing. */
static void sb_wipe(struct strbuf *b)
{
    if (b->p) {
        explicit_bzero(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
}

/* Appends text[*done, span start) and the span's placeholder. */
static int add_span(mask_map *m, struct strbuf *b, const char *text,
                    size_t *done, const pii_span *sp)
{
    char ph[MASK_PLACEHOLDER_MAX];
    int n = mask_map_placeholder(m, sp->entity, text + sp->start, sp->len, ph);
    if (n < 0 || sb_add(b, text + *done, sp->start - *done) != 0 ||
        sb_add(b, ph, (size_t)n) != 0)
        return -1;
    *done = sp->start + sp->len;
    return 0;
}

/* Runs the span search from `from` on; spans are made absolute.  Returns
 * the count, -2 on a matching error or an out-of-order span. */
static int next_spans(const pii_recognizers *r, pii_scratch *s,
                      const char *text, size_t len, size_t from, pii_span *sp)
{
    int n = pii_find_spans(r, s, text + from, len - from, sp, SPAN_BATCH);
    if (n < 0)
        return -2;
    size_t prev_end = from;
    for (int i = 0; i < n; i++) {
        sp[i].start += from;
        if (sp[i].start < prev_end || sp[i].len > len - sp[i].start)
            return -2;
        prev_end = sp[i].start + sp[i].len;
    }
    return n;
}

int mask_text(const pii_recognizers *r, pii_scratch *s, mask_map *m,
              const char *text, size_t len, char **out, size_t *nspans)
{
    struct strbuf b = {0};
    pii_span sp[SPAN_BATCH];
    size_t done = 0, from = 0, found = 0;
    *out = NULL;
    for (;;) {
        int n = next_spans(r, s, text, len, from, sp);
        if (n < 0) {
            sb_wipe(&b);
            return n;
        }
        for (int i = 0; i < n; i++) {
            if (add_span(m, &b, text, &done, &sp[i]) != 0) {
                sb_wipe(&b);
                return -1;
            }
        }
        found += (size_t)n;
        /* A full batch may have left spans behind; an empty span would
         * never advance, so stop there. */
        if (n < SPAN_BATCH || done <= from || done >= len)
            break;
        from = done;
    }
    *nspans += found;
    if (found == 0)
        return 0;
    if (sb_add(&b, text + done, len - done) != 0) {
        sb_wipe(&b);
        return -1;
    }
    *out = b.p;
    return 1;
}
