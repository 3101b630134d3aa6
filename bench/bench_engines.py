#!/usr/bin/env python3
"""PostgreSQL beside SQLite on the API's read and write paths (issue 12).

Starts `shopkeeper serve` on each engine in turn (SQLite in a temporary
file; PostgreSQL in the cluster that scripts/with-pg.sh provides: PGHOST and
the rest in the environment), seeds the same small chain through the API,
and drives four paths with wrk (keep-alive, 2 threads, 8 connections):

  member view      GET /v1/brands/{b}/members/{c}   (staff; writes the access log)
  portal brand     GET /v1/me/brands/{b}            (the shopper's own page)
  purchase write   POST /v1/brands/{b}/purchases    (a counter's sale)
  consent change   PUT /v1/me/brands/{b}            (grant / withdraw "offers", alternately)

Each path runs ROUNDS times per engine, the engines alternating, so both
meet the same noise on this shared 2-core machine; it prints requests per
second (median and range), p99 latency, and PostgreSQL's throughput as a
ratio of SQLite's. The client shares the two cores with the server (and, on
PostgreSQL, with the database server): the figures compare, they do not
measure capacity.

  scripts/with-pg.sh python3 bench/bench_engines.py --bin build/shopkeeper
"""
import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PATHS = ["member view", "portal brand", "purchase write", "consent change"]
CUSTOMERS = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token=None, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


class Server:
    def __init__(self, binary, engine, work):
        self.engine, self.work = engine, Path(work)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.op = "sk_boot_" + secrets.token_urlsafe(24)
        key = self.work / "master.key"
        key.write_text(secrets.token_hex(32) + "\n")
        if engine == "sqlite":
            db = ["--db", str(self.work / "shop.db")]
        else:
            name = "bench_" + secrets.token_hex(4)
            for n in (name, name + "_keys"):
                subprocess.run(["createdb", n], check=True)
            self.dbname = name
            db = ["--db", f"dbname={name}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEPER_")}
        env["SHOPKEEPER_BOOTSTRAP_TOKEN"] = self.op
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}", *db, "--master-key",
             str(key), "--log-level", "warn", "--signups-per-hour", "0",
             "--max-per-address", "0"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.work / "serve.log", "ab"))
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"{engine}: serve did not start; see {self.work}/serve.log")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        if self.engine == "postgresql":
            for n in (self.dbname, self.dbname + "_keys"):
                subprocess.run(["dropdb", "--force", n], check=False)


def seed(srv):
    """A brand, a store, an admin, a counter, an item, CUSTOMERS members."""
    b = call(srv.base, "POST", "/v1/brands", srv.op, {"name": "Bench Books", "slug": "bench"})
    st = call(srv.base, "POST", f"/v1/brands/{b['id']}/stores", srv.op,
              {"name": "High St", "timezone": "Europe/London", "city": "Leeds"})
    tokens = {}
    for role in ("admin", "counter"):
        pw = "pw-" + secrets.token_urlsafe(12)
        body = {"email": f"{role}@bench.test", "name": role, "role": role, "password": pw}
        if role == "counter":
            body["stores"] = [st["id"]]
        call(srv.base, "POST", f"/v1/brands/{b['id']}/staff", srv.op, body)
        tokens[role] = call(srv.base, "POST", "/v1/sessions", None,
                            {"email": body["email"], "password": pw})["token"]
    call(srv.base, "PUT", f"/v1/brands/{b['id']}/items/bk-1", tokens["admin"],
         {"title": "A Book", "category": "books"})
    customers = []
    for i in range(CUSTOMERS):
        c = call(srv.base, "POST", "/v1/customers", None,
                 {"name": f"Shopper {i}", "email": f"s{i}@bench.test",
                  "password": "pw-" + secrets.token_urlsafe(12)})
        call(srv.base, "PUT", f"/v1/me/brands/{b['id']}", c["token"],
             {"purposes": ["recognition", "preferences", "history"]})
        customers.append((c["id"], c["token"]))
    return {"brand": b["id"], "store": st["id"], "admin": tokens["admin"],
            "counter": tokens["counter"], "customers": customers}


LUA = r"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local ids = {%(ids)s}
local toks = {%(toks)s}
local n = 0
request = function()
  n = n + 1
  local i = (n %% #ids) + 1
  local kind = "%(kind)s"
  if kind == "member view" then
    return wrk.format("GET", "/v1/brands/%(brand)s/members/" .. ids[i],
      {["Authorization"] = "Bearer %(admin)s"})
  elseif kind == "portal brand" then
    return wrk.format("GET", "/v1/me/brands/%(brand)s", {["Authorization"] = "Bearer " .. toks[i]})
  elseif kind == "purchase write" then
    local body = '{"store":"%(store)s","customer":"' .. ids[i] ..
      '","lines":[{"sku":"bk-1","qty":1,"price":9.99}]}'
    return wrk.format("POST", "/v1/brands/%(brand)s/purchases",
      {["Authorization"] = "Bearer %(counter)s", ["Content-Type"] = "application/json",
       ["Idempotency-Key"] = "k-%(tag)s-" .. tostring(tid) .. "-" .. n}, body)
  else
    local p = (math.floor(n / #ids) %% 2 == 0) and ',"offers"' or ''
    return wrk.format("PUT", "/v1/me/brands/%(brand)s",
      {["Authorization"] = "Bearer " .. toks[i], ["Content-Type"] = "application/json"},
      '{"purposes":["recognition","preferences","history"' .. p .. ']}')
  end
end
local bad = 0
response = function(status, headers, body)
  if status >= 300 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("ERRORS %%d\n", summary.errors.status))
end
"""


def run_wrk(srv, world, kind, seconds, tag):
    script = srv.work / "bench.lua"
    ids = ",".join(f'"{c}"' for c, _ in world["customers"])
    toks = ",".join(f'"{t}"' for _, t in world["customers"])
    script.write_text(LUA % {"ids": ids, "toks": toks, "kind": kind, "brand": world["brand"],
                             "store": world["store"], "admin": world["admin"],
                             "counter": world["counter"], "tag": tag})
    p = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", str(script),
                        srv.base], capture_output=True, text=True, timeout=seconds + 60)
    got = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
    if not got:
        raise SystemExit(f"wrk failed on {kind}:\n{p.stdout}\n{p.stderr}")
    rps = float(got.group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", p.stdout)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    bad = int(re.search(r"Non-2xx or 3xx responses:\s+(\d+)", p.stdout).group(1)) \
        if "Non-2xx" in p.stdout else 0
    return rps, p99, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/shopkeeper")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench_engines: wrk is not installed (scripts/install-deps.sh --bench)")
    if not os.environ.get("PGHOST") and not os.environ.get("PGPORT"):
        raise SystemExit("bench_engines: run inside scripts/with-pg.sh (no PostgreSQL here)")
    binary = str(Path(a.bin).resolve())
    print(f"== PostgreSQL beside SQLite: {len(PATHS)} API paths, wrk 2 threads x 8 "
          f"connections, {a.seconds} s x {a.rounds} rounds each, engines alternating, "
          f"{os.cpu_count()} cores shared by client, server and database ==")
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        servers = {}
        for engine in ("sqlite", "postgresql"):
            work = Path(tmp) / engine
            work.mkdir()
            srv = Server(binary, engine, work)
            servers[engine] = (srv, seed(srv))
        res = {(e, k): [] for e in servers for k in PATHS}
        failed = 0
        try:
            for kind in PATHS:
                for r in range(a.rounds):
                    for engine in ("sqlite", "postgresql") if r % 2 == 0 else \
                            ("postgresql", "sqlite"):
                        srv, world = servers[engine]
                        rps, p99, bad = run_wrk(srv, world, kind, a.seconds, f"{engine}{r}")
                        failed += bad
                        res[(engine, kind)].append((rps, p99))
        finally:
            for srv, _ in servers.values():
                srv.stop()
    print(f"\n{'path':16} {'SQLite req/s (range)':>24} {'p99 ms':>7}   "
          f"{'PostgreSQL req/s (range)':>26} {'p99 ms':>7}   {'PG/SQLite':>9}")
    for kind in PATHS:
        cols = []
        for engine in ("sqlite", "postgresql"):
            runs = res[(engine, kind)]
            rps = [x[0] for x in runs]
            cols.append((statistics.median(rps), min(rps), max(rps),
                         statistics.median(x[1] for x in runs)))
        (sm, slo, shi, sp), (pm, plo, phi, pp) = cols
        print(f"{kind:16} {sm:9.0f} ({slo:6.0f}-{shi:6.0f}) {sp:7.1f}   "
              f"{pm:11.0f} ({plo:6.0f}-{phi:6.0f}) {pp:7.1f}   {pm / sm:9.2f}")
    if failed:
        print(f"\n{failed} responses were not 2xx: the figures above are not valid")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
