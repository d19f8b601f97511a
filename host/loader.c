#include "loader.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The smallest descriptor we can use: up to and including `kind`. */
#define MIN_DESC_SIZE (offsetof(cs_pass_desc, kind) + sizeof(cs_pass_kind))

int loader_check_abi(const char *pass_name, const char *path,
                     const cs_pass_desc *d, char *err, size_t errlen)
{
    if (d->abi_major != CS_ABI_MAJOR || d->abi_minor > CS_ABI_MINOR) {
        snprintf(err, errlen,
                 "pass `%s` (%s): built for ABI %u.%u, host speaks %d.%d%s",
                 pass_name, path, d->abi_major, d->abi_minor, CS_ABI_MAJOR,
                 CS_ABI_MINOR,
                 d->abi_major == CS_ABI_MAJOR
                     ? " (rebuild the pass against this host's headers)"
                     : "");
        return -1;
    }
    if (d->struct_size < MIN_DESC_SIZE) {
        snprintf(err, errlen,
                 "pass `%s` (%s): descriptor struct_size %u is smaller than "
                 "the ABI %d.0 minimum %zu",
                 pass_name, path, d->struct_size, CS_ABI_MAJOR,
                 (size_t)MIN_DESC_SIZE);
        return -1;
    }
    return 0;
}

int loader_open(const char *pass_name, const char *path,
                struct loaded_plugin *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "pass `%s`: cannot load %s: %s", pass_name, path,
                 dlerror());
        return -1;
    }
    cs_pass_entry_fn entry;
    *(void **)&entry = dlsym(h, CS_PASS_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(err, errlen,
                 "pass `%s` (%s): no `%s` symbol: not a catalog-sync pass",
                 pass_name, path, CS_PASS_ENTRY_SYMBOL);
        return -1; /* the handle is left open: no dlclose of loaded code */
    }
    const cs_pass_desc *d = entry();
    if (!d) {
        snprintf(err, errlen, "pass `%s` (%s): %s() returned NULL", pass_name,
                 path, CS_PASS_ENTRY_SYMBOL);
        return -1;
    }
    /* Only the three header fields are read before the ABI check. */
    cs_pass_desc head;
    memcpy(&head, d, offsetof(cs_pass_desc, name));
    if (loader_check_abi(pass_name, path, &head, err, errlen) != 0)
        return -1;
    size_t n =
        d->struct_size < sizeof out->desc ? d->struct_size : sizeof out->desc;
    memcpy(&out->desc, d, n);
    out->handle = h;
    if (!out->desc.name || !out->desc.produces) {
        snprintf(err, errlen,
                 "pass `%s` (%s): descriptor lacks a name or a produces list",
                 pass_name, path);
        return -1;
    }
    return 0;
}

static const cs_aspect_decl *find_decl(const cs_aspect_decl *list,
                                       const char *name)
{
    for (; list && list->name; list++)
        if (strcmp(list->name, name) == 0)
            return list;
    return NULL;
}

static const struct mf_aspect_ref *find_ref(const struct mf_aspect_ref *refs,
                                            size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(refs[i].name, name) == 0)
            return &refs[i];
    return NULL;
}

static int check_inputs(const struct mf_pass *mp, const cs_pass_desc *d,
                        char *err, size_t errlen)
{
    for (size_t i = 0; i < mp->n_inputs; i++) {
        const struct mf_aspect_ref *r = &mp->inputs[i];
        const cs_aspect_decl *dc = find_decl(d->consumes, r->name);
        if (!dc) {
            snprintf(err, errlen,
                     "pass `%s` (%s): manifest input `%s` is not consumed by "
                     "the plugin (remove it from inputs)",
                     mp->name, mp->plugin_path, r->name);
            return -1;
        }
        bool opt = dc->flags & CS_ASPECT_OPTIONAL;
        if (opt != r->optional) {
            snprintf(err, errlen,
                     "pass `%s` (%s): input `%s` is %s in the plugin but "
                     "written as %s in the manifest (write `%s%s`)",
                     mp->name, mp->plugin_path, r->name,
                     opt ? "optional" : "required",
                     r->optional ? "optional" : "required", r->name,
                     opt ? "?" : "");
            return -1;
        }
    }
    for (const cs_aspect_decl *dc = d->consumes; dc && dc->name; dc++) {
        if (!(dc->flags & CS_ASPECT_OPTIONAL) &&
            !find_ref(mp->inputs, mp->n_inputs, dc->name)) {
            snprintf(err, errlen,
                     "pass `%s` (%s): the plugin requires input `%s`, which "
                     "the manifest's inputs do not list",
                     mp->name, mp->plugin_path, dc->name);
            return -1;
        }
    }
    return 0;
}

static int check_outputs(const struct manifest *m, const struct mf_pass *mp,
                         const cs_pass_desc *d, char *err, size_t errlen)
{
    for (size_t i = 0; i < mp->n_outputs; i++) {
        if (!find_decl(d->produces, mp->outputs[i].name)) {
            snprintf(err, errlen,
                     "pass `%s` (%s): manifest output `%s` is not produced by "
                     "the plugin",
                     mp->name, mp->plugin_path, mp->outputs[i].name);
            return -1;
        }
    }
    for (const cs_aspect_decl *dc = d->produces; dc->name; dc++) {
        if (!find_ref(mp->outputs, mp->n_outputs, dc->name)) {
            snprintf(err, errlen,
                     "pass `%s` (%s): the plugin produces `%s`, which the "
                     "manifest's outputs do not list",
                     mp->name, mp->plugin_path, dc->name);
            return -1;
        }
        bool raw = dc->flags & CS_ASPECT_RAW;
        if (raw != manifest_aspect_is_raw(m, dc->name)) {
            snprintf(err, errlen,
                     "pass `%s` (%s): the plugin declares `%s` as %s but the "
                     "manifest treats it as %s (see raw_aspects)",
                     mp->name, mp->plugin_path, dc->name,
                     raw ? "raw" : "not raw", raw ? "not raw" : "raw");
            return -1;
        }
    }
    return 0;
}

int loader_check_declarations(const struct manifest *m,
                              const struct mf_pass *mp, const cs_pass_desc *d,
                              char *err, size_t errlen)
{
    if ((int)d->kind != (int)mp->kind) {
        snprintf(err, errlen,
                 "pass `%s` (%s): the plugin's kind is %s but the manifest "
                 "says kind: %s",
                 mp->name, mp->plugin_path,
                 d->kind >= CS_PASS_SOURCE && d->kind <= CS_PASS_BATCH
                     ? mf_kind_name((enum mf_pass_kind)d->kind)
                     : "unknown",
                 mf_kind_name(mp->kind));
        return -1;
    }
    bool has_callback = d->kind == CS_PASS_SOURCE   ? d->discover != NULL
                        : d->kind == CS_PASS_ENTITY ? d->process != NULL
                                                    : d->finish != NULL;
    if (!has_callback) {
        snprintf(err, errlen,
                 "pass `%s` (%s): kind %s needs a %s() callback, which the "
                 "plugin does not provide",
                 mp->name, mp->plugin_path, mf_kind_name(mp->kind),
                 d->kind == CS_PASS_SOURCE   ? "discover"
                 : d->kind == CS_PASS_ENTITY ? "process"
                                             : "finish");
        return -1;
    }
    if (check_inputs(mp, d, err, errlen) != 0)
        return -1;
    return check_outputs(m, mp, d, err, errlen);
}

static bool type_matches(cs_option_type t, const json_t *v)
{
    switch (t) {
    case CS_OPT_STRING:
        return json_is_string(v);
    case CS_OPT_INT:
        return json_is_integer(v);
    case CS_OPT_NUMBER:
        return json_is_number(v);
    case CS_OPT_BOOL:
        return json_is_boolean(v);
    case CS_OPT_LIST:
        return json_is_array(v);
    case CS_OPT_OBJECT:
        return json_is_object(v);
    }
    return false;
}

static const char *type_name(cs_option_type t)
{
    static const char *names[] = {"?",        "a string",  "an integer",
                                  "a number", "a boolean", "a list",
                                  "a mapping"};
    return (int)t >= 1 && (int)t <= 6 ? names[t] : "?";
}

static const cs_option_decl *find_option(const cs_option_decl *opts,
                                         const char *key)
{
    for (; opts && opts->name; opts++)
        if (strcmp(opts->name, key) == 0)
            return opts;
    return NULL;
}

static int fill_option(const char *pass_name, const cs_option_decl *o,
                       json_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(out, o->name);
    if (!v && o->default_json) {
        json_error_t je;
        v = json_loads(o->default_json, JSON_DECODE_ANY, &je);
        if (!v) {
            snprintf(err, errlen,
                     "pass `%s`: option `%s` has an invalid default in the "
                     "plugin: %s",
                     pass_name, o->name, je.text);
            return -1;
        }
        if (!type_matches(o->type, v) && !json_is_null(v)) {
            snprintf(err, errlen,
                     "pass `%s`: option `%s` has an invalid default in the "
                     "plugin: expected %s",
                     pass_name, o->name, type_name(o->type));
            json_decref(v);
            return -1;
        }
        json_object_set_new(out, o->name, v);
    }
    if (!v) {
        if (o->flags & CS_OPTION_REQUIRED) {
            snprintf(err, errlen, "pass `%s`: config.%s is required (%s)",
                     pass_name, o->name, o->help ? o->help : "no help");
            return -1;
        }
        return 0;
    }
    if (!type_matches(o->type, v) && !json_is_null(v)) {
        snprintf(err, errlen, "pass `%s`: config.%s must be %s", pass_name,
                 o->name, type_name(o->type));
        return -1;
    }
    return 0;
}

int loader_validate_config(const char *pass_name, const cs_option_decl *opts,
                           const json_t *config, json_t **out, char *err,
                           size_t errlen)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)config, key, value)
    {
        if (!find_option(opts, key)) {
            snprintf(err, errlen,
                     "pass `%s`: config.%s is not an option of this pass "
                     "(`catalog-sync check --load` lists them)",
                     pass_name, key);
            return -1;
        }
    }
    json_t *copy = json_deep_copy(config);
    if (!copy) {
        snprintf(err, errlen, "pass `%s`: out of memory", pass_name);
        return -1;
    }
    for (const cs_option_decl *o = opts; o && o->name; o++) {
        if (fill_option(pass_name, o, copy, err, errlen) != 0) {
            json_decref(copy);
            return -1;
        }
    }
    *out = copy;
    return 0;
}

int loader_validate_pass_config(const struct manifest *m,
                                const struct mf_pass *mp,
                                const cs_option_decl *opts, json_t **out,
                                char *err, size_t errlen)
{
    char why[1024];
    if (loader_validate_config(mp->name, opts, mp->config, out, why,
                               sizeof why) == 0)
        return 0;
    const struct mf_pos *at = mp->pos_config.line ? &mp->pos_config : &mp->pos;
    size_t index = (size_t)(mp - m->passes);
    snprintf(err, errlen, "%s:%d:%d: passes[%zu].config: %s", m->path, at->line,
             at->col, index, why);
    return -1;
}
