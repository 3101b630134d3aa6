"""Recognition (issue 3): registering devices (X25519 and the "shared"
method), the rules a registration must pass, drift tolerance and the
temporary-key roll-over as seen through the API, deleting a device, and the
two other presence channels (app check-in, counter code)."""
import re
import secrets
import time
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from conftest import RFC3339_UTC, assert_ok, assert_problem
from recog_support import (CHOICES, Device, Shop, compute_eid, db_rows, member,
                           mid_window_offset, provision_ik, raw_public, stats)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_FIELDS = ("identity_key", "ik", "ik_enc", "key", "public_key", "secret", "clock_offset")


@pytest.fixture(scope="module")
def shopco(server):
    b = server.new_brand(name="Device Test Coffee", choices=CHOICES)
    admin = server.new_staff(b, "admin")
    return SimpleNamespace(brand=b, admin=admin,
                           params=assert_ok(server.get("/v1/eid-params")))


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


def code_of(eid_hex):
    """The counter code of an EID: its top 40 bits in Crockford base32."""
    prefix = int.from_bytes(bytes.fromhex(eid_hex)[:5], "big")
    return "".join(ALPHABET[(prefix >> (35 - 5 * i)) & 31] for i in range(8))


def parse_time(s):
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def test_eid_params(server):
    p = assert_ok(server.get("/v1/eid-params"))
    assert re.fullmatch(r"[0-9a-f]{64}", p["public_key"]), p
    assert 0 <= p["min_rotation_exponent"] <= p["max_rotation_exponent"] <= 15
    assert assert_ok(server.get("/v1/eid-params")) == p


def test_x25519_registration(server, shopco):
    c = member(server, shopco.brand, ["recognition"])
    d = Device(k=shopco.params["min_rotation_exponent"])
    r = server.post("/v1/me/devices", c["token"],
                    json=d.registration(shopco.params["public_key"], "Pixel"))
    dev = assert_ok(r, 201)
    assert dev["id"].startswith("dev_") and dev["name"] == "Pixel"
    assert dev["method"] == "x25519" and dev["rotation_exponent"] == d.k
    assert RFC3339_UTC.match(dev["created_at"])
    assert r.headers.get("Location") == f"/v1/me/devices/{dev['id']}"
    assert not set(dev) & set(KEY_FIELDS), dev
    assert d.ik.hex() not in r.text
    # the key is sealed at rest
    (enc,) = db_rows(server, "SELECT ik_enc FROM devices WHERE id = ?", dev["id"])[0]
    assert d.ik not in bytes(enc)
    # the highest exponent is accepted as well
    d2 = Device(k=shopco.params["max_rotation_exponent"])
    d2.register(server, c, name="Tag")
    assert len(assert_ok(server.get("/v1/me/devices", c["token"]))["items"]) == 2


@pytest.fixture(scope="module")
def rejecter(server, shopco):
    return member(server, shopco.brand, ["recognition"])


def _bad_registrations():
    """(case id, mutate(body, device, params), field named in the detail)"""
    def setk(body, v):
        body["rotation_exponent"] = v

    def wrong_resolver(body, d, p):
        other = raw_public(X25519PrivateKey.generate())
        ik = provision_ik(d.priv, other)
        body["eid"] = compute_eid(ik, d.k, body["clock"]).hex()

    return [
        ("eid-next-window", lambda b, d, p: b.update(eid=d.eid(b["clock"], windows=1)), "eid"),
        ("eid-prev-window", lambda b, d, p: b.update(eid=d.eid(b["clock"], windows=-1)), "eid"),
        ("eid-one-bit", lambda b, d, p: b.update(
            eid=(bytes.fromhex(b["eid"])[:7] + bytes([bytes.fromhex(b["eid"])[7] ^ 1])).hex()),
         "eid"),
        ("eid-other-k", lambda b, d, p: b.update(
            eid=compute_eid(d.ik, d.k + 1, b["clock"]).hex()), "eid"),
        ("eid-other-resolver-key", wrong_resolver, "eid"),
        ("eid-not-hex", lambda b, d, p: b.update(eid="zz" * 8), "eid"),
        ("eid-short", lambda b, d, p: b.update(eid=b["eid"][:14]), "eid"),
        ("eid-long", lambda b, d, p: b.update(eid=b["eid"] + "00"), "eid"),
        ("eid-missing", lambda b, d, p: b.pop("eid"), "eid"),
        ("k-below", lambda b, d, p: setk(b, p["min_rotation_exponent"] - 1), "rotation_exponent"),
        ("k-above", lambda b, d, p: setk(b, p["max_rotation_exponent"] + 1), "rotation_exponent"),
        ("k-16", lambda b, d, p: setk(b, 16), "rotation_exponent"),
        ("k-negative", lambda b, d, p: setk(b, -1), "rotation_exponent"),
        ("k-string", lambda b, d, p: setk(b, "8"), "rotation_exponent"),
        ("k-fraction", lambda b, d, p: setk(b, 8.5), "rotation_exponent"),
        ("k-missing", lambda b, d, p: b.pop("rotation_exponent"), "rotation_exponent"),
        ("pub-not-hex", lambda b, d, p: b.update(public_key="zz" * 32), "public_key"),
        ("pub-short", lambda b, d, p: b.update(public_key=b["public_key"][:62]), "public_key"),
        ("pub-long", lambda b, d, p: b.update(public_key=b["public_key"] + "00"), "public_key"),
        ("pub-number", lambda b, d, p: b.update(public_key=12345), "public_key"),
        ("pub-missing", lambda b, d, p: b.pop("public_key"), "public_key"),
        # low-order points: the shared secret would be all zero
        ("pub-zero", lambda b, d, p: b.update(public_key="00" * 32), "public_key"),
        ("pub-one", lambda b, d, p: b.update(public_key="01" + "00" * 31), "public_key"),
        ("clock-negative", lambda b, d, p: b.update(clock=-1), "clock"),
        ("clock-2^32", lambda b, d, p: b.update(clock=2 ** 32), "clock"),
        ("clock-string", lambda b, d, p: b.update(clock=str(b["clock"])), "clock"),
        ("clock-missing", lambda b, d, p: b.pop("clock"), "clock"),
        ("method-unknown", lambda b, d, p: b.update(method="rsa"), "method"),
        ("name-missing", lambda b, d, p: b.pop("name"), "name"),
        ("name-empty", lambda b, d, p: b.update(name=""), "name"),
        ("name-too-long", lambda b, d, p: b.update(name="n" * 61), "name"),
    ]


@pytest.mark.parametrize("case,mutate,field", _bad_registrations(),
                         ids=[c[0] for c in _bad_registrations()])
def test_registration_rules(server, shopco, rejecter, case, mutate, field):
    d = Device(k=8)
    body = d.registration(shopco.params["public_key"])
    mutate(body, d, shopco.params)
    r = server.post("/v1/me/devices", rejecter["token"], json=body)
    assert_problem(r, 422, detail_contains=field)
    assert assert_ok(server.get("/v1/me/devices", rejecter["token"]))["items"] == []
    assert db_rows(server, "SELECT count(*) FROM devices WHERE customer_id = ?",
                   rejecter["id"]) == [(0,)]


def test_registration_needs_a_customer(server, shopco):
    d = Device(k=8)
    body = d.registration(shopco.params["public_key"])
    assert_problem(server.post("/v1/me/devices", json=body), 401)
    assert_problem(server.post("/v1/me/devices", shopco.admin["token"], json=body), 403)


def test_shared_method(server, shopco, streams):
    c = member(server, shopco.brand, ["recognition"], name="Tess Tag")
    t0 = int(time.time())
    r = server.post("/v1/me/devices", c["token"],
                    json={"name": "Loyalty tag", "method": "shared", "rotation_exponent": 6})
    dev = assert_ok(r, 201)
    server.secrets.add(dev["identity_key"])  # must never reach the log
    assert dev["method"] == "shared" and dev["rotation_exponent"] == 6
    assert re.fullmatch(r"[0-9a-f]{32}", dev["identity_key"])
    assert isinstance(dev["clock"], int) and 0 <= dev["clock"] < 2 ** 32
    # shown once: the list has no key, and the key is sealed at rest
    listed = assert_ok(server.get("/v1/me/devices", c["token"]))
    (item,) = listed["items"]
    assert item["id"] == dev["id"] and not set(item) & set(KEY_FIELDS), item
    assert dev["identity_key"] not in str(listed)
    (enc,) = db_rows(server, "SELECT ik_enc FROM devices WHERE id = ?", dev["id"])[0]
    assert bytes.fromhex(dev["identity_key"]) not in bytes(enc)
    # a tag programmed with that key and clock is recognised
    tag = Device.shared(dev)
    assert abs(tag.clock() - (dev["clock"] + int(time.time()) - t0) % 2 ** 32) <= 2
    shop = Shop(server, shopco.brand, shopco.admin["token"])
    display = streams(shop)
    shop.sight(tag.eid())
    card = display.expect("card")
    assert card["customer"] == {"name": "Tess Tag"} and card["channel"] == "device"
    # its rotation exponent is checked as well
    for k in (shopco.params["min_rotation_exponent"] - 1, 16, "6", None):
        assert_problem(server.post("/v1/me/devices", c["token"],
                                   json={"name": "Tag", "method": "shared",
                                         "rotation_exponent": k}), 422, "rotation_exponent")
    assert len(assert_ok(server.get("/v1/me/devices", c["token"]))["items"]) == 1


def test_device_list_never_shows_keys(server, shopco):
    c = member(server, shopco.brand, ["recognition"])
    other = member(server, shopco.brand, ["recognition"])
    d = Device(k=8)
    d.register(server, c, name="Phone")
    shared = assert_ok(server.post("/v1/me/devices", c["token"],
                                   json={"name": "Tag", "method": "shared",
                                         "rotation_exponent": 8}), 201)
    server.secrets.add(shared["identity_key"])
    r = server.get("/v1/me/devices", c["token"])
    items = assert_ok(r)["items"]
    assert sorted(i["id"] for i in items) == sorted([d.id, shared["id"]])
    for i in items:
        assert set(i) <= {"id", "name", "method", "rotation_exponent", "created_at"}, i
    for secret in (d.ik.hex(), shared["identity_key"], d.pub.hex()):
        assert secret not in r.text.lower()
    # another customer sees none of them
    assert assert_ok(server.get("/v1/me/devices", other["token"]))["items"] == []


def test_delete_device_stops_resolving_at_once(server, shopco, streams):
    brand = shopco.brand
    c = member(server, brand, ["recognition"])
    intruder = member(server, brand, ["recognition"])
    d = Device(k=10, offset=mid_window_offset(10))
    d.register(server, c)
    s1 = Shop(server, brand, shopco.admin["token"])
    s2 = Shop(server, brand, shopco.admin["token"])
    display1, display2 = streams(s1), streams(s2)
    s1.sight(d.eid())
    display1.expect("card")
    # someone else cannot remove it or read its code
    assert_problem(server.delete(f"/v1/me/devices/{d.id}", intruder["token"]), 404)
    assert_problem(server.get(f"/v1/me/devices/{d.id}/code", intruder["token"]), 404)
    assert_ok(server.get(f"/v1/me/devices/{d.id}/code", c["token"]))
    # removed: gone from the list, and its EIDs resolve to nobody
    assert assert_ok(server.delete(f"/v1/me/devices/{d.id}", c["token"])) == \
        {"id": d.id, "deleted": True}
    assert assert_ok(server.get("/v1/me/devices", c["token"]))["items"] == []
    before = stats(server)
    s2.sight(d.eid(), d.eid(windows=1), d.eid(windows=-1))
    display2.quiet(0.3)
    assert s2.cards() == []
    after = stats(server)
    assert after["dropped_unknown"] == before["dropped_unknown"] + 3
    assert after["resolved"] == before["resolved"]
    assert after["devices"] == before["devices"]  # counted when removed, not now
    assert_problem(server.delete(f"/v1/me/devices/{d.id}", c["token"]), 404)
    assert_problem(server.get(f"/v1/me/devices/{d.id}/code", c["token"]), 404)
    assert db_rows(server, "SELECT count(*) FROM devices WHERE id = ?", d.id) == [(0,)]


def test_drift_tolerance(server, shopco):
    """The previous, current and next window resolve; two windows off do not
    (the default tolerance is one window either side)."""
    assert shopco.params.get("tolerance_windows", 1) == 1
    c = member(server, shopco.brand, ["recognition"])
    d = Device(k=10, offset=mid_window_offset(10))
    d.register(server, c)
    shop = Shop(server, shopco.brand, shopco.admin["token"])
    before = stats(server)
    shop.sight(d.eid(windows=-1), d.eid(), d.eid(windows=1))
    mid = stats(server)
    assert mid["resolved"] == before["resolved"] + 3
    assert mid["dropped_unknown"] == before["dropped_unknown"]
    shop.sight(d.eid(windows=-2), d.eid(windows=2))
    after = stats(server)
    assert after["resolved"] == mid["resolved"]
    assert after["dropped_unknown"] == mid["dropped_unknown"] + 2


def test_temporary_key_roll_over(server, shopco, streams):
    """A device registered a few seconds before its temporary key changes
    (t = n * 65536): its next EID, made with the next temporary key,
    resolves already."""
    c = member(server, shopco.brand, ["recognition"])
    n = secrets.randbelow(60000) + 2
    d = Device(k=4, clock_now=n * 65536 - 12)
    d.register(server, c)
    t = d.clock()
    assert t >> 16 == n - 1 and ((t + 16) >> 16) == n
    shop = Shop(server, shopco.brand, shopco.admin["token"])
    display = streams(shop)
    before = stats(server)
    shop.sight(d.eid(t, windows=1))
    display.expect("card")
    assert stats(server)["resolved"] == before["resolved"] + 1


def test_app_check_in(server, shopco, streams):
    brand = shopco.brand
    shop = Shop(server, brand, shopco.admin["token"])
    display = streams(shop)
    pub = assert_ok(server.get(f"/v1/stores/{shop.id}"))
    assert re.fullmatch(r"[0-9a-f]{32}", pub["beacon_id"])  # what the store's beacon sends
    c = member(server, brand, ["recognition"], name="Ivy iPhone")
    r = assert_ok(server.post("/v1/me/presence", c["token"], json={"store": shop.id}))
    assert r == {"status": "recognised"}
    card = display.expect("card")
    assert card["channel"] == "app" and card["customer"] == {"name": "Ivy iPhone"}
    # checking in again keeps the one card
    assert_ok(server.post("/v1/me/presence", c["token"], json={"store": shop.id}))
    display.quiet(0.3)
    assert [x["visit"] for x in shop.cards()] == [card["visit"]]
    # not granted recognition, or not a member: 403, nothing shown
    prefs_only = member(server, brand, ["preferences"])
    stranger = server.new_customer()
    before = stats(server)
    for who in (prefs_only, stranger):
        assert_problem(server.post("/v1/me/presence", who["token"], json={"store": shop.id}),
                       403, "recognition")
    display.quiet(0.3)
    assert len(shop.cards()) == 1
    assert stats(server)["visits_opened"] == before["visits_opened"]
    assert db_rows(server, "SELECT count(*) FROM visits WHERE customer_id IN (?, ?)",
                   prefs_only["id"], stranger["id"]) == [(0,)]
    # a bad store
    for body in ({"store": "sto_0000000000000000000000000000"}, {"store": "nope"}, {}):
        assert_problem(server.post("/v1/me/presence", c["token"], json=body), 422, "store")
    # only a customer checks in
    assert_problem(server.post("/v1/me/presence", shop.scanner, json={"store": shop.id}), 403)
    assert_problem(server.post("/v1/me/presence", json={"store": shop.id}), 401)


def test_counter_code(server, shopco, streams):
    brand = shopco.brand
    c = member(server, brand, ["recognition"], name="Cody Code")
    d = Device(k=10, offset=mid_window_offset(10))
    d.register(server, c)
    got = assert_ok(server.get(f"/v1/me/devices/{d.id}/code", c["token"]))
    assert set(got) >= {"code", "plain", "qr", "valid_until"}
    assert re.fullmatch(f"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", got["code"]), got
    assert got["plain"] == got["code"].replace("-", "")
    assert got["plain"] in got["qr"]
    assert RFC3339_UTC.match(got["valid_until"])
    now = time.time()
    assert now < parse_time(got["valid_until"]) <= now + (1 << d.k) + 2
    # derived from the device's current EID: its first 40 bits, 5 bits a character
    assert got["plain"] == code_of(d.eid())

    shops = [Shop(server, brand, shopco.admin["token"]) for _ in range(4)]
    displays = [streams(s) for s in shops]
    # typed, in any case, or read from the phone's QR code by the counter's scanner
    variants = [got["code"], got["code"].lower(), got["plain"].lower(), got["qr"]]
    for shop, display, code in zip(shops, displays, variants):
        r = server.post(f"/v1/stores/{shop.id}/codes", shop.display, json={"code": code})
        assert assert_ok(r) == {"status": "recognised"}, code
        card = display.expect("card")
        assert card["channel"] == "code" and card["customer"] == {"name": "Cody Code"}
    # staff of the brand may type it too
    counter = server.new_staff(brand, "counter")
    assert_ok(server.post(f"/v1/stores/{shops[0].id}/codes", counter["token"],
                          json={"code": got["plain"]}))
    # unknown and malformed codes
    unknown = "".join(secrets.choice(ALPHABET) for _ in range(8))
    assert_problem(server.post(f"/v1/stores/{shops[0].id}/codes", shops[0].display,
                               json={"code": unknown}), 404)
    for bad in ("!!!!-!!!!", "ABC", "ABCD-EFGH-J", ""):
        assert_problem(server.post(f"/v1/stores/{shops[0].id}/codes", shops[0].display,
                                   json={"code": bad}), 422, "code")
    # a code of someone who is not recognisable at this brand: 404, nothing shown
    outsider = server.new_customer()
    od = Device(k=10, offset=mid_window_offset(10))
    od.register(server, outsider)
    ocode = assert_ok(server.get(f"/v1/me/devices/{od.id}/code", outsider["token"]))["code"]
    fresh = Shop(server, brand, shopco.admin["token"])
    fresh_display = streams(fresh)
    assert_problem(server.post(f"/v1/stores/{fresh.id}/codes", fresh.display,
                               json={"code": ocode}), 404)
    # a removed device's code no longer works
    assert_ok(server.delete(f"/v1/me/devices/{d.id}", c["token"]))
    assert_problem(server.post(f"/v1/stores/{fresh.id}/codes", fresh.display,
                               json={"code": got["code"]}), 404)
    fresh_display.quiet(0.3)
    assert fresh.cards() == []


def test_counter_code_windows_and_look_alikes(server, shopco, streams):
    """Valid for the current window and its neighbours only; read back
    forgiving case, dashes and look-alikes (O for 0, I or L for 1)."""
    brand = shopco.brand
    c = member(server, brand, ["recognition"], name="Olga Onel")
    # a device whose current code has a 0 or a 1 in it
    for _ in range(200):
        d = Device(k=10, offset=mid_window_offset(10))
        body = d.registration(shopco.params["public_key"])
        code = code_of(d.eid())
        if "0" in code or "1" in code:
            break
    else:
        pytest.fail("no device with a 0 or 1 in its code in 200 tries")
    d.id = assert_ok(server.post("/v1/me/devices", c["token"], json=body), 201)["id"]
    assert assert_ok(server.get(f"/v1/me/devices/{d.id}/code", c["token"]))["plain"] == code
    shop = Shop(server, brand, shopco.admin["token"])
    display = streams(shop)
    url = f"/v1/stores/{shop.id}/codes"
    for w in (2, -2):
        assert_problem(server.post(url, shop.display, json={"code": code_of(d.eid(windows=w))}),
                       404)
    look_alike = code.replace("0", "o").replace("1", "l")
    look_alike = look_alike[:4] + "-" + look_alike[4:]
    assert_ok(server.post(url, shop.display, json={"code": look_alike}))
    assert display.expect("card")["channel"] == "code"
    for w in (1, -1):  # (a visit is open: 200 says the code resolved)
        assert_ok(server.post(url, shop.display, json={"code": code_of(d.eid(windows=w))}))
    assert_ok(server.post(url, shop.display,
                          json={"code": code.replace("0", "O").replace("1", "I")}))
    display.quiet(0.2)
