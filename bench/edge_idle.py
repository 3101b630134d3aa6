#!/usr/bin/env python3
"""
edge_idle.py — sightings and display streams from other addresses while
one holds thousands of idle connections (issue 11): p50/p99 of POST
/v1/sightings from 127.0.0.1 and of counter displays' streams from
127.0.0.3 and .4 opening (connect, request, its first bytes), first with nothing
else going on, then while 127.0.0.2 tries to open and hold --idle
connections (headers never sent). With --max-per-address (64 by
default) all but 64 of those are closed at once; the rest are closed by
--header-timeout.

usage: bench/edge_idle.py [--bin build/shopkeeper] [--idle 5000] [--requests 400] [--streams 50]
Target: p99 under 20 ms while the idle connections are held.
"""
import argparse
import http.client
import json
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/shopkeeper")
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--streams", type=int, default=50)  # per address: under --max-per-address
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = tempfile.mkdtemp(prefix="sk-idle-")
    db = os.path.join(work, "db")
    subprocess.run([a.bin, "demo", "--db", db], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    srv = subprocess.Popen([a.bin, "serve", "--listen", f"127.0.0.1:{port}", "--db", db,
                            "--log-level", "error"], stderr=None if os.environ.get("EDGE_LOG") else subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def call(method, path, token=None, body=None):
            h = {"Content-Type": "application/json"}
            if token:
                h["Authorization"] = "Bearer " + token
            c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else None)

        tok = call("POST", "/v1/sessions", body={"email": "admin@pike-pine.example",
                                                 "password": "shopkeeper-demo"})[1]["token"]
        sid = call("GET", "/v1/brands/pike-pine/stores")[1]["items"][0]["id"]
        scanner = call("POST", f"/v1/stores/{sid}/scanners", tok, {"name": "bench"})[1]["key"]
        st, d = call("POST", f"/v1/stores/{sid}/displays", tok, {"name": "bench"})
        if st != 201:
            raise SystemExit(f"creating a display answered {st}: {d}")
        display = d["key"]

        def measure_streams(n, address):
            """n display streams opened one after another from address and
            kept open (as displays do): the time from connect to the
            stream's first bytes for each; the sockets."""
            lat, socks = [], []
            for _ in range(n):
                t = time.perf_counter()
                s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                             source_address=(address, 0))
                socks.append(s)
                s.sendall((f"GET /v1/stores/{sid}/cards/stream HTTP/1.1\r\nHost: x\r\n"
                           f"Authorization: Bearer {display}\r\n\r\n").encode())
                got = b""
                while b"retry:" not in got:
                    chunk = s.recv(4096)
                    if not chunk:
                        raise SystemExit(f"the display stream ended: {got[:200]!r}")
                    got += chunk
                lat.append((time.perf_counter() - t) * 1000)
                if not got.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"the display stream answered {got[:40]!r}")
            return lat, socks

        def measure(n):
            lat = []
            for _ in range(n):
                batch = [{"eid": secrets.token_hex(8), "rssi": -70} for _ in range(10)]
                t = time.perf_counter()
                st, _ = call("POST", "/v1/sightings", scanner, {"sightings": batch})
                lat.append((time.perf_counter() - t) * 1000)
                if st != 202:
                    raise SystemExit(f"sightings answered {st}")
            return lat

        measure(50)  # warm up
        base = measure(a.requests)
        base_streams, open1 = measure_streams(a.streams, "127.0.0.3")
        held, refused = [], 0
        for _ in range(a.idle):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2,
                                             source_address=("127.0.0.2", 0))
                held.append(s)
            except OSError:
                refused += 1
        time.sleep(0.5)
        threads = int([l for l in open(f"/proc/{srv.pid}/status") if l.startswith("Threads:")][0].split()[1])
        # how many of ours the server still holds open
        alive = 0
        for s in held:
            s.setblocking(False)
            try:
                alive += s.recv(1) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        under = measure(a.requests)
        under_streams, open2 = measure_streams(a.streams, "127.0.0.4")
        for s in held + open1 + open2:
            s.close()
        print(f"== idle connections from one address, {os.cpu_count()} cores ==")
        print(f"127.0.0.2 opened {len(held)} of {a.idle} connections ({refused} refused at connect); "
              f"the server kept {alive} open; server threads {threads}")
        for name, lat in (("alone", base), ("while held", under)):
            print(f"sightings from 127.0.0.1 {name:>10}: p50 {statistics.median(lat):6.2f} ms   "
                  f"p99 {pct(lat, 99):6.2f} ms   max {max(lat):6.2f} ms   ({len(lat)} requests)")
        for name, lat in (("alone", base_streams), ("while held", under_streams)):
            print(f"display streams (new) {name:>10}: p50 {statistics.median(lat):6.2f} ms   "
                  f"p99 {pct(lat, 99):6.2f} ms   max {max(lat):6.2f} ms   ({len(lat)} opened)")
        ok = pct(under, 99) < 20 and pct(under_streams, 99) < 20
        print(f"target p99 < 20 ms while held: {'met' if ok else 'MISSED'} "
              f"(sightings {pct(under, 99) / max(pct(base, 99), 1e-9):.2f}x of alone, "
              f"streams {pct(under_streams, 99) / max(pct(base_streams, 99), 1e-9):.2f}x)")
        return 0 if ok else 1
    finally:
        srv.terminate()
        srv.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
