"""Ground truth and scoring for foreign-key discovery, shared by
tests/bench/bench_fk.py and tests/integration/test_fk_accuracy.py.

An edge is (child "schema.table", child columns, parent "schema.table",
parent columns), columns as tuples of names.

Ground truth is read from the loaded database itself (pg_constraint,
contype 'f') before the constraints are dropped.  A constraint declared on
a partition counts for the partitioned table at the root of its tree: that
is the table discovery reports (partitions are not entities).  Only
constraints whose child columns hold at least one row with every column
non-null count: an empty column carries no value evidence.

Scoring, per database, over the edges with status "confirmed":
  found       confirmed and declared
  miss        declared, not confirmed
  undeclared  confirmed, not declared, listed in tests/fk/datasets.json as
              a real link with a justification, and verified at scoring time
              by an anti-join (no non-null child value without a parent row)
              and a unique parent column
  false pos.  every other confirmed edge
  recall      found / declared
  precision   (found + undeclared) / confirmed
  strict      found / confirmed (undeclared links counted as errors)
Role-named: the child column's name does not contain the parent table's
name (singular or plural, underscores ignored), e.g. reports_to,
support_rep_id, ship_via.

The two baselines of the issue, computed by SQL on the loaded database:
  contained   child values all contained in a column whose values are
              unique, over every pair of columns of the same type class
  name match  child column named like the parent's key column or
              <parent>_id, parent = a table with a one-column primary key
"""
import collections
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))

# Type classes for the baselines: the classes fk_common compares.
TYPE_CLASS = {
    "int2": "integer", "int4": "integer", "int8": "integer",
    "numeric": "decimal", "float4": "float", "float8": "float",
    "text": "text", "varchar": "text", "bpchar": "text", "name": "text",
    "uuid": "uuid", "date": "date", "timestamp": "timestamp",
    "timestamptz": "timestamptz", "time": "time",
}


def load_json(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def datasets():
    return load_json("datasets.json")["datasets"]


def strip_lines(path, patterns):
    """The text of a SQL file without the lines matching any pattern (the
    Chinook script creates and connects to its own database)."""
    regs = [re.compile(p) for p in patterns]
    with open(path, encoding="utf-8") as f:
        return "".join(line for line in f if not any(r.search(line) for r in regs))


def dataset_files(shared_dir, spec):
    """(present files, missing files) of a dataset spec."""
    files = [os.path.join(shared_dir, "datasets", f) for f in spec["files"]]
    return [f for f in files if os.path.exists(f)], [f for f in files if not os.path.exists(f)]


def load_dataset(cs, wd, dsn, spec, files, analyze=True):
    """Loads a dataset into `dsn` with psql (cs is cslib).  With analyze,
    ANALYZE follows, as autovacuum would soon do on a live database: the
    profile then knows the row counts (pg_class.reltuples) and the run does
    not depend on whether autovacuum got there first.  Without it,
    autovacuum is switched off on the loaded tables so that they stay
    never analyzed for the whole run (row counts unknown to the profile)."""
    for f in files:
        if spec.get("strip"):
            stripped = wd.file(os.path.basename(f))
            with open(stripped, "w", encoding="utf-8") as out:
                out.write(strip_lines(f, spec["strip"]))
            f = stripped
        cs.psql_file(dsn, f)
    if analyze:
        cs.query(dsn, "ANALYZE")
        return
    for (rel,) in cs.query(dsn, """SELECT c.oid::regclass::text FROM pg_class c
                                   JOIN pg_namespace n ON n.oid = c.relnamespace
                                   WHERE c.relkind = 'r' AND n.nspname = %s""", (spec["schema"],)):
        cs.query(dsn, f"ALTER TABLE {rel} SET (autovacuum_enabled = false)")


def fmt(edge):
    child, cols, parent, pcols = edge
    return f"{child}.{'+'.join(cols)} -> {parent}.{'+'.join(pcols)}"


def short(edge):
    """The edge without schemas: "table.col -> table.col" (datasets.json keys)."""
    child, cols, parent, pcols = edge
    return (f"{child.split('.', 1)[1]}.{'+'.join(cols)} -> "
            f"{parent.split('.', 1)[1]}.{'+'.join(pcols)}")


def qi(name):
    return '"' + name.replace('"', '""') + '"'


def qt(st):
    schema, table = st.split(".", 1)
    return f"{qi(schema)}.{qi(table)}"


_FK_SQL = """
SELECT n.nspname, r.relname, con.conname, con.oid,
       (SELECT array_agg(a.attname::text ORDER BY k.n) FROM unnest(con.conkey) WITH ORDINALITY k(a, n)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.a),
       pn.nspname, p.relname,
       (SELECT array_agg(a.attname::text ORDER BY k.n) FROM unnest(con.confkey) WITH ORDINALITY k(a, n)
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.a)
FROM pg_constraint con
JOIN pg_class r ON r.oid = coalesce(pg_partition_root(con.conrelid), con.conrelid)
JOIN pg_namespace n ON n.oid = r.relnamespace
JOIN pg_class p ON p.oid = coalesce(pg_partition_root(con.confrelid), con.confrelid)
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE con.contype = 'f' AND n.nspname = %s
ORDER BY 1, 2, 3
"""


def declared(query, dsn, schema):
    """The declared foreign keys of a schema: {edge: [constraint names]}
    (constraints of partitions merged into their root table), and the
    subset whose child columns hold data: (all, counted)."""
    out = collections.OrderedDict()
    for ns, rel, conname, _, cols, pns, prel, pcols in query(dsn, _FK_SQL, (schema,)):
        edge = (f"{ns}.{rel}", tuple(cols), f"{pns}.{prel}", tuple(pcols))
        out.setdefault(edge, []).append(conname)
    counted = collections.OrderedDict()
    for edge, names in out.items():
        child, cols, _, _ = edge
        cond = " AND ".join(f"{qi(c)} IS NOT NULL" for c in cols)
        if query(dsn, f"SELECT EXISTS (SELECT 1 FROM {qt(child)} WHERE {cond})")[0][0]:
            counted[edge] = names
    return out, counted


def drop_foreign_keys(query, dsn, schema):
    """Drops every foreign-key constraint of a schema (those inherited by
    partitions go with their parent's); returns how many were dropped."""
    rows = query(dsn, """
        SELECT con.conrelid::regclass::text, con.conname FROM pg_constraint con
        JOIN pg_namespace n ON n.oid = con.connamespace
        WHERE con.contype = 'f' AND con.conparentid = 0 AND n.nspname = %s""", (schema,))
    for rel, conname in rows:
        query(dsn, f"ALTER TABLE {rel} DROP CONSTRAINT {qi(conname)}")
    left = query(dsn, """SELECT count(*) FROM pg_constraint con JOIN pg_namespace n
                         ON n.oid = con.connamespace WHERE con.contype = 'f' AND n.nspname = %s""",
                 (schema,))[0][0]
    if left:
        raise AssertionError(f"{left} foreign keys left in schema {schema} after dropping them")
    return len(rows)


def table_key(fqn):
    """"service.database.schema.table" -> "schema.table"."""
    return ".".join(fqn.split(".")[-2:])


def col_name(c):
    """A column as the aspect gives it: a bare name or a dotted FQN."""
    return c.rsplit(".", 1)[-1]


def read_edges(query, state_dsn):
    """Every edge of every `fk` aspect: [(edge, status, entry)]."""
    out = []
    for fqn, value in query(state_dsn, "SELECT fqn, value FROM catalog_sync.aspects WHERE aspect = 'fk'"):
        for e in (value or {}).get("edges", []):
            edge = (table_key(fqn), tuple(col_name(c) for c in e.get("fromColumns", [])),
                    table_key(e.get("toTable", "")), tuple(col_name(c) for c in e.get("toColumns", [])))
            out.append((edge, e.get("status"), e))
    return out


def read_fingerprints(query, state_dsn):
    """{"schema.table": fingerprint aspect}."""
    return {table_key(fqn): v for fqn, v in
            query(state_dsn, "SELECT fqn, value FROM catalog_sync.aspects WHERE aspect = 'fingerprint'")}


def _norm(s):
    return s.lower().replace("_", "")


def role_named(edge):
    """True when no child column's name contains the parent table's name."""
    child, cols, parent, _ = edge
    t = _norm(parent.split(".", 1)[1])
    forms = {t}
    if t.endswith("ies"):
        forms.add(t[:-3] + "y")
    elif t.endswith("s"):
        forms.add(t[:-1])
    return not any(f in _norm(c) for c in cols for f in forms)


def self_reference(edge):
    return edge[0] == edge[2]


def verify(query, dsn, edge):
    """(child rows with a non-null key, of which without a parent row,
    parent rows with a non-null key, their distinct keys): the anti-join
    of the issue, exact, and the parent's uniqueness on the whole table."""
    child, cols, parent, pcols = edge
    notnull = " AND ".join(f"c.{qi(c)} IS NOT NULL" for c in cols)
    match = " AND ".join(f"p.{qi(pc)} = c.{qi(c)}" for c, pc in zip(cols, pcols))
    n, orphans = query(dsn, f"""
        SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {qt(parent)} p WHERE {match}))
        FROM {qt(child)} c WHERE {notnull}""")[0]
    plist = ", ".join(qi(pc) for pc in pcols)
    pnotnull = " AND ".join(f"{qi(pc)} IS NOT NULL" for pc in pcols)
    prow, pdistinct = query(dsn, f"""
        SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {plist} FROM {qt(parent)}
                                                WHERE {pnotnull}) d)
        FROM {qt(parent)} WHERE {pnotnull}""")[0]
    return n, orphans, prow, pdistinct


class Result:
    def __init__(self, name):
        self.name = name
        self.truth = {}           # edge -> constraint names (counted ones)
        self.empty = {}           # declared, child columns all NULL: not counted
        self.found = []           # (edge, entry)
        self.misses = []          # (edge, [(other edge, status, entry) from the same columns])
        self.undeclared = []      # (edge, entry, justification, verification)
        self.false_pos = []       # (edge, entry, note)
        self.known = []           # (edge, entry): status "known"
        self.other_status = []    # (edge, status, entry)

    def counts(self):
        tp, u, fp = len(self.found), len(self.undeclared), len(self.false_pos)
        fn = len(self.misses)
        emitted = tp + u + fp
        precision = (tp + u) / emitted if emitted else 1.0
        strict = tp / emitted if emitted else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"declared": tp + fn, "emitted": emitted, "found": tp, "undeclared": u,
                "false_pos": fp, "misses": fn, "precision": precision, "strict": strict,
                "recall": recall, "f1": f1}

    def role_named(self):
        """[(edge, found?)] over the counted declared edges."""
        got = {e for e, _ in self.found}
        return [(e, e in got) for e in self.truth if role_named(e)]


def evaluate(name, query, dsn, truth, empty, edges, accepted):
    """Scores the emitted `edges` (read_edges) against `truth` (declared
    edges with data); `accepted` is the dataset's {short edge: why} of real
    undeclared links (datasets.json).  `dsn` is the loaded source database,
    for the anti-joins of the extra edges."""
    res = Result(name)
    res.truth, res.empty = dict(truth), dict(empty)
    confirmed = {}
    for edge, status, entry in edges:
        if status == "confirmed":
            confirmed[edge] = entry
        elif status == "known":
            res.known.append((edge, entry))
        else:
            res.other_status.append((edge, status, entry))
    for edge in truth:
        if edge in confirmed:
            res.found.append((edge, confirmed[edge]))
        else:
            same_cols = [(e, s, x) for e, s, x in edges if e[0] == edge[0] and e[1] == edge[1]]
            res.misses.append((edge, same_cols))
    for edge, entry in confirmed.items():
        if edge in truth:
            continue
        n, orphans, prow, pdistinct = verify(query, dsn, edge)
        check = {"rows": n, "orphans": orphans, "parentRows": prow, "parentDistinct": pdistinct}
        why = accepted.get(short(edge))
        if why and orphans == 0 and n > 0 and prow == pdistinct:
            res.undeclared.append((edge, entry, why, check))
        elif edge in empty:
            res.false_pos.append((edge, entry, "declared but its child column holds no data"))
        else:
            note = (f"anti-join: {orphans} of {n} child rows without a parent; "
                    f"parent {pdistinct} distinct of {prow} rows")
            if why:
                note += "; listed as real in tests/fk/datasets.json but FAILED verification"
            elif orphans == 0 and prow == pdistinct:
                note += " (values contained, not accepted as a real link)"
            res.false_pos.append((edge, entry, note))
    return res


def describe(entry):
    if not entry:
        return "-"
    bits = []
    for k, label, f in (("containment", "containment", "{:.3f}"), ("violations", "violations", "{}"),
                        ("childRowsChecked", "checked", "{}"), ("nameScore", "name", "{:.2f}"),
                        ("parentUniqueness", "parent uniq", "{:.3f}")):
        v = entry.get(k)
        if v is not None:
            try:
                bits.append(f"{label} {f.format(v)}")
            except (TypeError, ValueError):
                bits.append(f"{label} {v}")
    reason = entry.get("reason")
    return ", ".join(bits) + (f": {reason}" if reason else "")


def fingerprint_summary(fps, table, column):
    c = (fps.get(table) or {}).get("columns", {}).get(column)
    if c is None:
        return f"{table}.{column}: no fingerprint"
    keys = ("typeClass", "nullFraction", "sampleDistinct", "distinctEstimate", "uniqueness",
            "min", "max", "primaryKey", "unique")
    return f"{table}.{column}: " + ", ".join(f"{k} {c.get(k)}" for k in keys if k in c) + \
        f", kmv {len(c.get('kmv', []))}, top {len(c.get('top', []))}"


def report(res, out=print, fps=None):
    c = res.counts()
    out(f"  declared FKs with data: {c['declared']}"
        + (f" (not counted, child columns empty: {', '.join(short(e) for e in res.empty)})" if res.empty else ""))
    out(f"  confirmed edges: {c['emitted']} ({c['found']} declared, {c['undeclared']} real undeclared, "
        f"{c['false_pos']} false positives); known: {len(res.known)}")
    out(f"  precision {c['precision']:.3f} (strict {c['strict']:.3f}), recall {c['recall']:.3f}, F1 {c['f1']:.3f}")
    for edge, entry in res.found:
        tags = [t for t, ok in (("role-named", role_named(edge)), ("self-reference", self_reference(edge))) if ok]
        out(f"  found {short(edge)}{' [' + ', '.join(tags) + ']' if tags else ''}: {describe(entry)}")
    for edge, others in res.misses:
        out(f"  MISS {short(edge)}: " + ("; ".join(f"emitted {short(e)} ({s}): {describe(x)}" for e, s, x in others)
                                         if others else "no edge from these columns"))
        if fps is not None:
            out(f"       child  {fingerprint_summary(fps, edge[0], edge[1][0])}")
            out(f"       parent {fingerprint_summary(fps, edge[2], edge[3][0])}")
    for edge, entry, why, check in res.undeclared:
        out(f"  UNDECLARED (real, verified: {check['orphans']} of {check['rows']} rows without parent, "
            f"parent unique) {short(edge)}: {why}; pass: {describe(entry)}")
    for edge, entry, note in res.false_pos:
        out(f"  FALSE POSITIVE {short(edge)} [{note}]: {describe(entry)}")
    for edge, entry in res.known:
        out(f"  known (declared, should not happen after dropping): {short(edge)}")
    for edge, status, entry in res.other_status:
        out(f"  other status {status!r}: {short(edge)}: {describe(entry)}")
    roles = res.role_named()
    if roles:
        out(f"  role-named FKs: {sum(ok for _, ok in roles)} of {len(roles)} found: "
            + ", ".join(f"{short(e)} {'found' if ok else 'MISSED'}" for e, ok in roles))
    else:
        out("  role-named FKs: none among the declared ones")


# ---- baselines --------------------------------------------------------

_COLS_SQL = """
SELECT c.relname, a.attname, t.typname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY 1, a.attnum
"""


def columns(query, dsn, schema):
    """[("schema.table", column, type class)] of the root tables, only the
    type classes a key can have."""
    return [(f"{schema}.{rel}", col, TYPE_CLASS[typ]) for rel, col, typ in query(dsn, _COLS_SQL, (schema,))
            if typ in TYPE_CLASS]


def _column_stats(query, dsn, cols):
    """{(table, col): (non-null count, distinct count)}."""
    out = {}
    for table, col, _ in cols:
        out[(table, col)] = tuple(query(dsn, f"SELECT count({qi(col)}), count(DISTINCT {qi(col)}) FROM {qt(table)}")[0])
    return out


def naive_contained(query, dsn, schema):
    """The "contained in a unique column" baseline: every pair (child
    column with data, parent column whose non-null values are unique) of
    the same type class whose child values are all in the parent.  Returns
    (predicted edges, pairs checked)."""
    cols = columns(query, dsn, schema)
    stats = _column_stats(query, dsn, cols)
    predicted, pairs = [], 0
    for pt, pc, pclass in cols:
        pn, pd = stats[(pt, pc)]
        if pn == 0 or pn != pd:
            continue
        for ct, cc, cclass in cols:
            if cclass != pclass or (ct, cc) == (pt, pc) or stats[(ct, cc)][0] == 0:
                continue
            pairs += 1
            cast = "::text" if cclass == "text" else ""
            orphans = query(dsn, f"""
                SELECT count(*) FROM (SELECT DISTINCT {qi(cc)}{cast} AS v FROM {qt(ct)}
                                      WHERE {qi(cc)} IS NOT NULL) x
                WHERE NOT EXISTS (SELECT 1 FROM {qt(pt)} p WHERE p.{qi(pc)}{cast} = x.v)""")[0][0]
            if orphans == 0:
                predicted.append((ct, (cc,), pt, (pc,)))
    return predicted, pairs


def name_match(query, dsn, schema):
    """The name-matching baseline: child column equal to a table's
    one-column primary key name, or <table>_id / <singular table>_id."""
    pks = {}
    for rel, cols in query(dsn, """
            SELECT r.relname, (SELECT array_agg(a.attname::text) FROM unnest(con.conkey) k(a)
                               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.a)
            FROM pg_constraint con JOIN pg_class r ON r.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE con.contype = 'p' AND n.nspname = %s AND NOT r.relispartition""", (schema,)):
        if len(cols) == 1:
            pks[f"{schema}.{rel}"] = cols[0]
    predicted = []
    for table, col, _ in columns(query, dsn, schema):
        for parent, pk in sorted(pks.items()):
            if parent == table:
                continue
            t = _norm(parent.split(".", 1)[1])
            names = {_norm(pk), t + "id"}
            if t.endswith("s"):
                names.add(t[:-1] + "id")
            if _norm(col) in names:
                predicted.append((table, (col,), parent, (pk,)))
                break
    return predicted


def score_baseline(predicted, truth, accepted):
    """(precision, recall, role-named found, role-named total) of a
    baseline; accepted undeclared links count as right, as for the pass."""
    pred = set(predicted)
    right = sum(1 for e in pred if e in truth or short(e) in accepted)
    found = sum(1 for e in truth if e in pred)
    roles = [e for e in truth if role_named(e)]
    precision = right / len(pred) if pred else 1.0
    recall = found / len(truth) if truth else 1.0
    return precision, recall, sum(1 for e in roles if e in pred), len(roles)
