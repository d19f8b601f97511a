/*
 * A source pass for benchmarks: emits `count` synthetic tables with a few
 * columns each, without touching any database, so host overhead can be
 * measured on its own.  Built out of tree like test_pass.c.
 */
#include <catalog_sync/pass.h>
#include <stdio.h>

static const cs_aspect_decl produces[] = {{"table", 0}, {NULL, 0}};
static const cs_option_decl options[] = {
    {"count", CS_OPT_INT, "10000", "number of tables to emit", 0},
    {NULL, 0, NULL, NULL, 0}};

static int bench_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    *state = (void *)host;
    return CS_OK;
}

static int bench_discover(void *state, cs_ctx *ctx)
{
    const cs_host_api *host = state;
    json_int_t count =
        json_integer_value(json_object_get(host->config(ctx), "count"));
    for (json_int_t i = 0; i < count; i++) {
        char fqn[128], name[64];
        snprintf(name, sizeof name, "t%06lld", (long long)i);
        snprintf(fqn, sizeof fqn, "bench.db.public.%s", name);
        json_t *t =
            json_pack("{s:s,s:s,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}", "name",
                      name, "fullyQualifiedName", fqn, "columns", "name", "id",
                      "dataType", "INT", "name", "label", "dataType", "VARCHAR",
                      "name", "created_at", "dataType", "TIMESTAMP");
        int rc = host->emit_entity(ctx, fqn, t);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "bench_source",
    .version = "bench",
    .summary = "emits synthetic tables for benchmarks",
    .kind = CS_PASS_SOURCE,
    .produces = produces,
    .options = options,
    .init = bench_init,
    .discover = bench_discover,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
