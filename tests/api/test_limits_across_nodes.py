"""Rate limits that hold across nodes (issue 12, "Many nodes"): two `serve`
nodes on one PostgreSQL database, as behind a load balancer, count a
guesser's attempts together. Alternating between the nodes, a limit trips
at the same total as on one node (tests/api/test_sessions.py and
test_pw_bounds.py check those totals on each engine). The windows are kept
in the database under a keyed hash, never an address or an email in clear;
when the database cannot count, a sign-in is refused with 503 rather than
let through uncounted. Runs in the PostgreSQL pass only: SQLite is one
node, whose limits stay in memory. No NATS is needed: the database is what
the nodes share here."""
import re

import pytest

from conftest import PG, assert_ok, assert_problem, connect, uniq

pytestmark = pytest.mark.skipif(not PG, reason="nodes share a PostgreSQL database")


@pytest.fixture
def two_nodes(server_factory):
    """Nodes A and B on one database, three sign-ups an hour per address."""
    a = server_factory(extra_args=["--signups-per-hour", "3"])
    b = server_factory(db=a.db, extra_args=["--signups-per-hour", "3"])
    return a, b


def attempt(srv, email, password):
    return srv.post("/v1/sessions", json={"email": email, "password": password})


def test_address_limit_counts_both_nodes(two_nodes):
    """30 sign-in attempts a minute per address, whichever node takes them."""
    a, b = two_nodes
    nodes = [a, b]
    for i in range(30):
        assert_problem(attempt(nodes[i % 2], f"nobody{i}@example.com", "whatever-123"), 401)
    # the 31st is refused on both nodes, though each has seen only 15
    for srv in nodes:
        r = attempt(srv, "somebody@example.com", "whatever-123")
        assert_problem(r, 429, "Try again in")
        assert 0 < int(r.headers["Retry-After"]) <= 60


def test_account_limit_counts_both_nodes(two_nodes):
    """5 failed sign-ins for one account from one address, spread over both
    nodes, lock that address+account on both, even with the right password;
    another account is untouched, and a success on one node clears the
    count on the other."""
    a, b = two_nodes
    brand = a.new_brand()
    staff = a.new_staff(brand, login=False)
    other = a.new_staff(brand, login=False)
    for i in range(5):
        assert_problem(attempt((a, b)[i % 2], staff["email"], "guess-guess-1"), 401)
    for srv in (a, b):
        r = attempt(srv, staff["email"], staff["password"])
        body = assert_problem(r, 429)
        assert re.search(r"Try again in (1[0-5]|[1-9]) minutes?\.", body["detail"]), body
        assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert_ok(attempt(b, other["email"], other["password"]), 201)

    # a success clears the count for every node: 4 failures, a success on
    # B, 4 more failures on A, and the right password still works
    c = a.new_customer()
    for i in range(4):
        assert_problem(attempt((a, b)[i % 2], c["email"], "guess-guess-1"), 401)
    assert_ok(attempt(b, c["email"], c["password"]), 201)
    for _ in range(4):
        assert_problem(attempt(a, c["email"], "guess-guess-1"), 401)
    assert_ok(attempt(a, c["email"], c["password"]), 201)


def test_signup_limit_counts_both_nodes(two_nodes):
    """Three sign-ups an hour per address in all, not three per node."""
    a, b = two_nodes
    for i, srv in enumerate((a, b, a)):
        assert_ok(srv.post("/v1/customers", json={"name": f"New {i}",
                                                  "email": f"{uniq('new')}@example.com",
                                                  "password": "a-long-password-1"}), 201)
    for srv in (b, a):
        r = srv.post("/v1/customers", json={"name": "One too many",
                                            "email": f"{uniq('new')}@example.com",
                                            "password": "a-long-password-1"})
        assert_problem(r, 429, "Try again in")
        assert 0 < int(r.headers["Retry-After"]) <= 3600


def test_windows_hold_no_address_or_email(two_nodes):
    a, b = two_nodes
    c = a.new_customer()
    assert_problem(attempt(b, c["email"], "guess-guess-1"), 401)
    con = connect(a.db)
    try:
        rows = con.execute("SELECT key, window_start, window_end, hits FROM rate_limits")\
            .fetchall()
    finally:
        con.close()
    assert rows, "no window was kept in the database"
    text = repr(rows)
    assert "127.0.0.1" not in text and c["email"].lower() not in text.lower()
    for key, start, end, hits in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", key), key
        assert start < end and hits >= 1


def test_database_failure_refuses_sign_in(two_nodes):
    """With the windows' table gone the count cannot be checked: sign-in is
    refused with 503, Retry-After and a detail that says why — never let
    through uncounted; it works again once the table is back."""
    a, b = two_nodes
    c = a.new_customer()
    con = connect(a.db, readonly=False)
    try:
        con.execute("ALTER TABLE rate_limits RENAME TO rate_limits_away")
        try:
            r = attempt(b, c["email"], c["password"])
            assert_problem(r, 503, "could not be checked")
            assert r.headers.get("Retry-After") == "5"
        finally:
            con.execute("ALTER TABLE rate_limits_away RENAME TO rate_limits")
    finally:
        con.close()
    assert_ok(attempt(b, c["email"], c["password"]), 201)
