/*
 * Counting: runs the recognizers over every non-null sampled value of a
 * column and keeps only counts (per entity: matched, validated) plus two
 * facts about the value shapes that can contradict a column name.  No
 * value survives this file.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "pii_tag.h"

/* "0".."9" (surrounding blanks allowed): a code or a flag, not PII. */
static bool is_small_int(const char *v, size_t len)
{
    while (len > 0 && isspace((unsigned char)v[len - 1]))
        len--;
    while (len > 0 && isspace((unsigned char)*v)) {
        v++;
        len--;
    }
    return len == 1 && isdigit((unsigned char)v[0]);
}

static bool is_bool_word(const char *v)
{
    static const char *const words[] = {"t",   "f",  "true", "false", "y", "n",
                                        "yes", "no", "on",   "off",   NULL};
    for (int i = 0; words[i]; i++)
        if (strcasecmp(v, words[i]) == 0)
            return true;
    return false;
}

/* A year like 1987 or 2031: what made other tools call a year column a
 * CVV or a postcode. */
static bool is_year(const char *v, size_t len)
{
    if (len != 4)
        return false;
    for (size_t i = 0; i < 4; i++)
        if (!isdigit((unsigned char)v[i]))
            return false;
    int y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 +
            (v[3] - '0');
    return y >= 1900 && y <= 2100;
}

static void count_value(const pii_recognizers *r, pii_scratch *s, const char *v,
                        size_t len, struct pt_counts *out, bool *all_flags,
                        bool *all_years)
{
    pii_value_result res = {0, 0};
    pii_classify_value(r, s, v, len, &res);
    for (int e = 1; e < PII_ENTITY_COUNT; e++) {
        uint32_t bit = 1u << e;
        out->matched[e] += (res.matched & bit) != 0;
        out->validated[e] += (res.validated & bit) != 0;
    }
    if (*all_flags && !is_small_int(v, len) && !is_bool_word(v))
        *all_flags = false;
    if (*all_years && !is_year(v, len))
        *all_years = false;
}

int pt_count_column(const pii_recognizers *r, pii_scratch *s,
                    const json_t *rows, size_t col, struct pt_counts *out,
                    int (*should_stop)(void *), void *stop_arg)
{
    memset(out, 0, sizeof *out);
    bool all_flags = true, all_years = true;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const json_t *cell = json_array_get(row, col);
        if (!json_is_string(cell))
            continue; /* SQL NULL (or a malformed cell: not a value) */
        if (should_stop && (i & 4095) == 4095 && should_stop(stop_arg))
            return -1;
        count_value(r, s, json_string_value(cell), json_string_length(cell),
                    out, &all_flags, &all_years);
        out->values++;
    }
    out->flag_like = out->values > 0 && all_flags;
    out->year_like = out->values > 0 && all_years;
    return 0;
}
