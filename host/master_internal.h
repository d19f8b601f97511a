/*
 * State shared by the master's modules: master.c (generations, signals,
 * scheduler), master_api.c (HTTP handlers), master_once.c (one-shot runs:
 * progress and report).  Everything here runs on the master's loop thread.
 */
#ifndef HOST_MASTER_INTERNAL_H
#define HOST_MASTER_INTERNAL_H

#include <ev.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "manifest.h"
#include "master.h"
#include "plan.h"

enum wp_state { WP_STARTING, WP_READY, WP_DRAINING };

/* One worker process and the manifest it was started with. */
struct worker_proc {
    struct master *m;
    pid_t pid;
    int generation;
    int fd; /* control socket, master's end */
    enum wp_state state;
    struct manifest *man; /* owned: what this generation runs */
    struct plan *plan;    /* owned: for naming crashed passes */
    ev_io io;
    ev_child child;
    ev_timer timer;      /* ready timeout, then drain timeout */
    json_t *metrics;     /* latest snapshot */
    bool crash_reported; /* its crash handler named the job it was on */
    char error[1024];
    ev_tstamp started_at;
    struct worker_proc *next;
};

struct master {
    struct master_options o;
    struct ev_loop *loop;
    /* The manifest the serving generation runs, as validated bytes. */
    char *man_bytes;
    size_t man_len;
    struct manifest *man;
    struct plan *plan;
    int generation; /* of the serving configuration */
    PGconn *db;
    struct api_server *api;
    struct metrics *metrics;
    struct worker_proc *workers; /* every live worker process */
    struct worker_proc *current; /* serving (or starting to serve) */
    struct worker_proc *pending; /* a reload's new generation */
    char *pending_bytes;         /* its manifest, serving once it is ready */
    size_t pending_len;
    int consecutive_failures;
    ev_timer restart_timer;
    ev_signal sig_hup, sig_term, sig_int;
    ev_timer sched_timer;
    ev_timer targets_timer; /* looks for webhook targets left pending */
    bool targets_failing;   /* the last look failed (log once) */
    char reload_result[16]; /* "", "ok", "invalid", "failed" */
    char reload_error[2048];
    ev_tstamp reload_at;
    int stopping;
    int exit_status;
    /* once mode */
    int64_t once_run;
    ev_timer progress_timer;
    ev_tstamp once_started;
    int64_t last_done;
    ev_tstamp last_progress_log;
};

/* master.c */
/* Returns the master's state-store connection, reconnecting first when
 * Postgres restarted since the last use. */
PGconn *master_db(struct master *m);
int master_reload(struct master *m, char *err, size_t errlen);
void master_wake_workers(struct master *m);
void master_begin_stop(struct master *m, int exit_status);
/* The owner prefix a worker uses in the jobs table. */
void master_owner_prefix(const struct worker_proc *wp, char *out,
                         size_t outlen);

/* master_api.c */
int master_api_start(struct master *m, char *err, size_t errlen);
json_t *master_run_to_json(const void *run_row);
json_t *master_status_json(struct master *m);

/* master_once.c */
int master_once_start(struct master *m, char *err, size_t errlen);
/* Looks at the once run now: progress, or the report and exit. */
void master_once_check(struct master *m);

#endif
