"""The shopper in control (issue 4): GET /v1/me/export holds everything kept
about the customer (docs/export.md). Completeness is asserted over the
schema: every table of the database with a customer_id column (or a foreign
key to customers) must be mapped here to the export section that covers it,
or be listed as documented-not-exported — so a new table cannot be
forgotten — and for a customer with data in every mapped table, each
section holds exactly that data. Everything the customer typed comes back
exactly as typed. And the brand's export of one member
(GET /v1/brands/{brand}/members/{customer}/export)."""
import json
import secrets
from types import SimpleNamespace

import pytest

from conftest import RFC3339_UTC, assert_ok, assert_problem
from privacy_support import (access_log, company, export, keys_connect, ro_connect, tables,
                             tables_referencing, tables_with_column, wait_until)
from recog_support import Device, Shop, member

# Every table of the main database that holds rows about a customer, and the
# export section that covers it: (section, SQL giving one key per row of the
# customer, the same keys read from the export). docs/export.md is the
# reference; a table missing here fails test_every_customer_table_is_mapped.
EXPORT_MAP = {
    "customers": (
        "profile",
        "SELECT id FROM customers WHERE id = ?",
        lambda x: [x["profile"]["id"]]),
    "memberships": (
        "memberships",
        "SELECT brand_id FROM memberships WHERE customer_id = ?",
        lambda x: [m["brand"]["id"] for m in x["memberships"]]),
    "membership_purposes": (
        "memberships",
        "SELECT brand_id || ' ' || purpose FROM membership_purposes WHERE customer_id = ?",
        lambda x: [f"{m['brand']['id']} {p}" for m in x["memberships"] for p in m["purposes"]]),
    "preferences": (
        "preferences",
        "SELECT brand_id || ' ' || choices_version || ' ' || updated_at FROM preferences "
        "WHERE customer_id = ?",
        lambda x: [f"{p['brand']['id']} {p['choices_version']} {p['updated_at']}"
                   for p in x["preferences"]]),
    "consent_events": (
        "consents",
        "SELECT id || ' ' || brand_id || ' ' || purpose || ' ' || action || ' ' || receipt "
        "FROM consent_events WHERE customer_id = ?",
        lambda x: [f"{e['id']} {e['brand_id']} {e['purpose']} {e['action']} {e['receipt']}"
                   for e in x["consents"]]),
    "devices": (
        "devices",
        "SELECT id || ' ' || method || ' ' || name FROM devices WHERE customer_id = ?",
        lambda x: [f"{d['id']} {d['method']} {d['name']}" for d in x["devices"]]),
    "visits": (
        "visits",
        "SELECT id || ' ' || store_id || ' ' || channel || ' ' || coalesce(closed_at, '-') "
        "FROM visits WHERE customer_id = ?",
        lambda x: [f"{v['id']} {v['store_id']} {v['channel']} {v['closed_at'] or '-'}"
                   for v in x["visits"]]),
    "access_log": (
        "access_log",
        "SELECT id || ' ' || actor_kind || ' ' || prev_hash || ' ' || hash FROM access_log "
        "WHERE customer_id = ?",
        lambda x: [f"{e['id']} {e['actor_kind']} {e['prev_hash']} {e['hash']}"
                   for e in x["access_log"]]),
    "people": (
        "people",
        "SELECT id || ' ' || created_at || ' ' || updated_at FROM people WHERE customer_id = ?",
        lambda x: [f"{p['id']} {p['created_at']} {p['updated_at']}" for p in x["people"]]),
    "household_members": (
        "household",
        "SELECT member_id || ' ' || since FROM household_members WHERE customer_id = ?",
        lambda x: [f"{m['customer']} {m['since']}" for m in x["household"]["members"]]),
    "household_invitations": (
        "household",
        "SELECT id || ' ' || status || ' ' || created_at FROM household_invitations "
        "WHERE customer_id = ?",
        lambda x: [f"{i['id']} {i['status']} {i['created_at']}"
                   for i in x["household"]["invitations"]["sent"]]),
}

EXPORT_MAP["purchases"] = (
    "purchases",
    "SELECT id || ' ' || store_id || ' ' || at FROM purchases WHERE customer_id = ?",
    lambda x: [f"{p['id']} {p['store_id']} {p['at']}" for p in x["purchases"]])

EXPORT_MAP["suggestion_events"] = (
    "suggestions",
    "SELECT sku || ' ' || shown_at || ' ' || coalesce(outcome, '-') FROM suggestion_events "
    "WHERE customer_id = ?",
    lambda x: [f"{e['sku']} {e['shown_at']} {e['outcome'] or '-'}" for e in x["suggestions"]])

# Documented as not exported (docs/export.md), with the reason.
NOT_EXPORTED = {
    "tokens": "bearer-token hashes (subject_id), never shown",
    "password_links": "one-time password link hashes (reset, invitation), never shown",
    "access_log_anchors": "the hash of the last expired access-log entry",
    "changes": "the outbox between nodes: ids and a kind of change, an hour at most",
}
# In the key store (a separate file): the customer's wrapped data key.
KEYSTORE_NOT_EXPORTED = {"customer_keys"}

NAME = "Zoë Ångström-Núñez \"Zee\" O'Brien 🦊☕ (e\u0301)"
CUP = 'Zoë "the Owl" O\'Neil — ☕🦉 \\o/ <b>&amp;'
AUTHORS = "Лев Толстой; 村上春樹; Gabriel García Márquez 📚"
DONT = ["receipt", "no pastry offers 🥐", "“smart quotes” & 'plain' \"double\"", "Crème brûlée"]
PHONE = "Zoë's 📱 \"phone\""
FOB = "Key fob ☕ — Ñ"
PERSON = "Anna 🌷 — \"my wife\""


@pytest.fixture(scope="module")
def zoe(server):
    """A customer with data in every table that can hold some: two brands
    joined, one left, answers with quotes and emoji, two devices, an open
    and a closed visit, a consent withdrawal, and looks of every kind."""
    a = company(server, name="Export Coffee", staff=("admin", "manager", "counter"))
    b = company(server, name="Export Books", staff=("admin",))
    c = server.new_brand(name="Export Gone")
    email = f"{secrets.token_hex(4)}.zoe@example.com"
    z = server.new_customer(name=NAME, email=email)
    server.join(z, a.brand, ["recognition", "preferences", "suggestions"], via="portal")
    server.join(z, b.brand, ["recognition", "preferences"])
    server.join(z, c, ["offers"])
    assert_ok(server.delete(f"/v1/me/brands/{c['id']}", z["token"]))
    answers_a = {"usual": "Oat Latte", "room_for_cream": True, "receipt": False, "cup_name": CUP,
                 "authors": AUTHORS}
    assert_ok(server.put(f"/v1/me/brands/{a.brand['id']}/preferences", z["token"],
                         json={"answers": answers_a, "dont": DONT}))
    answers_b = {"usual": "Flat White", "cup_name": "Zee"}
    assert_ok(server.put(f"/v1/me/brands/{b.brand['id']}/preferences", z["token"],
                         json={"answers": answers_b, "dont": []}))
    phone = Device(k=8)
    phone.register(server, z, name=PHONE)
    fob_answer = assert_ok(server.post("/v1/me/devices", z["token"],
                                       json={"name": FOB, "method": "shared",
                                             "rotation_exponent": 10}), 201)
    # an open visit at A (her phone heard), a closed one at B (app check-in,
    # then recognition withdrawn there)
    display = a.shop.stream()
    try:
        a.shop.sight(phone.eid())
        wait_until(lambda: any(ev and ev[0] == "card" and ev[1]["customer"].get("name") == NAME
                               for ev in [display.next(0.5)]), what="Zoë's card")
    finally:
        display.close()
    assert_ok(server.post("/v1/me/presence", z["token"], json={"store": b.shop.id}))
    server.join(z, b.brand, ["preferences"])
    # looks: staff, export (the displays have looked already)
    assert_ok(server.get(f"/v1/brands/{a.brand['id']}/members/{z['id']}", a.manager["token"]))
    assert_ok(server.get(f"/v1/brands/{a.brand['id']}/members/{z['id']}/export",
                         a.admin["token"]))
    wait_until(lambda: len(access_log(server, z)) == 4, what="four looks")
    # the people she shops for, a household member, an invitation waiting
    assert_ok(server.post("/v1/me/people", z["token"], json={"label": PERSON}), 201)
    partner = server.new_customer(name="Zed Household")
    inv = assert_ok(server.post("/v1/me/household/invitations", z["token"],
                                json={"email": partner["email"]}), 202)
    assert_ok(server.post(f"/v1/me/household/invitations/{inv['id']}/accept", partner["token"]))
    assert_ok(server.post("/v1/me/household/invitations", z["token"],
                          json={"email": f"{secrets.token_hex(4)}.x@example.com"}), 202)
    # a purchase linked to her (history granted at A) and an anonymous one
    server.join(z, a.brand, ["recognition", "preferences", "suggestions", "history"],
                via="portal")
    assert_ok(server.put(f"/v1/brands/{a.brand['id']}/items/zoe-1", a.admin["token"],
                         json={"title": "Oat Latte beans ☕", "category": "coffee/beans"}))
    for who in (z["id"], None):
        assert_ok(server.post(f"/v1/brands/{a.brand['id']}/purchases", a.counter["token"],
                              json={"store": a.shop.id, "customer": who,
                                    "lines": [{"sku": "zoe-1", "qty": 1, "price": 4.5}]},
                              headers={"Idempotency-Key": secrets.token_hex(8)}), 201)
    # a suggestion she dismissed for good
    assert_ok(server.post(f"/v1/me/brands/{a.brand['id']}/suggestions/zoe-1/dismiss",
                          z["token"], json={}))
    # someone else, whose data must not appear in Zoë's export
    other = member(server, a.brand, ["recognition", "preferences"], name="Otto Other-Person",
                   answers={"cup_name": "OTTO-SECRET-CUP"})
    return SimpleNamespace(z=z, a=a, b=b, c=c, email=email, answers_a=answers_a,
                           answers_b=answers_b, phone=phone, fob=fob_answer, other=other)


def test_every_customer_table_is_mapped(server):
    """Fails when a table holding customer rows is added without being
    mapped to an export section (or documented as not exported)."""
    con = ro_connect(server.db)
    try:
        holding = set(tables_with_column(con, "customer_id"))
        holding |= set(tables_referencing(con, "customers"))
        all_tables = set(tables(con))
    finally:
        con.close()
    holding.add("customers")
    assert holding >= {"memberships", "consent_events", "access_log", "devices", "visits"}, \
        "the schema scan found too little to be trusted"
    unmapped = holding - set(EXPORT_MAP) - set(NOT_EXPORTED)
    assert not unmapped, (
        f"tables holding customer data that the export does not cover: {sorted(unmapped)}; "
        "add them to the export (docs/export.md) and to EXPORT_MAP here")
    stale = (set(EXPORT_MAP) | set(NOT_EXPORTED)) - all_tables
    assert not stale, f"mapped tables that no longer exist: {sorted(stale)}"
    # the key store holds only the wrapped data keys
    kcon = keys_connect(server)
    try:
        in_keys = tables_with_column(kcon, "customer_id", schema="keys")
        assert in_keys and set(in_keys) <= KEYSTORE_NOT_EXPORTED, in_keys
    finally:
        kcon.close()


def test_export_sections_hold_every_row(server, zoe):
    x = export(server, zoe.z)
    con = ro_connect(server.db)
    try:
        for table, (section, sql, from_export) in EXPORT_MAP.items():
            rows = sorted(r[0] for r in con.execute(sql, (zoe.z["id"],)))
            assert rows, f"the test customer has no row in {table}: the check would be empty"
            assert section in x, f"export has no {section!r} section (for {table})"
            assert sorted(from_export(x)) == rows, f"{table} -> {section}"
    finally:
        con.close()
    # what the fixture made, spelled out
    assert len(x["memberships"]) == 2 and len(x["preferences"]) == 2
    assert len(x["devices"]) == 2 and len(x["visits"]) == 2
    assert sorted(v["closed_at"] is None for v in x["visits"]) == [False, True]
    assert {e["actor_kind"] for e in x["access_log"]} == {"staff", "display", "export"}
    assert {e["brand_id"] for e in x["consents"]} == {zoe.a.brand["id"], zoe.b.brand["id"],
                                                      zoe.c["id"]}


def test_export_format_and_order(server, zoe):
    x = export(server, zoe.z)
    assert x["format"] == "shopkeeper-export" and x["format_version"] == 1
    assert RFC3339_UTC.match(x["exported_at"])
    assert x["retention"]["visits_days"] == 30 and x["retention"]["access_log_days"] == 395
    assert isinstance(x["retention"]["consent_ledger"], str)
    for key in ("profile", "memberships", "preferences", "consents", "devices", "visits",
                "access_log"):
        assert key in x, key
    # the ledger is the whole ledger, oldest first, as GET /v1/me/consents
    ledger = server.ledger(zoe.z)
    assert x["consents"] == ledger
    assert [e["id"] for e in x["consents"]] == sorted(e["id"] for e in x["consents"])
    assert [e["via"] for e in x["consents"][:3]] == ["portal"] * 3
    # the access log oldest first, the API's newest first
    assert [e["id"] for e in x["access_log"]] == [e["id"] for e in reversed(access_log(server, zoe.z))]
    # memberships as GET /v1/me/brands has them
    mine = assert_ok(server.get("/v1/me/brands", zoe.z["token"]))["items"]
    assert sorted((m["brand"]["id"], tuple(sorted(m["purposes"]))) for m in mine) == \
        sorted((m["brand"]["id"], tuple(sorted(m["purposes"]))) for m in x["memberships"])
    b_mem = next(m for m in x["memberships"] if m["brand"]["id"] == zoe.b.brand["id"])
    assert b_mem["purposes"] == ["preferences"]
    for v in x["visits"]:
        assert v["store_name"] in (zoe.a.shop.store["name"], zoe.b.shop.store["name"])


def test_everything_typed_comes_back_exactly(server, zoe):
    x = export(server, zoe.z)
    assert x["profile"]["name"] == NAME
    assert x["profile"]["email"] == zoe.email
    assert x["profile"]["id"] == zoe.z["id"]
    prefs = {p["brand"]["id"]: p for p in x["preferences"]}
    pa = prefs[zoe.a.brand["id"]]
    assert pa["answers"] == zoe.answers_a
    assert pa["answers"]["cup_name"] == CUP and pa["answers"]["authors"] == AUTHORS
    assert pa["dont"] == DONT
    assert prefs[zoe.b.brand["id"]]["answers"] == zoe.answers_b
    assert prefs[zoe.b.brand["id"]]["dont"] == []
    assert sorted(d["name"] for d in x["devices"]) == sorted([PHONE, FOB])
    # the same as the customer's own reads
    assert assert_ok(server.get("/v1/me", zoe.z["token"]))["name"] == NAME
    own = assert_ok(server.get(f"/v1/me/brands/{zoe.a.brand['id']}/preferences", zoe.z["token"]))
    assert own["answers"] == pa["answers"] and own["dont"] == pa["dont"]
    # byte for byte in the response body too (no escaping that changes text)
    raw = server.get("/v1/me/export", zoe.z["token"]).content.decode("utf-8")
    parsed = json.loads(raw)
    assert parsed["profile"]["name"].encode("utf-8") == NAME.encode("utf-8")
    assert "e\u0301" in parsed["profile"]["name"], "the decomposed accent was normalised"


def test_export_leaves_out_keys_secrets_and_other_people(server, zoe):
    raw = server.get("/v1/me/export", zoe.z["token"]).text
    x = json.loads(raw)
    for d in x["devices"]:
        assert set(d) <= {"id", "name", "method", "rotation_exponent", "created_at"}, d
    assert zoe.fob["identity_key"] not in raw.lower()
    assert zoe.phone.ik.hex() not in raw.lower()
    con = ro_connect(server.db)
    try:
        pwhash = con.execute("SELECT password_hash FROM customers WHERE id = ?",
                             (zoe.z["id"],)).fetchone()[0]
        token_hashes = [r[0] for r in con.execute("SELECT hash FROM tokens WHERE subject_id = ?",
                                                  (zoe.z["id"],))]
    finally:
        con.close()
    assert pwhash and pwhash not in raw
    assert token_hashes and not any(h in raw for h in token_hashes)
    assert zoe.z["password"] not in raw and zoe.z["token"] not in raw
    for s in ("Otto Other-Person", "OTTO-SECRET-CUP", zoe.other["id"], zoe.other["email"]):
        assert s not in raw
    # staff appear by role only
    for s in zoe.a.staff.values():
        assert s["name"] not in raw and s["email"] not in raw
    # export is the customer's own
    for token in (zoe.a.admin["token"], server.op_token, zoe.a.shop.display):
        assert_problem(server.get("/v1/me/export", token), 403)
    assert_problem(server.get("/v1/me/export"), 401)


# ---- the brand's export of one member -----------------------------------------------

@pytest.fixture(scope="module")
def brands(server):
    a = company(server, name="Brand Export Coffee", staff=("admin", "manager", "counter"))
    b = company(server, name="Brand Export Books", staff=("admin",))
    return SimpleNamespace(a=a, b=b)


def brand_export(server, brand, customer_id, token):
    return server.get(f"/v1/brands/{brand['id']}/members/{customer_id}/export", token)


def test_brand_export_holds_what_the_brand_may_see(server, brands):
    a, b = brands.a, brands.b
    jo = member(server, a.brand, ["recognition", "preferences"], name="Jo Brand-Export ✨",
                answers={"usual": "Flat White", "cup_name": "J \"O\"", "authors": "Hidden Author"},
                dont=["receipt"])
    server.join(jo, b.brand, ["recognition", "preferences"])
    assert_ok(server.put(f"/v1/me/brands/{b.brand['id']}/preferences", jo["token"],
                         json={"answers": {"usual": "Oat Latte"}, "dont": ["B-ONLY-WISH"]}))
    # a visit at each brand's store
    assert_ok(server.post("/v1/me/presence", jo["token"], json={"store": a.shop.id}))
    assert_ok(server.post("/v1/me/presence", jo["token"], json={"store": b.shop.id}))
    wait_until(lambda: len(access_log(server, jo)) == 2, what="the two display looks")
    own = export(server, jo)
    visit_a = [v for v in own["visits"] if v["brand_id"] == a.brand["id"]]
    assert len(visit_a) == 1

    x = assert_ok(brand_export(server, a.brand, jo["id"], a.admin["token"]))
    assert x["format"] == "shopkeeper-brand-export" and RFC3339_UTC.match(x["exported_at"])
    assert x["id"] == jo["id"]
    assert x["name"] == "Jo Brand-Export ✨"
    assert sorted(x["purposes"]) == ["preferences", "recognition"]
    # the member view: answers under their purposes (authors is "suggestions")
    assert x["preferences"]["answers"] == {"usual": "Flat White", "cup_name": "J \"O\""}
    assert x["preferences"]["dont"] == ["receipt"]
    assert [v["id"] for v in x["visits"]] == [visit_a[0]["id"]]
    assert x["visits"][0]["store_id"] == a.shop.id
    # the brand's own consent entries, and only those
    mine = [e for e in server.ledger(jo) if e["brand_id"] == a.brand["id"]]
    assert [e["id"] for e in x["consents"]] == [e["id"] for e in mine]
    assert {e["purpose"] for e in x["consents"]} == {"recognition", "preferences"}
    text = json.dumps(x, ensure_ascii=False)
    for s in ("B-ONLY-WISH", b.shop.id, b.brand["id"], "Hidden Author", jo["email"]):
        assert s not in text, s

    # the look is in the customer's log
    log = access_log(server, jo)
    assert len(log) == 3
    e = log[0]
    assert (e["actor_kind"], e["actor_role"], e["brand_id"]) == ("export", "admin", a.brand["id"])
    assert set(e["fields"].split()) == {"name", "preferences", "visits"}
    assert set(e["purpose"].split()) == {"recognition", "preferences"}
    assert verify_intact(server, jo)


def verify_intact(server, customer):
    return assert_ok(server.get("/v1/me/access-log/verify", customer["token"]))["intact"]


def test_brand_export_follows_the_grants(server, brands):
    a = brands.a
    jo = member(server, a.brand, ["recognition", "preferences"], name="Jo Withdraws",
                answers={"usual": "Oat Latte"})
    assert_ok(server.post("/v1/me/presence", jo["token"], json={"store": a.shop.id}))
    x = assert_ok(brand_export(server, a.brand, jo["id"], a.admin["token"]))
    assert len(x["visits"]) == 1 and x["name"] == "Jo Withdraws"
    # recognition withdrawn: no name, no visits (the rows are still held)
    server.join(jo, a.brand, ["preferences"])
    x = assert_ok(brand_export(server, a.brand, jo["id"], a.admin["token"]))
    assert "name" not in x and x["visits"] == []
    assert x["preferences"]["answers"] == {"usual": "Oat Latte"}
    assert [e["action"] for e in x["consents"]][-1] == "withdraw"
    assert len(export(server, jo)["visits"]) == 1
    e = access_log(server, jo)[0]
    assert e["actor_kind"] == "export" and e["fields"].split() == ["preferences"]
    # nothing granted: the membership only
    server.join(jo, a.brand, [])
    x = assert_ok(brand_export(server, a.brand, jo["id"], a.admin["token"]))
    assert "name" not in x and "preferences" not in x and x["visits"] == []
    e = access_log(server, jo)[0]
    assert e["actor_kind"] == "export" and e["fields"] == "membership"


def test_brand_export_is_for_the_brands_admin_only(server, brands):
    a, b = brands.a, brands.b
    jo = member(server, a.brand, ["recognition", "preferences"])
    outsider = member(server, b.brand, ["recognition", "preferences"])
    for token in (a.counter["token"], a.manager["token"]):
        assert_problem(brand_export(server, a.brand, jo["id"], token), 403)
    # another brand's admin: refused whatever the path says
    assert_problem(brand_export(server, a.brand, jo["id"], b.admin["token"]), (403, 404))
    assert_problem(brand_export(server, b.brand, jo["id"], b.admin["token"]), 404)
    for token in (server.op_token, jo["token"], a.shop.display, a.shop.scanner):
        assert_problem(brand_export(server, a.brand, jo["id"], token), 403)
    assert_problem(brand_export(server, a.brand, jo["id"], None), 401)
    # a non-member, an unknown id, a malformed id: 404, alike
    assert_problem(brand_export(server, a.brand, outsider["id"], a.admin["token"]), 404)
    assert_problem(brand_export(server, a.brand, "cus_" + secrets.token_hex(14),
                                a.admin["token"]), 404)
    assert_problem(brand_export(server, a.brand, "cus_x.y", a.admin["token"]), 404)
    # none of that was a look
    assert access_log(server, jo) == [] and access_log(server, outsider) == []
    # control: the admin may
    assert_ok(brand_export(server, a.brand, jo["id"], a.admin["token"]))
    assert len(access_log(server, jo)) == 1
