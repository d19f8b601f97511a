/*
 * discovery_openmetadata: the source pass that finds the tables of an
 * OpenMetadata catalog changed since the last run and emits them as
 * `table` aspects, exactly as OpenMetadata returns them (plus a small
 * catalogSync member).
 *
 * Incremental runs use the search API sorted by updatedAt; the watermark
 * is {"updatedAt": W, "seen": {id: updatedAt}} where `seen` holds what was
 * considered in the last index_lag_ms before W, so ties at W and late
 * index updates are neither lost nor repeated.  The first run, `full:
 * true` and a search whose query_filter the server ignored list every
 * table instead.  Tables last changed by the daemon's own bot are not
 * re-emitted.  A targeted run (webhook) fetches only the named tables.
 */
#include "dom.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const cs_aspect_decl produces[] = {{"table", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"base_url", CS_OPT_STRING, NULL,
     "OpenMetadata server, e.g. http://openmetadata:8585 (API under /api/v1)",
     CS_OPTION_REQUIRED},
    {"token", CS_OPT_STRING, NULL,
     "bot JWT (write token_file: PATH or ${VAR}); else token_env is read", 0},
    {"token_env", CS_OPT_STRING, "\"OPENMETADATA_TOKEN\"",
     "environment variable holding the bot JWT when token is not given", 0},
    {"bot_name", CS_OPT_STRING, "\"catalog-sync-bot\"",
     "the daemon's bot: tables it changed last are not re-emitted", 0},
    {"page_size", CS_OPT_INT, "100",
     "tables per search or listing page (1..1000)", 0},
    {"timeout_ms", CS_OPT_INT, "30000", "timeout of one request", 0},
    {"max_retries", CS_OPT_INT, "3",
     "retries the host makes on connect errors, 429, 502, 503, 504", 0},
    {"index_lag_ms", CS_OPT_INT, "10000",
     "how far behind the database the search index may be; changes this "
     "close to the watermark are looked at again",
     0},
    {"services", CS_OPT_LIST, "[]", "service names; empty = every service", 0},
    {"databases", CS_OPT_LIST, "[]",
     "databases: `db` or `service.db`; empty = every database", 0},
    {"schemas", CS_OPT_LIST, "[]",
     "schemas: `schema`, `db.schema` or `service.db.schema`; empty = all", 0},
    {"exclude_tables", CS_OPT_LIST, "[]",
     "glob patterns (`*`, `?`, `%` = `*`) on `table`, `schema.table` or the "
     "FQN",
     0},
    {"full", CS_OPT_BOOL, "false",
     "list and emit every table, changed or not (the watermark still moves)",
     0},
    {"connection", CS_OPT_STRING, NULL,
     "a manifest connection reaching these tables (catalogSync.connection, "
     "for profile_postgres and fk_discover)",
     0},
    {NULL, 0, NULL, NULL, 0}};

static void dom_fini(void *state)
{
    struct dom_state *s = state;
    if (!s)
        return;
    free(s->api);
    free(s->auth);
    free(s->bot);
    free(s->connection);
    for (int i = 0; i < DOM_LEVELS; i++)
        json_decref(s->filters[i]);
    json_decref(s->exclude);
    free(s);
}

static const char *opt_str(const json_t *cfg, const char *name)
{
    return json_string_value(json_object_get(cfg, name));
}

static long opt_int(const json_t *cfg, const char *name)
{
    return (long)json_integer_value(json_object_get(cfg, name));
}

/* "<base>/api/v1" from a base URL given with or without /api/v1. */
static char *api_root(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n >= 7 && strncmp(base + n - 7, "/api/v1", 7) == 0)
        n -= 7;
    return om_fmt("%.*s/api/v1", (int)n, base);
}

static int check_numbers(struct dom_state *s, cs_ctx *ctx, const json_t *cfg)
{
    const cs_host_api *h = s->host;
    s->page_size = opt_int(cfg, "page_size");
    s->timeout_ms = opt_int(cfg, "timeout_ms");
    s->index_lag_ms = opt_int(cfg, "index_lag_ms");
    long retries = opt_int(cfg, "max_retries");
    const char *bad = s->page_size < 1 || s->page_size > 1000 ? "page_size"
                      : s->timeout_ms < 0                     ? "timeout_ms"
                      : s->index_lag_ms < 0                   ? "index_lag_ms"
                      : retries < 0 || retries > 10           ? "max_retries"
                                                              : NULL;
    if (bad) {
        h->set_error(ctx,
                     "config.%s is out of range (page_size 1..1000, "
                     "max_retries 0..10, timeout_ms and index_lag_ms >= 0)",
                     bad);
        return CS_ERR_INVALID;
    }
    s->max_retries = (int)retries;
    return CS_OK;
}

static int load_strings(struct dom_state *s, cs_ctx *ctx, const json_t *cfg)
{
    const char *base = opt_str(cfg, "base_url");
    const char *bot = opt_str(cfg, "bot_name");
    const char *conn = opt_str(cfg, "connection");
    if (!base ||
        (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))) {
        s->host->set_error(ctx, "config.base_url must start with http:// or "
                                "https://");
        return CS_ERR_INVALID;
    }
    s->api = api_root(base);
    s->bot = strdup(bot ? bot : "");
    s->connection = conn && *conn ? strdup(conn) : NULL;
    s->exclude = json_incref(json_object_get(cfg, "exclude_tables"));
    s->full = json_is_true(json_object_get(cfg, "full"));
    return s->api && s->bot && (s->connection || !conn || !*conn)
               ? CS_OK
               : CS_ERR_NOMEM;
}

static int dom_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    const json_t *cfg = host->config(ctx);
    struct dom_state *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(ctx, "out of memory");
        return CS_ERR_NOMEM;
    }
    s->host = host;
    int rc = load_strings(s, ctx, cfg);
    if (rc == CS_OK)
        rc = check_numbers(s, ctx, cfg);
    if (rc == CS_OK)
        rc = dom_filters_parse(s, ctx, "services", DOM_SERVICE);
    if (rc == CS_OK)
        rc = dom_filters_parse(s, ctx, "databases", DOM_DATABASE);
    if (rc == CS_OK)
        rc = dom_filters_parse(s, ctx, "schemas", DOM_SCHEMA);
    if (rc == CS_OK)
        rc = om_bearer_header(s->host, ctx, cfg, &s->auth);
    if (rc != CS_OK) {
        if (rc == CS_ERR_NOMEM)
            host->set_error(ctx, "out of memory reading the config");
        dom_fini(s);
        return rc;
    }
    *state = s;
    return CS_OK;
}

/* ---- discover --------------------------------------------------------- */

/* Reads the committed watermark; an unusable one makes this a first run
 * (everything is listed again, which is safe). */
static void read_watermark(struct dom_run *run)
{
    json_t *wm = run->s->host->watermark_get(run->ctx);
    json_t *at = json_object_get(wm, "updatedAt");
    json_t *seen = json_object_get(wm, "seen");
    run->first = !json_is_integer(at) || !json_is_object(seen);
    if (wm && run->first)
        run->s->host->log(run->ctx, CS_LOG_WARN,
                          "the committed watermark has no integer updatedAt "
                          "and seen object: listing every table again");
    run->wm = run->first ? 0 : (long long)json_integer_value(at);
    run->seen = run->first ? NULL : seen;
    run->window = run->first ? LLONG_MIN : run->wm - run->s->index_lag_ms;
    run->emit_all = run->first || run->s->full;
}

static int fall_back(struct dom_run *run)
{
    run->s->host->log(
        run->ctx, CS_LOG_WARN,
        "OpenMetadata ignored the search query_filter (a hit is below the "
        "watermark or outside the service/database/schema filters): "
        "listing every table with GET %s/tables and filtering here instead",
        run->s->api);
    run->s->host->metric_add(run->ctx, "query_filter_ignored", 1);
    json_object_clear(run->cand);
    run->found = 0;
    return dom_list(run);
}

static int find_changes(struct dom_run *run, const char **how)
{
    if (run->emit_all) {
        *how = run->first ? "first run, listing" : "full listing";
        return dom_list(run);
    }
    bool violation = false;
    *how = "search";
    int rc = dom_search(run, &violation);
    if (rc != CS_OK || !violation)
        return rc;
    *how = "listing (the search filter was ignored)";
    return fall_back(run);
}

static int stage_watermark(struct dom_run *run)
{
    if (run->first && json_object_size(run->cand) == 0)
        return CS_OK; /* an empty catalog: stay a first run */
    json_t *wm = dom_watermark(run);
    if (!wm) {
        run->s->host->set_error(run->ctx, "out of memory building the "
                                          "watermark");
        return CS_ERR_NOMEM;
    }
    if (json_equal(wm, run->s->host->watermark_get(run->ctx))) {
        json_decref(wm);
        return CS_OK;
    }
    return run->s->host->watermark_set(run->ctx, wm);
}

static void report(const struct dom_run *run, const char *how)
{
    const cs_host_api *h = run->s->host;
    h->metric_add(run->ctx, "tables_found", (double)run->found);
    h->metric_add(run->ctx, "tables_emitted", (double)run->emitted);
    h->metric_add(run->ctx, "tables_skipped_bot", (double)run->skipped_bot);
    h->metric_add(run->ctx, "tables_excluded", (double)run->excluded);
    h->metric_add(run->ctx, "tables_deleted", (double)run->deleted);
    h->log(run->ctx, CS_LOG_INFO,
           "OpenMetadata %s (%s): %zu tables found, %zu emitted, %zu skipped "
           "(last changed by %s), %zu excluded, %zu deleted",
           run->s->api, how, run->found, run->emitted, run->skipped_bot,
           run->s->bot, run->excluded + run->filtered, run->deleted);
}

static int dom_discover(void *state, cs_ctx *ctx)
{
    struct dom_state *s = state;
    const cs_host_api *h = s->host;
    struct dom_run run = {.s = s, .ctx = ctx};
    run.cand = json_object();
    run.done = json_object();
    json_t *targets = CS_HOST_HAS(h, run_targets) ? h->run_targets(ctx) : NULL;
    const char *how = "targeted";
    int rc = run.cand && run.done ? CS_OK : CS_ERR_NOMEM;
    if (rc == CS_OK && targets) {
        run.emit_all = false;
        rc = dom_targets(&run, targets);
    } else if (rc == CS_OK) {
        read_watermark(&run);
        rc = find_changes(&run, &how);
        if (rc == CS_OK)
            rc = dom_process(&run);
        if (rc == CS_OK)
            rc = stage_watermark(&run);
    }
    if (rc == CS_OK)
        report(&run, how);
    else if (rc == CS_ERR_NOMEM)
        h->set_error(ctx, "out of memory while discovering tables");
    json_decref(run.cand);
    json_decref(run.done);
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "discovery_openmetadata",
    .version = "0.1.0",
    .summary = "finds the tables of an OpenMetadata catalog changed since "
               "the last run and emits them as OpenMetadata Table entities",
    .kind = CS_PASS_SOURCE,
    .consumes = NULL,
    .produces = produces,
    .options = options,
    .init = dom_init,
    .discover = dom_discover,
    .fini = dom_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
