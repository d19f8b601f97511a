/*
 * mask: turns the raw `sample` of a table into `sample_masked`, which
 * holds no PII and may therefore be persisted and shown to network
 * passes (LLM prompts).
 *
 * Columns the `pii` aspect tags (status "tagged" or "human") have every
 * value replaced by a typed placeholder (<EMAIL_1>); other text-like
 * columns, and PII candidates, have the validated PII substrings of their
 * cells replaced (an e-mail inside a comment).  One placeholder map per
 * table keeps the replacement consistent: the same address is <EMAIL_1>
 * in the email column, inside a comment, in the top values and in
 * min/max.  NULLs and non-PII values are kept.
 *
 * The pass consumes the raw sample, so the host gives it no network or
 * state functions; it logs counts and column names only.
 */
#include <catalog_sync/pass.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mask_internal.h"

static const cs_aspect_decl consumes[] = {
    {"sample", CS_ASPECT_REQUIRED | CS_ASPECT_RAW},
    {"pii", CS_ASPECT_REQUIRED},
    {NULL, 0}};

/* Not raw: placeholders, counts and non-PII values only. */
static const cs_aspect_decl produces[] = {{"sample_masked", 0}, {NULL, 0}};

/* Rows between two should_stop() checks. */
#define STOP_CHECK_ROWS 256

struct mask_state {
    const cs_host_api *host;
    pii_recognizers *rec; /* read-only after init, shared by threads */
};

static void mask_fini(void *state)
{
    struct mask_state *s = state;
    if (!s)
        return;
    pii_recognizers_free(s->rec);
    free(s);
}

static int mask_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    struct mask_state *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(ctx, "out of memory");
        return CS_ERR_NOMEM;
    }
    char err[256] = "";
    s->host = host;
    s->rec = pii_recognizers_new(err, sizeof err);
    if (!s->rec) {
        host->set_error(ctx, "PII recognizers: %s", err);
        free(s);
        return CS_ERR;
    }
    *state = s;
    return CS_OK;
}

/* ---- one call ---------------------------------------------------------- */

struct mask_run {
    const cs_host_api *h;
    cs_ctx *ctx;
    const pii_recognizers *rec;
    pii_scratch *scratch; /* this call's own: process() runs concurrently */
    mask_map *map;
    size_t masked_cells;
};

/* A whole cell as one placeholder.  Empty or blank text is kept: it says
 * nothing about anyone. */
static json_t *whole_cell(struct mask_run *r, pii_entity type,
                          const json_t *cell, const char *text, size_t len,
                          int *changed)
{
    if (strspn(text, " \t\r\n") >= len)
        return json_incref((json_t *)cell);
    char ph[MASK_PLACEHOLDER_MAX];
    int n = mask_map_placeholder(r->map, type, text, len, ph);
    if (n < 0)
        return NULL;
    *changed = 1;
    return json_stringn(ph, (size_t)n);
}

/* The substrings of a cell.  When the recognizers fail on a text, the
 * whole cell becomes a generic <PII_n>: never keep what was not scanned. */
static json_t *span_cell(struct mask_run *r, mask_col *col, const json_t *cell,
                         const char *text, size_t len, int *changed)
{
    char *masked = NULL;
    int rc =
        mask_text(r->rec, r->scratch, r->map, text, len, &masked, &col->spans);
    if (rc == 0)
        return json_incref((json_t *)cell);
    if (rc == -2) {
        col->unscanned_cells++;
        return whole_cell(r, PII_NONE, cell, text, len, changed);
    }
    if (rc < 0)
        return NULL;
    *changed = 1;
    json_t *v = json_string(masked);
    free(masked);
    return v;
}

/* The masked form of one value of `col` (a row cell, a top value, min or
 * max).  New reference, NULL when out of memory.  *changed is set when
 * the value was replaced. */
static json_t *mask_value(struct mask_run *r, mask_col *col, const json_t *cell,
                          int *changed)
{
    *changed = 0;
    if (!cell || json_is_null(cell))
        return json_null();
    if (col->mode == MASK_KEEP)
        return json_incref((json_t *)cell);
    /* Cells are text in profile_postgres's sample; anything else is
     * masked through its JSON text so that no number slips through. */
    char *dumped = NULL;
    const char *text = json_string_value(cell);
    size_t len = json_string_length(cell);
    if (!text) {
        dumped = json_dumps(cell, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!dumped)
            return NULL;
        text = dumped;
        len = strlen(dumped);
    }
    json_t *v = col->mode == MASK_WHOLE
                    ? whole_cell(r, col->entity, cell, text, len, changed)
                    : span_cell(r, col, cell, text, len, changed);
    free(dumped);
    return v;
}

/* One row: as many cells as columns (missing ones are null, extra ones
 * dropped, since an unplanned cell cannot be vouched for). */
static json_t *mask_row(struct mask_run *r, mask_col *cols, size_t ncols,
                        const json_t *row)
{
    json_t *out = json_array();
    for (size_t c = 0; out && c < ncols; c++) {
        int changed;
        json_t *v = mask_value(r, &cols[c], json_array_get(row, c), &changed);
        if (!v || json_array_append_new(out, v) != 0) {
            json_decref(out);
            return NULL;
        }
        cols[c].cells_masked += (size_t)changed;
        r->masked_cells += (size_t)changed;
    }
    return out;
}

static int mask_rows(struct mask_run *r, mask_col *cols, size_t ncols,
                     const json_t *rows, json_t *out)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (i % STOP_CHECK_ROWS == 0 && i > 0 && r->h->should_stop(r->ctx)) {
            r->h->set_error(r->ctx, "stopping: masked %zu of %zu rows", i,
                            json_array_size(rows));
            return CS_ERR_STOPPING;
        }
        if (!json_is_array(row)) {
            r->h->set_error(r->ctx, "sample row %zu is not an array", i);
            return CS_ERR_INVALID;
        }
        json_t *m = mask_row(r, cols, ncols, row);
        if (!m || json_array_append_new(out, m) != 0) {
            r->h->set_error(r->ctx, "out of memory masking sample row %zu", i);
            return CS_ERR_NOMEM;
        }
    }
    return CS_OK;
}

/* ---- column statistics --------------------------------------------------- */

static int put_masked(struct mask_run *r, mask_col *col, json_t *dst,
                      const char *key, const json_t *v)
{
    int changed;
    json_t *m = mask_value(r, col, v, &changed);
    return m ? json_object_set_new(dst, key, m) : -1;
}

/* topValues with their values masked, counts kept. */
static json_t *mask_top_values(struct mask_run *r, mask_col *col,
                               const json_t *top)
{
    json_t *out = json_array();
    size_t i;
    json_t *tv;
    json_array_foreach(top, i, tv)
    {
        json_t *e = json_object();
        json_t *count = json_object_get(tv, "count");
        if (!out || !e ||
            put_masked(r, col, e, "value", json_object_get(tv, "value")) ||
            (count && json_object_set(e, "count", count)) ||
            json_array_append_new(out, e)) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* Only the keys we know are carried: an unknown statistic might hold a
 * raw value we would not mask. */
static json_t *mask_stats(struct mask_run *r, mask_col *col, const json_t *st)
{
    json_t *out = json_object();
    const json_t *top = json_object_get(st, "topValues");
    int err = !out;
    if (!err && json_is_array(top))
        err = json_object_set_new(out, "topValues",
                                  mask_top_values(r, col, top)) != 0;
    if (!err && json_object_get(st, "min"))
        err = put_masked(r, col, out, "min", json_object_get(st, "min"));
    if (!err && json_object_get(st, "max"))
        err = put_masked(r, col, out, "max", json_object_get(st, "max"));
    if (err) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *mask_all_stats(struct mask_run *r, mask_col *cols, size_t ncols,
                              const json_t *stats)
{
    json_t *out = json_object();
    for (size_t c = 0; out && c < ncols; c++) {
        const json_t *st = json_object_get(stats, cols[c].name);
        if (!json_is_object(st) || json_object_get(out, cols[c].name))
            continue;
        if (json_object_set_new(out, cols[c].name,
                                mask_stats(r, &cols[c], st)) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* ---- plan and output ----------------------------------------------------- */

/* One mask_col per sample column; NULL with the error set. */
static mask_col *plan_columns(struct mask_run *r, const json_t *columns,
                              const json_t *pii_columns)
{
    size_t n = json_array_size(columns);
    mask_col *cols = calloc(n ? n : 1, sizeof *cols);
    if (!cols) {
        r->h->set_error(r->ctx, "out of memory planning %zu columns", n);
        return NULL;
    }
    for (size_t c = 0; c < n; c++) {
        const json_t *col = json_array_get(columns, c);
        const char *name = json_string_value(json_object_get(col, "name"));
        if (!name) {
            r->h->set_error(r->ctx, "sample column %zu has no `name`", c);
            free(cols);
            return NULL;
        }
        mask_plan_column(pii_columns, name,
                         json_string_value(json_object_get(col, "type")),
                         &cols[c]);
    }
    return cols;
}

static json_t *columns_json(const mask_col *cols, size_t ncols)
{
    json_t *out = json_array();
    for (size_t c = 0; out && c < ncols; c++) {
        const mask_col *m = &cols[c];
        json_t *e = json_pack(
            "{s:s, s:s, s:b, s:o, s:I}", "name", m->name, "type", m->type,
            "masked", m->mode == MASK_WHOLE, "entity",
            m->mode == MASK_WHOLE ? json_string(mask_type_label(m->entity))
                                  : json_null(),
            "maskedCells", (json_int_t)m->cells_masked);
        if (json_array_append_new(out, e) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* Warns (column names and counts only) about cells replaced unscanned. */
static void report_unscanned(struct mask_run *r, const mask_col *cols,
                             size_t ncols)
{
    for (size_t c = 0; c < ncols; c++)
        if (cols[c].unscanned_cells > 0)
            r->h->log(r->ctx, CS_LOG_WARN,
                      "column %s: the PII search failed on %zu cells; "
                      "they were replaced whole by <PII_n>",
                      cols[c].name, cols[c].unscanned_cells);
}

static int build(struct mask_run *r, const json_t *sample, const json_t *pii,
                 json_t **out)
{
    const json_t *columns = json_object_get(sample, "columns");
    mask_col *cols = plan_columns(r, columns, json_object_get(pii, "columns"));
    if (!cols)
        return CS_ERR_INVALID;
    size_t ncols = json_array_size(columns);
    json_t *rows = json_array();
    int rc =
        rows ? mask_rows(r, cols, ncols, json_object_get(sample, "rows"), rows)
             : CS_ERR_NOMEM;
    json_t *stats =
        rc == CS_OK ? mask_all_stats(r, cols, ncols,
                                     json_object_get(sample, "columnsStats"))
                    : NULL;
    json_t *counts = stats ? mask_map_counts(r->map) : NULL;
    json_t *cj = counts ? columns_json(cols, ncols) : NULL;
    if (cj) {
        report_unscanned(r, cols, ncols);
        *out = json_pack("{s:o, s:O, s:o, s:o, s:I}", "columns", cj, "rows",
                         rows, "columnsStats", stats, "placeholders", counts,
                         "masked_cells", (json_int_t)r->masked_cells);
    } else {
        json_decref(stats);
        json_decref(counts);
    }
    json_decref(rows);
    free(cols);
    if (rc == CS_OK && !*out) {
        r->h->set_error(r->ctx, "out of memory building sample_masked");
        rc = CS_ERR_NOMEM;
    }
    return rc;
}

/* ---- the callback -------------------------------------------------------- */

static int check_inputs(const cs_host_api *h, cs_ctx *ctx, const json_t *sample,
                        const json_t *pii)
{
    if (!json_is_object(sample) ||
        !json_is_array(json_object_get(sample, "columns")) ||
        !json_is_array(json_object_get(sample, "rows"))) {
        h->set_error(ctx, "the `sample` aspect is %s",
                     sample ? "not an object with `columns` and `rows` arrays"
                            : "missing");
        return CS_ERR_INVALID;
    }
    /* Without the pii aspect we cannot tell a name column from any other:
     * refuse rather than emit a half-masked sample. */
    if (!json_is_object(pii)) {
        h->set_error(ctx, "the `pii` aspect is %s",
                     pii ? "not an object" : "missing");
        return CS_ERR_INVALID;
    }
    return CS_OK;
}

/* Called once per entity, possibly on several threads at once: all the
 * per-table state (scratch, placeholder map) is this call's own. */
static int mask_process(void *state, cs_ctx *ctx)
{
    const struct mask_state *s = state;
    const cs_host_api *h = s->host;
    const json_t *sample = h->aspect_get(ctx, "sample");
    const json_t *pii = h->aspect_get(ctx, "pii");
    int rc = check_inputs(h, ctx, sample, pii);
    if (rc != CS_OK)
        return rc;
    struct mask_run r = {
        h, ctx, s->rec, pii_scratch_new(s->rec), mask_map_new(), 0};
    json_t *out = NULL;
    if (!r.scratch || !r.map) {
        h->set_error(ctx, "out of memory");
        rc = CS_ERR_NOMEM;
    } else {
        rc = build(&r, sample, pii, &out);
    }
    pii_scratch_free(r.scratch);
    mask_map_free(r.map);
    if (rc != CS_OK)
        return rc;
    h->metric_add(ctx, "masked_cells", (double)r.masked_cells);
    h->log(ctx, CS_LOG_DEBUG, "%zu cells masked, %zu placeholder types",
           r.masked_cells,
           json_object_size(json_object_get(out, "placeholders")));
    return h->aspect_put(ctx, "sample_masked", out);
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "mask",
    .version = "0.1.0",
    .summary = "replaces PII in the raw sample by consistent typed "
               "placeholders (<EMAIL_1>) and produces sample_masked",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = NULL,
    .init = mask_init,
    .process = mask_process,
    .fini = mask_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
