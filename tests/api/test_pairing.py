"""Pairing a counter display by a short code (issue 10): the display asks
for a pairing and shows its code; a manager types the code into the console
(POST /v1/stores/{store}/displays with pairing_code); the display's poll
collects its key exactly once. Nobody types a 64-character key."""
import re
import time
from datetime import datetime, timezone

import pytest

from conftest import assert_ok, assert_problem, connect, dump_rows, RFC3339_UTC

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")  # Crockford base32


@pytest.fixture(scope="module")
def shop(server):
    brand = server.new_brand()
    store = server.new_store(brand)
    return {"brand": brand, "store": store, "admin": server.new_staff(brand, "admin"),
            "manager": server.new_staff(brand, "manager"),
            "counter": server.new_staff(brand, "counter")}


def ask(server):
    p = assert_ok(server.post("/v1/display-pairings", json={}), 201)
    server.secrets.add(p["secret"])
    return p


def poll(server, p, secret=None):
    return server.post(f"/v1/display-pairings/{p['id']}/poll",
                       json={"secret": secret or p["secret"]})


def claim(server, shop, code, token=None, name="Till 1"):
    return server.post(f"/v1/stores/{shop['store']['id']}/displays",
                       token or shop["manager"]["token"],
                       json={"name": name, "pairing_code": code})


def seconds_from_now(text):
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t - datetime.now(timezone.utc)).total_seconds()


def test_a_display_is_paired_by_its_code_and_collects_its_key_once(server, shop):
    p = ask(server)
    assert p["id"].startswith("dpr_")
    assert CODE.match(p["code"]), p["code"]
    assert len(p["secret"]) >= 40
    assert RFC3339_UTC.match(p["expires_at"])
    assert 590 <= seconds_from_now(p["expires_at"]) <= 601

    waiting = assert_ok(poll(server, p))
    assert waiting == {"status": "waiting", "expires_at": p["expires_at"]}

    # typed as a person would: lower case, no dash, O for 0 and l/I for 1
    typed = p["code"].replace("-", "").lower().replace("0", "o").replace("1", "l")
    r = assert_ok(claim(server, shop, typed), 201)
    assert r["kind"] == "display" and r["name"] == "Till 1" and r["paired"] is True
    assert r["store_id"] == shop["store"]["id"] and r["id"].startswith("dsp_")
    assert "key" not in r, "the console never sees the display key"

    done = assert_ok(poll(server, p))
    assert done["status"] == "paired"
    assert done["display"] == {"id": r["id"], "name": "Till 1"}
    assert done["store"]["id"] == shop["store"]["id"]
    assert done["store"]["name"] == shop["store"]["name"]
    assert done["store"]["brand_id"] == shop["brand"]["id"]
    key = done["key"]
    assert key.startswith("sk_")

    who = assert_ok(server.get("/v1/sessions/current", key))
    assert who["kind"] == "display" and who["store_id"] == shop["store"]["id"]
    assert_ok(server.get(f"/v1/stores/{shop['store']['id']}/cards", key))

    # exactly once: the pairing is gone, the code cannot be claimed again
    assert_problem(poll(server, p), 404)
    assert_problem(claim(server, shop, p["code"]), 404)

    # nothing in the database holds the secret, the code or the key in clear
    con = server.db_connect()
    try:
        assert con.execute("SELECT COUNT(*) FROM display_pairings WHERE id = ?",
                           (p["id"],)).fetchone()[0] == 0
        dump = dump_rows(con)
    finally:
        con.close()
    for clear in (p["secret"], p["code"], p["code"].replace("-", ""), key):
        assert clear not in dump


def test_an_unknown_or_malformed_code_is_refused_with_words_staff_understand(server, shop):
    r = claim(server, shop, "zzzz-zzzz")
    body = assert_problem(r, 404)
    assert "ZZZZ-ZZZZ" in body["detail"] and "10 minutes" in body["detail"]
    assert "show a new one on the display" in body["detail"]
    body = assert_problem(claim(server, shop, "ABC"), 422)
    assert "pairing_code" in body["detail"]
    assert_problem(claim(server, shop, "ABCD-EFGU"), 422)  # U is not in the alphabet


def test_only_the_stores_managers_and_admins_claim_and_a_wrong_secret_learns_nothing(
        server, shop):
    p = ask(server)
    other = server.new_brand()
    other_admin = server.new_staff(other, "admin")
    assert_problem(claim(server, shop, p["code"], shop["counter"]["token"]), 403)
    assert_problem(claim(server, shop, p["code"], other_admin["token"]), 403)
    assert_problem(server.post(f"/v1/stores/{shop['store']['id']}/displays",
                               json={"pairing_code": p["code"]}), 401)
    assert_problem(poll(server, p, secret="sk_" + "A" * 43), 404)
    assert_problem(server.post("/v1/display-pairings/dpr_nope/poll", json={"secret": "x"}), 404)
    assert_problem(server.post(f"/v1/display-pairings/{p['id']}/poll", json={}), 422)
    # still waiting after all that, and the admin may claim it
    assert assert_ok(poll(server, p))["status"] == "waiting"
    assert_ok(claim(server, shop, p["code"], shop["admin"]["token"]), 201)
    assert assert_ok(poll(server, p))["status"] == "paired"


def test_an_expired_code_is_gone(server, shop):
    p = ask(server)
    # ten minutes pass (the server reads expiry from the shared database)
    con = connect(server.db, readonly=False)
    try:
        with con:
            con.execute("UPDATE display_pairings SET expires_at = '2020-01-01T00:00:00.000Z' "
                        "WHERE id = ?", (p["id"],))
    finally:
        con.close()
    body = assert_problem(poll(server, p), 410)
    assert "new code" in body["detail"]
    assert_problem(claim(server, shop, p["code"]), 404)


def test_without_a_code_the_route_still_makes_a_key(server, shop):
    r = assert_ok(server.post(f"/v1/stores/{shop['store']['id']}/displays",
                              shop["manager"]["token"], json={"name": "Till 2"}), 201)
    assert r["key"].startswith("sk_") and r["name"] == "Till 2"


def test_pairings_are_limited_per_address(server_factory):
    srv = server_factory()
    for _ in range(10):
        ask(srv)
    r = srv.post("/v1/display-pairings", json={})
    body = assert_problem(r, 429)
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 61
    assert "wait" in body["detail"] and "second" in body["detail"]
