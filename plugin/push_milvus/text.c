/*
 * The records of one table: one for the table, one per column, each with
 * the text that is embedded.  The text is made of names, data types,
 * descriptions, catalog tags, PII tags and foreign keys, read from named
 * members of the aspects only: the `table`, `description`, `pii` and `fk`
 * aspects hold no sampled value (the `pii` aspect has counts and reasons;
 * only its `tag` and `entity` are read), and nothing else of them is
 * copied, so no cell value can reach the embedding endpoint or Milvus.
 */
#include "push_milvus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESC_MAX 1000 /* bytes of one description in a text */

/* What the texts of one table are built from; all borrowed. */
struct tsrc {
    const json_t *table;
    const json_t *desc_cols; /* description.columns, may be NULL */
    const json_t *pii_cols;  /* pii.columns, may be NULL */
    const char *fqn, *display, *table_desc;
    json_t *fks; /* {column: [target column FQN, ...]}, owned */
};

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* malloc'd (the caller frees), NULL when out of memory.  Pure. */
char *pm_record_id(const char *fqn)
{
    size_t n = strlen(fqn);
    if (n <= PM_ID_MAX)
        return strdup(fqn);
    size_t keep = pm_utf8_cut(fqn, n, PM_ID_MAX - 17);
    return pm_fmt("%.*s#%016llx", (int)keep, fqn,
                  (unsigned long long)pm_fnv(PM_FNV_SEED, fqn, n));
}

/* Ours (the `description` aspect) first, else the catalog's. */
static const char *table_description(const json_t *table, const json_t *desc)
{
    const char *d = str(json_object_get(desc, "table"), "description");
    return d ? d : str(table, "description");
}

static const char *column_description(const struct tsrc *t, const json_t *col)
{
    const char *name = str(col, "name");
    const char *d = str(json_object_get(t->desc_cols, name), "description");
    return d ? d : str(col, "description");
}

/* The PII tag of a column: tagged by pii_tag, or set by a person. */
static const char *pii_tag(const struct tsrc *t, const char *name,
                           const char **entity)
{
    const json_t *e = json_object_get(t->pii_cols, name);
    const char *status = str(e, "status");
    *entity = str(e, "entity");
    if (!status || (strcmp(status, "tagged") && strcmp(status, "human")))
        return NULL;
    return str(e, "tag");
}

/* Appends the first n bytes of s to list unless it is there already. */
static int set_add(json_t *list, const char *s, size_t n)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_string_length(v) == n && !memcmp(json_string_value(v), s, n))
            return 0;
    }
    return json_array_append_new(list, json_stringn(s, n));
}

static int fk_add(json_t *fks, const char *col, const char *target)
{
    json_t *list = json_object_get(fks, col);
    if (!list) {
        list = json_array();
        if (!list || json_object_set_new(fks, col, list))
            return -1;
    }
    return set_add(list, target, strlen(target));
}

/* Declared keys (tableConstraints) and found ones (fk.edges). */
static int fk_declared(json_t *fks, const json_t *table)
{
    size_t i, k;
    json_t *c;
    json_array_foreach(json_object_get(table, "tableConstraints"), i, c)
    {
        const char *type = str(c, "constraintType");
        if (!type || strcmp(type, "FOREIGN_KEY"))
            continue;
        json_t *cols = json_object_get(c, "columns");
        json_t *refs = json_object_get(c, "referredColumns");
        for (k = 0; k < json_array_size(cols); k++) {
            const char *from = json_string_value(json_array_get(cols, k));
            const char *to = json_string_value(json_array_get(refs, k));
            if (from && to && fk_add(fks, from, to))
                return -1;
        }
    }
    return 0;
}

static int fk_found(json_t *fks, const json_t *fk)
{
    size_t i, k;
    json_t *e;
    json_array_foreach(json_object_get(fk, "edges"), i, e)
    {
        const char *to_table = str(e, "toTable");
        json_t *from = json_object_get(e, "fromColumns");
        json_t *to = json_object_get(e, "toColumns");
        for (k = 0; to_table && k < json_array_size(from); k++) {
            const char *f = json_string_value(json_array_get(from, k));
            const char *c = json_string_value(json_array_get(to, k));
            char *target = f && c ? pm_fmt("%s.%s", to_table, c) : NULL;
            int rc = target ? fk_add(fks, f, target) : f && c ? -1 : 0;
            free(target);
            if (rc)
                return -1;
        }
    }
    return 0;
}

/* "a, b" of a list of strings (or of the tagFQNs of a tags list). */
static void add_list(struct pm_buf *b, const json_t *list, const char *key)
{
    size_t i;
    json_t *v;
    const char *sep = "";
    json_array_foreach(list, i, v)
    {
        const char *s = key ? str(v, key) : json_string_value(v);
        if (!s)
            continue;
        pm_buf_addf(b, "%s%s", sep, s);
        sep = ", ";
    }
}

static bool has_tags(const json_t *o)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "tags"), i, v)
    {
        if (str(v, "tagFQN"))
            return true;
    }
    return false;
}

static const char *key_words(const json_t *col)
{
    const char *c = str(col, "constraint");
    if (!c)
        return NULL;
    if (!strcmp(c, "PRIMARY_KEY"))
        return "primary key";
    if (!strcmp(c, "UNIQUE"))
        return "unique";
    return strcmp(c, "NOT_NULL") ? NULL : "not null";
}

static const char *data_type(const json_t *col)
{
    const char *t = str(col, "dataTypeDisplay");
    return t ? t : str(col, "dataType");
}

static char *column_text(const struct tsrc *t, const json_t *col,
                         const char *fqn)
{
    struct pm_buf b = {0};
    const char *name = str(col, "name"), *entity, *v;
    pm_buf_addf(&b, "column %s of table %s\nfqn: %s\n", name, t->display, fqn);
    if ((v = data_type(col)))
        pm_buf_addf(&b, "type: %s\n", v);
    if ((v = key_words(col)))
        pm_buf_addf(&b, "key: %s\n", v);
    if ((v = column_description(t, col)))
        pm_buf_addf(&b, "description: %.*s\n",
                    (int)pm_utf8_cut(v, strlen(v), DESC_MAX), v);
    if (t->table_desc)
        pm_buf_addf(
            &b, "table description: %.*s\n",
            (int)pm_utf8_cut(t->table_desc, strlen(t->table_desc), DESC_MAX),
            t->table_desc);
    if (has_tags(col)) {
        pm_buf_add(&b, "tags: ");
        add_list(&b, json_object_get(col, "tags"), "tagFQN");
        pm_buf_add(&b, "\n");
    }
    if ((v = pii_tag(t, name, &entity)))
        pm_buf_addf(&b, "pii: %s%s%s%s\n", v, entity ? " (" : "",
                    entity ? entity : "", entity ? ")" : "");
    if (json_array_size(json_object_get(t->fks, name))) {
        pm_buf_add(&b, "references: ");
        add_list(&b, json_object_get(t->fks, name), NULL);
        pm_buf_add(&b, "\n");
    }
    if (b.oom) {
        pm_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* The table's PII and foreign key lines, then the columns, last because
 * a long column list is what a length cut shortens. */
static void table_summary(struct pm_buf *b, const struct tsrc *t)
{
    size_t i;
    json_t *col;
    const char *sep = "pii: ", *entity, *tag;
    json_array_foreach(json_object_get(t->table, "columns"), i, col)
    {
        if (!str(col, "name") || !(tag = pii_tag(t, str(col, "name"), &entity)))
            continue;
        pm_buf_addf(b, "%s%s %s%s%s%s", sep, str(col, "name"), tag,
                    entity ? " (" : "", entity ? entity : "",
                    entity ? ")" : "");
        sep = ", ";
    }
    if (*sep == ',')
        pm_buf_add(b, "\n");
    const char *name;
    json_t *targets;
    sep = "foreign keys: ";
    json_object_foreach(t->fks, name, targets)
    {
        pm_buf_addf(b, "%s%s -> ", sep, name);
        add_list(b, targets, NULL);
        sep = "; ";
    }
    if (*sep == ';')
        pm_buf_add(b, "\n");
    sep = "columns: ";
    json_array_foreach(json_object_get(t->table, "columns"), i, col)
    {
        const char *k = key_words(col), *type = data_type(col);
        if (!str(col, "name"))
            continue;
        pm_buf_addf(b, "%s%s%s%s%s%s", sep, str(col, "name"), type ? " " : "",
                    type ? type : "", k && strcmp(k, "not null") ? " " : "",
                    k && strcmp(k, "not null") ? k : "");
        sep = ", ";
    }
}

static char *table_text(const struct tsrc *t)
{
    struct pm_buf b = {0};
    pm_buf_addf(&b, "table %s\nfqn: %s\n", t->display, t->fqn);
    if (t->table_desc)
        pm_buf_addf(
            &b, "description: %.*s\n",
            (int)pm_utf8_cut(t->table_desc, strlen(t->table_desc), DESC_MAX),
            t->table_desc);
    if (has_tags(t->table)) {
        pm_buf_add(&b, "tags: ");
        add_list(&b, json_object_get(t->table, "tags"), "tagFQN");
        pm_buf_add(&b, "\n");
    }
    table_summary(&b, t);
    if (b.oom) {
        pm_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* "a,b" of a list of strings; NULL when out of memory. */
static char *join(const json_t *list)
{
    struct pm_buf b = {0};
    size_t i;
    json_t *v;
    pm_buf_add(&b, "");
    json_array_foreach(list, i, v)
    {
        pm_buf_addf(&b, "%s%s", i ? "," : "", json_string_value(v));
    }
    if (b.oom) {
        pm_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* Distinct PII tags of the table's columns, comma-joined. */
static char *table_pii(const struct tsrc *t)
{
    json_t *tags = json_array();
    size_t i;
    json_t *col;
    const char *entity, *tag;
    int rc = tags ? 0 : -1;
    json_array_foreach(json_object_get(t->table, "columns"), i, col)
    {
        if (rc == 0 && str(col, "name") &&
            (tag = pii_tag(t, str(col, "name"), &entity)))
            rc = set_add(tags, tag, strlen(tag));
    }
    char *out = rc == 0 ? join(tags) : NULL;
    json_decref(tags);
    return out;
}

/* Distinct referenced tables (a column FQN without its last part). */
static char *table_fk_targets(const struct tsrc *t)
{
    json_t *tables = json_array(), *targets, *v;
    const char *name;
    size_t i;
    int rc = tables ? 0 : -1;
    json_object_foreach(t->fks, name, targets)
    {
        json_array_foreach(targets, i, v)
        {
            const char *s = json_string_value(v), *dot = strrchr(s, '.');
            if (rc == 0)
                rc = set_add(tables, s, dot ? (size_t)(dot - s) : strlen(s));
        }
    }
    char *out = rc == 0 ? join(tables) : NULL;
    json_decref(tables);
    return out;
}

/* Everything sent for a record but its vector, in one object. */
static json_t *make_row(const char *id, const char *kind, const char *fqn,
                        const char *table_fqn, const char *name,
                        const char *type, const char *pii, const char *fk,
                        const char *text, long max_text)
{
    json_t *row = json_object();
    if (!row || json_object_set_new(row, "id", json_string(id)) ||
        json_object_set_new(row, "kind", pm_string_max(kind, PM_KIND_MAX)) ||
        json_object_set_new(row, "fqn", pm_string_max(fqn, PM_FQN_MAX)) ||
        json_object_set_new(row, "table_fqn",
                            pm_string_max(table_fqn, PM_FQN_MAX)) ||
        json_object_set_new(row, "name", pm_string_max(name, PM_NAME_MAX)) ||
        json_object_set_new(row, "data_type",
                            pm_string_max(type ? type : "", PM_TYPE_MAX)) ||
        json_object_set_new(row, "pii",
                            pm_string_max(pii ? pii : "", PM_PII_MAX)) ||
        json_object_set_new(row, "fk_targets",
                            pm_string_max(fk ? fk : "", PM_FK_MAX)) ||
        json_object_set_new(row, "text",
                            pm_string_max(text, (size_t)max_text))) {
        json_decref(row);
        return NULL;
    }
    return row;
}

/* What decides whether a record must be sent again: the row and where
 * and how it is embedded. */
static void record_hash(const struct pm_opts *o, struct pm_record *r)
{
    char *dump = json_dumps(r->row, JSON_COMPACT | JSON_SORT_KEYS);
    char dims[32];
    snprintf(dims, sizeof dims, "%d", o->dimensions);
    const char *parts[] = {r->collection, o->endpoint, o->model ? o->model : "",
                           dims, dump ? dump : ""};
    uint64_t h = PM_FNV_SEED;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        h = pm_fnv(h, parts[i], strlen(parts[i]) + 1);
    snprintf(r->hash, sizeof r->hash, "%016llx", (unsigned long long)h);
    free(dump);
}

/* Takes row (stolen). */
static int add_record(struct pm_job *j, json_t *row, const char *collection)
{
    if (!row)
        return pm_fail(j, CS_ERR_NOMEM, "out of memory building records");
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 16;
        struct pm_record *p = realloc(j->rec, cap * sizeof *p);
        if (!p) {
            json_decref(row);
            return pm_fail(j, CS_ERR_NOMEM, "out of memory building records");
        }
        j->rec = p;
        j->cap = cap;
    }
    struct pm_record *r = &j->rec[j->n++];
    *r = (struct pm_record){.row = row, .collection = collection};
    r->id = json_string_value(json_object_get(row, "id"));
    r->text = json_string_value(json_object_get(row, "text"));
    record_hash(&j->s->o, r);
    return CS_OK;
}

/* The column's FQN as the catalog writes it, else built like it. */
static char *column_fqn(const char *table_fqn, const json_t *col)
{
    const char *f = str(col, "fullyQualifiedName"), *name = str(col, "name");
    if (f)
        return strdup(f);
    if (strchr(name, '.'))
        return pm_fmt("%s.\"%s\"", table_fqn, name);
    return pm_fmt("%s.%s", table_fqn, name);
}

static int add_column(struct pm_job *j, const struct tsrc *t, const json_t *col)
{
    const struct pm_opts *o = &j->s->o;
    const char *name = str(col, "name"), *entity;
    char *fqn = column_fqn(t->fqn, col);
    char *id = fqn ? pm_record_id(fqn) : NULL;
    char *text = fqn ? column_text(t, col, fqn) : NULL;
    struct pm_buf fk = {0};
    add_list(&fk, json_object_get(t->fks, name), NULL);
    json_t *row = NULL;
    if (id && text && !fk.oom)
        row =
            make_row(id, "column", fqn, t->fqn, name, data_type(col),
                     pii_tag(t, name, &entity), fk.p, text, o->max_text_bytes);
    free(fqn);
    free(id);
    free(text);
    pm_buf_free(&fk);
    return add_record(
        j, row, o->column_collection ? o->column_collection : o->collection);
}

static int add_table(struct pm_job *j, const struct tsrc *t)
{
    char *id = pm_record_id(t->fqn);
    char *text = table_text(t);
    char *pii = table_pii(t);
    char *fk = table_fk_targets(t);
    const char *name = str(t->table, "name");
    json_t *row = NULL;
    if (id && text && pii && fk)
        row = make_row(id, "table", t->fqn, t->fqn, name ? name : t->fqn, "",
                       pii, fk, text, j->s->o.max_text_bytes);
    free(id);
    free(text);
    free(pii);
    free(fk);
    return add_record(j, row, j->s->o.collection);
}

static char *display_name(const json_t *table, const char *fqn)
{
    const char *name = str(table, "name");
    const char *schema = str(json_object_get(table, "databaseSchema"), "name");
    if (name && schema)
        return pm_fmt("%s.%s", schema, name);
    return strdup(name ? name : fqn);
}

/* Fills j->rec (owned by the job, freed by pm_records_free) from the
 * borrowed aspects.  The entity's pool thread.  CS_OK, CS_ERR_INVALID
 * (no columns list) or CS_ERR_NOMEM, with j->err set. */
int pm_build_records(struct pm_job *j, const json_t *table,
                     const json_t *description, const json_t *pii,
                     const json_t *fk)
{
    const json_t *cols = json_object_get(table, "columns");
    if (!json_is_array(cols))
        return pm_fail(j, CS_ERR_INVALID,
                       "the `table` aspect of %s has no `columns` list",
                       j->fqn);
    struct tsrc t = {
        .table = table,
        .desc_cols = json_object_get(description, "columns"),
        .pii_cols = json_object_get(pii, "columns"),
        .fqn = j->fqn,
        .table_desc = table_description(table, description),
        .fks = json_object(),
    };
    char *display = display_name(table, j->fqn);
    t.display = display;
    int rc =
        !display || !t.fks || fk_declared(t.fks, table) || fk_found(t.fks, fk)
            ? pm_fail(j, CS_ERR_NOMEM, "out of memory building records")
            : add_table(j, &t);
    size_t i;
    json_t *col;
    json_array_foreach(cols, i, col)
    {
        if (rc != CS_OK)
            break;
        if (str(col, "name"))
            rc = add_column(j, &t, col);
    }
    free(display);
    json_decref(t.fks);
    return rc;
}

/* Releases the records; j may be reused. */
void pm_records_free(struct pm_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        json_decref(j->rec[i].row);
    free(j->rec);
    j->rec = NULL;
    j->n = j->cap = 0;
}
