/*
 * A stand-in for the describe passes in integration tests: produces a
 * `description` aspect of the documented shape (plugin/publish_openmetadata
 * README) from the table's names alone.  Built out of tree by
 * tests/passes/build.sh.
 */
#include <catalog_sync/pass.h>
#include <stdio.h>
#include <stdlib.h>

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {{"description", 0}, {NULL, 0}};

struct state {
    const cs_host_api *host;
};

static int fx_init(const cs_host_api *host, cs_ctx *ctx, void **out)
{
    struct state *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(ctx, "out of memory");
        return CS_ERR_NOMEM;
    }
    s->host = host;
    *out = s;
    return CS_OK;
}

static void fx_fini(void *state)
{
    free(state);
}

static json_t *text(const char *what, const char *name)
{
    char buf[512];
    snprintf(buf, sizeof buf, "Fixture description of %s %s.", what, name);
    return json_pack("{s:s}", "description", buf);
}

static int fx_process(void *state, cs_ctx *ctx)
{
    const cs_host_api *h = ((struct state *)state)->host;
    json_t *table = h->aspect_get(ctx, "table");
    const char *name = json_string_value(json_object_get(table, "name"));
    json_t *cols = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(table, "columns"), i, c)
    {
        const char *cn = json_string_value(json_object_get(c, "name"));
        if (cn)
            json_object_set_new(cols, cn, text("column", cn));
    }
    json_t *out = json_pack("{s:o, s:o, s:s, s:n}", "table",
                            text("table", name ? name : "?"), "columns", cols,
                            "source", "describe_template", "model");
    if (!out) {
        h->set_error(ctx, "out of memory building description");
        return CS_ERR_NOMEM;
    }
    return h->aspect_put(ctx, "description", out);
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER, /* abi_major, abi_minor, struct_size */
    .name = "describe_fixture",
    .version = "1",
    .summary = "test stand-in for the describe passes (describe_template)",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .init = fx_init,
    .process = fx_process,
    .fini = fx_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
