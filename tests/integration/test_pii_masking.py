"""`catalog-sync once` over the demo database with PII tagging and masking:
discovery -> profile (the whole table sampled) -> pii_tag -> mask.  Every
table gets a `sample_masked` aspect, and no e-mail, phone number, IBAN or
card number of the demo data -- planted or generated -- appears in any
masked sample, the report, the logs or anywhere in the state store."""
import json
import os
import re

import cslib as cs

state = cs.new_db("mask_state")
demo = cs.new_db("mask_demo")
cs.load_demo(demo)
db = cs.dsn_db(demo)
wd = cs.Workdir("mask")
passes = cs.demo_passes(sample_percent=100, extra=[
    {"name": "pii_tag", "plugin": "pii_tag", "kind": "entity",
     "inputs": ["table", "sample", "profile"], "outputs": ["pii"]},
    {"name": "mask", "plugin": "mask", "kind": "entity",
     "inputs": ["sample", "pii"], "outputs": ["sample_masked"]}])
mpath = cs.write_manifest(wd.file("m.json"), cs.manifest(state, demo, passes))
logs = []
run = {}


def fqn(table):
    return f"demo.{db}.{table}"


def demo_tables():
    return [t for (t,) in cs.query(demo, """
        select table_schema || '.' || table_name from information_schema.tables
         where table_schema in ('bank', 'shop') and table_type = 'BASE TABLE'
         order by 1""")]


def column_values(table, column):
    return [v for (v,) in cs.query(demo, f"select distinct {column} from {table} "
                                         f"where {column} is not null")]


def free_text_emails(table, column):
    """The e-mail addresses written inside a free-text column."""
    rows = cs.query(demo, f"""select distinct (regexp_matches({column},
                                  '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]+', 'g'))[1]
                                from {table} where {column} like '%@%'""")
    return [v for (v,) in rows]


def pii_values():
    """{kind: [values]}: every PII value of the demo data that must not leak."""
    values = {
        "planted": list(cs.PLANTED),
        "email": column_values("bank.customers", "email")
        + column_values("bank.employees", "email")
        + column_values("shop.customers", "email")
        + column_values("shop.suppliers", "contact_email"),
        "phone": column_values("bank.customers", "phone")
        + column_values("shop.customers", "phone")
        + column_values("shop.carriers", "phone"),
        "iban": column_values("bank.accounts", "iban"),
        "card": column_values("bank.cards", "card_number"),
        "email in free text": free_text_emails("bank.transactions", "description")
        + free_text_emails("shop.reviews", "comment"),
    }
    for kind, vals in values.items():
        assert vals, f"demo data changed: no {kind} values found"
    return values


def state_store_text():
    """Every row of every catalog_sync table, as JSON text."""
    tables = [t for (t,) in cs.query(state, """
        select table_name from information_schema.tables
         where table_schema = 'catalog_sync' and table_type = 'BASE TABLE'""")]
    assert "aspects" in tables and "audit_log" in tables, tables
    return "\n".join(
        cs.scalar(state, f"select coalesce(string_agg(row_to_json(t)::text, E'\\n'), '') "
                         f"from catalog_sync.{t} t") for t in tables)


def test_run_completes():
    report_path = wd.file("report.json")
    p = cs.run_cli("once", "-m", mpath, "--report", report_path, "--log-format", "json")
    logs.append(p.stdout + p.stderr)
    assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-3000:]}"
    with open(report_path) as f:
        run["text"] = f.read()
    run["report"] = json.loads(run["text"])
    summary = run["report"]["summary"]
    tables = demo_tables()
    assert summary["failed"] == 0, run["report"].get("failures")
    assert summary["done"] == len(tables), (summary, tables)


def test_every_table_has_a_masked_sample():
    entities = run["report"]["entities"]
    stored = {f for (f,) in cs.query(state, """select fqn from catalog_sync.aspects
                                                where aspect = 'sample_masked'""")}
    for table in demo_tables():
        e = entities.get(fqn(table))
        assert e is not None and e["status"] == "done", (table, e)
        masked = e["aspects"].get("sample_masked")
        assert masked is not None, (table, sorted(e["aspects"]))
        assert "sample" not in e["aspects"], "the raw sample must never be persisted"
        assert fqn(table) in stored, f"no sample_masked for {table} in the state store"
        n = cs.scalar(demo, f"select count(*) from {table}")
        assert len(masked["rows"]) == n, (table, len(masked["rows"]), n)
        assert [c["name"] for c in masked["columns"]] == \
            [c for (c,) in cs.query(demo, """select column_name from information_schema.columns
                                             where table_schema || '.' || table_name = %s
                                             order by ordinal_position""", (table,))], table


def test_pii_aspect_tags_the_obvious_columns():
    entities = run["report"]["entities"]
    expected = [("bank.customers", "email", "EMAIL"), ("bank.accounts", "iban", "IBAN"),
                ("bank.cards", "card_number", "CREDIT_CARD"),
                ("shop.customers", "email", "EMAIL")]
    for table, column, entity in expected:
        pii = entities[fqn(table)]["aspects"].get("pii")
        assert pii is not None, f"no pii aspect for {table}"
        col = pii["columns"].get(column)
        assert col is not None, (table, column, sorted(pii["columns"]))
        assert col.get("status") == "tagged" and col.get("entity") == entity, (table, column, col)
        masked = entities[fqn(table)]["aspects"]["sample_masked"]
        mcol = next(c for c in masked["columns"] if c["name"] == column)
        assert mcol["masked"] is True and mcol["entity"] == entity, (table, mcol)
        idx = [c["name"] for c in masked["columns"]].index(column)
        ph = re.compile(rf"^<{entity}_[0-9]+>$")
        assert all(r[idx] is None or ph.match(r[idx]) for r in masked["rows"]), (table, column)


def test_free_text_keeps_its_words():
    masked = run["report"]["entities"][fqn("bank.transactions")]["aspects"]["sample_masked"]
    idx = [c["name"] for c in masked["columns"]].index("description")
    texts = [r[idx] for r in masked["rows"] if r[idx] and r[idx].startswith("Virement pour")]
    assert texts, "demo data changed: no 'Virement pour' transaction"
    for t in texts:
        assert re.fullmatch(r"Virement pour <EMAIL_[0-9]+>", t), t
    assert masked["placeholders"].get("EMAIL", 0) >= 1, masked["placeholders"]


def leaked(values, text):
    """The values that occur in text.  One `in` per value over megabytes of
    text would take minutes, so the text is cut into maximal runs of the
    characters the values are made of, and each run's substrings of the
    values' lengths are looked up."""
    vals = set(values)
    lengths = sorted({len(v) for v in vals})
    run_re = re.compile("[" + "".join(re.escape(c) for c in sorted(set("".join(vals)))) + "]+")
    found = set()
    for run in set(run_re.findall(text)):
        for n in lengths:
            if n > len(run):
                break
            found.update(run[i:i + n] for i in range(len(run) - n + 1) if run[i:i + n] in vals)
    return found


def test_no_pii_value_leaks():
    entities = run["report"]["entities"]
    masked = "\n".join(json.dumps(e["aspects"].get("sample_masked"), ensure_ascii=False)
                       for e in entities.values())
    places = (("sample_masked", masked), ("report", run["text"]),
              ("logs", "".join(logs)), ("state store", state_store_text()))
    checked = 0
    for kind, values in pii_values().items():
        # The checker itself must be able to fail.
        probe = f'{{"x": "see {values[-1]}, ok"}}'
        assert values[-1] in leaked(values, probe), (kind, values[-1])
        for where, text in places:
            found = leaked(values, text)
            assert not found, f"{len(found)} {kind} values found in the {where}, e.g. {sorted(found)[:3]}"
        checked += len(values)
    assert checked > 10000, f"only {checked} values checked: demo data changed?"
    assert cs.scalar(demo, "select count(*) from bank.customers where email = %s",
                     (cs.PLANTED[0],)) == 1, "the canary customer is missing from the demo data"


cs.main([test_run_completes, test_every_table_has_a_masked_sample,
         test_pii_aspect_tags_the_obvious_columns, test_free_text_keeps_its_words,
         test_no_pii_value_leaks])
