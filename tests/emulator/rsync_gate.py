#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The forced command of the rpc dialect's per-transfer sshd (rrsync-like).

    rsync_gate.py [--relay RATE COUNT_FILE] DATA_DIR

sshd runs it for every session of the request's key, with the client's
command in SSH_ORIGINAL_COMMAND.  Only `rsync --server ...` runs, and only
on paths under /data, which stand for DATA_DIR (the request's own
directory): /data -> DATA_DIR, /data/x -> DATA_DIR/x.  Anything else (a
shell, scp, sftp, a path outside /data, a ".." component, a daemon) is
refused with exit 1 and a line on stderr, which ssh hands to the client.
Standard library only; no shell is involved after sshd's own `sh -c`.

With --relay (the emulator's transfer_rate setting), rsync's stdin and
stdout pass through this process instead of being the session's own: at
most RATE bytes a second each way (0: no limit), so that a test can stop
a transfer half-way without racing it, and the bytes that crossed each
way are appended to COUNT_FILE as "IN OUT" when the session ends (also
when it is ended by SIGTERM or SIGHUP): what a re-run really resent.
"""

import os
import shlex
import signal
import subprocess
import sys
import threading
import time

DATA = "/data"
# options that name a file or directory of their own (they would reach
# outside /data, as rrsync also refuses them), or start a daemon
PATH_OPTIONS = ("--daemon", "--config", "--log-file", "--temp-dir",
                "--partial-dir", "--backup-dir", "--compare-dest",
                "--copy-dest", "--link-dest", "--files-from",
                "--include-from", "--exclude-from", "--write-batch",
                "--read-batch", "--only-write-batch", "--write-devices")


def refuse(why):
    sys.stderr.write("emulator gate: %s\n" % why)
    sys.exit(1)


def map_path(arg, root):
    """/data[/rest] -> root[/rest]; None for anything else."""
    if arg != DATA and not arg.startswith(DATA + "/"):
        return None
    rest = arg[len(DATA):].lstrip("/")
    if any(part == ".." for part in rest.split("/")):
        return None
    return os.path.join(root, rest) if rest else root + "/"


def pump(src, dst, rate, counts, i):
    """Copy SRC to DST at most RATE bytes a second (0: as fast as it
    comes), counting into COUNTS[i]; both are closed at SRC's end or when
    DST is gone (so that rsync's writes to a vanished client fail, as
    they would without the relay, instead of blocking for ever)."""
    chunk = 65536 if not rate else max(512, min(65536, rate // 20))
    start = time.monotonic()
    try:
        while True:
            data = os.read(src, chunk)
            if not data:
                break
            view = memoryview(data)
            while view:
                n = os.write(dst, view)
                view = view[n:]
            counts[i] += len(data)
            if rate:
                ahead = counts[i] / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        pass
    for fd in (src, dst):
        try:
            os.close(fd)
        except OSError:
            pass


def relay(argv, rate, count_file):
    """Run ARGV with its stdin and stdout through pump(); exit with its
    status after appending the byte counts to COUNT_FILE."""
    counts = [0, 0]
    for fd in (0, 1):   # the session's ends may come non-blocking
        os.set_blocking(fd, True)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, bufsize=0)
    done = threading.Event()

    def record():
        if done.is_set():
            return
        done.set()
        with open(count_file, "a") as f:
            f.write("%d %d\n" % (counts[0], counts[1]))

    def on_signal(sig, _frame):
        record()
        proc.terminate()
        os._exit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    fin = os.dup(proc.stdin.fileno())
    fout = os.dup(proc.stdout.fileno())
    proc.stdin.close()
    proc.stdout.close()
    t_in = threading.Thread(target=pump, args=(0, fin, rate, counts, 0),
                            daemon=True)
    t_out = threading.Thread(target=pump, args=(fout, 1, rate, counts, 1),
                             daemon=True)
    t_in.start()
    t_out.start()
    rc = proc.wait()
    t_out.join()
    record()
    os._exit(rc if rc >= 0 else 128 - rc)


def main():
    args = sys.argv[1:]
    rate = count_file = None
    if args[:1] == ["--relay"] and len(args) == 4:
        rate, count_file, args = int(args[1]), args[2], args[3:]
    if len(args) != 1:
        refuse("usage: rsync_gate.py [--relay RATE COUNT_FILE] DATA_DIR")
    root = os.path.abspath(args[0])
    cmd = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    try:
        argv = shlex.split(cmd)
    except ValueError:
        refuse("unparsable command")
    if argv[:2] != ["rsync", "--server"]:
        refuse("only rsync --server may run here")
    if any(a.startswith(PATH_OPTIONS) for a in argv):
        refuse("an option that names a path or a daemon is refused")
    # rsync's server argv: options, then ".", then the paths
    try:
        dot = argv.index(".", 2)
    except ValueError:
        refuse("no path list in the rsync command")
    out = argv[:dot + 1]
    for arg in argv[dot + 1:]:
        mapped = map_path(arg, root)
        if mapped is None:
            refuse("path outside /data refused: %r" % arg)
        out.append(mapped)
    if len(out) == dot + 1:
        refuse("no path given")
    os.chdir(root)
    if rate is not None:
        relay(out, rate, count_file)
    os.execvp("rsync", out)


if __name__ == "__main__":
    main()
