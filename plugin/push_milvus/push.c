/*
 * One entity: which records changed since the last push (the pass state
 * keeps a hash per record id), their embeddings through host->llm_embed
 * in batches, the upserts in batches (each with its audit row), the
 * deletion of records whose column is gone, the new pass state and the
 * `embedding` aspect.  A record that did not change is neither embedded
 * nor sent, so a second run over the same tables sends nothing.
 */
#include "push_milvus.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *prev_ids(const struct pm_job *j, const char *collection)
{
    return json_object_get(json_object_get(j->prev, "collections"), collection);
}

static void mark_changed(struct pm_job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        struct pm_record *r = &j->rec[i];
        const char *h = json_string_value(
            json_object_get(prev_ids(j, r->collection), r->id));
        r->send = !h || strcmp(h, r->hash) != 0;
        j->unchanged += !r->send;
    }
}

/* n texts -> *out (n x j->dim floats, free with llm_vectors_free). */
static int embed(struct pm_job *j, const char *const *texts, size_t n,
                 float **out)
{
    const struct pm_opts *o = &j->s->o;
    int dim = 0;
    *out = NULL;
    int rc = j->h->llm_embed(j->ctx, o->endpoint, o->model, texts, n,
                             o->dimensions, out, &dim);
    if (rc != CS_OK)
        return pm_fail(j, rc,
                       "embedding %zu texts through LLM endpoint `%s`: %s", n,
                       o->endpoint, j->h->last_error(j->ctx));
    if (dim <= 0 || (o->dimensions && dim != o->dimensions) ||
        (j->dim && dim != j->dim)) {
        j->h->llm_vectors_free(*out);
        *out = NULL;
        return pm_fail(j, CS_ERR_INVALID,
                       "LLM endpoint `%s` returned vectors of dimension %d, "
                       "expected %d",
                       o->endpoint, dim, j->dim ? j->dim : o->dimensions);
    }
    j->dim = dim;
    j->embedded += n;
    return CS_OK;
}

static json_t *vector_json(const float *v, int dim)
{
    json_t *a = json_array();
    for (int i = 0; a && i < dim; i++)
        if (json_array_append_new(a, json_real((double)v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Appends the record's row with its vector to rows. */
static int add_row(struct pm_job *j, json_t *rows, const struct pm_record *r,
                   const float *vec)
{
    for (int i = 0; i < j->dim; i++)
        if (!isfinite(vec[i])) /* JSON has no NaN: Milvus would refuse it */
            return pm_fail(j, CS_ERR_INVALID,
                           "LLM endpoint `%s` returned a vector with a "
                           "non-finite value for record %s",
                           j->s->o.endpoint, r->id);
    json_t *row = json_copy(r->row);
    json_t *v = vector_json(vec, j->dim);
    if (!row || !v) {
        json_decref(row);
        json_decref(v);
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for vectors");
    }
    if (json_object_set_new(row, "embedding", v)) {
        json_decref(row);
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for vectors");
    }
    if (json_array_append_new(rows, row))
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for vectors");
    return CS_OK;
}

/* Appends the rows of records idx[0..k) with their vectors to rows. */
static int embed_rows(struct pm_job *j, const size_t *idx, size_t k,
                      json_t *rows)
{
    size_t step = (size_t)j->s->o.embed_batch;
    const char **texts = malloc(step * sizeof *texts);
    int rc = texts ? CS_OK : pm_fail(j, CS_ERR_NOMEM, "out of memory");
    for (size_t at = 0; rc == CS_OK && at < k; at += step) {
        size_t m = k - at < step ? k - at : step;
        float *vec = NULL;
        for (size_t i = 0; i < m; i++)
            texts[i] = j->rec[idx[at + i]].text;
        rc = embed(j, texts, m, &vec);
        for (size_t i = 0; rc == CS_OK && i < m; i++)
            rc = add_row(j, rows, &j->rec[idx[at + i]],
                         vec + i * (size_t)j->dim);
        if (vec)
            j->h->llm_vectors_free(vec);
    }
    free(texts);
    return rc;
}

static json_t *ids_of(const struct pm_job *j, const size_t *idx, size_t k)
{
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < k; i++)
        if (json_array_append_new(ids, json_string(j->rec[idx[i]].id))) {
            json_decref(ids);
            return NULL;
        }
    return ids;
}

/* One audit row per write: target milvus:<collection>. */
static int audit_write(struct pm_job *j, const char *collection,
                       const char *action, json_t *ids)
{
    const struct pm_opts *o = &j->s->o;
    char target[300];
    snprintf(target, sizeof target, "milvus:%s", collection);
    json_t *rec = json_pack("{s:O, s:I}", "ids", ids, "count",
                            (json_int_t)json_array_size(ids));
    json_t *ev =
        json_pack("{s:s, s:s?, s:i, s:s?}", "endpoint", o->endpoint, "model",
                  o->model, "dimension", j->dim, "db", o->db_name);
    int rc = rec && ev
                 ? j->h->audit(j->ctx, target, action, NULL, NULL, rec, ev)
                 : CS_ERR_NOMEM;
    json_decref(rec);
    json_decref(ev);
    if (rc != CS_OK)
        return pm_fail(j, CS_ERR,
                       "%s of %zu records into Milvus collection `%s` done "
                       "but its audit row could not be written: %s",
                       action, json_array_size(ids), collection,
                       rc == CS_ERR_NOMEM ? "out of memory"
                                          : j->h->last_error(j->ctx));
    return CS_OK;
}

static json_t *write_body(const struct pm_opts *o, const char *collection,
                          const char *key, json_t *value)
{
    json_t *b =
        json_pack("{s:s, s:o}", "collectionName", collection, key, value);
    if (b && o->db_name &&
        json_object_set_new(b, "dbName", json_string(o->db_name))) {
        json_decref(b);
        return NULL;
    }
    return b;
}

/* entities/upsert of rows; once more after re-creating the collection
 * when Milvus no longer knows it (code 100: dropped behind our back). */
static int upsert(struct pm_job *j, const char *collection, json_t *rows)
{
    json_t *body = write_body(&j->s->o, collection, "data", json_incref(rows));
    if (!body)
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for entities/upsert");
    int rc = CS_ERR;
    for (int attempt = 0; attempt < 2; attempt++) {
        json_t *data = NULL;
        long code = -1;
        rc = pm_ensure_collection(j, collection);
        if (rc == CS_OK)
            rc = pm_call(j, "entities/upsert", collection, body, &data, &code);
        json_decref(data);
        if (rc == CS_OK || code != 100)
            break;
        pm_forget_collection(j->s, collection);
    }
    json_decref(body);
    return rc;
}

static int push_chunk(struct pm_job *j, const char *collection,
                      const size_t *idx, size_t k)
{
    json_t *rows = json_array(), *ids = ids_of(j, idx, k);
    int rc = rows && ids ? embed_rows(j, idx, k, rows)
                         : pm_fail(j, CS_ERR_NOMEM, "out of memory");
    if (rc == CS_OK)
        rc = upsert(j, collection, rows);
    if (rc == CS_OK)
        rc = audit_write(j, collection, "upsert", ids);
    for (size_t i = 0; rc == CS_OK && i < k; i++)
        j->rec[idx[i]].done = true;
    if (rc == CS_OK)
        j->upserted += k;
    json_decref(rows);
    json_decref(ids);
    return rc;
}

/* The changed records of one collection, upsert_batch at a time. */
static int push_collection(struct pm_job *j, const char *collection)
{
    size_t batch = (size_t)j->s->o.upsert_batch, k = 0;
    size_t *idx = malloc(batch * sizeof *idx);
    int rc = idx ? CS_OK : pm_fail(j, CS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == CS_OK && i <= j->n; i++) {
        bool last = i == j->n;
        if (!last &&
            (!j->rec[i].send || strcmp(j->rec[i].collection, collection) != 0))
            continue;
        if (!last)
            idx[k++] = i;
        if (k == 0 || (k < batch && !last))
            continue;
        if (j->h->should_stop(j->ctx))
            rc = pm_fail(j, CS_ERR_STOPPING,
                         "the worker is stopping; %zu records not sent", k);
        else
            rc = push_chunk(j, collection, idx, k);
        k = 0;
    }
    free(idx);
    return rc;
}

/* The ids of `collection` in the previous state that no record has now. */
static json_t *stale_ids(const struct pm_job *j, const char *collection)
{
    json_t *stale = json_array();
    const char *id;
    json_t *h;
    json_object_foreach(prev_ids(j, collection), id, h)
    {
        bool current = false;
        for (size_t i = 0; i < j->n && !current; i++)
            current = !strcmp(j->rec[i].id, id) &&
                      !strcmp(j->rec[i].collection, collection);
        if (stale && !current &&
            json_array_append_new(stale, json_string(id))) {
            json_decref(stale);
            return NULL;
        }
    }
    return stale;
}

/* entities/delete with `id in [...]`; JSON string escapes are what the
 * Milvus expression parser reads in a string literal.  An unknown
 * collection (code 100) has nothing to delete. */
static int delete_stale(struct pm_job *j, const char *collection, json_t *stale)
{
    char *list = json_dumps(stale, JSON_COMPACT);
    char *filter = list ? pm_fmt("id in %s", list) : NULL;
    json_t *body =
        filter ? write_body(&j->s->o, collection, "filter", json_string(filter))
               : NULL;
    json_t *data = NULL;
    long code = -1;
    int rc = body
                 ? pm_call(j, "entities/delete", collection, body, &data, &code)
                 : pm_fail(j, CS_ERR_NOMEM, "out of memory");
    if (rc != CS_OK && code == 100) {
        rc = CS_OK;
    } else if (rc == CS_OK) {
        rc = audit_write(j, collection, "delete", stale);
        j->deleted += json_array_size(stale);
    }
    json_decref(data);
    json_decref(body);
    free(filter);
    free(list);
    return rc;
}

static const char *const *collections(const struct pm_opts *o,
                                      const char *out[3])
{
    out[0] = o->collection;
    out[1] = o->column_collection && strcmp(o->column_collection, o->collection)
                 ? o->column_collection
                 : NULL;
    out[2] = NULL;
    return out;
}

/* {id: hash} of one collection for the new state: sent records with
 * their new hash, unchanged ones as they were, failed ones with their old
 * hash (so that they go out again), and the previous stale ids while
 * their deletion is still to be done.  NULL when out of memory. */
static json_t *collection_state(const struct pm_job *j, const char *c,
                                bool stale_deleted)
{
    json_t *ids = json_object(), *prev = prev_ids(j, c);
    int bad = !ids;
    if (!bad && !stale_deleted && j->s->o.delete_stale && prev)
        bad = json_object_update(ids, prev);
    for (size_t i = 0; !bad && i < j->n; i++) {
        const struct pm_record *r = &j->rec[i];
        json_t *old = json_object_get(prev, r->id);
        if (strcmp(r->collection, c))
            continue;
        if (r->done || !r->send)
            bad = json_object_set_new(ids, r->id, json_string(r->hash));
        else if (old)
            bad = json_object_set(ids, r->id, old);
        else
            json_object_del(ids, r->id);
    }
    if (bad) {
        json_decref(ids);
        return NULL;
    }
    return ids;
}

static json_t *next_state(const struct pm_job *j, bool stale_deleted)
{
    const char *cs[3];
    json_t *all = json_object();
    for (const char *const *c = collections(&j->s->o, cs); all && *c; c++)
        if (json_object_set_new(all, *c,
                                collection_state(j, *c, stale_deleted))) {
            json_decref(all);
            return NULL;
        }
    int dim = j->dim ? j->dim
                     : (int)json_integer_value(json_object_get(j->prev, "dim"));
    return all ? json_pack("{s:i, s:i, s:o}", "v", 1, "dim", dim, "collections",
                           all)
               : NULL;
}

static bool state_has_ids(const json_t *st)
{
    const char *c;
    json_t *ids;
    json_object_foreach(json_object_get(st, "collections"), c, ids)
    {
        if (json_object_size(ids))
            return true;
    }
    return false;
}

/* Written only when it changed: every state_put is an audit row. */
static int save_state(struct pm_job *j, bool stale_deleted)
{
    json_t *next = next_state(j, stale_deleted);
    if (!next)
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for the pass state");
    if (j->prev ? json_equal(next, j->prev) : !state_has_ids(next)) {
        json_decref(next);
        return CS_OK;
    }
    char *key = pm_fmt("table:%s", j->fqn);
    if (!key) {
        json_decref(next);
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for the pass state");
    }
    int rc = j->h->state_put(j->ctx, key, next);
    if (rc != CS_OK)
        rc = pm_fail(j, CS_ERR,
                     "could not record what was sent to Milvus in the pass "
                     "state (%s): %s",
                     key, j->h->last_error(j->ctx));
    free(key);
    return rc;
}

static int remove_stale(struct pm_job *j)
{
    const char *cs[3];
    int rc = CS_OK;
    for (const char *const *c = collections(&j->s->o, cs); rc == CS_OK && *c;
         c++) {
        json_t *stale = stale_ids(j, *c);
        if (!stale)
            return pm_fail(j, CS_ERR_NOMEM, "out of memory");
        if (json_array_size(stale))
            rc = delete_stale(j, *c, stale);
        json_decref(stale);
    }
    return rc;
}

static json_t *records_json(const struct pm_job *j)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < j->n; i++) {
        const struct pm_record *r = &j->rec[i];
        json_t *e = json_pack("{s:s, s:O, s:s, s:s, s:b}", "id", r->id, "kind",
                              json_object_get(r->row, "kind"), "collection",
                              r->collection, "hash", r->hash, "sent", r->done);
        if (!e || json_array_append_new(a, e)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* The `embedding` aspect: ids, hashes and counts; no vector, no text. */
static int put_aspect(struct pm_job *j, int rc)
{
    const struct pm_opts *o = &j->s->o;
    int dim = j->dim ? j->dim
                     : (int)json_integer_value(json_object_get(j->prev, "dim"));
    const char *status = rc != CS_OK                 ? "failed"
                         : j->upserted || j->deleted ? "upserted"
                                                     : "unchanged";
    json_t *out = json_pack(
        "{s:s, s:s, s:s?, s:o, s:s, s:s?, s:{s:I, s:I, s:I, s:I, s:I}, s:o}",
        "status", status, "endpoint", o->endpoint, "model", o->model,
        "dimension", dim ? json_integer(dim) : json_null(), "collection",
        o->collection, "column_collection", o->column_collection, "counts",
        "records", (json_int_t)j->n, "embedded", (json_int_t)j->embedded,
        "upserted", (json_int_t)j->upserted, "unchanged",
        (json_int_t)j->unchanged, "deleted", (json_int_t)j->deleted, "records",
        records_json(j));
    if (out && rc != CS_OK)
        json_object_set_new(out, "error", json_string(j->err));
    if (!out)
        return CS_ERR_NOMEM;
    return j->h->aspect_put(j->ctx, "embedding", out);
}

static void count(struct pm_job *j)
{
    const cs_host_api *h = j->h;
    h->metric_add(j->ctx, "milvus_records_embedded", (double)j->embedded);
    h->metric_add(j->ctx, "milvus_records_upserted", (double)j->upserted);
    h->metric_add(j->ctx, "milvus_records_unchanged", (double)j->unchanged);
    h->metric_add(j->ctx, "milvus_records_deleted", (double)j->deleted);
}

/* After pm_build_records().  Loads the pass state into j->prev (owned by
 * the job).  The entity's pool thread.  CS_OK, or the first error (the
 * state and the aspect are still written), with j->err set. */
int pm_push(struct pm_job *j)
{
    const char *cs[3];
    char *key = pm_fmt("table:%s", j->fqn);
    if (!key)
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for the pass state");
    j->prev = j->h->state_get(j->ctx, key);
    free(key);
    int rc = CS_OK;
    mark_changed(j);
    for (const char *const *c = collections(&j->s->o, cs); rc == CS_OK && *c;
         c++)
        rc = push_collection(j, *c);
    bool stale_done = false;
    if (rc == CS_OK && j->s->o.delete_stale) {
        rc = remove_stale(j);
        stale_done = rc == CS_OK;
    }
    char first[sizeof j->err];
    memcpy(first, j->err, sizeof first);
    int st = save_state(j, stale_done);
    if (rc == CS_OK)
        rc = st;
    else /* the first error is the entity's reason */
        memcpy(j->err, first, sizeof first);
    count(j);
    if (rc != CS_OK)
        j->h->metric_add(j->ctx, "milvus_errors", 1);
    int put = put_aspect(j, rc);
    if (rc == CS_OK && put != CS_OK)
        rc = pm_fail(j, put, "could not put the `embedding` aspect: %s",
                     put == CS_ERR_NOMEM ? "out of memory"
                                         : j->h->last_error(j->ctx));
    return rc;
}
