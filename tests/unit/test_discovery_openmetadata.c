/* discovery_openmetadata through a fake host with canned OpenMetadata
 * answers: first run (listing), incremental search runs with ties at the
 * watermark, search_after paging, the ignored-filter fallback, vanished
 * and deleted tables, the bot rule, filters, targeted runs and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define TOKEN "om-unit-token-5f2b9c"
#define BOT "catalog-sync-bot"
#define SVC "demo_pg.demo"

struct fixture {
    const cs_pass_desc *d;
    fake_host *fh;
    void *state;
};

static void start(struct fixture *f, const char *extra)
{
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"base_url\": \"http://om:8585/\", \"token\": \"" TOKEN "\","
             " \"index_lag_ms\": 0%s%s}",
             extra ? ", " : "", extra ? extra : "");
    f->d = fake_host_load_pass("discovery_openmetadata");
    assert_non_null(f->d);
    assert_int_equal(f->d->kind, CS_PASS_SOURCE);
    f->fh = fake_host_new(f->d, cfg);
    assert_non_null(f->fh);
    f->state = NULL;
    assert_int_equal(
        f->d->init(fake_host_api(f->fh), fake_host_ctx(f->fh), &f->state),
        CS_OK);
}

static void stop(struct fixture *f)
{
    /* Whatever happened, the token never reached a log line or an error. */
    assert_null(strstr(fake_host_logs(f->fh), TOKEN));
    assert_null(strstr(fake_host_error(f->fh), TOKEN));
    f->d->fini(f->state);
    fake_host_free(f->fh);
}

static int discover(struct fixture *f)
{
    return f->d->discover(f->state, fake_host_ctx(f->fh));
}

/* ---- canned answers ----------------------------------------------------- */

/* A table summary as the search index or the listing holds it. */
static json_t *summary(const char *id, const char *name, long long at,
                       const char *by, int deleted)
{
    char fqn[256];
    snprintf(fqn, sizeof fqn, "%s%s%s", strchr(name, '.') ? "" : SVC ".bank.",
             name, "");
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}", "id", id, "name",
                     strrchr(fqn, '.') + 1, "fullyQualifiedName", fqn,
                     "updatedAt", (json_int_t)at, "updatedBy", by, "deleted",
                     deleted);
}

static void add_json(fake_host *fh, const char *method, const char *needle,
                     long status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    assert_non_null(text);
    assert_int_equal(fake_host_add_http(fh, method, needle, status, text), 0);
    free(text);
    json_decref(body);
}

/* One search page: hits (stolen summaries) with sort [updatedAt, id]. */
static void add_search(fake_host *fh, const char *needle, int n, ...)
{
    json_t *hits = json_array();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        json_t *s = va_arg(ap, json_t *);
        json_array_append_new(hits,
                              json_pack("{s:s, s:O, s:o, s:[O,O]}", "_index",
                                        "table_search_index", "_id",
                                        json_object_get(s, "id"), "_source", s,
                                        "sort", json_object_get(s, "updatedAt"),
                                        json_object_get(s, "id")));
    }
    va_end(ap);
    add_json(fh, "GET", needle, 200,
             json_pack("{s:{s:{s:i, s:s}, s:o}}", "hits", "total", "value", n,
                       "relation", "eq", "hits", hits));
}

static void add_empty_deleted_search(fake_host *fh)
{
    add_search(fh, "deleted=true", 0);
}

/* One listing page (stolen summaries); after may be NULL. */
static void add_list(fake_host *fh, const char *needle, const char *after,
                     int n, ...)
{
    json_t *data = json_array();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        json_array_append_new(data, va_arg(ap, json_t *));
    va_end(ap);
    json_t *paging = json_pack("{s:i}", "total", n);
    if (after)
        json_object_set_new(paging, "after", json_string(after));
    add_json(fh, "GET", needle, 200,
             json_pack("{s:o, s:o}", "data", data, "paging", paging));
}

/* The full entity GET /tables/{id} returns. */
static json_t *entity(const char *id, const char *name, long long at,
                      const char *by)
{
    json_t *t = summary(id, name, at, by, 0);
    const char *fqn =
        json_string_value(json_object_get(t, "fullyQualifiedName"));
    char col[512];
    snprintf(col, sizeof col, "%s.email", fqn);
    json_object_update_new(
        t,
        json_pack(
            "{s:f, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, "
            "s:s}]}], s:[{s:s, s:[s]}], s:[], s:{s:s, s:s}}",
            "version", 0.2, "description", "Customers of the bank", "tableType",
            "Regular", "columns", "name", "email", "dataType", "VARCHAR",
            "fullyQualifiedName", col, "constraint", "UNIQUE", "description",
            "contact address", "tags", "tagFQN", "PII.Sensitive", "source",
            "Classification", "labelType", "Manual", "state", "Confirmed",
            "tableConstraints", "constraintType", "UNIQUE", "columns", "email",
            "tags", "service", "type", "databaseService", "name", "demo_pg"));
    return t;
}

static void add_entity(fake_host *fh, const char *id, const char *name,
                       long long at, const char *by)
{
    char needle[128];
    snprintf(needle, sizeof needle, "/tables/%s?", id);
    add_json(fh, "GET", needle, 200, entity(id, name, at, by));
}

static void set_watermark(fake_host *fh, const char *wm)
{
    assert_int_equal(fake_host_set_watermark(fh, wm), 0);
}

/* ---- inspecting what happened ------------------------------------------- */

static const char *url_at(fake_host *fh, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(fake_host_http_log(fh), i), "url"));
}

static size_t requests_with(fake_host *fh, const char *needle)
{
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(fake_host_http_log(fh), i, r)
    {
        n += strstr(json_string_value(json_object_get(r, "url")), needle) != 0;
    }
    return n;
}

/* Percent-decoded copy of a URL (static buffer). */
static const char *decoded(const char *url)
{
    static char out[8192];
    size_t o = 0;
    for (const char *p = url; *p && o + 1 < sizeof out; p++) {
        unsigned v;
        if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1) {
            out[o++] = (char)v;
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

static json_t *emitted(fake_host *fh, const char *name)
{
    char fqn[256];
    snprintf(fqn, sizeof fqn, SVC ".bank.%s", name);
    return json_object_get(fake_host_emitted(fh), fqn);
}

static bool deleted(fake_host *fh, const char *name)
{
    char fqn[256];
    snprintf(fqn, sizeof fqn, SVC ".bank.%s", name);
    size_t i;
    json_t *v;
    json_array_foreach(fake_host_deleted(fh), i, v)
    {
        if (strcmp(json_string_value(v), fqn) == 0)
            return true;
    }
    return false;
}

static long long wm_at(fake_host *fh)
{
    return json_integer_value(
        json_object_get(fake_host_watermark(fh), "updatedAt"));
}

static json_t *wm_seen(fake_host *fh)
{
    return json_object_get(fake_host_watermark(fh), "seen");
}

/* ---- tests ----------------------------------------------------------------
 */

static void test_first_run_lists_and_emits_entities(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "\"connection\": \"demo\"");
    add_list(f.fh, "include=all", "cursor-2", 2,
             summary("id-a", "customers", 1000, "admin", 0),
             summary("id-old", "dropped", 900, "admin", 1));
    add_list(f.fh, "after=cursor-2", NULL, 1,
             summary("id-b", "accounts", 1200, BOT, 0));
    add_entity(f.fh, "id-a", "customers", 1000, "admin");
    add_entity(f.fh, "id-b", "accounts", 1200, BOT);
    assert_int_equal(discover(&f), CS_OK);

    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 2);
    json_t *t = emitted(f.fh, "customers");
    assert_non_null(t);
    json_t *want = entity("id-a", "customers", 1000, "admin");
    json_t *sync = json_object_get(t, "catalogSync");
    json_t *copy = json_copy(t);
    json_object_del(copy, "catalogSync");
    assert_true(json_equal(copy, want)); /* exactly as fetched */
    json_decref(copy);
    json_decref(want);
    assert_string_equal(json_string_value(json_object_get(sync, "schema")),
                        "bank");
    assert_string_equal(json_string_value(json_object_get(sync, "table")),
                        "customers");
    assert_string_equal(json_string_value(json_object_get(sync, "connection")),
                        "demo");
    assert_string_equal(json_string_value(json_object_get(sync, "id")), "id-a");
    /* A first run emits tables the bot changed too, reports no deletion. */
    assert_non_null(emitted(f.fh, "accounts"));
    assert_int_equal(json_array_size(fake_host_deleted(f.fh)), 0);
    assert_int_equal(wm_at(f.fh), 1200);
    assert_int_equal(json_object_size(wm_seen(f.fh)), 1);

    assert_int_equal(json_array_size(fake_host_http_log(f.fh)), 4);
    assert_string_equal(url_at(f.fh, 0),
                        "http://om:8585/api/v1/tables?limit=100&include=all");
    assert_non_null(strstr(url_at(f.fh, 2), "/api/v1/tables/id-a?fields="
                                            "columns,tags,tableConstraints"));
    json_t *headers =
        json_object_get(json_array_get(fake_host_http_log(f.fh), 0), "headers");
    assert_string_equal(json_string_value(json_array_get(headers, 0)),
                        "Authorization: Bearer " TOKEN);
    assert_non_null(strstr(fake_host_logs(f.fh), "2 tables found, 2 emitted"));
    assert_true(fake_host_metric(f.fh, "tables_emitted") == 2);
    stop(&f);
}

static void test_incremental_ties_at_the_watermark(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL);
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {\"id-a\": 1000}}");
    add_search(f.fh, "deleted=false", 3,
               summary("id-a", "customers", 1000, "admin", 0),
               summary("id-b", "accounts", 1000, "admin", 0),
               summary("id-c", "cards", 1500, "admin", 0));
    add_empty_deleted_search(f.fh);
    add_entity(f.fh, "id-b", "accounts", 1000, "admin");
    add_entity(f.fh, "id-c", "cards", 1500, "admin");
    assert_int_equal(discover(&f), CS_OK);

    const char *q = decoded(url_at(f.fh, 0));
    assert_non_null(strstr(q, "/api/v1/search/query?q=*&index=table_search_"
                              "index&sort_field=updatedAt&sort_order=asc"));
    assert_non_null(strstr(q, "&deleted=false"));
    assert_non_null(
        strstr(q, "query_filter={\"query\":{\"bool\":{\"filter\":[{\"range\":{"
                  "\"updatedAt\":{\"gte\":1000}}}]}}}"));
    /* The tie already seen is not repeated, the new one is not lost. */
    assert_null(emitted(f.fh, "customers"));
    assert_non_null(emitted(f.fh, "accounts"));
    assert_non_null(emitted(f.fh, "cards"));
    assert_int_equal(requests_with(f.fh, "/tables/id-a"), 0);
    assert_int_equal(wm_at(f.fh), 1500);
    json_t *want = json_pack("{s:i}", "id-c", 1500);
    assert_true(json_equal(wm_seen(f.fh), want));
    json_decref(want);

    /* Nothing changed since: nothing emitted, the watermark stays. */
    fake_host_next_run(f.fh, 1);
    add_search(f.fh, "deleted=false", 1,
               summary("id-c", "cards", 1500, "admin", 0));
    add_empty_deleted_search(f.fh);
    assert_int_equal(discover(&f), CS_OK);
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 0);
    assert_null(fake_host_watermark(f.fh));
    assert_non_null(strstr(fake_host_logs(f.fh), "0 tables found"));
    stop(&f);
}

static void test_search_after_paging(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "\"page_size\": 2");
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {}}");
    add_search(f.fh, "deleted=false", 2, summary("id-1", "t1", 1100, "u", 0),
               summary("id-2", "t2", 1200, "u", 0));
    add_search(f.fh, "deleted=false", 2, summary("id-3", "t3", 1300, "u", 0),
               summary("id-4", "t4", 1300, "u", 0));
    add_search(f.fh, "deleted=false", 1, summary("id-5", "t5", 1400, "u", 0));
    add_empty_deleted_search(f.fh);
    const char *ids[] = {"id-1", "id-2", "id-3", "id-4", "id-5"};
    const char *names[] = {"t1", "t2", "t3", "t4", "t5"};
    long long at[] = {1100, 1200, 1300, 1300, 1400};
    for (int i = 0; i < 5; i++)
        add_entity(f.fh, ids[i], names[i], at[i], "u");
    assert_int_equal(discover(&f), CS_OK);

    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 5);
    assert_non_null(strstr(url_at(f.fh, 0), "size=2"));
    assert_null(strstr(url_at(f.fh, 0), "search_after"));
    assert_non_null(strstr(url_at(f.fh, 1), "&search_after=1200%2Cid-2"));
    assert_non_null(strstr(url_at(f.fh, 2), "&search_after=1300%2Cid-4"));
    assert_non_null(strstr(url_at(f.fh, 3), "deleted=true"));
    assert_null(strstr(url_at(f.fh, 3), "search_after"));
    assert_int_equal(wm_at(f.fh), 1400);
    stop(&f);
}

static void test_ignored_filter_falls_back_to_listing(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL);
    set_watermark(f.fh, "{\"updatedAt\": 5000, \"seen\": {}}");
    /* The server dropped the filter: the oldest table comes first. */
    add_search(f.fh, "deleted=false", 2,
               summary("id-old", "customers", 100, "admin", 0),
               summary("id-new", "accounts", 6000, "steward", 0));
    add_list(f.fh, "include=all", "p2", 2,
             summary("id-old", "customers", 100, "admin", 0),
             summary("id-gone", "dropped", 5500, "admin", 1));
    add_list(f.fh, "after=p2", NULL, 1,
             summary("id-new", "accounts", 6000, "steward", 0));
    add_entity(f.fh, "id-new", "accounts", 6000, "steward");
    assert_int_equal(discover(&f), CS_OK);

    assert_non_null(strstr(fake_host_logs(f.fh),
                           "OpenMetadata ignored the search query_filter"));
    assert_non_null(strstr(fake_host_logs(f.fh), "listing (the search filter "
                                                 "was ignored)"));
    assert_true(fake_host_metric(f.fh, "query_filter_ignored") == 1);
    assert_int_equal(requests_with(f.fh, "deleted=true"), 0);
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 1);
    assert_non_null(emitted(f.fh, "accounts"));
    assert_true(deleted(f.fh, "dropped"));
    assert_int_equal(requests_with(f.fh, "/tables/id-old"), 0);
    assert_int_equal(wm_at(f.fh), 6000);
    stop(&f);
}

static void test_vanished_and_deleted_tables(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL);
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {}}");
    add_search(f.fh, "deleted=false", 1,
               summary("id-x", "customers", 1100, "admin", 0));
    add_search(f.fh, "deleted=true", 1,
               summary("id-y", "accounts", 1200, "admin", 1));
    add_json(f.fh, "GET", "/tables/id-x?", 404,
             json_pack("{s:i, s:s}", "code", 404, "message",
                       "table instance for id-x not found"));
    assert_int_equal(discover(&f), CS_OK);
    assert_true(deleted(f.fh, "customers"));
    assert_true(deleted(f.fh, "accounts"));
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 0);
    assert_true(fake_host_metric(f.fh, "tables_deleted") == 2);
    assert_non_null(strstr(fake_host_logs(f.fh), "gone from OpenMetadata"));
    assert_int_equal(wm_at(f.fh), 1200);
    stop(&f);
}

static void test_bot_changes_skipped_human_edits_emitted(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL);
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {}}");
    add_search(f.fh, "deleted=false", 3,
               summary("id-1", "customers", 1100, BOT, 0),
               summary("id-2", "accounts", 1200, "steward", 0),
               summary("id-3", "cards", 1300, "steward", 0));
    add_empty_deleted_search(f.fh);
    /* A person edited accounts after our write; we wrote cards after the
     * person (the index had not caught up). */
    add_entity(f.fh, "id-2", "accounts", 1200, "steward");
    add_entity(f.fh, "id-3", "cards", 1350, BOT);
    assert_int_equal(discover(&f), CS_OK);
    assert_null(emitted(f.fh, "customers"));
    assert_non_null(emitted(f.fh, "accounts"));
    assert_null(emitted(f.fh, "cards"));
    assert_int_equal(requests_with(f.fh, "/tables/id-1"), 0);
    assert_true(fake_host_metric(f.fh, "tables_skipped_bot") == 2);
    assert_non_null(
        strstr(fake_host_logs(f.fh), "last changed by " BOT " (this daemon)"));
    assert_int_equal(wm_at(f.fh), 1300);

    /* The next human edit of customers is picked up. */
    fake_host_next_run(f.fh, 1);
    add_search(f.fh, "deleted=false", 1,
               summary("id-1", "customers", 1400, "steward", 0));
    add_empty_deleted_search(f.fh);
    add_entity(f.fh, "id-1", "customers", 1400, "steward");
    assert_int_equal(discover(&f), CS_OK);
    assert_non_null(emitted(f.fh, "customers"));
    stop(&f);
}

static void test_filters_in_query_and_on_hits(void **state)
{
    (void)state;
    struct fixture f;
    start(&f,
          "\"services\": [\"demo_pg\"], \"schemas\": [\"demo_pg.demo.bank\","
          " \"shop\"], \"exclude_tables\": [\"tmp_*\", \"bank.audit%\"]");
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {}}");
    /* Names compare case-insensitively, as in the search index. */
    add_search(f.fh, "deleted=false", 4,
               summary("id-1", "customers", 1100, "u", 0),
               summary("id-2", "tmp_load", 1200, "u", 0),
               summary("id-3", "audit_log", 1300, "u", 0),
               summary("id-4", "Demo_PG.demo.Shop.TMP_X", 1300, "u", 0));
    add_empty_deleted_search(f.fh);
    add_entity(f.fh, "id-1", "customers", 1100, "u");
    assert_int_equal(discover(&f), CS_OK);
    const char *q = decoded(url_at(f.fh, 0));
    assert_non_null(strstr(q, "{\"term\":{\"service.name\":\"demo_pg\"}}"));
    assert_non_null(
        strstr(q, "{\"bool\":{\"should\":[{\"bool\":{\"filter\":[{\"term\":{"
                  "\"service.name\":\"demo_pg\"}},{\"term\":{\"database.name\":"
                  "\"demo\"}},{\"term\":{\"databaseSchema.name\":\"bank\"}}]}},"
                  "{\"term\":{\"databaseSchema.name\":\"shop\"}}],"
                  "\"minimum_should_match\":1}}],\"must_not\":[{\"prefix\":{"
                  "\"name.keyword\":\"tmp_\"}}]}}}"));
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 1);
    assert_non_null(emitted(f.fh, "customers"));
    assert_true(fake_host_metric(f.fh, "tables_excluded") == 3);
    assert_null(strstr(fake_host_logs(f.fh), "ignored the search"));
    assert_int_equal(requests_with(f.fh, "/tables/id-2"), 0);
    assert_int_equal(wm_at(f.fh), 1300);

    /* A hit of another schema means the server ignored the filter. */
    fake_host_next_run(f.fh, 1);
    add_search(f.fh, "deleted=false", 1,
               summary("id-9", "other_svc.db.hr.staff", 1400, "u", 0));
    add_list(f.fh, "include=all", NULL, 3,
             summary("id-9", "other_svc.db.hr.staff", 1400, "u", 0),
             summary("id-8", "demo_pg.demo.sales.orders", 1500, "u", 0),
             summary("id-7", "demo_pg.demo.shop.orders", 1500, "u", 0));
    add_entity(f.fh, "id-7", "demo_pg.demo.shop.orders", 1500, "u");
    assert_int_equal(discover(&f), CS_OK);
    assert_non_null(strstr(fake_host_logs(f.fh), "ignored the search"));
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 1);
    assert_non_null(
        json_object_get(fake_host_emitted(f.fh), "demo_pg.demo.shop.orders"));
    stop(&f);
}

static void test_quoted_fqn(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "\"exclude_tables\": [\"odd.*\"]");
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {}}");
    add_search(f.fh, "deleted=false", 2,
               summary("id-1", SVC ".\"my.schema\".\"x.y\"", 1100, "u", 0),
               summary("id-2", SVC ".bank.\"odd.name\"", 1200, "u", 0));
    add_empty_deleted_search(f.fh);
    add_entity(f.fh, "id-1", SVC ".\"my.schema\".\"x.y\"", 1100, "u");
    assert_int_equal(discover(&f), CS_OK);
    json_t *t =
        json_object_get(fake_host_emitted(f.fh), SVC ".\"my.schema\".\"x.y\"");
    assert_non_null(t);
    json_t *sync = json_object_get(t, "catalogSync");
    assert_string_equal(json_string_value(json_object_get(sync, "schema")),
                        "my.schema");
    assert_string_equal(json_string_value(json_object_get(sync, "table")),
                        "x.y");
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 1);
    stop(&f);
}

static void test_targeted_run(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL);
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {}}");
    assert_int_equal(
        fake_host_set_targets(
            f.fh, "[{\"id\": \"id-1\", \"fqn\": \"" SVC ".bank.customers\","
                  " \"event\": \"updated\"},"
                  " {\"id\": \"id-2\", \"fqn\": \"" SVC ".bank.accounts\","
                  " \"event\": \"deleted\"},"
                  " {\"id\": \"id-3\", \"fqn\": null, \"event\": \"created\"},"
                  " {\"id\": null, \"fqn\": \"" SVC ".bank.loans\","
                  " \"event\": \"updated\"},"
                  " {\"id\": \"id-5\", \"fqn\": \"" SVC ".bank.cards\","
                  " \"event\": \"updated\"}]"),
        0);
    add_entity(f.fh, "id-1", "customers", 2000, "steward");
    add_entity(f.fh, "id-3", "branches", 2100, BOT);
    add_json(f.fh, "GET", "/tables/name/" SVC ".bank.loans?", 200,
             entity("id-4", "loans", 2200, "admin"));
    add_json(f.fh, "GET", "/tables/id-5?", 404,
             json_pack("{s:i, s:s}", "code", 404, "message", "not found"));
    assert_int_equal(discover(&f), CS_OK);

    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 2);
    assert_non_null(emitted(f.fh, "customers"));
    assert_non_null(emitted(f.fh, "loans"));
    assert_true(deleted(f.fh, "accounts"));
    assert_true(deleted(f.fh, "cards"));
    assert_null(emitted(f.fh, "branches"));
    assert_null(fake_host_watermark(f.fh));
    assert_int_equal(requests_with(f.fh, "search/query"), 0);
    assert_int_equal(requests_with(f.fh, "limit="), 0);
    assert_int_equal(requests_with(f.fh, "/tables/id-2"), 0);
    assert_non_null(strstr(fake_host_logs(f.fh), "(targeted)"));
    stop(&f);
}

static void test_401_names_the_url_and_the_token(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL);
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {}}");
    add_json(f.fh, "GET", "search/query", 401,
             json_pack("{s:i, s:s}", "code", 401, "message",
                       "Not Authorized! Token verification failed"));
    assert_int_equal(discover(&f), CS_ERR_DENIED);
    const char *err = fake_host_error(f.fh);
    assert_non_null(strstr(err, "GET http://om:8585/api/v1/search/query?"));
    assert_non_null(strstr(err, "answered 401: Not Authorized!"));
    assert_non_null(strstr(err, "config.token"));
    assert_null(fake_host_watermark(f.fh));
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 0);
    stop(&f);
}

static void test_5xx_fails_without_moving_the_watermark(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL);
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {}}");
    add_search(f.fh, "deleted=false", 1,
               summary("id-1", "customers", 1100, "u", 0));
    add_empty_deleted_search(f.fh);
    add_json(f.fh, "GET", "/tables/id-1?", 503,
             json_pack("{s:i, s:s}", "code", 503, "message", "overloaded"));
    assert_int_equal(discover(&f), CS_ERR_UNAVAILABLE);
    assert_non_null(strstr(fake_host_error(f.fh),
                           "/api/v1/tables/id-1?fields=columns,tags,"
                           "tableConstraints&include=all: OpenMetadata "
                           "answered 503: overloaded"));
    assert_null(fake_host_watermark(f.fh));
    stop(&f);
}

static void test_full_lists_everything(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "\"full\": true");
    set_watermark(f.fh, "{\"updatedAt\": 1000, \"seen\": {\"id-a\": 900}}");
    add_list(f.fh, "include=all", NULL, 3,
             summary("id-a", "customers", 900, "admin", 0),
             summary("id-b", "accounts", 1100, BOT, 0),
             summary("id-c", "dropped", 500, "admin", 1));
    add_entity(f.fh, "id-a", "customers", 900, "admin");
    add_entity(f.fh, "id-b", "accounts", 1100, BOT);
    assert_int_equal(discover(&f), CS_OK);
    /* Unchanged and bot-changed tables too; an old deletion is not news. */
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 2);
    assert_int_equal(json_array_size(fake_host_deleted(f.fh)), 0);
    assert_int_equal(requests_with(f.fh, "search/query"), 0);
    assert_int_equal(wm_at(f.fh), 1100);
    assert_non_null(strstr(fake_host_logs(f.fh), "(full listing)"));
    stop(&f);
}

static void test_token_from_env(void **state)
{
    (void)state;
    setenv("DOM_UNIT_TOKEN", "env-token-0b1d", 1);
    const cs_pass_desc *d = fake_host_load_pass("discovery_openmetadata");
    assert_non_null(d);
    fake_host *fh = fake_host_new(d, "{\"base_url\": \"https://om/api/v1\","
                                     " \"token_env\": \"DOM_UNIT_TOKEN\"}");
    assert_non_null(fh);
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st), CS_OK);
    assert_int_equal(fake_host_add_http(fh, "GET", "/tables?", 200,
                                        "{\"data\": [], \"paging\": "
                                        "{\"total\": 0}}"),
                     0);
    assert_int_equal(d->discover(st, fake_host_ctx(fh)), CS_OK);
    json_t *req = json_array_get(fake_host_http_log(fh), 0);
    assert_string_equal(json_string_value(json_object_get(req, "url")),
                        "https://om/api/v1/tables?limit=100&include=all");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(req, "headers"), 0)),
        "Authorization: Bearer env-token-0b1d");
    assert_null(strstr(fake_host_logs(fh), "env-token-0b1d"));
    assert_null(fake_host_watermark(fh)); /* an empty catalog */
    d->fini(st);
    fake_host_free(fh);
    unsetenv("DOM_UNIT_TOKEN");
}

static void test_config_errors(void **state)
{
    (void)state;
    const cs_pass_desc *d = fake_host_load_pass("discovery_openmetadata");
    assert_non_null(d);
    static const struct {
        const char *config, *error;
    } cases[] = {
        {"{\"base_url\": \"http://om\", \"token_env\": \"NO_SUCH_VAR_X\"}",
         "no OpenMetadata token: set config.token (token_file: PATH or "
         "${VAR}) or the environment variable NO_SUCH_VAR_X"},
        {"{\"base_url\": \"om:8585\", \"token\": \"t0k3n\"}",
         "config.base_url must start with http://"},
        {"{\"base_url\": \"http://om\", \"token\": \"t0k3n\", \"page_size\": "
         "1001}",
         "config.page_size is out of range"},
        {"{\"base_url\": \"http://om\", \"token\": \"t0k3n\", \"databases\": "
         "[\"a.b.c\"]}",
         "config.databases[0]: expected a database name or a dotted path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_host *fh = fake_host_new(d, cases[i].config);
        assert_non_null(fh);
        void *st = NULL;
        assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                         CS_ERR_INVALID);
        assert_non_null(strstr(fake_host_error(fh), cases[i].error));
        fake_host_free(fh);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_run_lists_and_emits_entities),
        cmocka_unit_test(test_incremental_ties_at_the_watermark),
        cmocka_unit_test(test_search_after_paging),
        cmocka_unit_test(test_ignored_filter_falls_back_to_listing),
        cmocka_unit_test(test_vanished_and_deleted_tables),
        cmocka_unit_test(test_bot_changes_skipped_human_edits_emitted),
        cmocka_unit_test(test_filters_in_query_and_on_hits),
        cmocka_unit_test(test_quoted_fqn),
        cmocka_unit_test(test_targeted_run),
        cmocka_unit_test(test_401_names_the_url_and_the_token),
        cmocka_unit_test(test_5xx_fails_without_moving_the_watermark),
        cmocka_unit_test(test_full_lists_everything),
        cmocka_unit_test(test_token_from_env),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
