"""Households (issue 5): another adult with their own account is linked only
if they accept, and either side can undo it. An invitation never reveals
whether the email has an account; the invitee is stored only as the keyed
hash of the email; the invitee's name reaches the inviter only once
accepted. Limits, rate limits, export and erasure."""
import hashlib

from conftest import assert_ok, assert_problem, uniq
from privacy_support import cells_containing, export, ro_connect


def household(server, c):
    return assert_ok(server.get("/v1/me/household", c["token"]))


def invite(server, inviter, email, status=202):
    r = server.post("/v1/me/household/invitations", inviter["token"], json={"email": email})
    return assert_ok(r, status)


def test_invite_accept_and_undo_from_either_side(server):
    ann, ben = server.new_customer(name="Ann Inviter"), server.new_customer(name="Ben Invitee")
    assert household(server, ann) == {"members": [], "invitations": {"sent": [], "received": []}}
    inv = invite(server, ann, ben["email"].upper())
    assert inv["id"].startswith("hin_") and inv["status"] == "pending"
    assert inv["email"] == ben["email"].upper() and inv["answered_at"] is None

    # the inviter sees what they typed, never the invitee's name before acceptance
    h = household(server, ann)
    assert h["members"] == [] and h["invitations"]["received"] == []
    assert h["invitations"]["sent"] == [inv]
    assert "Ben Invitee" not in str(h) and ben["id"] not in str(h)
    # the invitee sees who invites them (the inviter chose to)
    h = household(server, ben)
    assert h["invitations"]["sent"] == [] and h["members"] == []
    [rec] = h["invitations"]["received"]
    assert rec["id"] == inv["id"] and rec["from"] == {"customer": ann["id"], "name": "Ann Inviter"}
    assert "email" not in rec

    # only the invitee answers
    third = server.new_customer()
    for who in (ann, third):
        assert_problem(server.post(f"/v1/me/household/invitations/{inv['id']}/accept",
                                   who["token"]), 404)
    h = assert_ok(server.post(f"/v1/me/household/invitations/{inv['id']}/accept", ben["token"]))
    assert [(m["customer"], m["name"]) for m in h["members"]] == [(ann["id"], "Ann Inviter")]
    assert h["invitations"]["received"] == []
    h = household(server, ann)
    assert [(m["customer"], m["name"]) for m in h["members"]] == [(ben["id"], "Ben Invitee")]
    assert h["invitations"]["sent"] == []
    assert household(server, third)["members"] == []
    # answered: gone
    assert_problem(server.post(f"/v1/me/household/invitations/{inv['id']}/accept",
                               ben["token"]), 404)

    # undone by the inviter: gone for both
    assert_ok(server.delete(f"/v1/me/household/members/{ben['id']}", ann["token"]))
    assert household(server, ann)["members"] == [] and household(server, ben)["members"] == []
    assert_problem(server.delete(f"/v1/me/household/members/{ben['id']}", ann["token"]), 404)

    # linked again (Ben invites this time), undone by the invitee
    inv2 = invite(server, ben, ann["email"])
    assert_ok(server.post(f"/v1/me/household/invitations/{inv2['id']}/accept", ann["token"]))
    assert [m["customer"] for m in household(server, ben)["members"]] == [ann["id"]]
    assert_problem(server.delete(f"/v1/me/household/members/{ann['id']}", third["token"]), 404)
    assert_ok(server.delete(f"/v1/me/household/members/{ben['id']}", ann["token"]))
    assert household(server, ann)["members"] == [] and household(server, ben)["members"] == []


def test_decline_and_withdraw(server):
    ann, ben = server.new_customer(), server.new_customer(name="Ben Declines")
    inv = invite(server, ann, ben["email"])
    assert_problem(server.post(f"/v1/me/household/invitations/{inv['id']}/decline",
                               ann["token"]), 404)
    h = assert_ok(server.post(f"/v1/me/household/invitations/{inv['id']}/decline", ben["token"]))
    assert h["invitations"]["received"] == [] and h["members"] == []
    [sent] = household(server, ann)["invitations"]["sent"]
    assert sent["status"] == "declined" and sent["answered_at"]
    assert "Ben Declines" not in str(household(server, ann))
    # no second chance to nag: inviting again keeps the declined invitation
    again = invite(server, ann, ben["email"])
    assert again["id"] == inv["id"] and again["status"] == "declined"
    assert household(server, ben)["invitations"]["received"] == []
    assert_problem(server.post(f"/v1/me/household/invitations/{inv['id']}/accept",
                               ben["token"]), 404)
    # the inviter withdraws it; only the inviter can
    assert_problem(server.delete(f"/v1/me/household/invitations/{inv['id']}", ben["token"]), 404)
    assert_ok(server.delete(f"/v1/me/household/invitations/{inv['id']}", ann["token"]))
    assert household(server, ann)["invitations"]["sent"] == []
    assert_problem(server.delete(f"/v1/me/household/invitations/{inv['id']}", ann["token"]), 404)
    # a pending invitation withdrawn disappears for the invitee
    inv = invite(server, ann, ben["email"])
    assert len(household(server, ben)["invitations"]["received"]) == 1
    assert_ok(server.delete(f"/v1/me/household/invitations/{inv['id']}", ann["token"]))
    assert household(server, ben)["invitations"]["received"] == []


def test_no_account_enumeration_and_no_email_in_clear(server):
    ann, ben = server.new_customer(), server.new_customer()
    nobody = f"{uniq('nobody')}@example.com"
    r_yes = server.post("/v1/me/household/invitations", ann["token"], json={"email": ben["email"]})
    r_no = server.post("/v1/me/household/invitations", ann["token"], json={"email": nobody})
    assert r_yes.status_code == r_no.status_code == 202
    a, b = r_yes.json(), r_no.json()
    assert set(a) == set(b) and a["status"] == b["status"] == "pending"
    assert (a["email"], b["email"]) == (ben["email"], nobody)
    # and when the email signs up later, the invitation is there
    late = server.new_customer(email=nobody.upper())
    [rec] = household(server, late)["invitations"]["received"]
    assert rec["id"] == b["id"]
    con = ro_connect(server.db)
    try:
        for e in (nobody, ben["email"]):
            assert cells_containing(con, e) == []
            assert cells_containing(con, hashlib.sha256(e.encode()).hexdigest()) == []
        assert con.execute("SELECT COUNT(*) FROM household_invitations WHERE customer_id = ?",
                           (ann["id"],)).fetchone()[0] == 2
    finally:
        con.close()


def test_validation_and_limits(server_factory):
    srv = server_factory()
    ann = srv.new_customer()
    for body, field in (({}, "email"), ({"email": ""}, "email"), ({"email": "not-an-email"}, "email"),
                        ({"email": 5}, "email"), ({"email": ann["email"]}, "email")):
        assert_problem(srv.post("/v1/me/household/invitations", ann["token"], json=body), 422,
                       field)
    assert_problem(srv.post("/v1/me/household/invitations", ann["token"], data="[]",
                            headers={"Content-Type": "application/json"}), 400)
    ids = [invite(srv, ann, f"{uniq('p')}@example.com")["id"] for _ in range(10)]
    assert_problem(srv.post("/v1/me/household/invitations", ann["token"],
                            json={"email": f"{uniq('p')}@example.com"}), 409, "invitations")
    # the same email again: the same invitation, not a new one
    first = household(srv, ann)["invitations"]["sent"][0]
    assert invite(srv, ann, first["email"])["id"] == ids[0]
    assert len(household(srv, ann)["invitations"]["sent"]) == 10
    # rate limit: 20 invitations an hour, withdrawn or not (13 sent so far)
    for i in range(7):
        assert_ok(srv.delete(f"/v1/me/household/invitations/{ids[i]}", ann["token"]))
        invite(srv, ann, f"{uniq('r')}@example.com")
    r = srv.post("/v1/me/household/invitations", ann["token"],
                 json={"email": f"{uniq('r')}@example.com"})
    assert_problem(r, 429)
    assert int(r.headers["Retry-After"]) > 0
    # others are not limited by Ann
    ben = srv.new_customer()
    invite(srv, ben, f"{uniq('b')}@example.com")
    for token in (srv.op_token, None):
        assert_problem(srv.get("/v1/me/household", token), (401, 403))


def test_household_size_limit(server_factory):
    srv = server_factory()
    hub = srv.new_customer()
    others = [srv.new_customer() for _ in range(11)]
    invs = [invite(srv, o, hub["email"]) for o in others]
    for inv in invs[:10]:
        assert_ok(srv.post(f"/v1/me/household/invitations/{inv['id']}/accept", hub["token"]))
    assert_problem(srv.post(f"/v1/me/household/invitations/{invs[10]['id']}/accept",
                            hub["token"]), 409, "members")
    assert len(household(srv, hub)["members"]) == 10


def test_export_holds_the_household(server):
    ann, ben = server.new_customer(name="Ann Export"), server.new_customer(name="Ben Export")
    cat = server.new_customer(name="Cat Export")
    inv = invite(server, ann, ben["email"])
    assert_ok(server.post(f"/v1/me/household/invitations/{inv['id']}/accept", ben["token"]))
    pending = invite(server, ann, "Someone.Else+x@example.com")
    from_cat = invite(server, cat, ann["email"])
    x = export(server, ann)
    assert x["household"] == household(server, ann)
    assert [(m["customer"], m["name"]) for m in x["household"]["members"]] == \
        [(ben["id"], "Ben Export")]
    assert x["household"]["invitations"]["sent"] == [pending]
    assert [r["id"] for r in x["household"]["invitations"]["received"]] == [from_cat["id"]]
    assert [m["customer"] for m in export(server, ben)["household"]["members"]] == [ann["id"]]


def test_erasure_removes_links_and_invitations(server):
    ann, ben = server.new_customer(name="Ann Stays"), server.new_customer(name="Ben Leaves")
    cat = server.new_customer()
    inv = invite(server, ann, ben["email"])
    assert_ok(server.post(f"/v1/me/household/invitations/{inv['id']}/accept", ben["token"]))
    invite(server, cat, ben["email"])       # to Ben, pending
    from_ben = invite(server, ben, cat["email"])  # from Ben, pending
    assert len(household(server, cat)["invitations"]["received"]) == 1
    assert_ok(server.delete("/v1/me", ben["token"], json={"confirm": True}))
    assert household(server, ann)["members"] == []
    h = household(server, cat)
    assert h["invitations"]["received"] == [] and h["invitations"]["sent"] == []
    con = ro_connect(server.db)
    try:
        assert cells_containing(con, ben["id"]) == []
        assert cells_containing(con, from_ben["id"]) == []
    finally:
        con.close()
