"""Consent: joining, grants, the append-only ledger, preferences and what a
brand may see of a member (deny by default)."""
import pytest

from conftest import RFC3339_UTC, assert_ok, assert_problem

CHOICES = [
    {"key": "usual", "label": "Regular order", "kind": "choice",
     "options": ["Tall Drip", "Oat Latte", "Flat White"]},
    {"key": "room_for_cream", "label": "Room for cream", "kind": "yesno"},
    {"key": "receipt", "label": "Wants a receipt", "kind": "yesno"},
    {"key": "cup_name", "label": "Name on the cup", "kind": "text"},
    {"key": "authors", "label": "Authors I follow", "kind": "text", "purpose": "suggestions"},
]
NOTICE = {"text": "We keep your name and your answers, only if you join.",
          "faq": [{"q": "Can I leave?", "a": "Yes, at any time."}]}


@pytest.fixture(scope="module")
def shop(server):
    b = server.new_brand(name="Pike Test Coffee", choices=CHOICES, notice=NOTICE)
    # member lookups are for admins and managers (counter staff have none)
    manager = server.new_staff(b, "manager")
    return b, manager


def member_url(brand, customer_id):
    return f"/v1/brands/{brand['id']}/members/{customer_id}"


def test_newcomer_story(server, shop):
    brand, manager = shop
    # 1. sign up
    c = server.new_customer(name="Nina Newcomer")
    assert c["id"].startswith("cus_") and c["token"].startswith("sk_")
    me = assert_ok(server.get("/v1/me", c["token"]))
    assert me["name"] == "Nina Newcomer" and me["email"] == c["email"]
    assert assert_ok(server.get("/v1/me/brands", c["token"]))["items"] == []

    # 2. join for two purposes, having read the notice
    nv = assert_ok(server.get(f"/v1/brands/{brand['slug']}/notice"))["version"]
    m = server.join(c, brand, ["recognition", "preferences"], notice_version=nv)
    assert m["brand"] == {"id": brand["id"], "slug": brand["slug"], "name": brand["name"]}
    assert sorted(m["purposes"]) == ["preferences", "recognition"]
    assert sorted((x["purpose"], x["action"]) for x in m["changes"]) == \
        [("preferences", "grant"), ("recognition", "grant")]
    mine = assert_ok(server.get("/v1/me/brands", c["token"]))["items"]
    assert [(x["brand"]["id"], sorted(x["purposes"])) for x in mine] == \
        [(brand["id"], ["preferences", "recognition"])]

    # 3. set preferences
    prefs = {"answers": {"usual": "Oat Latte", "room_for_cream": True, "cup_name": "Neen"},
             "dont": ["pastry offers", "receipt"]}
    p = assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"], json=prefs))
    assert p["answers"] == prefs["answers"] and p["dont"] == prefs["dont"]
    assert p["choices_version"] == brand["choices_version"]

    # 4. the brand's staff see them
    v = assert_ok(server.get(member_url(brand, c["id"]), manager["token"]))
    assert v["id"] == c["id"] and v["name"] == "Nina Newcomer"
    assert sorted(v["purposes"]) == ["preferences", "recognition"]
    assert v["preferences"]["answers"] == prefs["answers"]
    assert v["preferences"]["dont"] == prefs["dont"]
    assert "email" not in v

    # 5. withdraw one purpose: the brand loses that field on the next request
    m2 = server.join(c, brand, ["recognition"])
    assert m2["purposes"] == ["recognition"]
    assert m2["changes"] == [{"purpose": "preferences", "action": "withdraw"}]
    v2 = assert_ok(server.get(member_url(brand, c["id"]), manager["token"]))
    assert v2["name"] == "Nina Newcomer" and v2["purposes"] == ["recognition"]
    assert "preferences" not in v2
    # and the customer can no longer set preferences for the brand
    assert_problem(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"],
                              json={"answers": {"receipt": True}}), 403, "preferences")

    # 6. the ledger shows the grants AND the later withdrawal
    ledger = server.ledger(c)
    assert [(e["purpose"], e["action"]) for e in ledger] == [
        ("preferences", "grant"), ("recognition", "grant"), ("preferences", "withdraw")]
    for e in ledger:
        assert e["brand_id"] == brand["id"] and e["brand_slug"] == brand["slug"]
        assert e["brand_name"] == brand["name"]
        assert e["notice_version"] == nv and e["via"] == "api"
        assert RFC3339_UTC.match(e["at"]) and len(e["receipt"]) >= 16 and e["id"]
    assert ledger[2]["at"] >= ledger[0]["at"]

    # counter staff may not look a member up: refused, naming the role needed
    counter = server.new_staff(brand, "counter")
    r = server.get(member_url(brand, c["id"]), counter["token"])
    assert_problem(r, 403, ["admin or manager", "counter"])
    assert "Nina" not in r.text

    # 7. every look by the brand is in the customer's access log (the refused one is not)
    log = assert_ok(server.get("/v1/me/access-log", c["token"]))["items"]
    assert len(log) == 2
    newest, oldest = log
    assert oldest["fields"] == "name preferences" and newest["fields"] == "name"
    for e in log:
        assert e["brand_id"] == brand["id"] and e["actor_kind"] == "staff"
        assert e["actor_role"] == "manager" and RFC3339_UTC.match(e["at"])
    assert assert_ok(server.get("/v1/me/access-log", c["token"],
                                params={"brand": brand["slug"]}))["items"] == log
    assert_problem(server.get("/v1/me/access-log", c["token"], params={"brand": "no-such-zz"}),
                   422, "brand")


def test_ledger_is_append_only_across_changes(server, shop):
    brand, _ = shop
    c = server.new_customer()
    server.join(c, brand, ["recognition"])
    server.join(c, brand, ["recognition"])  # unchanged: no new entries
    assert len(server.ledger(c)) == 1
    server.join(c, brand, ["offers", "messages"])
    server.join(c, brand, ["recognition"])
    steps = [(e["purpose"], e["action"]) for e in server.ledger(c)]
    assert steps == [
        ("recognition", "grant"),
        ("recognition", "withdraw"), ("messages", "grant"), ("offers", "grant"),
        ("messages", "withdraw"), ("offers", "withdraw"), ("recognition", "grant")]
    assert server.join(c, brand, [])["purposes"] == []


def test_via_portal_and_bad_via(server, shop):
    brand, _ = shop
    c = server.new_customer()
    server.join(c, brand, ["recognition"], via="portal")
    assert server.ledger(c)[0]["via"] == "portal"
    assert_problem(server.put(f"/v1/me/brands/{brand['id']}", c["token"],
                              json={"purposes": ["offers"], "via": "cli"}), 422, "via")
    # leaving says how, too; a bad via leaves nothing half done
    assert_problem(server.delete(f"/v1/me/brands/{brand['id']}", c["token"],
                                 json={"via": "pigeon"}), 422, "via")
    assert assert_ok(server.get(f"/v1/me/brands/{brand['id']}", c["token"]))["purposes"] == \
        ["recognition"]
    assert_ok(server.delete(f"/v1/me/brands/{brand['id']}", c["token"], json={"via": "portal"}))
    assert [(e["action"], e["via"]) for e in server.ledger(c)] == \
        [("grant", "portal"), ("withdraw", "portal")]


def test_non_member_is_indistinguishable_from_no_one(server, shop):
    brand, manager = shop
    stranger = server.new_customer()
    other = server.new_brand()
    server.join(stranger, other, ["recognition", "preferences"])  # a member elsewhere only

    r_stranger = server.get(member_url(brand, stranger["id"]), manager["token"])
    r_unknown = server.get(member_url(brand, "cus_0000000000000000000000000000"), manager["token"])
    r_garbage = server.get(member_url(brand, "not.an.id"), manager["token"])
    bodies = [assert_problem(r, 404) for r in (r_stranger, r_unknown, r_garbage)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert stranger["id"] not in r_stranger.text
    # and nothing about the stranger reached the stranger's access log
    assert assert_ok(server.get("/v1/me/access-log", stranger["token"]))["items"] == []


def test_field_needs_its_purpose(server, shop):
    brand, manager = shop
    c = server.new_customer(name="Pat Prefs-Only")
    server.join(c, brand, ["preferences"])
    assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"],
                         json={"answers": {"usual": "Tall Drip"}}))
    v = assert_ok(server.get(member_url(brand, c["id"]), manager["token"]))
    assert "name" not in v and "Pat" not in str(v)
    assert v["preferences"]["answers"] == {"usual": "Tall Drip"}

    # a member with no purpose at all: no field
    c2 = server.new_customer(name="Zero Grants")
    server.join(c2, brand, [])
    v2 = assert_ok(server.get(member_url(brand, c2["id"]), manager["token"]))
    assert v2["purposes"] == [] and "name" not in v2 and "preferences" not in v2

    # recognition only: the name and nothing else
    c3 = server.new_customer(name="Rita Recognised")
    server.join(c3, brand, ["recognition", "preferences"])
    assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", c3["token"],
                         json={"answers": {"receipt": False}}))
    server.join(c3, brand, ["recognition"])
    v3 = assert_ok(server.get(member_url(brand, c3["id"]), manager["token"]))
    assert v3["name"] == "Rita Recognised" and "preferences" not in v3
    # granting preferences again brings the (kept) answers back
    server.join(c3, brand, ["recognition", "preferences"])
    v3 = assert_ok(server.get(member_url(brand, c3["id"]), manager["token"]))
    assert v3["preferences"]["answers"] == {"receipt": False}


def test_answer_needs_the_purpose_of_its_choice(server, shop):
    """A choice may name another purpose ("authors" is under suggestions):
    its answer is visible to the brand only while that purpose is granted."""
    brand, manager = shop
    c = server.new_customer()
    server.join(c, brand, ["preferences"])
    assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"],
                         json={"answers": {"usual": "Flat White", "authors": "Tana French"}}))
    v = assert_ok(server.get(member_url(brand, c["id"]), manager["token"]))
    assert v["preferences"]["answers"] == {"usual": "Flat White"}
    assert "Tana French" not in str(v)
    # the customer still sees everything they gave
    mine = assert_ok(server.get(f"/v1/me/brands/{brand['id']}/preferences", c["token"]))
    assert mine["answers"] == {"usual": "Flat White", "authors": "Tana French"}
    # granting suggestions makes it visible on the next request
    server.join(c, brand, ["preferences", "suggestions"])
    v = assert_ok(server.get(member_url(brand, c["id"]), manager["token"]))
    assert v["preferences"]["answers"] == {"usual": "Flat White", "authors": "Tana French"}
    server.join(c, brand, ["preferences"])
    v = assert_ok(server.get(member_url(brand, c["id"]), manager["token"]))
    assert v["preferences"]["answers"] == {"usual": "Flat White"}


def test_leaving_removes_everything_and_keeps_the_ledger(server, shop):
    brand, manager = shop
    c = server.new_customer(name="Leo Leaver")
    server.join(c, brand, ["recognition", "preferences", "offers"])
    assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"],
                         json={"answers": {"usual": "Tall Drip"}, "dont": ["receipt"]}))
    assert_ok(server.get(member_url(brand, c["id"]), manager["token"]))

    r = server.delete(f"/v1/me/brands/{brand['slug']}", c["token"])
    out = assert_ok(r)
    assert out == {"left": True, "brand": {"id": brand["id"], "slug": brand["slug"],
                                           "name": brand["name"]}}

    # the brand sees nothing, exactly as for an unknown customer
    gone = assert_problem(server.get(member_url(brand, c["id"]), manager["token"]), 404)
    unknown = assert_problem(server.get(member_url(brand, "cus_0000000000000000000000000000"),
                                        manager["token"]), 404)
    assert gone == unknown
    # the customer's side: no membership, no preferences
    assert assert_ok(server.get("/v1/me/brands", c["token"]))["items"] == []
    assert_problem(server.get(f"/v1/me/brands/{brand['id']}", c["token"]), 404)
    assert_problem(server.get(f"/v1/me/brands/{brand['id']}/preferences", c["token"]), 404)
    assert_problem(server.delete(f"/v1/me/brands/{brand['id']}", c["token"]), 404)
    # the ledger keeps the grants and adds a withdrawal per purpose
    steps = [(e["purpose"], e["action"]) for e in server.ledger(c)]
    assert steps[:3] == [("offers", "grant"), ("preferences", "grant"),
                         ("recognition", "grant")]
    assert sorted(steps[3:]) == [("offers", "withdraw"), ("preferences", "withdraw"),
                                 ("recognition", "withdraw")]
    # rejoining starts from nothing: earlier answers were removed
    server.join(c, brand, ["preferences"])
    p = assert_ok(server.get(f"/v1/me/brands/{brand['id']}/preferences", c["token"]))
    assert p["answers"] == {} and p["dont"] == [] and p["choices_version"] == 0
    v = assert_ok(server.get(member_url(brand, c["id"]), manager["token"]))
    assert v["preferences"]["answers"] == {}


# ---- purposes and preferences validation -----------------------------------------

def test_unknown_and_partner_purposes(server, shop):
    brand, _ = shop
    partner = server.new_brand()
    c = server.new_customer()
    for bad in ["spying", "Recognition", "partner:", "partner:no-such-brand-zz",
                f"partner:{brand['slug']}", 7, None]:
        r = server.put(f"/v1/me/brands/{brand['id']}", c["token"],
                       json={"purposes": ["recognition", bad]})
        assert_problem(r, 422, "purposes[1]")
    assert_problem(server.put(f"/v1/me/brands/{brand['id']}", c["token"],
                              json={"purposes": "recognition"}), 422, "purposes")
    assert_problem(server.put(f"/v1/me/brands/{brand['id']}", c["token"], json={}),
                   422, "purposes")
    # nothing was written by the failed attempts
    assert_problem(server.get(f"/v1/me/brands/{brand['id']}", c["token"]), 404)
    assert server.ledger(c) == []
    m = server.join(c, brand, ["recognition", f"partner:{partner['slug']}"])
    assert sorted(m["purposes"]) == [f"partner:{partner['slug']}", "recognition"]


def test_notice_version_must_match(server, shop):
    brand, _ = shop
    c = server.new_customer()
    nv = assert_ok(server.get(f"/v1/brands/{brand['id']}"))["notice_version"]
    assert nv >= 1
    body = assert_problem(server.put(f"/v1/me/brands/{brand['id']}", c["token"],
                                     json={"purposes": ["recognition"],
                                           "notice_version": nv - 1}), 409, "notice_version")
    assert str(nv) in body["detail"]
    assert_problem(server.put(f"/v1/me/brands/{brand['id']}", c["token"],
                              json={"purposes": ["recognition"], "notice_version": "1"}),
                   422, "notice_version")
    assert server.ledger(c) == []
    server.join(c, brand, ["recognition"], notice_version=nv)
    assert server.ledger(c)[0]["notice_version"] == nv


@pytest.fixture(scope="module")
def prefs_member(server, shop):
    brand, _ = shop
    c = server.new_customer()
    server.join(c, brand, ["recognition", "preferences"])
    good = {"answers": {"usual": "Tall Drip", "receipt": True}, "dont": ["cup_name"]}
    assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"], json=good))
    return c, good


@pytest.mark.parametrize("body, field", [
    ({"answers": {"colour": "red"}}, "colour"),                       # unknown key
    ({"answers": {"usual": "Mocha"}}, "usual"),                       # outside the options
    ({"answers": {"usual": 3}}, "usual"),                             # wrong type
    ({"answers": {"receipt": "yes"}}, "receipt"),                     # yesno needs a boolean
    ({"answers": {"cup_name": True}}, "cup_name"),                    # text needs a string
    ({"answers": {"cup_name": "x" * 201}}, "cup_name"),               # too long
    ({"answers": ["usual"]}, "answers"),
    ({"dont": "receipt"}, "dont"),
    ({"dont": ["ok", 5]}, "dont[1]"),
    ({"answers": {"usual": "Tall Drip", "nope": True}}, "nope"),      # one bad among good
])
def test_preferences_validation(server, shop, prefs_member, body, field):
    brand, _ = shop
    c, good = prefs_member
    r = server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"], json=body)
    assert_problem(r, 422, field)
    # the earlier preferences are intact
    p = assert_ok(server.get(f"/v1/me/brands/{brand['id']}/preferences", c["token"]))
    assert p["answers"] == good["answers"] and p["dont"] == good["dont"]


def test_preferences_need_membership_and_purpose(server, shop):
    brand, _ = shop
    c = server.new_customer()
    r = server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"],
                   json={"answers": {"receipt": True}})
    assert_problem(r, 404)
    server.join(c, brand, ["recognition"])
    assert_problem(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"],
                              json={"answers": {"receipt": True}}), 403, "preferences")
    p = assert_ok(server.get(f"/v1/me/brands/{brand['id']}/preferences", c["token"]))
    assert p["answers"] == {} and p["updated_at"] is None


def test_dont_list_is_normalized(server, shop):
    brand, _ = shop
    c = server.new_customer()
    server.join(c, brand, ["preferences"])
    p = assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"],
                             json={"dont": ["no pastry offers", "receipt", "no pastry offers"]}))
    assert p["dont"] == ["no pastry offers", "receipt"] and p["answers"] == {}


def test_profile_rename(server):
    c = server.new_customer(name="Old Name")
    me = assert_ok(server.patch("/v1/me", c["token"], json={"name": "New Name"}))
    assert me["name"] == "New Name" and me["email"] == c["email"]
    assert assert_ok(server.get("/v1/me", c["token"]))["name"] == "New Name"
    assert_problem(server.patch("/v1/me", c["token"], json={"name": ""}), 422, "name")
    assert_problem(server.patch("/v1/me", c["token"], json={"name": 5}), 422, "name")
    assert assert_ok(server.get("/v1/me", c["token"]))["name"] == "New Name"
