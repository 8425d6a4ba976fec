#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scriptable, hostile stand-in for the upgrade platform (loopback, TLS).

Where the emulator (tests/emulator/upgrade_emulator.py) behaves like the
platform, this server answers whatever a test tells it to: lying headers,
redirects, control characters, the request's key echoed back, wrong ports,
bodies that change from one try to the next.  Standard library only.

Usage:
    hostile_server.py --cert PEM --key PEM --port-file FILE [--log FILE]

A test sends a script, a list of rules, with POST /_hostile/script:

    {"rules": [
      {"method": "GET",            # optional: GET, POST, PUT, ...; any if absent
       "path": "^/dl/",            # regular expression matched against the
                                   # path (query string excluded)
       "times": 1,                 # optional: used this many times, then skipped
       "range": "present",         # optional: only when the request has a Range
                                   # header ("present") or has none ("absent")
       "status": 200,
       "headers": [["ETag", "\\"v1\\""]],
       "body": "text",             # placeholders: {key} the request's key (from
                                   # the query or the form body), {request} its
                                   # id, {base} https://127.0.0.1:PORT, {port}
       "body_b64": "...",          # raw bytes instead of body
       "repeat": 1000,             # the body repeated this many times
       "content_length": 12,       # a Content-Length to announce (a lie, if
                                   # it differs from the body); default: true
       "drop_after": 100}          # close the connection after this many
    ]}                             # body bytes (the rest is never sent)

Rules are tried in order; the first that matches answers.  No match: 404
with {"failures": [{"reason": "HOSTILE:NO_RULE", ...}]}.

    GET  /_hostile/log     {"requests": [{"method", "path", "query",
                            "headers", "body_bytes", "rule"}]}
    POST /_hostile/reset   forget the script and the log
"""

import argparse
import base64
import json
import re
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.used = []
        self.log = []

    def set_rules(self, rules):
        with self.lock:
            self.rules = rules
            self.used = [0] * len(rules)

    def pick(self, method, path, has_range):
        with self.lock:
            for i, r in enumerate(self.rules):
                if r.get("method") and r["method"] != method:
                    continue
                if not re.search(r.get("path", ""), path):
                    continue
                want = r.get("range")
                if want == "present" and not has_range:
                    continue
                if want == "absent" and has_range:
                    continue
                times = r.get("times")
                if times is not None and self.used[i] >= times:
                    continue
                self.used[i] += 1
                return i, r
        return None, None


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def admin(self, what, body):
        if what == "script" and self.command == "POST":
            try:
                STATE.set_rules(json.loads(body or b"{}").get("rules", []))
            except ValueError as e:
                return self.send(400, json.dumps({"error": str(e)}).encode())
            return self.send(200, b'{"ok": true}')
        if what == "reset":
            STATE.set_rules([])
            with STATE.lock:
                STATE.log = []
            return self.send(200, b'{"ok": true}')
        if what == "log":
            with STATE.lock:
                return self.send(200, json.dumps({"requests": STATE.log}).encode())
        return self.send(404, b'{"error": "unknown admin call"}')

    def params(self, query, body):
        fields = dict(urllib.parse.parse_qsl(query))
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            fields.update(urllib.parse.parse_qsl(body.decode("latin-1")))
        elif ctype.startswith("multipart/form-data"):
            for m in re.finditer(rb'name="([^"]+)"\r\n\r\n(.*?)\r\n--', body, re.S):
                fields.setdefault(m.group(1).decode(), m.group(2).decode("latin-1"))
        return fields

    def answer(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith("/_hostile/"):
            return self.admin(url.path[len("/_hostile/"):], body)
        has_range = "Range" in self.headers
        i, rule = STATE.pick(self.command, url.path, has_range)
        with STATE.lock:
            STATE.log.append({"method": self.command, "path": url.path, "query": url.query,
                              "headers": dict(self.headers.items()),
                              "body_bytes": len(body), "rule": i})
        if rule is None:
            return self.send(404, json.dumps({"failures": [{
                "reason": "HOSTILE:NO_RULE", "message": "no rule for %s %s" % (self.command, url.path)}]}).encode())
        fields = self.params(url.query, body)
        port = self.server.server_address[1]
        if "body_b64" in rule:
            data = base64.b64decode(rule["body_b64"])
        else:
            text = rule.get("body", "")
            for name, value in (("{key}", fields.get("key", "")), ("{request}", fields.get("request", "")),
                                ("{base}", "https://127.0.0.1:%d" % port), ("{port}", str(port))):
                text = text.replace(name, value)
            data = text.encode("utf-8")
        data *= int(rule.get("repeat", 1))
        self.send_response(int(rule.get("status", 200)))
        names = set()
        for k, v in rule.get("headers", []):
            v = v.replace("{base}", "https://127.0.0.1:%d" % port)
            self.send_header(k, v)
            names.add(k.lower())
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(rule.get("content_length", len(data))))
        self.end_headers()
        if "drop_after" in rule:
            self.wfile.write(data[:int(rule["drop_after"])])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
