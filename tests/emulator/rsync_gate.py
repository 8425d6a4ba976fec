#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The forced command of the rpc dialect's per-transfer sshd (rrsync-like).

    rsync_gate.py DATA_DIR

sshd runs it for every session of the request's key, with the client's
command in SSH_ORIGINAL_COMMAND.  Only `rsync --server ...` runs, and only
on paths under /data, which stand for DATA_DIR (the request's own
directory): /data -> DATA_DIR, /data/x -> DATA_DIR/x.  Anything else (a
shell, scp, sftp, a path outside /data, a ".." component, a daemon) is
refused with exit 1 and a line on stderr, which ssh hands to the client.
Standard library only; no shell is involved after sshd's own `sh -c`.
"""

import os
import shlex
import sys

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


def main():
    if len(sys.argv) != 2:
        refuse("usage: rsync_gate.py DATA_DIR")
    root = os.path.abspath(sys.argv[1])
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
    os.execvp("rsync", out)


if __name__ == "__main__":
    main()
