#!/usr/bin/env python3
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
"""
import argparse
import collections
import os
import socket
import threading
import time


def pump(src, dst, delay, window=0):
    """Copy src to dst, each chunk DELAY seconds after it was read, with at
    most WINDOW bytes held (0: no limit)."""
    queue = collections.deque()
    ready = threading.Condition()
    held = [0]
    acks = collections.deque()  # (when the sender would see it acknowledged, bytes)

    def reader():
        while True:
            with ready:
                while window and held[0] >= window:
                    now = time.monotonic()
                    while acks and acks[0][0] <= now:
                        held[0] -= acks.popleft()[1]
                    if held[0] >= window:
                        ready.wait(acks[0][0] - now if acks else None)
            try:
                data = src.recv(min(256 * 1024, window) if window else 256 * 1024)
            except OSError:
                data = b""
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
        if window:  # a window frees up a round trip after its bytes were sent
            with ready:
                acks.append((time.monotonic() + delay, len(data)))
                ready.notify_all()


def serve(conn, target_port, delay, window=0):
    try:
        up = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        conn.close()
        return
    for s in (conn, up):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if window:  # the kernel's buffers would widen the window
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    there = threading.Thread(target=pump, args=(conn, up, delay, window), daemon=True)
    there.start()
    pump(up, conn, delay, window)
    there.join()
    conn.close()
    up.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--window", type=int, default=0,
                    help="bytes in flight each way at most (0: no limit)")
    args = ap.parse_args()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.replace(args.port_file + ".tmp", args.port_file)
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve, args=(conn, args.target_port, args.delay_ms / 1000.0,
                                             args.window),
                         daemon=True).start()


if __name__ == "__main__":
    main()
