"""The shopper in control (issue 4): erasure (DELETE /v1/me with
{"confirm": true}). The customer's rows are gone from every table, their
data key is gone from the key store, the consent ledger stays under a
pseudonym, their token is dead, their devices stop resolving and their card
leaves the display at once. A copy of the database taken before the erasure
can no longer be read with the live service's keys — while the same copy
still opens for a customer who was not erased, and opened for this one
before (so the check can fail)."""

from conftest import PG, assert_ok, assert_problem
from privacy_support import (access_log, backup_main_db, cells_containing, company, copy_db,
                             keys_connect, keys_file,
                             master_key_file, ro_connect, rw_connect, verify, wait_until)
from recog_support import Device, Shop, member, stats

ANN = "Ann Érased-Ünique 🦄 \"Annie\""
ANN_CUP = "ANN-CUP-✨-never-again"
ANN_DONT = "ANN-DONT-wish-🙅"
BEN = "Ben Kept-Ünique 🐻"


def backup_server(server_factory, db, live):
    """A second server on a copy of the database, with the live service's
    key store and master key."""
    return server_factory(db=db, extra_args=["--keys", str(keys_file(live)),
                                             "--master-key", str(master_key_file(live))])


def read_as(srv, person, brand):
    """Logs in to srv as person (email, password) and reads what is sealed
    with their data key: GET /v1/me (name, email), the export, their answers
    for brand; returns (session status, [responses])."""
    r = srv.post("/v1/sessions", json={"email": person["email"], "password": person["password"]})
    if r.status_code != 201:
        return r.status_code, [r]
    token = r.json()["token"]
    return 201, [srv.get("/v1/me", token), srv.get("/v1/me/export", token),
                 srv.get(f"/v1/me/brands/{brand['id']}/preferences", token)]


def test_erasure(server_factory, tmp_path):
    srv = server_factory()
    co = company(srv, name="Erasure Coffee", staff=("admin", "manager"))
    other = srv.new_brand(name="Erasure Books")
    shop = co.shop

    ann = member(srv, co.brand, ["recognition", "preferences"], name=ANN,
                 answers={"usual": "Oat Latte", "cup_name": ANN_CUP}, dont=[ANN_DONT])
    srv.join(ann, other, ["offers"])
    assert_ok(srv.delete(f"/v1/me/brands/{other['id']}", ann["token"]))
    ben = member(srv, co.brand, ["recognition", "preferences"], name=BEN,
                 answers={"usual": "Flat White"})
    phone = Device(k=8)
    phone.register(srv, ann, name="Ann's phone")
    fob = Device.shared(assert_ok(srv.post("/v1/me/devices", ann["token"],
                                           json={"name": "Ann's fob", "method": "shared",
                                                 "rotation_exponent": 8}), 201))
    ben_phone = Device(k=8)
    ben_phone.register(srv, ben)
    code = assert_ok(srv.get(f"/v1/me/devices/{phone.id}/code", ann["token"]))["code"]

    # a second store of the brand, where she checked in with the app
    shop2 = Shop(srv, co.brand, co.admin["token"])
    display2 = shop2.stream()
    display = shop.stream()
    try:
        assert_ok(srv.post("/v1/me/presence", ann["token"], json={"store": shop2.id}))
        ann_card2 = display2.expect("card")
        assert ann_card2["customer"]["name"] == ANN and ann_card2["channel"] == "app"
        shop.sight(phone.eid())
        ann_card = display.expect("card")
        assert ann_card["customer"]["name"] == ANN
        shop.sight(ben_phone.eid())
        ben_card = display.expect("card")
        assert ben_card["customer"]["name"] == BEN
        assert_ok(srv.get(f"/v1/brands/{co.brand['id']}/members/{ann['id']}",
                          co.manager["token"]))
        wait_until(lambda: len(access_log(srv, ann)) == 3, what="Ann's three looks")
        ledger = srv.ledger(ann)
        assert len(ledger) == 4  # two grants at the coffee brand, a grant and a withdrawal
        con = ro_connect(srv.db)
        try:
            where = {t for t, _, _ in cells_containing(con, ann["id"])}
        finally:
            con.close()
        assert where >= {"customers", "memberships", "membership_purposes", "preferences",
                         "consent_events", "devices", "visits", "access_log", "tokens"}, where

        # a backup of the database file, taken before the erasure
        (tmp_path / "backups").mkdir()
        backup = backup_main_db(srv, tmp_path / "backups" / "nightly.db")
        before_copy = copy_db(backup, tmp_path / "backups" / "nightly-before.db")
        # the check that must fail later succeeds now: the live keys open the copy
        pre = backup_server(server_factory, before_copy, srv)
        status, (me, exp, prefs) = read_as(pre, ann, co.brand)
        assert status == 201
        assert assert_ok(me)["name"] == ANN
        assert assert_ok(exp)["preferences"][0]["answers"]["cup_name"] == ANN_CUP
        assert assert_ok(prefs)["dont"] == [ANN_DONT]
        assert not pre.problems_at_stop()

        # without an explicit confirmation nothing happens
        for body in ({}, {"confirm": False}, {"confirm": "true"}, {"confirm": 1}):
            assert_problem(srv.delete("/v1/me", ann["token"], json=body), 422, "confirm")
        assert_problem(srv.delete("/v1/me", ann["token"]), (400, 422))
        assert assert_ok(srv.get("/v1/me", ann["token"]))["name"] == ANN
        display.quiet(0.2)
        for token in (co.admin["token"], srv.op_token):
            assert_problem(srv.delete("/v1/me", token, json={"confirm": True}), 403)

        before = stats(srv)
        r = assert_ok(srv.delete("/v1/me", ann["token"], json={"confirm": True}))
        assert r["erased"] is True
        pseudonym = r["consent_ledger_pseudonym"]
        assert pseudonym.startswith("anon_") and ann["id"][4:] not in pseudonym

        # her cards leave every display at once; Ben's stays
        assert display.expect("gone", timeout=2.0) == {"visit": ann_card["visit"]}
        assert display2.expect("gone", timeout=2.0) == {"visit": ann_card2["visit"]}
        assert shop2.cards() == []
        assert [c["visit"] for c in shop.cards()] == [ben_card["visit"]]

        # her devices no longer resolve: nothing opens, only counters move
        shop.sight(phone.eid(), fob.eid())
        display.quiet(0.5)
        assert_problem(srv.post(f"/v1/stores/{shop.id}/codes", shop.display,
                                json={"code": code}), 404)
        after = stats(srv)
        assert after["dropped_unknown"] == before["dropped_unknown"] + 2
        assert after["resolved"] == before["resolved"]
        assert after["visits_opened"] == before["visits_opened"]
        assert after["devices"] == before["devices"] - 2
        assert [c["visit"] for c in shop.cards()] == [ben_card["visit"]]
    finally:
        display.close()
        display2.close()

    # her token is dead, her password opens nothing
    assert_problem(srv.get("/v1/me", ann["token"]), 401)
    assert_problem(srv.get("/v1/me/export", ann["token"]), 401)
    assert_problem(srv.post("/v1/sessions", json={"email": ann["email"],
                                                  "password": ann["password"]}), 401)
    # staff find no such member
    assert_problem(srv.get(f"/v1/brands/{co.brand['id']}/members/{ann['id']}",
                           co.admin["token"]), 404)

    # no row anywhere in the database holds her id; the ledger stays, pseudonymised
    con = ro_connect(srv.db)
    try:
        assert cells_containing(con, ann["id"]) == []
        kept = con.execute("SELECT id, brand_id, purpose, action, notice_version, via, at, "
                           "receipt FROM consent_events WHERE customer_id = ? ORDER BY id",
                           (pseudonym,)).fetchall()
        ben_rows = con.execute("SELECT count(*) FROM memberships WHERE customer_id = ?",
                               (ben["id"],)).fetchone()[0]
    finally:
        con.close()
    assert [list(k) for k in kept] == [
        [e["id"], e["brand_id"], e["purpose"], e["action"], e["notice_version"], e["via"],
         e["at"], e["receipt"]] for e in ledger]
    assert ben_rows == 1
    # her data key is gone from the key store; Ben's is there
    kcon = keys_connect(srv)
    try:
        keys = {r[0] for r in kcon.execute("SELECT customer_id FROM keys.customer_keys")}
    finally:
        kcon.close()
    assert ann["id"] not in keys and ben["id"] in keys

    # deleted rows are overwritten in the files (secure_delete), once the
    # write-ahead log is checkpointed into them (SQLite: PostgreSQL's files
    # keep dead rows until vacuumed; what protects her there is the key's
    # destruction, checked with the backup below)
    for path in () if PG else (srv.db, keys_file(srv)):
        c = rw_connect(path)
        try:
            busy = wait_until(lambda: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0,
                              timeout=10, what=f"a full checkpoint of {path.name}")
            assert busy
        finally:
            c.close()
        data = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            data += wal.read_bytes()
        assert ann["id"].encode() not in data, f"Ann's id is still in {path.name}"

    # Ben is untouched
    assert assert_ok(srv.get("/v1/me", ben["token"]))["name"] == BEN
    assert verify(srv, ben)["intact"] is True

    # the backup taken before: with the live keys, her sealed fields no
    # longer open (her row and password hash are in it; her key is not)
    bak = backup_server(server_factory, backup, srv)
    status, answers = read_as(bak, ann, co.brand)
    assert status == 201, "the copy holds her row and password hash: the login itself works"
    assert len(answers) == 3
    for r in answers:
        assert r.status_code != 200, f"{r.request.method} {r.request.path_url} opened: {r.text}"
        assert ANN not in r.text and ANN_CUP not in r.text and ANN_DONT not in r.text
    staff = bak.login(co.admin["email"], co.admin["password"])["token"]
    r = bak.get(f"/v1/brands/{co.brand['id']}/members/{ann['id']}", staff)
    assert r.status_code != 200 and ANN not in r.text
    # the copy's server started without her devices, and says so without saying whose
    (line,) = [x for x in bak.stderr().splitlines() if "devices_without_key" in x]
    assert "count=2" in line and ann["id"] not in line
    # control, same copy, same keys: Ben, not erased, opens
    status, (me, exp, prefs) = read_as(bak, ben, co.brand)
    assert status == 201
    assert assert_ok(me)["name"] == BEN
    assert assert_ok(exp)["profile"]["name"] == BEN
    assert assert_ok(prefs)["answers"] == {"usual": "Flat White"}
    assert assert_ok(bak.get(f"/v1/brands/{co.brand['id']}/members/{ben['id']}",
                             staff))["name"] == BEN

    # neither server ever wrote what she typed to its log
    for text in (srv.stderr(), bak.stderr()):
        for typed in (ANN, ANN_CUP, ANN_DONT, ann["email"]):
            assert typed not in text
    # her email is free: signing up again makes a new, empty account
    again = srv.new_customer(name="Ann Again", email=ann["email"])
    assert again["id"] != ann["id"]
    assert assert_ok(srv.get("/v1/me/brands", again["token"]))["items"] == []
    assert srv.ledger(again) == []


def test_erasure_of_a_customer_with_nothing_but_an_account(server):
    c = server.new_customer()
    r = assert_ok(server.delete("/v1/me", c["token"], json={"confirm": True}))
    assert r["erased"] is True and r["consent_ledger_pseudonym"].startswith("anon_")
    assert_problem(server.get("/v1/me", c["token"]), 401)
    con = ro_connect(server.db)
    try:
        assert cells_containing(con, c["id"]) == []
    finally:
        con.close()
