/* An entity pass that does nothing, for measuring host overhead. */
#include <catalog_sync/pass.h>

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {{"noop", 0}, {NULL, 0}};

static int noop_process(void *state, cs_ctx *ctx)
{
    return CS_OK;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,         .name = "noop",
    .version = "bench",     .summary = "does nothing",
    .kind = CS_PASS_ENTITY, .consumes = consumes,
    .produces = produces,   .process = noop_process,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
