"""The shopper in control (issue 4): the access log is tamper-evident. Each
entry chains to the customer's previous one; GET /v1/me/access-log/verify
says whether the chain is intact. The tests alter, delete and forge rows
directly in the live SQLite database and watch the check fail at the entry
that was touched, and pass again once it is put back."""
import pytest

from conftest import assert_ok, assert_problem
from privacy_support import ZERO_HASH, access_log, company, export, rw_connect, verify
from recog_support import member

COLS = ("id", "customer_id", "brand_id", "store_id", "actor_kind", "actor_role", "fields",
        "purpose", "at", "prev_hash", "hash")


@pytest.fixture(scope="module")
def co(server):
    return company(server, name="Chain Test Coffee", staff=("admin", "manager"))


def looks(server, co, customer, n):
    """n looks at the member view, by the roles that may look (counter staff may not)."""
    roles = ["manager", "admin"]
    for i in range(n):
        assert_ok(server.get(f"/v1/brands/{co.brand['id']}/members/{customer['id']}",
                             co.staff[roles[i % 2]]["token"]))


def rows_of(con, cid):
    return con.execute(f"SELECT {', '.join(COLS)} FROM access_log WHERE customer_id = ? "
                       "ORDER BY id", (cid,)).fetchall()


@pytest.fixture
def db(server):
    con = rw_connect(server.db)
    yield con
    con.close()


def test_a_fresh_chain_is_intact_and_links(server, co):
    jo = member(server, co.brand, ["recognition", "preferences"])
    assert verify(server, jo) == {"intact": True, "checked": 0, "anchored": False}
    looks(server, co, jo, 5)
    assert verify(server, jo) == {"intact": True, "checked": 5, "anchored": False}
    # the export carries the chain, so it can be checked offline
    chain = export(server, jo)["access_log"]
    assert len(chain) == 5
    assert chain[0]["prev_hash"] == ZERO_HASH
    for a, b in zip(chain, chain[1:]):
        assert b["prev_hash"] == a["hash"] and a["id"] < b["id"]
    assert len({e["hash"] for e in chain}) == 5
    # the customer's view is the same entries, newest first
    assert [e["id"] for e in access_log(server, jo)] == [e["id"] for e in reversed(chain)]
    # it is the customer's own check
    for token in (co.admin["token"], server.op_token):
        assert_problem(server.get("/v1/me/access-log/verify", token), 403)
    assert_problem(server.get("/v1/me/access-log/verify"), 401)


@pytest.mark.parametrize("column,value", [
    ("fields", "name"),                 # a look made to seem smaller
    ("actor_kind", "display"),
    ("actor_role", "owner"),
    ("purpose", "recognition"),
    ("at", "2020-01-01T00:00:00.000Z"),  # moved in time
    ("brand_id", "brd_0000000000000000000000000000"),
    ("store_id", "sto_0000000000000000000000000000"),
])
def test_an_altered_entry_breaks_the_chain_there(server, co, db, column, value):
    jo = member(server, co.brand, ["recognition", "preferences"])
    looks(server, co, jo, 5)
    rows = rows_of(db, jo["id"])
    victim = rows[2]
    original = victim[COLS.index(column)]
    assert original != value
    db.execute(f"UPDATE access_log SET {column} = ? WHERE id = ?", (value, victim[0]))
    v = verify(server, jo)
    assert v["intact"] is False, v
    assert v["first_broken"] == victim[0], v
    assert v["checked"] == 3
    # put back, intact again: the check reads what is in the database now
    db.execute(f"UPDATE access_log SET {column} = ? WHERE id = ?", (original, victim[0]))
    assert verify(server, jo) == {"intact": True, "checked": 5, "anchored": False}


def test_rewritten_hashes_are_detected(server, co, db):
    """A stored hash that no longer matches its entry breaks the chain at
    that entry; a prev_hash that no longer matches the entry before breaks
    it at the entry that carries it."""
    jo = member(server, co.brand, ["recognition"])
    looks(server, co, jo, 4)
    rows = rows_of(db, jo["id"])
    db.execute("UPDATE access_log SET hash = ? WHERE id = ?", ("ab" * 32, rows[1][0]))
    v = verify(server, jo)
    assert v["intact"] is False and v["first_broken"] == rows[1][0]
    db.execute("UPDATE access_log SET hash = ? WHERE id = ?", (rows[1][10], rows[1][0]))
    db.execute("UPDATE access_log SET prev_hash = ? WHERE id = ?", ("cd" * 32, rows[2][0]))
    v = verify(server, jo)
    assert v["intact"] is False and v["first_broken"] == rows[2][0]
    db.execute("UPDATE access_log SET prev_hash = ? WHERE id = ?", (rows[2][9], rows[2][0]))
    assert verify(server, jo)["intact"] is True


def test_a_deleted_entry_is_detected(server, co, db):
    jo = member(server, co.brand, ["recognition", "preferences"])
    looks(server, co, jo, 5)
    rows = rows_of(db, jo["id"])
    db.execute("DELETE FROM access_log WHERE id = ?", (rows[2][0],))
    v = verify(server, jo)
    assert v["intact"] is False
    assert v["first_broken"] == rows[3][0], "the entry after the gap should be the first broken"
    # deleting the first entry is detected too: the chain starts from zeros
    db.execute(f"INSERT INTO access_log ({', '.join(COLS)}) VALUES ({', '.join('?' * 11)})",
               rows[2])
    assert verify(server, jo)["intact"] is True
    db.execute("DELETE FROM access_log WHERE id = ?", (rows[0][0],))
    v = verify(server, jo)
    assert v["intact"] is False and v["first_broken"] == rows[1][0]
    db.execute(f"INSERT INTO access_log ({', '.join(COLS)}) VALUES ({', '.join('?' * 11)})",
               rows[0])
    assert verify(server, jo) == {"intact": True, "checked": 5, "anchored": False}


def test_an_entry_moved_to_another_customer_is_detected(server, co, db):
    """An entry is bound to its customer: moving one into another
    customer's log (or forging one there from a copy) breaks that chain."""
    jo = member(server, co.brand, ["recognition"])
    al = member(server, co.brand, ["recognition"])
    looks(server, co, jo, 2)
    looks(server, co, al, 2)
    jrows, arows = rows_of(db, jo["id"]), rows_of(db, al["id"])
    # a copy of Al's last entry appended to Jo's log, with Jo's last hash as prev
    forged = list(arows[1])
    forged[0] = "acc_ffffffffffffffff" + forged[0][20:]
    forged[1] = jo["id"]
    forged[9] = jrows[1][10]
    db.execute(f"INSERT INTO access_log ({', '.join(COLS)}) VALUES ({', '.join('?' * 11)})",
               forged)
    v = verify(server, jo)
    assert v["intact"] is False and v["first_broken"] == forged[0]
    db.execute("DELETE FROM access_log WHERE id = ?", (forged[0],))
    assert verify(server, jo)["intact"] is True
    # the other customer's chain was never involved
    assert verify(server, al) == {"intact": True, "checked": 2, "anchored": False}


def test_new_entries_chain_on_after_a_check(server, co):
    jo = member(server, co.brand, ["recognition"])
    looks(server, co, jo, 2)
    assert verify(server, jo)["checked"] == 2
    looks(server, co, jo, 2)
    assert verify(server, jo) == {"intact": True, "checked": 4, "anchored": False}
    chain = export(server, jo)["access_log"]
    assert [e["prev_hash"] for e in chain[1:]] == [e["hash"] for e in chain[:-1]]
