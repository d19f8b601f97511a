/*
 * fingerprint: per table, a value-free fingerprint of every column of the
 * raw sample (type class, counts, distinct estimate, uniqueness, range,
 * hashes of the top values and a bottom-k sketch of value hashes), for
 * fk_discover to match columns across tables and runs.
 *
 * It consumes the raw `sample`, so the host gives it no network and no
 * state store; its output is not raw and is persisted by the host.
 */
#include "fingerprint_internal.h"

#include <catalog_sync/pass.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The profile pass's default, so that both hash values alike when
 * neither is configured. */
#define DEFAULT_HASH_KEY "catalog-sync default profile key; set hash_key"

struct fp_state {
    const cs_host_api *host;
    struct fp_options opts;
};

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {"sample", CS_ASPECT_RAW},
                                          {"profile", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {{"fingerprint", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"hash_key", CS_OPT_STRING, "\"" DEFAULT_HASH_KEY "\"",
     "secret key of the value hashes; every fingerprint compared must use "
     "the same key",
     0},
    {"top_k", CS_OPT_INT, "100", "hashes of the most frequent values kept", 0},
    {"kmv_k", CS_OPT_INT, "64", "bottom-k sketch size per column (1..64)", 0},
    {NULL, 0, NULL, NULL, 0}};

static void fp_fini(void *state)
{
    free(state);
}

static int fp_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    const json_t *cfg = host->config(ctx);
    const char *key = json_string_value(json_object_get(cfg, "hash_key"));
    json_t *top = json_object_get(cfg, "top_k");
    json_t *kmv = json_object_get(cfg, "kmv_k");
    json_int_t top_k = json_is_integer(top) ? json_integer_value(top) : 100;
    json_int_t kmv_k = json_is_integer(kmv) ? json_integer_value(kmv) : 64;
    if (top_k < 0 || top_k > 100000 || kmv_k < 1 || kmv_k > FK_KMV_K) {
        host->set_error(ctx,
                        "config: top_k must be in 0..100000 and kmv_k "
                        "in 1..%d",
                        FK_KMV_K);
        return CS_ERR_INVALID;
    }
    struct fp_state *s = calloc(1, sizeof *s);
    if (!s)
        return CS_ERR_NOMEM;
    s->host = host;
    if (!key)
        key = DEFAULT_HASH_KEY;
    host->secret_register(ctx, key);
    fk_key_from_string(key, s->opts.key);
    s->opts.top_k = (size_t)top_k;
    s->opts.kmv_k = (unsigned)kmv_k;
    *state = s;
    return CS_OK;
}

/* Does the one-element array `cols` name `col`? */
static int only_column(const json_t *cols, const char *col)
{
    return json_array_size(cols) == 1 &&
           json_is_string(json_array_get(cols, 0)) &&
           strcmp(json_string_value(json_array_get(cols, 0)), col) == 0;
}

/* Declared keys of `col` from the table aspect's tableConstraints. */
static void declared_keys(const json_t *table, const char *col,
                          struct fp_declared *d)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(table, "tableConstraints"), i, c)
    {
        const char *type =
            json_string_value(json_object_get(c, "constraintType"));
        if (!type || !only_column(json_object_get(c, "columns"), col))
            continue;
        if (strcmp(type, "PRIMARY_KEY") == 0)
            d->primary_key = d->unique = 1;
        else if (strcmp(type, "UNIQUE") == 0)
            d->unique = 1;
    }
}

/* {"columns": [...], "referredColumns": [...]} of every declared FK. */
static json_t *declared_fks(const json_t *table)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(table, "tableConstraints"), i, c)
    {
        const char *type =
            json_string_value(json_object_get(c, "constraintType"));
        if (!out || !type || strcmp(type, "FOREIGN_KEY") != 0)
            continue;
        json_t *fk =
            json_pack("{s:O, s:O}", "columns", json_object_get(c, "columns"),
                      "referredColumns", json_object_get(c, "referredColumns"));
        if (!fk || json_array_append_new(out, fk) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

/* The table-level part shared by every column. */
struct fp_table {
    const json_t *table, *sample, *profile;
    double row_count;
    size_t sample_rows;
    int whole;
};

static int read_table(const json_t *table, const json_t *sample,
                      const json_t *profile, struct fp_table *t)
{
    t->table = table;
    t->sample = sample;
    t->profile = profile;
    t->sample_rows = json_array_size(json_object_get(sample, "rows"));
    json_t *rc = json_object_get(profile, "rowCount");
    t->row_count = json_is_number(rc) ? json_number_value(rc) : -1;
    const char *src =
        json_string_value(json_object_get(profile, "rowCountSource"));
    /* An exact count is the profile's own: the read was not cut short.  A
     * lower bound (a LIMIT read of a never-analyzed table) says nothing of
     * the table's size: unknown, and never whole. */
    bool lower_bound = src && strcmp(src, "lower_bound") == 0;
    if (lower_bound)
        t->row_count = -1;
    t->whole = (src && strcmp(src, "exact") == 0) ||
               (!lower_bound && t->row_count >= 0 &&
                (double)t->sample_rows >= t->row_count);
    if (t->whole && t->row_count < (double)t->sample_rows)
        t->row_count = (double)t->sample_rows;
    return json_is_array(json_object_get(sample, "columns")) ? 0 : -1;
}

static json_t *columns_json(const struct fp_table *t,
                            const struct fp_options *o)
{
    const json_t *rows = json_object_get(t->sample, "rows");
    json_t *out = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(t->sample, "columns"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!out || !name)
            continue;
        struct fp_declared d = {t->row_count, t->whole, 0, 0};
        declared_keys(t->table, name, &d);
        json_t *fp = fp_column_json(
            rows, i, json_string_value(json_object_get(c, "type")), &d, o);
        if (!fp || json_object_set_new(out, name, fp) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

static json_t *fingerprint_json(const struct fp_table *t,
                                const struct fp_options *o)
{
    const json_t *cs = json_object_get(t->table, "catalogSync");
    json_t *cols = columns_json(t, o), *fks = declared_fks(t->table);
    json_t *conn = json_object_get(cs, "connection");
    json_t *schema = json_object_get(cs, "schema");
    json_t *name = json_object_get(cs, "table");
    if (!cols || !fks) {
        json_decref(cols);
        json_decref(fks);
        return NULL;
    }
    return json_pack("{s:i, s:O?, s:O?, s:O?, s:I, s:I, s:i, s:o, s:o}",
                     "version", 1, "connection", conn, "schema", schema,
                     "table", name, "rowCount",
                     (json_int_t)llround(t->row_count), "sampleRows",
                     (json_int_t)t->sample_rows, "kmvK", (int)o->kmv_k,
                     "columns", cols, "declaredForeignKeys", fks);
}

static int fp_process(void *state, cs_ctx *ctx)
{
    struct fp_state *s = state;
    const cs_host_api *h = s->host;
    struct fp_table t;
    if (read_table(h->aspect_get(ctx, "table"), h->aspect_get(ctx, "sample"),
                   h->aspect_get(ctx, "profile"), &t) != 0) {
        h->set_error(ctx, "sample aspect: columns[] is missing");
        return CS_ERR_INVALID;
    }
    json_t *fp = fingerprint_json(&t, &s->opts);
    if (!fp) {
        h->set_error(ctx, "fingerprint: out of memory");
        return CS_ERR_NOMEM;
    }
    h->metric_add(ctx, "columns_fingerprinted",
                  (double)json_object_size(json_object_get(fp, "columns")));
    return h->aspect_put(ctx, "fingerprint", fp);
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "fingerprint",
    .version = "0.1.0",
    .summary = "value-free column fingerprints (counts, ranges, value-hash "
               "sketches) for foreign-key discovery",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = fp_init,
    .process = fp_process,
    .fini = fp_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
