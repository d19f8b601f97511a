/*
 * The pass options, read once in init().  The host has already checked
 * the JSON types and filled in defaults; this file checks the values
 * (entity names, ranges) and lays partial `thresholds` objects over the
 * built-in defaults, so `thresholds: {EMAIL: 0.9}` changes one entity.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pii_tag.h"

/* Checksum and structure validators make false positives rare, so most
 * types need 80% of the values to validate; phone formats are looser
 * (national formats overlap with other numbers) but rarely mixed with
 * other numbers in one column, hence 0.7; the weak heuristic types only
 * count with a name signal, whose bonus is part of the score. */
static double default_threshold(pii_entity e)
{
    if (e == PII_PHONE)
        return 0.7;
    if (pii_entity_is_weak(e))
        return 0.6;
    return 0.8;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int load_vote(const json_t *cfg, struct pt_config *c, char *err,
                     size_t errlen)
{
    const char *v = json_string_value(json_object_get(cfg, "vote"));
    if (!v || strcasecmp(v, "recognizers") == 0)
        c->vote = PT_VOTE_RECOGNIZERS;
    else if (strcasecmp(v, "both") == 0)
        c->vote = PT_VOTE_BOTH;
    else if (strcasecmp(v, "either") == 0)
        c->vote = PT_VOTE_EITHER;
    else
        return fail(err, errlen,
                    "option vote: `%s` is not one of recognizers, both, "
                    "either",
                    v);
    return 0;
}

static int load_thresholds(const json_t *cfg, struct pt_config *c, char *err,
                           size_t errlen)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)json_object_get(cfg, "thresholds"), key, val)
    {
        pii_entity e = pii_entity_from_name(key);
        if (e == PII_NONE)
            return fail(err, errlen, "option thresholds: unknown entity `%s`",
                        key);
        double t = json_number_value(val);
        if (!json_is_number(val) || t < 0.0 || t > 1.0)
            return fail(err, errlen,
                        "option thresholds.%s: must be a number in 0..1", key);
        c->threshold[e] = t;
    }
    return 0;
}

/* A missing or null `entities` enables every type. */
static int load_entities(const json_t *cfg, struct pt_config *c, char *err,
                         size_t errlen)
{
    const json_t *list = json_object_get(cfg, "entities");
    if (!list || json_is_null(list))
        return 0;
    for (int e = 1; e < PII_ENTITY_COUNT; e++)
        c->enabled[e] = false;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *name = json_string_value(item);
        pii_entity e = name ? pii_entity_from_name(name) : PII_NONE;
        if (e == PII_NONE)
            return fail(err, errlen, "option entities: unknown entity `%s`",
                        name ? name : "(not a string)");
        c->enabled[e] = true;
    }
    return 0;
}

static int load_numbers(const json_t *cfg, struct pt_config *c, char *err,
                        size_t errlen)
{
    const json_t *mv = json_object_get(cfg, "min_values");
    const json_t *nw = json_object_get(cfg, "name_weight");
    if (mv)
        c->min_values = (long)json_integer_value(mv);
    if (nw)
        c->name_weight = json_number_value(nw);
    if (c->min_values < 0)
        return fail(err, errlen, "option min_values: %s", "must be >= 0");
    if (c->name_weight < 0.0 || c->name_weight > 1.0)
        return fail(err, errlen, "option name_weight: %s",
                    "must be a number in 0..1");
    return 0;
}

int pt_config_load(const json_t *cfg, struct pt_config *c, char *err,
                   size_t errlen)
{
    memset(c, 0, sizeof *c);
    for (int e = 1; e < PII_ENTITY_COUNT; e++) {
        c->threshold[e] = default_threshold((pii_entity)e);
        c->enabled[e] = true;
    }
    c->min_values = 10;
    c->name_weight = 0.2;
    if (load_vote(cfg, c, err, errlen) != 0 ||
        load_thresholds(cfg, c, err, errlen) != 0 ||
        load_entities(cfg, c, err, errlen) != 0 ||
        load_numbers(cfg, c, err, errlen) != 0)
        return -1;
    return 0;
}

const char *pt_vote_name(enum pt_vote v)
{
    switch (v) {
    case PT_VOTE_BOTH:
        return "both";
    case PT_VOTE_EITHER:
        return "either";
    default:
        return "recognizers";
    }
}
