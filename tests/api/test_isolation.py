"""Brand isolation and who may call what, table-driven over the route table
from `shopkeeper routes`, so a new route cannot forget it."""
import secrets

import pytest

from conftest import assert_ok, assert_problem, connect, fill_pattern, table_names, token_hash, uniq

CHOICES = [{"key": "milk", "label": "Milk", "kind": "choice", "options": ["Oat", "Whole"]}]

# A body with every field some write route might want, valid for each: if a
# route forgot to keep a token inside its brand, this body would get through.
def generic_body():
    return {
        "name": "Intruder", "slug": uniq("intr-"), "email": f"{uniq('intr')}@example.com",
        "role": "admin", "password": "intruder-password-1", "timezone": "UTC", "city": "X",
        "address": "Y", "text": "Notice written by another brand.", "faq": [],
        "choices": [{"key": "stolen", "label": "Stolen", "kind": "yesno"}],
        "purposes": ["recognition"], "answers": {}, "dont": [],
    }


def make_store_key(server, routes, kind, admin, brand, store):
    """A scanner or display key of brand A's store: through the API when the
    route table has a route for it, else minted straight into the database
    (the glue's isolation rules already apply to these token kinds)."""
    plural = {"scanner": "scanners", "display": "displays"}[kind]
    pattern = f"/v1/stores/{{store}}/{plural}"
    if any(r["method"] == "POST" and r["pattern"] == pattern for r in routes):
        r = server.post(pattern.replace("{store}", store["id"]), admin["token"],
                        json={"name": f"test {kind}"})
        body = assert_ok(r)
        token = body.get("token") or body.get("key")
        assert isinstance(token, str) and token.startswith("sk_"), body
        server.secrets.add(token)
        return token
    token = "sk_" + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(8)
    con = connect(server.db, readonly=False)
    try:
        with con:
            tables = set(table_names(con))
            if "store_keys" in tables:
                con.execute("INSERT INTO store_keys (id, brand_id, store_id, kind, name, "
                            "created_at) VALUES (?, ?, ?, ?, 'test key', "
                            "'2024-01-01T00:00:00.000Z')",
                            (key_id, brand["id"], store["id"], kind))
            con.execute(
                "INSERT INTO tokens (hash, kind, subject_id, brand_id, store_id, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, '2024-01-01T00:00:00.000Z', NULL)",
                (token_hash(token), kind, key_id, brand["id"], store["id"]))
    finally:
        con.close()
    server.secrets.add(token)
    return token


@pytest.fixture(scope="module")
def world(server, routes):
    """Brand A (the caller) and brand B (the target), each with real objects."""
    a = server.new_brand(name="Brand A", choices=CHOICES, notice={"text": "A's notice"})
    b = server.new_brand(name="Brand B", choices=CHOICES, notice={"text": "B's notice"})
    w = {"A": a, "B": b}
    w["A_store"] = server.new_store(a)
    w["B_store"] = server.new_store(b)
    w["A_admin"] = server.new_staff(a, "admin")
    w["A_manager"] = server.new_staff(a, "manager")
    w["A_counter"] = server.new_staff(a, "counter")
    w["B_admin"] = server.new_staff(b, "admin")
    w["A_scanner"] = make_store_key(server, routes, "scanner", w["A_admin"], a, w["A_store"])
    w["A_display"] = make_store_key(server, routes, "display", w["A_admin"], a, w["A_store"])
    w["B_scanner"] = assert_ok(server.post(f"/v1/stores/{w['B_store']['id']}/scanners",
                                           w["B_admin"]["token"], json={"name": "B door"}), 201)
    # a customer who is a member of both, with preferences at B
    c = server.new_customer(name="Member Of Both")
    server.join(c, a, ["recognition", "preferences"])
    server.join(c, b, ["recognition", "preferences"])
    assert_ok(server.put(f"/v1/me/brands/{b['id']}/preferences", c["token"],
                         json={"answers": {"milk": "Oat"}}))
    w["customer"] = c
    # a customer who is a member of B only
    cb = server.new_customer(name="Member Of B")
    server.join(cb, b, ["recognition", "preferences"])
    w["B_only"] = cb
    return w


def b_snapshot(server, w):
    """Everything of brand B a leak could have changed."""
    b = w["B"]
    brand = assert_ok(server.get(f"/v1/brands/{b['id']}"))
    stores = assert_ok(server.get(f"/v1/brands/{b['id']}/stores"))
    staff = assert_ok(server.get(f"/v1/brands/{b['id']}/staff", w["B_admin"]["token"]))
    c = w["customer"]
    membership = assert_ok(server.get(f"/v1/me/brands/{b['id']}", c["token"]))
    prefs = assert_ok(server.get(f"/v1/me/brands/{b['id']}/preferences", c["token"]))
    keys = assert_ok(server.get(f"/v1/stores/{w['B_store']['id']}/keys", w["B_admin"]["token"]))
    return {"brand": brand, "stores": stores, "staff": staff, "keys": keys,
            "purposes": membership["purposes"], "prefs": prefs,
            "ledger": len(server.ledger(c))}


def non_public_brand_routes(routes):
    """Every route on something a brand owns: under {brand}, or under one of
    its stores ({store})."""
    out = [r for r in routes if ("{brand}" in r["pattern"] or "{store}" in r["pattern"])
           and "public" not in r["who"]]
    # the walk must not be vacuous: the routes known today are all there
    known = {("PUT", "/v1/brands/{brand}/choices"), ("PUT", "/v1/brands/{brand}/notice"),
             ("POST", "/v1/brands/{brand}/staff"), ("GET", "/v1/brands/{brand}/staff"),
             ("POST", "/v1/brands/{brand}/stores"),
             ("GET", "/v1/brands/{brand}/members/{customer}"),
             ("PUT", "/v1/me/brands/{brand}"), ("DELETE", "/v1/me/brands/{brand}"),
             ("PUT", "/v1/me/brands/{brand}/preferences"),
             ("GET", "/v1/brands/{brand}/staff/{staff}"),
             ("PATCH", "/v1/brands/{brand}/staff/{staff}"),
             ("PATCH", "/v1/brands/{brand}/stores/{store}"),
             ("POST", "/v1/brands/{brand}/stores/{store}/close"),
             ("GET", "/v1/stores/{store}/keys"), ("DELETE", "/v1/stores/{store}/keys/{key}")}
    assert known <= {(r["method"], r["pattern"]) for r in out}
    return out


@pytest.mark.parametrize("caller", ["A_admin", "A_manager", "A_counter", "A_scanner",
                                    "A_display"])
def test_brand_a_tokens_never_reach_brand_b(server, routes, world, caller):
    w = world
    token = w[caller] if isinstance(w[caller], str) else w[caller]["token"]
    before = b_snapshot(server, w)
    walked = 0
    for rt in non_public_brand_routes(routes):
        refs = (w["B"]["id"], w["B"]["slug"]) if "{brand}" in rt["pattern"] else (None,)
        for ref in refs:
            path = fill_pattern(rt["pattern"], {
                "brand": ref, "store": w["B_store"]["id"], "customer": w["customer"]["id"],
                "staff": w["B_admin"]["id"], "key": w["B_scanner"]["id"]})
            body = None if rt["method"] in ("GET", "DELETE") else generic_body()
            kw = {} if body is None else {"json": body}
            r = server.call(rt["method"], path, token, **kw)
            assert r.status_code in (403, 404), (
                f"{caller} on {rt['method']} {path} (brand B) got {r.status_code}: {r.text}")
            assert "text/event-stream" not in r.headers.get("Content-Type", "")
            assert_problem(r)
            assert w["customer"]["name"] not in r.text
            walked += 1
    assert walked >= 18
    assert b_snapshot(server, w) == before


def test_staff_of_a_see_nothing_of_b_through_a_paths(server, world):
    """B's objects under A's path: 404, never B's data."""
    w = world
    a = w["A"]
    r = server.get(f"/v1/brands/{a['id']}/members/{w['B_only']['id']}", w["A_admin"]["token"])
    assert_problem(r, 404)
    assert "Member Of B" not in r.text
    r = server.get(f"/v1/brands/{a['id']}/stores/{w['B_store']['id']}")
    assert_problem(r, 404)
    # and the same staff do see their own member (the lookups above were fair)
    v = assert_ok(server.get(f"/v1/brands/{a['id']}/members/{w['customer']['id']}",
                             w["A_admin"]["token"]))
    assert v["name"] == "Member Of Both" and "preferences" in v
    assert v["preferences"]["answers"] == {}  # B's answers are B's
    # (counter staff look nobody up, not even their own brand's members)
    r = server.get(f"/v1/brands/{a['id']}/members/{w['customer']['id']}",
                   w["A_counter"]["token"])
    assert_problem(r, 403, "counter")
    assert "Member Of Both" not in r.text
    staff = assert_ok(server.get(f"/v1/brands/{a['id']}/staff", w["A_admin"]["token"]))
    assert w["B_admin"]["id"] not in str(staff)


def _own_values(w):
    return {"brand": w["A"]["id"], "store": w["A_store"]["id"],
            "customer": w["customer"]["id"], "staff": w["A_admin"]["id"]}


def test_no_token_is_401_on_every_non_public_route(server, routes, world):
    walked = 0
    for rt in routes:
        if "public" in rt["who"]:
            continue
        path = fill_pattern(rt["pattern"], _own_values(world))
        kw = {} if rt["method"] in ("GET", "DELETE") else {"json": generic_body()}
        for headers in ({}, {"Authorization": "Bearer sk_not-a-token-000000000000000000"},
                        {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
            r = server.call(rt["method"], path, headers=headers, **kw)
            assert_problem(r, 401)
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
            walked += 1
    assert walked >= 4 * 18


@pytest.mark.parametrize("kind", ["customer", "operator", "staff", "scanner"])
def test_token_kinds_outside_who_get_403(server, routes, world, kind):
    """Every non-public route refuses a token kind it does not list (a
    customer token on staff and operator routes, staff and operators on the
    customer's routes, store keys everywhere they are not named)."""
    w = world
    token = {"customer": w["customer"]["token"], "operator": server.op_token,
             "staff": w["A_admin"]["token"], "scanner": w["A_scanner"]}[kind]
    walked = 0
    for rt in routes:
        if "public" in rt["who"] or kind in rt["who"]:
            continue
        path = fill_pattern(rt["pattern"], _own_values(w))
        kw = {} if rt["method"] in ("GET", "DELETE") else {"json": generic_body()}
        r = server.call(rt["method"], path, token, **kw)
        assert_problem(r, 403)
        walked += 1
    assert walked >= 3


def test_customer_token_on_staff_and_operator_routes(server, world):
    w = world
    c = w["customer"]
    a = w["A"]
    for method, path, body in [
        ("POST", "/v1/brands", {"name": "X", "slug": uniq("x-")}),
        ("PUT", f"/v1/brands/{a['id']}/choices", {"choices": CHOICES}),
        ("PUT", f"/v1/brands/{a['id']}/notice", {"text": "mine now"}),
        ("POST", f"/v1/brands/{a['id']}/staff", generic_body()),
        ("GET", f"/v1/brands/{a['id']}/staff", None),
        ("POST", f"/v1/brands/{a['id']}/stores", {"name": "S", "timezone": "UTC"}),
        ("GET", f"/v1/brands/{a['id']}/members/{c['id']}", None),
    ]:
        kw = {} if body is None else {"json": body}
        assert_problem(server.call(method, path, c["token"], **kw), 403, "customer")


def test_store_keys_are_scoped_to_their_brand(server, world):
    """Store keys authenticate as what they are, and cannot look at another
    brand's member."""
    w = world
    for kind in ("scanner", "display"):
        r = server.get("/v1/sessions/current", w[f"A_{kind}"])
        if r.status_code == 403:
            assert kind in assert_problem(r)["detail"]
        else:
            who = assert_ok(r)
            assert who["kind"] == kind and who["brand_id"] == w["A"]["id"]
            assert who["store_id"] == w["A_store"]["id"]
        r = server.get(f"/v1/brands/{w['B']['id']}/members/{w['customer']['id']}",
                       w[f"A_{kind}"])
        assert_problem(r, 403)
        assert "Member Of Both" not in r.text
