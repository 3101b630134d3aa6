#!/usr/bin/env python3
"""
bench_wal.py — does the SQLite write-ahead log stay bounded under sustained
writes?

Starts the real `shopkeeper serve` on a fresh demo database and, from this
second process over loopback, posts ~RATE purchases a second (1-4 lines, an
Idempotency-Key each, half of them for a member) for SECONDS, paced from
several keep-alive connections. Each second it samples the size of the WAL
files (the database's and the key store's). Prints the largest and final WAL
size, the achieved write rate, the write latency p50/p99 (send to answer, 2xx
only), the errors, and how long the server then takes to stop and start
again on those files.

  bench/bench_wal.py [--seconds 600] [--rate 500] [--threads 8]
                     [--sync NORMAL|FULL] [--bin build/shopkeeper] [--quiet]

Target (issue 11): WAL under 64 MB after 10 minutes of ~500 purchases/s.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from crash_trials import REPO, Loader, Server  # noqa: E402

TARGET_MB = 64


def wal_bytes(db):
    n = 0
    for p in (f"{db}-wal", f"{db}.keys-wal"):
        try:
            n += os.path.getsize(p)
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--sync", default="NORMAL", choices=["NORMAL", "FULL"])
    ap.add_argument("--bin", default=str(REPO / "build" / "shopkeeper"))
    ap.add_argument("--quiet", action="store_true", help="no line per 10 s")
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="bench-wal-"))
    try:
        s = Server(a.bin, d, a.sync)
        s.demo()
        s.start()
        shop = s.setup()
        ld = Loader(s, shop, rate=a.rate, threads=a.threads, kinds={"purchase": 1})
        ld.add_members(20)
        print(f"WAL under sustained writes: {a.rate:.0f} purchases/s for {a.seconds:.0f} s, "
              f"synchronous={a.sync}, {a.threads} connections, {os.cpu_count()} cores")
        wal_max = 0
        t0 = time.monotonic()
        ld.start()
        last_print = 0
        prev_n = 0
        while (el := time.monotonic() - t0) < a.seconds:
            time.sleep(min(1.0, a.seconds - el))
            w = wal_bytes(s.db)
            wal_max = max(wal_max, w)
            now = time.monotonic() - t0
            if not a.quiet and now - last_print >= 10:
                n = len(ld.latencies)
                print(f"  {now:6.0f} s  WAL {w / 2**20:7.1f} MB  (max {wal_max / 2**20:.1f})  "
                      f"{(n - prev_n) / (now - last_print):6.0f} writes/s", flush=True)
                last_print, prev_n = now, n
        ld.join()
        elapsed = time.monotonic() - t0
        w_final = wal_bytes(s.db)
        wal_max = max(wal_max, w_final)
        db_mb = os.path.getsize(s.db) / 2**20
        t1 = time.monotonic()
        rc = s.stop()
        stop_s = time.monotonic() - t1
        w_stopped = wal_bytes(s.db)
        restart = s.start()
        s.stop()
        ok = len(ld.latencies)
        errs = ", ".join(f"{k}: {v}" for k, v in sorted(ld.errors.items(), key=str)) or "none"
        print(f"  writes             {ok} acknowledged in {elapsed:.0f} s = {ok / elapsed:.0f}/s "
              f"(asked {a.rate:.0f}/s); errors: {errs}")
        print(f"  write latency      p50 {ld.p(0.5):.2f} ms, p99 {ld.p(0.99):.2f} ms, "
              f"max {ld.p(1.0):.1f} ms")
        print(f"  database           {db_mb:.1f} MB after the run")
        print(f"  WAL                max {wal_max / 2**20:.1f} MB, final {w_final / 2**20:.1f} MB, "
              f"after a clean stop {w_stopped / 2**20:.1f} MB   (target < {TARGET_MB} MB)   "
              f"{'ok' if wal_max < TARGET_MB * 2**20 else 'MISSED'}")
        print(f"  restart            stop {stop_s * 1000:.0f} ms (exit {rc}), start to /healthz "
              f"{restart * 1000:.0f} ms")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
