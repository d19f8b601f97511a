/*
 * The host side of the pass ABI inside a worker: the cs_ctx handed to pass
 * callbacks and the cs_host_api tables.  A ctx lives on the stack of the
 * pool thread that runs the callback and borrows that thread's resources
 * (state connection, HTTP client, SQL pool), so host calls need no locks.
 */
#ifndef HOST_HOSTAPI_H
#define HOST_HOSTAPI_H

#include <catalog_sync/pass.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "loader.h"
#include "plan.h"
#include "queue.h"

struct metrics;
struct http_client;
struct llm_client;
struct sql_pool;

/* One loaded and initialised pass of the worker's plan. */
struct pass_instance {
    const struct plan_step *step; /* borrowed from the worker's plan */
    const char *name;             /* step->pass->name */
    struct loaded_plugin plugin;
    json_t *config;  /* validated, defaults filled; owned */
    cs_host_api api; /* the table this pass sees */
    void *state;
    bool initialized;
    /* `concurrency:` bound for process() */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int in_flight;
    int max_in_flight;
};

/* Per-thread resources, owned by the thread that uses them. */
struct thread_res {
    PGconn *state;
    struct http_client *http;
    struct sql_pool *sql;
    char owner[160]; /* "<host>:<pid>:<gen>:t<n>" */
};

/* What the host knows about the running worker, for host calls. */
struct host_env {
    const struct manifest *manifest;
    const struct plan *plan;
    struct metrics *metrics;
    atomic_bool *stopping;
    struct llm_client *llm; /* the worker's `llm.endpoints`; may be NULL */
};

enum ctx_mode { CTX_INIT = 0, CTX_SOURCE, CTX_ENTITY, CTX_BATCH };

struct cs_ctx {
    enum ctx_mode mode;
    struct pass_instance *pi;
    struct thread_res *tr;
    const struct host_env *env;
    /* CTX_ENTITY: the entity's aspects {name: value}, owned by the caller */
    const char *fqn;
    json_t *aspects;
    /* CTX_SOURCE: what discover() emitted */
    struct discovered *items;
    size_t n_items, cap_items;
    json_t *watermark;        /* committed, owned by the ctx */
    json_t *staged_watermark; /* set by the pass, owned by the ctx */
    json_t *targets;   /* targeted run: borrowed from the caller, else NULL */
    bool targets_read; /* the pass called run_targets() */
    /* CTX_BATCH */
    int64_t run_id;
    char **fqns;
    size_t n_fqns;
    /* errors */
    char last_error[1024];
    char pass_error[1024];
};

/* Fills pi->api: the full table, minus network functions when the step
 * consumes a raw aspect. */
void hostapi_fill_table(struct pass_instance *pi);
/* Initialises a ctx for one callback. */
void hostapi_ctx_init(struct cs_ctx *ctx, enum ctx_mode mode,
                      struct pass_instance *pi, struct thread_res *tr,
                      const struct host_env *env);
/* Releases what a ctx owns (emitted items, watermarks); the batch FQN
 * list belongs to the caller that filled it. */
void hostapi_ctx_clear(struct cs_ctx *ctx);
/* The error a failed callback left: set_error text, else the last host
 * error, else a generic message with the return code. */
const char *hostapi_callback_error(struct cs_ctx *ctx, int rc);

#endif
