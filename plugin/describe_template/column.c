/*
 * Column sentences: "<subject>, <facts>[ in the sample]."  The subject is
 * the PII entity, the referenced column, the key or the type; the facts are
 * counts of the profile (uniqueness, nulls, distinct values).  Only named
 * members are read: a profile's min, max, topValues and shapes (values or
 * value-derived) never reach a sentence.
 */
#include "describe_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct label {
    const char *key, *text;
};

/* pii_common's entities; one not listed is said as "Personal data". */
static const struct label pii_labels[] = {
    {"EMAIL", "E-mail address"},
    {"PHONE", "Phone number"},
    {"IBAN", "IBAN"},
    {"CREDIT_CARD", "Credit card number"},
    {"PERSON_NAME", "Person name"},
    {"ADDRESS", "Postal address"},
    {"POSTCODE", "Postcode"},
    {"DATE_OF_BIRTH", "Date of birth"},
    {"IP_ADDRESS", "IP address"},
    {"MAC_ADDRESS", "MAC address"},
    {"US_SSN", "US social security number"},
    {"UK_NHS", "UK NHS number"},
    {"DE_TAX_ID", "German tax ID"},
    {"FR_NIR", "French social security number"},
    {"ES_NIF", "Spanish tax ID"},
    {"IT_FISCAL_CODE", "Italian fiscal code"},
    {"PL_PESEL", "Polish PESEL number"},
    {NULL, NULL}};

/* OpenMetadata dataType first (it tells a date from a timestamp), then the
 * profile's typeClass. */
static const struct label type_labels[] = {{"INT", "Integer"},
                                           {"SMALLINT", "Integer"},
                                           {"BIGINT", "Integer"},
                                           {"TINYINT", "Integer"},
                                           {"BYTEINT", "Integer"},
                                           {"LONG", "Integer"},
                                           {"NUMERIC", "Number"},
                                           {"DECIMAL", "Number"},
                                           {"NUMBER", "Number"},
                                           {"DOUBLE", "Number"},
                                           {"FLOAT", "Number"},
                                           {"MONEY", "Amount"},
                                           {"BOOLEAN", "Flag"},
                                           {"DATE", "Date"},
                                           {"DATETIME", "Timestamp"},
                                           {"TIMESTAMP", "Timestamp"},
                                           {"TIMESTAMPZ", "Timestamp"},
                                           {"TIME", "Time of day"},
                                           {"INTERVAL", "Duration"},
                                           {"CHAR", "Text"},
                                           {"VARCHAR", "Text"},
                                           {"TEXT", "Text"},
                                           {"STRING", "Text"},
                                           {"MEDIUMTEXT", "Text"},
                                           {"UUID", "UUID"},
                                           {"JSON", "JSON document"},
                                           {"BINARY", "Binary data"},
                                           {"VARBINARY", "Binary data"},
                                           {"BYTEA", "Binary data"},
                                           {"BLOB", "Binary data"},
                                           {"BYTES", "Binary data"},
                                           {"ARRAY", "Array"},
                                           {"ENUM", "Enumerated value"},
                                           {"integer", "Integer"},
                                           {"decimal", "Number"},
                                           {"boolean", "Flag"},
                                           {"temporal", "Date or time"},
                                           {"text", "Text"},
                                           {"uuid", "UUID"},
                                           {"json", "JSON document"},
                                           {"binary", "Binary data"},
                                           {NULL, NULL}};

static const char *lookup(const struct label *t, const char *key)
{
    for (; key && t->key; t++)
        if (strcmp(t->key, key) == 0)
            return t->text;
    return NULL;
}

/* The pii aspect's entry of a column when it is tagged, else NULL. */
static const json_t *pii_entry(const struct dt_entity *e, const char *name)
{
    const json_t *c = json_object_get(json_object_get(e->pii, "columns"), name);
    const char *status = dt_str(c, "status");
    if (!status || (strcmp(status, "tagged") && strcmp(status, "human")))
        return NULL;
    return c;
}

/* See describe_template.h. */
bool dt_pii_tagged(const struct dt_entity *e, const char *name)
{
    return pii_entry(e, name) != NULL;
}

static char *edge_reference(const json_t *fk, const char *name, bool *oom)
{
    size_t i, k, len;
    json_t *edge;
    json_array_foreach(json_object_get(fk, "edges"), i, edge)
    {
        const char *status = dt_str(edge, "status");
        const char *to = dt_str(edge, "toTable");
        const char *tn = to ? dt_fqn_part(to, 1, &len) : NULL;
        json_t *from = json_object_get(edge, "fromColumns");
        json_t *tocols = json_object_get(edge, "toColumns");
        if (!tn || !status ||
            (strcmp(status, "known") && strcmp(status, "confirmed")))
            continue;
        for (k = 0; k < json_array_size(from); k++) {
            const char *f = json_string_value(json_array_get(from, k));
            const char *c = json_string_value(json_array_get(tocols, k));
            if (!f || !c || strcmp(f, name))
                continue;
            struct dt_buf b = {0};
            dt_buf_addf(&b, "%.*s.%s", (int)len, tn, c);
            *oom = b.oom;
            return b.s;
        }
    }
    return NULL;
}

/* A declared key names the parent column by FQN: keep "table.column". */
static char *declared_reference(const json_t *table, const char *name,
                                bool *oom)
{
    size_t i, k, len;
    json_t *c;
    json_array_foreach(json_object_get(table, "tableConstraints"), i, c)
    {
        const char *type = dt_str(c, "constraintType");
        json_t *cols = json_object_get(c, "columns");
        json_t *refs = json_object_get(c, "referredColumns");
        if (!type || strcmp(type, "FOREIGN_KEY"))
            continue;
        for (k = 0; k < json_array_size(cols); k++) {
            const char *f = json_string_value(json_array_get(cols, k));
            const char *r = json_string_value(json_array_get(refs, k));
            const char *tail = r ? dt_fqn_part(r, 2, &len) : NULL;
            if (!f || !tail || strcmp(f, name))
                continue;
            struct dt_buf b = {0};
            dt_buf_add(&b, tail);
            *oom = b.oom;
            return b.s;
        }
    }
    return NULL;
}

/* See describe_template.h. */
char *dt_column_reference(const struct dt_entity *e, const char *name,
                          bool *oom)
{
    char *r = edge_reference(e->fk, name, oom);
    return r || *oom ? r : declared_reference(e->table, name, oom);
}

/* 1: the column is the primary key, 2: one of its columns, 0: neither. */
static int primary_key(const json_t *table, const json_t *col, const char *name)
{
    const char *cons = dt_str(col, "constraint");
    if (cons && strcmp(cons, "PRIMARY_KEY") == 0)
        return 1;
    size_t i, k;
    json_t *c;
    json_array_foreach(json_object_get(table, "tableConstraints"), i, c)
    {
        const char *type = dt_str(c, "constraintType");
        json_t *cols = json_object_get(c, "columns");
        if (!type || strcmp(type, "PRIMARY_KEY"))
            continue;
        for (k = 0; k < json_array_size(cols); k++) {
            const char *f = json_string_value(json_array_get(cols, k));
            if (f && strcmp(f, name) == 0)
                return json_array_size(cols) == 1 ? 1 : 2;
        }
    }
    return 0;
}

static bool identifier_name(const char *name)
{
    size_t n = strlen(name);
    return strcasecmp(name, "id") == 0 ||
           (n > 3 && strcasecmp(name + n - 3, "_id") == 0);
}

/* What a column is, up to three facts that are not from the sample, and
 * up to three from it. */
struct cparts {
    struct dt_buf subject;
    char *reference;         /* owned */
    const char *fixed[2][2]; /* {words, reference or ""} */
    size_t nfixed;
    char sample[3][48];
    size_t nsample;
    bool qualify; /* the profile read a sample, not the whole table */
};

static void fixed(struct cparts *p, const char *words, const char *ref)
{
    p->fixed[p->nfixed][0] = words;
    p->fixed[p->nfixed++][1] = ref;
}

static void subject(struct cparts *p, const struct dt_entity *e,
                    const json_t *col, const char *name)
{
    const json_t *pii = pii_entry(e, name);
    const json_t *stats =
        json_object_get(json_object_get(e->profile, "columns"), name);
    int pk = primary_key(e->table, col, name);
    const char *type = lookup(type_labels, dt_str(col, "dataType"));
    if (!type)
        type = lookup(type_labels, dt_str(stats, "typeClass"));
    if (pii) {
        const char *label = lookup(pii_labels, dt_str(pii, "entity"));
        dt_buf_add(&p->subject, label ? label : "Personal data");
        dt_buf_add(&p->subject, label ? " (personal data)" : "");
        if (p->reference)
            fixed(p, "references ", p->reference);
    } else if (p->reference)
        dt_buf_addf(&p->subject, "References %s", p->reference);
    else if (pk == 1)
        dt_buf_add(&p->subject, "Primary key");
    else if (identifier_name(name))
        dt_buf_add(&p->subject, "Identifier");
    else
        dt_buf_add(&p->subject, type ? type : "Value");
    if (pk == 2)
        fixed(p, "part of the primary key", "");
}

static void add_text(struct cparts *p, const char *text)
{
    snprintf(p->sample[p->nsample++], sizeof p->sample[0], "%s", text);
}

/* "1,234<unit>". */
static void add_count(struct cparts *p, long long n, const char *unit)
{
    char num[32];
    dt_number(num, sizeof num, n);
    snprintf(p->sample[p->nsample++], sizeof p->sample[0], "%s%s", num, unit);
}

/* Counts only: uniqueness, null fraction, distinct count. */
static void sample_facts(struct cparts *p, const json_t *stats)
{
    json_t *nf = json_object_get(stats, "nullFraction");
    json_t *dc = json_object_get(stats, "distinctCount");
    json_t *un = json_object_get(stats, "uniqueness");
    double nulls = json_is_number(nf) ? json_number_value(nf) : -1;
    long long distinct = json_is_integer(dc) ? json_integer_value(dc) : -1;
    bool unique = json_is_number(un) && json_number_value(un) >= 1.0 &&
                  distinct > 1 && nulls < 1;
    const char *cls = dt_str(stats, "typeClass");
    if (unique)
        add_text(p, "unique");
    double pct = nulls * 100;
    if (nulls == 0)
        add_text(p, "never null");
    else if (nulls >= 1)
        add_text(p, "always null");
    else if (nulls > 0 && pct < 1)
        add_text(p, "under 1 % null");
    else if (pct > 99)
        add_text(p, "over 99 % null");
    else if (nulls > 0)
        add_count(p, (long long)(pct + 0.5), " % null");
    bool flag = cls && strcmp(cls, "boolean") == 0;
    if (!unique && !flag && distinct == 1 && nulls < 1)
        add_text(p, "a single distinct value");
    else if (!unique && !flag && distinct > 1 && nulls < 1)
        add_count(p, distinct, " distinct values");
}

static void render(const void *arg, size_t k, struct dt_buf *b)
{
    const struct cparts *p = arg;
    dt_buf_add(b, p->subject.s ? p->subject.s : "");
    for (size_t i = 0; i < k; i++) {
        if (i < p->nfixed) {
            dt_buf_addf(b, ", %s%s", p->fixed[i][0], p->fixed[i][1]);
            continue;
        }
        size_t s = i - p->nfixed;
        const char *sep = s == 0 ? ", " : i + 1 == k ? " and " : ", ";
        dt_buf_addf(b, "%s%s", sep, p->sample[s]);
    }
    if (k > p->nfixed && p->qualify)
        dt_buf_add(b, " in the sample");
}

/* See describe_template.h. */
char *dt_column_description(const struct dt_entity *e, const json_t *col)
{
    const char *name = dt_str(col, "name");
    struct cparts p = {.nfixed = 0};
    bool oom = false;
    p.reference = name ? dt_column_reference(e, name, &oom) : NULL;
    if (!name || oom)
        return NULL;
    const json_t *stats =
        json_object_get(json_object_get(e->profile, "columns"), name);
    const char *source = dt_str(e->profile, "rowCountSource");
    p.qualify = !source || strcmp(source, "exact") != 0;
    subject(&p, e, col, name);
    sample_facts(&p, stats);
    char *out = p.subject.oom
                    ? NULL
                    : dt_fit(render, &p, p.nfixed + p.nsample, e->max_words);
    free(p.subject.s);
    free(p.reference);
    return out;
}
