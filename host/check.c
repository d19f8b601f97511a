#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loader.h"
#include "manifest.h"
#include "plan.h"

static const char *option_type_name(cs_option_type t)
{
    static const char *names[] = {"?",    "string", "int",   "number",
                                  "bool", "list",   "object"};
    return (int)t >= 1 && (int)t <= 6 ? names[t] : "?";
}

static json_t *options_json(const cs_option_decl *opts)
{
    json_t *arr = json_array();
    for (; opts && opts->name; opts++)
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s?,s:s?,s:b}", "name", opts->name,
                           "type", option_type_name(opts->type), "default",
                           opts->default_json, "help", opts->help, "required",
                           (opts->flags & CS_OPTION_REQUIRED) != 0));
    return arr;
}

/* Child side: one JSON line per pass on fd `out`; "loading" first so the
 * parent can name a pass that crashes the loader. */
static void load_all(const struct manifest *m, const struct plan *p, FILE *out)
{
    for (size_t i = 0; i < p->n_steps; i++) {
        const struct mf_pass *mp = p->steps[i].pass;
        fprintf(out, "{\"loading\":\"%s\"}\n", mp->name);
        fflush(out);
        struct loaded_plugin lp;
        json_t *cfg = NULL;
        char err[2048] = "";
        int rc = loader_open(mp->name, mp->plugin_path, &lp, err, sizeof err);
        if (rc == 0)
            rc = loader_check_declarations(m, mp, &lp.desc, err, sizeof err);
        if (rc == 0)
            rc = loader_validate_pass_config(m, mp, lp.desc.options, &cfg, err,
                                             sizeof err);
        json_t *res = json_pack("{s:s,s:s,s:b}", "pass", mp->name, "path",
                                mp->plugin_path, "ok", rc == 0);
        if (rc != 0)
            json_object_set_new(res, "error", json_string(err));
        else {
            json_object_set_new(
                res, "version",
                json_string(lp.desc.version ? lp.desc.version : "?"));
            json_object_set_new(
                res, "abi",
                json_sprintf("%u.%u", lp.desc.abi_major, lp.desc.abi_minor));
            json_object_set_new(res, "options", options_json(lp.desc.options));
        }
        json_decref(cfg);
        char *line = json_dumps(res, JSON_COMPACT);
        fprintf(out, "%s\n", line ? line : "{}");
        fflush(out);
        free(line);
        json_decref(res);
    }
}

static json_t *read_results(FILE *in, char *crashed_in, size_t len)
{
    json_t *results = json_array();
    char line[65536];
    while (fgets(line, sizeof line, in)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            continue;
        const char *loading = json_string_value(json_object_get(j, "loading"));
        if (loading)
            snprintf(crashed_in, len, "%s", loading);
        else {
            crashed_in[0] = '\0';
            json_array_append(results, j);
        }
        json_decref(j);
    }
    return results;
}

static json_t *load_in_child(const struct manifest *m, const struct plan *p,
                             char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return NULL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        FILE *out = fdopen(fds[1], "w");
        if (out)
            load_all(m, p, out);
        _exit(out ? 0 : 1);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char crashed_in[256] = "";
    json_t *results =
        in ? read_results(in, crashed_in, sizeof crashed_in) : json_array();
    if (in)
        fclose(in);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) || crashed_in[0]) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "loading the plugin crashed the loader (signal %d)",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        json_array_append_new(results,
                              json_pack("{s:s,s:b,s:s}", "pass",
                                        crashed_in[0] ? crashed_in : "?", "ok",
                                        0, "error", msg));
    }
    return results;
}

/* The options a pass declares, so an operator can write its config. */
static void print_options(json_t *options)
{
    size_t i;
    json_t *o;
    json_array_foreach(options, i, o)
    {
        const char *def = json_string_value(json_object_get(o, "default"));
        const char *help = json_string_value(json_object_get(o, "help"));
        printf("          config.%s: %s%s%s%s\n",
               json_string_value(json_object_get(o, "name")),
               json_string_value(json_object_get(o, "type")),
               json_is_true(json_object_get(o, "required")) ? ", required" : "",
               def ? ", default " : "", def ? def : "");
        if (help)
            printf("              %s\n", help);
    }
}

static int print_load_results(json_t *results, bool json_out, json_t *doc)
{
    int bad = 0;
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        bool ok = json_is_true(json_object_get(r, "ok"));
        bad += !ok;
        if (json_out)
            continue;
        if (ok) {
            printf("  ok    %-24s %s (version %s, ABI %s)\n",
                   json_string_value(json_object_get(r, "pass")),
                   json_string_value(json_object_get(r, "path")),
                   json_string_value(json_object_get(r, "version")),
                   json_string_value(json_object_get(r, "abi")));
            print_options(json_object_get(r, "options"));
        } else
            printf("  FAIL  %s\n",
                   json_string_value(json_object_get(r, "error")));
    }
    if (json_out)
        json_object_set(doc, "plugins", results);
    return bad;
}

int check_main(const char *manifest_path, bool json_out, bool load)
{
    struct manifest *m = NULL;
    struct plan *p = NULL;
    char err[4096];
    if (manifest_load(manifest_path, &m, err, sizeof err) != 0 ||
        plan_build(m, &p, err, sizeof err) != 0) {
        if (json_out) {
            json_t *doc = json_pack("{s:b,s:s}", "valid", 0, "error", err);
            json_dumpf(doc, stdout, JSON_INDENT(2));
            putchar('\n');
            json_decref(doc);
        } else
            fprintf(stderr, "catalog-sync check: %s\n", err);
        manifest_free(m);
        return 1;
    }
    json_t *doc = json_out ? plan_to_json(p) : NULL;
    if (!json_out) {
        printf("%s: valid (sha256 %.12s)\n", manifest_path, m->sha256);
        plan_print_text(p, stdout);
    }
    int bad = 0;
    if (load) {
        if (!json_out)
            printf("plugins:\n");
        json_t *results = load_in_child(m, p, err, sizeof err);
        bad = results ? print_load_results(results, json_out, doc) : 1;
        json_decref(results);
    }
    if (json_out) {
        json_object_set_new(doc, "valid", json_boolean(bad == 0));
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(doc);
    }
    plan_free(p);
    manifest_free(m);
    return bad ? 1 : 0;
}
