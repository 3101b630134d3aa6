"""What the database holds: tokens only as hashes, passwords only as scrypt
hashes with their own salt, and customer fields sealed (no plaintext name,
email or answer anywhere in the database files)."""
import hashlib

import pytest

from conftest import assert_ok, table_names, token_hash, uniq, value_type, sqlite_only

CHOICES = [{"key": "note", "label": "Anything else", "kind": "text"}]


@pytest.fixture(scope="module")
def filled(server):
    b = server.new_brand(choices=CHOICES)
    staff = server.new_staff(b, "admin")
    tag = uniq("")
    name = f"Quentin Zabriskie{tag}"
    email = f"quentin.zabriskie{tag}@example.org"
    c = server.new_customer(name=name, email=email, password=f"Secret-Pass-{tag}")
    twin = server.new_customer(password=f"Secret-Pass-{tag}")  # same password
    server.join(c, b, ["recognition", "preferences"])
    answer, dont = f"oat milk and a sprinkle{tag}", f"no loyalty calls{tag}"
    assert_ok(server.put(f"/v1/me/brands/{b['id']}/preferences", c["token"],
                         json={"answers": {"note": answer}, "dont": [dont]}))
    session = server.login(email, c["password"])
    renamed = f"Quentin Renamed{tag}"
    assert_ok(server.patch("/v1/me", session["token"], json={"name": renamed}))
    # a staff look, so access_log rows exist too
    assert_ok(server.get(f"/v1/brands/{b['id']}/members/{c['id']}", staff["token"]))
    return {
        "brand": b, "staff": staff, "customer": c, "twin": twin,
        "tokens": [server.op_token, staff["token"], c["token"], twin["token"],
                   session["token"]],
        "passwords": [staff["password"], c["password"]],
        "plain": [name, email, renamed, answer, dont],
    }


def all_values(con):
    tables = table_names(con)
    assert {"customers", "tokens", "staff", "preferences", "consent_events"} <= set(tables)
    for t in tables:
        cur = con.execute(f'SELECT * FROM "{t}"')
        cols = [d[0] for d in cur.description]
        for row in cur:
            for col, v in zip(cols, row):
                yield t, col, v


def as_bytes(v):
    if v is None:
        return b""
    if isinstance(v, bytes):
        return v
    return str(v).encode()


def test_tokens_and_passwords_are_only_hashes(server, filled):
    con = server.db_connect()
    try:
        values = list(all_values(con))
        secrets_ = filled["tokens"] + filled["passwords"]
        for table, col, v in values:
            b = as_bytes(v)
            for s in secrets_:
                assert s.encode() not in b, f"a token or password is stored in {table}.{col}"
        hashes = {r[0] for r in con.execute("SELECT hash FROM tokens")}
        for t in filled["tokens"]:
            assert token_hash(t) in hashes
        pw = dict(con.execute("SELECT id, password_hash FROM customers"))
        c, twin = filled["customer"], filled["twin"]
        assert pw[c["id"]].startswith("scrypt$") and pw[twin["id"]].startswith("scrypt$")
        assert pw[c["id"]] != pw[twin["id"]], "same password, same hash: no per-password salt"
        for (h,) in con.execute("SELECT password_hash FROM staff"):
            assert h.startswith("scrypt$")
    finally:
        con.close()


def test_customer_fields_are_sealed(server, filled):
    con = server.db_connect()
    try:
        # through SQL: nothing in any column
        needles = [p.encode() for p in filled["plain"]]
        needles += [filled["customer"]["email"].upper().encode()]
        # and not an unkeyed hash of the email either (guessable)
        needles += [hashlib.sha256(filled["customer"]["email"].encode()).hexdigest().encode()]
        for table, col, v in all_values(con):
            b = as_bytes(v)
            for n in needles:
                assert n not in b, f"customer data in plaintext in {table}.{col}"
        for col in ("name_enc", "email_enc"):
            assert value_type(con, "customers", col, "id = ?", (filled["customer"]["id"],)) \
                == "blob"
    finally:
        con.close()
    # the database files themselves (main file, WAL and shared memory)
    found = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        f = server.db.with_name(server.db.name + suffix)
        if not f.exists():
            continue
        data = f.read_bytes()
        for s in filled["plain"] + filled["tokens"] + filled["passwords"]:
            if s.encode() in data or s.encode("utf-16-le") in data:
                found.append(f.name)
    assert not found, f"plaintext customer data or a secret in {sorted(set(found))}"


@sqlite_only  # PostgreSQL is always given its master key
def test_master_key_generated_beside_the_database(server):
    key = server.db.parent / "master.key"
    assert key.exists()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    hexkey = key.read_text().strip()
    assert len(hexkey) == 64 and int(hexkey, 16) >= 0
    log = server.stderr()
    assert "master_key.generated" in log and "production" in log
    assert hexkey not in log
    db_bytes = server.db.read_bytes()
    assert hexkey.encode() not in db_bytes
