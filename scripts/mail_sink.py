#!/usr/bin/python3
"""A local SMTP sink for the demo and the tests: accepts every message on a
loopback port and writes each one, as received, to DIR/NNNNNN.eml (written
to a temporary name, then renamed, so a reader never sees half a message).
Nothing is relayed anywhere.

    python3 scripts/mail_sink.py --port 8025 --dir var/mail

Prints "mail sink listening on HOST:PORT" once it accepts connections, and
stops on SIGTERM or Ctrl-C. Needs Debian's python3-aiosmtpd.
"""
import argparse
import itertools
import os
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToDir:
    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        start = max((int(p.stem) for p in self.dir.glob("*.eml") if p.stem.isdigit()), default=0)
        self.seq = itertools.count(start + 1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.seq)
        final = self.dir / f"{n:06d}.eml"
        tmp = self.dir / f".{n:06d}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        os.replace(tmp, final)
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    ctl = Controller(SaveToDir(a.dir), hostname=a.host, port=a.port)
    ctl.start()
    print(f"mail sink listening on {a.host}:{a.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
