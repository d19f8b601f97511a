#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "hostapi.h"
#include "httpclient.h"
#include "llm.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "plan.h"
#include "queue.h"
#include "sha256.h"
#include "sqlconn.h"
#include "state.h"

#define CLAIM_BATCH 16
#define IDLE_POLL_MS 200

struct worker {
    struct worker_options opts;
    struct manifest *m;
    struct plan *plan;
    struct pass_instance *passes; /* one per plan step */
    struct metrics *metrics;
    struct host_env env;
    atomic_bool stopping;
    char owner_prefix[128];
    int first_job_stage;
    bool persist_table; /* a batch pass reads `table` from the state store */
    char plan_fingerprint[65]; /* passes, versions and configs of the plan */
    int n_threads;
    pthread_t *threads;
    struct thread_res *res;
    pthread_mutex_t idle_lock;
    pthread_cond_t idle_cond;
    atomic_int live_threads;
};

/* The job and step a pool thread is running, read by the crash handler so
 * the master can blame the right entity. */
static _Thread_local long long tls_job;
static _Thread_local int tls_step = -1;
static int crash_fd = -1;
static volatile sig_atomic_t got_term;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void crash_handler(int sig)
{
    if (crash_fd >= 0 && tls_job > 0)
        control_send_crash_signal_safe(crash_fd, tls_job, tls_step, sig);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void term_handler(int sig)
{
    (void)sig;
    got_term = 1;
}

static void install_signal_handlers(int control_fd)
{
    crash_fd = control_fd;
    struct sigaction sa = {0};
    sa.sa_handler = crash_handler;
    sigemptyset(&sa.sa_mask);
    int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crash_signals / sizeof *crash_signals; i++)
        sigaction(crash_signals[i], &sa, NULL);
    sa.sa_handler = term_handler;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void wake_all(struct worker *w)
{
    pthread_mutex_lock(&w->idle_lock);
    pthread_cond_broadcast(&w->idle_cond);
    pthread_mutex_unlock(&w->idle_lock);
}

static void idle_wait(struct worker *w, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->idle_lock);
    if (!atomic_load(&w->stopping))
        pthread_cond_timedwait(&w->idle_cond, &w->idle_lock, &ts);
    pthread_mutex_unlock(&w->idle_lock);
}

/* ---- passes: load, init, fini ---------------------------------------- */

static int init_pass(struct worker *w, struct pass_instance *pi,
                     struct thread_res *tr, char *err, size_t errlen)
{
    struct cs_ctx ctx;
    hostapi_ctx_init(&ctx, CTX_INIT, pi, tr, &w->env);
    int rc = pi->plugin.desc.init
                 ? pi->plugin.desc.init(&pi->api, &ctx, &pi->state)
                 : CS_OK;
    if (rc != CS_OK) {
        snprintf(err, errlen, "pass `%s` (%s): init failed: %s", pi->name,
                 pi->step->pass->plugin_path, hostapi_callback_error(&ctx, rc));
        return -1;
    }
    pi->initialized = true;
    return 0;
}

static int load_pass(struct worker *w, size_t i, struct thread_res *tr,
                     char *err, size_t errlen)
{
    struct pass_instance *pi = &w->passes[i];
    const struct mf_pass *mp = w->plan->steps[i].pass;
    pi->step = &w->plan->steps[i];
    pi->name = mp->name;
    pthread_mutex_init(&pi->lock, NULL);
    pthread_cond_init(&pi->cond, NULL);
    pi->max_in_flight = mp->concurrency > 0 ? mp->concurrency : w->n_threads;
    if (loader_open(mp->name, mp->plugin_path, &pi->plugin, err, errlen) != 0 ||
        loader_check_declarations(w->m, mp, &pi->plugin.desc, err, errlen) !=
            0 ||
        loader_validate_pass_config(w->m, mp, pi->plugin.desc.options,
                                    &pi->config, err, errlen) != 0)
        return -1;
    hostapi_fill_table(pi);
    return init_pass(w, pi, tr, err, errlen);
}

static void fini_passes(struct worker *w)
{
    if (!w->passes)
        return;
    for (size_t i = w->plan->n_steps; i-- > 0;) {
        struct pass_instance *pi = &w->passes[i];
        if (pi->initialized && pi->plugin.desc.fini)
            pi->plugin.desc.fini(pi->state);
        pi->initialized = false;
        json_decref(pi->config);
        pi->config = NULL;
    }
}

/* ---- per-thread resources --------------------------------------------- */

static int thread_res_open(struct worker *w, struct thread_res *tr,
                           const char *suffix, char *err, size_t errlen)
{
    snprintf(tr->owner, sizeof tr->owner, "%s:%s", w->owner_prefix, suffix);
    tr->state =
        state_connect(w->m->state_dsn, "catalog-sync worker", err, errlen);
    if (!tr->state)
        return -1;
    tr->http = http_client_new(w->m->egress, w->m->n_egress, NULL);
    tr->sql = sql_pool_new(w->m);
    if (!tr->http || !tr->sql) {
        snprintf(err, errlen, "out of memory creating thread resources");
        return -1;
    }
    return 0;
}

static void thread_res_close(struct thread_res *tr)
{
    if (tr->state)
        PQfinish(tr->state);
    http_client_free(tr->http);
    sql_pool_free(tr->sql);
    memset(tr, 0, sizeof *tr);
}

/* ---- entity jobs ------------------------------------------------------- */

static void count_entity(struct worker *w, const char *pass,
                         const char *outcome, double seconds)
{
    char labels[192];
    snprintf(labels, sizeof labels, "pass=\"%s\",outcome=\"%s\"", pass,
             outcome);
    metrics_counter_add(w->metrics, "catalog_sync_entities_total", labels,
                        "Entities processed, by pass and outcome", 1);
    if (seconds >= 0) {
        snprintf(labels, sizeof labels, "pass=\"%s\"", pass);
        metrics_observe(w->metrics, "catalog_sync_pass_duration_seconds",
                        labels, "Time one pass spent on one entity", seconds);
    }
}

static void acquire_slot(struct pass_instance *pi)
{
    pthread_mutex_lock(&pi->lock);
    while (pi->in_flight >= pi->max_in_flight)
        pthread_cond_wait(&pi->cond, &pi->lock);
    pi->in_flight++;
    pthread_mutex_unlock(&pi->lock);
}

static void release_slot(struct pass_instance *pi)
{
    pthread_mutex_lock(&pi->lock);
    pi->in_flight--;
    pthread_cond_signal(&pi->cond);
    pthread_mutex_unlock(&pi->lock);
}

static const char *missing_input(const struct plan_step *step, json_t *aspects)
{
    for (size_t i = 0; i < step->n_inputs; i++)
        if (!step->inputs[i].optional &&
            !json_object_get(aspects, step->inputs[i].aspect))
            return step->inputs[i].aspect;
    return NULL;
}

/* Returns false when the pass gave up because the worker is draining:
 * the entity then goes back to the queue instead of being failed. */
static bool run_entity_step(struct worker *w, struct thread_res *tr,
                            const struct job *job, size_t si, json_t *aspects,
                            json_t *errors)
{
    struct pass_instance *pi = &w->passes[si];
    const char *missing = missing_input(pi->step, aspects);
    if (missing) {
        char msg[256];
        snprintf(msg, sizeof msg, "skipped: required aspect `%s` is missing",
                 missing);
        json_object_set_new(errors, pi->name, json_string(msg));
        count_entity(w, pi->name, "skipped", -1);
        return true;
    }
    struct cs_ctx ctx;
    hostapi_ctx_init(&ctx, CTX_ENTITY, pi, tr, &w->env);
    ctx.run_id = job->run_id;
    ctx.fqn = job->fqn;
    ctx.aspects = aspects;
    acquire_slot(pi);
    tls_job = job->id;
    tls_step = (int)si;
    double t0 = now_seconds();
    int rc = pi->plugin.desc.process(pi->state, &ctx);
    double dt = now_seconds() - t0;
    tls_step = -1;
    release_slot(pi);
    if (rc == CS_ERR_STOPPING && atomic_load(&w->stopping))
        return false;
    count_entity(w, pi->name, rc == CS_OK ? "ok" : "error", dt);
    if (rc != CS_OK) {
        const char *why = hostapi_callback_error(&ctx, rc);
        json_object_set_new(errors, pi->name, json_string(why));
        log_event(LOG_WARN, pi->name, job->fqn, "pass failed: %s", why);
    }
    /* Raw aspects are dropped right after their last consumer ran. */
    for (size_t i = 0; i < pi->step->n_free_after; i++)
        json_object_del(aspects, pi->step->free_after[i]);
    return true;
}

/* Aspects the stage needs that earlier stages persisted. */
static int load_persisted_inputs(struct worker *w, struct thread_res *tr,
                                 const struct job *job, json_t *aspects,
                                 char *err, size_t errlen)
{
    const struct plan_stage *st = &w->plan->stages[job->stage];
    for (size_t s = st->first_step; s < st->first_step + st->n_steps; s++) {
        const struct plan_step *step = &w->plan->steps[s];
        for (size_t i = 0; i < step->n_inputs; i++) {
            const struct plan_input *in = &step->inputs[i];
            if (in->producer < 0 || in->raw ||
                w->plan->steps[in->producer].stage >= job->stage ||
                json_object_get(aspects, in->aspect))
                continue;
            json_t *v = NULL;
            if (queue_get_aspect(tr->state, job->fqn, in->aspect, &v, err,
                                 errlen) < 0)
                return -1;
            if (v)
                json_object_set_new(aspects, in->aspect, v);
        }
    }
    return 0;
}

/* The non-raw aspects this job persists: what the stage's passes produced,
 * plus the entity itself at the first stage when a batch pass reads it
 * (otherwise it stays in the job row, where reports find it). */
static json_t *aspects_to_persist(struct worker *w, const struct job *job,
                                  json_t *aspects, json_t *passes)
{
    json_t *out = json_object();
    if (w->persist_table && job->stage == w->first_job_stage && job->entity)
        json_object_set(out, "table", job->entity);
    const struct plan_stage *st = &w->plan->stages[job->stage];
    for (size_t s = st->first_step; s < st->first_step + st->n_steps; s++) {
        const struct mf_pass *mp = w->plan->steps[s].pass;
        json_array_append_new(passes, json_string(mp->name));
        for (size_t i = 0; i < mp->n_outputs; i++) {
            const char *name = mp->outputs[i].name;
            json_t *v = json_object_get(aspects, name);
            if (v && !manifest_aspect_is_raw(w->m, name))
                json_object_set(out, name, v);
        }
    }
    return out;
}

/* Returns false when the job must go back to the queue unfinished: a drain
 * interrupted it, or the state store went away before it was recorded. */
static bool process_job(struct worker *w, struct thread_res *tr,
                        const struct job *job)
{
    char err[1024] = "";
    json_t *aspects = json_object();
    json_t *errors = json_object();
    json_t *passes = json_array();
    bool interrupted = false;
    if (job->entity)
        json_object_set(aspects, "table", job->entity);
    const struct plan_stage *st = &w->plan->stages[job->stage];
    if (job->op == JOB_UPSERT && st->kind == STAGE_ENTITY) {
        if (load_persisted_inputs(w, tr, job, aspects, err, sizeof err) != 0)
            json_object_set_new(errors, "host", json_string(err));
        else
            for (size_t s = st->first_step;
                 s < st->first_step + st->n_steps && !interrupted; s++)
                interrupted = !run_entity_step(w, tr, job, s, aspects, errors);
    }
    if (interrupted) {
        log_event(LOG_INFO, NULL, job->fqn,
                  "interrupted by the drain; back to the queue");
        json_decref(errors);
        json_decref(passes);
        json_decref(aspects);
        return false;
    }
    json_t *persist = aspects_to_persist(w, job, aspects, passes);
    char *pass_list = json_dumps(passes, JSON_COMPACT);
    bool failed = json_object_size(errors) > 0;
    int rc = queue_complete_job(
        tr->state, job, tr->owner, job->op == JOB_UPSERT ? persist : NULL,
        failed ? errors : NULL, failed, pass_list, err, sizeof err);
    bool connection_lost = rc < 0 && PQstatus(tr->state) != CONNECTION_OK;
    if (rc < 0)
        log_event(LOG_ERROR, NULL, job->fqn, "cannot record job %lld: %s",
                  (long long)job->id, err);
    else if (rc == 0)
        log_event(LOG_WARN, NULL, job->fqn,
                  "job %lld: claim lost before completion (lease expired); "
                  "another worker owns it now",
                  (long long)job->id);
    free(pass_list);
    json_decref(persist);
    json_decref(passes);
    json_decref(errors);
    json_decref(aspects);
    /* With the state store gone, stop working on claimed jobs whose result
     * could not be recorded anyway; they are handed back on reconnect. */
    return !connection_lost;
}

/* ---- discovery, batch stages, run completion ---------------------------- */

/* A source's watermark is stored with the fingerprint of the plan that
 * processed what it covers.  When passes, their versions or their configs
 * changed since, the source starts over (it sees no watermark), so every
 * entity meets the new plan: a pass added to the manifest, or a better
 * recognizer, re-evaluates tables that did not change. */
static int load_watermark(struct worker *w, struct thread_res *tr,
                          struct cs_ctx *ctx, char *err, size_t errlen)
{
    json_t *stored = NULL;
    if (queue_get_watermark(tr->state, ctx->pi->name, &stored, err, errlen) < 0)
        return -1;
    const char *plan = json_string_value(json_object_get(stored, "plan"));
    if (plan && strcmp(plan, w->plan_fingerprint) == 0)
        ctx->watermark = json_incref(json_object_get(stored, "state"));
    else if (stored)
        log_event(LOG_INFO, ctx->pi->name, NULL,
                  "the passes changed since the last run: every entity is "
                  "discovered again");
    json_decref(stored);
    return 0;
}

static json_t *stamped_watermark(struct worker *w, json_t *state)
{
    return json_pack("{s:s,s:O}", "plan", w->plan_fingerprint, "state", state);
}

static int discover_one(struct worker *w, struct thread_res *tr, size_t si,
                        json_t *targets, struct cs_ctx *ctx, char *err,
                        size_t errlen)
{
    struct pass_instance *pi = &w->passes[si];
    hostapi_ctx_init(ctx, CTX_SOURCE, pi, tr, &w->env);
    ctx->targets = targets;
    if (load_watermark(w, tr, ctx, err, errlen) != 0)
        return -1;
    double t0 = now_seconds();
    int rc = pi->plugin.desc.discover(pi->state, ctx);
    count_entity(w, pi->name, rc == CS_OK ? "ok" : "error", now_seconds() - t0);
    if (rc != CS_OK) {
        snprintf(err, errlen, "source pass `%s` failed: %s", pi->name,
                 hostapi_callback_error(ctx, rc));
        return -1;
    }
    return 0;
}

/* Moves a source's emitted items into the run's list (ownership moves). */
static int take_items(struct cs_ctx *ctx, struct discovered **all, size_t *n)
{
    if (ctx->n_items == 0)
        return 0;
    struct discovered *grown =
        realloc(*all, (*n + ctx->n_items + 1) * sizeof **all);
    if (!grown)
        return -1;
    memcpy(grown + *n, ctx->items, ctx->n_items * sizeof *grown);
    *all = grown;
    *n += ctx->n_items;
    free(ctx->items);
    ctx->items = NULL;
    ctx->n_items = ctx->cap_items = 0;
    return 0;
}

static void free_items(struct discovered *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].fqn);
        json_decref(items[i].entity);
    }
    free(items);
}

/* A full run asks every source; a targeted run only the source named by
 * webhooks.openmetadata.source. */
static bool discovers(const struct worker *w, size_t step, json_t *targets)
{
    return !targets ||
           strcmp(w->passes[step].name, w->m->webhook_om->source) == 0;
}

/* A targeted run never moves a watermark; a source that ignored its
 * targets listed what changed since the watermark instead, which is
 * correct but not what was asked: say so. */
static void after_targeted(const struct cs_ctx *ctx, int64_t run_id)
{
    if (ctx->staged_watermark)
        log_event(LOG_DEBUG, ctx->pi->name, NULL,
                  "run %lld is targeted: the staged watermark is ignored",
                  (long long)run_id);
    if (!ctx->targets_read)
        log_event(LOG_WARN, ctx->pi->name, NULL,
                  "run %lld is targeted but the pass did not read its targets "
                  "(run_targets(), ABI 1.1): it emitted %zu entities from its "
                  "own listing",
                  (long long)run_id, ctx->n_items);
}

/* `targets` (borrowed) is the run's targets for a targeted run, else
 * NULL. */
static void run_discovery(struct worker *w, struct thread_res *tr,
                          int64_t run_id, json_t *targets)
{
    char err[1024] = "";
    struct discovered *all = NULL;
    size_t n = 0, deleted = 0;
    json_t *staged = json_object();
    const struct plan_stage *st = &w->plan->stages[0];
    int ok = 0;
    if (targets)
        log_info("run %lld: targeted discovery of %zu tables by `%s`",
                 (long long)run_id, json_array_size(targets),
                 w->m->webhook_om->source);
    for (size_t s = st->first_step; ok == 0 && s < st->first_step + st->n_steps;
         s++) {
        if (!discovers(w, s, targets))
            continue;
        struct cs_ctx ctx;
        ok = discover_one(w, tr, s, targets, &ctx, err, sizeof err);
        if (ok == 0 && targets)
            after_targeted(&ctx, run_id);
        else if (ok == 0 && ctx.staged_watermark)
            json_object_set_new(staged, w->passes[s].name,
                                stamped_watermark(w, ctx.staged_watermark));
        if (ok == 0 && take_items(&ctx, &all, &n) != 0) {
            snprintf(err, sizeof err, "out of memory collecting entities");
            ok = -1;
        }
        hostapi_ctx_clear(&ctx);
    }
    for (size_t i = 0; i < n; i++)
        deleted += all[i].op == JOB_DELETE;
    if (ok == 0 &&
        queue_commit_discovery(tr->state, run_id, tr->owner, all, n, staged,
                               w->first_job_stage, err, sizeof err) == 0) {
        log_info("run %lld: discovered %zu entities (%zu changed or new, %zu "
                 "deleted)",
                 (long long)run_id, n, n - deleted, deleted);
    } else {
        char err2[512];
        log_error("run %lld failed in discovery: %s", (long long)run_id, err);
        metrics_counter_add(w->metrics, "catalog_sync_runs_total",
                            "status=\"failed\"", "Runs finished, by status", 1);
        if (queue_fail_run(tr->state, run_id, err, err2, sizeof err2) != 0)
            log_error("run %lld: cannot record the failure: %s",
                      (long long)run_id, err2);
    }
    free_items(all, n);
    json_decref(staged);
}

static void run_batch_step(struct worker *w, struct thread_res *tr,
                           int64_t run_id, size_t si)
{
    struct pass_instance *pi = &w->passes[si];
    struct cs_ctx ctx;
    char err[1024];
    hostapi_ctx_init(&ctx, CTX_BATCH, pi, tr, &w->env);
    ctx.run_id = run_id;
    if (queue_run_entities(tr->state, run_id, &ctx.fqns, &ctx.n_fqns, err,
                           sizeof err) != 0) {
        log_event(LOG_ERROR, pi->name, NULL, "run %lld: %s", (long long)run_id,
                  err);
        return;
    }
    double t0 = now_seconds();
    int rc = pi->plugin.desc.finish(pi->state, &ctx);
    count_entity(w, pi->name, rc == CS_OK ? "ok" : "error", now_seconds() - t0);
    if (rc != CS_OK) {
        const char *why = hostapi_callback_error(&ctx, rc);
        log_event(LOG_ERROR, pi->name, NULL, "run %lld: batch pass failed: %s",
                  (long long)run_id, why);
        json_t *ev = json_pack("{s:s}", "error", why);
        queue_audit(tr->state, run_id, pi->name, NULL, "state:catalog_sync",
                    "batch.failed", NULL, NULL, NULL, ev, err, sizeof err);
        json_decref(ev);
    }
    for (size_t i = 0; i < ctx.n_fqns; i++)
        free(ctx.fqns[i]);
    free(ctx.fqns);
    hostapi_ctx_clear(&ctx);
}

static void finish_run(struct worker *w, struct thread_res *tr, int64_t run_id)
{
    char err[1024];
    if (queue_complete_run(tr->state, run_id, err, sizeof err) != 0) {
        log_error("run %lld: cannot complete: %s", (long long)run_id, err);
        return;
    }
    struct run_row r;
    if (queue_get_run(tr->state, run_id, &r, err, sizeof err) == 1) {
        log_info("run %lld completed: %lld entities, %lld done, %lld failed",
                 (long long)run_id, (long long)r.total, (long long)r.done,
                 (long long)r.failed);
        queue_run_row_clear(&r);
    }
    metrics_counter_add(w->metrics, "catalog_sync_runs_total",
                        "status=\"completed\"", "Runs finished, by status", 1);
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)run_id);
    if (w->opts.control_fd >= 0)
        control_send(w->opts.control_fd, "run-done", id);
}

/* Called with the run's advisory lock held and its stage's jobs finished. */
static void advance_run(struct worker *w, struct thread_res *tr, int64_t run_id,
                        int stage)
{
    char err[1024];
    int s = stage + 1;
    while (s < (int)w->plan->n_stages &&
           w->plan->stages[s].kind == STAGE_BATCH) {
        if (queue_set_stage(tr->state, run_id, s, err, sizeof err) != 0)
            goto db_error;
        const struct plan_stage *st = &w->plan->stages[s];
        for (size_t i = st->first_step; i < st->first_step + st->n_steps; i++)
            run_batch_step(w, tr, run_id, i);
        s++;
    }
    if (s < (int)w->plan->n_stages) {
        if (queue_enqueue_stage(tr->state, run_id, s, err, sizeof err) < 0)
            goto db_error;
        wake_all(w);
        return;
    }
    finish_run(w, tr, run_id);
    return;
db_error:
    log_error("run %lld: cannot advance past stage %d: %s", (long long)run_id,
              stage, err);
}

static bool still_ready(PGconn *c, int64_t run_id, int stage)
{
    int64_t *ids = NULL;
    int *stages = NULL;
    size_t n = 0;
    char err[512];
    bool found = false;
    if (queue_runs_ready_to_advance(c, &ids, &stages, &n, err, sizeof err) == 0)
        for (size_t i = 0; i < n; i++)
            found |= ids[i] == run_id && stages[i] == stage;
    free(ids);
    free(stages);
    return found;
}

/* Claims a pending run (with its targets when it is a targeted run) and
 * discovers it.  True when there was one. */
static bool discover_next(struct worker *w, struct thread_res *tr)
{
    char err[1024];
    int64_t run_id;
    json_t *targets = NULL;
    int rc =
        queue_claim_discovery_targets(tr->state, tr->owner, w->m->lease_seconds,
                                      &run_id, &targets, err, sizeof err);
    if (rc < 0)
        log_error("claiming a run: %s", err);
    if (rc == 1 && targets && !w->m->webhook_om) {
        /* The webhook was switched off after the run was queued: a full
         * discovery still covers its tables. */
        log_warn("run %lld was started by a webhook but the manifest has no "
                 "webhooks.openmetadata any more: discovering in full",
                 (long long)run_id);
        json_decref(targets);
        targets = NULL;
    }
    if (rc == 1)
        run_discovery(w, tr, run_id, targets);
    json_decref(targets);
    return rc == 1;
}

/* Discovery of pending runs and advancing runs whose stage is finished.
 * Returns true when it did something. */
static bool coordinate(struct worker *w, struct thread_res *tr)
{
    char err[1024];
    bool did = discover_next(w, tr);
    int64_t *ids = NULL;
    int *stages = NULL;
    size_t n = 0;
    if (queue_runs_ready_to_advance(tr->state, &ids, &stages, &n, err,
                                    sizeof err) != 0)
        log_error("looking for runs to advance: %s", err);
    for (size_t i = 0; i < n && !atomic_load(&w->stopping); i++) {
        if (queue_try_lock_run(tr->state, ids[i], err, sizeof err) != 1)
            continue;
        if (still_ready(tr->state, ids[i], stages[i])) {
            advance_run(w, tr, ids[i], stages[i]);
            did = true;
        }
        queue_unlock_run(tr->state, ids[i], err, sizeof err);
    }
    free(ids);
    free(stages);
    return did;
}

/* ---- pool threads ------------------------------------------------------ */

struct thread_arg {
    struct worker *w;
    struct thread_res *tr;
};

/* After a Postgres restart the thread's connection is dead: reset it
 * instead of failing every claim until the next reload. */
static bool state_ok(struct thread_res *tr)
{
    if (PQstatus(tr->state) == CONNECTION_OK)
        return true;
    PQreset(tr->state);
    if (PQstatus(tr->state) != CONNECTION_OK)
        return false;
    PGresult *r = PQexec(tr->state, "SET synchronous_commit = off");
    PQclear(r);
    log_info("%s: reconnected to the state store", tr->owner);
    /* Jobs this thread could not record while the connection was down
     * still carry its name (and the main thread keeps their leases
     * alive): hand them back so they are redone. */
    char err[512];
    if (queue_release_owner(tr->state, tr->owner, err, sizeof err) != 0)
        log_error("%s: returning unrecorded jobs: %s", tr->owner, err);
    return true;
}

static int claim_and_process(struct worker *w, struct thread_res *tr)
{
    char err[1024];
    if (!state_ok(tr))
        return -1;
    struct job *jobs = NULL;
    size_t n = 0;
    /* A job claimed this often with no crash recorded keeps killing its
     * worker some other way (OOM, SIGKILL): fail it rather than loop. */
    if (queue_claim_jobs_capped(tr->state, tr->owner, w->m->lease_seconds,
                                CLAIM_BATCH, w->m->max_attempts * 3, &jobs, &n,
                                err, sizeof err) != 0) {
        log_error("claiming jobs: %s", err);
        return -1;
    }
    size_t i = 0;
    for (; i < n && !atomic_load(&w->stopping); i++)
        if (!process_job(w, tr, &jobs[i]))
            break; /* released below with the unstarted ones */
    /* Claimed but not started when draining began: hand them back now
     * rather than after the lease, so the next generation takes them. */
    if (i < n && queue_release_owner(tr->state, tr->owner, err, sizeof err))
        log_error("returning unstarted jobs: %s", err);
    queue_jobs_free(jobs, n);
    return (int)n;
}

static void *thread_main(void *arg)
{
    struct thread_arg *ta = arg;
    struct worker *w = ta->w;
    struct thread_res *tr = ta->tr;
    free(ta);
    while (!atomic_load(&w->stopping)) {
        int n = claim_and_process(w, tr);
        bool did = false;
        if (n < CLAIM_BATCH && !atomic_load(&w->stopping))
            did = coordinate(w, tr);
        if (n <= 0 && !did)
            idle_wait(w, IDLE_POLL_MS);
    }
    atomic_fetch_sub(&w->live_threads, 1);
    return NULL;
}

static int start_threads(struct worker *w, char *err, size_t errlen)
{
    for (int i = 0; i < w->n_threads; i++) {
        char suffix[16];
        snprintf(suffix, sizeof suffix, "t%d", i);
        if (thread_res_open(w, &w->res[i + 1], suffix, err, errlen) != 0)
            return -1;
    }
    for (int i = 0; i < w->n_threads; i++) {
        struct thread_arg *ta = malloc(sizeof *ta);
        if (!ta) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        *ta = (struct thread_arg){w, &w->res[i + 1]};
        atomic_fetch_add(&w->live_threads, 1);
        if (pthread_create(&w->threads[i], NULL, thread_main, ta) != 0) {
            atomic_fetch_sub(&w->live_threads, 1);
            free(ta);
            snprintf(err, errlen, "cannot start pool thread %d", i);
            return -1;
        }
    }
    return 0;
}

/* ---- the worker's main thread -------------------------------------------- */

static void send_metrics(struct worker *w)
{
    if (w->opts.control_fd < 0)
        return;
    json_t *snap = metrics_snapshot(w->metrics);
    char *text = json_dumps(snap, JSON_COMPACT);
    if (text)
        control_send(w->opts.control_fd, "metrics", text);
    free(text);
    json_decref(snap);
}

static void handle_control(struct worker *w)
{
    char buf[4096];
    const char *payload;
    long n = control_recv(w->opts.control_fd, buf, sizeof buf, &payload);
    if (n == 0) {
        log_warn("the master went away; draining");
        atomic_store(&w->stopping, true);
    } else if (n > 0 && strcmp(buf, "drain") == 0) {
        log_info("draining: finishing entities in flight");
        atomic_store(&w->stopping, true);
    } else if (n > 0 && strcmp(buf, "wake") == 0) {
        wake_all(w);
    }
}

static void main_loop(struct worker *w)
{
    struct thread_res *main_res = &w->res[0];
    double last_renew = now_seconds(), last_metrics = 0;
    double renew_every = w->m->lease_seconds / 3.0;
    bool woke = false;
    /* Leases are renewed until the last pool thread is out, so a long
     * entity finishing during a drain keeps its claim. */
    while (atomic_load(&w->live_threads) > 0) {
        if (atomic_load(&w->stopping) && !woke) {
            wake_all(w);
            woke = true;
        }
        struct pollfd pfd = {.fd = w->opts.control_fd, .events = POLLIN};
        /* While draining, look often for the last pool thread leaving. */
        int timeout = atomic_load(&w->stopping) ? 20 : 500;
        int rc = poll(&pfd, w->opts.control_fd >= 0 ? 1 : 0, timeout);
        if (got_term)
            atomic_store(&w->stopping, true);
        if (rc > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            handle_control(w);
        double now = now_seconds();
        if (now - last_renew >= renew_every && state_ok(main_res)) {
            char err[512];
            if (queue_renew_leases(main_res->state, w->owner_prefix,
                                   w->m->lease_seconds, err, sizeof err) != 0)
                log_error("renewing leases: %s", err);
            last_renew = now;
        }
        if (now - last_metrics >= 1.0) {
            send_metrics(w);
            last_metrics = now;
        }
    }
}

static int load_manifest(struct worker *w, char *err, size_t errlen)
{
    if (w->opts.manifest_fd < 0)
        return manifest_load(w->opts.manifest_path, &w->m, err, errlen);
    FILE *f = fdopen(w->opts.manifest_fd, "rb");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!f || !mem) {
        snprintf(err, errlen, "cannot read the manifest from fd %d",
                 w->opts.manifest_fd);
        if (f)
            fclose(f);
        if (mem)
            fclose(mem);
        free(buf);
        return -1;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(f);
    fclose(mem);
    int rc = manifest_load_buffer(w->opts.manifest_path, buf, len, &w->m, err,
                                  errlen);
    free(buf);
    return rc;
}

/* What decides how entities are processed: each enabled pass's name,
 * plugin version, kind and validated config, in plan order. */
static void compute_plan_fingerprint(struct worker *w)
{
    json_t *parts = json_array();
    for (size_t i = 0; i < w->plan->n_steps; i++) {
        const struct pass_instance *pi = &w->passes[i];
        json_array_append_new(
            parts, json_pack("{s:s,s:s?,s:i,s:O}", "name", pi->name, "version",
                             pi->plugin.desc.version, "kind",
                             (int)pi->plugin.desc.kind, "config", pi->config));
    }
    char *text = json_dumps(parts, JSON_COMPACT | JSON_SORT_KEYS);
    sha256_hex(text ? text : "", text ? strlen(text) : 0, w->plan_fingerprint);
    free(text);
    json_decref(parts);
}

static int worker_setup(struct worker *w, char *err, size_t errlen)
{
    if (load_manifest(w, err, errlen) != 0)
        return -1;
    if (plan_build(w->m, &w->plan, err, errlen) != 0)
        return -1;
    if (http_global_init() != 0) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return -1;
    }
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(w->owner_prefix, sizeof w->owner_prefix, "%s:%d:%d", host,
             (int)getpid(), w->opts.generation);
    w->n_threads = w->m->workers > 0 ? w->m->workers : 1;
    w->metrics = metrics_new();
    w->threads = calloc((size_t)w->n_threads, sizeof *w->threads);
    w->res = calloc((size_t)w->n_threads + 1, sizeof *w->res);
    w->passes = calloc(w->plan->n_steps, sizeof *w->passes);
    if (!w->metrics || !w->threads || !w->res || !w->passes) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->env = (struct host_env){w->m, w->plan, w->metrics, &w->stopping, NULL};
    if (!(w->env.llm = llm_client_new(w->m, w->metrics, &w->stopping))) {
        snprintf(err, errlen, "out of memory creating the LLM client");
        return -1;
    }
    w->first_job_stage =
        w->plan->n_stages > 1 && w->plan->stages[1].kind == STAGE_ENTITY ? 1
                                                                         : 0;
    for (size_t i = 0; i < w->plan->n_steps; i++)
        for (size_t j = 0; j < w->plan->steps[i].n_inputs; j++)
            if (w->plan->stages[w->plan->steps[i].stage].kind == STAGE_BATCH &&
                strcmp(w->plan->steps[i].inputs[j].aspect, "table") == 0)
                w->persist_table = true;
    if (thread_res_open(w, &w->res[0], "main", err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < w->plan->n_steps; i++)
        if (load_pass(w, i, &w->res[0], err, errlen) != 0)
            return -1;
    compute_plan_fingerprint(w);
    return 0;
}

static void worker_teardown(struct worker *w)
{
    for (int i = 0; w->threads && i < w->n_threads; i++)
        if (w->threads[i])
            pthread_join(w->threads[i], NULL);
    fini_passes(w);
    llm_client_free(w->env.llm);
    for (int i = 0; w->res && i <= w->n_threads; i++)
        thread_res_close(&w->res[i]);
    if (w->passes)
        for (size_t i = 0; i < w->plan->n_steps; i++) {
            pthread_mutex_destroy(&w->passes[i].lock);
            pthread_cond_destroy(&w->passes[i].cond);
        }
    free(w->passes);
    free(w->res);
    free(w->threads);
    metrics_free(w->metrics);
    plan_free(w->plan);
    manifest_free(w->m);
    http_global_cleanup();
}

int worker_main(const struct worker_options *opts)
{
    struct worker w = {.opts = *opts};
    char err[2048] = "";
    atomic_init(&w.stopping, false);
    atomic_init(&w.live_threads, 0);
    pthread_mutex_init(&w.idle_lock, NULL);
    pthread_cond_init(&w.idle_cond, NULL);
    /* If the master dies without telling us, drain like on SIGTERM. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    install_signal_handlers(opts->control_fd);
    int status = 0;
    if (worker_setup(&w, err, sizeof err) != 0 ||
        start_threads(&w, err, sizeof err) != 0) {
        log_error("generation %d cannot start: %s", opts->generation, err);
        if (opts->control_fd >= 0)
            control_send(opts->control_fd, "error", err);
        atomic_store(&w.stopping, true);
        wake_all(&w);
        status = 1;
    } else {
        log_info("generation %d ready: %zu passes, %d threads",
                 opts->generation, w.plan->n_steps, w.n_threads);
        if (opts->control_fd >= 0)
            control_send(opts->control_fd, "ready", NULL);
        main_loop(&w);
        send_metrics(&w);
    }
    worker_teardown(&w);
    if (status == 0)
        log_info("generation %d drained", opts->generation);
    return status;
}
