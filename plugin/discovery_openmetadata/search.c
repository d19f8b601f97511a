/*
 * Finding the tables changed since the watermark: the search API sorted
 * by updatedAt with deep paging, or the plain listing of every table.
 * Both feed the same candidate set (run->cand, keyed by table id).
 */
#include "dom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one table summary ------------------------------------------------ */

static bool already_seen(const struct dom_run *run, const char *id,
                         long long at)
{
    json_t *v = json_object_get(run->seen, id);
    return !run->emit_all && json_is_integer(v) && json_integer_value(v) == at;
}

/* Whether the table is outside the window (or, on a first run, deleted:
 * nothing to report about a table never emitted). */
static bool out_of_window(const struct dom_run *run, long long at, bool deleted)
{
    if (run->first)
        return deleted;
    if (at >= run->window)
        return false;
    return deleted || !run->emit_all;
}

static int record(struct dom_run *run, const char *id, const char *fqn,
                  long long at, const json_t *t)
{
    json_t *old = json_object_get(run->cand, id);
    if (old && json_integer_value(json_object_get(old, "updatedAt")) >= at)
        return DOM_HIT_SKIPPED; /* the same table from the second search */
    json_t *c =
        json_pack("{s:s, s:I, s:O?, s:b}", "fqn", fqn, "updatedAt",
                  (json_int_t)at, "updatedBy", json_object_get(t, "updatedBy"),
                  "deleted", json_is_true(json_object_get(t, "deleted")));
    if (!c || json_object_set_new(run->cand, id, c) != 0)
        return CS_ERR_NOMEM;
    run->found += old == NULL;
    return DOM_HIT_TAKEN;
}

int dom_take(struct dom_run *run, const json_t *t, bool strict)
{
    const cs_host_api *h = run->s->host;
    const char *id = json_string_value(json_object_get(t, "id"));
    const char *fqn =
        json_string_value(json_object_get(t, "fullyQualifiedName"));
    json_t *at = json_object_get(t, "updatedAt");
    if (!id || !fqn || !json_is_integer(at)) {
        h->set_error(run->ctx, "OpenMetadata returned a table without id, "
                               "fullyQualifiedName or an integer updatedAt");
        return CS_ERR;
    }
    json_t *parts = dom_fqn_split(fqn);
    bool inside = parts && dom_in_filters(run->s, parts);
    json_decref(parts);
    long long ts = json_integer_value(at);
    bool deleted = json_is_true(json_object_get(t, "deleted"));
    if (!inside || out_of_window(run, ts, deleted)) {
        bool broken = !inside || (!run->first && ts < run->window);
        return strict && broken ? DOM_HIT_VIOLATION : DOM_HIT_SKIPPED;
    }
    if (already_seen(run, id, ts))
        return DOM_HIT_SKIPPED;
    return record(run, id, fqn, ts, t);
}

/* ---- the search API --------------------------------------------------- */

/* The hit's `sort` values as the comma list search_after takes. */
static char *sort_values(const json_t *hit)
{
    json_t *sort = json_object_get(hit, "sort");
    char *out = json_array_size(sort) ? strdup("") : NULL;
    size_t i;
    json_t *v;
    json_array_foreach(sort, i, v)
    {
        char one[64] = "";
        if (!json_is_number(v) && !json_is_string(v)) {
            free(out);
            return NULL;
        }
        if (json_is_integer(v))
            snprintf(one, sizeof one, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(one, sizeof one, "%.17g", json_real_value(v));
        char *next = om_fmt("%s%s%s", out ? out : "", i ? "," : "",
                            json_is_string(v) ? json_string_value(v) : one);
        free(out);
        out = next;
        if (!out)
            return NULL;
    }
    return out;
}

static char *search_url(const struct dom_run *run, const char *filter,
                        bool deleted, const char *after)
{
    char *f = om_urlencode(filter);
    char *a = after ? om_urlencode(after) : NULL;
    char *url =
        f && (a || !after)
            ? om_fmt("%s/search/query?q=*&index=table_search_index"
                     "&sort_field=updatedAt&sort_order=asc&size=%ld"
                     "&deleted=%s&track_total_hits=false"
                     "&include_source_fields=id"
                     "&include_source_fields=fullyQualifiedName"
                     "&include_source_fields=updatedAt"
                     "&include_source_fields=updatedBy"
                     "&include_source_fields=deleted&query_filter=%s%s%s",
                     run->s->api, run->s->page_size, deleted ? "true" : "false",
                     f, a ? "&search_after=" : "", a ? a : "")
            : NULL;
    free(f);
    free(a);
    return url;
}

/* The hit's _source, with the id taken from _id when the source lacks it. */
static int take_hit(struct dom_run *run, const json_t *hit)
{
    json_t *src = json_object_get(hit, "_source");
    if (!json_is_object(src) || json_object_get(src, "id"))
        return dom_take(run, src, true);
    json_t *copy = json_copy(src);
    if (!copy || json_object_set(copy, "id", json_object_get(hit, "_id"))) {
        json_decref(copy);
        return CS_ERR_NOMEM;
    }
    int rc = dom_take(run, copy, true);
    json_decref(copy);
    return rc;
}

/* Takes a page's hits; *last is the last hit (borrowed from `page`). */
static int take_page(struct dom_run *run, const json_t *page, bool *violation,
                     const json_t **last, size_t *n)
{
    const json_t *hits = json_object_get(json_object_get(page, "hits"), "hits");
    if (!json_is_array(hits)) {
        run->s->host->set_error(run->ctx,
                                "GET %s/search/query: the answer "
                                "has no hits.hits array",
                                run->s->api);
        return CS_ERR;
    }
    size_t i;
    json_t *hit;
    json_array_foreach(hits, i, hit)
    {
        int rc = take_hit(run, hit);
        if (rc < 0)
            return rc;
        if (rc == DOM_HIT_VIOLATION) {
            *violation = true;
            return CS_OK;
        }
        *last = hit;
    }
    *n = json_array_size(hits);
    return CS_OK;
}

/* Next page's search_after, or NULL (in *next) when this was the last. */
static int advance(struct dom_run *run, const json_t *last, size_t n,
                   char **after)
{
    char *next =
        n >= (size_t)run->s->page_size && last ? sort_values(last) : NULL;
    if (n >= (size_t)run->s->page_size && !next) {
        run->s->host->set_error(run->ctx,
                                "GET %s/search/query: a full page whose last "
                                "hit has no usable `sort` values for "
                                "search_after",
                                run->s->api);
        return CS_ERR;
    }
    if (next && *after && strcmp(next, *after) == 0) {
        run->s->host->set_error(run->ctx,
                                "GET %s/search/query: search_after=%s did not "
                                "advance (the server ignores it)",
                                run->s->api, next);
        free(next);
        return CS_ERR;
    }
    free(*after);
    *after = next;
    return CS_OK;
}

static int search_one(struct dom_run *run, const char *filter, bool deleted,
                      bool *violation)
{
    char *after = NULL;
    int rc = CS_OK;
    do {
        if (run->s->host->should_stop(run->ctx)) {
            rc = CS_ERR_STOPPING;
            break;
        }
        char *url = search_url(run, filter, deleted, after);
        json_t *page = NULL;
        rc = url ? dom_get_json(run, url, &page) : CS_ERR_NOMEM;
        if (rc == CS_ERR_NOT_FOUND)
            run->s->host->set_error(run->ctx, "GET %s: 404 (no search API?)",
                                    url);
        free(url);
        const json_t *last = NULL;
        size_t n = 0;
        if (rc == CS_OK)
            rc = take_page(run, page, violation, &last, &n);
        if (rc == CS_OK && !*violation)
            rc = advance(run, last, n, &after);
        json_decref(page);
    } while (rc == CS_OK && after && !*violation);
    free(after);
    return rc == CS_ERR_NOT_FOUND ? CS_ERR : rc;
}

int dom_search(struct dom_run *run, bool *violation)
{
    char *filter = dom_query_filter(run->s, run->window);
    *violation = false;
    int rc = filter ? search_one(run, filter, false, violation) : CS_ERR_NOMEM;
    if (rc == CS_OK && !*violation)
        rc = search_one(run, filter, true, violation);
    free(filter);
    return rc;
}

/* ---- the listing ------------------------------------------------------ */

static int list_page(struct dom_run *run, const json_t *page)
{
    const json_t *data = json_object_get(page, "data");
    if (!json_is_array(data)) {
        run->s->host->set_error(run->ctx,
                                "GET %s/tables: the answer has no "
                                "data array",
                                run->s->api);
        return CS_ERR;
    }
    size_t i;
    json_t *t;
    json_array_foreach(data, i, t)
    {
        int rc = dom_take(run, t, false);
        if (rc < 0)
            return rc;
    }
    return CS_OK;
}

int dom_list(struct dom_run *run)
{
    char *after = NULL;
    int rc = CS_OK;
    do {
        if (run->s->host->should_stop(run->ctx)) {
            rc = CS_ERR_STOPPING;
            break;
        }
        char *a = after ? om_urlencode(after) : NULL;
        char *url = !after || a ? om_fmt("%s/tables?limit=%ld&include=all%s%s",
                                         run->s->api, run->s->page_size,
                                         a ? "&after=" : "", a ? a : "")
                                : NULL;
        free(a);
        json_t *page = NULL;
        rc = url ? dom_get_json(run, url, &page) : CS_ERR_NOMEM;
        if (rc == CS_ERR_NOT_FOUND)
            run->s->host->set_error(run->ctx, "GET %s: 404", url);
        free(url);
        if (rc == CS_OK)
            rc = list_page(run, page);
        const char *next = json_string_value(
            json_object_get(json_object_get(page, "paging"), "after"));
        if (rc == CS_OK && next && after && strcmp(next, after) == 0) {
            run->s->host->set_error(run->ctx,
                                    "GET %s/tables: paging.after=%s did not "
                                    "advance",
                                    run->s->api, next);
            rc = CS_ERR;
        }
        free(after);
        after = rc == CS_OK && next && *next ? strdup(next) : NULL;
        if (rc == CS_OK && next && *next && !after)
            rc = CS_ERR_NOMEM;
        json_decref(page);
    } while (rc == CS_OK && after);
    free(after);
    return rc == CS_ERR_NOT_FOUND ? CS_ERR : rc;
}
