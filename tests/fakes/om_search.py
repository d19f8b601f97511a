"""The subset of OpenSearch the fake OpenMetadata search endpoint understands.

query_filter: the JSON OpenMetadata passes to OpenSearch, `{"query": {...}}`.
Understood query clauses: match_all, range (gt/gte/lt/lte), term, terms,
prefix, and bool with must/filter/must_not/should (a list or one clause).
Fields are dotted paths into the table document (`service.name`,
`databaseSchema.fullyQualifiedName`, `updatedAt`...); a `.keyword` suffix is
ignored; term/terms/prefix compare strings case-insensitively (OpenMetadata
indexes names with a lowercase normalizer).  Anything else makes the whole
filter unparsable, and an unparsable filter is ignored, as the server does.

Sort: the given sort field then `id` as the tiebreak, both in sort_order;
each hit's `sort` is [value, id] and search_after takes the same two values
("1700000000000,<uuid>").  `_score` sorts use a constant score of 1.0.
"""
import json


class Unparsable(ValueError):
    """A query_filter the fake cannot interpret (the server would drop it)."""


class BadRequest(ValueError):
    """A search request OpenSearch itself would refuse."""


def field_values(doc, path):
    """Every value at a dotted path, looking through arrays."""
    if path.endswith(".keyword"):
        path = path[:-len(".keyword")]
    nodes = [doc]
    for part in path.split("."):
        nxt = []
        for n in nodes:
            if isinstance(n, dict) and part in n:
                v = n[part]
                nxt.extend(v if isinstance(v, list) else [v])
            elif isinstance(n, list):
                nxt.extend(x[part] for x in n if isinstance(x, dict) and part in x)
        nodes = nxt
    return nodes


def _norm(v):
    return v.lower() if isinstance(v, str) else v


def _single(clause, name):
    if not isinstance(clause, dict) or len(clause) != 1:
        raise Unparsable(f"{name} takes exactly one field")
    field, spec = next(iter(clause.items()))
    return field, spec


def _range(clause):
    field, spec = _single(clause, "range")
    if not isinstance(spec, dict):
        raise Unparsable("range needs an object")
    ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
           "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
    checks = [(ops[k], v) for k, v in spec.items() if k in ops]
    if not checks or any(k not in ops and k not in ("format", "boost") for k in spec):
        raise Unparsable(f"range on {field}: {sorted(spec)}")

    def pred(doc):
        for v in field_values(doc, field):
            try:
                if all(op(v, bound) for op, bound in checks):
                    return True
            except TypeError:
                pass
        return False
    return pred


def _term(clause):
    field, spec = _single(clause, "term")
    value = spec.get("value") if isinstance(spec, dict) else spec
    if isinstance(value, (dict, list)) or value is None:
        raise Unparsable(f"term on {field}")
    return lambda doc: _norm(value) in [_norm(v) for v in field_values(doc, field)]


def _terms(clause):
    spec = {k: v for k, v in clause.items() if k != "boost"}
    field, values = _single(spec, "terms")
    if not isinstance(values, list):
        raise Unparsable(f"terms on {field} needs a list")
    wanted = {_norm(v) for v in values}
    return lambda doc: any(_norm(v) in wanted for v in field_values(doc, field))


def _prefix(clause):
    field, spec = _single(clause, "prefix")
    value = spec.get("value") if isinstance(spec, dict) else spec
    if not isinstance(value, str):
        raise Unparsable(f"prefix on {field}")
    low = value.lower()
    return lambda doc: any(isinstance(v, str) and v.lower().startswith(low)
                           for v in field_values(doc, field))


def _clauses(value):
    items = value if isinstance(value, list) else [value]
    return [compile_query(c) for c in items]


def _bool(clause):
    if not isinstance(clause, dict):
        raise Unparsable("bool needs an object")
    known = {"must", "filter", "must_not", "should", "minimum_should_match", "boost"}
    if set(clause) - known:
        raise Unparsable(f"bool: {sorted(set(clause) - known)}")
    must = _clauses(clause.get("must", [])) + _clauses(clause.get("filter", []))
    must_not = _clauses(clause.get("must_not", []))
    should = _clauses(clause.get("should", []))
    need_should = 1 if should and not must else clause.get("minimum_should_match", 0)

    def pred(doc):
        return (all(p(doc) for p in must) and not any(p(doc) for p in must_not)
                and sum(1 for p in should if p(doc)) >= int(need_should))
    return pred


_COMPILERS = {"range": _range, "term": _term, "terms": _terms, "prefix": _prefix,
              "bool": _bool, "match_all": lambda c: (lambda doc: True)}


def compile_query(query):
    """A predicate over documents; raises Unparsable."""
    if not isinstance(query, dict) or len(query) != 1:
        raise Unparsable("a query clause is an object with one key")
    kind, body = next(iter(query.items()))
    if kind not in _COMPILERS:
        raise Unparsable(f"unsupported query {kind!r}")
    return _COMPILERS[kind](body)


def compile_filter(text):
    """query_filter text -> predicate, or None when it cannot be parsed."""
    try:
        obj = json.loads(text)
        if not isinstance(obj, dict) or set(obj) != {"query"}:
            raise Unparsable('query_filter must be {"query": {...}}')
        return compile_query(obj["query"])
    except (ValueError, TypeError, AttributeError):
        return None


def matches_q(doc, q):
    """q: '*' or empty matches everything; otherwise every word must occur
    (case-insensitive) in the name, FQN, description or a column name."""
    q = (q or "*").strip()
    if q in ("*", ""):
        return True
    hay = " ".join([doc.get("name", ""), doc.get("fullyQualifiedName", ""),
                    doc.get("description") or ""] +
                   [c.get("name", "") for c in doc.get("columns") or []]).lower()
    return all(w.strip("*").lower() in hay for w in q.split())


def sort_key(doc, field):
    """[value, id]: the fake's sort values for a hit."""
    if field == "_score":
        return [1.0, doc["id"]]
    vals = field_values(doc, field)
    return [vals[0] if vals else None, doc["id"]]


def parse_search_after(text, field):
    parts = text.split(",")
    if len(parts) != 2:
        raise BadRequest(f"search_after has {len(parts)} value(s) but sort has 2 "
                         f"({field}, id)")
    first = parts[0].strip()
    try:
        value = float(first) if field == "_score" else int(first)
    except ValueError:
        value = first
    return [value, parts[1].strip()]


def _cmp_key(key):
    # None sorts last in ascending order, as OpenSearch's missing: _last.
    v = key[0]
    return (v is None, v if v is not None else 0, key[1])


def sort_docs(docs, field, order, after=None):
    """Sorted docs (with their sort values) strictly after `after`."""
    keyed = [(sort_key(d, field), d) for d in docs]
    desc = order == "desc"
    keyed.sort(key=lambda kd: _cmp_key(kd[0]), reverse=desc)
    if after is None:
        return keyed
    pivot = _cmp_key(after)
    try:
        return [(k, d) for k, d in keyed
                if (_cmp_key(k) < pivot if desc else _cmp_key(k) > pivot)]
    except TypeError:
        raise BadRequest(f"search_after values {after!r} do not match the sort on {field}")
