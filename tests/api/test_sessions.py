"""Sessions: log in (staff and customers), who am I, log out; wrong
passwords; login rate limits per account and per address."""
import datetime

import pytest

from conftest import RFC3339_UTC, assert_ok, assert_problem, uniq


@pytest.fixture(scope="module")
def people(server):
    b = server.new_brand()
    staff = server.new_staff(b, "manager", login=False)
    cust = server.new_customer(name="Sam Session")
    return b, staff, cust


def test_staff_login_whoami_logout(server, people):
    b, staff, _ = people
    s = server.login(staff["email"], staff["password"])
    assert s["kind"] == "staff" and s["id"] == staff["id"]
    assert s["brand_id"] == b["id"] and s["role"] == "manager"
    assert s["token"].startswith("sk_") and len(s["token"]) >= 3 + 22  # >= 128 bits
    assert RFC3339_UTC.match(s["expires_at"])
    who = assert_ok(server.get("/v1/sessions/current", s["token"]))
    (store,) = server.store_ids(b)
    assert who == {"kind": "staff", "id": staff["id"], "brand_id": b["id"], "role": "manager",
                   "grants": [{"role": "manager", "store": store}]}
    # the token works for what a manager may do: the staff of their store
    mine = assert_ok(server.get(f"/v1/brands/{b['id']}/staff", s["token"],
                                params={"store": store}))
    assert [x["id"] for x in mine["items"]] == [staff["id"]]
    out = assert_ok(server.delete("/v1/sessions/current", s["token"]))
    assert out == {"revoked": True}
    assert_problem(server.get("/v1/sessions/current", s["token"]), 401)
    assert_problem(server.get(f"/v1/brands/{b['id']}/staff", s["token"],
                              params={"store": store}), 401)
    assert_problem(server.delete("/v1/sessions/current", s["token"]), 401)


def test_customer_login_whoami_logout(server, people):
    _, _, cust = people
    # email is case-insensitive
    s = server.login(cust["email"].upper(), cust["password"])
    assert s["kind"] == "customer" and s["id"] == cust["id"]
    assert "brand_id" not in s and "role" not in s
    who = assert_ok(server.get("/v1/sessions/current", s["token"]))
    assert who == {"kind": "customer", "id": cust["id"]}
    assert assert_ok(server.get("/v1/me", s["token"]))["name"] == "Sam Session"
    assert_ok(server.delete("/v1/sessions/current", s["token"]))
    assert_problem(server.get("/v1/me", s["token"]), 401)
    # logging out one session leaves the others (the sign-up token) alone
    assert_ok(server.get("/v1/me", cust["token"]))


def test_tokens_are_distinct_per_login(server, people):
    _, _, cust = people
    t1 = server.login(cust["email"], cust["password"], kind="customer")["token"]
    t2 = server.login(cust["email"], cust["password"])["token"]
    assert t1 != t2 and t1 != cust["token"]


def test_operator_session(server):
    who = assert_ok(server.get("/v1/sessions/current", server.op_token))
    assert who["kind"] == "operator" and who["id"].startswith("op_")


def test_wrong_password_and_unknown_email_look_the_same(server, people):
    _, staff, cust = people
    wrong_staff = assert_problem(server.post("/v1/sessions", json={
        "email": staff["email"], "password": "not-the-password"}), 401)
    wrong_cust = assert_problem(server.post("/v1/sessions", json={
        "email": cust["email"], "password": "not-the-password"}), 401)
    unknown = assert_problem(server.post("/v1/sessions", json={
        "email": f"{uniq('ghost')}@example.com", "password": "whatever-123"}), 401)
    assert wrong_staff == wrong_cust == unknown
    # a staff member cannot log in as a customer with the staff password
    assert_problem(server.post("/v1/sessions", json={
        "email": staff["email"], "password": staff["password"], "kind": "customer"}), 401)


def test_logins_never_reach_the_log(server, people):
    """Scan the server's stderr for every token and password used so far."""
    _, staff, cust = people
    s = server.login(staff["email"], staff["password"])
    assert_ok(server.get("/v1/sessions/current", s["token"]))
    server.post("/v1/sessions", json={"email": cust["email"], "password": "wrong-password-9"})
    log = server.stderr()
    assert "event=http.request" in log and "path=/v1/sessions" in log
    secrets_used = {s["token"], staff["password"], cust["password"], cust["token"],
                    server.op_token, "wrong-password-9"} | server.secrets
    leaked = [x for x in secrets_used if x in log]
    assert not leaked, f"{len(leaked)} secret(s) in the server log"
    # emails are personal data of customers: not logged either
    assert cust["email"] not in log
    for line in log.splitlines():
        assert line.startswith("ts=") and " level=" in line and " event=" in line, line
    # a clean start and ordinary requests warn about nothing but the
    # generated master key
    warnings = [l for l in log.splitlines() if " level=warn " in l or " level=error " in l]
    assert all("event=master_key.generated" in l for l in warnings), warnings


def test_email_is_unique_whatever_its_case(server):
    c = server.new_customer()
    r = server.post("/v1/customers", json={"name": "Twin", "email": c["email"].upper(),
                                           "password": "another-password-1"})
    assert_problem(r, 409, "email")
    # the first account is untouched: its password still works
    assert server.login(c["email"], c["password"])["id"] == c["id"]


def test_account_rate_limit(server_factory):
    """After 5 failed logins for one account the next attempt gets 429 with
    Retry-After — even with the right password; other accounts are fine."""
    srv = server_factory()
    victim = srv.new_customer()
    other = srv.new_customer()
    for _ in range(5):
        assert_problem(srv.post("/v1/sessions", json={"email": victim["email"],
                                                      "password": "guess-guess-1"}), 401)
    for password in ("guess-guess-1", victim["password"]):
        r = srv.post("/v1/sessions", json={"email": victim["email"], "password": password})
        assert_problem(r, 429)
        retry = r.headers.get("Retry-After")
        assert retry is not None and retry.isdigit() and 0 < int(retry) <= 15 * 60, retry
    # the lock is per account (case-insensitively)
    assert_problem(srv.post("/v1/sessions", json={"email": victim["email"].upper(),
                                                  "password": victim["password"]}), 429)
    assert srv.login(other["email"], other["password"])["kind"] == "customer"
    # existing sessions of the victim keep working
    assert_ok(srv.get("/v1/me", victim["token"]))


def test_success_resets_the_account_counter(server_factory):
    srv = server_factory()
    c = srv.new_customer()
    for _ in range(4):
        assert_problem(srv.post("/v1/sessions", json={"email": c["email"],
                                                      "password": "guess-guess-1"}), 401)
    srv.login(c["email"], c["password"])
    for _ in range(4):
        assert_problem(srv.post("/v1/sessions", json={"email": c["email"],
                                                      "password": "guess-guess-1"}), 401)
    assert srv.login(c["email"], c["password"])["id"] == c["id"]


def test_address_rate_limit(server_factory):
    """30 login attempts a minute per client address, whatever the account."""
    srv = server_factory()
    for i in range(30):
        r = srv.post("/v1/sessions", json={"email": f"nobody{i}@example.com",
                                           "password": "whatever-123"})
        assert_problem(r, 401)
    r = srv.post("/v1/sessions", json={"email": "somebody@example.com",
                                       "password": "whatever-123"})
    assert_problem(r, 429)
    assert int(r.headers["Retry-After"]) > 0
    # other endpoints are not limited
    assert_ok(srv.get("/healthz"))
    assert_ok(srv.post("/v1/customers", json={"name": "Late", "email": "late@example.com",
                                              "password": "late-password-1"}), 201)


def test_session_ttl(server_factory):
    srv = server_factory(extra_args=["--session-ttl", "60"])
    c = srv.new_customer()
    s = srv.login(c["email"], c["password"])
    exp = datetime.datetime.strptime(s["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    exp = exp.replace(tzinfo=datetime.timezone.utc)
    left = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 30 < left <= 61, left
