"""
Helpers for the recognition API tests (test_recognition*.py): a real
Eddystone-EID device (X25519 provisioning, AES-128 EIDs, per
../shared/specs/eddystone-eid.md), a counter display's event stream read in a
background thread, shops with scanner and display keys, and a snapshot of
every table of the server's database.
"""
import hashlib
import hmac
import json
import queue
import secrets
import socket
import threading
import time

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from conftest import assert_ok, table_names, uniq

MASK32 = 0xFFFFFFFF

CHOICES = [
    {"key": "usual", "label": "Regular order", "kind": "choice",
     "options": ["Tall Drip Pike", "Oat Latte", "Flat White"]},
    {"key": "room_for_cream", "label": "Room for cream", "kind": "yesno"},
    {"key": "receipt", "label": "Wants a receipt", "kind": "yesno"},
    {"key": "cup_name", "label": "Name on the cup", "kind": "text"},
    {"key": "authors", "label": "Authors I follow", "kind": "text", "purpose": "suggestions"},
]


# ---- Eddystone-EID, as a device computes it ---------------------------------

def aes128(key, block):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def temp_key(ik, t):
    block = b"\x00" * 11 + b"\xff" + b"\x00\x00" + ((t >> 16) & 0xFFFF).to_bytes(2, "big")
    return aes128(ik, block)


def compute_eid(ik, k, t):
    """The 8-byte EID of identity key ik, rotation exponent k, clock t."""
    t &= MASK32
    q = ((t >> k) << k) & MASK32
    return aes128(temp_key(ik, t), b"\x00" * 11 + bytes([k]) + q.to_bytes(4, "big"))[:8]


def raw_public(priv):
    return priv.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)


def provision_ik(device_priv, resolver_pub):
    """IK = first 16 bytes of HMAC-SHA256(PRK, 0x01), PRK = HMAC-SHA256(
    key = resolver_pub || device_pub, msg = X25519 shared)."""
    device_pub = raw_public(device_priv)
    shared = device_priv.exchange(X25519PublicKey.from_public_bytes(resolver_pub))
    prk = hmac.new(resolver_pub + device_pub, shared, hashlib.sha256).digest()
    return hmac.new(prk, b"\x01", hashlib.sha256).digest()[:16]


class Device:
    """A shopper's device: its own X25519 key pair and a 32-bit seconds
    clock = wall seconds + offset (mod 2^32), which need not be wall time."""

    def __init__(self, k=8, offset=None, clock_now=None):
        self.priv = X25519PrivateKey.generate()
        self.pub = raw_public(self.priv)
        self.k = k
        if clock_now is not None:
            offset = clock_now - int(time.time())
        self.offset = (secrets.randbits(32) if offset is None else offset) & MASK32
        self.ik = None
        self.id = None

    @classmethod
    def shared(cls, answer):
        """A tag programmed with a service-made key (the "shared" method)."""
        d = cls(k=answer["rotation_exponent"], clock_now=answer["clock"])
        d.ik = bytes.fromhex(answer["identity_key"])
        d.id = answer["id"]
        return d

    def clock(self, at=None):
        return (int(time.time() if at is None else at) + self.offset) & MASK32

    def eid(self, t=None, windows=0):
        """Hex EID at clock t (default: now), shifted by whole windows."""
        t = self.clock() if t is None else t
        return compute_eid(self.ik, self.k, (t + windows * (1 << self.k)) & MASK32).hex()

    def registration(self, resolver_pub_hex, name="My phone"):
        """The body of POST /v1/me/devices for this device, now."""
        self.ik = provision_ik(self.priv, bytes.fromhex(resolver_pub_hex))
        t = self.clock()
        return {"name": name, "public_key": self.pub.hex(), "rotation_exponent": self.k,
                "clock": t, "eid": self.eid(t)}

    def register(self, server, customer, name="My phone"):
        params = assert_ok(server.get("/v1/eid-params"))
        r = server.post("/v1/me/devices", customer["token"],
                        json=self.registration(params["public_key"], name))
        body = assert_ok(r, 201)
        self.id = body["id"]
        return body


def mid_window_offset(k):
    """An offset that puts the device clock in the middle of a 2^k window
    now, so tests that shift by whole windows do not race a roll-over."""
    now = int(time.time())
    base = secrets.randbits(32) & ~((1 << k) - 1) & MASK32
    return (base + (1 << (k - 1)) - now) & MASK32


# ---- the counter display's event stream --------------------------------------

class EventStream:
    """GET /v1/stores/{store}/cards/stream read in a background thread; each
    SSE block (event:/data:) becomes (event, parsed data) in a queue."""

    def __init__(self, server, store_id, key):
        server.secrets.add(key)
        self.resp = requests.get(server.url(f"/v1/stores/{store_id}/cards/stream"),
                                 headers={"Authorization": f"Bearer {key}",
                                          "Accept": "text/event-stream"},
                                 stream=True, timeout=(10, None))
        self.status = self.resp.status_code
        self.q = queue.Queue()
        self.seen = []
        self.ended = threading.Event()
        self.thread = None
        if self.status == 200:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _run(self):
        buf = b""
        event, data = None, []
        try:
            for chunk in self.resp.iter_content(chunk_size=None):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.rstrip(b"\r").decode("utf-8")
                    if line == "":
                        if event is not None or data:
                            text = "\n".join(data)
                            try:
                                parsed = json.loads(text) if text else None
                            except ValueError:
                                parsed = ("unparsable", text)
                            self.q.put((event or "message", parsed))
                        event, data = None, []
                    elif line.startswith(":"):
                        continue
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip(" "))
        except Exception:  # closed under the reader, or the server went away
            pass
        finally:
            self.ended.set()

    def next(self, timeout=3.0):
        """The next event (name, data), or None after timeout seconds."""
        try:
            ev = self.q.get(timeout=timeout)
        except queue.Empty:
            return None
        self.seen.append(ev)
        return ev

    def expect(self, name, timeout=3.0):
        ev = self.next(timeout)
        assert ev is not None, f"no '{name}' event within {timeout}s (seen so far: {self.seen})"
        assert ev[0] == name, f"expected '{name}', got {ev}"
        return ev[1]

    def quiet(self, timeout=0.4):
        """Asserts no event arrives within timeout seconds."""
        ev = self.next(timeout)
        assert ev is None, f"unexpected event {ev}"

    def close(self):
        sock = None
        try:
            sock = self.resp.raw._fp.fp.raw._sock
        except AttributeError:
            try:
                sock = self.resp.raw._connection.sock
            except AttributeError:
                sock = None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.resp.close()
        if self.thread:
            self.thread.join(timeout=5)


def stream_get(server, store_id, token):
    """GET a store's cards stream without reading an (endless) 200 body:
    for access checks that must fail fast, not hang, when access is wrong."""
    server.secrets.add(token)
    r = requests.get(server.url(f"/v1/stores/{store_id}/cards/stream"),
                     headers={"Authorization": f"Bearer {token}"}, stream=True,
                     timeout=(10, 10))
    if r.status_code == 200:
        r.close()
    else:
        r.content  # a problem document: read it
    return r


# ---- shops --------------------------------------------------------------------

def new_store(server, brand, token=None, city="Testville", name=None):
    return assert_ok(server.post(f"/v1/brands/{brand['id']}/stores", token or server.op_token,
                                 json={"name": name or uniq("Store "), "timezone": "Europe/London",
                                       "city": city}), 201)


def store_key(server, store, kind, token):
    plural = {"scanner": "scanners", "display": "displays"}[kind]
    body = assert_ok(server.post(f"/v1/stores/{store['id']}/{plural}", token,
                                 json={"name": f"{kind} {uniq('')}"}), 201)
    assert body["key"].startswith("sk_")
    server.secrets.add(body["key"])
    return body["key"]


class Shop:
    """A store (opened by the operator) with a scanner key and a display key
    made with token (a brand admin's or manager's)."""

    def __init__(self, server, brand, token, city="Testville", store=None):
        self.server = server
        self.brand = brand
        self.store = store or new_store(server, brand, None, city)
        self.id = self.store["id"]
        self.scanner = store_key(server, self.store, "scanner", token)
        self.display = store_key(server, self.store, "display", token)

    def sight(self, *eids, rssi=-60):
        r = self.server.post("/v1/sightings", self.scanner,
                             json={"sightings": [{"eid": e, "rssi": rssi} for e in eids]})
        assert assert_ok(r, 202) == {"received": len(eids)}, r.text
        return r

    def cards(self, token=None):
        return assert_ok(self.server.get(f"/v1/stores/{self.id}/cards",
                                         token or self.display))["items"]

    def stream(self, token=None):
        s = EventStream(self.server, self.id, token or self.display)
        assert s.status == 200, s.resp.text
        return s


def stats(server):
    return assert_ok(server.get("/v1/recognition/stats", server.op_token))


def member(server, brand, purposes, name=None, answers=None, dont=None):
    c = server.new_customer(name=name)
    server.join(c, brand, purposes)
    if answers is not None or dont is not None:
        assert_ok(server.put(f"/v1/me/brands/{brand['id']}/preferences", c["token"],
                             json={"answers": answers or {}, "dont": dont or []}))
    return c


# ---- the database ---------------------------------------------------------------

def table_snapshot(server):
    """{table: (row count, digest of every row)} for every table."""
    con = server.db_connect()
    try:
        tables = table_names(con)
        out = {}
        for t in tables:
            rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            out[t] = (len(rows), digest)
        return out
    finally:
        con.close()


def db_rows(server, sql, *args):
    con = server.db_connect()
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()
