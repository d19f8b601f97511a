"""The fake Trino coordinator (tests/fakes/fake_trino.py) against the demo database.

A small client written here speaks the Trino client protocol to the fake and
checks what a real coordinator would answer: multi-page results equal to the
same query through psql, TABLESAMPLE, Trino errors, cancellation, injected
HTTP failures, SHOW STATS and the X-Trino-User check.
"""
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cslib as cs

sys.path.insert(0, os.path.join(cs.SRC, "tests", "fakes"))
from fake_trino import FakeTrino  # noqa: E402

USER = "it-fake-trino"
PAGE_ROWS = 3


def request(method, url, body=None, headers=None):
    """Returns (status, JSON or text body, response headers)."""
    data = body.encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw, status, hdrs = r.read().decode(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, status, hdrs = e.read().decode(), e.code, e.headers
    is_json = "json" in (hdrs.get("Content-Type") or "") and raw
    return status, (json.loads(raw) if is_json else raw), hdrs


class Client:
    """The least a Trino client does: POST, follow nextUri, retry 502/503/504."""

    def __init__(self, base, user=USER, catalog=None, schema=None):
        self.base = base
        self.headers = {"X-Trino-User": user, "X-Trino-Source": "it-test"}
        if catalog:
            self.headers["X-Trino-Catalog"] = catalog
        if schema:
            self.headers["X-Trino-Schema"] = schema

    def _call(self, method, url, body=None, headers=None, retries=5):
        for _ in range(retries + 1):
            status, out, _h = request(method, url, body, headers)
            if status not in (502, 503, 504):
                break
            time.sleep(random.uniform(0.05, 0.1))
        if status != 200:
            raise AssertionError(f"{method} {url} answered {status}: {out!r}")
        return out

    def pages(self, sql):
        page = self._call("POST", self.base + "/v1/statement", sql, self.headers)
        pages = [page]
        while "nextUri" in page:
            page = self._call("GET", page["nextUri"])
            pages.append(page)
        return pages

    def execute(self, sql):
        """(columns, rows, pages); raises on a query error."""
        pages = self.pages(sql)
        if "error" in pages[-1]:
            raise AssertionError(f"query failed: {pages[-1]['error']['message']}")
        columns = next((p["columns"] for p in pages if "columns" in p), None)
        rows = [r for p in pages for r in p.get("data", [])]
        return columns, rows, pages

    def error(self, sql):
        pages = self.pages(sql)
        last = pages[-1]
        assert "error" in last, f"expected an error for {sql!r}, got {last}"
        assert last["stats"]["state"] == "FAILED", last["stats"]
        assert "nextUri" not in last
        return last["error"]


def psql_rows(sql):
    """Rows of a direct psql query, each value as psql prints it (NULL as <null>)."""
    out = subprocess.run(["psql", DSN, "-X", "-A", "-t", "-F", "\x1f", "-P", "null=<null>", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\x1f") for line in out.splitlines()]


def as_psql_text(v):
    if v is None:
        return "<null>"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, float):  # psql prints 17.0 as 17, like %g without its digit limit
        return repr(v)[:-2] if repr(v).endswith(".0") else repr(v)
    return str(v)


def check_same_as_psql(trino_sql, psql_sql, expected_types):
    cols, rows, pages = client().execute(trino_sql)
    assert [c["type"] for c in cols] == expected_types, cols
    expected = psql_rows(psql_sql)
    got = [[as_psql_text(v) for v in r] for r in rows]
    assert got == expected, f"first difference: {next((g, e) for g, e in zip(got, expected) if g != e)}"
    data_pages = [p for p in pages if "data" in p]
    assert len(data_pages) == math.ceil(len(expected) / PAGE_ROWS), len(data_pages)
    assert all(len(p["data"]) <= PAGE_ROWS for p in data_pages)
    return pages


def client(**kw):
    return Client(BASE, **kw)


def test_multi_page_results_equal_psql():
    pages = check_same_as_psql(
        "SELECT id, code, name, country, opened_on FROM demo_pg.bank.branches ORDER BY id",
        "SELECT id, code, name, country, opened_on FROM bank.branches ORDER BY id",
        ["integer", "varchar(8)", "varchar", "char(2)", "date"])
    first, last = pages[0], pages[-1]
    assert first["stats"]["state"] == "QUEUED" and "columns" not in first and "data" not in first
    assert "/v1/statement/queued/" in first["nextUri"]
    assert last["stats"]["state"] == "FINISHED" and "nextUri" not in last
    check_same_as_psql(
        "SELECT id, unit_price, weight_kg, active FROM \"demo_pg\".\"shop\".\"products\" ORDER BY id LIMIT 100",
        "SELECT id, unit_price, weight_kg, active FROM shop.products ORDER BY id LIMIT 100",
        ["integer", "decimal(10,2)", "double", "boolean"])
    check_same_as_psql(
        "SELECT id, created_at, national_id, salary FROM demo_pg.bank.customers c"
        " LEFT JOIN demo_pg.bank.employees e USING (id) ORDER BY id LIMIT 20",
        "SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC',"
        " national_id, salary FROM bank.customers c LEFT JOIN bank.employees e USING (id) ORDER BY id LIMIT 20",
        ["integer", "timestamp(6) with time zone", "varchar", "decimal(10,2)"])


def test_tablesample_bernoulli():
    c = client()
    _, rows, pages = c.execute("SELECT count(*) FROM demo_pg.bank.transactions TABLESAMPLE BERNOULLI (10)")
    assert 1500 <= rows[0][0] <= 2500, rows
    record = TR.query(pages[0]["id"])
    assert record["pg_sql"] == "SELECT count(*) FROM bank.transactions TABLESAMPLE BERNOULLI (10)", record
    _, rows, _ = c.execute("SELECT count(*) FROM demo_pg.bank.transactions TABLESAMPLE SYSTEM (100)")
    assert rows == [[20000]], rows
    cols, rows, _ = c.execute("SELECT * FROM demo_pg.shop.orders TABLESAMPLE BERNOULLI (50) LIMIT 10")
    assert len(rows) == 10 and [x["name"] for x in cols] == ["id", "customer_id", "ordered_at", "status", "total"]


def test_trino_only_syntax_runs():
    c = client(catalog="demo_pg", schema="bank")
    _, rows, _ = c.execute(
        "SELECT count_if(NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.counterparty_account_id)),"
        " count(*) FILTER (WHERE t.counterparty_account_id IS NOT NULL), approx_distinct(t.currency)"
        " FROM transactions t")
    expected = psql_rows(
        "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM bank.accounts a"
        " WHERE a.id = t.counterparty_account_id)), count(*) FILTER (WHERE t.counterparty_account_id IS NOT NULL),"
        " count(DISTINCT t.currency) FROM bank.transactions t")
    assert [[str(v) for v in rows[0]]] == expected, (rows, expected)
    _, rows, _ = client(catalog="demo_pg").execute("SELECT count(*) FROM shop.orders")
    assert rows == [[6000]]
    _, rows, _ = client().execute(
        "WITH y AS (SELECT extract(year FROM b.opened_on) AS y FROM demo_pg.bank.branches b WHERE b.id = 1)"
        " SELECT count(*) FROM y, generate_series(1, 3) g")
    assert rows == [[3]], rows


def test_missing_table_is_table_not_found():
    err = client().error("SELECT * FROM demo_pg.shop.nope")
    assert err["errorName"] == "TABLE_NOT_FOUND" and err["errorCode"] == 46, err
    assert err["errorType"] == "USER_ERROR"
    assert "'demo_pg.shop.nope'" in err["message"], err["message"]
    assert err["errorLocation"] == {"lineNumber": 1, "columnNumber": 15}, err
    err = client().error("SELECT missing_col FROM demo_pg.shop.orders")
    assert err["errorName"] == "COLUMN_NOT_FOUND" and err["errorCode"] == 47, err
    err = client().error("SELECT * FROM nocatalog.shop.orders")
    assert err["errorName"] == "CATALOG_NOT_FOUND", err


def test_trailing_semicolon_is_syntax_error():
    err = client().error("SELECT 1;")
    assert err["errorName"] == "SYNTAX_ERROR" and err["errorCode"] == 1, err
    assert err["errorLocation"] == {"lineNumber": 1, "columnNumber": 9}, err
    err = client().error("SELECT id\nFROM demo_pg.shop.orders;\n")
    assert err["errorName"] == "SYNTAX_ERROR" and err["errorLocation"]["lineNumber"] == 2, err
    _, rows, _ = client().execute("SELECT ';' AS semicolon")
    assert rows == [[";"]]


def test_delete_cancels():
    TR.slow_seconds = 5
    try:
        started = time.time()
        _, first, _ = request("POST", BASE + "/v1/statement", "SELECT count(*) FROM demo_pg.shop.orders",
                              {"X-Trino-User": USER})
        _, waiting, _ = request("GET", first["nextUri"])
        assert "data" not in waiting and waiting["stats"]["state"] in ("QUEUED", "RUNNING"), waiting
        status, body, _ = request("DELETE", waiting["nextUri"])
        assert status == 204 and body == "", (status, body)
        assert first["id"] in TR.cancelled
        status, after, _ = request("GET", waiting["nextUri"])
        assert status == 200 and after["error"]["errorName"] == "USER_CANCELED", after
        assert after["stats"]["state"] == "FAILED" and "nextUri" not in after
        assert TR.query(first["id"])["state"] == "FAILED"
        assert time.time() - started < 3
    finally:
        TR.slow_seconds = 0


def test_delete_cancels_running_statement():
    started = time.time()
    _, first, _ = request("POST", BASE + "/v1/statement", "SELECT pg_sleep(20), 1 AS one", {"X-Trino-User": USER})
    answers = []
    getter = threading.Thread(target=lambda: answers.append(request("GET", first["nextUri"])))
    getter.start()
    cs.wait_for(lambda: TR.query(first["id"])["state"] == "RUNNING", timeout=5, what="the statement to run")
    time.sleep(0.2)  # let Postgres start the statement
    assert request("DELETE", first["nextUri"])[0] == 204
    getter.join(timeout=10)
    status, page, _ = answers[0]
    assert status == 200 and page["error"]["errorName"] == "USER_CANCELED", page
    assert time.time() - started < 5 and first["id"] in TR.cancelled


def test_slow_query_waits_then_answers():
    TR.slow_seconds = 0.6
    try:
        started = time.time()
        _, rows, pages = client().execute("SELECT count(*) FROM demo_pg.bank.branches")
        assert rows == [[40]] and time.time() - started >= 0.6
        waiting = [p for p in pages[1:] if "data" not in p and "nextUri" in p and "columns" not in p]
        assert waiting, "expected pages without data while the query is slow"
    finally:
        TR.slow_seconds = 0


def test_injected_503_then_retry():
    TR.fail_next(2, status=503)
    assert request("POST", BASE + "/v1/statement", "SELECT 1", {"X-Trino-User": USER})[0] == 503
    assert request("GET", BASE + "/v1/info")[0] == 503
    assert request("GET", BASE + "/v1/info")[0] == 200
    _, first, _ = request("POST", BASE + "/v1/statement", "SELECT id FROM demo_pg.bank.branches ORDER BY id",
                          {"X-Trino-User": USER})
    TR.fail_next(1, status=503)
    assert request("GET", first["nextUri"])[0] == 503
    status, page, _ = request("GET", first["nextUri"])
    assert status == 200 and "error" not in page, page
    TR.fail_next(3, status=504)
    _, rows, _ = client().execute("SELECT count(*) FROM demo_pg.bank.branches")
    assert rows == [[40]]
    assert [r["status"] for r in TR.requests if r["status"] in (503, 504)][-3:] == [504, 504, 504]
    TR.fail_next(1, status=500)
    assert request("POST", BASE + "/v1/statement", "SELECT 1", {"X-Trino-User": USER})[0] == 500


def test_protocol_tokens():
    _, first, _ = request("POST", BASE + "/v1/statement", "SELECT id FROM demo_pg.bank.branches",
                          {"X-Trino-User": USER})
    _, p1, _ = request("GET", first["nextUri"])
    assert request("GET", first["nextUri"])[1] == p1, "the current token must answer the same page again"
    skipped = p1["nextUri"].rsplit("/", 1)[0] + "/99"
    assert request("GET", skipped)[0] == 410
    unknown = first["nextUri"].replace(first["id"], "20200101_000000_99999_zzzzz")
    assert request("GET", unknown)[0] == 404
    assert request("DELETE", unknown)[0] == 404


def test_fail_query_matching():
    TR.fail_query_matching = ("orders", "TABLE_NOT_FOUND")
    try:
        err = client().error("SELECT count(*) FROM demo_pg.shop.orders")
        assert err["errorName"] == "TABLE_NOT_FOUND" and "demo_pg.shop.orders" in err["message"], err
        _, rows, _ = client().execute("SELECT count(*) FROM demo_pg.bank.branches")
        assert rows == [[40]]
    finally:
        TR.fail_query_matching = None


def stats_by_column(table):
    cols, rows, _ = client().execute(f"SHOW STATS FOR {table}")
    assert [(c["name"], c["type"]) for c in cols] == [
        ("column_name", "varchar"), ("data_size", "double"), ("distinct_values_count", "double"),
        ("nulls_fraction", "double"), ("row_count", "double"), ("low_value", "varchar"),
        ("high_value", "varchar")], cols
    assert rows[-1][0] is None, "the summary row comes last with column_name NULL"
    return {r[0]: r for r in rows}


def test_show_stats():
    stats = stats_by_column('"demo_pg"."bank"."customers"')
    assert len(stats) == 13, sorted(k or "" for k in stats)
    assert stats[None][4] == 3000.0 and stats[None][1:4] == [None, None, None], stats[None]
    assert 0.2 <= stats["national_id"][3] <= 0.3, stats["national_id"]
    assert stats["id"][2] == 3000.0 and stats["id"][4] is None, stats["id"]
    assert stats["id"][1] is None and stats["email"][1] > 0, (stats["id"], stats["email"])
    cs.query(DSN, "CREATE TABLE shop.never_analyzed AS SELECT g AS id FROM generate_series(1, 10) g")
    stats = stats_by_column("demo_pg.shop.never_analyzed")
    assert stats[None][4] is None and stats["id"][1:] == [None] * 6, stats
    err = client().error("SHOW STATS FOR demo_pg.shop.nope")
    assert err["errorName"] == "TABLE_NOT_FOUND", err


def test_missing_user_refused():
    before = len(TR.queries)
    for headers in ({}, {"X-Trino-User": ""}):
        status, body, hdrs = request("POST", BASE + "/v1/statement", "SELECT 1", headers)
        assert status == 401 and "X-Trino-User" in body, (status, body)
        assert hdrs.get("WWW-Authenticate", "").startswith("Basic"), dict(hdrs)
    assert len(TR.queries) == before
    status, body, _ = request("POST", BASE + "/v1/statement", "", {"X-Trino-User": USER})
    assert status == 400 and "empty" in body


def test_import_names():
    import trino as alias
    assert alias.FakeTrino is FakeTrino, "tests may import the fake as `trino` or `fake_trino`"


def test_recorded_headers():
    _, _, pages = client(catalog="demo_pg", schema="shop").execute("SELECT 1")
    q = TR.query(pages[0]["id"])
    assert q["user"] == USER and q["catalog"] == "demo_pg" and q["schema"] == "shop", q
    assert q["headers"]["x-trino-source"] == "it-test" and q["state"] == "FINISHED", q


DSN = cs.new_db("fake_trino")
cs.load_demo(DSN)
TR = FakeTrino(catalogs={"demo_pg": DSN}, page_rows=PAGE_ROWS)
BASE = TR.start()
try:
    cs.main([test_multi_page_results_equal_psql, test_tablesample_bernoulli, test_trino_only_syntax_runs,
             test_missing_table_is_table_not_found, test_trailing_semicolon_is_syntax_error,
             test_delete_cancels, test_delete_cancels_running_statement, test_slow_query_waits_then_answers, test_injected_503_then_retry,
             test_protocol_tokens, test_fail_query_matching, test_show_stats, test_missing_user_refused,
             test_import_names, test_recorded_headers])
finally:
    TR.stop()
