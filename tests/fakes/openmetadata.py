"""A fake OpenMetadata 1.13 server for tests (standard library + jsonschema).

It speaks the REST API catalog-sync uses (tables, search, JSON Patch,
suggestions, lineage, signed change events) and refuses what the real server
refuses: every request body is validated against OpenMetadata's own JSON
schemas (../shared/contracts/openmetadata), and a failure is both a 400 and an
entry of `schema_errors`, so a test asserts `om.schema_errors == []`.

    om = FakeOpenMetadata(schemas=schemas_dir(), token="t", bot="catalog-sync-bot")
    base = om.start()          # http://127.0.0.1:<port>; API under base + "/api/v1"
    om.put_table(create_table) # CreateTable dict -> Table dict
    ...
    om.stop()

Where the fake has to choose, it follows the server's code (NOTES.md §1):
fields not asked for are omitted (column tags need `tags`), a PATCH that
changes nothing keeps the version, a bot's PUT does not overwrite a
non-empty description, PII/PersonalData/Tier labels are mutually exclusive.
Its own choices: every change bumps the version by 0.1 (no session
consolidation); PATCHing id, name, fullyQualifiedName, deleted or the
service/database/schema references is a 400; `limit` above 1000 is a 400;
unknown tags are refused at suggestion time already (404).  Search specifics
are in om_search.py.  Run `python3 openmetadata.py --help` to serve by hand.
"""
import argparse
import base64
import copy
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import om_search  # noqa: E402
from om_patch import PatchError, apply_patch, json_equal  # noqa: E402
from om_schema import schema_set  # noqa: E402

API = "/api/v1"
INDEX = "table_search_index"
MAX_LIMIT = 1000
MAX_WINDOW = 10000

# Fields returned only when asked for with ?fields= (TableResource's list).
GATED = {"tableConstraints", "tablePartition", "usageSummary", "owners", "customMetrics",
         "columns", "sampleData", "tags", "followers", "joins", "schemaDefinition",
         "dataModel", "extension", "testSuite", "domains", "dataProducts", "lifeCycle",
         "sourceHash", "votes", "certification", "profile", "queries"}
# Present as [] when asked for and never set, as the server serialises them.
LIST_FIELDS = ("tags", "owners", "followers", "domains", "dataProducts")
# Maintained by the server: a PATCH cannot set them.
MANAGED = ("version", "updatedAt", "updatedBy", "href", "changeDescription",
           "incrementalChangeDescription")
# Identity: a PATCH that changes them is refused by the fake.
IDENTITY = ("id", "name", "fullyQualifiedName", "deleted", "service", "database",
            "databaseSchema", "serviceType")
LENGTH_TYPES = ("CHAR", "VARCHAR", "BINARY", "VARBINARY")

DEFAULT_TAGS = {
    "PII": (True, ["None", "NonSensitive", "Sensitive"]),
    "PersonalData": (True, ["Personal", "SpecialCategory"]),
    "Tier": (True, ["Tier1", "Tier2", "Tier3", "Tier4", "Tier5"]),
    "Certification": (True, ["Bronze", "Silver", "Gold"]),
}


def schemas_dir():
    """../shared/contracts/openmetadata next to the repository, or None."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.normpath(os.path.join(repo, "..", "shared", "contracts", "openmetadata"))
    return path if os.path.isdir(path) else None


class ApiError(ValueError):
    """An error answer: status and the {"code","message"} body."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def quote_name(name):
    """One FQN part, quoted when it holds a dot (FullyQualifiedName.quoteName)."""
    return f'"{name}"' if "." in name and not name.startswith('"') else name


def split_fqn(fqn):
    """'svc.db."a.b"' -> ['svc', 'db', 'a.b']."""
    parts = re.findall(r'"[^"]*"|[^.]+', fqn)
    return [p[1:-1] if p.startswith('"') else p for p in parts]


def _ref(kind, fqn, name=None):
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"om:{kind}:{fqn}")), "type": kind,
            "name": name or split_fqn(fqn)[-1], "fullyQualifiedName": fqn}


def _cursor(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


def _uncursor(text, kind):
    """Decodes a cursor made by _cursor(); `kind` is the Python type it must hold."""
    try:
        value = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, TypeError):
        value = None
    if kind is dict and isinstance(value, dict) and all(
            isinstance(value.get(k), str) for k in ("name", "id")):
        return (value["name"], value["id"])
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ApiError(400, f"Invalid cursor {text!r}")


def _columns(columns):
    """Every column, nested children included."""
    for c in columns or []:
        yield c
        yield from _columns(c.get("children"))


def _set_column_fqns(columns, parent_fqn):
    for c in columns or []:
        c["fullyQualifiedName"] = f"{parent_fqn}.{quote_name(c['name'])}"
        c.setdefault("tags", [])
        _set_column_fqns(c.get("children"), c["fullyQualifiedName"])


def _strip_column_tags(columns):
    for c in columns or []:
        c.pop("tags", None)
        _strip_column_tags(c.get("children"))


class _Tables:
    """Table rules the server enforces beyond the schema."""

    def __init__(self, om):
        self.om = om

    def check(self, t):
        self._check_columns(t.get("columns") or [], t["fullyQualifiedName"])
        self.om._check_labels(t.get("tags"), t["fullyQualifiedName"])
        for c in _columns(t.get("columns")):
            self.om._check_labels(c.get("tags"), c.get("fullyQualifiedName", c["name"]))
        self._check_constraints(t)

    def _check_columns(self, columns, where):
        seen = set()
        for c in columns:
            if c["name"] in seen:
                raise ApiError(400, f"Column name {c['name']} is repeated in {where}")
            seen.add(c["name"])
            if c.get("dataType") in LENGTH_TYPES and c.get("dataLength") is None:
                raise ApiError(400, f"Column {where}.{c['name']}: for column data types char, "
                                    "varchar, binary, varbinary dataLength must not be null")
            if c.get("dataType") == "ARRAY" and not c.get("arrayDataType"):
                raise ApiError(400, f"Column {where}.{c['name']}: for column data type array, "
                                    "arrayDataType must not be null")
            self._check_columns(c.get("children") or [], f"{where}.{c['name']}")

    def _check_constraints(self, t):
        names = {c["name"] for c in t.get("columns") or []}
        known = {c["fullyQualifiedName"] for tb in self.om._tables.values()
                 for c in _columns(tb.get("columns"))}
        known |= {c["fullyQualifiedName"] for c in _columns(t.get("columns"))}
        for tc in t.get("tableConstraints") or []:
            for col in tc.get("columns") or []:
                if col not in names:
                    raise ApiError(400, f"Invalid column name {col} in a {tc.get('constraintType')}"
                                        f" constraint of {t['fullyQualifiedName']}")
            for ref in tc.get("referredColumns") or []:
                if ref not in known:
                    raise ApiError(404, f"column instance for {ref} not found "
                                        f"(referredColumns of {t['fullyQualifiedName']})")


def _diff_field(changes, name, old, new):
    if json_equal(old, new):
        return
    if old in (None, "", []):
        changes["fieldsAdded"].append({"name": name, "newValue": json.dumps(new)})
    elif new in (None, "", []):
        changes["fieldsDeleted"].append({"name": name, "oldValue": json.dumps(old)})
    else:
        changes["fieldsUpdated"].append({"name": name, "oldValue": json.dumps(old),
                                         "newValue": json.dumps(new)})


def _diff_tags(changes, name, old, new):
    old_fqns = {t["tagFQN"] for t in old or []}
    new_fqns = {t["tagFQN"] for t in new or []}
    added = [t for t in new or [] if t["tagFQN"] not in old_fqns]
    gone = [t for t in old or [] if t["tagFQN"] not in new_fqns]
    if added:
        changes["fieldsAdded"].append({"name": name, "newValue": json.dumps(added)})
    if gone:
        changes["fieldsDeleted"].append({"name": name, "oldValue": json.dumps(gone)})


def change_description(old, new):
    """The changeDescription of old -> new (field names as the server writes them)."""
    ch = {"fieldsAdded": [], "fieldsUpdated": [], "fieldsDeleted": [],
          "previousVersion": old["version"]}
    for f in ("description", "displayName", "owners", "tableConstraints", "deleted"):
        _diff_field(ch, f, old.get(f), new.get(f))
    _diff_tags(ch, "tags", old.get("tags"), new.get("tags"))
    old_cols = {c["name"]: c for c in old.get("columns") or []}
    new_cols = {c["name"]: c for c in new.get("columns") or []}
    added = [c for n, c in new_cols.items() if n not in old_cols]
    gone = [c for n, c in old_cols.items() if n not in new_cols]
    if added:
        ch["fieldsAdded"].append({"name": "columns", "newValue": json.dumps(added)})
    if gone:
        ch["fieldsDeleted"].append({"name": "columns", "oldValue": json.dumps(gone)})
    for n in new_cols.keys() & old_cols.keys():
        o, c, q = old_cols[n], new_cols[n], quote_name(n)
        for f in ("description", "displayName", "dataType", "constraint"):
            _diff_field(ch, f"columns.{q}.{f}", o.get(f), c.get(f))
        _diff_tags(ch, f"columns.{q}.tags", o.get("tags"), c.get("tags"))
    return ch


def _same_content(a, b):
    strip = lambda t: {k: v for k, v in t.items() if k not in MANAGED}  # noqa: E731
    return json_equal(strip(a), strip(b))


class FakeOpenMetadata:
    """The fake server and its state.  All state changes happen under one
    lock; the attributes below are live lists that tests read directly:
    requests, schema_errors, suggestions, lineage, sent_events."""

    def __init__(self, schemas=None, token="om-test-token", bot="catalog-sync-bot",
                 service_type="Postgres"):
        if schemas is None:
            raise ValueError("FakeOpenMetadata needs the OpenMetadata schemas directory "
                             "(schemas_dir() returned None: ../shared/contracts/openmetadata "
                             "is absent)")
        self.schemas = schema_set(schemas)
        self.token, self.bot, self.service_type = token, bot, service_type
        self.requests, self.schema_errors = [], []
        self.suggestions, self.lineage, self.sent_events = [], [], []
        self.ignore_query_filter = False
        self.base = None
        self._lock = threading.RLock()
        self._tokens = {token: bot}
        self._bots = {bot}
        self._tables, self._by_fqn, self._gone = {}, {}, {}
        self._failures = []
        self._clock = 0
        self._server = self._thread = None
        self._rules = _Tables(self)
        self._tags, self._exclusive = set(), set()
        for cls, (exclusive, names) in DEFAULT_TAGS.items():
            for n in names:
                self.add_tag(f"{cls}.{n}", mutually_exclusive=exclusive)

    # ---- configuration -------------------------------------------------

    def add_token(self, token, user, bot=False):
        """Another accepted bearer token, acting as `user`."""
        with self._lock:
            self._tokens[token] = user
            if bot:
                self._bots.add(user)

    def add_tag(self, fqn, mutually_exclusive=False, glossary=False):
        """Makes a tag (or, with glossary=True, a glossary term) known."""
        with self._lock:
            self._tags.add(("Glossary" if glossary else "Classification", fqn))
            if mutually_exclusive:
                self._exclusive.add(fqn.rsplit(".", 1)[0])

    def fail_next(self, n, status=500, method=None, path_prefix=None, headers=None):
        """The next n requests matching method/path_prefix (either may be None)
        get `status` with an error body, before authentication; `headers`
        (e.g. {"Retry-After": "1"}) are added to those answers."""
        with self._lock:
            self._failures.append({"left": n, "status": status, "method": method,
                                   "prefix": path_prefix, "headers": dict(headers or {})})

    # ---- server lifecycle ----------------------------------------------

    def start(self, host="127.0.0.1", port=0):
        """Serves in a daemon thread; returns the base URL."""
        self._server = http.server.ThreadingHTTPServer((host, port), _handler_class(self))
        self._server.daemon_threads = True
        self.base = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-openmetadata", daemon=True)
        self._thread.start()
        return self.base

    def stop(self):
        """Stops serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = self._thread = None

    # ---- helpers -------------------------------------------------------

    def _now(self):
        """Epoch ms, strictly increasing across every change."""
        self._clock = max(int(time.time() * 1000), self._clock + 1)
        return self._clock

    def _href(self, kind, ident):
        return f"{self.base or 'http://localhost:8585'}{API}/{kind}/{ident}"

    def _record_schema_error(self, where, errors):
        if where is not None:
            self.schema_errors.append(f"{where}: " + "; ".join(errors))

    def _validate(self, rel, body, where, drop=()):
        errs = self.schemas.errors(rel, body, drop=drop)
        if errs:
            self._record_schema_error(where, errs)
            raise ApiError(400, errs[0])

    def _check_labels(self, labels, where):
        seen = {}
        for tl in labels or []:
            key = (tl.get("source", "Classification"), tl["tagFQN"])
            if key not in self._tags:
                kind = "glossaryTerm" if key[0] == "Glossary" else "tag"
                raise ApiError(404, f"{kind} instance for {tl['tagFQN']} not found ({where})")
            parent = tl["tagFQN"].rsplit(".", 1)[0]
            if parent in self._exclusive and parent in seen:
                raise ApiError(400, f"Tag labels {seen[parent]} and {tl['tagFQN']} are mutually "
                                    f"exclusive and can't be assigned together ({where})")
            seen[parent] = tl["tagFQN"]

    def _find(self, fqn=None, tid=None, include="non-deleted"):
        """The stored table, honouring `include`; ApiError 404 otherwise."""
        t = self._tables.get(tid if tid is not None else self._by_fqn.get(fqn))
        if t is not None and (include == "all" or t["deleted"] == (include == "deleted")):
            return t
        raise ApiError(404, f"table instance for {fqn if fqn is not None else tid} not found")

    # ---- tables --------------------------------------------------------

    def _table_from_create(self, create):
        parts = split_fqn(create["databaseSchema"])
        if len(parts) != 3:
            raise ApiError(404, f"databaseSchema instance for {create['databaseSchema']} not found")
        svc, db = quote_name(parts[0]), f"{quote_name(parts[0])}.{quote_name(parts[1])}"
        schema_fqn = f"{db}.{quote_name(parts[2])}"
        t = {k: copy.deepcopy(v) for k, v in create.items()
             if k not in ("databaseSchema", "domains", "dataProducts")}
        t.update(fullyQualifiedName=f"{schema_fqn}.{quote_name(create['name'])}",
                 databaseSchema=_ref("databaseSchema", schema_fqn),
                 database=_ref("database", db), service=_ref("databaseService", svc),
                 serviceType=self.service_type, deleted=False)
        t["domains"] = [_ref("domain", d) for d in create.get("domains") or []]
        t["dataProducts"] = [_ref("dataProduct", d) for d in create.get("dataProducts") or []]
        for f in LIST_FIELDS:
            t.setdefault(f, [])
        t.setdefault("tableType", "Regular")
        _set_column_fqns(t["columns"], t["fullyQualifiedName"])
        return t

    def _merge_put(self, old, new, user):
        """A create-or-update over an existing table: a bot does not
        overwrite a non-empty description; labels set before are kept
        unless a new label of a mutually exclusive classification replaces them."""
        keep_desc = lambda o, n: (o.get("description") and  # noqa: E731
                                  (user in self._bots or not n.get("description")))
        if keep_desc(old, new):
            new["description"] = old["description"]
        new["tags"] = self._merge_labels(old.get("tags"), new.get("tags"))
        old_cols = {c["name"]: c for c in old.get("columns") or []}
        for c in new.get("columns") or []:
            o = old_cols.get(c["name"])
            if o is None:
                continue
            if keep_desc(o, c):
                c["description"] = o["description"]
            c["tags"] = self._merge_labels(o.get("tags"), c.get("tags"))
        for f in ("owners", "followers", "domains", "dataProducts", "tableConstraints"):
            if not new.get(f) and old.get(f):
                new[f] = copy.deepcopy(old[f])
        return new

    def _merge_labels(self, old, new):
        out = list(new or [])
        have = {t["tagFQN"] for t in out}
        parents = {t["tagFQN"].rsplit(".", 1)[0] for t in out}
        for t in old or []:
            parent = t["tagFQN"].rsplit(".", 1)[0]
            if t["tagFQN"] not in have and not (parent in self._exclusive and parent in parents):
                out.append(t)
        return out

    def _store_new(self, t, user):
        t.update(id=str(uuid.uuid4()), version=0.1, updatedAt=self._now(), updatedBy=user)
        t["href"] = self._href("tables", t["id"])
        self._tables[t["id"]] = t
        self._by_fqn[t["fullyQualifiedName"]] = t["id"]
        return t

    def _commit(self, old, new, user):
        """Stores `new` in place of `old` with a bumped version, or keeps
        `old` when nothing changed.  Returns the stored table."""
        for f in MANAGED:
            if f in old:
                new[f] = old[f]
            else:
                new.pop(f, None)
        if _same_content(old, new):
            return old
        ch = change_description(old, new)
        new.update(version=round(old["version"] + 0.1, 1), updatedAt=self._now(),
                   updatedBy=user, changeDescription=ch,
                   incrementalChangeDescription=copy.deepcopy(ch))
        self._tables[new["id"]] = new
        return new

    def _upsert(self, create, user, where, create_only=False):
        """PUT/POST /tables: returns (status, table)."""
        new = self._table_from_create(create)
        self._rules.check(new)
        tid = self._by_fqn.get(new["fullyQualifiedName"])
        if tid is None:
            self._self_check(new, where)
            return 201, self._store_new(new, user)
        if create_only:
            raise ApiError(409, "Entity already exists")
        old = self._tables[tid]
        new = self._merge_put(old, new, user)
        new["id"] = tid
        self._rules.check(new)
        self._self_check(new, where)
        return 200, self._commit(old, new, user)

    def _self_check(self, t, where):
        probe = dict(t, id=t.get("id") or str(uuid.uuid4()))
        self._validate("entity/data/table.json", probe, where)

    def _patch(self, t, ops, user, where):
        try:
            new = apply_patch(t, ops)
        except PatchError as e:
            raise ApiError(400, str(e)) from None
        if not isinstance(new, dict):
            raise ApiError(400, "the patched table is not a JSON object")
        for f in IDENTITY:
            if not json_equal(new.get(f), t.get(f)):
                raise ApiError(400, f"{f} of table {t['fullyQualifiedName']} cannot be changed "
                                    "by a PATCH")
        for f in MANAGED:  # the server overwrites what a client sends here
            new.pop(f, None)
            if f in t:
                new[f] = t[f]
        self._validate("entity/data/table.json", new, where)
        _set_column_fqns(new.get("columns"), t["fullyQualifiedName"])
        self._rules.check(new)
        return self._commit(t, new, user)

    def _delete(self, t, hard, user):
        if hard:
            del self._tables[t["id"]]
            del self._by_fqn[t["fullyQualifiedName"]]
            self._gone[t["fullyQualifiedName"]] = t
            self.lineage[:] = [e for e in self.lineage
                               if t["id"] not in (e["fromEntity"]["id"], e["toEntity"]["id"])]
            return t
        if t["deleted"]:
            raise ApiError(404, f"table instance for {t['id']} not found")
        return self._commit(t, dict(copy.deepcopy(t), deleted=True), user)

    def render(self, t, fields):
        """A copy of table `t` with only the asked-for gated fields."""
        out = copy.deepcopy(t)
        for f in GATED - fields:
            out.pop(f, None)
        if "tags" not in fields:
            _strip_column_tags(out.get("columns"))
        for f in LIST_FIELDS:
            if f in fields:
                out.setdefault(f, [])
        return out

    # ---- public API for tests -------------------------------------------

    def put_table(self, create_table):
        """Registers a CreateTable (validated; databaseSchema "svc.db.schema")
        as the user "admin"; returns the stored Table.  Raises ApiError
        (a ValueError) when the request would be refused."""
        with self._lock:
            errs = self.schemas.errors("api/data/createTable.json", create_table)
            if errs:
                raise ApiError(400, "; ".join(errs))
            return copy.deepcopy(self._upsert(create_table, "admin", None)[1])

    def human_edit(self, fqn, patch_ops, user="steward"):
        """`user` JSON-patches the table (RFC 6902 ops); returns the Table.
        Raises ApiError when the server would refuse the patch."""
        with self._lock:
            return copy.deepcopy(self._patch(self._find(fqn), patch_ops, user, None))

    def delete_table(self, fqn, hard=False, user="admin"):
        """Soft (deleted=true) or hard delete; returns the Table."""
        with self._lock:
            t = self._find(fqn, include="all" if hard else "non-deleted")
            return copy.deepcopy(self._delete(t, hard, user))

    def table(self, fqn):
        """The current Table (every field), soft-deleted included, or None."""
        with self._lock:
            tid = self._by_fqn.get(fqn)
            return copy.deepcopy(self._tables[tid]) if tid else None

    def tables(self):
        """Every stored Table, ordered by FQN."""
        with self._lock:
            return [copy.deepcopy(self._tables[i]) for _, i in sorted(self._by_fqn.items())]

    def accept_suggestion(self, sid, user="steward"):
        with self._lock:
            return copy.deepcopy(_suggestions.accept(self, sid, user, None))

    def reject_suggestion(self, sid, user="steward"):
        with self._lock:
            return copy.deepcopy(_suggestions.reject(self, sid, user))

    # ---- change events ---------------------------------------------------

    def change_event(self, event_type, fqn, user_name="admin", **extra):
        """A ChangeEvent (type/changeEvent.json) about table `fqn` as the
        exact bytes OpenMetadata would POST; `extra` sets or overrides
        top-level members (entityId=... for a table the fake never had).
        Raises ValueError when the result is not schema-valid."""
        with self._lock:
            t = self._tables.get(self._by_fqn.get(fqn)) or self._gone.get(fqn)
            if t is None and "entityId" not in extra:
                raise KeyError(f"no table {fqn} in the fake (pass entityId=...)")
            ev = {"id": str(uuid.uuid4()), "eventType": event_type, "entityType": "table",
                  "entityFullyQualifiedName": fqn, "userName": user_name,
                  "timestamp": self._now()}
            if t is not None:
                ev.update(entityId=t["id"], currentVersion=t["version"],
                          previousVersion=(t.get("changeDescription") or {}).get(
                              "previousVersion", t["version"]))
                if event_type in ("entityUpdated", "entityFieldsChanged") \
                        and t.get("changeDescription"):
                    ev["changeDescription"] = copy.deepcopy(t["changeDescription"])
                if event_type in ("entityCreated", "entityUpdated", "entityRestored"):
                    ev["entity"] = self.render(t, GATED)
            ev.update(extra)
        errs = self.schemas.errors("type/changeEvent.json", ev)
        if errs:
            raise ValueError("; ".join(errs))
        return json.dumps(ev, separators=(",", ":")).encode()

    @staticmethod
    def sign(secret, body):
        """X-OM-Signature value: sha256=<Base64(HMAC-SHA256(secret, body))>."""
        key = secret.encode() if isinstance(secret, str) else secret
        mac = hmac.new(key, body, hashlib.sha256).digest()
        return "sha256=" + base64.b64encode(mac).decode()

    def send_change_event(self, url, secret, event_type, fqn, user_name="admin",
                          timeout=10, **extra):
        """POSTs a signed ChangeEvent to `url` like an OpenMetadata webhook
        subscription; returns (HTTP status, response body as text)."""
        body = self.change_event(event_type, fqn, user_name=user_name, **extra)
        self.sent_events.append(json.loads(body))
        return post_signed(url, body, self.sign(secret, body), timeout)


def post_signed(url, body, signature, timeout=10):
    """POSTs raw JSON bytes with an X-OM-Signature header; (status, text)."""
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    if signature is not None:
        req.add_header("X-OM-Signature", signature)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


# ---- request parsing helpers --------------------------------------------


def _q1(query, name, default=None):
    v = query.get(name)
    return v[-1] if v else default


def _qint(query, name, default, lo, hi):
    raw = _q1(query, name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ApiError(400, f"query param {name} must be an integer, got {raw!r}") from None
    if v < lo or v > hi:
        raise ApiError(400, f"query param {name} must be between {lo} and {hi}, got {v}")
    return v


def _fields(query):
    raw = _q1(query, "fields", "") or ""
    names = {f.strip() for f in raw.split(",") if f.strip()}
    if "*" in names:
        return set(GATED)
    bad = names - GATED
    if bad:
        raise ApiError(400, f"Invalid field name {sorted(bad)[0]}")
    return names


def _include(query):
    inc = _q1(query, "include", "non-deleted")
    if inc not in ("all", "deleted", "non-deleted"):
        raise ApiError(400, f"query param include must be all, deleted or non-deleted, got {inc!r}")
    return inc


def _bool(query, name, default):
    raw = _q1(query, name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise ApiError(400, f"query param {name} must be true or false, got {raw!r}")
    return raw.lower() == "true"


# ---- routes ----------------------------------------------------------------


class Request:
    """What a route sees: method, path, query (dict of lists), headers,
    raw body, the authenticated user and the regex groups of the route."""

    def __init__(self, om, method, path, query, headers, body):
        self.om, self.method, self.path = om, method, path
        self.query, self.headers, self.body = query, headers, body
        self.user, self.args = None, ()

    @property
    def where(self):
        return f"{self.method} {self.path}"

    def json(self, schema, content_type="application/json", drop=()):
        """The body parsed and validated against `schema` (400 + schema_errors)."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != content_type:
            raise ApiError(415, f"HTTP 415 Unsupported Media Type: {self.where} takes "
                                f"{content_type}, got {ctype or 'no Content-Type'}")
        try:
            body = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self.om._record_schema_error(self.where, [f"{schema}: $: body is not JSON: {e}"])
            raise ApiError(400, f"Unable to process JSON: {e}") from None
        if schema is not None:
            self.om._validate(schema, body, self.where, drop)
        return body


def list_tables(r):
    om, q = r.om, r.query
    fields, include = _fields(q), _include(q)
    limit = _qint(q, "limit", 10, 0, MAX_LIMIT)
    before, after = _q1(q, "before"), _q1(q, "after")
    if before and after:
        raise ApiError(400, "Only one of before or after query parameter allowed")
    db, schema = _q1(q, "database"), _q1(q, "databaseSchema")
    rows = sorted(((t["name"], t["id"]), t) for t in om._tables.values()
                  if (include == "all" or t["deleted"] == (include == "deleted"))
                  and (not db or t["database"]["fullyQualifiedName"] == db)
                  and (not schema or t["databaseSchema"]["fullyQualifiedName"] == schema))
    keys = [k for k, _ in rows]
    if after:
        c = _uncursor(after, dict)
        start = sum(1 for k in keys if k <= c)
        page, lo = rows[start:start + limit], start
    elif before:
        c = _uncursor(before, dict)
        end = sum(1 for k in keys if k < c)
        lo = max(0, end - limit)
        page = rows[lo:end]
    else:
        page, lo = rows[:limit], 0
    paging = {"total": len(rows)}
    cur = lambda k: _cursor({"name": k[0], "id": k[1]})  # noqa: E731
    if page and lo + len(page) < len(rows):
        paging["after"] = cur(page[-1][0])
    if page and lo > 0:
        paging["before"] = cur(page[0][0])
    return 200, {"data": [om.render(t, fields) for _, t in page], "paging": paging}


def _table_arg(r):
    kind, value = r.args
    value = urllib.parse.unquote(value)
    include = _include(r.query) if r.method == "GET" else (
        "all" if r.method == "DELETE" and _bool(r.query, "hardDelete", False) else "non-deleted")
    if kind == "name":
        return r.om._find(fqn=value, include=include)
    return r.om._find(tid=value, include=include)


def get_table(r):
    return 200, r.om.render(_table_arg(r), _fields(r.query))


def put_table(r):
    body = r.json("api/data/createTable.json")
    status, t = r.om._upsert(body, r.user, r.where)
    return status, r.om.render(t, GATED)


def post_table(r):
    body = r.json("api/data/createTable.json")
    status, t = r.om._upsert(body, r.user, r.where, create_only=True)
    return status, r.om.render(t, GATED)


def patch_table(r):
    t = _table_arg(r)
    ops = r.json(None, content_type="application/json-patch+json")
    if not isinstance(ops, list):
        r.om._record_schema_error(r.where, ["JSON Patch: $: not an array of operations"])
        raise ApiError(400, "a JSON Patch body must be an array of operations")
    return 200, r.om.render(r.om._patch(t, ops, r.user, r.where), GATED)


def delete_table(r):
    hard = _bool(r.query, "hardDelete", False)
    t = r.om._delete(_table_arg(r), hard, r.user)
    return 200, r.om.render(t, GATED)


def _source(doc, query):
    inc, exc = query.get("include_source_fields") or [], query.get("exclude_source_fields") or []
    inc = [f for v in inc for f in v.split(",") if f]
    exc = [f for v in exc for f in v.split(",") if f]
    if inc:
        doc = {k: v for k, v in doc.items() if k in {f.split(".")[0] for f in inc}}
    return {k: v for k, v in doc.items() if k not in exc}


def search(r):
    om, q = r.om, r.query
    index = _q1(q, "index", INDEX)
    if index not in (INDEX, "table"):
        raise ApiError(400, f"index {index!r} is not served by this fake (only {INDEX})")
    frm = _qint(q, "from", 0, 0, MAX_WINDOW)
    size = _qint(q, "size", 10, 0, MAX_WINDOW)
    if frm + size > MAX_WINDOW:
        raise ApiError(400, f"Result window is too large, from + size must be less than or "
                            f"equal to: [{MAX_WINDOW}] but was [{frm + size}]")
    field = _q1(q, "sort_field", "_score")
    order = _q1(q, "sort_order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError(400, f"sort_order must be asc or desc, got {order!r}")
    after_raw = _q1(q, "search_after")
    if after_raw and frm:
        raise ApiError(400, "[from] parameter must be set to 0 when [search_after] is used")
    pred = None
    if _q1(q, "query_filter") and not om.ignore_query_filter:
        pred = om_search.compile_filter(_q1(q, "query_filter"))
    deleted = _bool(q, "deleted", False)
    docs = [dict(om.render(t, GATED), entityType="table") for t in om._tables.values()
            if t["deleted"] == deleted]
    docs = [d for d in docs if om_search.matches_q(d, _q1(q, "q", "*"))
            and (pred is None or pred(d))]
    try:
        after = om_search.parse_search_after(after_raw, field) if after_raw else None
        ordered = om_search.sort_docs(docs, field, order, after)
    except om_search.BadRequest as e:
        raise ApiError(400, str(e)) from None
    fetch = _bool(q, "fetch_source", True)
    hits = []
    for key, d in ordered[frm:frm + size]:
        hit = {"_index": INDEX, "_id": d["id"], "_score": 1.0 if field == "_score" else None,
               "sort": key}
        if fetch:
            hit["_source"] = _source(d, q)
        hits.append(hit)
    # Without track_total_hits=true OpenSearch counts exactly up to 10000 only.
    total = {"value": len(docs), "relation": "eq"}
    if len(docs) > MAX_WINDOW and not _bool(q, "track_total_hits", False):
        total = {"value": MAX_WINDOW, "relation": "gte"}
    return 200, {"took": 1, "timed_out": False,
                 "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                 "hits": {"total": total, "max_score": None, "hits": hits}}


def system_version(r):
    return 200, {"version": "1.13.0", "revision": "fake", "timestamp": 0}


# ---- suggestions --------------------------------------------------------------


class _Suggestions:
    """Suggestions: create, list, accept, reject, delete."""

    LINK = re.compile(r"^<#E::(\w+)::(.+)>$")

    def resolve(self, om, link):
        """(table, column or None) an entityLink points at; ApiError otherwise."""
        m = self.LINK.match(link)
        if not m:
            raise ApiError(400, f"Invalid entityLink {link!r}")
        kind, rest = m.group(1), m.group(2).split("::")
        if kind != "table":
            raise ApiError(404, f"{kind} instance for {rest[0]} not found")
        t = om._find(fqn=rest[0])
        if len(rest) == 1 or rest[1:] in (["description"], ["tags"]):
            return t, None
        if rest[1] != "columns" or len(rest) < 3 or len(rest) > 4:
            raise ApiError(400, f"Invalid entityLink {link!r}: expected "
                                "<#E::table::FQN> or <#E::table::FQN::columns::NAME>")
        want = f"{t['fullyQualifiedName']}.{quote_name(rest[2])}"
        for c in _columns(t.get("columns")):
            if c["fullyQualifiedName"] in (want, f"{t['fullyQualifiedName']}.{rest[2]}"):
                return t, c
        raise ApiError(404, f"column instance for {want} not found")

    def create(self, om, body, user):
        kind = body.get("type")
        if kind is None:
            raise ApiError(400, "Suggestion's type cannot be null.")
        if not body.get("entityLink"):
            raise ApiError(400, "Suggestion's entityLink cannot be null.")
        if kind == "SuggestDescription" and not body.get("description"):
            raise ApiError(400, "Suggestion's description cannot be empty.")
        if kind == "SuggestTagLabel" and not body.get("tagLabels"):
            raise ApiError(400, "Suggestion's tag label's cannot be empty.")
        t, col = self.resolve(om, body["entityLink"])
        if kind == "SuggestTagLabel":
            om._check_labels(body["tagLabels"], body["entityLink"])
        now, sid = om._now(), str(uuid.uuid4())
        s = dict(copy.deepcopy(body), id=sid, href=om._href("suggestions", sid), createdAt=now,
                 createdBy=_ref("user", user), updatedAt=now, updatedBy=user, status="Open")
        om.suggestions.append(s)
        return s

    def find(self, om, sid):
        for s in om.suggestions:
            if s["id"] == sid:
                return s
        raise ApiError(404, f"suggestion instance for {sid} not found")

    def _open(self, om, sid):
        s = self.find(om, sid)
        if s["status"] != "Open":
            raise ApiError(400, f"Suggestion {sid} is already {s['status']}")
        return s

    def accept(self, om, sid, user, where):
        s = self._open(om, sid)
        t, col = self.resolve(om, s["entityLink"])
        new = copy.deepcopy(t)
        target = new if col is None else next(
            c for c in _columns(new["columns"])
            if c["fullyQualifiedName"] == col["fullyQualifiedName"])
        if s["type"] == "SuggestDescription":
            target["description"] = s["description"]
        else:
            have = {tl["tagFQN"] for tl in target.get("tags") or []}
            target["tags"] = (target.get("tags") or []) + [
                copy.deepcopy(tl) for tl in s["tagLabels"] if tl["tagFQN"] not in have]
        om._rules.check(new)
        om._validate("entity/data/table.json", new, where)
        om._commit(t, new, user)
        s.update(status="Accepted", updatedAt=om._now(), updatedBy=user)
        return s

    def reject(self, om, sid, user):
        s = self._open(om, sid)
        s.update(status="Rejected", updatedAt=om._now(), updatedBy=user)
        return s

    def list(self, om, q):
        status = _q1(q, "status", "Open")
        fqn = _q1(q, "entityFQN")
        limit = _qint(q, "limit", 10, 0, MAX_LIMIT)
        rows = [s for s in om.suggestions if (not status or s["status"] == status)
                and (not fqn or self.LINK.match(s["entityLink"]).group(2).split("::")[0] == fqn)]
        after, before = _q1(q, "after"), _q1(q, "before")
        lo = _uncursor(after, int) if after else 0
        if before:
            lo = max(0, _uncursor(before, int) - limit)
        hi = _uncursor(before, int) if before else lo + limit
        page = rows[lo:hi]
        paging = {"total": len(rows)}
        if lo + len(page) < len(rows):
            paging["after"] = _cursor(lo + len(page))
        if lo > 0:
            paging["before"] = _cursor(lo)
        return {"data": copy.deepcopy(page), "paging": paging}


_suggestions = _Suggestions()


def post_suggestion(r):
    body = r.json("api/feed/createSuggestion.json", drop=("oneOf",))
    s = _suggestions.create(r.om, body, r.user)
    return 201, s, {"Location": s["href"]}


def list_suggestions(r):
    return 200, _suggestions.list(r.om, r.query)


def get_suggestion(r):
    return 200, _suggestions.find(r.om, r.args[0])


def accept_suggestion(r):
    return 200, _suggestions.accept(r.om, r.args[0], r.user, r.where)


def reject_suggestion(r):
    return 200, _suggestions.reject(r.om, r.args[0], r.user)


def delete_suggestion(r):
    s = _suggestions.find(r.om, r.args[0])
    r.om.suggestions.remove(s)
    return 200, s


# ---- lineage ---------------------------------------------------------------------


def _edge_end(om, ref, role):
    if ref.get("type") != "table":
        raise ApiError(404, f"{ref.get('type')} instance for {ref.get('id')} not found "
                            f"({role} of the lineage edge)")
    return om._find(tid=ref["id"])


def _check_column_lineage(edge, src, dst):
    src_cols = {c["fullyQualifiedName"] for c in _columns(src.get("columns"))}
    dst_cols = {c["fullyQualifiedName"] for c in _columns(dst.get("columns"))}
    for i, cl in enumerate((edge.get("lineageDetails") or {}).get("columnsLineage") or []):
        if not cl.get("toColumn"):
            raise ApiError(400, f"columnsLineage[{i}]: toColumn is missing")
        for c in cl.get("fromColumns") or []:
            if c not in src_cols:
                raise ApiError(400, f"Invalid column name {c}: columnsLineage[{i}].fromColumns "
                                    f"must name columns of {src['fullyQualifiedName']}")
        if cl["toColumn"] not in dst_cols:
            raise ApiError(400, f"Invalid column name {cl['toColumn']}: columnsLineage[{i}]."
                                f"toColumn must name a column of {dst['fullyQualifiedName']}")


def put_lineage(r):
    om = r.om
    edge = copy.deepcopy(r.json("api/lineage/addLineage.json")["edge"])
    src = _edge_end(om, edge["fromEntity"], "fromEntity")
    dst = _edge_end(om, edge["toEntity"], "toEntity")
    _check_column_lineage(edge, src, dst)
    key = (src["id"], dst["id"])
    old = next((e for e in om.lineage
                if (e["fromEntity"]["id"], e["toEntity"]["id"]) == key), None)
    details = edge.get("lineageDetails")
    if details is not None:
        now = om._now()
        prev = (old or {}).get("lineageDetails") or {}
        details.update(createdAt=prev.get("createdAt", now),
                       createdBy=prev.get("createdBy", r.user), updatedAt=now, updatedBy=r.user)
    if old is not None:
        om.lineage[om.lineage.index(old)] = edge
    else:
        om.lineage.append(edge)
    return 200, None


def get_lineage(r):
    om = r.om
    t = om._find(fqn=urllib.parse.unquote(r.args[0]))
    up, down, nodes = [], [], {}
    for e in om.lineage:
        f, to = e["fromEntity"]["id"], e["toEntity"]["id"]
        if t["id"] not in (f, to):
            continue
        flat = {"fromEntity": f, "toEntity": to}
        if e.get("lineageDetails"):
            flat["lineageDetails"] = copy.deepcopy(e["lineageDetails"])
        (up if to == t["id"] else down).append(flat)
        other = om._tables.get(f if to == t["id"] else to)
        if other is not None:
            nodes[other["id"]] = _ref("table", other["fullyQualifiedName"]) | {"id": other["id"]}
    entity = _ref("table", t["fullyQualifiedName"]) | {"id": t["id"]}
    return 200, {"entity": entity, "nodes": list(nodes.values()),
                 "upstreamEdges": up, "downstreamEdges": down}


def delete_lineage(r):
    om = r.om
    _, from_id, _, to_id = r.args
    for e in om.lineage:
        if (e["fromEntity"]["id"], e["toEntity"]["id"]) == (from_id, to_id):
            om.lineage.remove(e)
            return 200, None
    raise ApiError(404, "Lineage edge not found")


_T = r"/tables/(?:(name)/(.+)|([0-9a-fA-F-]{36}))"
ROUTES = [
    ("GET", r"/tables", list_tables),
    ("PUT", r"/tables", put_table),
    ("POST", r"/tables", post_table),
    ("GET", _T, get_table),
    ("PATCH", _T, patch_table),
    ("DELETE", _T, delete_table),
    ("GET", r"/search/query", search),
    ("POST", r"/suggestions", post_suggestion),
    ("GET", r"/suggestions", list_suggestions),
    ("GET", r"/suggestions/([0-9a-fA-F-]{36})", get_suggestion),
    ("PUT", r"/suggestions/([0-9a-fA-F-]{36})/accept", accept_suggestion),
    ("PUT", r"/suggestions/([0-9a-fA-F-]{36})/reject", reject_suggestion),
    ("DELETE", r"/suggestions/([0-9a-fA-F-]{36})", delete_suggestion),
    ("PUT", r"/lineage", put_lineage),
    ("GET", r"/lineage/table/name/(.+)", get_lineage),
    ("DELETE", r"/lineage/(\w+)/([0-9a-fA-F-]{36})/(\w+)/([0-9a-fA-F-]{36})", delete_lineage),
    ("GET", r"/system/version", system_version),
]
_COMPILED = [(m, re.compile(p + "$"), fn) for m, p, fn in ROUTES]


def _route(method, rel):
    """(handler, args) for a path relative to /api/v1; ApiError 404/405."""
    allowed = False
    for m, rx, fn in _COMPILED:
        match = rx.match(rel)
        if match:
            if m == method:
                args = match.groups()
                if fn in (get_table, patch_table, delete_table):
                    args = ("name", args[1]) if args[0] else ("id", args[2])
                return fn, args
            allowed = True
    if allowed:
        raise ApiError(405, "HTTP 405 Method Not Allowed")
    raise ApiError(404, "HTTP 404 Not Found")


# ---- HTTP plumbing ---------------------------------------------------------------


def _handler_class(om):
    class Handler(_Handler):
        pass
    Handler.om = om
    return Handler


class _Handler(http.server.BaseHTTPRequestHandler):
    # Headers and body go out in separate sends: with Nagle's algorithm
    # and the client's delayed ACK each answer would wait 40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenMetadata/1.13"
    om = None

    def log_message(self, fmt, *args):  # keep test output readable
        pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, obj, headers=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _injected(self, method, path):
        for f in self.om._failures:
            if f["left"] > 0 and (f["method"] is None or f["method"] == method) and (
                    f["prefix"] is None or path.startswith(f["prefix"])
                    or path[len(API):].startswith(f["prefix"])):
                f["left"] -= 1
                return f
        return None

    def _authenticate(self, req):
        auth = self.headers.get("Authorization") or ""
        if not auth:
            raise ApiError(401, "Not Authorized! Token not present")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if token not in self.om._tokens:
            raise ApiError(401, "Not Authorized! Invalid token")
        req.user = self.om._tokens[token]

    def _handle(self, method):
        om = self.om
        url = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        req = Request(om, method, url.path, query, dict(self.headers.items()), body)
        with om._lock:
            om.requests.append({"method": method, "path": url.path, "query": query,
                                "headers": req.headers, "body": body})
            fail = self._injected(method, url.path)
            if fail is not None:
                return self._send(fail["status"], {"code": fail["status"],
                                                   "message": "injected failure"},
                                  fail["headers"])
            try:
                if not url.path.startswith(API + "/"):
                    raise ApiError(404, "HTTP 404 Not Found")
                self._authenticate(req)
                fn, req.args = _route(method, url.path[len(API):])
                out = fn(req)
            except ApiError as e:
                return self._send(e.status, {"code": e.status, "message": e.message})
            except Exception as e:  # a bug of the fake: say so loudly
                traceback.print_exc()
                return self._send(500, {"code": 500, "message": f"fake server error: {e!r}"})
            status, obj = out[0], copy.deepcopy(out[1])
            headers = out[2] if len(out) > 2 else None
        self._send(status, obj, headers)

    def do_GET(self):
        self._handle("GET")

    def do_PUT(self):
        self._handle("PUT")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")


def _seed(om, path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for create in data.get("tables", []) if isinstance(data, dict) else data:
        om.put_table(create)


def main(argv=None):
    p = argparse.ArgumentParser(description="Fake OpenMetadata 1.13 server for tests.")
    p.add_argument("--port", type=int, default=8585)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--token", default="om-test-token")
    p.add_argument("--bot", default="catalog-sync-bot")
    p.add_argument("--schemas", default=schemas_dir(),
                   help="OpenMetadata JSON schemas (default ../shared/contracts/openmetadata)")
    p.add_argument("--seed-json",
                   help='JSON file: a list of CreateTable bodies or {"tables": [...]}')
    a = p.parse_args(argv)
    if not a.schemas:
        p.error("no schemas directory: ../shared/contracts/openmetadata is absent, use --schemas")
    om = FakeOpenMetadata(schemas=a.schemas, token=a.token, bot=a.bot)
    base = om.start(a.host, a.port)
    if a.seed_json:
        _seed(om, a.seed_json)
    print(f"fake OpenMetadata on {base}{API} ({len(om.tables())} tables); Ctrl-C or SIGTERM stops it",
          flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    om.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
