/*
 * Value shapes: the form of a value without its content, so that a
 * non-raw aspect (and the LLM vote on PII) can tell an e-mail from a phone
 * number without seeing either.
 */
#include "profile_common.h"

#include <stdlib.h>
#include <string.h>

/* Decodes one UTF-8 sequence at s.  Returns its length (1-4) and the code
 * point in *cp, or 0 for an invalid sequence. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t c;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        c = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        c = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/* 'A' or 'a' for a non-ASCII letter, 0 for anything else.  Covers the
 * scripts of European data (Latin-1, Latin Extended-A, Greek, Cyrillic);
 * other letters count as lower case, symbols and punctuation are kept. */
static char non_ascii_letter(uint32_t c)
{
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return 'A';
    if (c >= 0xDF && c <= 0xFF && c != 0xF7)
        return 'a';
    if (c >= 0x100 && c <= 0x17F)
        return (c % 2 == 0) ? 'A' : 'a';
    if (c >= 0x391 && c <= 0x3A9)
        return 'A';
    if (c >= 0x3AC && c <= 0x3CE)
        return 'a';
    if (c >= 0x400 && c <= 0x42F)
        return 'A';
    if (c >= 0x430 && c <= 0x45F)
        return 'a';
    if (c >= 0x180 && c < 0x2000)
        return 'a'; /* other alphabets before General Punctuation */
    if (c >= 0x3040 && c <= 0x9FFF)
        return 'a'; /* kana, CJK */
    if (c >= 0xAC00 && c <= 0xD7A3)
        return 'a'; /* Hangul */
    return 0;
}

static char ascii_shape(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return 'A';
    if (ch >= 'a' && ch <= 'z')
        return 'a';
    if (ch >= '0' && ch <= '9')
        return '9';
    return (char)ch;
}

/* Appends the shape of one character; returns bytes consumed from s. */
static size_t shape_char(const unsigned char *s, char *buf, size_t *len)
{
    uint32_t cp;
    size_t n = utf8_decode(s, &cp);
    if (n == 0) {
        buf[(*len)++] = '?';
        return 1;
    }
    if (n == 1) {
        buf[(*len)++] = ascii_shape(s[0]);
        return 1;
    }
    char letter = non_ascii_letter(cp);
    if (letter) {
        buf[(*len)++] = letter;
    } else {
        memcpy(buf + *len, s, n);
        *len += n;
    }
    return n;
}

void prof_shape(const char *value, char *out, size_t outlen)
{
    char buf[PROF_SHAPE_BUF];
    size_t len = 0, chars = 0;
    const unsigned char *s = (const unsigned char *)(value ? value : "");
    while (*s && chars < PROF_SHAPE_MAX) {
        s += shape_char(s, buf, &len);
        chars++;
    }
    if (*s) {
        memcpy(buf + len, "\xE2\x80\xA6", 3); /* U+2026 HORIZONTAL ELLIPSIS */
        len += 3;
    }
    buf[len] = '\0';
    if (outlen == 0)
        return;
    if (len >= outlen) {
        /* Cut on a character boundary. */
        len = outlen - 1;
        while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, buf, len);
    out[len] = '\0';
}

size_t prof_utf8_length(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

json_t *prof_json_string(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    /* Invalid UTF-8 (e.g. a SQL_ASCII database): keep valid sequences. */
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t k = utf8_decode(p, &cp);
        if (k == 0) {
            copy[o++] = '?';
            p++;
        } else {
            memcpy(copy + o, p, k);
            o += k;
            p += k;
        }
    }
    copy[o] = '\0';
    j = json_string(copy);
    free(copy);
    return j;
}
