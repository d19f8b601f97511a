/*
 * One test pass compiled several times (-DVARIANT_...) into the shapes the
 * loader must accept or refuse.  Every variant exports the counters
 * `tp_entry_calls` and `tp_init_calls` so that a test can prove which
 * plugin code the loader ran, and init() also creates the file named by
 * $CS_TEST_INIT_MARKER, which survives even a refused load.
 */
#include <catalog_sync/pass.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

CS_PASS_EXPORT int tp_entry_calls;
CS_PASS_EXPORT int tp_init_calls;

static const cs_aspect_decl consumes[] = {
    {"table", CS_ASPECT_REQUIRED}, {"hint", CS_ASPECT_OPTIONAL}, {NULL, 0}};
static const cs_aspect_decl produces[] = {{"probe", 0}, {NULL, 0}};
static const cs_option_decl options[] = {
    {"depth", CS_OPT_INT, "3", "how deep", 0}, {NULL, 0, NULL, NULL, 0}};

static int tp_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    tp_init_calls++;
    const char *marker = getenv("CS_TEST_INIT_MARKER");
    if (marker) {
        int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            close(fd);
    }
    *state = NULL;
    return CS_OK;
}

static int tp_process(void *state, cs_ctx *ctx)
{
    return CS_OK;
}

static void tp_fini(void *state) {}

#if defined(VARIANT_ABI2)
#define HEADER 2, 0, sizeof(cs_pass_desc)
#elif defined(VARIANT_MINOR_AHEAD)
#define HEADER CS_ABI_MAJOR, CS_ABI_MINOR + 1, sizeof(cs_pass_desc)
#elif defined(VARIANT_SHORT)
/* An older minor whose descriptor ended after `produces`: the fields the
 * host knows beyond that must read as zero in the host's copy, although
 * this object happens to hold values there. */
#define HEADER CS_ABI_MAJOR, CS_ABI_MINOR, offsetof(cs_pass_desc, options)
#else
#define HEADER CS_PASS_HEADER
#endif

/* Unused by the variants whose entry point returns something else. */
__attribute__((unused)) static const cs_pass_desc desc = {
    HEADER,
#ifndef VARIANT_NO_NAME
    .name = "probe",
#endif
    .version = "1.2.3",
    .summary = "loader test pass",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = tp_init,
    .process = tp_process,
    .fini = tp_fini,
};

#if defined(VARIANT_NO_ENTRY)
/* Exports something, just not the entry point. */
CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry_point(void)
{
    return &desc;
}
#elif defined(VARIANT_NULL_ENTRY)
CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    tp_entry_calls++;
    return NULL;
}
#elif defined(VARIANT_ABI2_GUARDED)
/* A future major whose descriptor is only the three header fields (16
 * bytes with the padding the ABI 1 layout has before `name`), placed right
 * before an inaccessible page: a loader that read any field past the header
 * before checking the ABI would crash. */
CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    tp_entry_calls++;
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p + page, (size_t)page, PROT_NONE) != 0)
        return NULL;
    uint32_t *head = (uint32_t *)(p + page - offsetof(cs_pass_desc, name));
    head[0] = 2;
    head[1] = 0;
    head[2] = 3 * sizeof(uint32_t);
    return (const cs_pass_desc *)head;
}
#else
CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    tp_entry_calls++;
    return &desc;
}
#endif
