#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""delay_proxy.py -- a TCP forwarder that adds a fixed delay each way.

    python3 tests/lib/delay_proxy.py --target-port 2222 --delay-ms 15 --port-file F

Listens on a free loopback port (written to --port-file), forwards every
connection to 127.0.0.1:TARGET_PORT, and holds each chunk of bytes
DELAY_MS before passing it on, in both directions: a round trip through it
takes 2 x DELAY_MS longer.  bench/bench.sh and the SFTP tests put it between the builtin (or
OpenSSH's sftp) and sshd to show how SFTP transfers behave on a link with
latency, where the number of requests in flight decides the speed; on bare
loopback the CPU does.  (tc netem would do this in the kernel, but it needs
the sch_netem module, which containers often lack.)

It reads as fast as the sender writes, so it adds latency without limiting
bandwidth: what it measures is the application's own pipelining, which is
what the SFTP request windows control.

With --window BYTES it keeps at most BYTES in flight each way -- read and
not yet "acknowledged", a delay after it was passed on -- and keeps the
kernel's socket buffers small, as a TCP window of that size would on a real
link: one connection then carries at most BYTES per round trip, which is
what several parallel connections (download --parallel) overcome.

For the tests of parallel SFTP (none of these is on by default):
  --rate-kib R        each direction of each connection moves at most R KiB/s
  --max-connections K connections beyond K open at once are closed at once
                      (as sshd's MaxStartups refuses one: before the banner)
  --drop-conn M --drop-after B
                      the M-th connection (1-based) is cut after B bytes
                      have gone from the server to the client
  SIGUSR1             connections accepted from then on have no rate limit
                      (the call that resumes after a fault, at full speed
                      through the same port); PORT_FILE.unslowed says so

To count what crosses the link (the tests of what a transfer moves):
  --count-file F      F holds "DOWN UP\n", the bytes passed on so far from
                      the server to the client and back, over every
                      connection, rewritten (atomically) every 20 ms
"""
import argparse
import collections
import os
import signal
import socket
import threading
import time

# bytes passed on: [server to client, client to server], under COUNT_LOCK
COUNTED = [0, 0]
COUNT_LOCK = threading.Lock()


def count_writer(path):
    """Rewrite PATH with COUNTED every 20 ms (and only when it changed)."""
    last = None
    while True:
        with COUNT_LOCK:
            now = tuple(COUNTED)
        if now != last:
            with open(path + ".tmp", "w") as f:
                f.write("%d %d\n" % now)
            os.replace(path + ".tmp", path)
            last = now
        time.sleep(0.02)


def pump(src, dst, delay, window=0, rate=0, cut_after=None, way=0):
    """Copy src to dst, each chunk DELAY seconds after it was read, with at
    most WINDOW bytes held (0: no limit), at most RATE bytes/s (0: no
    limit); with CUT_AFTER, both sockets are shut down once that many bytes
    went through.  What dst accepted counts in COUNTED[WAY]."""
    queue = collections.deque()
    ready = threading.Condition()
    held = [0]
    acks = collections.deque()  # (when the sender would see it acknowledged, bytes)

    step = min(256 * 1024, window) if window else 256 * 1024
    if rate:
        step = min(step, max(1024, rate // 20))

    def reader():
        moved = 0
        while True:
            with ready:
                while window and held[0] >= window:
                    now = time.monotonic()
                    while acks and acks[0][0] <= now:
                        held[0] -= acks.popleft()[1]
                    if held[0] >= window:
                        ready.wait(acks[0][0] - now if acks else None)
            try:
                data = src.recv(step)
            except OSError:
                data = b""
            if data and cut_after is not None and moved + len(data) >= cut_after:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                data = b""
            moved += len(data)
            if data and rate:
                time.sleep(len(data) / rate)
            with ready:
                queue.append((time.monotonic() + delay, data))
                held[0] += len(data)
                ready.notify_all()
            if not data:
                return

    threading.Thread(target=reader, daemon=True).start()
    while True:
        with ready:
            while not queue:
                ready.wait()
            due, data = queue.popleft()
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if not data:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        try:
            dst.sendall(data)
        except OSError:
            return
        with COUNT_LOCK:
            COUNTED[way] += len(data)
        if window:  # a window frees up a round trip after its bytes were sent
            with ready:
                acks.append((time.monotonic() + delay, len(data)))
                ready.notify_all()


def serve(conn, target_port, delay, window=0, rate=0, cut_after=None, done=None):
    try:
        up = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        conn.close()
        if done:
            done()
        return
    for s in (conn, up):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if window:  # the kernel's buffers would widen the window
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    there = threading.Thread(target=pump, args=(conn, up, delay, window, rate, None, 1), daemon=True)
    there.start()
    pump(up, conn, delay, window, rate, cut_after, 0)
    there.join()
    conn.close()
    up.close()
    if done:
        done()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--window", type=int, default=0,
                    help="bytes in flight each way at most (0: no limit)")
    ap.add_argument("--rate-kib", type=int, default=0)
    ap.add_argument("--max-connections", type=int, default=0)
    ap.add_argument("--drop-conn", type=int, default=0)
    ap.add_argument("--drop-after", type=int, default=0)
    ap.add_argument("--count-file")
    args = ap.parse_args()
    if args.count_file:
        threading.Thread(target=count_writer, args=(args.count_file,), daemon=True).start()
    live = [0]
    count = [0]
    lock = threading.Lock()

    def done():
        with lock:
            live[0] -= 1
    rate = [args.rate_kib * 1024]

    def unslow(signum, frame):
        rate[0] = 0
        with open(args.port_file + ".unslowed", "w"):
            pass
    signal.signal(signal.SIGUSR1, unslow)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.replace(args.port_file + ".tmp", args.port_file)
    while True:
        conn, _ = lsock.accept()
        with lock:
            count[0] += 1
            refuse = args.max_connections and live[0] >= args.max_connections
            if not refuse:
                live[0] += 1
        if refuse:
            conn.close()
            continue
        cut = args.drop_after if args.drop_conn == count[0] else None
        threading.Thread(target=serve, args=(conn, args.target_port, args.delay_ms / 1000.0,
                                             args.window, rate[0], cut, done),
                         daemon=True).start()


if __name__ == "__main__":
    main()
