#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Loopback emulator of the database upgrade platform's HTTP API.

It implements the methods described in upgrade-api.rst (create, upload,
request_sftp_access, process, skip_test, status) plus the download URLs that
the status method hands out, and a small admin API under /_emulator/ that
tests use to inject faults and read counters.  Standard library only.

Usage:
    upgrade_emulator.py --data-dir DIR [--cert PEM --key PEM | --plain]
        [--port 0] [--port-file FILE]
        [--sftp-root DIR --sftp-port N --sftp-host 127.0.0.1
         --authorized-keys FILE]
        [--pending-seconds 0.3] [--progress-seconds 0.3]
        [--idle-timeout 30]

Behaviour worth knowing in tests:
  * keys contain '+' and '/' (clients must URL-encode them); ids start near
    10534 and increase; requests are persisted under --data-dir, so a restart
    on the same port and data dir keeps them.
  * process: draft -> pending (--pending-seconds) -> progress
    (--progress-seconds) -> done, computed from timestamps when asked;
    "fail" in the filename ends it "failed"; skip_test makes it "delivered".
  * downloads: upgraded/archive = b"UPGRADED TO <target>\n" + original,
    upgraded/sql = b"-- upgraded sql for <target>\n" + original,
    original/sql = b"-- original sql\n" + original, original/archive =
    original, modules/archive = an empty zip, upgraded/notes = HTML; Range,
    ETag and If-Range supported.  With SFTP, <sftp-root>/<id>/upgraded_<file>
    holds the same bytes as upgraded/archive once done.
  * an uploaded custom-format dump (it starts with PGDMP), when pg_restore
    is on the PATH, is "upgraded" for real: upgraded/archive (and the SFTP
    upgraded_<file>) is then a zip like the platform's, dump.sql (pg_restore
    -f - of the upload, plus SQL that sets every ir_module_module's
    latest_version to '<target>.1.0' and adds an ir_attachment row) and
    filestore/<sha1[:2]>/<sha1>, that attachment's file.

Admin API (no auth, same server):
    POST /_emulator/faults     {"method": M, "fault": F, "count": N,
                                "skip": K, "after_bytes": B, "delay": S,
                                "size": BYTES, "wait_first": W}
        M: create upload request_sftp_access process skip_test status
           download (any /database/eu1/... URL) or * (all of those)
        F: http500 http503 http404 badjson truncated wrongshape server_error
           drop slow huge.  The next N matching requests (after letting K
           pass) get the fault.  drop: close the connection without an answer
           after reading B body bytes (downloads: after sending headers and
           B body bytes, W seconds after the headers: default 0).  slow: sleep S seconds (default 2) then answer
           normally (downloads: between headers and body).  huge: 200 with a
           valid JSON body of BYTES bytes (default 1 MiB).
    GET  /_emulator/faults     pending faults
    POST /_emulator/downloads  {"max_concurrent": K, "rate": BYTES}: a
                               download asked while K others are being
                               served gets a 503 (Retry-After: 1) -- a
                               server that refuses extra range streams;
                               each answer's body is sent at most RATE
                               bytes a second.  0 or absent: no limit.
                               Cleared by reset.
    POST /_emulator/reset      clear faults and download limits
                               ({"stats": true} also zeroes stats)
    GET  /_emulator/stats      {"connections": TCP connections accepted,
                                "api_connections": connections that carried
                                at least one API/download request,
                                "tls_handshake_failures", "tls_resumed",
                                "download_bytes": body bytes of downloads
                                   sent, "download_ranges": 206 answers,
                                   "download_stale": range requests whose
                                   If-Range named another version,
                                   "download_whole": 200 answers of a file,
                                   "download_refused": 503s of the limit,
                                   "download_concurrent_max": most served
                                   at once, "downloads_now": being served,
                                "requests": {method: count},
                                "uploads": {id: {"bytes", "content_type",
                                   "query_keys", "chunked", "expect"}},
                                "last": {method: {"verb", "headers",
                                   "query_keys"}}}
    POST /_emulator/set_state  {"request": ID, "state": S}; forced states are
                               sticky (a forced "pending" never advances);
                               done/delivered write the upgraded files (an
                               empty original is assumed if none was sent)
    GET  /_emulator/requests   internal view of every request (keys included)
    POST /_emulator/download_port  {"port": N}: the port of the *_url fields
                               status gives from now on (a latency proxy in
                               front of this server); {"port": null}: ours
    POST /_emulator/sftp_port  {"port": N}: the sftp_port request_sftp_access
                               announces from now on (bench/ points it at a
                               proxy that adds latency in front of sshd)

Request states advance lazily from timestamps: no background threads.

The platform's other dialect, JSON-RPC under /upgrade/request/ (tokens,
transfers by rsync over a per-transfer sshd, logs by byte range), is served
by the same process: rpc_dialect.py (its endpoints, faults "rpc/M" and
/_emulator/rpc* controls), rpc_upgrade.py (its upgraded directory dump) and
rsync_gate.py (the sshd's forced command).  --rpc-host (default localhost)
is the bare host it assigns; --transfer-timeout (default 300 s) stops a
transfer's sshd that nobody stopped.
"""

import argparse
import base64
import datetime
import email.message
import email.parser
import email.policy
import email.utils
import getpass
import hmac
import http.server
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import zipfile

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpc_dialect  # noqa: E402  (the rpc dialect: rpc_dialect.py's doc)
import rpc_upgrade  # noqa: E402  (the upgrade both dialects apply)
import record  # noqa: E402  (a request as both dialects keep it)

TARGETS = ["6.0", "6.1", "7.0", "8.0", "9.0", "10.0", "11.0", "12.0",
           "13.0", "14.0", "15.0", "16.0", "17.0"]
AIMS = ["test", "production"]
API_METHODS = ("create", "upload", "request_sftp_access", "process",
               "skip_test", "status")
FAULTS = ("http500", "http503", "http404", "badjson", "truncated",
          "wrongshape", "server_error", "drop", "slow", "huge")
FAULT_METHODS = API_METHODS + ("download", "*")
FINAL_OK = ("done", "delivered")
CHUNK = 1 << 20                 # streaming chunk for uploads/downloads
MAX_FORM_BODY = 8 << 20         # non-upload bodies are read into memory
CONTRACT_RE = re.compile(r"^M\d+-[A-Za-z0-9]+$")
KEYTYPE_RE = re.compile(
    r"^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+)"
    r"(@openssh\.com)?$")
B64_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
MODULES_ARCHIVE = b"PK\x05\x06" + b"\x00" * 18   # an empty zip file

# ----------------------------------------------------------------- helpers


def now_str(ts=None):
    if ts is None:
        ts = time.time()
    return datetime.datetime.fromtimestamp(
        ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def human_size(n):
    if n is None:
        return None
    if n < 1024 * 1024:
        return "%.2f Kb" % (n / 1024.0)
    if n < 1024 * 1024 * 1024:
        return "%.2f Mb" % (n / 1024.0 / 1024.0)
    return "%.2f Gb" % (n / 1024.0 / 1024.0 / 1024.0)


def mmss(seconds):
    seconds = max(0, int(seconds))
    return "%02d:%02d" % (seconds // 60, seconds % 60)


def new_key():
    while True:
        k = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
        if "+" in k and "/" in k:
            return k


_MASK_QUERY = re.compile(r"((?:^|[?&;\s'\"])(?:key|token)=)[^&\s'\"]*")
_MASK_PATH = re.compile(r"(/database/[^/\s]+/\d+/)[^/\s?]+")


def mask(text):
    text = _MASK_QUERY.sub(r"\1***", text)
    return _MASK_PATH.sub(r"\1***", text)


def log(msg):
    try:
        sys.stderr.write("[emulator %s] %s\n" % (
            time.strftime("%H:%M:%S"), mask(msg)))
        sys.stderr.flush()
    except Exception:
        pass


def failure(reason, message, **extra):
    d = {"reason": reason, "message": message}
    d.update(extra)
    return d


def state_failure(r_state, expected):
    return failure("REQUEST:STATE",
                   "Invalid state \"%s\" for this action" % r_state,
                   value=r_state, expected=list(expected))


class ClientGone(Exception):
    """The client closed the connection in the middle of a body."""


class BadRequest(Exception):
    pass


class DropConnection(Exception):
    """Raised to close the TCP connection without (further) response."""


def parse_ssh_keys(data):
    """Return (keys, error) for an authorized_keys-like file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the file is not UTF-8 text"
    keys = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        fields = s.split(None, 2)
        ok = len(fields) >= 2 and KEYTYPE_RE.match(fields[0]) \
            and B64_RE.match(fields[1])
        if ok:
            try:
                blob = base64.b64decode(fields[1], validate=True)
                tlen = int.from_bytes(blob[:4], "big")
                ok = blob[4:4 + tlen] == fields[0].encode()
            except Exception:
                ok = False
        if not ok:
            return None, "line %d is not a public key" % n
        comment = fields[2] if len(fields) > 2 else ""
        comment = "".join(c for c in comment if c.isprintable())
        keys.append(" ".join(x for x in (fields[0], fields[1], comment) if x))
    if not keys:
        return None, "no public key found"
    return keys, None


def parse_multipart(body, ctype_header):
    """Minimal multipart/form-data parser: {name: (filename, bytes)}."""
    msg = email.message.Message()
    msg["Content-Type"] = ctype_header
    boundary = msg.get_param("boundary")
    if not boundary:
        raise BadRequest("multipart body without boundary")
    delim = b"\r\n--" + boundary.encode("latin-1")
    out = {}
    chunks = (b"\r\n" + body).split(delim)
    for part in chunks[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest("malformed multipart part")
        hmsg = email.parser.BytesHeaderParser(
            policy=email.policy.compat32).parsebytes(head + b"\r\n\r\n")
        name = hmsg.get_param("name", header="content-disposition")
        fname = hmsg.get_param("filename", header="content-disposition")
        if name is None:
            continue
        if isinstance(name, tuple):
            name = email.utils.collapse_rfc2231_value(name)
        out[name] = (fname, data)
    return out


# ------------------------------------------------------------------ model


class Req(record.Record):
    FIELDS = ("id", "key", "email", "target", "aim", "filename", "timezone",
              "state", "issue", "created_at", "proc_start", "skip",
              "done_at", "size", "upload_source", "uploaded_at",
              "customer_message")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.skip = bool(self.skip)


class Emulator:
    def __init__(self, args):
        self.args = args
        self.data_dir = os.path.abspath(args.data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        self.sftp_root = os.path.abspath(args.sftp_root) \
            if args.sftp_root else None
        self.lock = threading.RLock()
        self.requests = {}
        self.faults = []
        self.download_limits = {}
        self.downloads_now = 0
        self.download_port = None
        self.scheme = "http" if args.plain else "https"
        self.port = None
        self.next_id = 10534 + random.randint(0, 400)
        self.reset_stats()
        self.load()
        self.rpc = rpc_dialect.Rpc(self, log, parse_ssh_keys)

    # ---- persistence (so a restarted emulator keeps its requests)
    def req_dir(self, rid):
        return os.path.join(self.data_dir, str(rid))

    def original_path(self, r):
        return os.path.join(self.req_dir(r.id), "original")

    def save(self, r):
        d = self.req_dir(r.id)
        os.makedirs(d, exist_ok=True)
        r.save(d)

    def load(self):
        for name in os.listdir(self.data_dir):
            p = os.path.join(self.data_dir, name, "request.json")
            if name.isdigit() and os.path.isfile(p):
                try:
                    with open(p) as f:
                        r = Req(**json.load(f))
                except Exception as e:
                    log("cannot load %s: %s" % (p, e))
                    continue
                self.requests[r.id] = r
                self.next_id = max(self.next_id, r.id + 1)

    def reset_stats(self):
        with self.lock:
            self.stats = {"connections": 0, "api_connections": 0,
                          "tls_handshake_failures": 0, "tls_resumed": 0,
                          "download_bytes": 0, "download_ranges": 0,
                          "download_stale": 0, "download_whole": 0,
                          "download_refused": 0,
                          "download_concurrent_max": 0,
                          "requests": {}, "uploads": {}, "last": {}}

    # ---- faults
    def add_fault(self, spec):
        if str(spec.get("method", "")).startswith("rpc/"):
            try:
                return self.rpc.add_fault(spec)
            except ValueError as e:
                raise BadRequest(str(e))
        method = spec.get("method", "*")
        fault = spec.get("fault")
        if method not in FAULT_METHODS:
            raise BadRequest("unknown method %r (one of %s)" %
                             (method, ", ".join(FAULT_METHODS)))
        if fault not in FAULTS:
            raise BadRequest("unknown fault %r (one of %s)" %
                             (fault, ", ".join(FAULTS)))
        f = {"method": method, "fault": fault,
             "count": int(spec.get("count", 1)),
             "skip": int(spec.get("skip", 0)),
             "after_bytes": int(spec.get("after_bytes", 0)),
             "delay": float(spec.get("delay", 2.0)),
             "size": int(spec.get("size", 1 << 20)),
             "wait_first": float(spec.get("wait_first", 0))}
        with self.lock:
            self.faults.append(f)
        return f

    def take_fault(self, method, wildcard="*"):
        """The next fault queued for METHOD or WILDCARD (v1's "*" never
        names an rpc method: those are "rpc/M", wildcard "rpc/*")."""
        with self.lock:
            for f in self.faults:
                if f["method"] not in (method, wildcard):
                    continue
                if f["skip"] > 0:
                    f["skip"] -= 1
                    return None
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return dict(f)
        return None

    # ---- requests
    def lookup(self, params):
        """Return (req, failures) from the request/key parameters."""
        fails = []
        rid = params.get("request", "")
        key = params.get("key", "")
        if rid == "":
            fails.append(failure("REQUEST:MISSING",
                                 "Missing parameter \"request\"",
                                 value="request"))
        if key == "":
            fails.append(failure("KEY:MISSING",
                                 "Missing parameter \"key\"", value="key"))
        if fails:
            return None, fails
        r = self.find(rid, key)
        if r is None:
            return None, [failure("REQUEST:NOT_FOUND",
                                  "Can not find request %s" % rid)]
        return r, []

    def find(self, rid, key):
        try:
            rid = int(str(rid).strip())
        except ValueError:
            return None
        with self.lock:
            r = self.requests.get(rid)
        if r is None:
            return None
        if not hmac.compare_digest(r.key.encode(), str(key).encode()):
            return None
        return r

    def create(self, p):
        fails = []
        for name in ("contract", "email", "target", "aim", "filename"):
            if p.get(name, "") == "":
                fails.append(failure("%s:MISSING" % name.upper(),
                                     "Missing parameter \"%s\"" % name,
                                     value=name))
        t = p.get("target", "")
        if t and t not in TARGETS:
            fails.append(failure("TARGET:INVALID", "Invalid value \"%s\"" % t,
                                 value=t, expected=list(TARGETS)))
        a = p.get("aim", "")
        if a and a not in AIMS:
            fails.append(failure("AIM:INVALID", "Invalid value \"%s\"" % a,
                                 value=a, expected=list(AIMS)))
        e = p.get("email", "")
        if e and "@" not in e:
            fails.append(failure("EMAIL:INVALID", "Invalid value \"%s\"" % e,
                                 value=e))
        c = p.get("contract", "")
        if c and (not CONTRACT_RE.match(c) or "unknown" in c.lower()):
            fails.append(failure("CONTRACT:NOT_FOUND",
                                 "Can not find contract %s" % c, code=c))
        if fails:
            return None, fails
        with self.lock:
            rid = self.next_id
            self.next_id += 1
            r = Req(id=rid, key=new_key(), email=e, target=t, aim=a,
                    filename=p["filename"], timezone=p.get("timezone") or None,
                    state="draft", issue=600000 + random.randint(0, 99999),
                    created_at=time.time())
            self.requests[rid] = r
        self.save(r)
        return r, []

    def shared_name(self, r):
        return r.filename.replace("/", "_").replace("\0", "_") or "dump"

    def sftp_dir(self, r):
        return os.path.join(self.sftp_root, str(r.id)) \
            if self.sftp_root else None

    def refresh(self, r):
        """Advance a processing request according to the clock."""
        with r.lock:
            if r.proc_start is None or r.state not in ("pending", "progress"):
                return
            pend = self.args.pending_seconds
            prog = self.args.progress_seconds
            t = time.time() - r.proc_start
            if t < pend:
                st = "pending"
            elif t < pend + prog:
                st = "progress"
            elif "fail" in r.filename:
                st = "failed"
            else:
                st = "delivered" if r.skip else "done"
            if st == r.state:
                return
            r.state = st
            if st in ("failed",) + FINAL_OK:
                r.done_at = r.proc_start + pend + prog
            if st == "failed":
                r.customer_message = ("The upgrade of your database failed "
                                      "(emulated failure).")
            self.save(r)
            if st in FINAL_OK:
                self.materialize(r)

    def prefix(self, r, what):
        return {
            "upgraded/archive": b"UPGRADED TO %s\n" % r.target.encode(),
            "upgraded/sql": b"-- upgraded sql for %s\n" % r.target.encode(),
            "original/archive": b"",
            "original/sql": b"-- original sql\n",
        }[what]

    def upgraded_zip(self, r):
        """The zip an upload of a custom-format dump is upgraded into (made
        once, beside the upload), or None for any other upload."""
        src = self.original_path(r)
        try:
            with open(src, "rb") as f:
                if f.read(5) != b"PGDMP":
                    return None
        except OSError:
            return None
        if not shutil.which("pg_restore"):
            return None
        dst = src + ".upgraded.zip"
        if os.path.exists(dst) and \
                os.path.getmtime(dst) >= os.path.getmtime(src):
            return dst
        sql = subprocess.run(["pg_restore", "--no-owner", "-f", "-", src],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if sql.returncode != 0:
            log("pg_restore failed: %s" % sql.stderr.decode(errors="replace"))
            return None
        content, sha, fname = rpc_upgrade.attachment(r.target)
        upgrade = b"\n-- the emulator's upgrade\n" + \
            rpc_upgrade.bump_sql(r.target)
        tmp = "%s.%d.tmp" % (dst, threading.get_ident())
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("dump.sql", sql.stdout + upgrade)
            z.writestr("filestore/" + fname, content)
            z.writestr("manifest.json", json.dumps(
                {"version": r.target, "pg_version": "emulated"}))
        os.replace(tmp, dst)
        return dst

    def materialize(self, r):
        """Write upgraded_<filename> for SFTP download, if SFTP is set up."""
        d = self.sftp_dir(r)
        if not d or not os.path.isdir(d):
            return
        dst = os.path.join(d, "upgraded_" + self.shared_name(r))
        tmp = dst + ".tmp"
        zipped = self.upgraded_zip(r)
        with open(tmp, "wb") as out:
            src = zipped or self.original_path(r)
            if not zipped:
                out.write(self.prefix(r, "upgraded/archive"))
            if os.path.exists(src):
                with open(src, "rb") as f:
                    shutil.copyfileobj(f, out, CHUNK)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)

    def request_obj(self, r):
        self.refresh(r)
        base = "%s://127.0.0.1:%d/database/eu1/%d/%s" % (
            self.scheme, self.download_port or self.port, r.id,
            urllib.parse.quote(r.key, safe=""))
        if r.proc_start is not None:
            end = r.done_at if r.done_at else time.time()
            elapsed = mmss(end - r.proc_start)
        else:
            elapsed = "00:00"
        stage = {"draft": "new", "pending": "new", "progress": "in progress",
                 "done": "done", "delivered": "done",
                 "failed": "failed"}.get(r.state, r.state)
        return {
            "id": r.id,
            "key": r.key,
            "email": r.email,
            "target": r.target,
            "aim": r.aim,
            "filename": r.filename,
            "timezone": r.timezone,
            "state": r.state,
            "issue_stage": stage,
            "issue": r.issue,
            "status_url": base + "/status",
            "notes_url": base + "/upgraded/notes",
            "original_sql_url": base + "/original/sql",
            "original_dump_url": base + "/original/archive",
            "upgraded_sql_url": base + "/upgraded/sql",
            "upgraded_dump_url": base + "/upgraded/archive",
            "modules_url": base + "/modules/archive",
            "filesize": human_size(r.size),
            "database_uuid": None,
            "created_at": now_str(r.created_at),
            "estimated_time": None if r.proc_start is None else "00:01",
            "processed_at": None if r.proc_start is None
            else now_str(r.proc_start),
            "elapsed": elapsed,
            "filestore": False,
            "customer_message": r.customer_message,
            "database_version": None,
            "postgresql": "9.4",
            "compressions": ["pgdmp_custom", "sql"],
        }

    def set_state(self, r, state):
        with r.lock:
            if state in FINAL_OK and r.size is None:
                # nothing uploaded: pretend an empty dump was, so that the
                # upgraded files exist (they are just the prefix)
                os.makedirs(self.req_dir(r.id), exist_ok=True)
                open(self.original_path(r), "wb").close()
                r.size = 0
                r.upload_source = "set_state"
            r.state = state
            r.proc_start = r.proc_start if state in FINAL_OK else None
            if state in FINAL_OK or state == "failed":
                r.done_at = time.time()
                if r.proc_start is None:
                    r.proc_start = r.done_at
            self.save(r)
            if state in FINAL_OK:
                self.materialize(r)

    def count(self, method):
        with self.lock:
            req = self.stats["requests"]
            req[method] = req.get(method, 0) + 1


# --------------------------------------------------------------- handler


class Handler(rpc_dialect.RpcHandler, http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "UpgradeEmulator/1.0"
    sys_version = ""

    # ---------------------------------------------------------- plumbing
    def setup(self):
        self.timeout = self.server.emu.args.idle_timeout
        self.api_served = False
        # Headers and body leave in separate writes: without NODELAY, Nagle
        # holds the body until the client's delayed ACK, 40 ms per answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, fmt, *args):
        log("%s %s" % (self.address_string(), fmt % args))

    def log_request(self, code="-", size="-"):
        path = getattr(self, "path", "")
        log("%s %s %s %s" % (self.address_string(), self.command, path,
                             getattr(code, "value", code)))

    def end_headers(self):
        self._headers_sent = True
        super().end_headers()

    def handle(self):
        try:
            super().handle()
        except (ClientGone, DropConnection, ConnectionError, ssl.SSLError,
                socket.timeout, BrokenPipeError) as e:
            log("%s connection ended: %s" % (self.address_string(),
                                             e.__class__.__name__))
        except OSError as e:
            log("%s connection error: %s" % (self.address_string(), e))

    def handle_one_request(self):
        self._headers_sent = False
        try:
            super().handle_one_request()
        except (ClientGone, DropConnection, ConnectionError, ssl.SSLError,
                socket.timeout, OSError):
            self.close_connection = True
            raise
        except Exception:
            self.close_connection = True
            log("handler exception:\n" + traceback.format_exc())
            if not self._headers_sent:
                try:
                    self.send_json({"failures": [failure(
                        "SERVER:ERROR", "emulator bug, see its log")]}, 500)
                except Exception:
                    pass

    def send_body(self, status, body, ctype, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, obj, status=200):
        self.send_body(status, json.dumps(obj).encode(), "application/json")

    def drop(self):
        """Close the TCP connection abruptly (no TLS close_notify)."""
        self.close_connection = True
        log("%s %s %s dropped (fault)" % (self.address_string(),
                                          self.command, self.path))
        try:
            self.wfile.flush()
        except Exception:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise DropConnection("fault: drop")

    # ------------------------------------------------------------- body
    def body_init(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        self._chunked = "chunked" in te
        self._chunk_left = 0
        self._body_done = False
        self._body_read = 0
        if self._chunked:
            self._remaining = None
        else:
            cl = self.headers.get("Content-Length")
            try:
                self._remaining = int(cl) if cl else 0
                if self._remaining < 0:
                    raise ValueError
            except ValueError:
                raise BadRequest("bad Content-Length")
            self._body_done = self._remaining == 0

    def body_read(self, n=CHUNK):
        if self._body_done:
            return b""
        if not self._chunked:
            data = self.rfile.read(min(n, self._remaining))
            if not data:
                raise ClientGone("EOF in body")
            self._remaining -= len(data)
            self._body_done = self._remaining == 0
            self._body_read += len(data)
            return data
        if self._chunk_left == 0:
            line = self.rfile.readline(65537)
            if not line:
                raise ClientGone("EOF in chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size line")
            if size == 0:
                while True:             # trailers
                    t = self.rfile.readline(65537)
                    if t in (b"\r\n", b"\n", b""):
                        break
                self._body_done = True
                return b""
            self._chunk_left = size
        data = self.rfile.read(min(n, self._chunk_left))
        if not data:
            raise ClientGone("EOF in chunk")
        self._chunk_left -= len(data)
        self._body_read += len(data)
        if self._chunk_left == 0:
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequest("chunk not followed by CRLF")
        return data

    def body_drain(self):
        while self.body_read():
            pass

    def body_all(self, limit=MAX_FORM_BODY):
        parts = []
        total = 0
        while True:
            d = self.body_read()
            if not d:
                return b"".join(parts)
            total += len(d)
            if total > limit:
                self.close_connection = True
                raise BadRequest("body too large")
            parts.append(d)

    # --------------------------------------------------------- dispatch
    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def dispatch(self):
        emu = self.server.emu
        path, _, query = self.path.partition("?")
        self.query = urllib.parse.parse_qs(query, keep_blank_values=True)
        try:
            self.body_init()
            if path.startswith("/_emulator/"):
                return self.admin(path[len("/_emulator/"):])
            if path.startswith(rpc_dialect.PREFIX):
                return self.rpc_dispatch(path)
            if path.startswith("/database/v1/"):
                method = path[len("/database/v1/"):].strip("/")
                if method in API_METHODS:
                    self.mark_api(method)
                    return self.api(method)
                self.body_drain()
                return self.send_json({"failures": [failure(
                    "METHOD:NOT_FOUND", "Unknown method %s" % method)]}, 404)
            if path.startswith("/database/") and path.count("/") >= 4:
                self.mark_api("download")
                return self.download(path)
            self.body_drain()
            self.send_body(404, b"<html>Not Found</html>",
                           "text/html; charset=utf-8")
        except BadRequest as e:
            self.close_connection = True
            self.send_json({"failures": [failure("REQUEST:BAD",
                                                 str(e))]}, 400)

    def mark_api(self, method):
        emu = self.server.emu
        emu.count(method)
        with emu.lock:
            if not self.api_served:
                self.api_served = True
                emu.stats["api_connections"] += 1
            emu.stats["last"][method] = {
                "verb": self.command,
                "headers": {k: v for k, v in self.headers.items()},
                "query_keys": sorted(self.query),
            }

    # ------------------------------------------------------------ admin
    def admin(self, what):
        emu = self.server.emu
        body = self.body_all()
        spec = {}
        if body.strip():
            try:
                spec = json.loads(body)
            except ValueError:
                return self.send_json({"error": "body is not JSON"}, 400)
        if not isinstance(spec, dict):
            return self.send_json({"error": "body is not an object"}, 400)
        if what == "faults" and self.command == "POST":
            try:
                f = emu.add_fault(spec)
            except (BadRequest, ValueError, TypeError) as e:
                return self.send_json({"error": str(e)}, 400)
            return self.send_json({"ok": True, "queued": f})
        if what == "faults":
            with emu.lock:
                return self.send_json({"faults": list(emu.faults)})
        if what == "downloads" and self.command == "POST":
            try:
                limits = {"max_concurrent": int(spec.get("max_concurrent") or 0),
                          "rate": int(spec.get("rate") or 0)}
            except (ValueError, TypeError) as e:
                return self.send_json({"error": str(e)}, 400)
            with emu.lock:
                emu.download_limits = limits
            return self.send_json({"ok": True, "downloads": limits})
        if what == "reset":
            with emu.lock:
                emu.faults.clear()
                emu.download_limits = {}
            if spec.get("stats"):
                emu.reset_stats()
            return self.send_json({"ok": True})
        if what == "stats":
            with emu.lock:
                return self.send_json(dict(emu.stats,
                                           downloads_now=emu.downloads_now))
        if what == "set_state":
            with emu.lock:
                r = emu.requests.get(int(spec.get("request", 0) or 0))
            if r is None or not spec.get("state"):
                return self.send_json({"error": "unknown request or no state"},
                                      404)
            emu.set_state(r, str(spec["state"]))
            return self.send_json({"ok": True, "request": emu.request_obj(r)})
        if what == "download_port" and self.command == "POST":
            port = spec.get("port")
            if port is not None and (not isinstance(port, int) or
                                     not 0 < port < 65536):
                return self.send_json({"error": "port must be 1-65535"}, 400)
            emu.download_port = port
            return self.send_json({"ok": True, "download_port": port})
        if what == "sftp_port" and self.command == "POST":
            port = spec.get("port")
            if not isinstance(port, int) or not 0 < port < 65536:
                return self.send_json({"error": "port must be 1-65535"}, 400)
            emu.args.sftp_port = port
            return self.send_json({"ok": True, "sftp_port": port})
        if what == "requests":
            with emu.lock:
                reqs = list(emu.requests.values())
            out = {}
            for r in reqs:
                emu.refresh(r)
                d = r.to_json()
                d["original_path"] = emu.original_path(r)
                d["sftp_dir"] = emu.sftp_dir(r)
                out[str(r.id)] = d
            return self.send_json(out)
        if self.rpc_admin(what, spec):
            return None
        return self.send_json({"error": "unknown admin endpoint"}, 404)

    # ------------------------------------------------------------ faults
    def apply_fault(self, f, upload=False):
        """Answer according to fault f; returns True if it answered."""
        kind = f["fault"]
        if kind == "drop":
            want = f["after_bytes"]
            got = 0
            while got < want:
                d = self.body_read(min(CHUNK, want - got))
                if not d:
                    break
                got += len(d)
            if upload:
                self.record_upload(None, got)
            self.drop()
        if kind == "slow":
            time.sleep(f["delay"])
            return False
        self.body_drain()
        if kind in ("http500", "http503", "http404"):
            code = int(kind[4:])
            self.send_body(code, b"<html><body><h1>%d</h1>emulated fault"
                           b"</body></html>" % code,
                           "text/html; charset=utf-8",
                           [("Retry-After", "1")] if code == 503 else [])
        elif kind == "badjson":
            self.send_body(200, b"<html>not json</html>", "application/json")
        elif kind == "truncated":
            self.send_body(200, b'{"failures": [', "application/json")
        elif kind == "wrongshape":
            self.send_body(200, b'{"failures": {}, "request": 5}',
                           "application/json")
        elif kind == "server_error":
            self.send_json({"failures": [failure(
                "SERVER:ERROR", "Internal error, try again later")]})
        elif kind == "huge":
            head = b'{"failures":[],"pad":"'
            tail = b'"}'
            pad = max(0, f["size"] - len(head) - len(tail))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length",
                             str(len(head) + pad + len(tail)))
            self.end_headers()
            self.wfile.write(head)
            block = b"x" * CHUNK
            while pad > 0:
                n = min(pad, CHUNK)
                self.wfile.write(block[:n])
                pad -= n
            self.wfile.write(tail)
        return True

    # --------------------------------------------------------------- API
    def params(self, form=None):
        p = {k: v[-1] for k, v in self.query.items()}
        if form:
            p.update(form)
        return p

    def read_form(self):
        """Parse a urlencoded or multipart body; returns (params, files)."""
        ctype = self.headers.get("Content-Type", "")
        body = self.body_all()
        files = {}
        form = {}
        main = ctype.split(";", 1)[0].strip().lower()
        if main == "multipart/form-data":
            for name, (fname, data) in parse_multipart(body, ctype).items():
                if fname is not None:
                    files[name] = data
                else:
                    form[name] = data.decode("utf-8", "replace")
                    files.setdefault(name, data)
        elif body:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("form body is not UTF-8")
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(
                text, keep_blank_values=True).items()}
        return form, files

    def api(self, method):
        emu = self.server.emu
        f = emu.take_fault(method)
        if f and self.apply_fault(f, upload=(method == "upload")):
            return
        if method == "upload":
            return self.api_upload()
        form, files = self.read_form()
        p = self.params(form)
        if method == "create":
            r, fails = emu.create(p)
            if fails:
                return self.send_json({"failures": fails})
            return self.send_json({"failures": [],
                                   "request": emu.request_obj(r)})
        r, fails = emu.lookup(p)
        if fails:
            return self.send_json({"failures": fails})
        emu.refresh(r)
        if method == "status":
            return self.send_json({"failures": [],
                                   "request": emu.request_obj(r)})
        if method == "process":
            return self.api_process(r)
        if method == "skip_test":
            with r.lock:
                if r.state in ("pending", "progress"):
                    r.skip = True
                elif r.state == "done":
                    r.skip = True
                    r.state = "delivered"
                else:
                    return self.send_json({"failures": [state_failure(
                        r.state, ["pending", "progress", "done"])]})
                emu.save(r)
            return self.send_json({"failures": [],
                                   "request": emu.request_obj(r)})
        if method == "request_sftp_access":
            return self.api_sftp(r, p, files)

    def record_upload(self, r, nbytes):
        emu = self.server.emu
        rid = self.params().get("request", "?")
        with emu.lock:
            emu.stats["uploads"][str(r.id if r else rid)] = {
                "bytes": nbytes,
                "content_type": self.headers.get("Content-Type"),
                "query_keys": sorted(self.query),
                "chunked": self._chunked,
                "expect": self.headers.get("Expect"),
            }

    def api_upload(self):
        emu = self.server.emu
        p = self.params()
        r, fails = emu.lookup(p)
        if not fails:
            ctype = self.headers.get("Content-Type", "")
            if ctype.split(";", 1)[0].strip().lower() != \
                    "application/octet-stream":
                fails = [failure("UPLOAD:CONTENT_TYPE",
                                 "Expected Content-Type application/"
                                 "octet-stream, got \"%s\"" % ctype,
                                 value=ctype,
                                 expected=["application/octet-stream"])]
        if not fails:
            emu.refresh(r)
            if r.state != "draft":
                fails = [state_failure(r.state, ["draft"])]
        if fails:
            self.body_drain()
            if r is not None:
                self.record_upload(r, self._body_read)
            return self.send_json({"failures": fails})
        d = emu.req_dir(r.id)
        os.makedirs(d, exist_ok=True)
        tmp = os.path.join(d, "upload.%d.tmp" % threading.get_ident())
        n = 0
        try:
            with open(tmp, "wb") as out:
                while True:
                    data = self.body_read()
                    if not data:
                        break
                    out.write(data)
                    n += len(data)
        except BaseException:
            self.record_upload(r, self._body_read)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self.record_upload(r, n)
        if n == 0:
            os.unlink(tmp)
            return self.send_json({"failures": [failure(
                "UPLOAD:EMPTY", "The uploaded file is empty")]})
        with r.lock:
            if r.state != "draft":
                os.unlink(tmp)
                return self.send_json({"failures": [state_failure(
                    r.state, ["draft"])]})
            os.replace(tmp, emu.original_path(r))
            r.size = n
            r.upload_source = "https"
            r.uploaded_at = time.time()
            emu.save(r)
        return self.send_json({"failures": [], "request": emu.request_obj(r)})

    def api_process(self, r):
        emu = self.server.emu
        with r.lock:
            if r.state != "draft":
                return self.send_json({"failures": [state_failure(
                    r.state, ["draft"])]})
            orig = emu.original_path(r)
            have_https = r.size is not None and os.path.isfile(orig)
            sftp_file = None
            d = emu.sftp_dir(r)
            if d:
                cand = os.path.join(d, emu.shared_name(r))
                try:
                    st = os.stat(cand)
                    if st.st_size > 0 and (
                            not have_https or
                            st.st_mtime >= os.stat(orig).st_mtime):
                        sftp_file = cand
                except OSError:
                    pass
            if sftp_file:
                tmp = orig + ".sftp.tmp"
                shutil.copyfile(sftp_file, tmp)
                os.replace(tmp, orig)
                r.size = os.path.getsize(orig)
                r.upload_source = "sftp"
                r.uploaded_at = time.time()
            elif not have_https:
                return self.send_json({"failures": [failure(
                    "UPLOAD:MISSING",
                    "No database dump was uploaded for request %d" % r.id)]})
            r.state = "pending"
            r.proc_start = time.time()
            r.done_at = None
            emu.save(r)
        return self.send_json({"failures": [], "request": emu.request_obj(r)})

    def api_sftp(self, r, p, files):
        emu = self.server.emu
        if not emu.sftp_root or not emu.args.authorized_keys:
            return self.send_json({"failures": [failure(
                "SFTP:UNAVAILABLE", "SFTP access is not available")]})
        if r.state not in ("draft",) + FINAL_OK:
            return self.send_json({"failures": [state_failure(
                r.state, ["draft", "done", "delivered"])]})
        data = files.get("ssh_keys")
        if data is None:
            return self.send_json({"failures": [failure(
                "SSH_KEYS:MISSING", "Missing parameter \"ssh_keys\"",
                value="ssh_keys")]})
        keys, err = parse_ssh_keys(data)
        if err:
            return self.send_json({"failures": [failure(
                "SSH_KEYS:INVALID", err)]})
        d = emu.sftp_dir(r)
        with r.lock:
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
            shared = os.path.join(d, emu.shared_name(r))
            if r.state == "draft" and not os.path.exists(shared):
                fd = os.open(shared, os.O_CREAT | os.O_WRONLY, 0o666)
                os.close(fd)
                os.chmod(shared, 0o666)
            if r.state in FINAL_OK and not os.path.exists(
                    os.path.join(d, "upgraded_" + emu.shared_name(r))):
                emu.materialize(r)
        # One OS user serves every request, so sshd tells requests apart by
        # key alone and takes the first matching line: a key granted again
        # (a new request) replaces its older grant.  Concurrent requests
        # must therefore use distinct keys -- the real platform gives each
        # request its own user.
        blobs = {k.split()[1] for k in keys if len(k.split()) > 1}
        with emu.lock:
            path = emu.args.authorized_keys
            try:
                with open(path) as ak:
                    kept = [line for line in ak
                            if not (set(line.split()) & blobs)]
            except FileNotFoundError:
                kept = []
            kept += ['restrict,command="internal-sftp -d %s" %s\n' % (d, k)
                     for k in keys]
            with open(path + ".tmp", "w") as ak:
                ak.writelines(kept)
            os.replace(path + ".tmp", path)
        user = getpass.getuser()
        return self.send_json({"failures": [], "request": {
            "hostname": emu.args.sftp_host,
            "sftp_port": emu.args.sftp_port,
            "sftp_user": user,
            "shared_file": emu.shared_name(r),
            "request_id": r.id,
            "sample_command": "sftp -P %s %s@%s" % (
                emu.args.sftp_port, user, emu.args.sftp_host),
        }})

    # ---------------------------------------------------------- download
    def download(self, path):
        emu = self.server.emu
        f = emu.take_fault("download")
        if f and f["fault"] not in ("drop", "slow"):
            self.apply_fault(f)
            return
        self.body_drain()
        segs = [urllib.parse.unquote(s) for s in path.split("/")]
        # ['', 'database', 'eu1', id, key, rest...]
        rid, key, what = segs[3], segs[4], "/".join(segs[5:])
        r = emu.find(rid, key)
        notfound = None
        if r is None:
            notfound = failure("REQUEST:NOT_FOUND",
                               "Can not find request %s" % rid)
        else:
            emu.refresh(r)
        valid = ("status", "upgraded/notes", "original/sql",
                 "original/archive", "upgraded/sql", "upgraded/archive",
                 "modules/archive")
        if notfound is None and what not in valid:
            notfound = failure("FILE:NOT_FOUND", "Unknown file %s" % what)
        if notfound is None and what.startswith(("upgraded/", "modules/")) \
                and r.state not in FINAL_OK:
            notfound = failure("FILE:NOT_READY",
                               "Not available in state %s" % r.state,
                               value=r.state, expected=list(FINAL_OK))
        orig = emu.original_path(r) if r else None
        if notfound is None and what.startswith(("upgraded/", "original/")) \
                and not (r.size is not None and os.path.isfile(orig)):
            notfound = failure("FILE:NOT_FOUND", "No dump uploaded")
        if notfound:
            if f and f["fault"] == "drop":
                self.drop()
            if f and f["fault"] == "slow":
                time.sleep(f["delay"])
            return self.send_json({"failures": [notfound]}, 404)

        fh = None
        if what == "status":
            ro = emu.request_obj(r)
            prefix = ("<html><head><title>Request %d</title></head><body>"
                      "<h1>Upgrade request %d</h1><p>State: %s</p>"
                      "</body></html>\n" % (r.id, r.id, ro["state"])).encode()
            ctype, size, mtime = "text/html; charset=utf-8", len(prefix), 0
        elif what == "upgraded/notes":
            prefix = ("<html><head><title>Upgrade notes</title></head><body>"
                      "<h1>Upgrade notes for request %d</h1>"
                      "<p>Upgraded to %s. Nothing to report.</p>"
                      "</body></html>\n" % (r.id, r.target)).encode()
            ctype, size, mtime = "text/html; charset=utf-8", len(prefix), 0
        elif what == "modules/archive":
            prefix = MODULES_ARCHIVE
            ctype, size, mtime = "application/octet-stream", len(prefix), 0
        else:
            zipped = emu.upgraded_zip(r) if what == "upgraded/archive" \
                else None
            prefix = b"" if zipped else emu.prefix(r, what)
            fh = open(zipped or orig, "rb")
            st = os.fstat(fh.fileno())
            ctype = "application/octet-stream"
            size, mtime = len(prefix) + st.st_size, st.st_mtime_ns
        limit = emu.download_limits.get("max_concurrent", 0)
        with emu.lock:
            refused = limit and emu.downloads_now >= limit
            if refused:
                emu.stats["download_refused"] += 1
            else:
                emu.downloads_now += 1
                emu.stats["download_concurrent_max"] = max(
                    emu.stats["download_concurrent_max"], emu.downloads_now)
        if refused:
            if fh:
                fh.close()
            return self.send_body(503, b"<html><body><h1>503</h1>too many "
                                  b"downloads at once</body></html>",
                                  "text/html; charset=utf-8",
                                  [("Retry-After", "1")])
        try:
            self.serve_file(r, what, prefix, fh, size, mtime, ctype, f)
        finally:
            with emu.lock:
                emu.downloads_now -= 1
            if fh:
                fh.close()

    def serve_file(self, r, what, prefix, fh, size, mtime, ctype, fault):
        etag = '"%x-%x-%s"' % (size, mtime, what.replace("/", "-"))
        lastmod = self.date_time_string(mtime / 1e9 if mtime else time.time())
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        ifr = self.headers.get("If-Range")
        if rng and ifr is not None and ifr.strip() not in (etag, lastmod):
            rng = None
            with self.server.emu.lock:
                self.server.emu.stats["download_stale"] += 1
        if rng:
            m = re.match(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", rng)
            if m and m.group(1) and m.group(2) and \
                    int(m.group(2)) < int(m.group(1)):
                m = None                     # invalid: ignore the header
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    if m.group(2):
                        end = min(int(m.group(2)), size - 1)
                else:                        # suffix range: last N bytes
                    start = max(0, size - int(m.group(2)))
                if start >= size or (not m.group(1) and
                                     int(m.group(2)) == 0):
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % size)
                    self.send_header("Content-Length", "0")
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                status = 206
            # malformed or multi-range: ignore and send everything
        length = end - start + 1 if size else 0
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", lastmod)
        if what not in ("status",):
            name = {"upgraded/archive": "upgraded_%s",
                    "upgraded/sql": "upgraded_%s.sql",
                    "original/archive": "%s",
                    "original/sql": "%s.sql",
                    "upgraded/notes": "notes_%s.html",
                    "modules/archive": "modules_%s.zip"}[what] % (
                        self.server.emu.shared_name(r))
            self.send_header("Content-Disposition",
                             'attachment; filename="%s"' %
                             name.replace('"', "_"))
        if status == 206:
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (start, end, size))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        emu = self.server.emu
        with emu.lock:
            emu.stats["download_ranges" if status == 206
                      else "download_whole"] += 1
        rate = emu.download_limits.get("rate", 0)
        began = time.monotonic()
        limit = None
        if fault and fault["fault"] == "slow":
            self.wfile.flush()
            time.sleep(fault["delay"])
        if fault and fault["fault"] == "drop":
            limit = fault["after_bytes"]
            if fault["wait_first"] > 0:
                self.wfile.flush()
                time.sleep(fault["wait_first"])
        sent = 0
        pos = start
        remaining = length
        while remaining > 0:
            if pos < len(prefix):
                data = prefix[pos:pos + remaining]
            else:
                fh.seek(pos - len(prefix))
                data = fh.read(min(CHUNK, remaining))
                if not data:
                    raise ConnectionError("file shrank while serving")
            if limit is not None and sent + len(data) >= limit:
                self.wfile.write(data[:limit - sent])
                self.drop()
            if rate:
                data = data[:max(1, rate // 10)]
                wait = began + (sent + len(data)) / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            self.wfile.write(data)
            with emu.lock:
                emu.stats["download_bytes"] += len(data)
            sent += len(data)
            pos += len(data)
            remaining -= len(data)
        if limit is not None:
            self.drop()


# ---------------------------------------------------------------- server


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, emu, ssl_context):
        self.emu = emu
        self.ssl_context = ssl_context
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = super().get_request()
        with self.emu.lock:
            self.emu.stats["connections"] += 1
        return sock, addr

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            # a client under valgrind on a loaded machine can take seconds
            # to handshake: the same bound as for an idle connection
            request.settimeout(self.emu.args.idle_timeout)
            try:
                request = self.ssl_context.wrap_socket(request,
                                                       server_side=True)
            except (ssl.SSLError, OSError) as e:
                with self.emu.lock:
                    self.emu.stats["tls_handshake_failures"] += 1
                log("%s TLS handshake failed: %s" % (client_address[0], e))
                return
            if request.session_reused:
                with self.emu.lock:
                    self.emu.stats["tls_resumed"] += 1
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            if request is not None and self.ssl_context is not None:
                try:
                    request.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                request.close()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout,
                            DropConnection, ClientGone)):
            log("%s connection ended: %s" % (client_address[0], exc))
            return
        log("unexpected error:\n" + traceback.format_exc())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--sftp-root")
    ap.add_argument("--sftp-port", type=int, default=22)
    ap.add_argument("--sftp-host", default="127.0.0.1")
    ap.add_argument("--authorized-keys")
    ap.add_argument("--pending-seconds", type=float, default=0.3)
    ap.add_argument("--progress-seconds", type=float, default=0.3)
    ap.add_argument("--idle-timeout", type=float, default=30.0)
    ap.add_argument("--rpc-host", default="localhost")
    ap.add_argument("--transfer-timeout", type=float, default=300.0)
    args = ap.parse_args(argv)
    if args.plain:
        ctx = None
    else:
        if not (args.cert and args.key):
            ap.error("--cert and --key are required unless --plain")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.cert, args.key)
    if args.authorized_keys:
        args.authorized_keys = os.path.abspath(args.authorized_keys)

    emu = Emulator(args)
    server = Server(("127.0.0.1", args.port), Handler, emu, ctx)
    emu.port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % emu.port)
        os.replace(tmp, args.port_file)
    log("listening on %s://127.0.0.1:%d (data %s)" % (
        emu.scheme, emu.port, emu.data_dir))

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.server_close()
        emu.rpc.stop_all()
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
