/*
 * Lineage from the `fk` aspect (plugin/fk_discover): one PUT /api/v1/lineage
 * per confirmed edge; `known` edges (declared in the source) and anything
 * not confirmed are not published.
 *
 * Direction: the referenced (parent) table is upstream, the referencing
 * (child) table downstream -- the data-flow reading of a foreign key: the
 * child's key values come from the parent.  columnsLineage pairs each
 * parent key column with the child column that refers to it, by FQN.
 *
 * A self-reference (employees.manager_id -> employees.id) is a hierarchy
 * inside one table, not a flow between tables: it is not published.
 *
 * The parent's id and column FQNs are looked up by name and kept in a
 * cache shared by every entity of the worker for cache_ttl_s; a 404 on the
 * PUT drops the cached parent and tries once more with a fresh lookup.
 */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* {id, columns: {name: fqn}} of a Table entity, or NULL. */
static json_t *table_ref(const json_t *t, long long at)
{
    json_t *cols = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(t, "columns"), i, c)
    {
        json_t *n = json_object_get(c, "name");
        json_t *f = json_object_get(c, "fullyQualifiedName");
        if (json_is_string(n) && json_is_string(f))
            json_object_set(cols, json_string_value(n), f);
    }
    json_t *id = json_object_get(t, "id");
    if (!json_is_string(id)) {
        json_decref(cols);
        return NULL;
    }
    return json_pack("{s:O, s:o, s:I}", "id", id, "columns", cols, "at",
                     (json_int_t)at);
}

void pub_cache_forget(struct pub_state *s, const char *fqn)
{
    pthread_mutex_lock(&s->lock);
    json_object_del(s->parents, fqn);
    pthread_mutex_unlock(&s->lock);
}

static json_t *cache_get(struct pub_state *s, const char *fqn)
{
    pthread_mutex_lock(&s->lock);
    json_t *e = json_object_get(s->parents, fqn);
    long long at = json_integer_value(json_object_get(e, "at"));
    json_t *out =
        e && mono_ms() - at < s->o.cache_ttl_ms ? json_incref(e) : NULL;
    pthread_mutex_unlock(&s->lock);
    return out;
}

static void cache_put(struct pub_state *s, const char *fqn, json_t *ref)
{
    pthread_mutex_lock(&s->lock);
    json_object_set(s->parents, fqn, ref);
    pthread_mutex_unlock(&s->lock);
}

/* The parent's {id, columns}: new reference, or NULL with rc PUB_GONE or
 * an error (fatal, or recorded on the field). */
static json_t *parent_ref(struct pub_job *j, const char *fqn, const char *field,
                          int *rc)
{
    *rc = CS_OK;
    json_t *ref = cache_get(j->s, fqn);
    if (ref)
        return ref;
    char *enc = om_urlencode(fqn);
    char *url =
        enc ? om_fmt("%s/tables/name/%s?fields=columns", j->s->o.api, enc)
            : NULL;
    free(enc);
    struct om_resp r = {0};
    *rc = url ? om_call(j, "GET", url, NULL, NULL, &r)
              : pub_fail(j, CS_ERR_NOMEM, "out of memory");
    if (*rc == CS_OK && r.status == 404)
        *rc = PUB_GONE;
    else if (*rc == CS_OK &&
             !(r.status == 200 && (ref = table_ref(r.json, mono_ms()))))
        pub_field_error(j, field, "GET %s returned %ld%s%s", url, r.status,
                        *om_message(&r) ? ": " : "", om_message(&r));
    if (ref)
        cache_put(j->s, fqn, ref);
    om_resp_clear(&r);
    free(url);
    return ref;
}

/* The confirmed FKs of the child to one parent table: OpenMetadata keeps
 * one lineage edge per pair of tables, and a PUT replaces it, so they go
 * out together (transactions.account_id and counterparty_account_id both
 * refer to accounts). */
struct edge {
    const char *parent, *field;
    json_t *fks; /* the fk edges, borrowed from the aspect */
};

/* Appends piece (freed) to *acc; false when out of memory. */
static bool append(char **acc, char *piece)
{
    char *joined = piece ? om_fmt("%s%s", *acc ? *acc : "", piece) : NULL;
    free(piece);
    if (!joined)
        return false;
    free(*acc);
    *acc = joined;
    return true;
}

static char *names(const json_t *list)
{
    char *out = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (!append(&out,
                    om_fmt("%s%s", i ? ", " : "", json_string_value(v)))) {
            free(out);
            return NULL;
        }
    }
    return out;
}

static char *fk_text(const json_t *e, size_t i)
{
    char *from = names(json_object_get(e, "fromColumns"));
    char *to = names(json_object_get(e, "toColumns"));
    char *t =
        from && to
            ? om_fmt("%s%s -> %s (sketch containment %.2f, %lld violations in "
                     "%lld child "
                     "rows checked%s, name score %.2f)",
                     i ? "; " : "", from, to,
                     json_number_value(json_object_get(e, "containment")),
                     (long long)json_integer_value(
                         json_object_get(e, "violations")),
                     (long long)json_integer_value(
                         json_object_get(e, "childRowsChecked")),
                     json_is_true(json_object_get(e, "sampled"))
                         ? ", table sample"
                         : "",
                     json_number_value(json_object_get(e, "nameScore")))
            : NULL;
    free(from);
    free(to);
    return t;
}

/* One line naming the evidence, no value: the counts of fk_discover. */
static char *edge_line(const struct pub_job *j, const struct edge *x)
{
    size_t n = json_array_size(x->fks);
    char *line = om_fmt("Implicit foreign key%s found by catalog-sync from "
                        "%s to %s: ",
                        n > 1 ? "s" : "", x->parent, j->fqn);
    size_t i;
    json_t *e;
    json_array_foreach(x->fks, i, e)
    {
        if (!line || !append(&line, fk_text(e, i))) {
            free(line);
            return NULL;
        }
    }
    return line;
}

/* fk_discover's reasons (names and counts), or the line. */
static char *reasons(const struct edge *x, const char *line)
{
    char *out = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(x->fks, i, e)
    {
        const char *r = json_string_value(json_object_get(e, "reason"));
        if (r && !append(&out, om_fmt("%s%s", out ? "; " : "", r))) {
            free(out);
            return NULL;
        }
    }
    return out ? out : strdup(line);
}

/* Appends {fromColumns: [parent column FQN], toColumn: child column FQN}
 * for each column of one fk; false after recording why on the field. */
static bool fk_pairs(struct pub_job *j, const struct edge *x, const json_t *e,
                     const json_t *pref, json_t *pairs)
{
    const json_t *from = json_object_get(e, "fromColumns");
    const json_t *to = json_object_get(e, "toColumns");
    for (size_t i = 0; i < json_array_size(from); i++) {
        const char *cn = json_string_value(json_array_get(from, i));
        const char *pn = json_string_value(json_array_get(to, i));
        long ci = cn ? pub_column_index(j, cn) : -1;
        json_t *cf = json_object_get(pub_column(j, ci), "fullyQualifiedName");
        json_t *pf =
            pn ? json_object_get(json_object_get(pref, "columns"), pn) : NULL;
        if (!json_is_string(cf) || !json_is_string(pf)) {
            pub_skip(j, x->field, "column %s is not in OpenMetadata's entity",
                     !json_is_string(cf) ? (cn ? cn : "?") : (pn ? pn : "?"));
            return false;
        }
        json_array_append_new(pairs, json_pack("{s:[O], s:O}", "fromColumns",
                                               pf, "toColumn", cf));
    }
    return true;
}

static json_t *column_pairs(struct pub_job *j, const struct edge *x,
                            const json_t *pref)
{
    json_t *pairs = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(x->fks, i, e)
    {
        if (!pairs || !fk_pairs(j, x, e, pref, pairs)) {
            json_decref(pairs);
            return NULL;
        }
    }
    return pairs;
}

static json_t *edge_body(struct pub_job *j, const struct edge *x,
                         const json_t *pref, json_t *pairs)
{
    char *line = edge_line(j, x);
    char *why = line ? reasons(x, line) : NULL;
    if (!why) {
        free(line);
        json_decref(pairs);
        return NULL;
    }
    json_t *body = json_pack(
        "{s:{s:{s:O, s:s}, s:{s:s, s:s}, s:s, s:{s:o, s:s}}}", "edge",
        "fromEntity", "id", json_object_get(pref, "id"), "type", "table",
        "toEntity", "id", j->id, "type", "table", "description", line,
        "lineageDetails", "columnsLineage", pairs, "description", why);
    free(line);
    free(why);
    return body;
}

/* After a 200: state, audit row, report. */
static int put_done(struct pub_job *j, const struct edge *x, const json_t *body,
                    const char *hash, const json_t *pref)
{
    int rc = pub_state_set(j, "lineage", x->field,
                           json_pack("{s:s, s:O}", "hash", hash, "from",
                                     json_object_get(pref, "id")));
    if (rc == CS_OK) {
        pub_done(j, x->field);
        rc = pub_audit(j, "lineage.put", x->field, NULL,
                       json_object_get(body, "edge"), x->fks);
    }
    if (rc == CS_OK)
        pub_sent(j, x->field, "lineage.put",
                 json_pack("{s:s, s:O, s:I}", "from", x->parent, "fromId",
                           json_object_get(pref, "id"), "foreignKeys",
                           (json_int_t)json_array_size(x->fks)));
    return rc;
}

static int send_edge(struct pub_job *j, const struct edge *x,
                     const json_t *body, const char *hash, const json_t *pref)
{
    char *url = om_fmt("%s/lineage", j->s->o.api);
    if (!url)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    struct om_resp r;
    int rc = om_call(j, "PUT", url, "application/json", body, &r);
    if (rc == CS_OK && (r.status == 200 || r.status == 201))
        rc = put_done(j, x, body, hash, pref);
    else if (rc == CS_OK && r.status == 404)
        rc = PUB_GONE;
    else if (rc == CS_OK && (r.status == 409 || r.status == 412))
        rc = PUB_CONFLICT;
    else if (rc == CS_OK)
        pub_field_error(j, x->field, "PUT %s returned %ld%s%s", url, r.status,
                        *om_message(&r) ? ": " : "", om_message(&r));
    om_resp_clear(&r);
    free(url);
    return rc;
}

/* PUT the edge unless the same body was put before: CS_OK, PUB_GONE (a
 * 404: one of the tables vanished), PUB_CONFLICT or an error. */
static int put_edge(struct pub_job *j, const struct edge *x, const json_t *pref)
{
    json_t *pairs = column_pairs(j, x, pref);
    if (!pairs)
        return CS_OK;
    json_t *body = edge_body(j, x, pref, pairs);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!text) {
        json_decref(body);
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    }
    char hash[17];
    pub_hash(text, hash);
    free(text);
    const char *last = json_string_value(
        json_object_get(pub_state_entry(j, "lineage", x->field), "hash"));
    int rc = CS_OK;
    if (last && strcmp(last, hash) == 0)
        j->unchanged++;
    else
        rc = send_edge(j, x, body, hash, pref);
    json_decref(body);
    return rc;
}

static int publish_edge(struct pub_job *j, const struct edge *x)
{
    int rc = CS_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        json_t *pref = parent_ref(j, x->parent, x->field, &rc);
        if (rc == PUB_GONE) {
            pub_skip(j, x->field,
                     "parent table %s is not in OpenMetadata (404); no lineage",
                     x->parent);
            return CS_OK;
        }
        if (!pref)
            return rc;
        rc = put_edge(j, x, pref);
        json_decref(pref);
        if (rc != PUB_GONE)
            return rc;
        pub_cache_forget(j->s, x->parent); /* a stale id: look it up again */
    }
    pub_skip(j, x->field,
             "PUT /lineage returned 404 twice (a table of the edge is gone); "
             "no lineage");
    return CS_OK;
}

static bool well_formed(const json_t *e)
{
    size_t n = json_array_size(json_object_get(e, "fromColumns"));
    return json_is_string(json_object_get(e, "toTable")) && n > 0 &&
           n == json_array_size(json_object_get(e, "toColumns"));
}

/* {parent fqn: [confirmed fk edges]} (new reference), or NULL. */
static json_t *by_parent(struct pub_job *j, const json_t *edges)
{
    json_t *groups = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(edges, i, e)
    {
        const char *status = json_string_value(json_object_get(e, "status"));
        if (!groups || !well_formed(e) || !status ||
            strcmp(status, "confirmed") != 0) {
            /* `known`: declared in the source, the catalog has it */
            j->unchanged += status && strcmp(status, "known") == 0;
            continue;
        }
        const char *parent = json_string_value(json_object_get(e, "toTable"));
        json_t *g = json_object_get(groups, parent);
        if (!g && json_object_set_new(groups, parent, g = json_array()) != 0) {
            json_decref(groups);
            return NULL;
        }
        if (json_array_append(g, e) != 0) {
            json_decref(groups);
            return NULL;
        }
    }
    return groups;
}

static int publish_group(struct pub_job *j, const char *parent, json_t *fks)
{
    char *field = om_fmt("lineage.%s", parent);
    if (!field)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    struct edge x = {.parent = parent, .field = field, .fks = fks};
    int rc = CS_OK;
    if (strcmp(parent, j->fqn) == 0)
        pub_skip(j, field,
                 "a reference within the table (a hierarchy) is "
                 "no data flow between tables; no lineage");
    else if (!pub_is_done(j, field))
        rc = publish_edge(j, &x);
    free(field);
    return rc;
}

int pub_lineage(struct pub_job *j)
{
    const json_t *fk = j->h->aspect_get(j->ctx, "fk");
    json_t *groups = by_parent(j, json_object_get(fk, "edges"));
    if (!groups)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    const char *parent;
    json_t *fks;
    int rc = CS_OK;
    json_object_foreach(groups, parent, fks)
    {
        rc = publish_group(j, parent, fks);
        if (rc < 0 || rc == PUB_CONFLICT)
            break;
    }
    json_decref(groups);
    return rc;
}
