"""Brands, their choices (versioned), notice, stores and staff; staff roles."""
import pytest

from conftest import ENGINE, RFC3339_UTC, assert_ok, assert_problem, fill_pattern, uniq

COFFEE_CHOICES = [
    {"key": "usual", "label": "Regular order", "kind": "choice",
     "options": ["Flat White", "Oat Latte"]},
    {"key": "room_for_cream", "label": "Room for cream", "kind": "yesno"},
]


def test_health_and_purposes(server):
    h = assert_ok(server.get("/healthz"))
    assert h["status"] == "ok" and h["store"] == ENGINE and h["version"]
    p = assert_ok(server.get("/v1/purposes"))
    names = [i["name"] for i in p["items"]]
    assert names == ["recognition", "preferences", "history", "suggestions", "offers",
                     "messages", "care", "insights", "partner:<brand>"]
    assert all(i["explanation"] for i in p["items"])


def test_brand_create_get_by_id_and_slug(server):
    slug = uniq("b-")
    r = server.post("/v1/brands", server.op_token, json={"name": "Corner Café", "slug": slug})
    b = assert_ok(r, 201)
    assert r.headers["Location"] == f"/v1/brands/{b['id']}"
    assert b["slug"] == slug and b["name"] == "Corner Café"
    assert b["choices"] == [] and b["notice"] is None
    assert b["choices_version"] == 0 and b["notice_version"] == 0
    assert RFC3339_UTC.match(b["created_at"])
    assert b["id"].startswith("brd_")
    assert assert_ok(server.get(f"/v1/brands/{b['id']}")) == b
    assert assert_ok(server.get(f"/v1/brands/{slug}")) == b
    # the notice is 404 until published
    assert_problem(server.get(f"/v1/brands/{slug}/notice"), 404)


def test_brand_create_rules(server):
    slug = uniq("b-")
    assert_ok(server.post("/v1/brands", server.op_token, json={"name": "A", "slug": slug}), 201)
    assert_problem(server.post("/v1/brands", server.op_token, json={"name": "B", "slug": slug}),
                   409, "slug")
    for bad in ["A", "x", "has space", "UPPER", "-lead", "under_score", "brd_abc", "a" * 41]:
        assert_problem(server.post("/v1/brands", server.op_token,
                                   json={"name": "Bad", "slug": bad}), 422, "slug")
    assert_problem(server.post("/v1/brands", server.op_token, json={"slug": uniq("b-")}),
                   422, "name")
    assert_problem(server.get(f"/v1/brands/{uniq('nope-')}"), 404)


def test_only_operator_creates_brands(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    c = server.new_customer()
    body = {"name": "Sneaky", "slug": uniq("b-")}
    assert_problem(server.post("/v1/brands", admin["token"], json=body), 403)
    assert_problem(server.post("/v1/brands", c["token"], json=body), 403)
    assert_problem(server.post("/v1/brands", json=body), 401)
    assert_problem(server.get(f"/v1/brands/{body['slug']}"), 404)


def test_choices_versioning(server):
    b = server.new_brand()
    bid = b["id"]
    v0 = assert_ok(server.get(f"/v1/brands/{bid}/choices"))
    assert v0["version"] == 0 and v0["choices"] == []
    assert_problem(server.get(f"/v1/brands/{bid}/choices", params={"version": 1}), 404)

    one = assert_ok(server.put(f"/v1/brands/{bid}/choices", server.op_token, json=COFFEE_CHOICES))
    assert one["version"] == 1
    # normalized: purpose defaults to preferences, options only for "choice"
    assert one["choices"][0]["purpose"] == "preferences"
    assert one["choices"][1] == {"key": "room_for_cream", "label": "Room for cream",
                                 "kind": "yesno", "purpose": "preferences"}

    # a customer answers under version 1
    c = server.new_customer()
    server.join(c, b, ["preferences"])
    assert_ok(server.put(f"/v1/me/brands/{bid}/preferences", c["token"],
                         json={"answers": {"usual": "Flat White", "room_for_cream": True}}))

    second = [{"key": "size", "label": "Cup size", "kind": "choice",
               "options": ["Small", "Large"]},
              {"key": "cup_name", "label": "Name on the cup", "kind": "text"}]
    two = assert_ok(server.put(f"/v1/brands/{bid}/choices", server.op_token,
                               json={"choices": second}))
    assert two["version"] == 2

    cur = assert_ok(server.get(f"/v1/brands/{bid}/choices"))
    assert cur["version"] == 2 and [c_["key"] for c_ in cur["choices"]] == ["size", "cup_name"]
    old = assert_ok(server.get(f"/v1/brands/{bid}/choices", params={"version": 1}))
    assert old["version"] == 1 and old["choices"] == one["choices"]
    brand = assert_ok(server.get(f"/v1/brands/{bid}"))
    assert brand["choices_version"] == 2 and brand["choices"] == cur["choices"]

    # answers given under version 1 remain readable by the customer
    mine = assert_ok(server.get(f"/v1/me/brands/{bid}/preferences", c["token"]))
    assert mine["choices_version"] == 1
    assert mine["answers"] == {"usual": "Flat White", "room_for_cream": True}
    # new answers are validated against the current version
    assert_problem(server.put(f"/v1/me/brands/{bid}/preferences", c["token"],
                              json={"answers": {"usual": "Flat White"}}), 422, "usual")
    new = assert_ok(server.put(f"/v1/me/brands/{bid}/preferences", c["token"],
                               json={"answers": {"size": "Large"}}))
    assert new["choices_version"] == 2

    for bad in ["0", "-1", "x", "1.5", ""]:
        assert_problem(server.get(f"/v1/brands/{bid}/choices", params={"version": bad}),
                       422, "version")
    assert_problem(server.get(f"/v1/brands/{bid}/choices", params={"version": 3}), 404)


@pytest.mark.parametrize("bad, field", [
    ("not an array", "choices"),
    ([{"label": "No key", "kind": "yesno"}], "choices[0].key"),
    ([{"key": "Bad Key", "label": "x", "kind": "yesno"}], "choices[0].key"),
    ([{"key": "a", "kind": "yesno"}], "choices[0].label"),
    ([{"key": "a", "label": "A", "kind": "slider"}], "choices[0].kind"),
    ([{"key": "a", "label": "A", "kind": "choice"}], "choices[0].options"),
    ([{"key": "a", "label": "A", "kind": "choice", "options": ["x", "x"]}],
     "choices[0].options[1]"),
    ([{"key": "a", "label": "A", "kind": "yesno", "options": ["x"]}], "choices[0].options"),
    ([{"key": "a", "label": "A", "kind": "yesno"}, {"key": "a", "label": "B", "kind": "yesno"}],
     "choices[1].key"),
    ([{"key": "a", "label": "A", "kind": "yesno", "purpose": "spying"}], "choices[0].purpose"),
    ([{"key": "a", "label": "A", "kind": "yesno", "purpose": "partner:no-such-brand-zz"}],
     "choices[0].purpose"),
])
def test_choices_validation(server, bad, field):
    b = server.new_brand(choices=COFFEE_CHOICES)
    assert_problem(server.put(f"/v1/brands/{b['id']}/choices", server.op_token,
                              json={"choices": bad}),
                   422, field)
    # nothing written: still version 1
    assert assert_ok(server.get(f"/v1/brands/{b['id']}/choices"))["version"] == 1


def test_notice(server):
    b = server.new_brand()
    n = assert_ok(server.put(f"/v1/brands/{b['id']}/notice", server.op_token,
                             json={"text": "We keep your name and answers.",
                                   "faq": [{"q": "Why?", "a": "To greet you."}]}))
    assert n["version"] == 1 and n["text"] == "We keep your name and answers."
    assert n["faq"] == [{"q": "Why?", "a": "To greet you."}]
    assert RFC3339_UTC.match(n["updated_at"])
    got = assert_ok(server.get(f"/v1/brands/{b['slug']}/notice"))
    assert got == n
    n2 = assert_ok(server.put(f"/v1/brands/{b['id']}/notice", server.op_token,
                              json={"text": "Second version."}))
    assert n2["version"] == 2 and n2["faq"] == []
    brand = assert_ok(server.get(f"/v1/brands/{b['id']}"))
    assert brand["notice_version"] == 2 and brand["notice"]["text"] == "Second version."
    assert_problem(server.put(f"/v1/brands/{b['id']}/notice", server.op_token, json={}),
                   422, "text")
    assert_problem(server.put(f"/v1/brands/{b['id']}/notice", server.op_token,
                              json={"text": "x", "faq": [{"q": "only q"}]}), 422, "faq[0]")
    assert_problem(server.put(f"/v1/brands/{b['id']}/notice", server.op_token,
                              json={"text": "x", "faq": "nope"}), 422, "faq")
    assert assert_ok(server.get(f"/v1/brands/{b['id']}"))["notice_version"] == 2


def test_stores(server):
    b = server.new_brand()
    r = server.post(f"/v1/brands/{b['id']}/stores", server.op_token,
                    json={"name": "Harbour", "timezone": "America/New_York", "city": "Boston",
                          "address": "1 Pier"})
    s = assert_ok(r, 201)
    assert r.headers["Location"] == f"/v1/brands/{b['id']}/stores/{s['id']}"
    assert s["brand_id"] == b["id"] and s["timezone"] == "America/New_York"
    assert s["city"] == "Boston" and s["address"] == "1 Pier" and s["beacon_id"]
    assert assert_ok(server.get(f"/v1/brands/{b['slug']}/stores/{s['id']}")) == s
    lst = assert_ok(server.get(f"/v1/brands/{b['id']}/stores"))
    assert [x["id"] for x in lst["items"]] == [s["id"]] and lst["next"] is None
    for bad in ["Mars/Olympus Mons Base", "nowhere", "../etc", "/Europe", ""]:
        assert_problem(server.post(f"/v1/brands/{b['id']}/stores", server.op_token,
                                   json={"name": "X", "timezone": bad}), 422, "timezone")
    assert_problem(server.post(f"/v1/brands/{b['id']}/stores", server.op_token,
                               json={"timezone": "UTC"}), 422, "name")
    assert_problem(server.get(f"/v1/brands/{b['id']}/stores/sto_nope"), 404)
    assert len(assert_ok(server.get(f"/v1/brands/{b['id']}/stores"))["items"]) == 1


def test_staff_create_and_list(server):
    b = server.new_brand()
    store = server.new_store(b)["id"]
    admin = server.new_staff(b, "admin")
    assert admin["brand_id"] == b["id"] and admin["role"] == "admin"
    assert admin["grants"] == [{"role": "admin"}]
    assert admin["disabled"] is False and admin["disabled_at"] is None
    assert admin["invited"] is False
    assert "password" not in assert_ok(server.get(f"/v1/brands/{b['id']}/staff",
                                                  admin["token"]))["items"][0]
    email = f"{uniq('s')}@example.com"
    s = assert_ok(server.post(f"/v1/brands/{b['id']}/staff", admin["token"],
                              json={"email": email.upper(), "name": "Counter", "role": "counter",
                                    "stores": [store], "password": "long-enough-1"}), 201)
    assert s["email"] == email and "password_hash" not in s
    assert s["role"] == "counter" and s["grants"] == [{"role": "counter", "store": store}]
    assert_problem(server.post(f"/v1/brands/{b['id']}/staff", admin["token"],
                               json={"email": email, "name": "Again", "role": "counter",
                                     "stores": [store], "password": "long-enough-1"}),
                   409, "email")
    for body, field in [
        ({"email": "not-an-email", "name": "N", "role": "counter", "stores": [store],
          "password": "long-enough"}, "email"),
        ({"email": f"{uniq('s')}@x.com", "name": "N", "role": "boss", "password": "long-enough"},
         "role"),
        ({"email": f"{uniq('s')}@x.com", "name": "N", "role": "counter", "stores": [store],
          "password": "short"}, "password"),
        ({"email": f"{uniq('s')}@x.com", "role": "counter", "stores": [store],
          "password": "long-enough"}, "name"),
        # a store role names its stores; a brand-wide role takes none
        ({"email": f"{uniq('s')}@x.com", "name": "N", "role": "counter",
          "password": "long-enough"}, "stores"),
        ({"email": f"{uniq('s')}@x.com", "name": "N", "role": "manager", "stores": [],
          "password": "long-enough"}, "stores"),
        ({"email": f"{uniq('s')}@x.com", "name": "N", "role": "admin", "stores": [store],
          "password": "long-enough"}, "stores"),
    ]:
        assert_problem(server.post(f"/v1/brands/{b['id']}/staff", admin["token"], json=body),
                       422, field)
    lst = assert_ok(server.get(f"/v1/brands/{b['id']}/staff", admin["token"]))
    assert sorted(x["email"] for x in lst["items"]) == sorted([admin["email"], email])


# ---- roles -------------------------------------------------------------------

@pytest.fixture(scope="module")
def roles_brand(server):
    b = server.new_brand(choices=COFFEE_CHOICES)
    b["store"] = server.new_store(b)
    staff = {role: server.new_staff(b, role) for role in ("admin", "manager", "counter")}
    return b, staff


def _valid_body(method, pattern, store=None):
    """A body the route would accept from an allowed caller (a new counter
    works at store)."""
    if pattern.endswith("/choices"):
        return {"choices": COFFEE_CHOICES}
    if pattern.endswith("/notice"):
        return {"text": "What we keep and why."}
    if pattern.endswith("/staff") and method == "POST":
        return {"email": f"{uniq('r')}@example.com", "name": "New", "role": "counter",
                "stores": [store], "password": "long-enough-1"}
    if pattern.endswith("/stores") and method == "POST":
        return {"name": uniq("Store "), "timezone": "UTC"}
    return None


def test_counter_cannot_admin_but_admin_can(server, roles_brand):
    b, staff = roles_brand
    bid, sid = b["id"], b["store"]["id"]
    writes = [("PUT", f"/v1/brands/{bid}/choices", "/choices"),
              ("PUT", f"/v1/brands/{bid}/notice", "/notice"),
              ("POST", f"/v1/brands/{bid}/staff", "/staff"),
              ("POST", f"/v1/brands/{bid}/stores", "/stores")]
    before = assert_ok(server.get(f"/v1/brands/{bid}"))
    stores_before = assert_ok(server.get(f"/v1/brands/{bid}/stores"))
    staff_before = assert_ok(server.get(f"/v1/brands/{bid}/staff", staff["admin"]["token"]))
    for method, path, suffix in writes:
        roles = ("counter",) if suffix == "/staff" else ("counter", "manager")
        for role in roles:
            r = server.call(method, path, staff[role]["token"],
                            json=_valid_body(method, "x" + suffix, sid))
            assert_problem(r, 403, role)
    # a manager adds staff only with store roles at their own store: no admin
    r = server.post(f"/v1/brands/{bid}/staff", staff["manager"]["token"],
                    json={"email": f"{uniq('r')}@example.com", "name": "Boss", "role": "admin",
                          "password": "long-enough-1"})
    assert_problem(r, 403, ["admin", "manager"])
    after = assert_ok(server.get(f"/v1/brands/{bid}"))
    assert (after["choices_version"], after["notice_version"]) == \
        (before["choices_version"], before["notice_version"])
    assert assert_ok(server.get(f"/v1/brands/{bid}/stores")) == stores_before
    assert assert_ok(server.get(f"/v1/brands/{bid}/staff", staff["admin"]["token"])) == \
        staff_before
    # ... and a counter at their store is theirs to add
    assert_ok(server.post(f"/v1/brands/{bid}/staff", staff["manager"]["token"],
                          json=_valid_body("POST", "x/staff", sid)), 201)
    for method, path, suffix in writes:
        assert_ok(server.call(method, path, staff["admin"]["token"],
                              json=_valid_body(method, "x" + suffix, sid)))
    # listing staff: admin, and a manager for their store; not counter
    assert_ok(server.get(f"/v1/brands/{bid}/staff", staff["manager"]["token"],
                         params={"store": sid}))
    assert_problem(server.get(f"/v1/brands/{bid}/staff", staff["counter"]["token"]), 403,
                   "counter")


def test_roles_follow_the_route_table(server, routes, roles_brand):
    """Every staff route with a role list: roles outside it get 403 on their
    own brand; roles inside it are never refused (and succeed on the routes
    this test knows a valid body for)."""
    b, staff = roles_brand
    checked = 0
    for rt in routes:
        if "staff" not in rt["who"] or not rt["roles"]:
            continue
        if "{brand}" not in rt["pattern"] and "{store}" not in rt["pattern"]:
            continue
        store = b["store"]["id"]
        if rt["pattern"].endswith("/close"):
            # closing ends the store's roles: close one of its own
            store = server.new_store(b)["id"]
        path = fill_pattern(rt["pattern"], {"brand": b["id"], "store": store})
        body = _valid_body(rt["method"], rt["pattern"], b["store"]["id"])
        known = (body is not None or rt["method"] == "GET") and \
            rt["pattern"].count("{") == 1 and "{brand}" in rt["pattern"]
        for role, s in staff.items():
            # (a fresh body for each: a new staff member's email is taken once)
            body = _valid_body(rt["method"], rt["pattern"], b["store"]["id"])
            kw = {} if body is None else {"json": body}
            if rt["method"] == "GET" and rt["pattern"].endswith("/staff"):
                kw["params"] = {"store": b["store"]["id"]}  # a manager lists their store's
            if rt["method"] == "GET" and rt["pattern"].endswith("/members"):
                kw["params"] = {"q": "Nobody Here"}
            r = server.call(rt["method"], path, s["token"], **kw)
            if role in rt["roles"]:
                if known:
                    assert 200 <= r.status_code < 300, (rt, role, r.status_code, r.text)
                else:
                    assert r.status_code != 403 and r.status_code < 500, (rt, role, r.text)
            else:
                assert_problem(r, 403, role)
            checked += 1
    assert checked >= 15
