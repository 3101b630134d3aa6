"""The server's worker threads share the store: parallel joins, withdrawals,
preferences and staff reads all succeed, and every customer's current
grants equal what their ledger says."""
import threading

import requests

from conftest import assert_ok

CHOICES = [{"key": "milk", "label": "Milk", "kind": "choice", "options": ["Oat", "Whole"]}]
ROUNDS = 8


def derive(ledger, brand_id):
    granted = set()
    for e in ledger:
        if e["brand_id"] != brand_id:
            continue
        if e["action"] == "grant":
            granted.add(e["purpose"])
        else:
            granted.discard(e["purpose"])
    return granted


def test_parallel_consent_changes(server):
    brand = server.new_brand(choices=CHOICES)
    # (member lookups are for managers and admins; counter staff have none)
    manager = server.new_staff(brand, "manager")
    customers = [server.new_customer() for _ in range(6)]
    errors = []
    base = server.base

    def shopper(c):
        s = requests.Session()
        h = {"Authorization": f"Bearer {c['token']}"}
        try:
            for i in range(ROUNDS):
                purposes = ["recognition", "preferences"] if i % 2 == 0 else ["offers"]
                r = s.put(f"{base}/v1/me/brands/{brand['id']}", headers=h,
                          json={"purposes": purposes}, timeout=30)
                if r.status_code != 200:
                    errors.append(("join", r.status_code, r.text))
                if i % 2 == 0:
                    r = s.put(f"{base}/v1/me/brands/{brand['id']}/preferences", headers=h,
                              json={"answers": {"milk": "Oat" if i % 4 else "Whole"}},
                              timeout=30)
                    # this thread is the only writer of its customer's grants,
                    # and has just granted preferences: this must succeed
                    if r.status_code != 200:
                        errors.append(("prefs", r.status_code, r.text))
        finally:
            s.close()

    def staff_reader():
        s = requests.Session()
        h = {"Authorization": f"Bearer {manager['token']}"}
        try:
            for _ in range(ROUNDS):
                for c in customers:
                    r = s.get(f"{base}/v1/brands/{brand['id']}/members/{c['id']}", headers=h,
                              timeout=30)
                    if r.status_code not in (200, 404):
                        errors.append(("read", r.status_code, r.text))
        finally:
            s.close()

    threads = [threading.Thread(target=shopper, args=(c,)) for c in customers]
    threads += [threading.Thread(target=staff_reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "requests hung"
    assert not errors, errors[:5]

    for c in customers:
        ledger = server.ledger(c)
        m = assert_ok(server.get(f"/v1/me/brands/{brand['id']}", c["token"]))
        assert set(m["purposes"]) == derive(ledger, brand["id"]) == {"offers"}
        # the staff view agrees: offers only, so neither name nor preferences
        v = assert_ok(server.get(f"/v1/brands/{brand['id']}/members/{c['id']}",
                                 manager["token"]))
        assert v["purposes"] == ["offers"] and "name" not in v and "preferences" not in v
        # ids are unique and the ledger is in order
        ids = [e["id"] for e in ledger]
        assert len(ids) == len(set(ids)) and ids == sorted(ids)
