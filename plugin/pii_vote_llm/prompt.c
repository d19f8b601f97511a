/* What the model is told and shown: the entity list, the answer schema and
 * the per-column facts.  Facts are built member by member from named
 * fields so that nothing holding a value (topValues, min, max) can slip
 * into a prompt. */
#include "pii_vote_llm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The names are those of plugin/pii_common/pii.h (pii_entity_name), which
 * pii_tag reads back; the unit test checks that both lists agree. */
static const struct {
    const char *name, *what;
} ENTITIES[] = {
    {"EMAIL", "an e-mail address"},
    {"PHONE", "a telephone or mobile number"},
    {"IBAN", "an international bank account number"},
    {"CREDIT_CARD", "a payment card number"},
    {"US_SSN", "a US social security number"},
    {"FR_NIR", "a French social security number (NIR)"},
    {"ES_NIF", "a Spanish tax id of a person (DNI/NIE)"},
    {"IT_FISCAL_CODE", "an Italian codice fiscale"},
    {"UK_NHS", "a UK NHS number"},
    {"PL_PESEL", "a Polish PESEL number"},
    {"DE_TAX_ID", "a German tax id (Steuer-ID)"},
    {"IP_ADDRESS", "an IPv4 or IPv6 address"},
    {"MAC_ADDRESS", "a network MAC address"},
    {"DATE_OF_BIRTH", "a person's birth date (not any date)"},
    {"PERSON_NAME", "a person's first, last or full name"},
    {"ADDRESS", "a street address of a person"},
    {"POSTCODE", "a postal code"},
};
#define N_ENTITIES (sizeof ENTITIES / sizeof ENTITIES[0])

/* Longest column or table description copied into a prompt, in bytes. */
#define MAX_DESCRIPTION 200

const char *pv_entity_canonical(const char *name)
{
    for (size_t i = 0; name && i < N_ENTITIES; i++)
        if (strcasecmp(name, ENTITIES[i].name) == 0)
            return ENTITIES[i].name;
    return NULL;
}

/* vsnprintf into a growing buffer; the buffer is freed on failure. */
struct buf {
    char *s;
    size_t len, cap;
    int failed;
};

static void buf_add(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void buf_add(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->failed || n < 0) {
        b->failed = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->len + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static char *buf_take(struct buf *b)
{
    if (b->failed) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

char *pv_system_prompt(void)
{
    struct buf b = {0};
    buf_add(&b, "You classify the columns of a database table by the kind "
                "of personal data (PII) they hold. You see only metadata: "
                "column names, data types, catalog descriptions, profile "
                "statistics (typeClass, nullFraction, uniqueness, "
                "avgLength) and value shapes, where A is an upper-case "
                "letter, a a lower-case letter, 9 a digit and other "
                "characters are kept; counts say how often a shape occurs. "
                "You never see values.\n\nFor every column give `entity`, "
                "one of:\n");
    for (size_t i = 0; i < N_ENTITIES; i++)
        buf_add(&b, "- %s: %s\n", ENTITIES[i].name, ENTITIES[i].what);
    buf_add(&b, "or null when not PII (identifiers of records, codes, "
                "amounts, flags, free text, dates other than a birth "
                "date). `confidence` is 0 to 1. Answer every column "
                "listed, by its exact name, as JSON following the given "
                "schema.");
    return buf_take(&b);
}

char *pv_answer_schema(void)
{
    json_t *names = json_array();
    for (size_t i = 0; names && i < N_ENTITIES; i++)
        json_array_append_new(names, json_string(ENTITIES[i].name));
    if (names)
        json_array_append_new(names, json_null());
    json_t *row =
        json_pack("{s:s, s:[s,s,s], s:b, s:{s:{s:s}, s:{s:[s,s], s:o}, "
                  "s:{s:s, s:i, s:i}}}",
                  "type", "object", "required", "name", "entity", "confidence",
                  "additionalProperties", 0, "properties", "name", "type",
                  "string", "entity", "type", "string", "null", "enum", names,
                  "confidence", "type", "number", "minimum", 0, "maximum", 1);
    json_t *schema =
        json_pack("{s:s, s:[s], s:b, s:{s:{s:s, s:o}}}", "type", "object",
                  "required", "columns", "additionalProperties", 0,
                  "properties", "columns", "type", "array", "items", row);
    char *text = schema ? json_dumps(schema, JSON_COMPACT) : NULL;
    json_decref(schema);
    return text;
}

/* A copy of at most MAX_DESCRIPTION bytes, cut on a UTF-8 boundary. */
static json_t *short_text(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!s || n == 0)
        return NULL;
    if (n > MAX_DESCRIPTION) {
        n = MAX_DESCRIPTION;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return json_stringn(s, n);
}

/* [{shape, count}] with only those two members, or NULL when none. */
static json_t *shapes_of(const json_t *prof)
{
    const json_t *shapes = json_object_get(prof, "shapes"), *one;
    size_t i;
    json_t *out = json_array();
    json_array_foreach(shapes, i, one)
    {
        const json_t *shape = json_object_get(one, "shape");
        if (json_is_string(shape))
            json_array_append_new(
                out, json_pack("{s:O, s:O?}", "shape", shape, "count",
                               json_object_get(one, "count")));
    }
    if (json_array_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static void copy_typed(json_t *dst, const char *key, const json_t *v,
                       int (*ok)(const json_t *))
{
    if (v && ok(v))
        json_object_set(dst, key, (json_t *)v);
}

static int is_string(const json_t *v)
{
    return json_is_string(v);
}
static int is_number(const json_t *v)
{
    return json_is_number(v);
}

/* Facts of one column; profile statistics only from the allowed members. */
static json_t *column_facts(const json_t *col, const json_t *prof)
{
    const json_t *type = json_object_get(col, "dataType");
    if (!json_is_string(type))
        type = json_object_get(prof, "dataType");
    json_t *f = json_pack("{s:O}", "name", json_object_get(col, "name"));
    if (!f)
        return NULL;
    copy_typed(f, "type", type, is_string);
    json_t *desc = short_text(json_object_get(col, "description"));
    if (desc)
        json_object_set_new(f, "description", desc);
    copy_typed(f, "typeClass", json_object_get(prof, "typeClass"), is_string);
    copy_typed(f, "nullFraction", json_object_get(prof, "nullFraction"),
               is_number);
    copy_typed(f, "uniqueness", json_object_get(prof, "uniqueness"), is_number);
    copy_typed(f, "avgLength", json_object_get(prof, "avgLength"), is_number);
    json_t *shapes = shapes_of(prof);
    if (shapes)
        json_object_set_new(f, "shapes", shapes);
    return f;
}

json_t *pv_column_facts(const json_t *table, const json_t *profile)
{
    const json_t *cols = json_object_get(table, "columns"), *col;
    const json_t *profs = json_object_get(profile, "columns");
    json_t *out = json_array();
    size_t i;
    json_array_foreach(cols, i, col)
    {
        const char *name = json_string_value(json_object_get(col, "name"));
        if (!out || !name || !*name)
            continue;
        json_t *f = column_facts(col, json_object_get(profs, name));
        if (!f || json_array_append_new(out, f) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

char *pv_user_prompt(const json_t *table, const json_t *facts, size_t from,
                     size_t n)
{
    json_t *chunk = json_array(), *wrap = NULL;
    for (size_t i = from; chunk && i < from + n; i++)
        json_array_append(chunk, json_array_get(facts, i));
    wrap = chunk ? json_pack("{s:o}", "columns", chunk) : NULL;
    char *cols =
        wrap ? json_dumps(wrap, JSON_COMPACT | JSON_REAL_PRECISION(4)) : NULL;
    json_decref(wrap);
    if (!cols)
        return NULL;
    const char *name = json_string_value(json_object_get(table, "name"));
    json_t *desc = short_text(json_object_get(table, "description"));
    struct buf b = {0};
    buf_add(&b, "Table: %s\n", name ? name : "(unnamed)");
    if (desc)
        buf_add(&b, "Table description: %s\n", json_string_value(desc));
    buf_add(&b, "Columns %zu to %zu of %zu (JSON):\n%s\n", from + 1, from + n,
            json_array_size(facts), cols);
    buf_add(&b, "Give the PII entity of each of these %zu columns.", n);
    json_decref(desc);
    free(cols);
    return buf_take(&b);
}
