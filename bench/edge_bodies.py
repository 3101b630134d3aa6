#!/usr/bin/env python3
"""
edge_bodies.py — resident memory of `shopkeeper serve` while 600
unauthenticated clients hold 1 MiB request bodies open (issue 11).

Each client sends headers announcing a 1 MiB body and then trickles a byte
now and then (or stalls), to one of: POST /v1/sessions (public, a small
limit), POST /v1/sightings without a token, POST /v1/customers chunked
(no Content-Length to judge by). The server's VmRSS and VmHWM (peak) are
read from /proc while they are held, and printed with the core count.

usage: bench/edge_bodies.py [--bin build/shopkeeper] [--clients 600] [--hold 8]
Target: resident memory under 128 MB.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

MIB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mem_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                  "shopkeeper"))
    ap.add_argument("--clients", type=int, default=600)
    ap.add_argument("--hold", type=float, default=8.0, help="seconds to hold the bodies open")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="sk-edge-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEPER_")}
    args = [a.bin, "serve", "--listen", f"127.0.0.1:{port}", "--db", os.path.join(work, "db"),
            "--log-level", "warn"]
    helptext = subprocess.run([a.bin, "serve", "--help"], capture_output=True, text=True).stdout
    if "--max-per-address" in helptext:  # (a build before issue 11 has none of these)
        args += ["--max-per-address", "0", "--header-timeout", "60", "--body-timeout", "60"]
    srv = subprocess.Popen(args,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    socks = []
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.3)
        base = mem_kb(srv.pid)
        kinds = [
            (b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: %d\r\n\r\n" % MIB),
            (b"POST /v1/sightings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: %d\r\n\r\n" % MIB),
            (b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n"),
        ]
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"  # 64 KiB chunks for the chunked ones
        for i in range(a.clients):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            k = i % 3
            try:
                s.send(kinds[k])
                s.send(b"{" if k < 2 else chunk)
            except OSError:
                pass
            socks.append((k, s))
        # trickle: the chunked ones push 1 MiB each over the hold, the others a byte
        t_end = time.monotonic() + a.hold
        peak = base
        sent_chunks = 0
        while time.monotonic() < t_end:
            for k, s in socks:
                try:
                    s.send(chunk if (k == 2 and sent_chunks < 16) else b" ")
                except OSError:
                    pass
            sent_chunks += 1
            m = mem_kb(srv.pid)
            if m["VmRSS"] > peak["VmRSS"]:
                peak = m
            time.sleep(a.hold / 20)
        end = mem_kb(srv.pid)
        answered = 0
        for _, s in socks:
            try:
                if s.recv(64):
                    answered += 1
            except OSError:
                pass
        print(f"edge_bodies: {a.clients} unauthenticated clients, 1 MiB bodies held "
              f"{a.hold:.0f} s, {os.cpu_count()} cores")
        print(f"  resident at start   {base['VmRSS'] / 1024:7.1f} MB")
        print(f"  resident, highest sampled while held {peak['VmRSS'] / 1024:7.1f} MB "
              f"({peak['Threads']} threads)")
        print(f"  resident at end     {end['VmRSS'] / 1024:7.1f} MB; peak (VmHWM) "
              f"{end['VmHWM'] / 1024:.1f} MB")
        print(f"  clients answered (401/413) while holding their body open: {answered}")
        ok = end["VmHWM"] < 128 * 1024
        print(f"  target: resident under 128 MB: {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        for _, s in socks:
            s.close()
        srv.terminate()
        srv.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
