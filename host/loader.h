/*
 * Loading passes (worker and `check --load` only; the master never
 * dlopens).  Order of checks, none of which runs pass code beyond the
 * entry function: dlopen RTLD_NOW|RTLD_LOCAL, find cs_pass_entry, call it,
 * check ABI major/minor/struct_size, copy the descriptor, then compare its
 * kind and aspect declarations with the manifest and validate the
 * manifest's `config` against the declared options.  Every refusal names
 * the pass, the path and the reason.
 */
#ifndef HOST_LOADER_H
#define HOST_LOADER_H

#include <catalog_sync/pass.h>
#include <jansson.h>
#include <stddef.h>

#include "manifest.h"

struct loaded_plugin {
    void *handle;      /* never dlclose'd: unload is process exit */
    cs_pass_desc desc; /* copy, zero-filled past the plugin's struct_size */
};

/* Opens and ABI-checks one plugin.  0 or -1 with err. */
int loader_open(const char *pass_name, const char *path,
                struct loaded_plugin *out, char *err, size_t errlen);
/* Pure check of ABI header fields (exposed for unit tests). */
int loader_check_abi(const char *pass_name, const char *path,
                     const cs_pass_desc *d, char *err, size_t errlen);
/* Compares the plugin's kind and declarations with the manifest entry. */
int loader_check_declarations(const struct manifest *m,
                              const struct mf_pass *mp, const cs_pass_desc *d,
                              char *err, size_t errlen);
/* Validates `config` against the declared options and returns a new
 * object with defaults filled in (*out, new reference). */
int loader_validate_config(const char *pass_name, const cs_option_decl *opts,
                           const json_t *config, json_t **out, char *err,
                           size_t errlen);
/* The same for a manifest entry, the message prefixed with the position of
 * its `config` ("m.yaml:14:7: passes[1].config: pass `x`: ..."). */
int loader_validate_pass_config(const struct manifest *m,
                                const struct mf_pass *mp,
                                const cs_option_decl *opts, json_t **out,
                                char *err, size_t errlen);

#endif
