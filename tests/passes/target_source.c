/*
 * A source pass for targeted-run tests, built out of tree like
 * test_pass.c.  In a targeted run it turns each target of run_targets()
 * into an entity (created/updated) or a deletion; in a full run it emits
 * the FQNs of its `tables` option.  `always` is emitted in both, so a test
 * sees a source called that should not be.  It always stages a watermark,
 * so a test can check that a targeted run never commits one.  `sleep_ms`
 * keeps discovery busy, so a test can deliver events while a run is
 * active.
 */
#define _POSIX_C_SOURCE 200809L
#include <catalog_sync/pass.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const cs_aspect_decl produces[] = {{"table", 0}, {NULL, 0}};
static const cs_option_decl options[] = {
    {"tables", CS_OPT_LIST, "[]", "FQNs a full run emits", 0},
    {"always", CS_OPT_LIST, "[]", "FQNs every run emits, targeted or not", 0},
    {"sleep_ms", CS_OPT_INT, "0", "time discover() takes", 0},
    {NULL, 0, NULL, NULL, 0}};

static int ts_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    if (!CS_HOST_HAS(host, run_targets)) {
        host->set_error(ctx, "the host has no run_targets()");
        return CS_ERR_INVALID;
    }
    *state = (void *)host;
    return CS_OK;
}

static void nap(json_int_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0)
        ;
}

/* A minimal OpenMetadata-shaped table; the id ties it to its target. */
static int emit(const cs_host_api *h, cs_ctx *ctx, const char *fqn,
                const char *id)
{
    const char *dot = strrchr(fqn, '.');
    json_t *t = json_pack("{s:s?,s:s,s:s,s:[{s:s,s:s}]}", "id", id, "name",
                          dot ? dot + 1 : fqn, "fullyQualifiedName", fqn,
                          "columns", "name", "id", "dataType", "INT");
    return h->emit_entity(ctx, fqn, t);
}

/* An unknown FQN is named after the id, as a catalog lookup would. */
static int emit_target(const cs_host_api *h, cs_ctx *ctx, json_t *target)
{
    const char *id = json_string_value(json_object_get(target, "id"));
    const char *fqn = json_string_value(json_object_get(target, "fqn"));
    const char *event = json_string_value(json_object_get(target, "event"));
    char byid[128];
    if (!id || !event) {
        h->set_error(ctx, "a target lacks its id or event");
        return CS_ERR_INVALID;
    }
    if (!fqn) {
        snprintf(byid, sizeof byid, "byid.%s", id);
        fqn = byid;
    }
    if (strcmp(event, "deleted") == 0)
        return h->emit_deleted(ctx, fqn);
    return emit(h, ctx, fqn, id);
}

static int ts_discover(void *state, cs_ctx *ctx)
{
    const cs_host_api *h = state;
    const json_t *cfg = h->config(ctx);
    nap(json_integer_value(json_object_get(cfg, "sleep_ms")));
    json_t *targets = h->run_targets(ctx);
    json_t *tables = json_object_get(cfg, "tables");
    int rc = CS_OK;
    if (targets)
        h->log(ctx, CS_LOG_INFO, "targeted run: %zu targets",
               json_array_size(targets));
    for (size_t i = 0; targets && rc == CS_OK && i < json_array_size(targets);
         i++)
        rc = emit_target(h, ctx, json_array_get(targets, i));
    for (size_t i = 0; !targets && rc == CS_OK && i < json_array_size(tables);
         i++)
        rc = emit(h, ctx, json_string_value(json_array_get(tables, i)), NULL);
    json_t *always = json_object_get(cfg, "always");
    for (size_t i = 0; rc == CS_OK && i < json_array_size(always); i++)
        rc = emit(h, ctx, json_string_value(json_array_get(always, i)), NULL);
    if (rc == CS_OK)
        rc = h->watermark_set(ctx, json_integer((json_int_t)time(NULL)));
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "target_source",
    .version = "test",
    .summary = "emits the run's targets (tests of targeted runs)",
    .kind = CS_PASS_SOURCE,
    .produces = produces,
    .options = options,
    .init = ts_init,
    .discover = ts_discover,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
