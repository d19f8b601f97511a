/* `catalog-sync once`: one run, progress on a terminal, a JSON report,
 * exit 0 only when the run completed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master_internal.h"
#include "queue.h"

static void print_progress(struct master *m, const struct run_row *r)
{
    ev_tstamp now = ev_now(m->loop);
    double elapsed = now - m->once_started;
    int64_t finished = r->done + r->failed;
    double rate = elapsed > 0 ? finished / elapsed : 0;
    int64_t left = r->total - finished;
    char eta[32] = "?";
    if (rate > 0)
        snprintf(eta, sizeof eta, "%.0fs", left / rate);
    if (m->o.progress) {
        fprintf(stderr,
                "\r\033[Krun %lld %s: %lld/%lld entities, %.1f/s, ETA %s",
                (long long)r->id, r->status, (long long)finished,
                (long long)r->total, rate, eta);
        fflush(stderr);
    } else if (now - m->last_progress_log >= 10) {
        log_info("run %lld %s: %lld/%lld entities (%.1f/s, ETA %s)",
                 (long long)r->id, r->status, (long long)finished,
                 (long long)r->total, rate, eta);
        m->last_progress_log = now;
    }
}

/* One failed entity: the per-pass errors, or the job's last error when
 * no pass got to say anything (a crash, a claim cap). */
static json_t *failure_of(const char *fqn, json_t *e)
{
    json_t *errors = json_object_get(e, "errors");
    if (!json_is_object(errors) || json_object_size(errors) == 0) {
        json_t *last = json_object_get(e, "last_error");
        return json_pack("{s:s,s:{s:s}}", "fqn", fqn, "errors", "host",
                         json_is_string(last) ? json_string_value(last)
                                              : "unknown");
    }
    return json_pack("{s:s,s:O}", "fqn", fqn, "errors", errors);
}

/* Adds a summary and the list of failures to the queue's report. */
static json_t *build_report(json_t *base, const struct run_row *r,
                            double seconds)
{
    json_t *failures = json_array();
    json_t *entities = json_object_get(base, "entities");
    const char *fqn;
    json_t *e;
    int64_t deleted = 0;
    json_object_foreach(entities, fqn, e)
    {
        const char *st = json_string_value(json_object_get(e, "status"));
        const char *op = json_string_value(json_object_get(e, "op"));
        if (op && strcmp(op, "delete") == 0)
            deleted++;
        if (st && strcmp(st, "failed") == 0)
            json_array_append_new(failures, failure_of(fqn, e));
    }
    json_object_set_new(
        base, "summary",
        json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:f}", "run_id", (json_int_t)r->id,
                  "status", r->status, "entities", (json_int_t)r->total, "done",
                  (json_int_t)r->done, "failed", (json_int_t)r->failed,
                  "deleted", (json_int_t)deleted, "duration_seconds", seconds));
    json_object_set_new(base, "failures", failures);
    return base;
}

static void print_failures(json_t *failures)
{
    size_t i;
    json_t *f;
    json_array_foreach(failures, i, f)
    {
        char *why = json_dumps(json_object_get(f, "errors"), JSON_COMPACT);
        printf("  failed: %s: %s\n",
               json_string_value(json_object_get(f, "fqn")), why ? why : "");
        free(why);
    }
}

/* Without --report only the failures are read: the full report of a large
 * run is megabytes the operator did not ask for. */
static int print_failures_only(struct master *m, const struct run_row *r)
{
    char err[1024];
    json_t *rows = NULL, *failures = json_array();
    if (queue_run_failures(master_db(m), r->id, &rows, err, sizeof err) != 0) {
        fprintf(stderr, "catalog-sync: cannot list failures: %s\n", err);
        json_decref(failures);
        return -1;
    }
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_array_append_new(
            failures,
            failure_of(json_string_value(json_object_get(row, "fqn")), row));
    }
    print_failures(failures);
    json_decref(failures);
    json_decref(rows);
    return 0;
}

static int write_report(struct master *m, const struct run_row *r,
                        double seconds)
{
    if (!m->o.report_path)
        return print_failures_only(m, r);
    char err[1024];
    json_t *base = NULL;
    if (queue_run_report(master_db(m), r->id, &base, err, sizeof err) != 0) {
        fprintf(stderr, "catalog-sync: cannot build the report: %s\n", err);
        return -1;
    }
    json_t *report = build_report(base, r, seconds);
    print_failures(json_object_get(report, "failures"));
    int rc = 0;
    if (json_dump_file(report, m->o.report_path,
                       JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        fprintf(stderr, "catalog-sync: cannot write report %s: %s\n",
                m->o.report_path, strerror(errno));
        rc = -1;
    }
    json_decref(report);
    return rc;
}

static void finish_once(struct master *m, const struct run_row *r)
{
    double seconds = ev_now(m->loop) - m->once_started;
    if (m->o.progress)
        fputc('\n', stderr);
    bool ok = strcmp(r->status, "completed") == 0;
    printf("run %lld %s in %.1f s: %lld entities, %lld done, %lld failed\n",
           (long long)r->id, r->status, seconds, (long long)r->total,
           (long long)r->done, (long long)r->failed);
    if (r->error)
        printf("  error: %s\n", r->error);
    if (write_report(m, r, seconds) != 0)
        ok = false;
    else if (m->o.report_path)
        printf("  report: %s\n", m->o.report_path);
    fflush(stdout);
    master_begin_stop(m, ok ? 0 : 1);
}

static void on_progress(struct ev_loop *loop, ev_timer *w, int revents)
{
    master_once_check(w->data);
}

void master_once_check(struct master *m)
{
    if (m->stopping)
        return;
    struct run_row r;
    char err[1024];
    int rc = queue_get_run(master_db(m), m->once_run, &r, err, sizeof err);
    if (rc != 1) {
        log_error("cannot read run %lld: %s", (long long)m->once_run,
                  rc == 0 ? "it vanished" : err);
        return;
    }
    if (strcmp(r.status, "completed") == 0 || strcmp(r.status, "failed") == 0)
        finish_once(m, &r);
    else
        print_progress(m, &r);
    queue_run_row_clear(&r);
}

int master_once_start(struct master *m, char *err, size_t errlen)
{
    bool created;
    /* An unfinished run (from a stopped `once` or daemon) is resumed
     * rather than started again. */
    if (queue_create_run(master_db(m), "once", "cli", m->generation,
                         &m->once_run, &created, err, errlen) != 0)
        return -1;
    log_info("%s run %lld", created ? "started" : "resuming",
             (long long)m->once_run);
    m->once_started = ev_now(m->loop);
    ev_timer_init(&m->progress_timer, on_progress, 0.25, 0.25);
    m->progress_timer.data = m;
    ev_timer_start(m->loop, &m->progress_timer);
    return 0;
}
