"""Recognition at the counter (issue 3): the full story from joining a brand
to the card on the counter display and its removal on withdrawal, the card's
parts under each purpose, served, and the access log of every card shown.

A real device is emulated (recog_support.Device): it derives its identity
key by X25519 with the service's published key and computes its EIDs with
AES-128 as the Eddystone-EID spec says; the counter display is the live
server-sent event stream read in a background thread."""
import time
from types import SimpleNamespace

import pytest

from conftest import RFC3339_UTC, assert_ok, assert_problem
from recog_support import (CHOICES, Device, Shop, compute_eid, db_rows, member, new_store,
                           provision_ik, raw_public, stats)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey


@pytest.fixture(scope="module")
def pike(server):
    b = server.new_brand(name="Pike Pine Test Coffee", choices=CHOICES)
    admin = server.new_staff(b, "admin")
    manager = server.new_staff(b, "manager")
    return SimpleNamespace(brand=b, admin=admin, manager=manager)


@pytest.fixture
def streams():
    opened = []

    def open_stream(shop, token=None):
        s = shop.stream(token)
        opened.append(s)
        return s

    yield open_stream
    for s in opened:
        s.close()


def prefs_put(server, customer, brand, answers, dont=()):
    return assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", customer["token"],
                                json={"answers": answers, "dont": list(dont)}))


def display_log(server, customer):
    items = assert_ok(server.get("/v1/me/access-log", customer["token"]))["items"]
    return [e for e in items if e["actor_kind"] == "display"]


def test_device_emulation_matches_the_spec_values():
    """The test device computes what the spec's check values say, so the
    API tests below measure the server against the real algorithm."""
    ik = bytes.fromhex("0102030405060708090a111213141516")
    assert compute_eid(ik, 10, 0).hex() == "a9b76a71c5f89290"
    assert compute_eid(ik, 10, 2000).hex() == "4144413e45fefa58"
    ik2 = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert compute_eid(ik2, 12, 1518080946).hex() == "7dd8169dae94258c"
    rpriv = X25519PrivateKey.from_private_bytes(bytes.fromhex(
        "61136adab1bf302f1c49e860196aeefd8fbaa41518b4c226372d6cc469c47278"))
    dpriv = X25519PrivateKey.from_private_bytes(bytes.fromhex(
        "6ea13b5ef3cc642fd6102c1d85c096b510f56efc488114a4562a987bf4525628"))
    assert raw_public(rpriv).hex() == \
        "29769a045dcb811ba3025985b9de91eb9a57dadbceb68a1e6a3c2b1af4868e1f"
    assert raw_public(dpriv).hex() == \
        "c63e6f89aab47552c8d621a59c81d0af203f6570a4bd7a267a08a17561c8bc2b"
    assert provision_ik(dpriv, raw_public(rpriv)).hex() == "f40d6f18e5882260e847e99ca33ac44f"


def test_full_story(server, pike, streams):
    brand = pike.brand
    # a regular joins for recognition and preferences and gives her answers
    jeff = member(server, brand, ["recognition", "preferences"], name="Jeff Regular")
    prefs_put(server, jeff, brand, {"usual": "Tall Drip Pike", "room_for_cream": True,
                                    "receipt": False}, dont=["receipt", "pastry offers"])
    # her phone registers by X25519: the identity key never travels
    phone = Device(k=8)
    dev = phone.register(server, jeff)
    assert dev["id"].startswith("dev_") and dev["rotation_exponent"] == 8

    # an admin makes the scanner key, the store's manager the display key
    store = Shop(server, brand, pike.admin["token"])
    manager = server.new_staff(brand, "manager", stores=[store.id])
    sk = assert_ok(server.post(f"/v1/stores/{store.id}/scanners", pike.admin["token"],
                               json={"name": "door"}), 201)
    dk = assert_ok(server.post(f"/v1/stores/{store.id}/displays", manager["token"],
                               json={"name": "till"}), 201)
    # (a manager of another store may not)
    assert_problem(server.post(f"/v1/stores/{store.id}/displays", pike.manager["token"],
                               json={"name": "till"}), 403, ["manager", store.store["name"]])
    for k in (sk, dk):
        assert k["key"].startswith("sk_") and k["id"] and k["store_id"] == store.id
    store.scanner, store.display = sk["key"], dk["key"]

    display = streams(store)
    display.quiet(0.3)
    before = stats(server)

    # the scanner hears her phone
    store.sight(phone.eid())
    card = display.expect("card")
    assert card["customer"] == {"name": "Jeff Regular"}
    assert card["channel"] == "device" and card["store"] == store.id
    assert card["visit"].startswith("vis_") and RFC3339_UTC.match(card["opened_at"])
    assert card["served"] is False
    assert card["choices"] == [
        {"key": "usual", "label": "Regular order", "value": "Tall Drip Pike"},
        {"key": "room_for_cream", "label": "Room for cream", "value": True},
    ]  # "receipt" is answered but on her don't-list: it shows only there (issue 10)
    assert card["dont"] == ["Wants a receipt", "pastry offers"]
    assert "suggestions" not in card  # not granted
    assert store.cards() == [card]
    after = stats(server)
    assert after["received"] == before["received"] + 1
    assert after["resolved"] == before["resolved"] + 1
    assert after["visits_opened"] == before["visits_opened"] + 1

    # she changes an answer: the card on the counter follows
    prefs_put(server, jeff, brand, {"usual": "Oat Latte", "room_for_cream": True,
                                    "receipt": False}, dont=["receipt", "pastry offers"])
    upd = display.expect("update")
    assert upd["visit"] == card["visit"]
    assert upd["choices"][0] == {"key": "usual", "label": "Regular order", "value": "Oat Latte"}
    assert store.cards() == [upd]

    # she withdraws recognition: the card is gone within one second
    t0 = time.monotonic()
    server.join(jeff, brand, ["preferences"])
    gone = display.expect("gone", timeout=1.0)
    assert time.monotonic() - t0 < 1.0
    assert gone == {"visit": card["visit"]}
    assert store.cards() == []
    assert db_rows(server, "SELECT close_reason FROM visits WHERE id = ?", card["visit"]) == \
        [("withdrawn",)]

    # heard again: nothing, and nothing is shown
    mid = stats(server)
    store.sight(phone.eid())
    display.quiet(0.4)
    assert store.cards() == []
    end = stats(server)
    assert end["dropped_not_member"] == mid["dropped_not_member"] + 1
    assert end["visits_opened"] == mid["visits_opened"]
    assert db_rows(server, "SELECT count(*) FROM visits WHERE customer_id = ?",
                   jeff["id"]) == [(1,)]

    # granting it again is honoured at once (no refusal is remembered)
    server.join(jeff, brand, ["recognition", "preferences"])
    store.sight(phone.eid())
    again = display.expect("card")
    assert again["visit"] != card["visit"] and again["customer"] == {"name": "Jeff Regular"}


def test_one_card_per_visit(server, pike, streams):
    c = member(server, pike.brand, ["recognition"])
    d = Device(k=10)
    d.register(server, c)
    shop = Shop(server, pike.brand, pike.admin["token"])
    display = streams(shop)
    before = stats(server)
    shop.sight(d.eid())
    card = display.expect("card")
    # heard again and again, also in one batch with its neighbouring windows
    shop.sight(d.eid())
    shop.sight(d.eid(), d.eid(), d.eid(windows=1), d.eid(windows=-1))
    display.quiet(0.4)
    assert [x["visit"] for x in shop.cards()] == [card["visit"]]
    after = stats(server)
    assert after["visits_opened"] == before["visits_opened"] + 1
    assert after["presences"] >= before["presences"] + 3
    assert db_rows(server, "SELECT count(*) FROM visits WHERE customer_id = ?", c["id"]) == [(1,)]
    assert len(display_log(server, c)) == 1


def test_card_parts_follow_each_purpose(server, pike, streams):
    brand = pike.brand
    shop = Shop(server, brand, pike.admin["token"])
    display = streams(shop)
    c = member(server, brand, ["recognition"], name="Rita Recognised")
    d = Device(k=9)
    d.register(server, c)
    shop.sight(d.eid())
    card = display.expect("card")
    assert card["customer"] == {"name": "Rita Recognised"}
    for part in ("choices", "dont", "suggestions"):
        assert part not in card, card
    # grant preferences and answer: the card gains them
    server.join(c, brand, ["recognition", "preferences"])
    upd = display.expect("update")
    assert upd["choices"] == [] and upd["dont"] == []
    # (an answer under another purpose stays off the card)
    prefs_put(server, c, brand, {"cup_name": "Ri", "authors": "Le Guin"},
              dont=["room_for_cream"])
    upd = display.expect("update")
    assert upd["choices"] == [{"key": "cup_name", "label": "Name on the cup", "value": "Ri"}]
    assert upd["dont"] == ["Room for cream"]
    # suggestions granted: the (for now empty) part appears, and the answer
    # given under that purpose
    server.join(c, brand, ["recognition", "preferences", "suggestions"])
    upd = display.expect("update")
    assert upd["suggestions"] == []
    assert upd["choices"] == [
        {"key": "cup_name", "label": "Name on the cup", "value": "Ri"},
        {"key": "authors", "label": "Authors I follow", "value": "Le Guin"}]
    # preferences withdrawn: the answers leave the counter at once
    server.join(c, brand, ["recognition"])
    upd = display.expect("update")
    assert "choices" not in upd and "dont" not in upd and "suggestions" not in upd
    assert upd["customer"] == {"name": "Rita Recognised"} and upd["visit"] == card["visit"]
    # a new name follows too
    assert_ok(server.patch("/v1/me", c["token"], json={"name": "Rita R."}))
    upd = display.expect("update")
    assert upd["customer"] == {"name": "Rita R."}
    assert shop.cards() == [upd]


def test_withdrawal_clears_every_store_of_the_brand_only(server, pike, streams):
    other = server.new_brand(name="Other Test Books", choices=CHOICES)
    other_admin = server.new_staff(other, "admin")
    p1 = Shop(server, pike.brand, pike.admin["token"])
    p2_store = new_store(server, pike.brand)
    p2 = Shop(server, pike.brand, server.new_staff(pike.brand, "manager",
                                                   stores=[p2_store["id"]])["token"],
              store=p2_store)
    q1 = Shop(server, other, other_admin["token"])
    c = member(server, pike.brand, ["recognition"])
    server.join(c, other, ["recognition"])
    d = Device(k=10)
    d.register(server, c)
    s1, s2, s3 = streams(p1), streams(p2), streams(q1)
    for shop, s in ((p1, s1), (p2, s2), (q1, s3)):
        shop.sight(d.eid())
        s.expect("card")
    v1, v2 = p1.cards()[0]["visit"], p2.cards()[0]["visit"]
    # leaving the brand altogether
    t0 = time.monotonic()
    assert_ok(server.delete(f"/v1/me/brands/{pike.brand['id']}", c["token"]))
    assert s1.expect("gone", timeout=1.0) == {"visit": v1}
    assert s2.expect("gone", timeout=1.0) == {"visit": v2}
    assert time.monotonic() - t0 < 1.0
    s3.quiet(0.3)
    assert p1.cards() == [] and p2.cards() == [] and len(q1.cards()) == 1
    # later sightings at the brand drop; the other brand still knows them
    p1.sight(d.eid())
    s1.quiet(0.3)
    assert p1.cards() == []


def test_served(server, pike, streams):
    brand = pike.brand
    shop = Shop(server, brand, pike.admin["token"])
    other_shop = Shop(server, brand, pike.admin["token"])
    counter = server.new_staff(brand, "counter")
    display = streams(shop)
    c = member(server, brand, ["recognition"])
    d = Device(k=8)
    d.register(server, c)
    shop.sight(d.eid())
    visit = display.expect("card")["visit"]
    # not this store's visit, or no such visit
    assert_problem(server.post(f"/v1/stores/{other_shop.id}/cards/{visit}/served",
                               other_shop.display), 404)
    assert_problem(server.post(f"/v1/stores/{shop.id}/cards/vis_0000000000000000000000000000/"
                               "served", shop.display), 404)
    assert_problem(server.post(f"/v1/stores/{shop.id}/cards/not-an-id/served", shop.display), 404)
    display.quiet(0.2)
    r = assert_ok(server.post(f"/v1/stores/{shop.id}/cards/{visit}/served", shop.display))
    assert r == {"visit": visit, "served": True}
    upd = display.expect("update")
    assert upd["visit"] == visit and upd["served"] is True
    assert upd["customer"] == shop.cards()[0]["customer"]
    assert shop.cards()[0]["served"] is True
    # staff at the counter may mark it too
    assert_ok(server.post(f"/v1/stores/{shop.id}/cards/{visit}/served", counter["token"]))
    (served_at,) = db_rows(server, "SELECT served_at FROM visits WHERE id = ?", visit)[0]
    assert served_at and RFC3339_UTC.match(served_at)


def test_each_card_shown_is_in_the_access_log(server, pike, streams):
    brand = pike.brand
    shop = Shop(server, brand, pike.admin["token"])
    display = streams(shop)
    c = member(server, brand, ["recognition", "preferences"],
               answers={"usual": "Flat White"}, dont=["receipt"])
    d = Device(k=8)
    d.register(server, c)
    assert display_log(server, c) == []
    shop.sight(d.eid())
    display.expect("card")
    log = display_log(server, c)
    assert len(log) == 1
    e = log[0]
    assert e["actor_kind"] == "display" and e["store_id"] == shop.id
    assert e["store_name"] == shop.store["name"] and e["brand_id"] == brand["id"]
    assert set(e["fields"].split()) == {"name", "choices", "dont"}
    assert set(e["purpose"].split()) == {"recognition", "preferences"}
    assert RFC3339_UTC.match(e["at"])
    # heard again: the same card, no new look
    shop.sight(d.eid())
    display.quiet(0.3)
    assert len(display_log(server, c)) == 1
    # a changed answer is shown again: a new entry
    prefs_put(server, c, brand, {"usual": "Oat Latte"})
    display.expect("update")
    log = display_log(server, c)
    assert len(log) == 2 and set(log[0]["fields"].split()) == {"name", "choices"}
    # recognition only: the entry names only what was shown, under its purpose
    c2 = member(server, brand, ["recognition"])
    d2 = Device(k=8)
    d2.register(server, c2)
    shop.sight(d2.eid())
    display.expect("card")
    (e2,) = display_log(server, c2)
    assert e2["fields"] == "name" and e2["purpose"] == "recognition"
    assert e2["store_id"] == shop.id


def test_stream_starts_with_the_open_cards(server, pike, streams):
    shop = Shop(server, pike.brand, pike.admin["token"])
    people = [member(server, pike.brand, ["recognition"]) for _ in range(2)]
    for p in people:
        d = Device(k=8)
        d.register(server, p)
        shop.sight(d.eid())
    open_cards = shop.cards()
    assert len(open_cards) == 2
    assert open_cards[0]["opened_at"] >= open_cards[1]["opened_at"]  # newest first
    # a display that (re)connects gets them first, then what happens next
    display = streams(shop)
    first = [display.expect("card"), display.expect("card")]
    assert sorted(c["visit"] for c in first) == sorted(c["visit"] for c in open_cards)
    display.quiet(0.2)
    assert_ok(server.post(f"/v1/stores/{shop.id}/cards/{open_cards[0]['visit']}/served",
                          shop.display))
    assert display.expect("update")["served"] is True


def rfc3339(seconds_ago):
    t = time.gmtime(time.time() - seconds_ago)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)


def test_late_sightings_neither_open_nor_shorten_a_visit(server, pike, streams):
    """A scanner may forward what it heard a while ago (seen_at). A sighting
    older than the quiet time belongs to a visit that is already over: it
    shows no card; and a late sighting never moves a visit's last presence
    back in time, which would close it while the customer is still there."""
    shop = Shop(server, pike.brand, pike.admin["token"])
    display = streams(shop)
    c = member(server, pike.brand, ["recognition"])
    d = Device(k=12)  # a window of 68 minutes: the EID is still valid
    d.register(server, c)
    stale = {"eid": d.eid(), "seen_at": rfc3339(600)}  # quiet time: 300 s
    assert_ok(server.post("/v1/sightings", shop.scanner, json={"sightings": [stale]}), 202)
    display.quiet(0.4)
    assert shop.cards() == []
    assert display_log(server, c) == []
    assert db_rows(server, "SELECT count(*) FROM visits WHERE customer_id = ?", c["id"]) == [(0,)]
    # heard a few seconds ago: that is now
    recent = {"eid": d.eid(), "seen_at": rfc3339(3)}
    assert_ok(server.post("/v1/sightings", shop.scanner, json={"sightings": [recent]}), 202)
    card = display.expect("card")
    # a late report of an old sighting does not end the visit
    assert_ok(server.post("/v1/sightings", shop.scanner, json={"sightings": [stale]}), 202)
    display.quiet(1.2)  # the quiet-time check runs every second
    assert [x["visit"] for x in shop.cards()] == [card["visit"]]
    (closed,) = db_rows(server, "SELECT closed_at FROM visits WHERE id = ?", card["visit"])[0]
    assert closed is None
