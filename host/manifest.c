/*
 * The manifest loader.  Two phases, so that every later check can point
 * at a line and column:
 *
 *   1. libyaml's document API builds a node graph with start marks; we
 *      convert it into our own small tree, substituting ${VAR} in every
 *      scalar and replacing each `<key>_file: PATH` entry by `<key>` holding
 *      the file's contents.  Each node remembers its position and its field
 *      path ("passes[2].inputs[0]").
 *   2. The tree is interpreted into struct manifest, field by field, with
 *      unknown keys and wrong types refused.
 *
 * Error messages: "<path>:<line>:<col>: <field path>: <reason>".
 */
#include "manifest.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "egress.h"
#include "log.h"
#include "sha256.h"

#define MAX_DEPTH 64
#define MAX_NODES 200000 /* bounds alias expansion ("billion laughs") */
#define MAX_SECRET_FILE (1024 * 1024)
#define MAX_MANIFEST_FILE (16 * 1024 * 1024)

/* ---- the tree ----------------------------------------------------------- */

enum nkind { N_SCALAR, N_SEQ, N_MAP };

struct node;

struct entry {
    char *key;
    struct mf_pos kpos;
    bool from_file; /* written as `<key>_file` */
    struct node *val;
};

struct node {
    enum nkind kind;
    struct mf_pos pos;
    char *path; /* field path, "" for the root */
    /* N_SCALAR */
    char *str;
    bool plain;  /* unquoted: may be a number, bool or null */
    bool secret; /* read from a *_file: never echoed in messages */
    /* N_SEQ */
    struct node **items;
    size_t n_items;
    /* N_MAP */
    struct entry *entries;
    size_t n_entries;
};

struct ld {
    const char *path; /* manifest path, for messages */
    const char *dir;  /* for relative paths */
    char *err;
    size_t errlen;
    size_t n_nodes;
};

static void node_free(struct node *n)
{
    if (!n)
        return;
    free(n->path);
    free(n->str);
    for (size_t i = 0; i < n->n_items; i++)
        node_free(n->items[i]);
    free(n->items);
    for (size_t i = 0; i < n->n_entries; i++) {
        free(n->entries[i].key);
        node_free(n->entries[i].val);
    }
    free(n->entries);
    free(n);
}

/* ---- errors ------------------------------------------------------------- */

static int failv(struct ld *L, struct mf_pos pos, const char *field,
                 const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (field && *field)
        snprintf(L->err, L->errlen, "%s:%d:%d: %s: %s", L->path, pos.line,
                 pos.col, field, msg);
    else
        snprintf(L->err, L->errlen, "%s:%d:%d: %s", L->path, pos.line, pos.col,
                 msg);
    return -1;
}

__attribute__((format(printf, 4, 5))) static int
fail(struct ld *L, struct mf_pos pos, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(L, pos, field, fmt, ap);
    va_end(ap);
    return -1;
}

/* Error about node n, at its position and field path. */
__attribute__((format(printf, 3, 4))) static int
failn(struct ld *L, const struct node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(L, n->pos, n->path, fmt, ap);
    va_end(ap);
    return -1;
}

static struct mf_pos mark_pos(yaml_mark_t m)
{
    struct mf_pos p = {(int)m.line + 1, (int)m.column + 1};
    return p;
}

/* ---- ${VAR} substitution ------------------------------------------------ */

struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* Expands one "${...}" starting at p (p[0..1] == "${"); returns the
 * position after the closing brace, or NULL with the error set. */
static const char *expand_ref(struct ld *L, const char *p, struct sbuf *b,
                              struct mf_pos pos, const char *field)
{
    const char *end = strchr(p + 2, '}');
    const char *q = p + 2;
    if (!end) {
        fail(L, pos, field,
             "unterminated \"${\" (write \"$${\" for a literal \"${\")");
        return NULL;
    }
    while (q < end && (isalnum((unsigned char)*q) || *q == '_'))
        q++;
    /* ":-" followed by the default, possibly empty, up to the brace */
    bool has_default = q + 1 < end && q[0] == ':' && q[1] == '-';
    char name[256];
    if (q == p + 2 || isdigit((unsigned char)p[2]) ||
        (size_t)(q - p - 2) >= sizeof name || (q != end && !has_default)) {
        fail(L, pos, field,
             "bad variable reference \"%.*s\" (write ${NAME} or "
             "${NAME:-default})",
             (int)(end - p + 1), p);
        return NULL;
    }
    snprintf(name, sizeof name, "%.*s", (int)(q - p - 2), p + 2);
    const char *val = getenv(name);
    if (has_default) {
        if (!val || !*val) {
            sb_add(b, q + 2, (size_t)(end - q - 2));
            return end + 1;
        }
    } else if (!val) {
        fail(L, pos, field,
             "environment variable %s is not set (write ${%s:-default} to "
             "give a default)",
             name, name);
        return NULL;
    }
    sb_add(b, val, strlen(val));
    return end + 1;
}

/* Returns a malloc'd copy of `in` with ${VAR}, ${VAR:-default} expanded
 * and "$${" turned into a literal "${"; NULL with the error set. */
static char *substitute(struct ld *L, const char *in, struct mf_pos pos,
                        const char *field)
{
    struct sbuf b = {0};
    const char *p = in;
    sb_add(&b, "", 0);
    while (*p) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            sb_add(&b, "${", 2);
            p += 3;
        } else if (p[0] == '$' && p[1] == '{') {
            p = expand_ref(L, p, &b, pos, field);
            if (!p) {
                free(b.s);
                return NULL;
            }
        } else {
            sb_add(&b, p++, 1);
        }
    }
    if (b.oom) {
        free(b.s);
        fail(L, pos, field, "out of memory");
        return NULL;
    }
    return b.s;
}

/* ---- *_file secrets ----------------------------------------------------- */

static char *resolve_path(const char *dir, const char *p)
{
    char *out = NULL;
    if (p[0] == '/')
        return strdup(p);
    if (asprintf(&out, "%s/%s", dir, p) < 0)
        return NULL;
    return out;
}

/* Reads a whole small file; trailing newlines are dropped because
 * `echo secret > file` is how secrets get written. */
static char *read_secret_file(struct ld *L, const char *file, struct mf_pos pos,
                              const char *field)
{
    FILE *f = fopen(file, "rb");
    char *buf = NULL;
    size_t len = 0;
    if (!f)
        goto err;
    buf = malloc(MAX_SECRET_FILE + 1);
    if (!buf) {
        fclose(f);
        fail(L, pos, field, "out of memory reading %s", file);
        return NULL;
    }
    len = fread(buf, 1, MAX_SECRET_FILE + 1, f);
    if (ferror(f)) {
        free(buf);
        buf = NULL;
        goto err;
    }
    fclose(f);
    if (len > MAX_SECRET_FILE) {
        free(buf);
        fail(L, pos, field, "%s is larger than %d bytes", file,
             MAX_SECRET_FILE);
        return NULL;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    return buf;
err:;
    int e = errno;
    if (f)
        fclose(f);
    fail(L, pos, field, "cannot read %s: %s", file, strerror(e));
    return NULL;
}

/* `api.tokens_file` names a file the API re-reads itself; every other
 * `*_file` key is a secret indirection. */
static bool is_secret_file_key(const char *parent, const char *key)
{
    size_t n = strlen(key);
    if (n <= 5 || strcmp(key + n - 5, "_file") != 0)
        return false;
    return !(strcmp(parent, "api") == 0 && strcmp(key, "tokens_file") == 0);
}

/* ---- YAML -> tree ------------------------------------------------------- */

static char *join_key(const char *parent, const char *key)
{
    char *out = NULL;
    if (asprintf(&out, "%s%s%s", parent, *parent ? "." : "", key) < 0)
        return NULL;
    return out;
}

static char *join_index(const char *parent, size_t i)
{
    char *out = NULL;
    if (asprintf(&out, "%s[%zu]", parent, i) < 0)
        return NULL;
    return out;
}

static struct node *node_new(struct ld *L, enum nkind kind, struct mf_pos pos,
                             char *path)
{
    struct node *n;
    if (!path) {
        fail(L, pos, NULL, "out of memory");
        return NULL;
    }
    if (++L->n_nodes > MAX_NODES) {
        fail(L, pos, path, "more than %d nodes (alias expansion?)", MAX_NODES);
        free(path);
        return NULL;
    }
    n = calloc(1, sizeof *n);
    if (!n) {
        fail(L, pos, path, "out of memory");
        free(path);
        return NULL;
    }
    n->kind = kind;
    n->pos = pos;
    n->path = path;
    return n;
}

static struct node *conv(struct ld *L, yaml_document_t *doc, yaml_node_t *yn,
                         char *path, int depth);

static struct node *conv_scalar(struct ld *L, yaml_node_t *yn, char *path)
{
    struct node *n = node_new(L, N_SCALAR, mark_pos(yn->start_mark), path);
    if (!n)
        return NULL;
    n->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    n->str =
        substitute(L, (const char *)yn->data.scalar.value, n->pos, n->path);
    if (!n->str) {
        node_free(n);
        return NULL;
    }
    return n;
}

static struct node *conv_seq(struct ld *L, yaml_document_t *doc,
                             yaml_node_t *yn, char *path, int depth)
{
    struct node *n = node_new(L, N_SEQ, mark_pos(yn->start_mark), path);
    yaml_node_item_t *it;
    size_t count =
        (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
    if (!n)
        return NULL;
    n->items = calloc(count ? count : 1, sizeof *n->items);
    if (!n->items) {
        failn(L, n, "out of memory");
        node_free(n);
        return NULL;
    }
    for (it = yn->data.sequence.items.start; it < yn->data.sequence.items.top;
         it++) {
        struct node *c = conv(L, doc, yaml_document_get_node(doc, *it),
                              join_index(n->path, n->n_items), depth + 1);
        if (!c) {
            node_free(n);
            return NULL;
        }
        n->items[n->n_items++] = c;
    }
    return n;
}

static struct entry *find_entry(const struct node *map, const char *key)
{
    for (size_t i = 0; i < map->n_entries; i++)
        if (strcmp(map->entries[i].key, key) == 0)
            return &map->entries[i];
    return NULL;
}

/* Turns `<key>_file: PATH` into `<key>: <contents>`, in place. */
static int load_file_entry(struct ld *L, struct node *map, struct entry *e)
{
    struct node *v = e->val;
    size_t klen = strlen(e->key);
    if (v->kind != N_SCALAR || !*v->str)
        return failn(L, v, "expected the path of a file");
    char *file = resolve_path(L->dir, v->str);
    if (!file)
        return failn(L, v, "out of memory");
    char *content = read_secret_file(L, file, v->pos, v->path);
    free(file);
    if (!content)
        return -1;
    log_add_secret(content);
    e->key[klen - 5] = '\0';
    e->from_file = true;
    free(v->str);
    v->str = content;
    v->plain = false;
    v->secret = true;
    /* later messages about the value name the resulting key */
    char *path = join_key(map->path, e->key);
    if (!path)
        return failn(L, v, "out of memory");
    free(v->path);
    v->path = path;
    return 0;
}

static int check_duplicate(struct ld *L, const struct node *map,
                           const struct entry *e)
{
    for (size_t i = 0; i + 1 < map->n_entries; i++) {
        const struct entry *o = &map->entries[i];
        char *field;
        if (strcmp(o->key, e->key) != 0)
            continue;
        field = join_key(map->path, e->key);
        if (o->from_file != e->from_file)
            fail(L, e->kpos, field,
                 "both `%s` and `%s_file` are given; use one of them", e->key,
                 e->key);
        else
            fail(L, e->kpos, field, "duplicate key (first given at %d:%d)",
                 o->kpos.line, o->kpos.col);
        free(field);
        return -1;
    }
    return 0;
}

static int conv_pair(struct ld *L, yaml_document_t *doc, struct node *map,
                     yaml_node_pair_t *pair, int depth)
{
    yaml_node_t *k = yaml_document_get_node(doc, pair->key);
    yaml_node_t *v = yaml_document_get_node(doc, pair->value);
    struct entry *e = &map->entries[map->n_entries];
    e->kpos = mark_pos(k->start_mark);
    if (k->type != YAML_SCALAR_NODE)
        return fail(L, e->kpos, map->path, "mapping keys must be scalars");
    e->key =
        substitute(L, (const char *)k->data.scalar.value, e->kpos, map->path);
    if (!e->key)
        return -1;
    map->n_entries++;
    e->val = conv(L, doc, v, join_key(map->path, e->key), depth + 1);
    if (!e->val)
        return -1;
    if (is_secret_file_key(map->path, e->key) && load_file_entry(L, map, e) < 0)
        return -1;
    return check_duplicate(L, map, e);
}

static struct node *conv_map(struct ld *L, yaml_document_t *doc,
                             yaml_node_t *yn, char *path, int depth)
{
    struct node *n = node_new(L, N_MAP, mark_pos(yn->start_mark), path);
    size_t count =
        (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
    if (!n)
        return NULL;
    n->entries = calloc(count ? count : 1, sizeof *n->entries);
    if (!n->entries) {
        failn(L, n, "out of memory");
        node_free(n);
        return NULL;
    }
    for (yaml_node_pair_t *p = yn->data.mapping.pairs.start;
         p < yn->data.mapping.pairs.top; p++) {
        if (conv_pair(L, doc, n, p, depth) < 0) {
            node_free(n);
            return NULL;
        }
    }
    return n;
}

/* Takes ownership of path. */
static struct node *conv(struct ld *L, yaml_document_t *doc, yaml_node_t *yn,
                         char *path, int depth)
{
    if (!path) {
        fail(L, mark_pos(yn->start_mark), NULL, "out of memory");
        return NULL;
    }
    if (depth > MAX_DEPTH) {
        fail(L, mark_pos(yn->start_mark), path, "nested more than %d levels",
             MAX_DEPTH);
        free(path);
        return NULL;
    }
    switch (yn->type) {
    case YAML_SCALAR_NODE:
        return conv_scalar(L, yn, path);
    case YAML_SEQUENCE_NODE:
        return conv_seq(L, doc, yn, path, depth);
    case YAML_MAPPING_NODE:
        return conv_map(L, doc, yn, path, depth);
    default:
        fail(L, mark_pos(yn->start_mark), path, "unexpected YAML node");
        free(path);
        return NULL;
    }
}

static int syntax_error(struct ld *L, const yaml_parser_t *p)
{
    struct mf_pos pos = mark_pos(p->problem_mark);
    const char *problem = p->problem ? p->problem : "cannot parse";
    if (p->error == YAML_MEMORY_ERROR)
        return fail(L, pos, NULL, "out of memory parsing YAML");
    if (p->context)
        return fail(L, pos, NULL, "YAML syntax error: %s (%s at %d:%d)",
                    problem, p->context, (int)p->context_mark.line + 1,
                    (int)p->context_mark.column + 1);
    return fail(L, pos, NULL, "YAML syntax error: %s", problem);
}

/* A second document after "---" would be silently ignored by a one-shot
 * load; an operator who wrote one meant something by it. */
static int check_single_document(struct ld *L, yaml_parser_t *parser)
{
    yaml_document_t next;
    int rc = 0;
    if (!yaml_parser_load(parser, &next))
        return syntax_error(L, parser);
    yaml_node_t *r = yaml_document_get_root_node(&next);
    if (r)
        rc = fail(L, mark_pos(r->start_mark), NULL,
                  "a manifest is one YAML document; a second one starts "
                  "here");
    yaml_document_delete(&next);
    return rc;
}

/* Parses the buffer into our tree (NULL with the error set). */
static struct node *parse_tree(struct ld *L, const char *data, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct node *root = NULL;
    struct mf_pos start = {1, 1};
    if (!yaml_parser_initialize(&parser)) {
        fail(L, start, NULL, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(L, &parser);
        yaml_parser_delete(&parser);
        return NULL;
    }
    yaml_node_t *yroot = yaml_document_get_root_node(&doc);
    if (!yroot)
        fail(L, start, NULL, "the manifest is empty");
    else
        root = conv(L, &doc, yroot, strdup(""), 0);
    yaml_document_delete(&doc);
    if (root && check_single_document(L, &parser) < 0) {
        node_free(root);
        root = NULL;
    }
    yaml_parser_delete(&parser);
    return root;
}

/* ---- typed accessors ---------------------------------------------------- */

static bool is_null(const struct node *n)
{
    if (!n || n->kind != N_SCALAR || !n->plain)
        return false;
    return !*n->str || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
           !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

static const char *describe(const struct node *n, char *buf, size_t len)
{
    if (n->kind == N_MAP)
        return "a mapping";
    if (n->kind == N_SEQ)
        return "a list";
    if (n->secret)
        return "the contents of a *_file";
    if (is_null(n))
        return "nothing";
    snprintf(buf, len, "\"%.80s\"", n->str);
    return buf;
}

static int want(struct ld *L, const struct node *n, enum nkind kind,
                const char *what)
{
    char b[100];
    if (n->kind == kind && !(kind == N_SCALAR && is_null(n)))
        return 0;
    return failn(L, n, "expected %s, got %s", what, describe(n, b, sizeof b));
}

static const struct node *get(const struct node *map, const char *key)
{
    const struct entry *e = find_entry(map, key);
    return e ? e->val : NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Refuses keys not in `allowed` (NULL-terminated), suggesting the
 * nearest one when it is close. */
static int check_keys(struct ld *L, const struct node *map,
                      const char *const *allowed)
{
    for (size_t i = 0; i < map->n_entries; i++) {
        const struct entry *e = &map->entries[i];
        const char *best = NULL;
        size_t best_d = 3;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) {
            size_t d = edit_distance(e->key, *a);
            ok = d == 0;
            if (d < best_d && d < strlen(*a)) {
                best = *a;
                best_d = d;
            }
        }
        if (ok)
            continue;
        if (best)
            return fail(L, e->kpos, e->val->path,
                        "unknown key (did you mean `%s`?)", best);
        return fail(L, e->kpos, e->val->path, "unknown key");
    }
    return 0;
}

static int missing(struct ld *L, const struct node *map, const char *key)
{
    char *field = join_key(map->path, key);
    fail(L, map->pos, field ? field : key, "required key is missing");
    free(field);
    return -1;
}

static int get_string(struct ld *L, const struct node *n, char **out)
{
    if (want(L, n, N_SCALAR, "a string") < 0)
        return -1;
    free(*out);
    *out = strdup(n->str);
    if (!*out)
        return failn(L, n, "out of memory");
    return 0;
}

static bool parse_long(const char *s, long *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    *out = strtol(s, &end, 10);
    return !*end && errno == 0;
}

static int get_int(struct ld *L, const struct node *n, long lo, long hi,
                   int *out)
{
    char b[100];
    long v;
    if (n->kind != N_SCALAR || !parse_long(n->str, &v))
        return failn(L, n, "expected an integer, got %s",
                     describe(n, b, sizeof b));
    if (v < lo || v > hi)
        return failn(L, n, "expected an integer between %ld and %ld, got %ld",
                     lo, hi, v);
    *out = (int)v;
    return 0;
}

static int get_bool(struct ld *L, const struct node *n, bool *out)
{
    char b[100];
    static const char *const t[] = {"true", "True", "TRUE"};
    static const char *const f[] = {"false", "False", "FALSE"};
    for (int i = 0; n->kind == N_SCALAR && i < 3; i++) {
        if (!strcmp(n->str, t[i]) || !strcmp(n->str, f[i])) {
            *out = !strcmp(n->str, t[i]);
            return 0;
        }
    }
    return failn(L, n, "expected true or false, got %s",
                 describe(n, b, sizeof b));
}

/* Seconds: an integer, or a duration such as "90s", "2m", "1h30m". */
static int get_seconds(struct ld *L, const struct node *n, int *out)
{
    char e[256];
    long v;
    if (want(L, n, N_SCALAR, "a duration") < 0)
        return -1;
    if (parse_long(n->str, &v)) {
        if (v < 1 || v > INT_MAX)
            return failn(L, n,
                         "expected a positive number of seconds, got "
                         "%ld",
                         v);
        *out = (int)v;
        return 0;
    }
    v = schedule_parse_duration(n->str, e, sizeof e);
    if (v < 0)
        return failn(L, n, "%s", e);
    if (v > INT_MAX)
        return failn(L, n, "duration \"%s\" is too long", n->str);
    *out = (int)v;
    return 0;
}

/* Milliseconds: an integer (ms), "250ms", or a duration ("30s", "2m"). */
static int get_millis(struct ld *L, const struct node *n, int *out)
{
    char e[256];
    long v;
    size_t len;
    if (want(L, n, N_SCALAR, "a duration") < 0)
        return -1;
    len = strlen(n->str);
    if (parse_long(n->str, &v) || (len > 2 && !strcmp(n->str + len - 2, "ms") &&
                                   strspn(n->str, "0123456789") == len - 2 &&
                                   parse_long(strndupa(n->str, len - 2), &v))) {
        if (v < 0 || v > INT_MAX)
            return failn(L, n, "expected a duration of 0 ms or more, got %ld",
                         v);
        *out = (int)v;
        return 0;
    }
    v = schedule_parse_duration(n->str, e, sizeof e);
    if (v < 0)
        return failn(L, n, "%s", e);
    if (v > INT_MAX / 1000)
        return failn(L, n, "duration \"%s\" is too long", n->str);
    *out = (int)(v * 1000);
    return 0;
}

/* ---- DSNs --------------------------------------------------------------- */

/* Checks that libpq can parse the DSN and registers its password as a
 * secret so that no log line ever shows it. */
static int check_dsn(struct ld *L, const struct node *n)
{
    char *msg = NULL;
    if (want(L, n, N_SCALAR, "a connection string") < 0)
        return -1;
    PQconninfoOption *opts = PQconninfoParse(n->str, &msg);
    if (!opts) {
        if (!msg)
            return failn(L, n, "out of memory parsing the connection string");
        msg[strcspn(msg, "\n")] = '\0';
        failn(L, n, "invalid connection string: %s", msg);
        PQfreemem(msg);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && *o->val)
            log_add_secret(o->val);
    PQconninfoFree(opts);
    return 0;
}

/* ---- ports -------------------------------------------------------------- */

static bool valid_port(const char *s, int *port)
{
    long v;
    if (!strcmp(s, "*")) {
        *port = 0;
        return true;
    }
    if (strspn(s, "0123456789") != strlen(s) || !parse_long(s, &v) || v < 1 ||
        v > 65535)
        return false;
    *port = (int)v;
    return true;
}

/* ---- sections ----------------------------------------------------------- */

static int load_state(struct ld *L, struct manifest *m, const struct node *n)
{
    static const char *const keys[] = {"dsn", NULL};
    if (n->kind == N_MAP) {
        if (check_keys(L, n, keys) < 0)
            return -1;
        if (!get(n, "dsn"))
            return missing(L, n, "dsn");
        n = get(n, "dsn");
    }
    if (want(L, n, N_SCALAR, "a connection string or {dsn: ...}") < 0 ||
        check_dsn(L, n) < 0)
        return -1;
    return get_string(L, n, &m->state_dsn);
}

static int load_egress(struct ld *L, struct manifest *m, const struct node *n)
{
    char why[600];
    if (is_null(n))
        return 0;
    if (want(L, n, N_SEQ, "a list of \"host:port\" rules") < 0)
        return -1;
    m->egress = calloc(n->n_items ? n->n_items : 1, sizeof *m->egress);
    if (!m->egress)
        return failn(L, n, "out of memory");
    for (size_t i = 0; i < n->n_items; i++) {
        const struct node *it = n->items[i];
        struct mf_egress_rule *r = &m->egress[m->n_egress];
        if (want(L, it, N_SCALAR, "a \"host:port\" rule") < 0)
            return -1;
        /* the egress module owns the grammar and the canonical form that
         * egress_allowed() compares against */
        if (egress_parse_rule(it->str, r, why, sizeof why) < 0)
            return failn(L, it, "%s", why);
        r->pos = it->pos;
        m->n_egress++;
    }
    return 0;
}

static int load_connection(struct ld *L, struct mf_connection *c,
                           const struct entry *e)
{
    static const char *const keys[] = {"dsn", "statement_timeout", NULL};
    const struct node *n = e->val;
    c->statement_timeout_ms = 30000;
    c->pos = e->kpos;
    c->name = strdup(e->key);
    if (!c->name)
        return failn(L, n, "out of memory");
    if (want(L, n, N_MAP, "a mapping with `dsn`") < 0 ||
        check_keys(L, n, keys) < 0)
        return -1;
    if (!get(n, "dsn"))
        return missing(L, n, "dsn");
    if (check_dsn(L, get(n, "dsn")) < 0 ||
        get_string(L, get(n, "dsn"), &c->dsn) < 0)
        return -1;
    if (get(n, "statement_timeout") &&
        get_millis(L, get(n, "statement_timeout"), &c->statement_timeout_ms) <
            0)
        return -1;
    return 0;
}

static int load_connections(struct ld *L, struct manifest *m,
                            const struct node *n)
{
    if (is_null(n))
        return 0;
    if (want(L, n, N_MAP, "a mapping of connection names") < 0)
        return -1;
    m->connections =
        calloc(n->n_entries ? n->n_entries : 1, sizeof *m->connections);
    if (!m->connections)
        return failn(L, n, "out of memory");
    for (size_t i = 0; i < n->n_entries; i++) {
        m->n_connections++;
        if (load_connection(L, &m->connections[i], &n->entries[i]) < 0)
            return -1;
    }
    return 0;
}

static int check_listen(struct ld *L, const struct node *n)
{
    const char *colon = strrchr(n->str, ':');
    int port;
    if (!colon || !valid_port(colon + 1, &port) || port == 0)
        return failn(L, n,
                     "expected \"address:port\" (e.g. \"127.0.0.1:8089\"), "
                     "got \"%s\"",
                     n->str);
    return 0;
}

static int load_api(struct ld *L, struct manifest *m, const struct node *n)
{
    static const char *const keys[] = {"listen", "tokens_file", NULL};
    if (want(L, n, N_MAP, "a mapping with `listen`") < 0 ||
        check_keys(L, n, keys) < 0)
        return -1;
    if (!get(n, "listen"))
        return missing(L, n, "listen");
    if (get_string(L, get(n, "listen"), &m->api_listen) < 0 ||
        check_listen(L, get(n, "listen")) < 0)
        return -1;
    const struct node *t = get(n, "tokens_file");
    if (t) {
        if (want(L, t, N_SCALAR, "a file path") < 0)
            return -1;
        m->api_tokens_file = resolve_path(L->dir, t->str);
        if (!m->api_tokens_file)
            return failn(L, t, "out of memory");
    }
    return 0;
}

static int load_schedule(struct ld *L, struct manifest *m, const struct node *n)
{
    static const char *const keys[] = {"every", "cron", NULL};
    const struct node *every, *cron;
    char e[256];
    if (want(L, n, N_MAP, "{every: DURATION} or {cron: \"EXPR\"}") < 0 ||
        check_keys(L, n, keys) < 0)
        return -1;
    every = get(n, "every");
    cron = get(n, "cron");
    if (!every == !cron)
        return failn(L, n, "give exactly one of `every` and `cron`");
    const struct node *v = every ? every : cron;
    if (want(L, v, N_SCALAR, every ? "a duration" : "a cron expression") < 0)
        return -1;
    if (every) {
        m->schedule.every_seconds =
            schedule_parse_duration(v->str, e, sizeof e);
        if (m->schedule.every_seconds < 0)
            return failn(L, v, "%s", e);
        m->schedule.kind = SCHEDULE_EVERY;
    } else {
        if (cron_parse(v->str, &m->schedule.cron, e, sizeof e) < 0)
            return failn(L, v, "%s", e);
        m->schedule.kind = SCHEDULE_CRON;
    }
    snprintf(m->schedule.text, sizeof m->schedule.text, "%s", v->str);
    return 0;
}

/* Names end up in metric labels, log lines and state-store keys: keep
 * them short and plain. */
#define MAX_IDENT 64

static bool valid_ident(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= MAX_IDENT &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool has_string(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s))
            return true;
    return false;
}

static int load_raw_aspects(struct ld *L, struct manifest *m,
                            const struct node *n)
{
    size_t cap = 1 + (n && n->kind == N_SEQ ? n->n_items : 0);
    m->raw_aspects = calloc(cap, sizeof *m->raw_aspects);
    if (!m->raw_aspects || !(m->raw_aspects[0] = strdup("sample")))
        return fail(L, (struct mf_pos){1, 1}, "raw_aspects", "out of memory");
    m->n_raw_aspects = 1;
    if (!n || is_null(n))
        return 0;
    if (want(L, n, N_SEQ, "a list of aspect names") < 0)
        return -1;
    for (size_t i = 0; i < n->n_items; i++) {
        const struct node *it = n->items[i];
        if (want(L, it, N_SCALAR, "an aspect name") < 0)
            return -1;
        if (!valid_ident(it->str))
            return failn(L, it, "bad aspect name \"%s\" (use a-z, 0-9, _)",
                         it->str);
        if (has_string(m->raw_aspects, m->n_raw_aspects, it->str))
            continue;
        if (!(m->raw_aspects[m->n_raw_aspects] = strdup(it->str)))
            return failn(L, it, "out of memory");
        m->n_raw_aspects++;
    }
    return 0;
}

static int load_limits(struct ld *L, struct manifest *m, const struct node *n)
{
    static const char *const keys[] = {"lease_seconds", "max_attempts",
                                       "drain_timeout", "shutdown_timeout",
                                       "ready_timeout", NULL};
    struct {
        const char *key;
        int *out;
    } durations[] = {
        {"lease_seconds", &m->lease_seconds},
        {"drain_timeout", &m->drain_timeout_seconds},
        {"shutdown_timeout", &m->shutdown_timeout_seconds},
        {"ready_timeout", &m->ready_timeout_seconds},
    };
    if (is_null(n))
        return 0;
    if (want(L, n, N_MAP, "a mapping") < 0 || check_keys(L, n, keys) < 0)
        return -1;
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        const struct node *v = get(n, durations[i].key);
        if (v && get_seconds(L, v, durations[i].out) < 0)
            return -1;
    }
    if (get(n, "max_attempts") &&
        get_int(L, get(n, "max_attempts"), 1, 1000, &m->max_attempts) < 0)
        return -1;
    return 0;
}

/* ---- llm ---------------------------------------------------------------- */

/* `rate_per_second`: a number >= 0 (0 = unlimited); strtod's "nan" and
 * "inf" fail the range test. */
static int get_rate(struct ld *L, const struct node *n, double *out)
{
    char b[100], *end;
    if (n->kind == N_SCALAR && !is_null(n) &&
        !isspace((unsigned char)*n->str)) {
        errno = 0;
        double v = strtod(n->str, &end);
        if (!*end && errno == 0 && v >= 0 && v <= 1e6) {
            *out = v;
            return 0;
        }
    }
    return failn(L, n,
                 "expected a number of requests per second between 0 "
                 "(unlimited) and 1000000, got %s",
                 describe(n, b, sizeof b));
}

/* A non-empty string (model names, keys). */
static int get_name(struct ld *L, const struct node *n, const char *what,
                    char **out)
{
    if (want(L, n, N_SCALAR, what) < 0)
        return -1;
    if (!*n->str)
        return failn(L, n, "expected %s, got an empty string", what);
    return get_string(L, n, out);
}

/* The base URL must be http(s), carry no query, and point at a host:port
 * of the egress list, so a typo fails `check` instead of every call.  A
 * trailing "/" or "/v1" is dropped: the client appends "/v1/...". */
static int load_llm_url(struct ld *L, const struct manifest *m,
                        const struct node *n, char **out)
{
    char host[256], why[512], b[100];
    int port = 0;
    if (want(L, n, N_SCALAR, "a URL") < 0)
        return -1;
    if ((strncasecmp(n->str, "http://", 7) &&
         strncasecmp(n->str, "https://", 8)) ||
        strpbrk(n->str, "?#"))
        return failn(L, n,
                     "expected an http:// or https:// base URL without query, "
                     "got %s",
                     describe(n, b, sizeof b));
    if (egress_url_target(n->str, host, sizeof host, &port, why, sizeof why) <
        0)
        return failn(L, n, "%s", why);
    if (!egress_allowed(m->egress, m->n_egress, host, port))
        return failn(L, n,
                     "egress refused: %s:%d is not in the manifest's egress "
                     "list (add \"%s:%d\" to `egress`)",
                     host, port, host, port);
    if (get_string(L, n, out) < 0)
        return -1;
    size_t len = strlen(*out);
    while (len > 0 && (*out)[len - 1] == '/')
        (*out)[--len] = '\0';
    if (len >= 3 && !strcmp(*out + len - 3, "/v1"))
        (*out)[len - 3] = '\0';
    return 0;
}

static int load_llm_format(struct ld *L, const struct node *n,
                           enum mf_llm_format *out)
{
    static const char *const names[] = {"json_schema", "json_object", "none"};
    char b[100];
    for (int i = 0; n->kind == N_SCALAR && i < 3; i++)
        if (!strcmp(n->str, names[i])) {
            *out = (enum mf_llm_format)i;
            return 0;
        }
    return failn(L, n, "expected json_schema, json_object or none, got %s",
                 describe(n, b, sizeof b));
}

static int load_llm_circuit(struct ld *L, struct mf_llm_endpoint *e,
                            const struct node *n)
{
    static const char *const keys[] = {"failures", "cooldown", NULL};
    const struct node *v;
    if (want(L, n, N_MAP, "{failures: N, cooldown: DURATION}") < 0 ||
        check_keys(L, n, keys) < 0)
        return -1;
    if ((v = get(n, "failures")) &&
        get_int(L, v, 0, 1000, &e->circuit_failures) < 0)
        return -1;
    if ((v = get(n, "cooldown")) &&
        get_millis(L, v, &e->circuit_cooldown_ms) < 0)
        return -1;
    if (v && e->circuit_cooldown_ms < 1)
        return failn(L, v, "expected a cooldown longer than 0");
    return 0;
}

/* Models and the key: at least one of chat_model and embedding_model. */
static int load_llm_models(struct ld *L, struct mf_llm_endpoint *e,
                           const struct node *n)
{
    const struct node *v;
    if ((v = get(n, "api_key"))) {
        if (get_name(L, v, "an API key", &e->api_key) < 0)
            return -1;
        log_add_secret(e->api_key); /* also when it came from ${VAR} */
    }
    if ((v = get(n, "chat_model")) &&
        get_name(L, v, "a model name", &e->chat_model) < 0)
        return -1;
    if ((v = get(n, "fallback_model")) &&
        get_name(L, v, "a model name", &e->fallback_model) < 0)
        return -1;
    if ((v = get(n, "embedding_model")) &&
        get_name(L, v, "a model name", &e->embedding_model) < 0)
        return -1;
    if (!e->chat_model && !e->embedding_model)
        return failn(L, n, "give `chat_model`, `embedding_model` or both");
    if ((v = get(n, "dimensions")) &&
        get_int(L, v, 1, 65536, &e->dimensions) < 0)
        return -1;
    if (v && !e->embedding_model)
        return failn(L, v, "`dimensions` needs an `embedding_model`");
    return 0;
}

static int load_llm_limits(struct ld *L, struct mf_llm_endpoint *e,
                           const struct node *n)
{
    const struct node *v;
    if ((v = get(n, "concurrency")) &&
        get_int(L, v, 1, 1024, &e->concurrency) < 0)
        return -1;
    e->burst = e->concurrency;
    if ((v = get(n, "rate_per_second")) &&
        get_rate(L, v, &e->rate_per_second) < 0)
        return -1;
    if ((v = get(n, "burst")) && get_int(L, v, 1, 100000, &e->burst) < 0)
        return -1;
    if ((v = get(n, "timeout")) && get_millis(L, v, &e->timeout_ms) < 0)
        return -1;
    if (v && e->timeout_ms < 1)
        return failn(L, v, "expected a timeout longer than 0");
    if ((v = get(n, "retries")) && get_int(L, v, 0, 20, &e->retries) < 0)
        return -1;
    if ((v = get(n, "max_tokens")) &&
        get_int(L, v, 1, 1000000, &e->max_tokens) < 0)
        return -1;
    if ((v = get(n, "circuit")) && load_llm_circuit(L, e, v) < 0)
        return -1;
    return 0;
}

static int load_llm_endpoint(struct ld *L, const struct manifest *m,
                             struct mf_llm_endpoint *e, const struct entry *en)
{
    static const char *const keys[] = {"url",
                                       "api_key",
                                       "chat_model",
                                       "fallback_model",
                                       "embedding_model",
                                       "dimensions",
                                       "response_format",
                                       "concurrency",
                                       "rate_per_second",
                                       "burst",
                                       "timeout",
                                       "retries",
                                       "max_tokens",
                                       "circuit",
                                       NULL};
    const struct node *n = en->val, *v;
    *e = (struct mf_llm_endpoint){.concurrency = 4,
                                  .timeout_ms = 60000,
                                  .retries = 3,
                                  .circuit_failures = 5,
                                  .circuit_cooldown_ms = 30000,
                                  .pos = en->kpos};
    if (!valid_ident(en->key))
        return fail(L, en->kpos, n->path,
                    "bad endpoint name \"%s\" (use a-z, 0-9, _)", en->key);
    if (!(e->name = strdup(en->key)))
        return failn(L, n, "out of memory");
    if (want(L, n, N_MAP, "a mapping with `url`") < 0 ||
        check_keys(L, n, keys) < 0)
        return -1;
    if (!get(n, "url"))
        return missing(L, n, "url");
    if (load_llm_url(L, m, get(n, "url"), &e->url) < 0 ||
        load_llm_models(L, e, n) < 0 || load_llm_limits(L, e, n) < 0)
        return -1;
    if ((v = get(n, "response_format")) &&
        load_llm_format(L, v, &e->response_format) < 0)
        return -1;
    return 0;
}

/* `llm: {endpoints: {name: {...}}}`; needs `egress` loaded first. */
static int load_llm(struct ld *L, struct manifest *m, const struct node *n)
{
    static const char *const keys[] = {"endpoints", NULL};
    const struct node *eps;
    if (is_null(n))
        return 0;
    if (want(L, n, N_MAP, "a mapping with `endpoints`") < 0 ||
        check_keys(L, n, keys) < 0)
        return -1;
    if (!(eps = get(n, "endpoints")))
        return missing(L, n, "endpoints");
    if (want(L, eps, N_MAP, "a mapping of endpoint names") < 0)
        return -1;
    m->llm_endpoints =
        calloc(eps->n_entries ? eps->n_entries : 1, sizeof *m->llm_endpoints);
    if (!m->llm_endpoints)
        return failn(L, eps, "out of memory");
    for (size_t i = 0; i < eps->n_entries; i++) {
        m->n_llm_endpoints++;
        if (load_llm_endpoint(L, m, &m->llm_endpoints[i], &eps->entries[i]) < 0)
            return -1;
    }
    return 0;
}

#ifndef CS_PASS_INSTALL_SUBDIR
#define CS_PASS_INSTALL_SUBDIR "lib/catalog-sync/passes"
#endif

/* The passes installed with this binary, <bindir>/../<libdir>/catalog-sync/
 * passes, so that an install made with `cmake --install --prefix` or moved
 * elsewhere finds its own passes; else the directory configured at build
 * time.  Returns a malloc'd path or NULL when out of memory. */
static char *default_plugin_dir(void)
{
    char exe[PATH_MAX], *dir = NULL, *real = NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = '\0';
        if (asprintf(&dir, "%s/../%s", exe, CS_PASS_INSTALL_SUBDIR) >= 0) {
            real = realpath(dir, NULL); /* NULL when it does not exist */
            free(dir);
        }
    }
    return real ? real : strdup(CS_DEFAULT_PLUGIN_DIR);
}

static int load_plugin_dir(struct ld *L, struct manifest *m,
                           const struct node *n)
{
    if (!n) {
        m->plugin_dir = default_plugin_dir();
        if (!m->plugin_dir)
            return fail(L, (struct mf_pos){1, 1}, "plugin_dir",
                        "out of memory");
        return 0;
    }
    if (want(L, n, N_SCALAR, "a directory") < 0)
        return -1;
    m->plugin_dir = resolve_path(L->dir, n->str);
    if (!m->plugin_dir)
        return failn(L, n, "out of memory");
    return 0;
}

/* ---- passes ------------------------------------------------------------- */

static json_t *to_json(const struct node *n);

/* Plain scalars are typed as YAML 1.2 core schema would; quoted scalars
 * (and secrets) are always strings. */
static json_t *scalar_json(const struct node *n)
{
    const char *s = n->str;
    long long ll;
    double d;
    char *end;
    if (!n->plain)
        return json_string(s);
    if (is_null(n))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (*s &&
        strspn(s + (*s == '-' || *s == '+'), "0123456789") ==
            strlen(s + (*s == '-' || *s == '+')) &&
        s[*s == '-' || *s == '+']) {
        errno = 0;
        ll = strtoll(s, &end, 10);
        if (!errno)
            return json_integer(ll);
    }
    if (*s && strspn(s, "0123456789+-.eE") == strlen(s) &&
        strpbrk(s, "0123456789")) {
        d = strtod(s, &end);
        if (!*end)
            return json_real(d);
    }
    return json_string(s);
}

static json_t *to_json(const struct node *n)
{
    json_t *j;
    if (n->kind == N_SCALAR)
        return scalar_json(n);
    j = n->kind == N_SEQ ? json_array() : json_object();
    for (size_t i = 0; j && i < n->n_items; i++) {
        if (json_array_append_new(j, to_json(n->items[i])) < 0) {
            json_decref(j);
            return NULL;
        }
    }
    for (size_t i = 0; j && i < n->n_entries; i++) {
        if (json_object_set_new(j, n->entries[i].key,
                                to_json(n->entries[i].val)) < 0) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

static int load_aspects(struct ld *L, const struct node *n, bool inputs,
                        struct mf_aspect_ref **out, size_t *count)
{
    if (is_null(n))
        return 0;
    if (want(L, n, N_SEQ, "a list of aspect names") < 0)
        return -1;
    *out = calloc(n->n_items ? n->n_items : 1, sizeof **out);
    if (!*out)
        return failn(L, n, "out of memory");
    for (size_t i = 0; i < n->n_items; i++) {
        const struct node *it = n->items[i];
        struct mf_aspect_ref *r = &(*out)[*count];
        size_t len;
        if (want(L, it, N_SCALAR, "an aspect name") < 0)
            return -1;
        len = strlen(it->str);
        r->optional = len > 0 && it->str[len - 1] == '?';
        if (r->optional && !inputs)
            return failn(L, it, "`?` (optional) is only meaningful in inputs");
        r->name = strndup(it->str, len - r->optional);
        if (!r->name)
            return failn(L, it, "out of memory");
        r->pos = it->pos;
        (*count)++;
        if (!valid_ident(r->name))
            return failn(L, it,
                         "bad aspect name \"%s\" (use a-z, 0-9, _; a "
                         "trailing ? marks an optional input)",
                         it->str);
        for (size_t k = 0; k + 1 < *count; k++)
            if (!strcmp((*out)[k].name, r->name))
                return failn(L, it, "aspect `%s` is listed twice", r->name);
    }
    return 0;
}

static int parse_kind(struct ld *L, const struct node *n,
                      enum mf_pass_kind *kind)
{
    static const char *const names[] = {"source", "entity", "batch"};
    char b[100];
    if (want(L, n, N_SCALAR, "source, entity or batch") < 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (!strcmp(n->str, names[i])) {
            *kind = (enum mf_pass_kind)(i + 1);
            return 0;
        }
    }
    return failn(L, n, "expected source, entity or batch, got %s",
                 describe(n, b, sizeof b));
}

static int resolve_plugin(struct ld *L, const struct manifest *m,
                          struct mf_pass *p, const struct node *n)
{
    int rc;
    if (get_string(L, n, &p->plugin) < 0)
        return -1;
    if (strchr(p->plugin, '/')) {
        p->plugin_path = resolve_path(L->dir, p->plugin);
        rc = p->plugin_path ? 0 : -1;
    } else {
        size_t len = strlen(p->plugin);
        bool has_so = len > 3 && !strcmp(p->plugin + len - 3, ".so");
        rc = asprintf(&p->plugin_path, "%s/%s%s", m->plugin_dir, p->plugin,
                      has_so ? "" : ".so");
    }
    if (rc < 0) {
        p->plugin_path = NULL;
        return failn(L, n, "out of memory");
    }
    return 0;
}

static int load_pass_name(struct ld *L, const struct manifest *m,
                          struct mf_pass *p, const struct node *map)
{
    const struct node *n = get(map, "name");
    if (!n)
        return missing(L, map, "name");
    if (get_string(L, n, &p->name) < 0)
        return -1;
    if (!valid_ident(p->name))
        return failn(L, n,
                     "bad pass name \"%s\" (use lowercase a-z, 0-9 and _, "
                     "at most 64 characters)",
                     p->name);
    for (size_t i = 0; i + 1 < m->n_passes; i++)
        if (!strcmp(m->passes[i].name, p->name))
            return failn(L, n,
                         "duplicate pass name `%s` (first defined at "
                         "%d:%d)",
                         p->name, m->passes[i].pos.line, m->passes[i].pos.col);
    return 0;
}

static struct mf_pos pos_of(const struct node *n)
{
    return n ? n->pos : (struct mf_pos){0, 0};
}

static int load_pass(struct ld *L, struct manifest *m, struct mf_pass *p,
                     const struct node *n)
{
    static const char *const keys[] = {"name",    "plugin",      "kind",
                                       "enabled", "inputs",      "outputs",
                                       "config",  "concurrency", NULL};
    const struct node *v;
    p->enabled = true;
    p->pos = n->pos;
    if (want(L, n, N_MAP, "a mapping (a pass)") < 0 ||
        check_keys(L, n, keys) < 0 || load_pass_name(L, m, p, n) < 0)
        return -1;
    if (!get(n, "plugin"))
        return missing(L, n, "plugin");
    if (!get(n, "kind"))
        return missing(L, n, "kind");
    if (resolve_plugin(L, m, p, get(n, "plugin")) < 0 ||
        parse_kind(L, get(n, "kind"), &p->kind) < 0)
        return -1;
    p->pos_plugin = pos_of(get(n, "plugin"));
    p->pos_kind = pos_of(get(n, "kind"));
    p->pos_enabled = pos_of(get(n, "enabled"));
    p->pos_inputs = pos_of(get(n, "inputs"));
    p->pos_outputs = pos_of(get(n, "outputs"));
    p->pos_config = pos_of(get(n, "config"));
    if ((v = get(n, "enabled")) && get_bool(L, v, &p->enabled) < 0)
        return -1;
    if ((v = get(n, "concurrency")) &&
        get_int(L, v, 0, 100000, &p->concurrency) < 0)
        return -1;
    if ((v = get(n, "inputs")) &&
        load_aspects(L, v, true, &p->inputs, &p->n_inputs) < 0)
        return -1;
    if ((v = get(n, "outputs")) &&
        load_aspects(L, v, false, &p->outputs, &p->n_outputs) < 0)
        return -1;
    v = get(n, "config");
    if (v && !is_null(v) && want(L, v, N_MAP, "a mapping") < 0)
        return -1;
    p->config = v && !is_null(v) ? to_json(v) : json_object();
    if (!p->config)
        return failn(L, n, "out of memory");
    return 0;
}

static int load_passes(struct ld *L, struct manifest *m, const struct node *n)
{
    if (want(L, n, N_SEQ, "a list of passes") < 0)
        return -1;
    if (n->n_items == 0)
        return failn(L, n, "at least one pass is needed");
    m->passes = calloc(n->n_items, sizeof *m->passes);
    if (!m->passes)
        return failn(L, n, "out of memory");
    for (size_t i = 0; i < n->n_items; i++) {
        m->n_passes++;
        if (load_pass(L, m, &m->passes[i], n->items[i]) < 0)
            return -1;
    }
    return 0;
}

/* ---- webhooks ----------------------------------------------------------- */

/* An HMAC key shorter than this is guessable offline from one signed
 * delivery; API tokens have the same floor. */
#define MIN_WEBHOOK_SECRET 16

static int check_webhook_source(struct ld *L, const struct manifest *m,
                                const struct node *n)
{
    const struct mf_pass *p = manifest_find_pass(m, n->str);
    if (p && p->kind == MF_KIND_SOURCE && p->enabled)
        return 0;
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < m->n_passes; i++) {
        const struct mf_pass *s = &m->passes[i];
        int w = s->kind == MF_KIND_SOURCE && s->enabled
                    ? snprintf(names + used, sizeof names - used, "%s%s",
                               used ? ", " : "", s->name)
                    : 0;
        if (w > 0 && (size_t)w < sizeof names - used)
            used += (size_t)w;
    }
    return failn(L, n,
                 "`%s` is not an enabled source pass (enabled sources: %s)",
                 n->str, used ? names : "none");
}

static int load_webhook_secret(struct ld *L, struct mf_webhook *w,
                               const struct node *map)
{
    const struct node *s = get(map, "secret");
    if (!s)
        return missing(L, map, "secret");
    if (get_string(L, s, &w->secret) < 0)
        return -1;
    /* `secret: ${VAR}` is not a *_file: register it here. */
    log_add_secret(w->secret);
    if (strlen(w->secret) < MIN_WEBHOOK_SECRET)
        return failn(L, s, "the secret must be at least %d characters",
                     MIN_WEBHOOK_SECRET);
    return 0;
}

static int load_webhook_om(struct ld *L, struct manifest *m,
                           const struct node *n)
{
    static const char *const keys[] = {"secret", "source", "bot_name", NULL};
    if (want(L, n, N_MAP, "a mapping with `secret` and `source`") < 0 ||
        check_keys(L, n, keys) < 0)
        return -1;
    struct mf_webhook *w = calloc(1, sizeof *w);
    if (!w)
        return failn(L, n, "out of memory");
    m->webhook_om = w;
    w->pos = n->pos;
    if (load_webhook_secret(L, w, n) < 0)
        return -1;
    const struct node *src = get(n, "source");
    if (!src)
        return missing(L, n, "source");
    if (get_string(L, src, &w->source) < 0 ||
        check_webhook_source(L, m, src) < 0)
        return -1;
    const struct node *bot = get(n, "bot_name");
    return bot && !is_null(bot) ? get_string(L, bot, &w->bot_name) : 0;
}

static int load_webhooks(struct ld *L, struct manifest *m, const struct node *n)
{
    static const char *const keys[] = {"openmetadata", NULL};
    if (is_null(n))
        return 0;
    if (want(L, n, N_MAP, "a mapping such as {openmetadata: {...}}") < 0 ||
        check_keys(L, n, keys) < 0)
        return -1;
    const struct node *om = get(n, "openmetadata");
    return om ? load_webhook_om(L, m, om) : 0;
}

/* ---- top level ---------------------------------------------------------- */

static int load_sections(struct ld *L, struct manifest *m,
                         const struct node *root)
{
    static const char *const keys[] = {
        "state",    "egress",     "connections", "api",    "schedule",
        "workers",  "plugin_dir", "raw_aspects", "limits", "passes",
        "webhooks", "llm",        NULL};
    const struct node *v;
    if (root->kind != N_MAP)
        return failn(L, root, "expected a mapping at the top level, got %s",
                     root->kind == N_SEQ ? "a list" : "a scalar");
    if (check_keys(L, root, keys) < 0)
        return -1;
    if (!get(root, "state"))
        return missing(L, root, "state");
    if (load_state(L, m, get(root, "state")) < 0)
        return -1;
    if ((v = get(root, "egress")) && load_egress(L, m, v) < 0)
        return -1;
    if ((v = get(root, "connections")) && load_connections(L, m, v) < 0)
        return -1;
    if ((v = get(root, "llm")) && load_llm(L, m, v) < 0)
        return -1;
    if ((v = get(root, "api")) && load_api(L, m, v) < 0)
        return -1;
    if ((v = get(root, "schedule")) && load_schedule(L, m, v) < 0)
        return -1;
    if ((v = get(root, "workers")) && get_int(L, v, 1, 256, &m->workers) < 0)
        return -1;
    if (load_plugin_dir(L, m, get(root, "plugin_dir")) < 0 ||
        load_raw_aspects(L, m, get(root, "raw_aspects")) < 0)
        return -1;
    if ((v = get(root, "limits")) && load_limits(L, m, v) < 0)
        return -1;
    if (!get(root, "passes"))
        return missing(L, root, "passes");
    if (load_passes(L, m, get(root, "passes")) < 0)
        return -1;
    /* After the passes: `source` must name one of them. */
    return (v = get(root, "webhooks")) ? load_webhooks(L, m, v) : 0;
}

/* Directory of `path`, absolute when it exists so that relative paths
 * still work after the daemon changes directory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir, *real;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return NULL;
    real = realpath(dir, NULL);
    if (real) {
        free(dir);
        return real;
    }
    return dir;
}

static struct manifest *manifest_new(const char *path)
{
    struct manifest *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->workers = 4;
    m->lease_seconds = 60;
    m->max_attempts = 3;
    m->drain_timeout_seconds = 60;
    m->shutdown_timeout_seconds = 30;
    m->ready_timeout_seconds = 30;
    m->path = strdup(path);
    m->dir = dir_of(path);
    if (!m->path || !m->dir) {
        manifest_free(m);
        return NULL;
    }
    return m;
}

int manifest_load_buffer(const char *path, const char *data, size_t len,
                         struct manifest **out, char *err, size_t errlen)
{
    struct manifest *m = manifest_new(path);
    struct ld L = {path, NULL, err, errlen, 0};
    struct node *root;
    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    L.dir = m->dir;
    sha256_hex(data, len, m->sha256);
    root = parse_tree(&L, data, len);
    if (!root || load_sections(&L, m, root) < 0) {
        node_free(root);
        manifest_free(m);
        return -1;
    }
    node_free(root);
    *out = m;
    return 0;
}

int manifest_load(const char *path, struct manifest **out, char *err,
                  size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t len;
    int rc;
    *out = NULL;
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(MAX_MANIFEST_FILE + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    len = fread(buf, 1, MAX_MANIFEST_FILE + 1, f);
    if (ferror(f) || len > MAX_MANIFEST_FILE) {
        snprintf(err, errlen, "%s: %s", path,
                 ferror(f) ? strerror(errno) : "larger than 16 MiB");
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    rc = manifest_load_buffer(path, buf, len, out, err, errlen);
    free(buf);
    return rc;
}

static void free_refs(struct mf_aspect_ref *refs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(refs[i].name);
    free(refs);
}

static void free_pass(struct mf_pass *p)
{
    free(p->name);
    free(p->plugin);
    free(p->plugin_path);
    free_refs(p->inputs, p->n_inputs);
    free_refs(p->outputs, p->n_outputs);
    json_decref(p->config);
}

void manifest_free(struct manifest *m)
{
    if (!m)
        return;
    free(m->path);
    free(m->dir);
    free(m->state_dsn);
    for (size_t i = 0; i < m->n_egress; i++)
        free(m->egress[i].host);
    free(m->egress);
    for (size_t i = 0; i < m->n_connections; i++) {
        free(m->connections[i].name);
        free(m->connections[i].dsn);
    }
    free(m->connections);
    for (size_t i = 0; i < m->n_llm_endpoints; i++) {
        struct mf_llm_endpoint *e = &m->llm_endpoints[i];
        free(e->name);
        free(e->url);
        free(e->api_key);
        free(e->chat_model);
        free(e->fallback_model);
        free(e->embedding_model);
    }
    free(m->llm_endpoints);
    free(m->api_listen);
    free(m->api_tokens_file);
    free(m->plugin_dir);
    for (size_t i = 0; i < m->n_raw_aspects; i++)
        free(m->raw_aspects[i]);
    free(m->raw_aspects);
    for (size_t i = 0; i < m->n_passes; i++)
        free_pass(&m->passes[i]);
    free(m->passes);
    if (m->webhook_om) {
        if (m->webhook_om->secret)
            explicit_bzero(m->webhook_om->secret,
                           strlen(m->webhook_om->secret));
        free(m->webhook_om->secret);
        free(m->webhook_om->source);
        free(m->webhook_om->bot_name);
        free(m->webhook_om);
    }
    free(m);
}

/* ---- queries ------------------------------------------------------------ */

bool manifest_aspect_is_raw(const struct manifest *m, const char *aspect)
{
    if (!m)
        return !strcmp(aspect, "sample");
    return has_string(m->raw_aspects, m->n_raw_aspects, aspect) ||
           (m->n_raw_aspects == 0 && !strcmp(aspect, "sample"));
}

const struct mf_pass *manifest_find_pass(const struct manifest *m,
                                         const char *name)
{
    for (size_t i = 0; i < m->n_passes; i++)
        if (m->passes[i].name && !strcmp(m->passes[i].name, name))
            return &m->passes[i];
    return NULL;
}

const struct mf_connection *manifest_find_connection(const struct manifest *m,
                                                     const char *name)
{
    for (size_t i = 0; i < m->n_connections; i++)
        if (m->connections[i].name && !strcmp(m->connections[i].name, name))
            return &m->connections[i];
    return NULL;
}

const struct mf_llm_endpoint *
manifest_find_llm_endpoint(const struct manifest *m, const char *name)
{
    for (size_t i = 0; i < m->n_llm_endpoints; i++)
        if (m->llm_endpoints[i].name && !strcmp(m->llm_endpoints[i].name, name))
            return &m->llm_endpoints[i];
    return NULL;
}

const char *mf_kind_name(enum mf_pass_kind kind)
{
    switch (kind) {
    case MF_KIND_SOURCE:
        return "source";
    case MF_KIND_ENTITY:
        return "entity";
    case MF_KIND_BATCH:
        return "batch";
    default:
        return "unknown";
    }
}
