"""A fake Trino coordinator for tests (also importable as `trino`, see trino.py).

It speaks the Trino client REST protocol (POST /v1/statement, then GET the
nextUri chain until it ends, DELETE nextUri to cancel) and runs the SQL on a
real Postgres database, one per catalog, so the rows a client samples are
real.  It runs in a background thread of the test process, and the test
reads its recordings directly:

    tr = FakeTrino(catalogs={"demo_pg": dsn}, page_rows=3,
                   statement_timeout_ms=30000)   # also a context manager
    base = tr.start()                  # "http://127.0.0.1:<port>"
    tr.queries      # dict(id, sql, user, catalog, schema, state, headers,
                    #      source, pg_sql, error) per statement; headers
                    #      look-ups ignore case; error is the errorName
    tr.query(id)    # the record of one query id (or None)
    tr.requests     # dict(method, path, headers, body (str), status) per request
    tr.cancelled    # ids of queries cancelled by DELETE while still running
    tr.fail_next(n, status=503)        # the next n requests get that status
    tr.slow_seconds = 5                # queries wait that long before rows
    tr.fail_query_matching = ("orders", "TABLE_NOT_FOUND")   # regex, errorName
                                       # [, message]; checked at POST time
    tr.stop()

Protocol behaviour, as Trino's QueuedStatementResource/ExecutingStatementResource:
- POST without X-Trino-User: 401 "Basic authentication or X-Trino-User must
  be sent" with WWW-Authenticate; an empty body: 400 "SQL statement is empty".
- The POST answer is QUEUED with no columns; nextUri is
  /v1/statement/queued/<id>/<slug>/<token>, then .../executing/...; the last
  page has no nextUri.  Asking for the current token again returns the same
  page (a retry after a lost answer); any other token is 410, an unknown
  query or slug 404.  DELETE answers 204; later GETs give USER_CANCELED.
- Errors are HTTP 200 pages with `error` (message "line L:C: ...", errorCode,
  errorName, errorType, errorLocation, failureInfo) and state FAILED, with
  the codes of io.trino.spi.StandardErrorCode.  Postgres errors are mapped
  (undefined_table -> TABLE_NOT_FOUND or SCHEMA_NOT_FOUND, undefined_column
  -> COLUMN_NOT_FOUND, syntax -> SYNTAX_ERROR, ...; others JDBC_ERROR).
- Types and JSON values follow the Trino PostgreSQL connector: integer types
  and double/real as numbers, decimal(p,s) as strings, varchar/char/uuid/
  json/date/time/timestamp as strings, timestamp(6) with time zone as
  'YYYY-MM-DD HH:MM:SS.ffffff UTC', varbinary as base64, NULL as null.
- GET /v1/info answers a minimal ServerInfo.
- SHOW STATS FOR <table> answers from pg_class.reltuples and pg_stats the
  way the PostgreSQL connector does (NULLs when never analyzed).

SQL handling (a token-level rewrite, not a parser):
- catalog.schema.table names (quoted or not) lose their catalog part, which
  must be a configured catalog (else CATALOG_NOT_FOUND when the name follows
  FROM/JOIN); one- and two-part names use X-Trino-Schema / X-Trino-Catalog.
- count_if(x) becomes count(*) FILTER (WHERE x); approx_distinct(x) becomes
  count(DISTINCT x).  TABLESAMPLE BERNOULLI|SYSTEM (p), FILTER, NOT EXISTS
  are the same in both dialects.
- Each statement runs in its own read-only transaction with a statement
  timeout, TimeZone UTC and search_path set to the session schema.

Not supported: joins across catalogs whose DSNs differ, other Trino-only
functions and syntax (the Postgres error comes back as a Trino error),
SHOW STATS FOR (subquery), session properties, prepared statements,
transactions, the spooling protocol, unaliased expression column names
other than Postgres' "?column?" (Trino would call count(*) _col0, this fake
keeps Postgres' "count"), timestamp precisions other than 6, unconstrained
numeric results are typed decimal(38, largest scale seen), array and other
exotic Postgres types come back as varchar.
"""

import base64
import bisect
import datetime
import decimal
import json
import math
import random
import re
import string
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import psycopg2.extensions

# io.trino.spi.StandardErrorCode (and JdbcErrorCode.JDBC_ERROR).
ERROR_CODES = {
    "GENERIC_USER_ERROR": (0, "USER_ERROR"),
    "SYNTAX_ERROR": (1, "USER_ERROR"),
    "USER_CANCELED": (3, "USER_ERROR"),
    "PERMISSION_DENIED": (4, "USER_ERROR"),
    "FUNCTION_NOT_FOUND": (6, "USER_ERROR"),
    "INVALID_FUNCTION_ARGUMENT": (7, "USER_ERROR"),
    "DIVISION_BY_ZERO": (8, "USER_ERROR"),
    "INVALID_CAST_ARGUMENT": (9, "USER_ERROR"),
    "NOT_SUPPORTED": (13, "USER_ERROR"),
    "QUERY_REJECTED": (31, "USER_ERROR"),
    "CATALOG_NOT_FOUND": (44, "USER_ERROR"),
    "SCHEMA_NOT_FOUND": (45, "USER_ERROR"),
    "TABLE_NOT_FOUND": (46, "USER_ERROR"),
    "COLUMN_NOT_FOUND": (47, "USER_ERROR"),
    "MISSING_CATALOG_NAME": (56, "USER_ERROR"),
    "TYPE_MISMATCH": (58, "USER_ERROR"),
    "AMBIGUOUS_NAME": (62, "USER_ERROR"),
    "EXPRESSION_NOT_AGGREGATE": (73, "USER_ERROR"),
    "GENERIC_INTERNAL_ERROR": (65536, "INTERNAL_ERROR"),
    "NO_NODES_AVAILABLE": (65541, "INTERNAL_ERROR"),
    "SERVER_SHUTTING_DOWN": (65545, "INTERNAL_ERROR"),
    "EXCEEDED_GLOBAL_MEMORY_LIMIT": (131073, "INSUFFICIENT_RESOURCES"),
    "EXCEEDED_TIME_LIMIT": (131075, "INSUFFICIENT_RESOURCES"),
    "JDBC_ERROR": (0x0400_0000, "EXTERNAL"),
}

# Postgres SQLSTATE -> Trino error name, for errors without a special case.
_SQLSTATE_ERRORS = {
    "42601": "SYNTAX_ERROR",
    "42883": "FUNCTION_NOT_FOUND",
    "42703": "COLUMN_NOT_FOUND",
    "3F000": "SCHEMA_NOT_FOUND",
    "22012": "DIVISION_BY_ZERO",
    "22P02": "INVALID_CAST_ARGUMENT",
    "22007": "INVALID_CAST_ARGUMENT",
    "22008": "INVALID_CAST_ARGUMENT",
    "25006": "PERMISSION_DENIED",
    "42501": "PERMISSION_DENIED",
    "42804": "TYPE_MISMATCH",
    "42702": "AMBIGUOUS_NAME",
    "42803": "EXPRESSION_NOT_AGGREGATE",
}

_STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                410: "Gone", 429: "Too Many Requests", 500: "Internal Server Error",
                502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class TrinoError(Exception):
    """A query failure reported to the client as QueryResults.error."""

    def __init__(self, name, message, pos=None, sql=None):
        super().__init__(message)
        self.name, self.message = name, message
        self.location = _line_col(sql, pos) if sql is not None and pos is not None else None

    def to_json(self):
        code, etype = ERROR_CODES.get(self.name, ERROR_CODES["GENERIC_INTERNAL_ERROR"])
        message = self.message
        if self.location:
            message = "line %d:%d: %s" % (self.location[0], self.location[1], message)
        err = {"message": message, "errorCode": code, "errorName": self.name,
               "errorType": etype,
               "failureInfo": {"type": "io.trino.spi.TrinoException", "message": message,
                               "suppressed": [], "stack": []}}
        if self.location:
            loc = {"lineNumber": self.location[0], "columnNumber": self.location[1]}
            err["errorLocation"] = loc
            err["failureInfo"]["errorLocation"] = loc
        return err


def _line_col(sql, pos):
    line = sql.count("\n", 0, pos) + 1
    return line, pos - (sql.rfind("\n", 0, pos) + 1) + 1


# --------------------------------------------------------------------------
# SQL: tokens, names, rewrite

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<op>.)
""", re.S | re.X)

_TABLE_CONTEXT = {"from", "join", "table"}


class _Tok:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind, text, pos):
        self.kind, self.text, self.pos = kind, text, pos

    def ident(self):
        """The identifier value (unquoted names fold to lower case), or None."""
        if self.kind == "word":
            return self.text.lower()
        if self.kind == "qident":
            return self.text[1:-1].replace('""', '"')
        return None


def _tokenize(sql):
    return [_Tok(m.lastgroup, m.group(), m.start()) for m in _TOKEN_RE.finditer(sql)]


def _quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


class _Name:
    """A dotted name: its parts, token indexes and whether it names a relation."""

    def __init__(self, parts, idx, in_table_context):
        self.parts, self.idx, self.in_table_context = parts, idx, in_table_context


def _dotted_names(toks):
    sig = [i for i, t in enumerate(toks) if t.kind not in ("ws", "comment")]
    skip = _function_froms(toks, sig)
    names, k = [], 0
    while k < len(sig):
        first, prev = k, (toks[sig[k - 1]] if k else None)
        if toks[sig[k]].ident() is None or (prev is not None and prev.text == "."):
            k += 1
            continue
        while (k + 2 < len(sig) and toks[sig[k + 1]].text == "."
               and toks[sig[k + 2]].ident() is not None):
            k += 2
        idx = sig[first:k + 1]
        is_call = k + 1 < len(sig) and toks[sig[k + 1]].text == "("
        context = (prev is not None and first - 1 not in skip and not is_call
                   and (prev.ident() in _TABLE_CONTEXT or _after_stats_for(toks, sig, first)))
        names.append(_Name([toks[i].ident() for i in idx[::2]], idx, context))
        k += 1
    return names


# Functions whose argument syntax uses FROM: extract(year FROM ts) and alike.
_FROM_FUNCTIONS = {"extract", "substring", "trim", "overlay", "position"}


def _function_froms(toks, sig):
    """Positions (in sig) of FROM keywords inside a function call's parentheses."""
    stack, out = [], set()
    for k, i in enumerate(sig):
        t = toks[i]
        if t.text == "(":
            stack.append(k > 0 and toks[sig[k - 1]].ident() in _FROM_FUNCTIONS)
        elif t.text == ")" and stack:
            stack.pop()
        elif t.ident() == "from" and stack and stack[-1]:
            out.add(k)
    return out


def _after_stats_for(toks, sig, first):
    words = [toks[i].ident() for i in sig[max(0, first - 3):first]]
    return words == ["show", "stats", "for"]


class Plan:
    """What a statement turned into: the Postgres SQL, the catalog, tables."""

    def __init__(self, sql):
        self.sql = sql
        self.pg_sql = None
        self.kind = "select"           # or "stats"
        self.catalog = None            # the catalog whose database runs it
        self.refs = []                 # (catalog, schema, table, pos) after FROM/JOIN
        self.stats_ref = None
        self.error = None              # TrinoError found before running
        self.offsets = []              # (pg_offset, sql_offset) per token


class _Planner:
    """Turns Trino SQL into Postgres SQL for one session (catalog, schema)."""

    def __init__(self, catalogs, session_catalog, session_schema):
        self.catalogs = catalogs
        self.session_catalog, self.session_schema = session_catalog, session_schema

    def plan(self, sql):
        p = Plan(sql)
        try:
            self._plan(p, _tokenize(sql))
        except TrinoError as e:
            p.error = e
        return p

    def _plan(self, p, toks):
        for t in toks:
            if t.text == ";":
                raise TrinoError("SYNTAX_ERROR", "mismatched input ';'. Expecting: <EOF>", t.pos, p.sql)
        words = [t.ident() for t in toks if t.kind not in ("ws", "comment")][:3]
        if words == ["show", "stats", "for"]:
            p.kind = "stats"
        repl = {}
        used = set()
        for name in _dotted_names(toks):
            self._name(p, toks, name, repl, used)
        self._functions(toks, repl)
        p.catalog = self._pick_catalog(p, used)
        if p.kind == "stats" and p.stats_ref is None:
            raise TrinoError("NOT_SUPPORTED", "SHOW STATS is only supported for a table name")
        _assemble(p, toks, repl)

    def _name(self, p, toks, name, repl, used):
        parts, pos = name.parts, toks[name.idx[0]].pos
        if len(parts) >= 3 and parts[0] in self.catalogs:
            repl[name.idx[0]] = ""
            repl[name.idx[1]] = ""
            used.add(parts[0])
        elif len(parts) == 3 and name.in_table_context:
            raise TrinoError("CATALOG_NOT_FOUND", "Catalog '%s' not found" % parts[0], pos, p.sql)
        if not name.in_table_context or len(parts) > 3:
            return
        if len(parts) == 2 and not self.session_catalog:
            raise TrinoError("MISSING_CATALOG_NAME",
                             "Catalog must be specified when session catalog is not set", pos, p.sql)
        full = [self.session_catalog, self.session_schema][: 3 - len(parts)] + parts
        ref = (full[0], full[1], full[2], pos)
        p.refs.append(ref)
        if p.kind == "stats" and p.stats_ref is None:
            p.stats_ref = ref

    def _functions(self, toks, repl):
        sig = [i for i, t in enumerate(toks) if t.kind not in ("ws", "comment")]
        for k, i in enumerate(sig[:-1]):
            word, nxt = toks[i].ident(), sig[k + 1]
            if toks[nxt].text != "(" or toks[i].kind != "word":
                continue
            if word == "count_if":
                repl[i], repl[nxt] = "count(*) FILTER", "(WHERE "
            elif word == "approx_distinct":
                repl[i], repl[nxt] = "count", "(DISTINCT "

    def _pick_catalog(self, p, used):
        for cat, _schema, _table, pos in p.refs:
            if cat is None:  # a one-part name without session catalog, maybe a WITH name
                continue
            if cat not in self.catalogs:
                raise TrinoError("CATALOG_NOT_FOUND", "Catalog '%s' not found" % cat, pos, p.sql)
            used.add(cat)
        dsns = {self.catalogs[c] for c in used}
        if len(dsns) > 1:
            raise TrinoError("NOT_SUPPORTED", "queries across catalogs %s are not supported by the fake"
                             % ", ".join(sorted(used)))
        if used:
            return sorted(used)[0]
        if self.session_catalog in self.catalogs:
            return self.session_catalog
        return next(iter(self.catalogs))


def _assemble(p, toks, repl):
    out, pg_len = [], 0
    for i, t in enumerate(toks):
        text = repl.get(i, t.text)
        p.offsets.append((pg_len, t.pos, i in repl))
        out.append(text)
        pg_len += len(text)
    p.pg_sql = "".join(out)


def _sql_position(p, pg_pos):
    """Maps a 0-based offset in the Postgres SQL back to the Trino SQL."""
    if not p.offsets:
        return 0
    k = max(0, bisect.bisect_right([o[0] for o in p.offsets], pg_pos) - 1)
    pg_start, pos, replaced = p.offsets[k]
    return pos if replaced else pos + (pg_pos - pg_start)


# --------------------------------------------------------------------------
# Types and values

_VARCHAR_UNBOUNDED = 2147483647


def _sig(raw, *longs):
    return {"rawType": raw, "arguments": [{"kind": "LONG", "value": v} for v in longs]}


def _simple(name):
    return name, _sig(name)


def trino_type(oid, length=None, precision=None, scale=None):
    """(type name, typeSignature) of a Postgres type, as the Trino connector maps it."""
    if oid in (16,):
        return _simple("boolean")
    if oid in (20, 26):
        return _simple("bigint")
    if oid == 21:
        return _simple("smallint")
    if oid == 23:
        return _simple("integer")
    if oid == 700:
        return _simple("real")
    if oid == 701:
        return _simple("double")
    if oid == 1700:
        p = precision if precision and precision <= 38 else 38
        s = scale if scale is not None and scale <= p else 0
        return "decimal(%d,%d)" % (p, s), _sig("decimal", p, s)
    if oid == 1042:
        n = length if length and length > 0 else 1
        return "char(%d)" % n, _sig("char", n)
    if oid == 1043 and length and length > 0:
        return "varchar(%d)" % length, _sig("varchar", length)
    return _other_type(oid)


def _other_type(oid):
    if oid == 17:
        return _simple("varbinary")
    if oid == 1082:
        return _simple("date")
    if oid == 1083:
        return "time(6)", _sig("time", 6)
    if oid == 1266:
        return "time(6) with time zone", _sig("time with time zone", 6)
    if oid == 1114:
        return "timestamp(6)", _sig("timestamp", 6)
    if oid == 1184:
        return "timestamp(6) with time zone", _sig("timestamp with time zone", 6)
    if oid == 2950:
        return _simple("uuid")
    if oid in (114, 3802):
        return _simple("json")
    return "varchar", _sig("varchar", _VARCHAR_UNBOUNDED)


_VARIABLE_WIDTH = ("varchar", "char", "varbinary", "json")


def is_variable_width(type_name):
    return type_name.split("(")[0] in _VARIABLE_WIDTH


def _json_float(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _encode_time(v):
    s = v.strftime("%H:%M:%S.%f")
    if v.utcoffset() is not None:
        off = int(v.utcoffset().total_seconds() // 60)
        s += "%s%02d:%02d" % ("+" if off >= 0 else "-", abs(off) // 60, abs(off) % 60)
    return s


def _encode_timestamp(v):
    if v.tzinfo is not None:
        v = v.astimezone(datetime.timezone.utc)
        return v.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"
    return v.strftime("%Y-%m-%d %H:%M:%S.%f")


def encode_value(v, type_name):
    """A psycopg2 value as Trino's JSON encoding of type_name."""
    if v is None:
        return None
    base = type_name.split("(")[0]
    if base == "decimal" and isinstance(v, decimal.Decimal) and v.is_finite():
        scale = int(type_name.rstrip(")").split(",")[1])
        return format(v.quantize(decimal.Decimal(1).scaleb(-scale)), "f")
    if isinstance(v, bool) or isinstance(v, int):
        return v
    if isinstance(v, float):
        return _json_float(v)
    if isinstance(v, datetime.datetime):
        return _encode_timestamp(v)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, datetime.time):
        return _encode_time(v)
    if isinstance(v, (memoryview, bytes)):
        return base64.b64encode(bytes(v)).decode("ascii")
    return str(v)


def _max_scale(rows, i):
    best = 0
    for r in rows:
        v = r[i]
        if isinstance(v, decimal.Decimal) and v.is_finite():
            best = max(best, -v.as_tuple().exponent)
    return min(best, 38)


def _columns(description, rows):
    cols = []
    for i, d in enumerate(description):
        precision, scale = d.precision, d.scale
        if d.type_code == 1700 and (precision is None or precision > 1000):
            precision, scale = 38, _max_scale(rows, i)
        name, sig = trino_type(d.type_code, d.internal_size, precision, scale)
        col_name = d.name if d.name != "?column?" else "_col%d" % i
        cols.append({"name": col_name, "type": name, "typeSignature": sig})
    return cols


# --------------------------------------------------------------------------
# Running statements on Postgres

_RAW_JSON = psycopg2.extensions.new_type((114, 3802), "FAKE_TRINO_RAW_JSON", lambda v, _c: v)


def _error_from_pg(p, e, cancelled, timeout_ms, cur_factory):
    state = e.pgcode or ""
    primary = (e.diag.message_primary or str(e)).strip()
    pos = e.diag.statement_position
    src = _sql_position(p, int(pos) - 1) if pos else None
    if state == "57014":
        if cancelled:
            return TrinoError("USER_CANCELED", "Query was canceled")
        return TrinoError("EXCEEDED_TIME_LIMIT", "Query exceeded maximum time limit of %.2fs" % (timeout_ms / 1000))
    if state == "42P01":
        return _missing_relation(p, primary, src, cur_factory)
    if state == "42703":
        m = re.search(r'column "?([^" ]+)"? does not exist', primary)
        what = m.group(1) if m else primary
        return TrinoError("COLUMN_NOT_FOUND", "Column '%s' cannot be resolved" % what, src, p.sql)
    return TrinoError(_SQLSTATE_ERRORS.get(state, "JDBC_ERROR"), primary, src, p.sql)


def _missing_relation(p, primary, src, cur_factory):
    m = re.search(r'relation "([^"]+)" does not exist', primary)
    missing = m.group(1) if m else ""
    for cat, schema, table, pos in p.refs:
        if missing in (table, "%s.%s" % (schema, table)):
            if not _schema_exists(cur_factory, schema):
                return TrinoError("SCHEMA_NOT_FOUND", "Schema '%s' does not exist" % schema, pos, p.sql)
            return TrinoError("TABLE_NOT_FOUND", "Table '%s.%s.%s' does not exist" % (cat, schema, table), pos, p.sql)
    return TrinoError("TABLE_NOT_FOUND", "Table '%s' does not exist" % missing, src, p.sql)


def _schema_exists(cur_factory, schema):
    with cur_factory() as cur:
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        return cur.fetchone() is not None


class _Session:
    """One Postgres connection running one statement in a read-only transaction."""

    def __init__(self, dsn, schema, timeout_ms):
        self.conn = psycopg2.connect(dsn, connect_timeout=10, application_name="fake-trino")
        self.conn.set_session(readonly=True)
        psycopg2.extensions.register_type(_RAW_JSON, self.conn)
        self.schema, self.timeout_ms = schema, timeout_ms

    def cursor(self):
        cur = self.conn.cursor()
        cur.execute("SET LOCAL statement_timeout = %s", (int(self.timeout_ms),))
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        if self.schema:
            cur.execute("SET LOCAL search_path = " + _quote_ident(self.schema))
        return cur

    def fresh_cursor(self):
        self.conn.rollback()
        return self.cursor()

    def close(self):
        self.conn.close()


def run_select(session, plan):
    """Runs plan.pg_sql; returns (columns, encoded rows)."""
    with session.cursor() as cur:
        cur.execute(plan.pg_sql)
        if cur.description is None:
            return [], []
        rows = cur.fetchall()
        cols = _columns(cur.description, rows)
    types = [c["type"] for c in cols]
    return cols, [[encode_value(v, t) for v, t in zip(r, types)] for r in rows]


_STATS_COLUMNS = [("column_name", "varchar"), ("data_size", "double"),
                  ("distinct_values_count", "double"), ("nulls_fraction", "double"),
                  ("row_count", "double"), ("low_value", "varchar"), ("high_value", "varchar")]


def _stats_columns():
    out = []
    for name, t in _STATS_COLUMNS:
        sig = _sig("varchar", _VARCHAR_UNBOUNDED) if t == "varchar" else _sig(t)
        out.append({"name": name, "type": t, "typeSignature": sig})
    return out


def run_show_stats(session, plan):
    """SHOW STATS FOR a table, as Trino's PostgreSQL connector reports it."""
    cat, schema, table, pos = plan.stats_ref
    with session.cursor() as cur:
        cur.execute("SELECT c.oid, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r','p','v','m','f')",
                    (schema, table))
        found = cur.fetchone()
        if found is None:
            raise TrinoError("TABLE_NOT_FOUND", "Table '%s.%s.%s' does not exist" % (cat, schema, table),
                             pos, plan.sql)
        oid, reltuples = found
        cur.execute("SELECT attname, atttypid, atttypmod FROM pg_attribute"
                    " WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (oid,))
        attrs = cur.fetchall()
        cur.execute("SELECT attname, null_frac, n_distinct, avg_width FROM pg_stats"
                    " WHERE schemaname = %s AND tablename = %s ORDER BY inherited", (schema, table))
        stats = {}
        for name, null_frac, n_distinct, avg_width in cur.fetchall():
            stats.setdefault(name, (null_frac, n_distinct, avg_width))
    rows_count = None if reltuples is None or reltuples < 0 else float(reltuples)
    rows = [_stats_row(a, stats.get(a[0]), rows_count) for a in attrs]
    rows.append([None, None, None, None, rows_count, None, None])
    return _stats_columns(), rows


def _attr_type(atttypid, atttypmod):
    length = atttypmod - 4 if atttypid in (1042, 1043) and atttypmod > 4 else None
    precision = scale = None
    if atttypid == 1700 and atttypmod > 4:
        precision, scale = ((atttypmod - 4) >> 16) & 0xFFFF, (atttypmod - 4) & 0xFFFF
    return trino_type(atttypid, length, precision, scale)[0]


def _stats_row(attr, stat, rows_count):
    name, atttypid, atttypmod = attr
    if stat is None or not rows_count:
        return [name, None, None, None, None, None, None]
    null_frac, n_distinct, avg_width = stat
    distinct = None
    if n_distinct is not None:
        distinct = float(n_distinct) if n_distinct >= 0 else -float(n_distinct) * rows_count
    size = None
    if avg_width is not None and null_frac is not None and is_variable_width(_attr_type(atttypid, atttypmod)):
        size = float(avg_width) * rows_count * (1 - float(null_frac))
    nulls = float(null_frac) if null_frac is not None else None
    return [name, size, distinct, nulls, None, None, None]


# --------------------------------------------------------------------------
# Queries and their pages


class _Query:
    """One statement: protocol position (token), state and result rows."""

    def __init__(self, qid, record, plan, dsn, ready_at, injected):
        self.id, self.record, self.plan, self.dsn = qid, record, plan, dsn
        self.slug = "y" + uuid.uuid4().hex
        self.created = time.time()
        self.ready_at, self.injected = ready_at, injected
        self.token, self.kind, self.next_kind = 0, "queued", "queued"
        self.response = None
        self.lock = threading.Lock()
        self.cancelled = False
        self.session = None
        self.columns = self.rows = None
        self.offset = 0
        self.done = False

    @property
    def state(self):
        return self.record["state"]

    def set_state(self, state):
        self.record["state"] = state


def _stats(q):
    state = q.state
    now = time.time()
    started = state in ("RUNNING", "FINISHED") or (state == "FAILED" and q.rows is not None)
    elapsed = int((now - q.created) * 1000)
    rows = len(q.rows) if q.rows is not None else 0
    st = {"state": state, "queued": state == "QUEUED", "scheduled": started,
          "nodes": 1 if started else 0, "totalSplits": 1 if started else 0,
          "queuedSplits": 0, "runningSplits": 1 if state == "RUNNING" else 0,
          "completedSplits": 1 if state == "FINISHED" else 0,
          "cpuTimeMillis": 0, "wallTimeMillis": elapsed if started else 0,
          "queuedTimeMillis": 0 if started else elapsed,
          "elapsedTimeMillis": elapsed, "processedRows": rows, "processedBytes": 0,
          "physicalInputBytes": 0, "physicalWrittenBytes": 0, "peakMemoryBytes": 0,
          "spilledBytes": 0}
    if state == "RUNNING" and q.rows:
        st["progressPercentage"] = round(100.0 * min(q.offset, rows) / rows, 1)
        st["runningPercentage"] = 100.0 - st["progressPercentage"]
    return st


# --------------------------------------------------------------------------
# The server


class _Headers(dict):
    """Request headers with case-insensitive look-up (keys kept in lower case)."""

    def __init__(self, items=()):
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(key.lower())

    def get(self, key, default=None):
        return super().get(key.lower(), default)


_PATH_RE = re.compile(r"^/v1/statement/(queued|executing)/([^/]+)/([^/]+)/(\d+)$")


class FakeTrino:
    """A Trino coordinator stand-in; see the module docstring."""

    def __init__(self, catalogs, page_rows=100, statement_timeout_ms=30000):
        if not catalogs:
            raise ValueError("FakeTrino needs at least one catalog")
        self.catalogs = dict(catalogs)
        self.page_rows = max(1, int(page_rows))
        self.statement_timeout_ms = statement_timeout_ms
        self.slow_seconds = 0
        self.fail_query_matching = None
        self.queries, self.requests, self.cancelled = [], [], []
        self._failures = []
        self._by_id = {}
        self._lock = threading.Lock()
        self._seq = 0
        self._coordinator = "".join(random.choice(string.ascii_lowercase) for _ in range(5))
        self._server = self._thread = None
        self.base = None

    def start(self):
        """Listens on a free 127.0.0.1 port; returns the base URL."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-trino", daemon=True)
        self._thread.start()
        self.base = "http://127.0.0.1:%d" % self._server.server_address[1]
        return self.base

    def stop(self):
        if self._server is None:
            return
        with self._lock:
            for q in self._by_id.values():
                q.cancelled = True
                if q.session is not None:
                    q.session.conn.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def fail_next(self, n, status=503):
        """The next n HTTP requests, whatever they are, get `status` and no processing."""
        with self._lock:
            self._failures.extend([int(status)] * int(n))

    def query(self, qid):
        """The record (an element of .queries) of a query id, or None."""
        q = self._by_id.get(qid)
        return q.record if q else None

    # -- request handling (called from the handler threads) --

    def _take_failure(self):
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _record(self, method, path, headers, body):
        req = {"method": method, "path": path, "headers": headers, "body": body, "status": None}
        with self._lock:
            self.requests.append(req)
        return req

    def _new_id(self):
        with self._lock:
            self._seq += 1
            seq = self._seq
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d_%H%M%S")
        return "%s_%05d_%s" % (stamp, seq, self._coordinator)

    def _injected_error(self, sql, plan):
        rule = self.fail_query_matching
        if not rule or not re.search(rule[0], sql, re.I):
            return None
        name = rule[1]
        message = rule[2] if len(rule) > 2 else None
        if message is None and name == "TABLE_NOT_FOUND" and plan.refs:
            cat, schema, table, pos = plan.refs[0]
            return TrinoError(name, "Table '%s.%s.%s' does not exist" % (cat, schema, table), pos, sql)
        return TrinoError(name, message or "%s (injected for queries matching %r)" % (name, rule[0]))

    def post_statement(self, headers, sql):
        """POST /v1/statement: (status, body, extra headers)."""
        user = headers.get("X-Trino-User") or ""
        if not user:
            return 401, "Basic authentication or X-Trino-User must be sent", {
                "WWW-Authenticate": 'Basic realm="Trino"'}
        if not sql.strip():
            return 400, "SQL statement is empty", {}
        catalog, schema = headers.get("X-Trino-Catalog"), headers.get("X-Trino-Schema")
        plan = _Planner(self.catalogs, catalog, schema).plan(sql)
        qid = self._new_id()
        record = {"id": qid, "sql": sql, "user": user, "catalog": catalog, "schema": schema,
                  "state": "QUEUED", "headers": headers, "source": headers.get("X-Trino-Source"),
                  "pg_sql": plan.pg_sql, "error": None}
        ready_at = time.time() + float(self.slow_seconds or 0)
        q = _Query(qid, record, plan, self.catalogs.get(plan.catalog), ready_at, self._injected_error(sql, plan))
        with self._lock:
            self.queries.append(record)
            self._by_id[qid] = q
        q.response = self._page(q, data=False)
        return 200, q.response, {}

    def _lookup(self, path):
        m = _PATH_RE.match(path)
        if not m:
            return None, None, None
        q = self._by_id.get(m.group(2))
        if q is None or q.slug != m.group(3):
            return None, None, None
        return q, m.group(1), int(m.group(4))

    def get_page(self, path):
        """GET nextUri: (status, body)."""
        q, kind, token = self._lookup(path)
        if q is None:
            return 404, "Query not found"
        with q.lock:
            if q.cancelled:
                if not q.done:
                    self._finish_error(q, TrinoError("USER_CANCELED", "Query was canceled"))
                return 200, q.response
            if token == q.token and kind == q.kind and q.response is not None:
                return 200, q.response
            if token != q.token + 1 or q.done or kind != q.next_kind:
                return 410, "Invalid token"
            q.token, q.kind = token, kind
            q.response = self._advance(q)
            return 200, q.response

    def delete_query(self, path):
        """DELETE nextUri: cancels a running query."""
        q, _kind, _token = self._lookup(path)
        if q is None:
            return 404, "Query not found"
        with self._lock:
            if q.done or q.cancelled:
                return 204, None
            q.cancelled = True
            self.cancelled.append(q.id)
            q.set_state("FAILED")
            q.record["error"] = "USER_CANCELED"
            session = q.session
        # Cancel again shortly after: the first cancel can land between
        # statements and be lost (Postgres cancels only what is running).
        for _ in range(3):
            if session is None or q.session is not session:
                break
            session.conn.cancel()
            time.sleep(0.05)
        return 204, None

    def _advance(self, q):
        pre = q.plan.error or q.injected
        if pre is not None:
            return self._finish_error(q, pre)
        now = time.time()
        if now < q.ready_at:
            time.sleep(min(0.1, q.ready_at - now))
            if q.cancelled:
                return self._finish_error(q, TrinoError("USER_CANCELED", "Query was canceled"))
            halfway = q.created + (q.ready_at - q.created) / 2
            q.set_state("QUEUED" if time.time() < halfway else "RUNNING")
            return self._page(q, data=False)
        if q.rows is None:
            q.set_state("RUNNING")
            try:
                self._execute(q)
            except TrinoError as e:
                return self._finish_error(q, e)
        elif q.offset >= len(q.rows):
            q.set_state("FINISHED")
            q.done = True
            return self._page(q, data=False)
        q.set_state("RUNNING")
        chunk = q.rows[q.offset:q.offset + self.page_rows]
        q.offset += len(chunk)
        return self._page(q, data=True, chunk=chunk)

    def _execute(self, q):
        if q.dsn is None:
            raise TrinoError("CATALOG_NOT_FOUND", "Catalog '%s' not found" % q.plan.catalog)
        try:
            session = _Session(q.dsn, q.record["schema"], self.statement_timeout_ms)
        except psycopg2.Error as e:
            raise TrinoError("JDBC_ERROR", "connection to the catalog database failed: %s" % str(e).strip())
        with self._lock:
            if q.cancelled:
                session.close()
                raise TrinoError("USER_CANCELED", "Query was canceled")
            q.session = session
        try:
            run = run_show_stats if q.plan.kind == "stats" else run_select
            q.columns, q.rows = run(session, q.plan)
        except psycopg2.Error as e:
            raise _error_from_pg(q.plan, e, q.cancelled, self.statement_timeout_ms, session.fresh_cursor)
        finally:
            with self._lock:
                q.session = None
            session.close()

    def _finish_error(self, q, err):
        q.set_state("FAILED")
        q.record["error"] = err.name
        q.done = True
        q.response = self._page(q, data=False, error=err)
        return q.response

    def _page(self, q, data, chunk=None, error=None):
        body = {"id": q.id, "infoUri": "%s/ui/query.html?%s" % (self.base, q.id)}
        if not q.done and error is None:
            q.next_kind = "queued" if q.state == "QUEUED" else "executing"
            body["nextUri"] = "%s/v1/statement/%s/%s/%s/%d" % (self.base, q.next_kind, q.id, q.slug, q.token + 1)
        if q.columns is not None and error is None:
            body["columns"] = q.columns
        if data and chunk:
            body["data"] = chunk
        body["stats"] = _stats(q)
        if error is not None:
            body["error"] = error.to_json()
        body["warnings"] = []
        return body


class _Handler(BaseHTTPRequestHandler):
    # Headers and body go out in separate sends: with Nagle's algorithm
    # and the client's delayed ACK each answer would wait 40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "FakeTrino/1"
    timeout = 30

    def log_message(self, *args):  # keep test output readable
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _reply(self, status, body, extra=None):
        if isinstance(body, (dict, list)):
            payload, ctype = json.dumps(body).encode(), "application/json"
        elif body is None:
            payload, ctype = b"", None
        else:
            payload, ctype = str(body).encode(), "text/plain; charset=utf-8"
        self.send_response(status, _STATUS_TEXT.get(status))
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        return status

    def _handle(self, method):
        fake = self.server.fake
        headers = _Headers(self.headers.items())
        body = self._body().decode("utf-8", "replace")
        path = self.path.split("?", 1)[0]
        req = fake._record(method, self.path, headers, body)
        failure = fake._take_failure()
        if failure is not None:
            req["status"] = self._reply(failure, _STATUS_TEXT.get(failure, "injected failure"))
            return
        req["status"] = self._route(fake, method, path, headers, body)

    def _route(self, fake, method, path, headers, body):
        if method == "POST" and path == "/v1/statement":
            status, out, extra = fake.post_statement(headers, body)
            return self._reply(status, out, extra)
        if path.startswith("/v1/statement/") and method in ("GET", "DELETE"):
            status, out = fake.get_page(path) if method == "GET" else fake.delete_query(path)
            return self._reply(status, out)
        if method == "GET" and path == "/v1/info":
            return self._reply(200, {"nodeVersion": {"version": "fake"}, "environment": "test",
                                     "coordinator": True, "starting": False, "uptime": "1.00m"})
        return self._reply(404, "Not Found")

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")
