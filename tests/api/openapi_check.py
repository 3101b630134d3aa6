"""The API as a contract: every JSON response the API tests receive is
checked against web/openapi.json, the document served at /openapi.json.

For a response to METHOD PATH with status S the check finds the operation
whose path template matches PATH (literal segments before parameters, as
the server's route table does), then the response object for S (exact, then
"4XX"/"5XX", then "default" for errors only: a success status must be listed
by its number), and validates the body against the schema of its media type
with Debian's python3-jsonschema (JSON Schema 2020-12, which OpenAPI 3.1
uses). A status the operation does not list, a media type it does not
declare, a body where none is declared, or a body that does not fit the
schema is a failure that names the route, the status and what was wrong.
Operations still marked "x-draft" are skipped (test_openapi.py fails while
any is left). Responses with no route (unknown paths, wrong methods) must be
problem documents."""
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, RefResolver

DOC_PATH = Path(__file__).resolve().parents[2] / "web" / "openapi.json"
JSON_TYPES = ("application/json", "application/problem+json")


class ContractError(AssertionError):
    pass


class Contract:
    def __init__(self, path=DOC_PATH):
        self.doc = json.loads(Path(path).read_text())
        self.resolver = RefResolver.from_schema(self.doc)
        self.ops = []
        for pattern, item in self.doc["paths"].items():
            regex = re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(pattern)) + "$")
            for method, op in item.items():
                if method in ("get", "put", "post", "patch", "delete"):
                    self.ops.append((method.upper(), pattern, regex, op))
        # a literal segment wins over a parameter at the same place
        self.ops.sort(key=lambda o: [s.startswith("{") for s in o[1].split("/")])
        self.seen = {}      # (METHOD, pattern) -> set of statuses validated
        self.checked = 0

    def find(self, method, path):
        for m, pattern, regex, op in self.ops:
            if m == method and regex.match(path):
                return pattern, op
        return None, None

    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def validate(self, schema, body, where):
        v = Draft202012Validator(schema, resolver=self.resolver)
        errors = sorted(v.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            at = "/".join(str(p) for p in e.absolute_path) or "(the body)"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ContractError(f"{where}: at {at}: {e.message}{more}\n  body: "
                                f"{json.dumps(body)[:600]}")

    def check(self, r):
        """Raises ContractError when the response r (requests) breaks the document."""
        method = r.request.method
        path = urlsplit(r.request.url).path
        if not (path.startswith("/v1/") or path in ("/healthz", "/metrics")):
            return                      # the pages: HTML, not the API
        media = r.headers.get("Content-Type", "").split(";")[0].strip()
        pattern, op = self.find(method, path)
        where = f"{method} {path} -> {r.status_code}"
        if op is None:
            if media != "application/problem+json" or r.status_code < 400:
                raise ContractError(f"{where}: no operation in web/openapi.json for this "
                                    f"request, and the answer is not a problem document")
            self.validate(self.doc["components"]["schemas"]["Problem"], r.json(), where)
            return
        if op.get("x-draft"):
            return
        where = f"{where} ({method} {pattern} in web/openapi.json)"
        responses = op["responses"]
        code = str(r.status_code)
        resp = (responses.get(code) or responses.get(code[0] + "XX")
                or (responses.get("default") if r.status_code >= 400 else None))
        if resp is None:
            raise ContractError(f"{where}: status {code} is not listed (listed: "
                                f"{', '.join(responses)})")
        resp = self.deref(resp)
        content = resp.get("content") or {}
        if not content:
            if r.content and method != "HEAD":
                raise ContractError(f"{where}: the document declares no body, but "
                                    f"{media or 'a body'} came back")
        elif media not in content:
            raise ContractError(f"{where}: media type {media or '(none)'} is not one of "
                                f"{', '.join(content)}")
        elif media in JSON_TYPES:
            try:
                body = r.json()
            except ValueError as e:
                raise ContractError(f"{where}: the body is not JSON: {e}")
            schema = content[media].get("schema")
            if schema is not None:
                self.validate(schema, body, where)
        self.checked += 1
        self.seen.setdefault((method, pattern), set()).add(code)


_contract = None


def contract():
    global _contract
    if _contract is None:
        _contract = Contract()
    return _contract


def _record(r):
    """SHOPKEEPER_OPENAPI_RECORD=FILE: append each answer's route, status and
    body to FILE (JSON lines), to write or review the document's schemas from
    what the server really sends."""
    c = contract()
    method = r.request.method
    path = urlsplit(r.request.url).path
    pattern, _ = c.find(method, path)
    try:
        body = r.json()
    except ValueError:
        body = None
    req = None
    if r.request.body and isinstance(r.request.body, (bytes, str)) and len(r.request.body) < 4000:
        try:
            req = json.loads(r.request.body)
        except (ValueError, RecursionError):
            req = None
    with open(os.environ["SHOPKEEPER_OPENAPI_RECORD"], "a") as f:
        f.write(json.dumps({"method": method, "pattern": pattern, "path": path,
                            "status": r.status_code, "type": r.headers.get("Content-Type"),
                            "request": req, "body": body}) + "\n")


def response_hook(r, *args, **kwargs):
    """A requests response hook: Server's session runs it on every answer."""
    if r.headers.get("Content-Type", "").startswith("text/event-stream"):
        return r        # a stream: its events are described in the document
    if os.environ.get("SHOPKEEPER_OPENAPI_RECORD"):
        _record(r)
    contract().check(r)
    return r
