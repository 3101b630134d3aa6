#!/usr/bin/env python3
"""make soak: a mixed load against a real server for a while, with resident
memory and thread count sampled at a fixed interval, printed with their
slope. Memory must be flat: a slope within the noise of the samples.

    bench/soak.py --bin build/shopkeeper --minutes 60 --sample 60

The load, on loopback only, bounded in rate and time: a scanner posting
batches of stranger EIDs (the resolver, the counters), a member's app
check-in (a visit and a card), counter displays connecting to the card
stream and leaving, staff looking the member up (the access log), purchases
with Idempotency-Keys, consent switched off and on, and portal reads.
"""
import argparse
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PASSWORD = "shopkeeper-demo"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, token=None, body=None, headers=None, timeout=10):
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            return e.code, None

    def login(self, email):
        st, body = self.call("POST", "/v1/sessions", body={"email": email, "password": PASSWORD})
        if st != 201:
            raise SystemExit(f"soak: cannot sign in as {email}: {st}")
        return body["token"]


def sample(pid):
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def slope(xs, ys):
    """Least-squares slope and its standard error."""
    n = len(xs)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if n < 3 or sxx == 0:
        return 0.0, float("inf")
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    resid = [y - (my + b * (x - mx)) for x, y in zip(xs, ys)]
    se = (sum(r * r for r in resid) / (n - 2) / sxx) ** 0.5
    return b, se


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/shopkeeper")
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--sample", type=float, default=60, help="seconds between samples")
    ap.add_argument("--rate", type=float, default=40, help="requests a second, all kinds together")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="shopkeeper-soak-")
    db = os.path.join(work, "soak.db")
    subprocess.run([a.bin, "demo", "--db", db], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    log = open(os.path.join(work, "serve.log"), "w")
    web = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web")
    srv = subprocess.Popen([a.bin, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                            "--web", web, "--log-level", "warn"], stderr=log)
    api = Api(f"http://127.0.0.1:{port}")
    for _ in range(100):
        try:
            if api.call("GET", "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    stop = threading.Event()
    counts, errors = {}, {}
    lock = threading.Lock()

    def note(kind, status):
        with lock:
            counts[kind] = counts.get(kind, 0) + 1
            if status >= 500 or status == 0:
                errors[kind] = errors.get(kind, 0) + 1

    try:
        admin = api.login("admin@pike-pine.example")
        manager = api.login("manager@pike-pine.example")
        jeff = api.login("jeff@example.com")
        store = [s for s in api.call("GET", "/v1/brands/pike-pine/stores")[1]["items"]
                 if s["name"] == "5th Avenue"][0]
        sid = store["id"]
        scanner = api.call("POST", f"/v1/stores/{sid}/scanners", admin, {"name": "soak"})[1]["key"]
        display = api.call("POST", f"/v1/stores/{sid}/displays", admin, {"name": "soak"})[1]["key"]
        pos = api.call("POST", f"/v1/stores/{sid}/pos", admin, {"name": "soak"})[1]["key"]
        me = api.call("GET", "/v1/me", jeff)[1]
        items = api.call("GET", "/v1/brands/pike-pine/items?limit=5")[1]["items"]

        def sightings():
            batch = [{"eid": secrets.token_hex(8), "rssi": -70} for _ in range(20)]
            return "sightings", api.call("POST", "/v1/sightings", scanner, {"sightings": batch})[0]

        def checkin():
            return "checkin", api.call("POST", "/v1/me/presence", jeff, {"store": sid})[0]

        def look():
            return "member view", api.call("GET", f"/v1/brands/pike-pine/members/{me['id']}", manager)[0]

        def purchase():
            if not items:
                return "purchase", 200
            key = secrets.token_hex(8)
            body = {"store": sid, "customer": me["id"],
                    "lines": [{"sku": items[0]["sku"], "qty": 1, "price": "3.50"}]}
            return "purchase", api.call("POST", "/v1/brands/pike-pine/purchases", pos, body,
                                        headers={"Idempotency-Key": key})[0]

        def consent():
            st1 = api.call("PUT", "/v1/me/brands/pike-pine", jeff,
                           {"purposes": ["recognition", "history", "suggestions"]})[0]
            st2 = api.call("PUT", "/v1/me/brands/pike-pine", jeff,
                           {"purposes": ["recognition", "preferences", "history", "suggestions"]})[0]
            return "consent", max(st1, st2)

        def portal():
            st = max(api.call("GET", "/v1/me/brands", jeff)[0],
                     api.call("GET", "/v1/me/access-log?limit=20", jeff)[0],
                     api.call("GET", "/v1/me/brands/pike-pine/card", jeff)[0])
            return "portal reads", st

        def stream():
            # a display connects, reads for a moment, and leaves
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall((f"GET /v1/stores/{sid}/cards/stream HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {display}\r\nAccept: text/event-stream\r\n\r\n").encode())
            head = s.recv(4096)
            time.sleep(random.uniform(0.5, 2.0))
            s.close()
            return "display stream", 200 if head.startswith(b"HTTP/1.1 200") else 500

        mix = [sightings] * 6 + [checkin, look, purchase, portal, portal] * 2 + [consent, stream]

        def worker():
            while not stop.is_set():
                t0 = time.monotonic()
                fn = random.choice(mix)
                try:
                    kind, st = fn()
                except OSError:
                    kind, st = fn.__name__, 0
                note(kind, st)
                # 4 workers share the rate
                time.sleep(max(0.0, 4.0 / a.rate - (time.monotonic() - t0)))

        workers = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
        for w in workers:
            w.start()

        print(f"== soak: {a.minutes:g} min of mixed load at ~{a.rate:g} requests/s, "
              f"sampled every {a.sample:g} s, on {os.cpu_count()} cores ==")
        print(f"{'minute':>7} {'RSS MB':>8} {'threads':>8} {'requests':>9} {'5xx/fail':>9}")
        t_start = time.monotonic()
        xs, rss, thr = [], [], []
        while True:
            elapsed = time.monotonic() - t_start
            r, t = sample(srv.pid)
            with lock:
                total, bad = sum(counts.values()), sum(errors.values())
            xs.append(elapsed / 60)
            rss.append(r / 1024)
            thr.append(t)
            print(f"{elapsed / 60:7.1f} {r / 1024:8.1f} {t:8d} {total:9d} {bad:9d}", flush=True)
            if elapsed >= a.minutes * 60 or srv.poll() is not None:
                break
            time.sleep(min(a.sample, max(0.1, a.minutes * 60 - elapsed)))
        stop.set()
        for w in workers:
            w.join(15)
        # the first sample is the server before warm-up: the slope is over the rest
        b, se = slope(xs[1:], rss[1:])
        bt, st_ = slope(xs[1:], thr[1:])
        print()
        print(f"RSS slope {b:+.3f} MB/min (standard error {se:.3f}); threads slope {bt:+.3f}/min")
        print("requests by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        flat = abs(b) <= max(2 * se, 0.05)
        print(f"memory {'flat' if flat else 'GROWING'}: |slope| {'<=' if flat else '>'} "
              f"max(2 x standard error, 0.05 MB/min)")
        failed = sum(errors.values())
        if failed:
            print(f"soak: {failed} requests failed with 5xx or no answer: "
                  + ", ".join(f"{k} {v}" for k, v in errors.items()))
        return 0 if flat and not failed and srv.poll() is None else 1
    finally:
        stop.set()
        srv.terminate()
        try:
            srv.wait(15)
        except subprocess.TimeoutExpired:
            srv.kill()
        log.close()
        # a sanitizer build reports leaks and errors at exit: show them
        text = open(os.path.join(work, "serve.log"), errors="replace").read()
        if "Sanitizer" in text or "runtime error" in text:
            print("soak: the server's sanitizer report:")
            print("\n".join(text.splitlines()[-80:]))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
