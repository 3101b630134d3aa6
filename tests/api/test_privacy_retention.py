"""The shopper in control (issue 4): retention. Closed visits are kept 30
days and access-log entries 13 months (395 days) unless configured
otherwise; GET /v1/privacy (and the export) state the periods. The sweep is
run with a controllable clock (`shopkeeper sweep --now`) against a live
server's database: open visits stay, the consent ledger stays, and after
old access-log entries go the chain check still proves the rest intact from
the anchor the sweep left, and new entries chain on."""
import datetime as dt
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import BIN, assert_ok, assert_problem
from privacy_support import (access_log, company, export, fmt_time, parse_time, ro_connect,
                             rw_connect, sweep, utcnow, verify)
from recog_support import member

DAY = dt.timedelta(days=1)


def visit_rows(srv):
    con = ro_connect(srv.db)
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT id, customer_id, closed_at, close_reason FROM visits")}
    finally:
        con.close()


def count(srv, sql, *args):
    con = ro_connect(srv.db)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def test_privacy_states_the_periods(server_factory):
    srv = server_factory()
    p = assert_ok(srv.get("/v1/privacy"))["retention"]
    assert p["visits_days"] == 30 and p["access_log_days"] == 395
    assert isinstance(p["consent_ledger"], str) and p["consent_ledger"]
    c = srv.new_customer()
    assert export_retention(srv, c) == p

    seven = server_factory(extra_args=["--retain-visits-days", "7"])
    p = assert_ok(seven.get("/v1/privacy"))["retention"]
    assert (p["visits_days"], p["access_log_days"]) == (7, 395)
    assert export_retention(seven, seven.new_customer())["visits_days"] == 7

    both = server_factory(extra_args=["--retain-visits-days", "3",
                                      "--retain-access-log-days", "100"])
    p = assert_ok(both.get("/v1/privacy"))["retention"]
    assert (p["visits_days"], p["access_log_days"]) == (3, 100)

    env = server_factory(env={"SHOPKEEPER_RETAIN_VISITS_DAYS": "12",
                              "SHOPKEEPER_RETAIN_ACCESS_LOG_DAYS": "200"})
    p = assert_ok(env.get("/v1/privacy"))["retention"]
    assert (p["visits_days"], p["access_log_days"]) == (12, 200)


def export_retention(srv, customer):
    return assert_ok(srv.get("/v1/me/export", customer["token"]))["retention"]


def test_bad_periods_and_times_are_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEPER_")}
    db = str(tmp_path / "x.db")
    for args in (["serve", "--db", db, "--retain-visits-days", "0"],
                 ["serve", "--db", db, "--retain-access-log-days", "x"],
                 ["sweep", "--db", db, "--now", "yesterday"],
                 ["sweep", "--db", db, "--retain-visits-days", "0"]):
        p = subprocess.run([BIN, *args], capture_output=True, text=True, env=env, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 2, (args, p.returncode, p.stderr)


def test_sweep_removes_closed_visits_past_the_period_not_open_ones(server_factory):
    srv = server_factory()
    co = company(srv, name="Retention Coffee", staff=("admin",))
    closed = member(srv, co.brand, ["recognition", "preferences"], name="Cleo Closed")
    still = member(srv, co.brand, ["recognition", "preferences"], name="Oona Open")
    for c in (closed, still):
        assert_ok(srv.post("/v1/me/presence", c["token"], json={"store": co.shop.id}))
    # Cleo withdraws recognition: her visit closes at once
    srv.join(closed, co.brand, ["preferences"])
    rows = visit_rows(srv)
    by_customer = {v[0]: (vid, v[1], v[2]) for vid, v in rows.items()}
    assert by_customer[closed["id"]][1] is not None and by_customer[closed["id"]][2] == "withdrawn"
    assert by_customer[still["id"]][1] is None
    closed_at = parse_time(by_customer[closed["id"]][1])
    ledger_rows = count(srv, "SELECT count(*) FROM consent_events")
    log_rows = count(srv, "SELECT count(*) FROM access_log")
    assert log_rows == 2  # the two cards shown

    # within the period: nothing goes
    _, out = sweep(srv, closed_at + 29 * DAY)
    assert out["visits_removed"] == 0 and out["access_log_removed"] == 0
    # a longer configured period keeps it even 31 days on
    _, out = sweep(srv, closed_at + 31 * DAY, "--retain-visits-days", "60")
    assert out["visits_removed"] == 0
    assert visit_rows(srv) == rows

    # 31 days on: the closed visit goes, the open one stays
    _, out = sweep(srv, closed_at + 31 * DAY)
    assert out["visits_removed"] == 1 and out["access_log_removed"] == 0
    after = visit_rows(srv)
    assert set(after) == {by_customer[still["id"]][0]}
    assert export(srv, closed)["visits"] == []
    assert [v["id"] for v in export(srv, still)["visits"]] == [by_customer[still["id"]][0]]
    # the open visit's card is still on the display
    assert [c["customer"]["name"] for c in co.shop.cards()] == ["Oona Open"]
    # even far in the future an open visit is not swept
    _, out = sweep(srv, utcnow() + 400 * DAY)
    assert out["visits_removed"] == 0
    assert set(visit_rows(srv)) == {by_customer[still["id"]][0]}
    # the ledger is never swept; the access log went with the 400-day sweep
    assert count(srv, "SELECT count(*) FROM consent_events") == ledger_rows
    assert out["access_log_removed"] == log_rows


def test_sweep_with_a_configured_visit_period(server_factory):
    srv = server_factory(extra_args=["--retain-visits-days", "7"])
    co = company(srv, name="Short Memory Coffee", staff=("admin",))
    c = member(srv, co.brand, ["recognition"])
    assert_ok(srv.post("/v1/me/presence", c["token"], json={"store": co.shop.id}))
    srv.join(c, co.brand, [])
    (closed_at,) = [v[1] for v in visit_rows(srv).values()]
    at = parse_time(closed_at)
    _, out = sweep(srv, at + 8 * DAY)  # the CLI's own default is 30 days
    assert out["visits_removed"] == 0
    _, out = sweep(srv, at + 8 * DAY, "--retain-visits-days", "7")
    assert out["visits_removed"] == 1
    assert visit_rows(srv) == {}


def test_serve_sweeps_at_start(server_factory):
    """serve sweeps at start (then hourly): a visit closed 31 days ago is
    gone after a restart, one closed 29 days ago is kept."""
    srv = server_factory()
    co = company(srv, name="Restart Coffee", staff=("admin",))
    old = member(srv, co.brand, ["recognition"])
    young = member(srv, co.brand, ["recognition"])
    for c in (old, young):
        assert_ok(srv.post("/v1/me/presence", c["token"], json={"store": co.shop.id}))
        srv.join(c, co.brand, [])
    rows = {v[0]: vid for vid, v in visit_rows(srv).items()}
    now = utcnow()
    con = rw_connect(srv.db)
    try:
        con.execute("UPDATE visits SET closed_at = ? WHERE id = ?",
                    (fmt_time(now - 31 * DAY), rows[old["id"]]))
        con.execute("UPDATE visits SET closed_at = ? WHERE id = ?",
                    (fmt_time(now - 29 * DAY), rows[young["id"]]))
    finally:
        con.close()
    assert not srv.problems_at_stop()
    again = server_factory(db=srv.db)
    deadline = time.monotonic() + 10
    while set(visit_rows(again)) != {rows[young["id"]]} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(visit_rows(again)) == {rows[young["id"]]}


def test_access_log_expiry_keeps_the_chain_anchored(server_factory):
    srv = server_factory()
    co = company(srv, name="Anchor Coffee", staff=("admin", "manager"))
    jo = member(srv, co.brand, ["recognition", "preferences"])

    def look(role="manager"):
        assert_ok(srv.get(f"/v1/brands/{co.brand['id']}/members/{jo['id']}",
                          co.staff[role]["token"]))

    look()
    look("admin")
    time.sleep(0.01)
    look()
    look("admin")
    chain = export(srv, jo)["access_log"]
    assert len(chain) == 4 and chain[1]["at"] < chain[2]["at"]
    cutoff = parse_time(chain[2]["at"])  # entries strictly older than this expire

    # a day short of 13 months after: nothing expires
    _, out = sweep(srv, cutoff + 394 * DAY)
    assert out["access_log_removed"] == 0
    # 395 days after the third look: the first two expire
    _, out = sweep(srv, cutoff + 395 * DAY)
    assert out["access_log_removed"] == 2 and out["visits_removed"] == 0
    assert [e["id"] for e in access_log(srv, jo)] == [chain[3]["id"], chain[2]["id"]]
    assert verify(srv, jo) == {"intact": True, "checked": 2, "anchored": True}
    with_anchor = ro_connect(srv.db)
    try:
        (anchor,) = with_anchor.execute("SELECT hash FROM access_log_anchors WHERE customer_id = ?",
                                        (jo["id"],)).fetchone()
    finally:
        with_anchor.close()
    assert anchor == chain[1]["hash"], "the anchor is the hash of the newest expired entry"
    # the remaining chain still starts from the expired entry's hash
    assert export(srv, jo)["access_log"][0]["prev_hash"] == chain[1]["hash"]

    # the anchor is part of the proof: altering it breaks the check
    con = rw_connect(srv.db)
    try:
        con.execute("UPDATE access_log_anchors SET hash = ? WHERE customer_id = ?",
                    ("ab" * 32, jo["id"]))
        v = verify(srv, jo)
        assert v["intact"] is False and v["first_broken"] == chain[2]["id"]
        con.execute("UPDATE access_log_anchors SET hash = ? WHERE customer_id = ?",
                    (anchor, jo["id"]))
    finally:
        con.close()
    assert verify(srv, jo)["intact"] is True

    # new entries chain on
    look()
    assert verify(srv, jo) == {"intact": True, "checked": 3, "anchored": True}

    # 396 days on, everything expires; the chain is still provably intact
    last = export(srv, jo)["access_log"][-1]
    _, out = sweep(srv, utcnow() + 396 * DAY)
    assert out["access_log_removed"] == 3
    assert access_log(srv, jo) == [] and export(srv, jo)["access_log"] == []
    assert verify(srv, jo) == {"intact": True, "checked": 0, "anchored": True}
    # and the next look chains to the last expired one
    look("admin")
    assert verify(srv, jo) == {"intact": True, "checked": 1, "anchored": True}
    (entry,) = export(srv, jo)["access_log"]
    assert entry["prev_hash"] == last["hash"]
    # a shorter configured period
    _, out = sweep(srv, utcnow() + 29 * DAY, "--retain-access-log-days", "30")
    assert out["access_log_removed"] == 0
    _, out = sweep(srv, utcnow() + 31 * DAY, "--retain-access-log-days", "30")
    assert out["access_log_removed"] == 1
    assert verify(srv, jo) == {"intact": True, "checked": 0, "anchored": True}
    # the customer's ledger was never touched
    assert len(srv.ledger(jo)) == 2


def test_expiry_is_per_customer(server_factory):
    """Each customer's chain is anchored on its own: a sweep that expires
    one customer's old entries leaves another's newer chain unanchored."""
    srv = server_factory()
    co = company(srv, name="Two Chains Coffee", staff=("manager",))
    early = member(srv, co.brand, ["recognition"])
    late = member(srv, co.brand, ["recognition"])

    def look(c):
        assert_ok(srv.get(f"/v1/brands/{co.brand['id']}/members/{c['id']}",
                          co.manager["token"]))

    look(early)
    look(early)
    time.sleep(0.01)
    look(late)
    look(early)
    cutoff = parse_time(export(srv, late)["access_log"][0]["at"])
    _, out = sweep(srv, cutoff + 395 * DAY)
    assert out["access_log_removed"] == 2
    assert verify(srv, early) == {"intact": True, "checked": 1, "anchored": True}
    assert verify(srv, late) == {"intact": True, "checked": 1, "anchored": False}
    look(late)
    look(early)
    assert verify(srv, early)["intact"] and verify(srv, late)["intact"]
    # the anchor is the customer's own: erasure removes it with the rest
    assert_ok(srv.delete("/v1/me", early["token"], json={"confirm": True}))
    assert count(srv, "SELECT count(*) FROM access_log_anchors WHERE customer_id = ?",
                 early["id"]) == 0
    assert_problem(srv.get("/v1/me/access-log/verify", early["token"]), 401)


def test_concurrent_looks_keep_time_order_and_the_chain_survives_any_cutoff(server_factory):
    """Looks at one customer arriving together (a busy counter: several
    staff and displays at once) are written one after the other; their times
    must follow that order, or the newest-first log shows them out of order
    and a sweep whose cutoff falls between two of them expires the later
    one, keeps the earlier, and the chain check reports tampering."""
    srv = server_factory()
    co = company(srv, name="Busy Counter Coffee", staff=("admin", "manager"))
    jo = member(srv, co.brand, ["recognition", "preferences"])
    url = srv.url(f"/v1/brands/{co.brand['id']}/members/{jo['id']}")
    # three who may look a member up (counter staff may not): admin and two managers
    tokens = [s["token"] for s in co.staff.values()]
    tokens.append(srv.new_staff(co.brand, "manager")["token"])
    assert len(tokens) == 3

    def burst(worker):
        with requests.Session() as http:
            for i in range(30):
                r = http.get(url, headers={"Authorization": f"Bearer {tokens[(worker + i) % 3]}"},
                             timeout=30)
                assert r.status_code == 200, r.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(burst, range(8)))
    chain = export(srv, jo)["access_log"]  # oldest first: the order they were written in
    assert len(chain) == 240
    assert verify(srv, jo) == {"intact": True, "checked": 240, "anchored": False}
    inverted = [(a, b) for a, b in zip(chain, chain[1:]) if b["at"] < a["at"]]
    # a cutoff between two entries: at an inversion if there is one
    pivot = inverted[0][0] if inverted else chain[120]
    _, out = sweep(srv, parse_time(pivot["at"]) + 395 * DAY)
    assert out["access_log_removed"] > 0
    v = verify(srv, jo)
    assert v["intact"] is True and v["anchored"] is True, (
        f"the chain breaks after a sweep at {pivot['at']}: {v}")
    assert not inverted, (
        f"{len(inverted)} entries are written after an entry with a later time, e.g. "
        f"{inverted[0][0]['id']} at {inverted[0][0]['at']} then {inverted[0][1]['id']} "
        f"at {inverted[0][1]['at']}")
    log = access_log(srv, jo)
    assert [e["at"] for e in log] == sorted((e["at"] for e in log), reverse=True)
