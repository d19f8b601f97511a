/* HTTP handlers of the master (registered on the api module's router). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "master_internal.h"
#include "metrics.h"
#include "queue.h"
#include "webhook.h"

static json_t *epoch_or_null(double t)
{
    return t > 0 ? json_real(t) : json_null();
}

json_t *master_run_to_json(const void *row)
{
    const struct run_row *r = row;
    return json_pack(
        "{s:I,s:s,s:s,s:i,s:i,s:{s:I,s:I,s:I,s:I,s:I},s:o,s:o,s:o,s:o,s:o}",
        "id", (json_int_t)r->id, "trigger", r->trigger, "status", r->status,
        "stage", r->stage, "generation", r->generation, "entities", "total",
        (json_int_t)r->total, "queued", (json_int_t)r->queued, "running",
        (json_int_t)r->running, "done", (json_int_t)r->done, "failed",
        (json_int_t)r->failed, "created_at", epoch_or_null(r->created_at),
        "started_at", epoch_or_null(r->started_at), "finished_at",
        epoch_or_null(r->finished_at), "error",
        r->error ? json_string(r->error) : json_null(), "requested_by",
        r->requested_by ? json_string(r->requested_by) : json_null());
}

static const char *state_name(enum wp_state s)
{
    return s == WP_READY ? "ready" : s == WP_STARTING ? "starting" : "draining";
}

json_t *master_status_json(struct master *m)
{
    json_t *workers = json_array();
    for (struct worker_proc *wp = m->workers; wp; wp = wp->next)
        json_array_append_new(workers,
                              json_pack("{s:i,s:i,s:s}", "pid", (int)wp->pid,
                                        "generation", wp->generation, "state",
                                        state_name(wp->state)));
    int64_t active = 0;
    char err[512];
    int db_ok =
        m->db && queue_active_run(master_db(m), &active, err, sizeof err) == 0;
    return json_pack(
        "{s:i,s:o,s:{s:s,s:s},s:{s:s,s:o,s:o},s:o,s:o,s:b}", "generation",
        m->generation, "workers", workers, "manifest", "path",
        m->o.manifest_path, "sha256", m->man ? m->man->sha256 : "",
        "last_reload", "result",
        m->reload_result[0] ? m->reload_result : "none", "error",
        m->reload_error[0] ? json_string(m->reload_error) : json_null(), "at",
        epoch_or_null(m->reload_at), "active_run",
        active ? json_integer(active) : json_null(), "manifest_error",
        strcmp(m->reload_result, "invalid") == 0 ||
                strcmp(m->reload_result, "failed") == 0
            ? json_string(m->reload_error)
            : json_null(),
        "state_store_ok", db_ok);
}

static void h_healthz(void *ud, const struct api_request *req,
                      struct api_reply *reply)
{
    api_reply_json(reply, 200, json_pack("{s:s}", "status", "ok"));
}

static void h_readyz(void *ud, const struct api_request *req,
                     struct api_reply *reply)
{
    struct master *m = ud;
    PGresult *r = m->db ? PQexec(m->db, "SELECT 1") : NULL;
    bool db_ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!db_ok && m->db)
        PQreset(m->db);
    if (!m->current || m->current->state != WP_READY)
        api_reply_error(reply, 503, "no worker generation is ready");
    else if (!db_ok)
        api_reply_error(reply, 503, "the state store does not answer");
    else
        api_reply_json(reply, 200,
                       json_pack("{s:s,s:i}", "status", "ready", "generation",
                                 m->generation));
}

static void h_metrics(void *ud, const struct api_request *req,
                      struct api_reply *reply)
{
    struct master *m = ud;
    json_t *extra[64];
    size_t n = 0;
    for (struct worker_proc *wp = m->workers; wp && n < 64; wp = wp->next)
        if (wp->metrics)
            extra[n++] = wp->metrics;
    reply->status = 200;
    reply->content_type = "text/plain; version=0.0.4";
    reply->body = metrics_render_with(m->metrics, extra, n);
}

static void h_status(void *ud, const struct api_request *req,
                     struct api_reply *reply)
{
    api_reply_json(reply, 200, master_status_json(ud));
}

static void h_trigger(void *ud, const struct api_request *req,
                      struct api_reply *reply)
{
    struct master *m = ud;
    int64_t id;
    bool created;
    char err[1024];
    if (queue_create_run(master_db(m), "api", req->caller, m->generation, &id,
                         &created, err, sizeof err) != 0) {
        api_reply_error(reply, 503, "cannot create a run: %s", err);
        return;
    }
    log_info("run %lld %s by API caller %s", (long long)id,
             created ? "created" : "already active", req->caller);
    master_wake_workers(m);
    api_reply_json(
        reply, created ? 202 : 200,
        json_pack("{s:I,s:b}", "run_id", (json_int_t)id, "created", created));
}

static void h_list_runs(void *ud, const struct api_request *req,
                        struct api_reply *reply)
{
    struct master *m = ud;
    const char *lim = api_request_arg(req, "limit");
    int limit = lim ? atoi(lim) : 20;
    if (limit < 1 || limit > 1000) {
        api_reply_error(reply, 400, "limit must be between 1 and 1000");
        return;
    }
    struct run_row *rows = NULL;
    size_t n = 0;
    char err[1024];
    if (queue_list_runs(master_db(m), limit, &rows, &n, err, sizeof err) != 0) {
        api_reply_error(reply, 503, "cannot list runs: %s", err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, master_run_to_json(&rows[i]));
        queue_run_row_clear(&rows[i]);
    }
    free(rows);
    api_reply_json(reply, 200, json_pack("{s:o}", "runs", arr));
}

static void h_get_run(void *ud, const struct api_request *req,
                      struct api_reply *reply)
{
    struct master *m = ud;
    const char *id_s = strrchr(req->path, '/') + 1;
    char *end;
    long long id = strtoll(id_s, &end, 10);
    if (!*id_s || *end || id <= 0) {
        api_reply_error(reply, 400,
                        "run id must be a positive integer, got "
                        "\"%.64s\"",
                        id_s);
        return;
    }
    struct run_row r;
    char err[1024];
    int rc = queue_get_run(master_db(m), id, &r, err, sizeof err);
    if (rc < 0)
        api_reply_error(reply, 503, "cannot read run %lld: %s", id, err);
    else if (rc == 0)
        api_reply_error(reply, 404, "no run %lld", id);
    else {
        api_reply_json(reply, 200, master_run_to_json(&r));
        queue_run_row_clear(&r);
    }
}

static void h_reload(void *ud, const struct api_request *req,
                     struct api_reply *reply)
{
    struct master *m = ud;
    char err[2048];
    log_info("reload requested by API caller %s", req->caller);
    if (master_reload(m, err, sizeof err) != 0)
        api_reply_error(reply, 422, "%s", err);
    else
        api_reply_json(reply, 202,
                       json_pack("{s:b,s:i}", "accepted", 1, "generation",
                                 m->generation + 1));
}

/* ---- POST /v1/webhooks/openmetadata -------------------------------------- */

#define WEBHOOK_REQUESTER "webhook:openmetadata"

static void count_webhook(struct master *m, const char *result)
{
    char labels[64];
    snprintf(labels, sizeof labels, "result=\"%s\"", result);
    metrics_counter_add(m->metrics, "catalog_sync_webhook_events_total", labels,
                        "OpenMetadata webhook deliveries, by result", 1);
}

/* Audit evidence of an accepted event: who changed what, never a value. */
static json_t *event_evidence(const struct webhook_event *ev)
{
    return json_pack("{s:s,s:s,s:s,s:s?,s:I}", "via", WEBHOOK_REQUESTER,
                     "change_event", ev->id, "event_type", ev->event_type,
                     "user_name", ev->user_name[0] ? ev->user_name : NULL,
                     "timestamp", (json_int_t)ev->timestamp_ms);
}

/* Records the target and starts a targeted run unless one is active (the
 * target then waits for the master's next look, master_start_targeted). */
static void accept_event(struct master *m, const struct webhook_event *ev,
                         struct api_reply *reply)
{
    char err[1024];
    json_t *evidence = event_evidence(ev);
    struct run_target t = {
        "openmetadata", ev->entity_id, ev->fqn[0] ? ev->fqn : NULL,
        ev->event,      ev->id,        ev->timestamp_ms,
        evidence};
    int64_t target_id = 0, run_id = 0;
    bool merged = false, created = false;
    PGconn *db = master_db(m);
    int rc = queue_add_target(db, &t, &target_id, &merged, err, sizeof err);
    json_decref(evidence);
    if (rc == 0)
        rc = queue_create_targeted_run(db, WEBHOOK_REQUESTER, m->generation,
                                       &run_id, &created, err, sizeof err);
    if (rc != 0) {
        count_webhook(m, "error");
        log_error("webhook: cannot record table %s: %s", ev->entity_id, err);
        api_reply_error(reply, 503, "cannot record the event: %s", err);
        return;
    }
    count_webhook(m, "accepted");
    log_info("webhook: table %s (%s) %s by %s: %s, run %lld %s",
             ev->fqn[0] ? ev->fqn : "?", ev->entity_id, ev->event,
             ev->user_name[0] ? ev->user_name : "?",
             merged ? "merged into its pending target" : "target pending",
             (long long)run_id, created ? "created" : "already active");
    if (created)
        master_wake_workers(m);
    api_reply_json(reply, 202,
                   json_pack("{s:s,s:s,s:s,s:b,s:o,s:b}", "status", "accepted",
                             "entity_id", ev->entity_id, "event", ev->event,
                             "merged", merged, "run_id",
                             run_id ? json_integer(run_id) : json_null(),
                             "run_created", created));
}

/* No bearer token: the HMAC signature over the raw body authenticates the
 * sender, so it is checked before the body is even parsed. */
static void h_webhook_om(void *ud, const struct api_request *req,
                         struct api_reply *reply)
{
    struct master *m = ud;
    const struct mf_webhook *wh = m->man ? m->man->webhook_om : NULL;
    char why[512];
    if (!wh) {
        api_reply_error(reply, 404,
                        "the OpenMetadata webhook is not enabled: add "
                        "`webhooks: {openmetadata: {secret_file: PATH, "
                        "source: <source pass>}}` to the manifest and reload");
        return;
    }
    const char *sig = api_request_header(req, WEBHOOK_SIGNATURE_HEADER);
    if (webhook_check_signature(wh->secret, req->body, req->body_len, sig, why,
                                sizeof why) != 0) {
        count_webhook(m, "bad_signature");
        log_warn("webhook: delivery refused: %s", why);
        api_reply_error(reply, 401, "%s", why);
        return;
    }
    struct webhook_event ev;
    switch (webhook_read_event(req->body, req->body_len, wh->bot_name, &ev, why,
                               sizeof why)) {
    case WEBHOOK_MALFORMED:
        count_webhook(m, "malformed");
        log_warn("webhook: malformed ChangeEvent: %s", why);
        api_reply_error(reply, 400, "malformed ChangeEvent: %s", why);
        return;
    case WEBHOOK_IGNORED:
        count_webhook(m, "ignored");
        log_debug("webhook: event ignored: %s", why);
        api_reply_json(
            reply, 200,
            json_pack("{s:s,s:s}", "status", "ignored", "reason", why));
        return;
    case WEBHOOK_ACCEPTED:
        accept_event(m, &ev, reply);
        return;
    }
}

int master_api_start(struct master *m, char *err, size_t errlen)
{
    m->api = api_start(m->loop, m->man->api_listen, m->man->api_tokens_file,
                       NULL, err, errlen);
    if (!m->api)
        return -1;
    /* The api module leaves viewer routes open while no tokens file is
     * configured; writes always need an operator token. */
    enum api_role view = API_ROLE_VIEWER;
    api_route(m->api, "GET", "/healthz", API_ROLE_NONE, h_healthz, m);
    api_route(m->api, "GET", "/readyz", API_ROLE_NONE, h_readyz, m);
    api_route(m->api, "GET", "/metrics", API_ROLE_NONE, h_metrics, m);
    api_route(m->api, "GET", "/v1/status", view, h_status, m);
    api_route(m->api, "POST", "/v1/runs", API_ROLE_OPERATOR, h_trigger, m);
    api_route(m->api, "GET", "/v1/runs", view, h_list_runs, m);
    api_route(m->api, "GET", "/v1/runs/*", view, h_get_run, m);
    api_route(m->api, "POST", "/v1/reload", API_ROLE_OPERATOR, h_reload, m);
    api_route(m->api, "POST", "/v1/webhooks/openmetadata", API_ROLE_NONE,
              h_webhook_om, m);
    log_info("HTTP API listening on %s (port %d)", m->man->api_listen,
             api_port(m->api));
    return 0;
}
