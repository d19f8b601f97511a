"""Profiling benchmark (not a test): `catalog-sync once` with discovery_postgres
+ profile_postgres over N demo-style tables, against the time Postgres needs
to execute the same statements with the same parallelism from psql.

  (a) wall time of `catalog-sync once`, from process start to exit, with a
      `full: true` discovery so that every run profiles every table;
  (b) the baseline: the three discovery catalog queries (one psql), then
      per table the size query and the sampling query that profile_postgres
      sends, split round-robin over THREADS files run by THREADS parallel
      `psql -X -q -f FILE -o /dev/null`, timed from the start of the first
      psql to the end of the last.

The statements of (b) are written here after plugin/discovery_postgres/
catalog.c and plugin/profile_postgres/profile_postgres.c, then checked
against what the daemon really sends: one unmeasured run with
log_statement=all on the source database, whose server log must hold
exactly these statements (per table: size query, then sampling query, on one
connection).  A plugin that changes its SQL makes this benchmark fail
rather than compare against stale statements.

After one warm-up of each side, the state database is ANALYZEd (as a
long-lived state store is: its statistics predate the run being reported
on), then both sides are measured REPEAT times, interleaved; the medians,
their ratio, and where the `once` time went (from its log lines) are
printed.  Run by scripts/bench.sh."""
import collections
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import cslib as cs  # noqa: E402

N = int(os.environ.get("CS_BENCH_TABLES", "1000"))
THREADS = int(os.environ.get("CS_BENCH_THREADS", "4"))
REPEAT = int(os.environ.get("CS_BENCH_REPEAT", "3"))
# Rows per table: a number, or "demo" for the demo database's table sizes.
ROWS = os.environ.get("CS_BENCH_ROWS", "200")
SAMPLE_PERCENT = 10
SAMPLE_ROWS = 1000
SCHEMA = "bench"
TARGET = 1.3

# ---- the statements, as the plugins build them ----------------------------

# plugin/discovery_postgres/catalog.c: TABLES_CTE, tables_sql, columns_sql,
# constraints_sql; parameters $1 schemas, $2 exclude_schemas, $3 relkinds.
TABLES_CTE = (
    "WITH t AS ("
    " SELECT c.oid, n.nspname, c.relname, c.relkind"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE strpos($3, c.relkind::text) > 0 AND NOT c.relispartition"
    "  AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    "  AND n.nspname NOT LIKE 'pg\\_%'"
    "  AND ($1::jsonb = '[]'::jsonb"
    "       OR n.nspname IN (SELECT jsonb_array_elements_text($1::jsonb)))"
    "  AND n.nspname NOT IN (SELECT jsonb_array_elements_text($2::jsonb)))")

DISC_TABLES = (
    "/* catalog-sync discovery: tables */ " + TABLES_CTE +
    " SELECT t.oid::text, t.nspname, t.relname, t.relkind::text,"
    "  d.description, current_database()"
    " FROM t LEFT JOIN pg_catalog.pg_description d"
    "  ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_class'::regclass"
    "  AND d.objsubid = 0"
    " ORDER BY t.oid")

DISC_COLUMNS = (
    "/* catalog-sync discovery: columns */ " + TABLES_CTE +
    " SELECT a.attrelid::text, a.attnum::text, a.attname,"
    "  pg_catalog.format_type(a.atttypid, a.atttypmod),"
    "  coalesce(bt.typname, ty.typname), coalesce(bt.typtype, ty.typtype)::text,"
    "  coalesce(bt.typcategory, ty.typcategory)::text, a.attnotnull::text,"
    "  d.description, a.atttypmod::text, et.typname"
    " FROM t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid"
    " JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid"
    " LEFT JOIN pg_catalog.pg_type bt"
    "  ON ty.typtype = 'd' AND bt.oid = ty.typbasetype"
    " LEFT JOIN pg_catalog.pg_type et"
    "  ON et.oid = coalesce(bt.typelem, ty.typelem)"
    "  AND coalesce(bt.typcategory, ty.typcategory) = 'A'"
    " LEFT JOIN pg_catalog.pg_description d"
    "  ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::regclass"
    "  AND d.objsubid = a.attnum"
    " WHERE a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attrelid, a.attnum")


def key_names(keys, rel):
    return ("(SELECT json_agg(a.attname ORDER BY k.o)"
            f"  FROM unnest({keys}) WITH ORDINALITY AS k(n, o)"
            "  JOIN pg_catalog.pg_attribute a"
            f"   ON a.attrelid = {rel} AND a.attnum = k.n)::text")


DISC_CONSTRAINTS = (
    "/* catalog-sync discovery: constraints */ " + TABLES_CTE +
    " SELECT con.conrelid::text, con.contype::text, con.conname,"
    "  " + key_names("con.conkey", "con.conrelid") + ","
    "  fn.nspname, fc.relname,"
    "  " + key_names("con.confkey", "con.confrelid") +
    " FROM t JOIN pg_catalog.pg_constraint con ON con.conrelid = t.oid"
    " LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid"
    " LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace"
    " WHERE con.contype IN ('p', 'u', 'f')"
    " ORDER BY con.conrelid, con.contype, con.conname")

# discovery_postgres's parameters for this manifest: schemas ["bench"], the
# default exclude_schemas ["catalog_sync"], no views.
DISC_PARAMS = {1: f'["{SCHEMA}"]', 2: '["catalog_sync"]', 3: "rp"}

# plugin/profile_postgres/profile_postgres.c: catalog_sql ($1 schema,
# $2 table), then sampling_sql().
PROFILE_SIZE = (
    "/* catalog-sync profile: size */ "
    "SELECT CASE WHEN c.relkind = 'p' THEN"
    "  (SELECT CASE WHEN bool_and(l.reltuples >= 0) THEN sum(l.reltuples)"
    "   ELSE -1 END FROM pg_catalog.pg_partition_tree(c.oid) pt"
    "   JOIN pg_catalog.pg_class l ON l.oid = pt.relid WHERE pt.isleaf)"
    "  ELSE c.reltuples END::float8::text,"
    " c.relpages::text, c.relkind::text"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = $1 AND c.relname = $2")

# The host's session set-up on each source connection (host/sqlconn.c).
SESSION_SETUP = "SET statement_timeout = 30000"


def literal(v):
    return "'" + v.replace("'", "''") + "'"


def bind(sql, params):
    """The statement with its $n replaced by literals, as psql sends it."""
    for n in sorted(params, reverse=True):
        sql = sql.replace(f"${n}", literal(params[n]))
    return sql


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def sampling_sql(table, reltuples):
    """profile_postgres's rule: TABLESAMPLE only when sample_percent < 100
    and reltuples >= min_rows_for_sampling (10000)."""
    clause = (f" TABLESAMPLE BERNOULLI ({SAMPLE_PERCENT:g})"
              if SAMPLE_PERCENT < 100 and reltuples >= 10000 else "")
    return (f"/* catalog-sync profile: sample */ SELECT * FROM "
            f"{quote_ident(SCHEMA)}.{quote_ident(table)}{clause} LIMIT {SAMPLE_ROWS}")


def discovery_statements():
    return [bind(s, DISC_PARAMS) for s in (DISC_TABLES, DISC_COLUMNS, DISC_CONSTRAINTS)]


def table_statements(table, reltuples):
    return [bind(PROFILE_SIZE, {1: SCHEMA, 2: table}), sampling_sql(table, reltuples)]


# ---- checking them against the server log ---------------------------------

LOG_STMT = re.compile(r"\[(\d+)\] LOG:  (?:execute [^:]*|statement): (.*)$")
LOG_PARAMS = re.compile(r"\[(\d+)\] DETAIL:  parameters: (.*)$")
PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")


def logged_statements(text):
    """{backend pid: [statement with parameters bound]} from a server log."""
    per_pid = collections.defaultdict(list)
    for line in text.splitlines():
        m = LOG_STMT.search(line)
        if m:
            per_pid[m.group(1)].append(m.group(2))
            continue
        m = LOG_PARAMS.search(line)
        if m and per_pid[m.group(1)]:
            params = {int(n): v[1:-1].replace("''", "'")
                      for n, v in PARAM.findall(m.group(2)) if v != "NULL"}
            per_pid[m.group(1)][-1] = bind(per_pid[m.group(1)][-1], params)
    return per_pid


def check_statements(per_pid, tables):
    """Raises unless the log holds exactly the baseline's statements: the
    discovery queries once, and per table its two statements back to back
    on one connection."""
    disc = discovery_statements()
    pairs = {t: table_statements(t, r) for t, r in tables.items()}
    by_first = {p[0]: t for t, p in pairs.items()}
    seen_disc, seen = [], collections.Counter()
    for pid, stmts in per_pid.items():
        stmts = [s for s in stmts if s != SESSION_SETUP]
        i = 0
        while i < len(stmts):
            s = stmts[i]
            if s.startswith("/* catalog-sync discovery:"):
                if s not in disc:
                    raise AssertionError(f"discovery sent a statement the baseline "
                                         f"does not have:\n  {s}\nexpected one of:\n  "
                                         + "\n  ".join(disc))
                seen_disc.append(s)
                i += 1
                continue
            t = by_first.get(s)
            if t is None or stmts[i + 1:i + 2] != pairs[t][1:]:
                got = stmts[i:i + 2]
                raise AssertionError(
                    f"backend {pid} ran statements the baseline does not have:\n  "
                    + "\n  ".join(got) + "\nexpected per table, e.g.:\n  "
                    + "\n  ".join(next(iter(pairs.values()))))
            seen[t] += 1
            i += 2
    if sorted(seen_disc) != sorted(disc):
        raise AssertionError(f"expected the 3 discovery queries once, saw {len(seen_disc)}")
    if set(seen) != set(tables) or any(c != 1 for c in seen.values()):
        raise AssertionError(f"expected each of {len(tables)} tables profiled once, "
                             f"saw {len(seen)} tables, {sum(seen.values())} profiles")


# ---- the two measurements --------------------------------------------------

def log_time(stderr, marker):
    """Epoch seconds of the first text-format log line containing marker."""
    for line in stderr.splitlines():
        if marker in line and line[:4].isdigit():
            ts = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
            return ts.replace(tzinfo=datetime.timezone.utc).timestamp()
    return None


def phases(stderr, start, end):
    """Where the wall time of one `once` went, from its log lines: start
    to worker ready, ready to run completed, completed to drain requested
    (noticing completion + the run report), drain to exit."""
    ready = log_time(stderr, ") ready")
    done = log_time(stderr, " completed: ")
    drain = log_time(stderr, "draining: finishing") or log_time(stderr, "did not drain in time")
    if None in (ready, done, drain):
        return None
    return {"start": ready - start, "run": done - ready, "report": drain - done,
            "drain+exit": end - drain,
            "killed": "did not drain in time" in stderr}


def run_once(mpath, state, report=None):
    """One `once`, timed from process start to exit.  Without a report the
    state store is asked whether every table was profiled in that run."""
    wall0, start = time.time(), time.monotonic()
    args = [cs.BIN, "once", "-m", mpath, "--log-format", "text", "--no-progress"]
    p = subprocess.run(args + (["--report", report] if report else []),
                       capture_output=True, text=True)
    secs = time.monotonic() - start
    if p.returncode != 0:
        raise AssertionError(f"catalog-sync once exited {p.returncode}:\n{p.stderr[-3000:]}")
    run_id, done, failed = cs.query(state, """select r.id,
        count(*) filter (where j.status = 'done'), count(*) filter (where j.status = 'failed')
        from catalog_sync.runs r join catalog_sync.jobs j on j.run_id = r.id
        where r.id = (select max(id) from catalog_sync.runs) group by r.id""")[0]
    profiled = cs.scalar(state, """select count(*) from catalog_sync.aspects
                                    where aspect = 'profile' and run_id = %s""", (run_id,))
    if done != N or failed != 0 or profiled != N:
        raise AssertionError(f"expected {N} tables profiled in run {run_id}: {done} done, "
                             f"{failed} failed, {profiled} with a profile")
    if report:
        with open(report) as f:
            assert len(json.load(f)["entities"]) == N
    return secs, phases(p.stderr, wall0, wall0 + secs)


def run_baseline(source, disc_file, files):
    """Discovery first (the source stage ends before profiling starts), then
    the per-table statements with THREADS parallel psql."""
    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", source]
    start = time.monotonic()
    subprocess.run([*psql, "-f", disc_file, "-o", "/dev/null"], check=True)
    procs = [subprocess.Popen([*psql, "-f", f, "-o", "/dev/null"]) for f in files]
    rcs = [p.wait() for p in procs]
    secs = time.monotonic() - start
    if any(rcs):
        raise AssertionError(f"psql exited {rcs}")
    return secs


def write_baseline(wd, tables):
    disc_file = wd.file("discovery.sql")
    with open(disc_file, "w") as f:
        f.write(SESSION_SETUP + ";\n")
        for s in discovery_statements():
            f.write(s + ";\n")
    files = [wd.file(f"profile-{i}.sql") for i in range(THREADS)]
    outs = [open(p, "w") for p in files]
    for o in outs:
        o.write(SESSION_SETUP + ";\n")
    for i, (t, r) in enumerate(sorted(tables.items())):
        for s in table_statements(t, r):
            outs[i % THREADS].write(s + ";\n")
    for o in outs:
        o.close()
    return disc_file, files


def verify_statements(source, admin, mpath, state, tables):
    log = os.path.join(cs.PGDIR, "server.log")
    db = cs.dsn_db(source)
    start = os.path.getsize(log)
    cs.query(admin, f"ALTER DATABASE {db} SET log_statement = 'all'")
    try:
        run_once(mpath, state)
    finally:
        cs.query(admin, f"ALTER DATABASE {db} RESET log_statement")
    with open(log, errors="replace") as f:
        f.seek(start)
        check_statements(logged_statements(f.read()), tables)


def fmt(xs):
    return " ".join(f"{x:.2f}" for x in xs)


def main():
    cs.port()  # skips without a cluster
    wd = cs.Workdir("bench-profile")
    admin = cs.dsn("postgres")
    source, state = cs.new_db("bench_profile_src"), cs.new_db("bench_profile_state")
    try:
        t0 = time.monotonic()
        cs.psql_file(source, os.path.join(cs.SRC, "scripts", "bench-tables.sql"),
                    {"ntables": N, "nrows": ROWS})
        load_secs = time.monotonic() - t0
        tables = dict(cs.query(source, """select c.relname, c.reltuples from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = %s and c.relkind = 'r'""", (SCHEMA,)))
        assert len(tables) == N, f"expected {N} tables in schema {SCHEMA}, found {len(tables)}"
        passes = cs.demo_passes(schemas=(SCHEMA,))
        passes[0]["config"]["full"] = True  # every run profiles every table
        passes[1]["config"].update(sample_percent=SAMPLE_PERCENT, sample_rows=SAMPLE_ROWS)
        mpath = cs.write_manifest(wd.file("m.json"),
                                  cs.manifest(state, source, passes, workers=THREADS))
        report = wd.file("report.json")
        disc_file, files = write_baseline(wd, tables)

        verify_statements(source, admin, mpath, state, tables)
        run_once(mpath, state)  # warm-up
        run_baseline(source, disc_file, files)
        # A long-lived state store has statistics that predate the run
        # being reported on; make that so now rather than whenever
        # autovacuum gets to it, so that every measured run sees it.
        cs.query(state, "ANALYZE")
        once, split, base = [], [], []
        for _ in range(REPEAT):
            secs, ph = run_once(mpath, state)
            once.append(secs)
            split.append(ph)
            base.append(run_baseline(source, disc_file, files))
        # --report is optional output: its cost is measured on its own.
        with_report = [run_once(mpath, state, report)[0] for _ in range(REPEAT)]
    finally:
        for d in (source, state):
            cs.query(admin, f"DROP DATABASE IF EXISTS {cs.dsn_db(d)} WITH (FORCE)")
        shutil.rmtree(wd.path, ignore_errors=True)

    a, b = statistics.median(once), statistics.median(base)
    ratio = a / b
    rows = "the demo database's table sizes (8 to 20,000 rows)" if ROWS == "demo" else f"{ROWS} rows each"
    print(f"tables: {N} in schema {SCHEMA} (8 columns, {rows}, loaded in {load_secs:.1f} s); "
          f"{THREADS} threads / {THREADS} psql; sample_percent {SAMPLE_PERCENT}, sample_rows {SAMPLE_ROWS}")
    sampled = sum(1 for t, r in tables.items() if "TABLESAMPLE" in sampling_sql(t, r))
    print(f"statements per run: 3 discovery + {2 * N} profile, TABLESAMPLE in {sampled} of {N} "
          f"sampling queries (matched against the server log of a run with log_statement=all)")
    print(f"(a) catalog-sync once, process start to exit: median {a:.2f} s  [{fmt(once)}]")
    if all(split):
        for k in ("start", "run", "report", "drain+exit"):
            xs = [ph[k] for ph in split]
            print(f"      {k:<11} median {statistics.median(xs):6.2f} s  [{fmt(xs)}]")
        killed = sum(ph["killed"] for ph in split)
        if killed:
            print(f"      worker SIGKILLed by the master (\"did not drain in time\") in {killed} of {len(split)} runs")
    print(f"(a') the same with --report FILE:             median {statistics.median(with_report):.2f} s  [{fmt(with_report)}]")
    print(f"(b) psql baseline, same statements:          median {b:.2f} s  [{fmt(base)}]")
    print(f"ratio (a)/(b): {ratio:.2f} (target <= {TARGET}): {'met' if ratio <= TARGET else 'MISSED'}")
    if all(split):
        r = statistics.median(ph["run"] for ph in split)
        print(f"ratio of the run phase alone to (b): {r / b:.2f}")

if __name__ == "__main__":
    main()
