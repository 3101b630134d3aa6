"""The OpenAPI document (web/openapi.json, served at /openapi.json) cannot
drift from the route table: every route of `shopkeeper routes` is in it with
the same method, who may call it, the staff roles that suffice, its summary
and its body limit, and it names no route that does not exist. Every JSON
answer the API tests receive is checked against it as well (openapi_check.py,
hooked into conftest's Server)."""
import json
import re

import pytest

from conftest import assert_ok
from openapi_check import DOC_PATH, Contract

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def doc():
    return json.loads(DOC_PATH.read_text())


def operations(doc):
    return {(m.upper(), p): op for p, item in doc["paths"].items()
            for m, op in item.items() if m in METHODS}


def test_every_route_is_in_the_document_and_nothing_else(doc, routes):
    ops = operations(doc)
    table = {(r["method"], r["pattern"]) for r in routes}
    missing = sorted(table - set(ops))
    extra = sorted(set(ops) - table)
    assert not missing, f"routes missing from web/openapi.json: {missing}"
    assert not extra, f"web/openapi.json names routes that do not exist: {extra}"


def test_auth_roles_summary_and_body_limit_match_the_route_table(doc, routes):
    ops = operations(doc)
    wrong = []
    for r in routes:
        key = (r["method"], r["pattern"])
        op = ops[key]
        schemes = []
        for alt in op.get("security", []):
            schemes += list(alt) or ["public"]
        want = r["who"]
        if sorted(schemes or ["public"]) != sorted(want):
            wrong.append(f"{key}: security {schemes or ['public']}, the route table says {want}")
        if sorted(op.get("x-roles", [])) != sorted(r["roles"]):
            wrong.append(f"{key}: x-roles {op.get('x-roles', [])}, the route table says {r['roles']}")
        # OpenAPI 3.1 lets a bearer scheme's requirement name roles: staff's
        # are the roles of which one grant must cover the request
        for alt in op.get("security", []):
            if "staff" in alt and sorted(alt["staff"]) != sorted(r["roles"]):
                wrong.append(f"{key}: security staff roles {alt['staff']}, the route table says "
                             f"{r['roles']}")
        if op.get("summary") != r["summary"]:
            wrong.append(f"{key}: summary {op.get('summary')!r}, the route table says {r['summary']!r}")
        if (r["method"] in ("POST", "PUT", "PATCH") or "requestBody" in op) and \
                op.get("x-body-limit") != r["body_limit"]:
            wrong.append(f"{key}: x-body-limit {op.get('x-body-limit')}, the route table says "
                         f"{r['body_limit']}")
        params = re.findall(r"\{(\w+)\}", r["pattern"])
        named = []
        for p in op.get("parameters", []):
            if "$ref" in p:
                p = doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
            if p["in"] == "path":
                named.append(p["name"])
        if sorted(named) != sorted(params):
            wrong.append(f"{key}: path parameters {named}, the pattern has {params}")
    assert not wrong, "web/openapi.json disagrees with the route table:\n" + "\n".join(wrong)


def test_every_operation_is_described(doc):
    """A success answer with its schema, an id a generated client can name a
    function after, and no operation left as a draft."""
    ops = operations(doc)
    drafts = sorted(k for k, op in ops.items() if op.get("x-draft"))
    assert not drafts, f"{len(drafts)} operations are still drafts in web/openapi.json: {drafts}"
    ids = [op.get("operationId") for op in ops.values()]
    assert all(ids) and len(set(ids)) == len(ids), "operationIds missing or repeated"
    for key, op in ops.items():
        ok = [c for c in op["responses"] if c.startswith("2")]
        assert ok, f"{key}: no success response"


def test_the_document_is_served_as_it_is_in_the_tree(server):
    r = server.get("/openapi.json")
    assert_ok(r)
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == json.loads(DOC_PATH.read_text())
    assert r.json()["openapi"].startswith("3.1")


def test_the_reference_page_and_its_renderer_are_served_from_the_tree(server):
    page = server.get("/docs/api")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "/static/vendor/redoc.standalone.js" in page.text and "/openapi.json" in page.text
    js = server.get("/static/vendor/redoc.standalone.js")
    assert js.status_code == 200, "Redoc is not installed: scripts/install-deps.sh installs it"
    assert "javascript" in js.headers["Content-Type"] and len(js.content) > 100_000


def test_a_response_off_the_document_is_caught(server):
    """The check itself: an answer that breaks the document fails the test
    that received it (here, a brand's page checked against the schema of a
    different shape)."""
    c = Contract()
    brand = server.new_brand()
    r = server.get(f"/v1/brands/{brand['id']}")
    c.check(r)                                     # as documented: passes
    _, op = c.find("GET", f"/v1/brands/{brand['id']}")
    op.pop("x-draft", None)
    schema = c.deref(op["responses"]["200"])["content"]["application/json"]
    schema["schema"] = {"type": "object", "required": ["no_such_field"]}
    with pytest.raises(AssertionError, match="no_such_field"):
        c.check(r)
    op["responses"].pop("200")
    with pytest.raises(AssertionError, match="status 200 is not listed"):
        c.check(r)
