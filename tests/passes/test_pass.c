/*
 * A configurable entity pass for fault-injection tests, built out of tree
 * the way a third party would (tests/passes/build.sh, pkg-config).
 * Compile-time knobs: -DTEST_ABI_MAJOR=N to claim another ABI major,
 * -DTEST_VERSION=N to tag its output, so a test can tell which build of
 * the .so is loaded.
 */
#define _POSIX_C_SOURCE 200809L
#include <catalog_sync/pass.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TEST_ABI_MAJOR
#define TEST_ABI_MAJOR CS_ABI_MAJOR
#endif
#ifndef TEST_VERSION
#define TEST_VERSION 1
#endif

struct state {
    const cs_host_api *host;
    long sleep_ms;
    const char *crash_on; /* FQN suffix that makes process() segfault */
};

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {{"test_out", 0}, {NULL, 0}};
static const cs_option_decl options[] = {
    {"sleep_ms", CS_OPT_INT, "0", "milliseconds to sleep per entity", 0},
    {"crash_on", CS_OPT_STRING, NULL, "FQN suffix to segfault on", 0},
    {"fail_init", CS_OPT_BOOL, "false", "make init() fail", 0},
    {"fail_on", CS_OPT_STRING, NULL, "FQN suffix to return an error on", 0},
    {"wait_for_stop", CS_OPT_BOOL, "false",
     "block in process() until the worker drains, then CS_ERR_STOPPING", 0},
    {NULL, 0, NULL, NULL, 0}};

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return b <= a && strcmp(s + a - b, suffix) == 0;
}

static int test_init(const cs_host_api *host, cs_ctx *ctx, void **out)
{
    const json_t *cfg = host->config(ctx);
    if (json_is_true(json_object_get(cfg, "fail_init"))) {
        host->set_error(ctx, "configured to fail in init (fail_init: true)");
        return CS_ERR;
    }
    struct state *s = calloc(1, sizeof *s);
    if (!s)
        return CS_ERR_NOMEM;
    s->host = host;
    s->sleep_ms = (long)json_integer_value(json_object_get(cfg, "sleep_ms"));
    s->crash_on = json_string_value(json_object_get(cfg, "crash_on"));
    *out = s;
    return CS_OK;
}

static int test_process(void *state, cs_ctx *ctx)
{
    struct state *s = state;
    const char *fqn = s->host->entity_fqn(ctx);
    const char *fail_on =
        json_string_value(json_object_get(s->host->config(ctx), "fail_on"));
    if (s->sleep_ms > 0) {
        struct timespec ts = {s->sleep_ms / 1000,
                              (s->sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (json_is_true(json_object_get(s->host->config(ctx), "wait_for_stop"))) {
        struct timespec tick = {0, 10000000L};
        while (!s->host->should_stop(ctx))
            nanosleep(&tick, NULL);
        return CS_ERR_STOPPING;
    }
    if (s->crash_on && ends_with(fqn, s->crash_on))
        raise(SIGSEGV);
    if (fail_on && ends_with(fqn, fail_on)) {
        s->host->set_error(ctx, "configured to fail on %s", fail_on);
        return CS_ERR;
    }
    return s->host->aspect_put(
        ctx, "test_out",
        json_pack("{s:i,s:s}", "version", TEST_VERSION, "fqn", fqn));
}

static void test_fini(void *state)
{
    free(state);
}

static const cs_pass_desc desc = {
    TEST_ABI_MAJOR,         CS_ABI_MINOR,
    sizeof(cs_pass_desc),   .name = "test_pass",
    .version = "test",      .summary = "fault-injection pass for tests",
    .kind = CS_PASS_ENTITY, .consumes = consumes,
    .produces = produces,   .options = options,
    .init = test_init,      .process = test_process,
    .fini = test_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
