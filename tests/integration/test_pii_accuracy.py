"""pii_tag end to end on a slice of the labeled corpus (tests/pii): the
fr_FR and de_DE schemas and every tricky negative, through discovery,
profile and pii_tag in `catalog-sync once`.  Checksum-backed columns must
all be tagged with the right entity, no tricky negative may be tagged, a
sparse PII column must not be silent, and no sampled value may reach a
`pii` aspect.  Then, when the shared datasets are there ($CS_SHARED_DIR),
Chinook against its hand labels (tests/pii/shared_labels.json).

The full corpus and the other datasets are measured by
tests/bench/bench_pii.py (scripts/bench-pii.sh), not here."""
import json
import os
import sys

import cslib as cs

sys.path.insert(0, os.path.join(cs.SRC, "tests", "pii"))
import gen_corpus  # noqa: E402
import piieval  # noqa: E402

LOCALES = ["fr_FR", "de_DE"]
ROWS = 100
SHARED = os.environ.get("CS_SHARED_DIR") or os.path.join(cs.SRC, "..", "shared")
# Chinook's labeled columns are all checksum-free (names, addresses,
# postcodes, phones, e-mails, a birth date) and every one of them carries
# an exact name keyword (`email`, `phone`, `fax`, `first_name`,
# `postal_code`, `address`, `birth_date`).  E-mail and phone are
# structure-validated: every one of those columns must be found.  For the
# weak types we allow one miss in ten: Chinook's postcodes come from 24
# countries in their own formats, some only 4 digits.
CHINOOK_RECALL = 0.9
CHINOOK_PRECISION = 0.9

if not os.path.exists(os.path.join(cs.PASS_DIR, "pii_tag.so")):
    cs.skip(f"pii_tag.so is not built in {cs.PASS_DIR!r}")

wd = cs.Workdir("pii-accuracy")
PII_PASS = {"name": "pii_tag", "plugin": "pii_tag", "kind": "entity",
            "inputs": ["table", "sample", "profile", "pii_llm?"], "outputs": ["pii"]}


def run_once(name, source, schemas):
    """`once` with a fresh state store; returns (pii, profile) aspects."""
    state = cs.new_db(f"piiacc_state_{name}")
    passes = cs.demo_passes(schemas=schemas, extra=[dict(PII_PASS)])
    passes[1]["config"]["sample_rows"] = 1000
    mpath = cs.write_manifest(wd.file(f"{name}.json"), cs.manifest(state, source, passes))
    p = cs.run_cli("once", "-m", mpath, "--log-format", "text", "--no-progress")
    assert p.returncode == 0, f"once ({name}) exited {p.returncode}:\n{p.stderr[-3000:]}"
    failed = cs.query(state, "select fqn, last_error from catalog_sync.jobs where status = 'failed'")
    assert not failed, f"failed jobs in the {name} run: {failed[:5]}"
    return (piieval.read_aspects(cs.query, state, "pii"),
            piieval.read_aspects(cs.query, state, "profile"))


sql, labels = gen_corpus.generate(LOCALES, tricky=True, rows=ROWS)
sql_path = wd.file("corpus.sql")
with open(sql_path, "w", encoding="utf-8") as f:
    f.write(sql)
corpus_db = cs.new_db("piiacc_corpus")
cs.psql_file(corpus_db, sql_path)
pii, _ = run_once("corpus", corpus_db, gen_corpus.schemas(LOCALES))
result = piieval.evaluate(labels, pii)
piieval.report(result, "corpus slice " + "+".join(LOCALES) + "+tricky")


def test_labels_are_current():
    committed = piieval.corpus_labels(gen_corpus.schemas(LOCALES))
    assert committed == labels, \
        "tests/pii/corpus_labels.json is stale: run tests/pii/gen_corpus.py --sql /dev/null"


def test_every_table_has_a_pii_aspect():
    tables = {k.rsplit(".", 1)[0] for k in labels}
    assert tables <= set(pii), f"no pii aspect for {sorted(tables - set(pii))}"


def test_checksum_backed_columns_all_found():
    want = {k: v["entity"] for k, v in labels.items()
            if v["entity"] in piieval.CHECKSUM and not v.get("sparse")}
    assert len(want) >= 8, f"the slice lost its checksum-backed columns: {want}"
    for key, entity in sorted(want.items()):
        entry = piieval.prediction(pii, key)
        assert entry.get("status") == "tagged" and entry.get("entity") == entity, \
            f"{key}: expected {entity} tagged; {piieval.describe(entry)}"


def test_no_checksum_backed_false_positive():
    _, fp, _, p, _, _ = result.prf(piieval.CHECKSUM)
    bad = [k for k, _, e in result.false_pos if piieval.entity_of(e) in piieval.CHECKSUM]
    assert fp == 0, f"checksum-backed precision {p:.3f}: {bad}"


def test_no_tricky_negative_tagged():
    assert result.tricky >= 25, f"the slice lost its tricky negatives: {result.tricky}"
    bad = [f"{k} [{lab.get('note')}]: {piieval.describe(e)}" for k, lab, e in result.tricky_fp]
    assert not bad, "tricky negatives tagged:\n  " + "\n  ".join(bad)


def test_sparse_columns_are_not_silent():
    assert len(result.sparse) >= 4
    silent = [f"{k}: expected {want}; {piieval.describe(e)}" for k, want, e, ok in result.sparse if not ok]
    assert not silent, "sparse PII columns not reported:\n  " + "\n  ".join(silent)


def test_no_sampled_value_in_the_pii_aspects():
    """The aspect holds counts and names only: no PII value of the corpus
    appears anywhere in it."""
    text = json.dumps(pii, ensure_ascii=False)
    values = set()
    for schema, table in {tuple(k.split(".")[:2]) for k, v in labels.items() if v["entity"]}:
        cols = [k.split(".")[2] for k, v in labels.items()
                if v["entity"] and k.startswith(f"{schema}.{table}.")]
        sel = ", ".join(f'"{c}"::text' for c in cols)
        for row in cs.query(corpus_db, f'select {sel} from "{schema}"."{table}"'):
            values.update(v for v in row if v and len(v) >= 6)
    assert len(values) > 1000, len(values)
    leaked = sorted(v for v in values if v in text)
    assert not leaked, f"{len(leaked)} sampled values in the pii aspects, e.g. {leaked[:3]}"


def test_chinook_against_hand_labels():
    spec = piieval.load_json("shared_labels.json")["datasets"]["chinook"]
    path = os.path.join(SHARED, "datasets", spec["files"][0])
    if not os.path.exists(path):
        print(f"SKIP chinook part: {path} not found (set CS_SHARED_DIR)")
        return
    db = cs.new_db("piiacc_chinook")
    stripped = wd.file("chinook.sql")
    with open(stripped, "w", encoding="utf-8") as f:
        f.write(piieval.strip_lines(path, spec["strip"]))
    cs.psql_file(db, stripped)
    c_pii, c_profiles = run_once("chinook", db, [spec["schema"]])
    res = piieval.evaluate(piieval.shared_labels(spec, piieval.table_columns(c_profiles)), c_pii)
    piieval.report(res, "chinook")
    assert sum(res.support[e] for e in piieval.CHECKSUM) == 0, "Chinook has no checksum-backed PII"
    for e in ("EMAIL", "PHONE"):
        _, _, fn, _, r, _ = res.prf([e])
        assert fn == 0, f"chinook {e} recall {r:.3f}: " + str([k for k, w, _ in res.misses if w == e])
    _, _, _, p, r, _ = res.prf()
    assert r >= CHINOOK_RECALL, f"chinook recall {r:.3f} < {CHINOOK_RECALL}: {[k for k, _, _ in res.misses]}"
    assert p >= CHINOOK_PRECISION, \
        f"chinook precision {p:.3f} < {CHINOOK_PRECISION}: {[k for k, _, _ in res.false_pos]}"


cs.main([test_labels_are_current, test_every_table_has_a_pii_aspect,
         test_checksum_backed_columns_all_found, test_no_checksum_backed_false_positive,
         test_no_tricky_negative_tagged, test_sparse_columns_are_not_silent,
         test_no_sampled_value_in_the_pii_aspects, test_chinook_against_hand_labels])
