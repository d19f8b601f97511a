/*
 * Runs, jobs, aspects, watermarks and the audit log in the state store.
 *
 * Life of a run:
 *   pending --claim_discovery--> discovering --commit_discovery-->
 *   processing (stage k, one job per entity) --...--> completed | failed
 * A job is claimed with FOR UPDATE SKIP LOCKED and a lease; whoever is alive
 * claims what is queued or whose lease expired.  complete_job succeeds only
 * for the owner of a still-valid claim, so an entity is never completed
 * twice.  Watermarks staged by discovery are committed only when the run
 * completes, i.e. when every entity is done or recorded failed.
 *
 * Every function takes a connection owned by the calling thread and returns
 * -1 with err set on a database error.
 */
#ifndef HOST_QUEUE_H
#define HOST_QUEUE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum job_op { JOB_UPSERT = 0, JOB_DELETE = 1 };

struct discovered {
    char *fqn;
    char *source; /* pass name of the source that emitted it */
    enum job_op op;
    json_t *entity; /* the `table` aspect (owned), NULL for deletes */
};

struct job {
    int64_t id;
    int64_t run_id;
    int stage;
    char *fqn;
    char *source;
    enum job_op op;
    json_t *entity; /* owned; NULL for deletes */
    int attempts;   /* claims so far, this one included */
    int crashes;
};

struct run_row {
    int64_t id;
    char trigger[32];
    char status[16]; /* pending discovering processing completed failed */
    int stage;
    int generation;
    int64_t total, queued, running, done, failed;
    double created_at, started_at, finished_at; /* epoch seconds, 0 = null */
    char *error;                                /* owned, may be NULL */
    char *requested_by;
};

/* Creates a pending run unless one is active (pending, discovering or
 * processing): then *created is false and *run_id is the active one. */
int queue_create_run(PGconn *c, const char *trigger, const char *requested_by,
                     int generation, int64_t *run_id, bool *created, char *err,
                     size_t errlen);
/* Claims a pending run, or a discovering one whose lease expired.
 * Returns 1 and *run_id when claimed, 0 when there is none. */
int queue_claim_discovery(PGconn *c, const char *owner, int lease_seconds,
                          int64_t *run_id, char *err, size_t errlen);
/* Like queue_claim_discovery, for a worker that can run targeted runs:
 * when the claimed run's trigger is 'webhook', the same statement assigns
 * every pending target to it (with an audit row each) and *targets is a
 * new reference to the run's targets, [{"id", "fqn", "event"}] in arrival
 * order (fqn null when unknown), including targets assigned by an earlier
 * claim whose lease expired.  *targets is NULL for other runs. */
int queue_claim_discovery_targets(PGconn *c, const char *owner,
                                  int lease_seconds, int64_t *run_id,
                                  json_t **targets, char *err, size_t errlen);

/* A table to sync in a targeted run, as a webhook delivered it. */
struct run_target {
    const char *origin;    /* who sent it: "openmetadata" */
    const char *entity_id; /* the catalog's id of the table */
    const char *fqn;       /* may be NULL */
    const char *event;     /* "created", "updated" or "deleted" */
    const char *event_id;  /* the delivery's id, may be NULL */
    int64_t event_time_ms; /* when the change happened; 0 = unknown */
    json_t *evidence;      /* audit evidence, borrowed, may be NULL */
};
/* Records a pending target with an audit row.  One pending target per
 * entity: a newer event replaces the pending one's event and fqn, an older
 * one changes nothing.  *target_id is the pending row (0 when an older
 * event was dropped); *merged is true unless a new row was made.  0/-1. */
int queue_add_target(PGconn *c, const struct run_target *t, int64_t *target_id,
                     bool *merged, char *err, size_t errlen);
/* Creates a pending 'webhook' run when targets are pending and no run is
 * active.  *created says whether it did; *run_id (may be NULL) is the new
 * run, else the active one, else 0.  0 or -1. */
int queue_create_targeted_run(PGconn *c, const char *requested_by,
                              int generation, int64_t *run_id, bool *created,
                              char *err, size_t errlen);

/* In one transaction: inserts one job per item for `stage`, stores the
 * staged watermarks ({source: value}, may be NULL), moves the run to
 * processing.  With no items the run completes at once (watermarks
 * committed).  Fails if `owner` no longer holds the run. */
int queue_commit_discovery(PGconn *c, int64_t run_id, const char *owner,
                           const struct discovered *items, size_t n,
                           json_t *staged_watermarks, int stage, char *err,
                           size_t errlen);
int queue_fail_run(PGconn *c, int64_t run_id, const char *reason, char *err,
                   size_t errlen);

/* Claims up to `max` queued (or lease-expired) jobs of processing runs.
 * Jobs never claimed before are taken in a batch; a job that was claimed
 * before (its worker died) is taken alone, so a poison entity is isolated.
 * *jobs is a malloc'd array (free with queue_jobs_free). */
int queue_claim_jobs(PGconn *c, const char *owner, int lease_seconds, int max,
                     struct job **jobs, size_t *n, char *err, size_t errlen);
/* queue_claim_jobs caps claims per job at QUEUE_MAX_CLAIMS: a claimable
 * job claimed that often already (each worker died or lost the lease with
 * no crash recorded) is marked failed, last_error "claimed N times without
 * completing (worker killed?)", instead of being claimed again.  The
 * _capped form takes the cap (<= 0: the default), e.g. max_attempts * 3. */
#define QUEUE_MAX_CLAIMS 10
int queue_claim_jobs_capped(PGconn *c, const char *owner, int lease_seconds,
                            int max, int max_claims, struct job **jobs,
                            size_t *n, char *err, size_t errlen);
void queue_jobs_free(struct job *jobs, size_t n);
/* Extends the lease of every running job and discovering run of owner.
 * Here and in queue_release_owner, `owner` matches itself and every owner
 * it prefixes up to a ':' ("host:pid:gen" covers "host:pid:gen:t3"). */
int queue_renew_leases(PGconn *c, const char *owner, int lease_seconds,
                       char *err, size_t errlen);

/* In one transaction: upserts `aspects` ({name: value}, non-raw only, may
 * be NULL) for the job's entity, writes one audit_log row naming them and
 * the passes, and marks the job done (or failed when `failed`, with
 * `errors` {pass: message} stored).  For a JOB_DELETE job, deletes the
 * entity's aspects instead.  Returns 1 when completed, 0 when the claim
 * was lost (lease expired and taken), -1 on error. */
int queue_complete_job(PGconn *c, const struct job *job, const char *owner,
                       json_t *aspects, json_t *errors, bool failed,
                       const char *passes, char *err, size_t errlen);
/* Returns the jobs of a dead owner to the queue without counting a crash
 * (their attempts stay, so each is then claimed alone). */
int queue_release_owner(PGconn *c, const char *owner, char *err, size_t errlen);
/* Counts a crash against one job: failed once crashes >= max_attempts,
 * else queued again. `reason` is stored. */
int queue_record_crash(PGconn *c, int64_t job_id, int max_attempts,
                       const char *reason, char *err, size_t errlen);

/* Runs in processing whose current stage has no queued or running job.
 * *ids malloc'd. */
int queue_runs_ready_to_advance(PGconn *c, int64_t **ids, int **stages,
                                size_t *n, char *err, size_t errlen);
/* Session-level pg_try_advisory_lock on the run; 1 taken, 0 busy. */
int queue_try_lock_run(PGconn *c, int64_t run_id, char *err, size_t errlen);
int queue_unlock_run(PGconn *c, int64_t run_id, char *err, size_t errlen);
/* Moves the run to `stage` and enqueues one job per entity whose job in
 * the run's current stage is done and not a delete.  Returns jobs made. */
int queue_enqueue_stage(PGconn *c, int64_t run_id, int stage, char *err,
                        size_t errlen);
/* Sets the run's stage without enqueueing (batch stages). */
int queue_set_stage(PGconn *c, int64_t run_id, int stage, char *err,
                    size_t errlen);
/* Commits the staged watermarks (with an audit row each), counts done and
 * failed entities, marks the run completed. */
int queue_complete_run(PGconn *c, int64_t run_id, char *err, size_t errlen);

/* The FQNs of a run's upsert entities (stable order), *fqns malloc'd array
 * of malloc'd strings. */
int queue_run_entities(PGconn *c, int64_t run_id, char ***fqns, size_t *n,
                       char *err, size_t errlen);

/* Aspects in the state store.  queue_get_aspect: 1 with a new reference,
 * 0 when absent (*value NULL).  queue_all_aspects: new object {fqn: value}.
 * queue_get_watermark and queue_state_get return 1/0 the same way. */
int queue_get_aspect(PGconn *c, const char *fqn, const char *aspect,
                     json_t **value, char *err, size_t errlen);
int queue_all_aspects(PGconn *c, const char *aspect, json_t **out, char *err,
                      size_t errlen);
/* Upserts one aspect with an audit row (batch passes). */
int queue_put_aspect(PGconn *c, int64_t run_id, const char *pass,
                     const char *fqn, const char *aspect, json_t *value,
                     char *err, size_t errlen);

/* Committed watermark of a source: new reference or NULL. */
int queue_get_watermark(PGconn *c, const char *source, json_t **value,
                        char *err, size_t errlen);

/* Per-pass key/value state. */
int queue_state_get(PGconn *c, const char *pass, const char *key,
                    json_t **value, char *err, size_t errlen);
int queue_state_put(PGconn *c, const char *pass, const char *key, json_t *value,
                    char *err, size_t errlen);

/* Writes one audit_log row.  Any field but action may be NULL. */
int queue_audit(PGconn *c, int64_t run_id, const char *pass, const char *entity,
                const char *target, const char *action, const char *field,
                json_t *old_value, json_t *new_value, json_t *evidence,
                char *err, size_t errlen);

/* Reading runs (API, `once`, reports). */
int queue_get_run(PGconn *c, int64_t run_id, struct run_row *out, char *err,
                  size_t errlen); /* 1 found, 0 not found */
int queue_list_runs(PGconn *c, int limit, struct run_row **rows, size_t *n,
                    char *err, size_t errlen);
void queue_run_row_clear(struct run_row *r);
/* The run's failed entities: [{"fqn", "errors", "last_error"}].  New
 * reference. */
int queue_run_failures(PGconn *c, int64_t run_id, json_t **out, char *err,
                       size_t errlen);
/* The newest active run's id, or 0. */
int queue_active_run(PGconn *c, int64_t *run_id, char *err, size_t errlen);
/* Report material: {"run": {...}, "entities": {fqn: {"status":..,"op":..,
 * "errors":.., "last_error":.., "aspects": {name: value}}}} for the run's
 * entities; the `table` aspect comes from the job (it is persisted as an
 * aspect only when a batch pass needs it).  New reference. */
int queue_run_report(PGconn *c, int64_t run_id, json_t **out, char *err,
                     size_t errlen);

#endif
