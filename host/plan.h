/*
 * The plan: the DAG the host derives from a manifest, as pure data.
 * Rules: every required input of an enabled pass is produced by an enabled
 * pass that runs before it; one producer per aspect; no cycles; a disabled
 * pass whose outputs an enabled pass requires is an error naming both;
 * source passes come first; stages are cut at batch passes; a raw aspect
 * never crosses a batch barrier (it is not persisted); a pass that consumes
 * a raw aspect is marked no_network.
 */
#ifndef HOST_PLAN_H
#define HOST_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "manifest.h"

enum stage_kind { STAGE_SOURCE = 1, STAGE_ENTITY = 2, STAGE_BATCH = 3 };

struct plan_input {
    const char *aspect; /* borrowed from the manifest */
    bool optional;
    int producer; /* index into plan.steps, -1 = none (optional) */
    bool raw;
};

struct plan_step {
    const struct mf_pass *pass; /* borrowed */
    int stage;                  /* index into plan.stages */
    bool no_network;            /* consumes a raw aspect */
    struct plan_input *inputs;
    size_t n_inputs;
    /* raw aspects (names, borrowed) whose last consumer is this step: the
     * worker frees them right after this step ran on an entity */
    const char **free_after;
    size_t n_free_after;
};

struct plan_stage {
    enum stage_kind kind;
    size_t first_step; /* steps [first_step, first_step + n_steps) */
    size_t n_steps;
};

struct plan {
    const struct manifest *manifest; /* borrowed */
    struct plan_step *steps;         /* enabled passes in execution order */
    size_t n_steps;
    struct plan_stage *stages;
    size_t n_stages;
};

/* Builds the plan.  On error returns -1 and err says which pass(es), which
 * field and why, with the manifest position. */
int plan_build(const struct manifest *m, struct plan **out, char *err,
               size_t errlen);
void plan_free(struct plan *p);

/* Human-readable plan (for `catalog-sync check`). */
void plan_print_text(const struct plan *p, FILE *out);
/* Machine-readable plan: new reference. */
json_t *plan_to_json(const struct plan *p);

/* Index of the step running pass `name`, or -1. */
int plan_find_step(const struct plan *p, const char *name);

#endif
