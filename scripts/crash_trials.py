#!/usr/bin/env python3
"""
crash_trials.py — `make crash-trials`: does every write the server
acknowledged survive a kill -9?

Each trial starts the real `shopkeeper serve` on a fresh demo database,
drives writes under load from several client threads — purchases with an
Idempotency-Key (a point-of-sale key), consent changes (members switching
purposes at a brand) and sign-ups — and records every write the server
answered with a 2xx. At a random moment it kills the server with SIGKILL,
starts it again on the same files, and checks:

  * every acknowledged purchase is in the database, once per key, with its
    lines; a sample replayed over the API with the same key and body answers
    the same purchase (201, same id);
  * every acknowledged sign-up is a customer, and its token still works;
  * every member's purposes at the brand are the last acknowledged set (or
    the one whose answer was cut off by the kill);
  * PRAGMA integrity_check (database and key store) says ok.

Printed as a table with totals; exit status 1 on any lost write or
integrity error.

  scripts/crash_trials.py [--trials N] [--bin build/shopkeeper] [--sync NORMAL|FULL]
                          [--min-ms 300] [--max-ms 2500] [--seed S]

bench/bench_wal.py uses the Server and Loader classes below.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BRAND = "marlowe-books"
ADMIN = "admin@marlowe-books.example"
PASSWORD = "shopkeeper-demo"
PURPOSE_SETS = (["recognition"], ["recognition", "preferences"],
                ["recognition", "history"], ["recognition", "preferences", "history"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The real `shopkeeper serve` on a loopback port, on files in `dir`."""

    def __init__(self, binary, dir, sync="NORMAL"):
        self.bin, self.dir, self.sync = binary, Path(dir), sync
        self.db = self.dir / "shop.db"
        self.port = free_port()
        self.proc = None
        self.log = None

    def demo(self):
        subprocess.run([self.bin, "demo", "--db", str(self.db)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, timeout=60):
        env = dict(os.environ, SHOPKEEPER_SQLITE_SYNC=self.sync)
        self.log = open(self.dir / "serve.log", "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--db", str(self.db), "--listen", f"127.0.0.1:{self.port}",
             "--log-level", "warn"], env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see "
                                   f"{self.dir / 'serve.log'}")
            try:
                st, _ = self.request("GET", "/healthz")
                if st == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("server did not answer /healthz")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.log.close()
        return rc

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, token=None, body=None, headers=None, conn=None):
        c = conn or self.conn()
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        try:
            c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else None)
        finally:
            if conn is None:
                c.close()

    def setup(self):
        """A pos key at the brand's first store, its SKUs and its members."""
        st, s = self.request("POST", "/v1/sessions", body={"email": ADMIN, "password": PASSWORD})
        assert st == 201 or st == 200, (st, s)
        _, stores = self.request("GET", f"/v1/brands/{BRAND}/stores")
        store = stores["items"][0]["id"]
        st, pos = self.request("POST", f"/v1/stores/{store}/pos", s["token"], {"name": "load"})
        assert st == 201, (st, pos)
        _, items = self.request("GET", f"/v1/brands/{BRAND}/items?limit=100")
        return {"store": store, "pos": pos["key"], "skus": [i["sku"] for i in items["items"]]}


class Loader:
    """Client threads writing at a paced rate; every 2xx answer is recorded.

    kinds: a dict of kind -> weight among "purchase", "consent", "signup".
    Each thread keeps one keep-alive connection; on a connection error it
    stops (the server was killed) unless `reconnect`."""

    def __init__(self, server, shop, rate, threads, kinds, seed=1):
        self.s, self.shop, self.rate, self.nthreads = server, shop, rate, threads
        self.kinds = list(kinds.items())
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.purchases = {}     # key -> (body, id)
        self.pending = {}       # key -> body: sent, no answer (cut off)
        self.signups = {}       # email -> (id, token)
        self.members = []       # [token, acked purposes, pending purposes]
        self.latencies = []     # seconds, 2xx writes
        self.errors = {}        # status or exception name -> count
        self.sent = 0
        self.consents = 0       # acknowledged consent changes
        self.seed = seed
        self.threads = []

    def add_members(self, n):
        """Sign up n shoppers who join the brand (before the load starts)."""
        for _ in range(n):
            email = f"m-{uuid.uuid4().hex[:12]}@example.org"
            st, c = self.s.request("POST", "/v1/customers",
                                   body={"name": "Member", "email": email, "password": PASSWORD})
            assert st == 201, (st, c)
            st, m = self.s.request("PUT", f"/v1/me/brands/{BRAND}", c["token"],
                                   {"purposes": list(PURPOSE_SETS[3])})
            assert st in (200, 201), (st, m)
            self.members.append([c["token"], list(PURPOSE_SETS[3]), None, c["id"], threading.Lock()])

    def start(self):
        for i in range(self.nthreads):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def _note(self, what):
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1

    def _run(self, i):
        rnd = random.Random(self.seed * 1000 + i)
        conn = self.s.conn()
        period = self.nthreads / self.rate
        next_t = time.monotonic() + rnd.random() * period
        kinds = [k for k, _ in self.kinds]
        weights = [w for _, w in self.kinds]
        while not self.stop.is_set():
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_t = max(next_t + period, time.monotonic() - period)
            kind = rnd.choices(kinds, weights)[0]
            try:
                getattr(self, "_" + kind)(rnd, conn)
            except (OSError, http.client.HTTPException) as e:
                self._note(type(e).__name__)
                conn.close()
                if self.stop.is_set():
                    return
                time.sleep(0.05)
                conn = self.s.conn()
        conn.close()

    def _timed(self, conn, method, path, token, body, headers=None):
        t0 = time.perf_counter()
        st, doc = self.s.request(method, path, token, body, headers, conn=conn)
        dt = time.perf_counter() - t0
        with self.lock:
            self.sent += 1
            if 200 <= st < 300:
                self.latencies.append(dt)
            else:
                self.errors[st] = self.errors.get(st, 0) + 1
        return st, doc

    def _purchase(self, rnd, conn):
        shop = self.shop
        lines = [{"sku": rnd.choice(shop["skus"]), "qty": rnd.randint(1, 3),
                  "price": round(rnd.uniform(1, 40), 2)} for _ in range(rnd.randint(1, 4))]
        body = {"store": shop["store"], "lines": lines}
        if self.members and rnd.random() < 0.5:
            body["customer"] = rnd.choice(self.members)[3]
        key = uuid.uuid4().hex
        with self.lock:
            self.pending[key] = body
        st, doc = self._timed(conn, "POST", f"/v1/brands/{BRAND}/purchases", shop["pos"], body,
                              {"Idempotency-Key": key})
        with self.lock:
            del self.pending[key]
            if st == 201:
                self.purchases[key] = (body, doc["id"])

    def _consent(self, rnd, conn):
        if not self.members:
            return
        m = rnd.choice(self.members)
        if not m[4].acquire(blocking=False):   # one change at a time per member
            return
        try:
            want = list(rnd.choice(PURPOSE_SETS))
            m[2] = want
            st, _ = self._timed(conn, "PUT", f"/v1/me/brands/{BRAND}", m[0], {"purposes": want})
            if 200 <= st < 300:
                m[1], m[2] = want, None
                with self.lock:
                    self.consents += 1
        finally:
            m[4].release()

    def _signup(self, rnd, conn):
        email = f"s-{uuid.uuid4().hex[:12]}@example.org"
        st, doc = self._timed(conn, "POST", "/v1/customers", None,
                              {"name": "Signup", "email": email, "password": PASSWORD})
        if st == 201:
            with self.lock:
                self.signups[email] = (doc["id"], doc["token"])

    def p(self, q):
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def integrity(path):
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return [r[0] for r in c.execute("PRAGMA integrity_check")]
    finally:
        c.close()


def verify(server, shop, ld, rnd, replays=20):
    """Lost writes after the restart, as a list of short strings."""
    lost = []
    c = sqlite3.connect(f"file:{server.db}?mode=ro", uri=True, timeout=30)
    try:
        rows = {}
        for pid, n in c.execute("SELECT p.id, COUNT(l.purchase_id) FROM purchases p "
                                "LEFT JOIN purchase_lines l ON l.purchase_id = p.id GROUP BY p.id"):
            rows[pid] = n
        for key, (body, pid) in ld.purchases.items():
            if pid not in rows:
                lost.append(f"purchase {pid}")
            elif rows[pid] != len(body["lines"]):
                lost.append(f"purchase {pid}: {rows[pid]} of {len(body['lines'])} lines")
        customers = {r[0] for r in c.execute("SELECT id FROM customers")}
        for email, (cid, _) in ld.signups.items():
            if cid not in customers:
                lost.append(f"sign-up {cid}")
    finally:
        c.close()
    # the same key and body answer the same purchase, once
    keys = list(ld.purchases)
    for key in rnd.sample(keys, min(replays, len(keys))):
        body, pid = ld.purchases[key]
        st, doc = server.request("POST", f"/v1/brands/{BRAND}/purchases", shop["pos"], body,
                                 {"Idempotency-Key": key})
        if st != 201 or doc.get("id") != pid:
            lost.append(f"replay {key}: {st} {doc.get('id') if doc else None} != {pid}")
    for email, (cid, tok) in list(ld.signups.items())[:replays]:
        st, doc = server.request("GET", "/v1/me", tok)
        if st != 200 or doc.get("id") != cid:
            lost.append(f"token of sign-up {cid}: {st}")
    for m in ld.members:
        st, doc = server.request("GET", f"/v1/me/brands/{BRAND}", m[0])
        got = sorted(doc.get("purposes", [])) if st == 200 and doc else None
        ok = [sorted(m[1])] + ([sorted(m[2])] if m[2] else [])
        if got not in ok:
            lost.append(f"consent of {m[3]}: {got} not in {ok}")
    return lost


def trial(binary, n, sync, min_ms, max_ms, rnd, keep, sabotage=False):
    d = Path(tempfile.mkdtemp(prefix=f"crash-{n}-"))
    try:
        s = Server(binary, d, sync)
        s.demo()
        s.start()
        shop = s.setup()
        ld = Loader(s, shop, rate=300, threads=6,
                    kinds={"purchase": 80, "consent": 17, "signup": 3}, seed=rnd.randrange(1 << 30))
        ld.add_members(8)
        ld.start()
        at = rnd.uniform(min_ms, max_ms) / 1000
        time.sleep(at)
        s.kill()
        ld.join()
        if sabotage and ld.purchases:
            # the checker's own test: lose one acknowledged purchase on purpose
            pid = next(iter(ld.purchases.values()))[1]
            c = sqlite3.connect(s.db)
            for t in ("purchase_keys", "purchase_lines"):
                c.execute(f"DELETE FROM {t} WHERE purchase_id = ?", (pid,))
            c.execute("DELETE FROM purchases WHERE id = ?", (pid,))
            c.commit()
            c.close()
        cut = len(ld.pending)
        restart = s.start()
        lost = verify(s, shop, ld, rnd)
        rc = s.stop()
        ints = integrity(s.db) + integrity(f"{s.db}.keys")
        bad = [x for x in ints if x != "ok"]
        if rc != 0:
            bad.append(f"clean stop after the restart exited {rc}")
        return {"n": n, "kill_ms": at * 1000, "purchases": len(ld.purchases),
                "consents": ld.consents, "signups": len(ld.signups),
                "acked": len(ld.purchases) + len(ld.signups) + ld.consents, "cut": cut,
                "restart_ms": restart * 1000, "lost": lost, "integrity": bad, "dir": d}
    finally:
        if not keep:
            shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--bin", default=str(REPO / "build" / "shopkeeper"))
    ap.add_argument("--sync", default=os.environ.get("SHOPKEEPER_SQLITE_SYNC", "NORMAL"),
                    choices=["NORMAL", "FULL"])
    ap.add_argument("--min-ms", type=float, default=300)
    ap.add_argument("--max-ms", type=float, default=2500)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep each trial's files")
    ap.add_argument("--sabotage", action="store_true",
                    help="delete one acknowledged purchase after each kill (the checker must "
                         "report it lost and exit 1)")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rnd = random.Random(seed)
    print(f"crash trials: {a.trials}, synchronous={a.sync}, kill -9 between {a.min_ms:.0f} and "
          f"{a.max_ms:.0f} ms of load, seed {seed}, {os.cpu_count()} cores")
    print(f"{'trial':>5} {'kill ms':>8} {'purchases':>9} {'consents':>8} {'sign-ups':>8} {'cut off':>7} "
          f"{'restart ms':>10} {'lost':>4} {'integrity':>9}")
    tot = {"acked": 0, "purchases": 0, "consents": 0, "signups": 0, "lost": 0, "bad": 0, "cut": 0}
    t0 = time.monotonic()
    for n in range(1, a.trials + 1):
        r = trial(a.bin, n, a.sync, a.min_ms, a.max_ms, rnd, a.keep, a.sabotage)
        print(f"{n:>5} {r['kill_ms']:>8.0f} {r['purchases']:>9} {r['consents']:>8} {r['signups']:>8} {r['cut']:>7} "
              f"{r['restart_ms']:>10.0f} {len(r['lost']):>4} "
              f"{'ok' if not r['integrity'] else 'FAILED':>9}", flush=True)
        for x in r["lost"][:10] + r["integrity"][:10]:
            print(f"      {x}")
        tot["acked"] += r["acked"]
        tot["purchases"] += r["purchases"]
        tot["signups"] += r["signups"]
        tot["consents"] += r["consents"]
        tot["cut"] += r["cut"]
        tot["lost"] += len(r["lost"])
        tot["bad"] += 1 if r["integrity"] else 0
    print(f"total: {a.trials} trials in {time.monotonic() - t0:.0f} s; {tot['acked']} acknowledged "
          f"writes ({tot['purchases']} purchases, {tot['consents']} consent "
          f"changes, {tot['signups']} sign-ups); {tot['cut']} cut off by the kill; {tot['lost']} lost; {tot['bad']} "
          f"integrity errors   (target 0 and 0)   "
          f"{'ok' if tot['lost'] == 0 and tot['bad'] == 0 else 'MISSED'}")
    return 0 if tot["lost"] == 0 and tot["bad"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
