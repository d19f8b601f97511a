"""A fake Milvus server speaking the REST API v2 (standard library only).

    mv = FakeMilvus(token="root:Milvus")   # token=None: no authentication
    base = mv.start()                       # http://127.0.0.1:<port>
    ...                                     # the pass POSTs to base + "/v2/vectordb/..."
    mv.collections["catalog"]["records"]    # {primary key: row as upserted}
    mv.stop()

Like Milvus (contract notes: ../shared/contracts/NOTES.md, section 4):
every call is `POST /v2/vectordb/<category>/<action>` with a JSON body, and
every answer is HTTP 200 with the envelope {"code", "message"?, "data"?};
an application error is a non-zero `code` on HTTP 200:

    100   collection not found
    1100  invalid parameter (schema, rows: missing or unknown fields, a
          vector of the wrong dimension, a VarChar over max_length, ...)
    1801  the body is not JSON
    1802  a required parameter is missing
    1800  missing or wrong bearer token (this one on HTTP 401)

Implemented: collections/has, describe, create (quick mode and custom schema
with indexParams), list, drop; entities/upsert (replace by primary key),
insert, get, delete (`filter` of the form `<pk> in [...]` or `<pk> == "x"`).
Rows of an upsert are all validated before any is stored.  Fake's own choices:
creating an existing collection with the same schema succeeds, with another
schema it is code 65535; `dbName` other than "default" is a namespace of its
own (collections are keyed by name and remembered with their database).

Test knobs: fail_next(n, code, message, path) answers the next n matching
requests with HTTP 200 and that non-zero code, http_fail_next(n, status,
path) with that HTTP status.  `requests` records every request: {"path",
"headers", "raw" (body text), "body" (parsed, or None)}.
Run `python3 milvus.py --help` to serve by hand.
"""
import argparse
import copy
import http.server
import json
import re
import threading
import time

PREFIX = "/v2/vectordb/"
SCALAR_TYPES = {"Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double",
                "VarChar", "JSON", "Array"}
VECTOR_TYPES = {"FloatVector", "Float16Vector", "BFloat16Vector", "BinaryVector",
                "SparseFloatVector"}
INT_RANGES = {"Int8": 8, "Int16": 16, "Int32": 32, "Int64": 64}
METRICS = {"COSINE", "L2", "IP", "HAMMING", "JACCARD", "BM25"}


class MilvusError(Exception):
    """An application error: HTTP 200 (401 for auth) with a non-zero code."""

    def __init__(self, code, message, status=200):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def _require(body, *names):
    for n in names:
        if body.get(n) in (None, ""):
            raise MilvusError(1802, f"missing required parameters, error: "
                                    f"Key: '{n}' Error:Field validation for '{n}' "
                                    f"failed on the 'required' tag")


def _dim(field):
    params = field.get("elementTypeParams") or {}
    raw = params.get("dim")
    try:
        dim = int(raw)
    except (TypeError, ValueError):
        return None
    return dim if dim > 0 else None


def _max_length(field):
    params = field.get("elementTypeParams") or {}
    try:
        n = int(params.get("max_length"))
    except (TypeError, ValueError):
        return None
    return n if 0 < n <= 65535 else None


def _check_field(f, names):
    """Normalises one custom-schema field, or raises 1100."""
    if not isinstance(f, dict):
        raise MilvusError(1100, "invalid parameter[schema.fields: expected objects]")
    name, dtype = f.get("fieldName"), f.get("dataType")
    if not isinstance(name, str) or not name:
        raise MilvusError(1100, "invalid parameter[field name should not be empty]")
    if name in names:
        raise MilvusError(1100, f"duplicated field name {name}")
    if not isinstance(dtype, str) or not dtype:
        raise MilvusError(1100, f"field {name}: dataType is missing")
    if dtype not in SCALAR_TYPES | VECTOR_TYPES:
        raise MilvusError(1100, f"field {name}: invalid data type {dtype}")
    out = {"fieldName": name, "dataType": dtype,
           "isPrimary": bool(f.get("isPrimary")),
           "nullable": bool(f.get("nullable")),
           "elementTypeParams": dict(f.get("elementTypeParams") or {})}
    if "defaultValue" in f:
        out["defaultValue"] = f["defaultValue"]
    if dtype in VECTOR_TYPES - {"SparseFloatVector"} and _dim(f) is None:
        raise MilvusError(1100, f"dimension is not defined in field type params of "
                                f"field {name}, check type param `dim` for vector field")
    if dtype == "VarChar" and _max_length(f) is None:
        raise MilvusError(1100, f"type param(max_length) should be specified for "
                                f"the field({name}) of collection, and 0 < max_length "
                                f"<= 65535")
    if out["isPrimary"] and dtype not in ("Int64", "VarChar"):
        raise MilvusError(1100, f"primary key field {name}: only Int64 and VarChar "
                                f"are supported")
    return out


def _schema_from_create(body):
    """The collection's schema dict from a create request (quick or custom)."""
    schema = body.get("schema")
    if schema is None:
        dim = body.get("dimension")
        if not isinstance(dim, int) or dim <= 0:
            raise MilvusError(1802, "missing required parameters: dimension or schema")
        id_type = body.get("idType") or "Int64"
        pk = {"fieldName": body.get("primaryFieldName") or "id", "dataType": id_type,
              "isPrimary": True, "nullable": False, "elementTypeParams": {}}
        if id_type == "VarChar":
            pk["elementTypeParams"]["max_length"] = int(
                (body.get("params") or {}).get("max_length", 65535))
        vec = {"fieldName": body.get("vectorFieldName") or "vector",
               "dataType": "FloatVector", "isPrimary": False, "nullable": False,
               "elementTypeParams": {"dim": dim}}
        return {"autoID": bool(body.get("autoID")), "enableDynamicField": True,
                "fields": [pk, vec]}
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list) \
            or not schema["fields"]:
        raise MilvusError(1100, "invalid parameter[schema.fields must be a non-empty list]")
    fields, names = [], set()
    for f in schema["fields"]:
        fields.append(_check_field(f, names))
        names.add(fields[-1]["fieldName"])
    primaries = [f for f in fields if f["isPrimary"]]
    if len(primaries) != 1:
        raise MilvusError(1100, f"the collection needs exactly one primary key field, "
                                f"got {len(primaries)}")
    if not any(f["dataType"] in VECTOR_TYPES for f in fields):
        raise MilvusError(1100, "schema does not contain any vector field")
    return {"autoID": bool(schema.get("autoID")),
            "enableDynamicField": bool(schema.get("enableDynamicField")),
            "fields": fields}


def _check_indexes(params, schema):
    fields = {f["fieldName"]: f for f in schema["fields"]}
    out = []
    for p in params or []:
        name = p.get("fieldName") if isinstance(p, dict) else None
        if name not in fields:
            raise MilvusError(1100, f"index on unknown field {name}")
        if fields[name]["dataType"] in VECTOR_TYPES and p.get("metricType") not in METRICS:
            raise MilvusError(1100, f"index on {name}: metricType must be one of "
                                    f"{sorted(METRICS)}")
        out.append({"fieldName": name, "indexName": p.get("indexName") or name,
                    "metricType": p.get("metricType"),
                    "indexType": p.get("indexType") or "AUTOINDEX"})
    return out


def _check_value(f, value):
    """Raises 1100 when `value` does not fit field `f`."""
    name, dtype = f["fieldName"], f["dataType"]
    bad = MilvusError(1100, f"invalid parameter[field {name}: expected {dtype}, "
                            f"got {type(value).__name__}]")
    if dtype == "VarChar":
        if not isinstance(value, str):
            raise bad
        n = len(value.encode("utf-8"))
        if n > _max_length(f):
            raise MilvusError(1100, f"length of varchar field {name} exceeds max "
                                    f"length, row length: {n}, max length: "
                                    f"{_max_length(f)}")
    elif dtype in INT_RANGES:
        bits = INT_RANGES[dtype]
        if isinstance(value, str) and dtype == "Int64" and re.fullmatch(r"-?\d+", value):
            value = int(value)  # int64 travels as a string in JSON
        if isinstance(value, bool) or not isinstance(value, int) or \
                not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
            raise bad
    elif dtype in ("Float", "Double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
    elif dtype == "Bool":
        if not isinstance(value, bool):
            raise bad
    elif dtype == "FloatVector":
        if not isinstance(value, list) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
            raise bad
        if len(value) != _dim(f):
            raise MilvusError(1100, f"the dim ({len(value)}) of field data({name}) is "
                                    f"not equal to schema dim ({_dim(f)})")


def _check_row(schema, row, i):
    if not isinstance(row, dict):
        raise MilvusError(1100, f"invalid parameter[data[{i}] is not an object]")
    fields = {f["fieldName"]: f for f in schema["fields"]}
    for name, f in fields.items():
        if name not in row or row[name] is None:
            if f["isPrimary"] and schema["autoID"]:
                continue
            if f["nullable"] or "defaultValue" in f:
                continue
            what = "primary key" if f["isPrimary"] else "field"
            raise MilvusError(1100, f"{what} {name} is missing in data[{i}], "
                                    f"which is required")
        else:
            _check_value(f, row[name])
    extra = sorted(set(row) - set(fields))
    if extra and not schema["enableDynamicField"]:
        raise MilvusError(1100, f"field {extra[0]} does not exist in the collection "
                                f"schema and the dynamic field is disabled "
                                f"(data[{i}])")


def _describe(name, coll):
    fields = []
    for i, f in enumerate(coll["schema"]["fields"]):
        params = [{"key": k, "value": str(v)} for k, v in f["elementTypeParams"].items()]
        d = {"id": 100 + i, "name": f["fieldName"], "type": f["dataType"],
             "primaryKey": f["isPrimary"], "autoId": f["isPrimary"] and coll["schema"]["autoID"],
             "partitionKey": False, "clusteringKey": False, "nullable": f["nullable"],
             "description": ""}
        if params:
            d["params"] = params
        fields.append(d)
    return {"collectionName": name, "collectionID": coll["id"], "description": "",
            "autoId": coll["schema"]["autoID"], "fields": fields, "functions": [],
            "aliases": [], "indexes": copy.deepcopy(coll["indexes"]),
            "load": "LoadStateLoaded", "shardsNum": 1, "partitionsNum": 1,
            "consistencyLevel": "Bounded",
            "enableDynamicField": coll["schema"]["enableDynamicField"], "properties": []}


class FakeMilvus:
    """The fake server and its state, all behind one lock.  Tests read
    `collections` and `requests` directly."""

    def __init__(self, token=None):
        self.token = token
        self.collections = {}
        self.requests = []
        self.base = None
        self._lock = threading.RLock()
        self._faults = []
        self._next_id = 449000000000000000
        self._server = self._thread = None

    # ---- test knobs ----------------------------------------------------

    def fail_next(self, n, code=65535, message="injected failure", path=None):
        """The next n requests whose path ends with `path` (None: any) get
        HTTP 200 with this non-zero code, as Milvus answers errors."""
        with self._lock:
            self._faults.append({"left": n, "code": code, "message": message,
                                 "status": 200, "path": path})

    def http_fail_next(self, n, status=503, path=None):
        """The next n matching requests get HTTP `status`."""
        with self._lock:
            self._faults.append({"left": n, "code": status, "status": status,
                                 "message": f"injected HTTP {status}", "path": path})

    def upserts(self):
        """The upsert requests received, parsed."""
        with self._lock:
            return [r["body"] for r in self.requests if r["path"].endswith("/entities/upsert")]

    # ---- lifecycle -----------------------------------------------------

    def start(self, host="127.0.0.1", port=0):
        """Serves in a daemon thread; returns the base URL."""
        self._server = http.server.ThreadingHTTPServer((host, port), _handler_class(self))
        self._server.daemon_threads = True
        self.base = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-milvus", daemon=True)
        self._thread.start()
        return self.base

    def stop(self):
        """Stops serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = self._thread = None

    # ---- the API -------------------------------------------------------

    def _fault(self, path):
        for f in self._faults:
            if f["left"] > 0 and (f["path"] is None or path.endswith(f["path"])):
                f["left"] -= 1
                return f
        return None

    def _coll(self, body):
        _require(body, "collectionName")
        name = body["collectionName"]
        coll = self.collections.get(name)
        if coll is None or coll["db"] != (body.get("dbName") or "default"):
            raise MilvusError(100, f"collection not found[database={body.get('dbName') or 'default'}]"
                                   f"[collection={name}]")
        return name, coll

    def _has(self, body):
        _require(body, "collectionName")
        coll = self.collections.get(body["collectionName"])
        return {"has": coll is not None and coll["db"] == (body.get("dbName") or "default")}

    def _create(self, body):
        _require(body, "collectionName")
        name = body["collectionName"]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", name):
            raise MilvusError(1100, f"invalid collection name: {name}. the first character "
                                    f"of a collection name must be an underscore or letter")
        schema = _schema_from_create(body)
        indexes = _check_indexes(body.get("indexParams"), schema)
        if body.get("schema") is None:
            vec = schema["fields"][1]["fieldName"]
            indexes = [{"fieldName": vec, "indexName": vec, "indexType": "AUTOINDEX",
                        "metricType": body.get("metricType") or "COSINE"}]
        old = self.collections.get(name)
        if old is not None:
            if old["schema"] != schema:
                raise MilvusError(65535, f"create duplicate collection with different "
                                         f"parameters, collection: {name}")
            return {}
        self._next_id += 1
        self.collections[name] = {"schema": schema, "records": {}, "indexes": indexes,
                                  "db": body.get("dbName") or "default", "id": self._next_id}
        return {}

    def _describe(self, body):
        name, coll = self._coll(body)
        return _describe(name, coll)

    def _list(self, body):
        db = body.get("dbName") or "default"
        return [n for n, c in self.collections.items() if c["db"] == db]

    def _drop(self, body):
        _require(body, "collectionName")
        self.collections.pop(body["collectionName"], None)
        return {}

    def _write(self, body, replace):
        name, coll = self._coll(body)
        data = body.get("data")
        if data is None or data == []:
            raise MilvusError(1802, "missing required parameters: data")
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise MilvusError(1100, "invalid parameter[data must be a list of rows]")
        schema = coll["schema"]
        for i, row in enumerate(data):
            _check_row(schema, row, i)
        pk = next(f["fieldName"] for f in schema["fields"] if f["isPrimary"])
        ids = []
        for row in data:
            key = row.get(pk)
            if key is None:
                self._next_id += 1
                key = self._next_id
            coll["records"][key] = dict(copy.deepcopy(row), **{pk: key})
            ids.append(str(key) if isinstance(key, int) else key)
        count = "upsertCount" if replace else "insertCount"
        return {count: len(ids), ("upsertIds" if replace else "insertIds"): ids}

    def _pk_filter(self, body, coll):
        pk = next(f["fieldName"] for f in coll["schema"]["fields"] if f["isPrimary"])
        flt = (body.get("filter") or "").strip()
        m = re.fullmatch(rf"{re.escape(pk)}\s+in\s+(\[.*\])", flt, re.S) or \
            re.fullmatch(rf"{re.escape(pk)}\s*==\s*(\".*\"|-?\d+)", flt, re.S)
        if not m:
            raise MilvusError(1100, f"the fake only understands `{pk} in [...]` and "
                                    f"`{pk} == value`, got: {flt!r}")
        try:
            value = json.loads(m.group(1))
        except ValueError:
            raise MilvusError(1100, f"cannot parse expression: {flt}") from None
        return value if isinstance(value, list) else [value]

    def _delete(self, body):
        _, coll = self._coll(body)
        keys = self._pk_filter(body, coll)
        gone = [k for k in keys if coll["records"].pop(k, None) is not None]
        return {"deleteCount": len(gone)}

    def _get(self, body):
        _, coll = self._coll(body)
        ids = body.get("id")
        if ids is None:
            raise MilvusError(1802, "missing required parameters: id")
        ids = ids if isinstance(ids, list) else [ids]
        return [copy.deepcopy(coll["records"][k]) for k in ids if k in coll["records"]]

    ROUTES = {
        "collections/has": "_has", "collections/create": "_create",
        "collections/describe": "_describe", "collections/list": "_list",
        "collections/drop": "_drop", "entities/upsert": "_upsert",
        "entities/insert": "_insert", "entities/delete": "_delete",
        "entities/get": "_get",
    }

    def _upsert(self, body):
        return self._write(body, replace=True)

    def _insert(self, body):
        return self._write(body, replace=False)

    def handle(self, path, headers, raw):
        """(HTTP status, envelope) for one request; records it."""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.requests.append({"path": path, "headers": dict(headers),
                                  "raw": raw.decode("utf-8", "replace"), "body": body})
            fault = self._fault(path)
            if fault is not None:
                return fault["status"], {"code": fault["code"], "message": fault["message"]}
            try:
                return 200, self._dispatch(path, headers, raw, body)
            except MilvusError as e:
                return e.status, {"code": e.code, "message": e.message}

    def _dispatch(self, path, headers, raw, body):
        if self.token is not None:
            auth = headers.get("Authorization") or ""
            if auth != f"Bearer {self.token}":
                raise MilvusError(1800, "user hasn't authenticated", status=401)
        action = path[len(PREFIX):] if path.startswith(PREFIX) else None
        if action not in self.ROUTES:
            raise MilvusError(404, f"404 page not found: {path}", status=404)
        if body is None or not isinstance(body, dict):
            if raw.strip():
                raise MilvusError(1801, "can only accept json format request, "
                                        "the request body should be a json object")
            body = {}
        data = getattr(self, self.ROUTES[action])(body)
        return {"code": 0, "data": data, "cost": 0}


def _handler_class(mv):
    class Handler(_Handler):
        pass
    Handler.mv = mv
    return Handler


class _Handler(http.server.BaseHTTPRequestHandler):
    # Headers and body go out in separate sends: with Nagle's algorithm
    # and the client's delayed ACK each answer would wait 40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "FakeMilvus/2.5"
    mv = None

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

    def _send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self._read_body()
        status, obj = self.mv.handle(self.path.split("?", 1)[0],
                                     dict(self.headers.items()), raw)
        self._send(status, obj)

    def do_GET(self):  # Milvus v2 is POST only
        self._read_body()
        self._send(405, {"code": 405, "message": "method not allowed"})


def main(argv=None):
    p = argparse.ArgumentParser(description="Fake Milvus (REST API v2) for tests.")
    p.add_argument("--port", type=int, default=19530)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--token", default=None, help="bearer token to require, e.g. root:Milvus")
    args = p.parse_args(argv)
    mv = FakeMilvus(token=args.token)
    print(f"fake Milvus on {mv.start(args.host, args.port)}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        mv.stop()


if __name__ == "__main__":
    main()
