"""Scoring of `pii` aspects against hand-written or generated labels, shared
by tests/bench/bench_pii.py and tests/integration/test_pii_accuracy.py.

A column counts as tagged with entity E when its `pii` entry has status
`tagged` and entity E.  On a column labeled `sparse` (a handful of
non-null values) a `candidate` of the right entity also counts as found:
the pass must not stay silent there, but it may stay unsure.  A column the
aspect does not list is untagged (pii_tag lists only columns with some
signal).

Per entity E, over labeled columns:
  TP  labeled E, tagged E
  FN  labeled E, not tagged E (untagged, or tagged with another entity)
  FP  tagged E, labeled something else or not PII, unless E is one of
      the column's `optional` entities
Totals are micro-averaged (sums of TP, FP, FN over entities)."""
import collections
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))

CHECKSUM = ["IBAN", "CREDIT_CARD", "FR_NIR", "ES_NIF", "IT_FISCAL_CODE", "UK_NHS",
            "PL_PESEL", "DE_TAX_ID"]
STRUCTURE = ["EMAIL", "PHONE", "US_SSN", "IP_ADDRESS", "MAC_ADDRESS"]
WEAK = ["DATE_OF_BIRTH", "PERSON_NAME", "ADDRESS", "POSTCODE"]
ENTITIES = STRUCTURE[:2] + CHECKSUM + STRUCTURE[2:] + WEAK
GROUPS = [("checksum-backed", CHECKSUM), ("structure-validated", STRUCTURE),
          ("weak (name signal + shape)", WEAK)]


def load_json(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def corpus_labels(schemas=None):
    """{"schema.table.column": label} of the generated corpus, optionally
    only for some schemas."""
    cols = load_json("corpus_labels.json")["columns"]
    if schemas is None:
        return cols
    return {k: v for k, v in cols.items() if k.split(".")[0] in schemas}


def shared_labels(spec, columns):
    """Labels for every column of a shared dataset: `columns` is the list of
    "table.column" seen (from the `table` aspects); the hand-written `pii`
    and `optional` entries decide, everything else is not PII."""
    schema = spec["schema"]
    labels = {}
    for tc in columns:
        lab = {"entity": spec["pii"].get(tc)}
        if tc in spec.get("optional", {}):
            lab["optional"] = spec["optional"][tc]
        if tc in spec.get("notes", {}):
            lab["note"] = spec["notes"][tc]
        labels[f"{schema}.{tc}"] = lab
    unknown = [tc for tc in list(spec["pii"]) + list(spec.get("optional", {})) if tc not in columns]
    if unknown:
        raise AssertionError(f"labeled columns not found in the database: {unknown}")
    return labels


def table_key(fqn):
    """"service.database.schema.table" -> "schema.table"."""
    return ".".join(fqn.split(".")[-2:])


def read_aspects(query, state_dsn, aspect):
    """{"schema.table": aspect value} from the state store; query is
    cslib.query."""
    rows = query(state_dsn, "select fqn, value from catalog_sync.aspects where aspect = %s",
                 (aspect,))
    return {table_key(fqn): v for fqn, v in rows}


def table_columns(profiles):
    """["table.column", ...] from the `profile` aspects keyed
    "schema.table" (the state store keeps `profile`, not `table`): every
    column of every profiled table."""
    out = []
    for st, prof in profiles.items():
        for name in prof.get("columns", {}):
            out.append(f"{st.split('.')[1]}.{name}")
    return out


def prediction(pii, key):
    """The `pii` entry of "schema.table.column", or {} when not listed."""
    schema, table, column = key.split(".", 2)
    return (pii.get(f"{schema}.{table}") or {}).get("columns", {}).get(column) or {}


def entity_of(entry):
    e = entry.get("entity")
    return None if e in (None, "", "NONE") else e


def found(entry, label):
    """The entity this result counts as a finding of, or None."""
    status = entry.get("status")
    if status == "tagged" or status == "human" or (status == "candidate" and label.get("sparse")):
        return entity_of(entry)
    return None


class Result:
    def __init__(self):
        self.tp = collections.Counter()
        self.fp = collections.Counter()
        self.fn = collections.Counter()
        self.support = collections.Counter()
        self.misses = []      # (column, expected, entry)
        self.false_pos = []   # (column, label, entry)
        self.tricky = 0
        self.tricky_fp = []
        self.tricky_candidates = []
        self.sparse = []      # (column, expected, entry, ok)
        self.optional_tagged = []
        self.missing_tables = set()
        self.columns = 0

    def prf(self, entities=None):
        ents = entities or ENTITIES
        tp = sum(self.tp[e] for e in ents)
        fp = sum(self.fp[e] for e in ents)
        fn = sum(self.fn[e] for e in ents)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return tp, fp, fn, p, r, f


def evaluate(labels, pii):
    """Scores the `pii` aspects (keyed "schema.table") against labels."""
    res = Result()
    for key in sorted(labels):
        label = labels[key]
        st = ".".join(key.split(".")[:2])
        if st not in pii:
            res.missing_tables.add(st)
        res.columns += 1
        entry = prediction(pii, key)
        want, got = label.get("entity"), found(entry, label)
        if want:
            res.support[want] += 1
        if label.get("tricky"):
            res.tricky += 1
            if got:
                res.tricky_fp.append((key, label, entry))
            elif entry.get("status") == "candidate":
                res.tricky_candidates.append((key, label, entry))
        if label.get("sparse"):
            res.sparse.append((key, want, entry, got == want))
        if want and got == want:
            res.tp[want] += 1
            continue
        if want:
            res.fn[want] += 1
            res.misses.append((key, want, entry))
        if got:
            if got in label.get("optional", []):
                res.optional_tagged.append((key, got))
                continue
            res.fp[got] += 1
            res.false_pos.append((key, label, entry))
    return res


def describe(entry):
    if not entry:
        return "not listed (no signal)"
    bits = [f"status {entry.get('status')}"]
    if entity_of(entry):
        bits.append(f"entity {entity_of(entry)}")
    if entry.get("score") is not None:
        bits.append(f"score {entry['score']:.2f}")
    reason = entry.get("reason")
    return ", ".join(bits) + (f": {reason}" if reason else "")


def report(res, title, out=print):
    out(f"{title}: {res.columns} labeled columns")
    if res.missing_tables:
        out(f"  WARNING: no pii aspect for {len(res.missing_tables)} tables: "
            + ", ".join(sorted(res.missing_tables)))
    out(f"  {'entity':<27} {'cols':>4} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7} {'F1':>6}")
    for e in ENTITIES:
        if res.support[e] or res.fp[e]:
            tp, fp, fn, p, r, f = res.prf([e])
            out(f"  {e:<27} {res.support[e]:>4} {tp:>4} {fp:>4} {fn:>4} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    for name, ents in GROUPS + [("overall (micro)", None)]:
        tp, fp, fn, p, r, f = res.prf(ents)
        n = sum(res.support[e] for e in (ents or ENTITIES))
        if n or fp:
            out(f"  {name:<27} {n:>4} {tp:>4} {fp:>4} {fn:>4} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    if res.tricky:
        out(f"  tricky negatives: {res.tricky} columns, {len(res.tricky_fp)} tagged"
            + (f", {len(res.tricky_candidates)} reported as candidates" if res.tricky_candidates else ""))
    if res.sparse:
        ok = sum(1 for s in res.sparse if s[3])
        out(f"  sparse PII columns (few non-null values): {ok} of {len(res.sparse)} found "
            f"(" + ", ".join(f"{k.split('.')[-1]}: {(e.get('status') or 'not listed')}"
                             for k, _, e, _ in res.sparse) + ")")
    if res.optional_tagged:
        out("  optional columns tagged (allowed): "
            + ", ".join(f"{k} {e}" for k, e in res.optional_tagged))
    for key, want, entry in res.misses:
        out(f"  MISS {key}: expected {want}; {describe(entry)}")
    for key, label, entry in res.false_pos:
        what = "tricky negative" if label.get("tricky") else (
            f"labeled {label['entity']}" if label.get("entity") else "not PII")
        note = f" [{label['note']}]" if label.get("note") else ""
        out(f"  FALSE POSITIVE {key} ({what}{note}): {describe(entry)}")
    for key, label, entry in res.tricky_candidates:
        out(f"  candidate on tricky negative {key} [{label.get('note', '')}]: {describe(entry)}")


def targets(res, out=print):
    """The issue's targets, met or not: (name, ok) pairs, also printed."""
    _, _, _, cp, cr, _ = res.prf(CHECKSUM)
    f1 = res.prf()[5]
    rows = [(f"checksum-backed precision = recall = 1.0 (got {cp:.3f} / {cr:.3f})", cp == 1.0 and cr == 1.0),
            (f"overall F1 >= 0.95 (got {f1:.3f})", f1 >= 0.95)]
    if res.tricky:
        rows.append((f"zero false positives on tricky negatives (got {len(res.tricky_fp)})",
                     not res.tricky_fp))
    for name, ok in rows:
        out(f"  target {name}: {'met' if ok else 'MISSED'}")
    return rows


def strip_lines(path, patterns):
    """The text of a SQL file without the lines matching any pattern (the
    Chinook script creates and connects to its own database)."""
    regs = [re.compile(p) for p in patterns]
    with open(path, encoding="utf-8") as f:
        return "".join(line for line in f if not any(r.search(line) for r in regs))
