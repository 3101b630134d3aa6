"""Staff roles are deny-by-default and scoped (issue 10): a staff member holds
grants {role, store?}; admin is for the whole brand, manager and counter for
the stores they are given. One grant decides a request alone, so a counter at
store A who manages store B is not a manager at A.

The first test walks the route table from `shopkeeper routes`, so a new staff
route cannot forget its roles or its store scope. Then: time zones checked
against the tz database, store keys (list, last use, revocation at once),
the rules for changing staff, and closing a store."""
import secrets
import uuid
from types import SimpleNamespace

import pytest

from conftest import RFC3339_UTC, assert_ok, assert_problem, fill_pattern, uniq
from recog_support import CHOICES, EventStream, member, stream_get

UNKNOWN_VISIT = "vis_0000000000000000000000000000"


def add_staff(server, brand, grants, login=True, token=None):
    """A staff member holding exactly grants ([{"role", "store"?}])."""
    email = f"{uniq('st')}@{brand['slug']}.test"
    password = "pw-" + secrets.token_urlsafe(12)
    s = assert_ok(server.post(f"/v1/brands/{brand['id']}/staff", token or server.op_token,
                              json={"email": email, "name": f"Staff {uniq('')}",
                                    "grants": grants, "password": password}), 201)
    s["password"] = password
    if login:
        s["token"] = server.login(email, password)["token"]
    return s


def new_key(server, store_id, kind="scanner"):
    plural = {"scanner": "scanners", "display": "displays", "pos": "pos"}[kind]
    k = assert_ok(server.post(f"/v1/stores/{store_id}/{plural}", server.op_token,
                              json={"name": f"{kind} {uniq('')}"}), 201)
    server.secrets.add(k["key"])
    return k


def key_works(server, key):
    return server.get("/v1/sessions/current", key).status_code == 200


def keys_of(server, store_id):
    return {k["id"]: k for k in
            assert_ok(server.get(f"/v1/stores/{store_id}/keys", server.op_token))["items"]}


# ---- the world ------------------------------------------------------------------

@pytest.fixture(scope="module")
def w(server):
    b = server.new_brand(name="Roles Coffee", choices=CHOICES)
    x = SimpleNamespace(brand=b)
    x.store = {"A": server.new_store(b, name="Roles A Street"),
               "B": server.new_store(b, name="Roles B Street")}
    A, B = x.store["A"]["id"], x.store["B"]["id"]
    # who calls, and the grants they were given (the expectations below are
    # computed from these, not from what the server says they hold)
    x.callers = {
        "admin": [("admin", None)],
        "manager of A": [("manager", "A")],
        "counter of A": [("counter", "A")],
        "counter of A + manager of B": [("counter", "A"), ("manager", "B")],
    }
    x.tokens = {}
    for name, grants in x.callers.items():
        body = [{"role": r} if s is None else {"role": r, "store": x.store[s]["id"]}
                for r, s in grants]
        x.tokens[name] = add_staff(server, b, body)["token"]
    # a counter at each store, whom managers there may see and change
    x.counter_at = {"A": add_staff(server, b, [{"role": "counter", "store": A}], login=False),
                    "B": add_staff(server, b, [{"role": "counter", "store": B}], login=False)}
    x.member = member(server, b, ["recognition", "preferences"], name="Rhoda Roles-Member")
    assert_ok(server.put(f"/v1/brands/{b['id']}/items/roles-1", x.tokens["admin"],
                         json={"title": "Roles beans"}))
    return x


def allowed(grants, roles, where):
    """Whether one of grants alone allows a route accepting roles (empty:
    any role) about store where (None: a brand request, which any store's
    grant with an accepted role covers)."""
    return any((not roles or role in roles) and (at is None or where is None or at == where)
               for role, at in grants)


# ---- how to call each route ----------------------------------------------------------

def _req(path, method=None, ok=None, **kw):
    return SimpleNamespace(path=path, method=method, ok=ok, kw=kw, after=None, call=None)


def request_for(server, x, rt, caller, where):
    """A real request for route rt by caller about store where ("A"/"B"),
    and what success looks like when the caller is allowed (ok: statuses; or
    None when only "not refused" can be said without a fuller setup)."""
    b = x.brand
    sid = x.store[where]["id"] if where else None
    values = {"brand": b["id"], "store": sid, "customer": x.member["id"],
              "visit": UNKNOWN_VISIT, "sku": "roles-none"}
    key = (rt["method"], rt["pattern"])
    p = lambda: fill_pattern(rt["pattern"], values)  # noqa: E731

    if key == ("PUT", "/v1/brands/{brand}/choices"):
        return _req(p(), ok={200}, json={"choices": CHOICES})
    if key == ("PUT", "/v1/brands/{brand}/notice"):
        return _req(p(), ok={200}, json={"text": "What we keep and why."})
    if key == ("POST", "/v1/brands/{brand}/stores"):
        return _req(p(), ok={201}, json={"name": uniq("Store "), "timezone": "UTC"})
    if key == ("POST", "/v1/brands/{brand}/staff"):
        return _req(p(), ok={201}, json={"email": f"{uniq('n')}@example.com", "name": "New",
                                         "role": "counter", "stores": [sid],
                                         "password": "long-enough-1"})
    if key == ("GET", "/v1/brands/{brand}/staff"):
        r = _req(p(), ok={200}, params={"store": sid})

        def after(resp, ok):
            if ok:  # the store's counter is listed
                assert x.counter_at[where]["id"] in {s["id"] for s in resp.json()["items"]}
        r.after = after
        return r
    if key == ("GET", "/v1/brands/{brand}/staff/{staff}"):
        values["staff"] = x.counter_at[where]["id"]
        return _req(p(), ok={200})
    if key == ("PATCH", "/v1/brands/{brand}/staff/{staff}"):
        target = add_staff(server, b, [{"role": "counter", "store": sid}], login=False)
        values["staff"] = target["id"]
        name = f"Renamed {uniq('')}"
        r = _req(p(), ok={200}, json={"name": name})

        def after(resp, ok):
            row = assert_ok(server.get(f"/v1/brands/{b['id']}/staff/{target['id']}",
                                       server.op_token))
            assert (row["name"] == name) == ok, row
        r.after = after
        return r
    if key == ("PATCH", "/v1/brands/{brand}/stores/{store}"):
        city = f"City {uniq('')}"
        r = _req(p(), ok={200}, json={"city": city})

        def after(resp, ok):
            got = assert_ok(server.get(f"/v1/brands/{b['id']}/stores/{sid}"))
            assert (got["city"] == city) == ok, got
        r.after = after
        return r
    if key == ("POST", "/v1/brands/{brand}/stores/{store}/close"):
        if caller == "admin":
            # allowed: close a store of its own, so A and B stay open
            values["store"] = server.new_store(b)["id"]
        r = _req(p(), ok={200})

        def after(resp, ok):
            got = assert_ok(server.get(f"/v1/brands/{b['id']}/stores/{values['store']}"))
            assert (got["closed_at"] is not None) == ok, got
        r.after = after
        return r
    if key == ("GET", "/v1/stores/{store}/keys"):
        return _req(p(), ok={200})
    if key == ("DELETE", "/v1/stores/{store}/keys/{key}"):
        k = new_key(server, sid)
        values["key"] = k["id"]
        r = _req(p(), ok={200})

        def after(resp, ok):
            assert key_works(server, k["key"]) != ok, "revoked: 401; refused: still works"
        r.after = after
        return r
    if key in {("POST", "/v1/stores/{store}/scanners"), ("POST", "/v1/stores/{store}/displays"),
               ("POST", "/v1/stores/{store}/pos")}:
        before = set(keys_of(server, sid))
        r = _req(p(), ok={201}, json={"name": "made in the walk"})

        def after(resp, ok):
            if ok:
                server.secrets.add(resp.json()["key"])
            assert (set(keys_of(server, sid)) != before) == ok
        r.after = after
        return r
    if key == ("GET", "/v1/stores/{store}/cards"):
        return _req(p(), ok={200})
    if key == ("GET", "/v1/stores/{store}/cards/stream"):
        r = _req(p(), ok={200})
        r.call = lambda token: stream_get(server, sid, token)
        return r
    if key == ("POST", "/v1/stores/{store}/codes"):
        return _req(p(), json={"code": "ABCD-EFGH"})  # no such code: 404/422 when allowed
    if key == ("GET", "/v1/brands/{brand}/members"):
        return _req(p(), ok={200}, params={"q": "Rhoda"})
    if key in {("GET", "/v1/brands/{brand}/members/{customer}"),
               ("GET", "/v1/brands/{brand}/members/{customer}/export")}:
        r = _req(p(), ok={200})

        def after(resp, ok):
            assert ("Rhoda Roles-Member" in resp.text) == ok
        r.after = after
        return r
    if key == ("PUT", "/v1/brands/{brand}/items/{sku}"):
        values["sku"] = uniq("roles-")
        return _req(p(), ok={200, 201}, json={"title": "Roles beans"})
    if key == ("POST", "/v1/brands/{brand}/items/import"):
        return _req(p(), ok={200}, data=f"sku,title\n{uniq('imp-')},Imported\n".encode(),
                    headers={"Content-Type": "text/csv"})
    if key == ("POST", "/v1/brands/{brand}/purchases"):
        return _req(p(), ok={201}, json={"store": sid,
                                         "lines": [{"sku": "roles-1", "qty": 1, "price": 3}]},
                    headers={"Idempotency-Key": str(uuid.uuid4())})
    # a route this walk has no valid request for: the role and scope checks
    # still hold (allowed: never refused, no server error)
    return _req(p(), **({} if rt["method"] in ("GET", "DELETE") else {"json": {}}))


# Brand routes whose store is named in the request (body or ?store=), not the
# path: the route lets any accepted role in, then the handler holds the scope.
# The answer when the store is not theirs: 403, or 404 where a manager must not
# learn who works at other stores.
BODY_SCOPED = {("POST", "/v1/brands/{brand}/staff"): 403,
               ("GET", "/v1/brands/{brand}/staff"): 403,
               ("GET", "/v1/brands/{brand}/staff/{staff}"): 404,
               ("PATCH", "/v1/brands/{brand}/staff/{staff}"): 404,
               ("POST", "/v1/brands/{brand}/purchases"): 403}


def in_scope(rt):
    return "staff" in rt["who"] and (rt["roles"] or "{store}" in rt["pattern"] or
                                     (rt["method"], rt["pattern"]) in BODY_SCOPED)


def test_roles_and_store_scope_over_the_route_table(server, routes, w):
    x = w
    walked = []
    for rt in routes:
        if not in_scope(rt):
            continue
        key = (rt["method"], rt["pattern"])
        path_store = "{store}" in rt["pattern"]
        for where in (("A", "B") if path_store or key in BODY_SCOPED else (None,)):
            for caller, grants in x.callers.items():
                req = request_for(server, x, rt, caller, where)
                token = x.tokens[caller]
                if req.call:
                    r = req.call(token)
                else:
                    r = server.call(rt["method"], req.path, token, **req.kw)
                what = f"{caller} on {rt['method']} {req.path} (store {where}): " \
                       f"{r.status_code} {r.text[:300]}"
                ok = allowed(grants, rt["roles"], where)
                if ok:
                    assert r.status_code not in (401, 403) and r.status_code < 500, what
                    if req.ok:
                        assert r.status_code in req.ok, what
                elif path_store or not allowed(grants, rt["roles"], None):
                    # refused by the route: the detail names the role and the store
                    body = assert_problem(r, 403)
                    for role in rt["roles"]:
                        assert role in body["detail"], what
                    if path_store:
                        assert x.store[where]["name"] in body["detail"], what
                else:
                    # refused by the handler for the store named in the request
                    body = assert_problem(r, BODY_SCOPED[key])
                    if BODY_SCOPED[key] == 403:
                        assert "store" in body["detail"], what
                assert "Rhoda" not in r.text or ok, what
                if req.after:
                    req.after(r, ok)
                walked.append((caller, key, where, ok))
    # the walk is not vacuous: it met the routes this issue is about ...
    keys = {k for _, k, _, _ in walked}
    assert {("GET", "/v1/stores/{store}/keys"), ("DELETE", "/v1/stores/{store}/keys/{key}"),
            ("PATCH", "/v1/brands/{brand}/stores/{store}"),
            ("POST", "/v1/brands/{brand}/stores/{store}/close"),
            ("GET", "/v1/brands/{brand}/members/{customer}"),
            ("GET", "/v1/stores/{store}/cards"),
            ("PATCH", "/v1/brands/{brand}/staff/{staff}")} <= keys
    # ... and each kind of caller was both let through and refused
    for caller in x.callers:
        mine = [ok for c, _, _, ok in walked if c == caller]
        assert any(mine) and (caller == "admin" or not all(mine)), caller
    assert all(ok for c, _, _, ok in walked if c == "admin")
    # the manager of A passes at A and is refused at B on every store route
    mgr = [(k, where, ok) for c, k, where, ok in walked
           if c == "manager of A" and "{store}" in k[1] and "close" not in k[1]]
    assert mgr and all(ok == (where == "A") for _, where, ok in mgr)
    # the counter of A: no admin or manager route anywhere, A's cards only
    for c, (method, pattern), where, ok in walked:
        if c == "counter of A":
            rt = next(r for r in routes if (r["method"], r["pattern"]) == (method, pattern))
            if rt["roles"]:
                assert not ok
    assert ("counter of A", ("GET", "/v1/stores/{store}/cards"), "A", True) in walked
    assert ("counter of A", ("GET", "/v1/stores/{store}/cards/stream"), "A", True) in walked


def test_a_counter_here_and_a_manager_there_is_no_manager_here(server, w):
    x = w
    tok = x.tokens["counter of A + manager of B"]
    A, B = x.store["A"], x.store["B"]
    # a manager at B ...
    assert_ok(server.get(f"/v1/stores/{B['id']}/keys", tok))
    k = assert_ok(server.post(f"/v1/stores/{B['id']}/displays", tok, json={"name": "B till"}),
                  201)
    server.secrets.add(k["key"])
    # ... and at A only the counter: the refusal says what they hold, and where
    r = server.get(f"/v1/stores/{A['id']}/keys", tok)
    body = assert_problem(r, 403, ["admin or manager", A["name"], "counter"])
    r = server.post(f"/v1/stores/{A['id']}/displays", tok, json={"name": "A till"})
    assert_problem(r, 403, ["manager", A["name"]])
    assert_ok(server.get(f"/v1/stores/{A['id']}/cards", tok))
    # they may not make themselves or anyone a manager at A
    r = server.post(f"/v1/brands/{x.brand['id']}/staff", tok,
                    json={"email": f"{uniq('m')}@example.com", "name": "Friend",
                          "role": "manager", "stores": [A["id"]], "password": "long-enough-1"})
    assert_problem(r, 403, "manager")
    assert "counter" in body["detail"]
    # what they hold, as the console sees it
    who = assert_ok(server.get("/v1/sessions/current", tok))
    assert who["role"] == "manager"  # the most senior role held ...
    assert sorted((g["role"], g.get("store")) for g in who["grants"]) == \
        sorted([("counter", A["id"]), ("manager", B["id"])])  # ... but only where it holds


def test_counter_staff_cannot_look_customers_up(server, w):
    x = w
    tok = x.tokens["counter of A"]
    log_before = assert_ok(server.get("/v1/me/access-log", x.member["token"]))["items"]
    for path in (f"/v1/brands/{x.brand['id']}/members/{x.member['id']}",
                 f"/v1/brands/{x.brand['id']}/members/{x.member['id']}/export",
                 f"/v1/brands/{x.brand['id']}/members?q=Rhoda"):
        r = server.get(path, tok)
        assert_problem(r, 403, ["admin", "counter"])
        assert "Rhoda" not in r.text
    # the same for a member and for nobody: nothing to learn from the answer
    a = server.get(f"/v1/brands/{x.brand['id']}/members/{x.member['id']}", tok).json()
    n = server.get(f"/v1/brands/{x.brand['id']}/members/cus_0000000000000000000000000000",
                   tok).json()
    assert a == n
    # and none of it was a look at her
    assert assert_ok(server.get("/v1/me/access-log", x.member["token"]))["items"] == log_before


# ---- time zones --------------------------------------------------------------------

def test_time_zones_are_checked_against_the_tz_database(server, w):
    x = w
    bid = x.brand["id"]
    admin, mgr = x.tokens["admin"], x.tokens["manager of A"]
    before = assert_ok(server.get(f"/v1/brands/{bid}/stores?limit=200"))
    for bad in ("Mars/Olympus", "Europe/Nowhere"):
        r = server.post(f"/v1/brands/{bid}/stores", admin,
                        json={"name": uniq("Store "), "timezone": bad, "city": "Nowhere"})
        assert_problem(r, 422, ["timezone", bad])
    assert assert_ok(server.get(f"/v1/brands/{bid}/stores?limit=200")) == before
    s = assert_ok(server.post(f"/v1/brands/{bid}/stores", admin,
                              json={"name": uniq("Store "), "timezone": "America/New_York",
                                    "city": "New York"}), 201)
    assert s["timezone"] == "America/New_York"

    # changing a store: the same rule, and a refused change changes nothing
    A = x.store["A"]
    url = f"/v1/brands/{bid}/stores/{A['id']}"
    was = assert_ok(server.get(url))
    for bad in ("Mars/Olympus", "Europe/Nowhere"):
        for token in (admin, mgr):
            assert_problem(server.patch(url, token, json={"timezone": bad, "name": "Renamed"}),
                           422, ["timezone", bad])
    assert assert_ok(server.get(url)) == was
    got = assert_ok(server.patch(url, mgr, json={"timezone": "America/New_York"}))
    assert got["timezone"] == "America/New_York" and got["name"] == was["name"]
    assert assert_ok(server.get(url))["timezone"] == "America/New_York"
    got = assert_ok(server.patch(url, admin, json={"timezone": was["timezone"]}))
    assert got["timezone"] == was["timezone"]


# ---- store keys ----------------------------------------------------------------------

def test_revoking_a_key_takes_effect_at_once(server, w):
    x = w
    A, B = x.store["A"]["id"], x.store["B"]["id"]
    mgr = x.tokens["manager of A"]
    scanner = assert_ok(server.post(f"/v1/stores/{A}/scanners", mgr, json={"name": "Door"}), 201)
    display = assert_ok(server.post(f"/v1/stores/{A}/displays", mgr, json={"name": "Till"}), 201)
    server.secrets |= {scanner["key"], display["key"]}

    listed = {k["id"]: k for k in
              assert_ok(server.get(f"/v1/stores/{A}/keys", mgr))["items"]}
    row = listed[scanner["id"]]
    assert set(row) >= {"id", "kind", "name", "created_at", "last_seen_at", "revoked_at"}
    assert (row["kind"], row["name"]) == ("scanner", "Door")
    assert row["last_seen_at"] is None and row["revoked_at"] is None
    assert "key" not in row and scanner["key"] not in str(listed)

    # used: its last use is on record, and written at most once a minute
    sight = {"sightings": [{"eid": secrets.token_hex(8)}]}
    assert_ok(server.post("/v1/sightings", scanner["key"], json=sight), 202)
    seen = keys_of(server, A)[scanner["id"]]["last_seen_at"]
    assert seen and RFC3339_UTC.match(seen)
    assert seen >= row["created_at"]
    assert_ok(server.post("/v1/sightings", scanner["key"], json=sight), 202)
    assert keys_of(server, A)[scanner["id"]]["last_seen_at"] == seen

    # revoked by the store's manager: its very next request is a 401
    out = assert_ok(server.delete(f"/v1/stores/{A}/keys/{scanner['id']}", mgr))
    assert out["id"] == scanner["id"] and RFC3339_UTC.match(out["revoked_at"])
    assert_problem(server.post("/v1/sightings", scanner["key"], json=sight), 401)
    row = keys_of(server, A)[scanner["id"]]
    assert row["revoked_at"] == out["revoked_at"] and row["last_seen_at"] == seen
    # the store's other keys work on
    assert_ok(server.get(f"/v1/stores/{A}/cards", display["key"]))

    # a key is revoked only through its own store, and by staff of that store
    other = new_key(server, B)
    assert_problem(server.delete(f"/v1/stores/{A}/keys/{other['id']}", x.tokens["admin"]), 404)
    assert_problem(server.delete(f"/v1/stores/{B}/keys/{other['id']}", mgr), 403,
                   ["manager", x.store["B"]["name"]])
    assert_problem(server.delete(f"/v1/stores/{A}/keys/{display['id']}",
                                 x.tokens["counter of A"]), 403, "counter")
    assert key_works(server, other["key"]) and key_works(server, display["key"])
    assert keys_of(server, B)[other["id"]]["revoked_at"] is None
    assert_problem(server.delete(f"/v1/stores/{A}/keys/scn_0000000000000000000000000000", mgr),
                   404)


def test_a_revoked_display_gets_no_more_cards_on_its_open_stream(server, w):
    x = w
    A = x.store["A"]["id"]
    display = new_key(server, A, "display")
    stream = EventStream(server, A, display["key"])
    try:
        assert stream.status == 200
        stream.quiet(0.3)
        assert_ok(server.delete(f"/v1/stores/{A}/keys/{display['id']}", x.tokens["admin"]))
        shopper = member(server, x.brand, ["recognition", "preferences"],
                         name="Stella After-Revocation")
        assert_ok(server.post("/v1/me/presence", shopper["token"], json={"store": A}))
        # (a display of the store that still holds a key does get her card)
        assert any(c["customer"].get("name") == "Stella After-Revocation"
                   for c in assert_ok(server.get(f"/v1/stores/{A}/cards",
                                                 x.tokens["admin"]))["items"])
        ev = stream.next(2.0)
        assert ev is None or ev[0] != "card" or \
            ev[1]["customer"].get("name") != "Stella After-Revocation", \
            f"a revoked display received a card: {ev}"
        assert stream.ended.wait(3), "the revoked display's stream is still open"
    finally:
        stream.close()


# ---- changing staff ------------------------------------------------------------------

@pytest.fixture
def team(server_factory):
    """A fresh server (these tests sign in a lot): a brand with stores A and
    B, an admin, a manager of A and a counter of A."""
    srv = server_factory()
    b = srv.new_brand(name="Team Coffee")
    A, B = srv.new_store(b, name="Team A"), srv.new_store(b, name="Team B")
    t = SimpleNamespace(srv=srv, brand=b, A=A, B=B)
    t.admin = add_staff(srv, b, [{"role": "admin"}])
    t.manager = add_staff(srv, b, [{"role": "manager", "store": A["id"]}])
    t.counter = add_staff(srv, b, [{"role": "counter", "store": A["id"]}])
    t.counter_b = add_staff(srv, b, [{"role": "counter", "store": B["id"]}], login=False)
    t.url = lambda s: f"/v1/brands/{b['id']}/staff/{s['id']}"
    return t


def row(t, s):
    return assert_ok(t.srv.get(t.url(s), t.srv.op_token))


def test_nobody_changes_their_own_roles(team):
    t = team
    srv = t.srv
    for s, change in [(t.admin, {"role": "counter", "stores": [t.A["id"]]}),
                      (t.admin, {"disabled": True}),
                      (t.manager, {"grants": [{"role": "admin"}]}),
                      (t.manager, {"role": "manager", "stores": [t.A["id"], t.B["id"]]}),
                      (t.manager, {"disabled": True})]:
        before = row(t, s)
        assert_problem(srv.patch(t.url(s), s["token"], json=change), 403, "own")
        assert row(t, s) == before
    # a counter has no say over anyone, themselves included
    assert_problem(srv.patch(t.url(t.counter), t.counter["token"],
                             json={"grants": [{"role": "admin"}]}), 403, "counter")
    assert row(t, t.counter)["grants"] == [{"role": "counter", "store": t.A["id"]}]
    # their own name is theirs to change
    assert assert_ok(srv.patch(t.url(t.manager), t.manager["token"],
                               json={"name": "Mona Manager"}))["name"] == "Mona Manager"


def test_a_manager_gives_and_takes_only_store_roles_at_their_stores(team):
    t = team
    srv, bid, tok = t.srv, t.brand["id"], t.manager["token"]
    staff_before = assert_ok(srv.get(f"/v1/brands/{bid}/staff", srv.op_token))
    # no admin, no role for the whole brand, nothing at another store
    for body, needle in [
        ({"role": "admin"}, "admin"),
        ({"grants": [{"role": "comms"}]}, "comms"),
        ({"role": "counter", "stores": [t.B["id"]]}, t.B["id"]),
        ({"role": "manager", "stores": [t.A["id"], t.B["id"]]}, t.B["id"]),
    ]:
        r = srv.post(f"/v1/brands/{bid}/staff", tok,
                     json={"email": f"{uniq('n')}@example.com", "name": "New",
                           "password": "long-enough-1", **body})
        assert_problem(r, 403, needle)
    assert assert_ok(srv.get(f"/v1/brands/{bid}/staff", srv.op_token)) == staff_before

    # promoting their counter: to manager at A yes, to admin or at B no
    assert_problem(srv.patch(t.url(t.counter), tok, json={"role": "admin"}), 403, "admin")
    assert_problem(srv.patch(t.url(t.counter), tok,
                             json={"grants": [{"role": "counter", "store": t.A["id"]},
                                              {"role": "manager", "store": t.B["id"]}]}),
                   403, t.B["id"])
    assert row(t, t.counter)["grants"] == [{"role": "counter", "store": t.A["id"]}]
    got = assert_ok(srv.patch(t.url(t.counter), tok,
                              json={"role": "manager", "stores": [t.A["id"]]}))
    assert got["grants"] == [{"role": "manager", "store": t.A["id"]}] and got["role"] == "manager"
    # at once, for their open session
    assert_ok(srv.get(f"/v1/stores/{t.A['id']}/keys", t.counter["token"]))

    # people of other stores, and the admin, are not theirs to see or touch
    for other in (t.counter_b, t.admin):
        before = row(t, other)
        assert_problem(srv.get(t.url(other), tok), 404)
        for change in ({"disabled": True}, {"role": "counter", "stores": [t.A["id"]]},
                       {"name": "Taken Over"}):
            assert_problem(srv.patch(t.url(other), tok, json=change), 404)
        assert row(t, other) == before
    # their list is their store's
    assert_problem(srv.get(f"/v1/brands/{bid}/staff", tok), 403, "store")
    assert_problem(srv.get(f"/v1/brands/{bid}/staff", tok, params={"store": t.B["id"]}), 403,
                   t.B["id"])
    ids = {s["id"] for s in assert_ok(srv.get(f"/v1/brands/{bid}/staff", tok,
                                              params={"store": t.A["id"]}))["items"]}
    assert ids == {t.manager["id"], t.counter["id"]}


def test_disabling_ends_sessions_at_once_and_enabling_lets_them_back(team):
    t = team
    srv, tok = t.srv, t.manager["token"]
    A = t.A["id"]
    assert_ok(srv.get(f"/v1/stores/{A}/cards", t.counter["token"]))
    second = srv.login(t.counter["email"], t.counter["password"])["token"]

    out = assert_ok(srv.patch(t.url(t.counter), tok, json={"disabled": True}))
    assert out["disabled"] is True and RFC3339_UTC.match(out["disabled_at"])
    # every open session of theirs ends with the change, not at its expiry
    for session in (t.counter["token"], second):
        assert_problem(srv.get(f"/v1/stores/{A}/cards", session), 401)
        assert_problem(srv.get("/v1/sessions/current", session), 401)
    # and they cannot sign in again
    r = srv.post("/v1/sessions", json={"email": t.counter["email"],
                                       "password": t.counter["password"]})
    assert_problem(r, (401, 403))
    assert "token" not in r.text
    # the listing says so
    listed = {s["id"]: s for s in assert_ok(srv.get(f"/v1/brands/{t.brand['id']}/staff",
                                                    t.admin["token"]))["items"]}
    assert listed[t.counter["id"]]["disabled"] is True
    assert listed[t.counter["id"]]["disabled_at"] == out["disabled_at"]

    # enabled again: the same password works, their grants are as they were
    back = assert_ok(srv.patch(t.url(t.counter), t.admin["token"], json={"disabled": False}))
    assert back["disabled"] is False and back["disabled_at"] is None
    assert back["grants"] == [{"role": "counter", "store": A}]
    again = srv.login(t.counter["email"], t.counter["password"])
    assert assert_ok(srv.get(f"/v1/stores/{A}/cards", again["token"]))["items"] == []
    # the sessions ended before stay ended
    assert_problem(srv.get("/v1/sessions/current", second), 401)
    assert_problem(srv.patch(t.url(t.counter), tok, json={"disabled": "yes"}), 422,
                   "disabled")


# ---- closing a store -----------------------------------------------------------------

def test_closing_a_store_revokes_its_keys_and_the_roles_there(team):
    t = team
    srv, bid = t.srv, t.brand["id"]
    A, B = t.A["id"], t.B["id"]
    # the manager of A also manages B; the counter works at A only
    assert_ok(srv.patch(t.url(t.manager), t.admin["token"],
                        json={"role": "manager", "stores": [A, B]}))
    keys_a = [new_key(srv, A, kind) for kind in ("scanner", "display", "pos")]
    key_b = new_key(srv, B)
    assert all(key_works(srv, k["key"]) for k in keys_a)

    assert_problem(srv.post(f"/v1/brands/{bid}/stores/{A}/close", t.manager["token"]), 403,
                   "admin")
    closed = assert_ok(srv.post(f"/v1/brands/{bid}/stores/{A}/close", t.admin["token"]))
    assert closed["id"] == A and RFC3339_UTC.match(closed["closed_at"])
    assert assert_ok(srv.get(f"/v1/brands/{bid}/stores/{A}"))["closed_at"] == closed["closed_at"]

    # every key of the store stops at once; the other store's go on
    for k in keys_a:
        assert_problem(srv.get("/v1/sessions/current", k["key"]), 401)
    assert_problem(srv.post("/v1/sightings", keys_a[0]["key"],
                            json={"sightings": [{"eid": "00" * 8}]}), 401)
    assert all(r["revoked_at"] for r in keys_of(srv, A).values())
    assert key_works(srv, key_b["key"])
    # the roles there end: the manager keeps B, the counter holds nothing
    assert row(t, t.manager)["grants"] == [{"role": "manager", "store": B}]
    assert row(t, t.counter)["grants"] == []
    assert_problem(srv.get(f"/v1/stores/{A}/keys", t.manager["token"]), 403, "manager")
    assert_ok(srv.get(f"/v1/stores/{B}/keys", t.manager["token"]))
    assert_problem(srv.get(f"/v1/stores/{A}/cards", t.counter["token"]), 403)
    # a closed store is not changed, and no one is given a role there
    assert_problem(srv.patch(f"/v1/brands/{bid}/stores/{A}", t.admin["token"],
                             json={"city": "Elsewhere"}), 409)
    assert_problem(srv.post(f"/v1/brands/{bid}/staff", t.admin["token"],
                            json={"email": f"{uniq('n')}@example.com", "name": "Late",
                                  "role": "counter", "stores": [A],
                                  "password": "long-enough-1"}), 422, "store")
    assert_problem(srv.patch(t.url(t.counter), t.admin["token"],
                             json={"role": "counter", "stores": [A]}), 422, "store")


def test_staff_left_with_no_role_can_still_see_so_and_sign_out(team):
    t = team
    srv = t.srv
    assert_ok(srv.post(f"/v1/brands/{t.brand['id']}/stores/{t.A['id']}/close",
                       t.admin["token"]))
    assert row(t, t.counter)["grants"] == []
    who = assert_ok(srv.get("/v1/sessions/current", t.counter["token"]))
    assert who["id"] == t.counter["id"] and who["grants"] == []
    assert assert_ok(srv.delete("/v1/sessions/current", t.counter["token"])) == {"revoked": True}
    assert_problem(srv.get("/v1/sessions/current", t.counter["token"]), 401)
