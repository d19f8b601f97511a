/*
 * The sentence toolkit: a growing buffer, the word limit, numbers and FQN
 * parts.  The word limit is enforced here, for every sentence, so that no
 * rule elsewhere can exceed it.
 */
#include "describe_template.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct dt_buf *b, size_t extra)
{
    if (b->oom || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return;
    }
    b->s = s;
    b->cap = cap;
}

/* See describe_template.h. */
void dt_buf_addn(struct dt_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* See describe_template.h. */
void dt_buf_add(struct dt_buf *b, const char *s)
{
    dt_buf_addn(b, s, strlen(s));
}

/* See describe_template.h. */
void dt_buf_addf(struct dt_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        dt_buf_addn(b, small, (size_t)n);
        return;
    }
    reserve(b, (size_t)n);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* See describe_template.h. */
size_t dt_words(const char *s)
{
    size_t n = 0;
    bool in = false;
    for (; *s; s++) {
        bool space = isspace((unsigned char)*s) != 0;
        n += !space && !in;
        in = !space;
    }
    return n;
}

/* Keeps the first max words of b. */
static void cut_words(struct dt_buf *b, size_t max)
{
    size_t n = 0, i = 0;
    bool in = false;
    for (; i < b->len; i++) {
        bool space = isspace((unsigned char)b->s[i]) != 0;
        if (!space && !in && ++n > max)
            break;
        in = !space;
    }
    b->len = i;
    b->s[i] = '\0';
}

/* A cut must not leave "(personal" open: drop from the unclosed '('. */
static void close_parenthesis(struct dt_buf *b)
{
    size_t open = b->len;
    int depth = 0;
    for (size_t i = b->len; i-- > 0;) {
        if (b->s[i] == ')')
            depth++;
        else if (b->s[i] == '(' && depth > 0)
            depth--;
        else if (b->s[i] == '(')
            open = i;
    }
    if (open > 0 && open < b->len) {
        b->len = open;
        b->s[open] = '\0';
    }
}

static void trim_end(struct dt_buf *b)
{
    while (b->len > 0 && strchr(" \t\r\n,;:.", b->s[b->len - 1]))
        b->len--;
    b->s[b->len] = '\0';
}

/* See describe_template.h. */
char *dt_fit(dt_render_fn render, const void *arg, size_t nparts, int max_words)
{
    struct dt_buf b = {0};
    size_t max = max_words > 0 ? (size_t)max_words : 1;
    for (size_t k = nparts + 1; k-- > 0;) {
        b.len = 0;
        render(arg, k, &b);
        dt_buf_add(&b, ""); /* a buffer exists even for an empty render */
        if (b.oom || dt_words(b.s) <= max)
            break;
    }
    if (!b.oom && dt_words(b.s) > max) {
        cut_words(&b, max);
        close_parenthesis(&b);
    }
    if (!b.oom) {
        trim_end(&b);
        dt_buf_add(&b, ".");
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* See describe_template.h. */
void dt_number(char *out, size_t size, long long n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", n < 0 ? -n : n);
    size_t o = 0;
    if (n < 0 && o + 1 < size)
        out[o++] = '-';
    for (int i = 0; i < len && o + 1 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0 && o + 2 < size)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* See describe_template.h. */
const char *dt_fqn_part(const char *fqn, int k, size_t *len)
{
    bool quoted = false;
    size_t end = strlen(fqn);
    for (size_t i = end + 1; i-- > 0;) {
        char c = i > 0 ? fqn[i - 1] : '.';
        if (c == '"')
            quoted = !quoted;
        if (c != '.' || (quoted && i > 0))
            continue;
        if (--k == 0) {
            *len = end - i;
            return fqn + i;
        }
        end = i - 1;
    }
    return NULL;
}

/* See describe_template.h. */
const char *dt_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* See describe_template.h. */
void dt_list(struct dt_buf *b, const json_t *list, size_t max, const char *noun)
{
    size_t n = json_array_size(list);
    size_t shown = n > max ? max : n;
    for (size_t i = 0; i < shown; i++) {
        const char *sep = i == 0                         ? ""
                          : i + 1 == shown && shown == n ? " and "
                                                         : ", ";
        dt_buf_add(b, sep);
        dt_buf_add(b, json_string_value(json_array_get(list, i)));
    }
    if (n > shown)
        dt_buf_addf(b, " and %zu more %s%s", n - shown, noun,
                    n - shown == 1 ? "" : "s");
}
