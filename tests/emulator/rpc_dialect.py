# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's JSON-RPC dialect ("rpc"), beside the v1 one, in the same
emulator process (imported by upgrade_emulator.py).  The API is the one of
/work/shared/platform-rpc.md (§2, checklist §7 and §8).

Endpoints (base URL B = the emulator's, e.g. https://localhost:PORT):
    POST B/upgrade/request/create        {contract, target, aim, actuator,
         env_vars, ssh_key, api_version} -> {request_id, token,
         assigned_host_uri, info?}
    POST B/upgrade/request/status        {token} -> {status, host_uri,
         reason?, archived}
    POST B/upgrade/request/process       {token} -> {is_pg_version_compatible}
         (idempotent; state new -> pending -> progress -> done | failed)
    POST B/upgrade/request/transfer/start {token, transfer_type} ->
         {ssh_port, known_hosts, dump_name (download only)}: a real sshd on
         a fresh loopback port; only the request's key, only
         `rsync --server` on /data (rsync_gate.py)
    POST B/upgrade/request/transfer/stop {token} -> {}
    POST B/upgrade/request/wipe          {contract, token} -> {wiped, failed}
    GET  B/upgrade/request/logs?token=T  with Range: bytes=N- -> 206 slice,
         or an empty 200 at/after the end or when there is no log yet
Every JSON-RPC answer: HTTP 200, application/json, Content-Length,
{"jsonrpc": "2.0", "id": <the call's id>, "result": {...}}; an application
error is result.error (a string).

Each request lives in <data-dir>/rpc/<request_id>/ (request.json, log, and
data/: the ssh user's /data).  Processing turns data/origin.dump (directory
or custom format), origin.sql, origin.sql.gz or origin.zip into
data/<dump_name>/ (pg_dump -Fd of a scratch database where every module is
at <target>.1.0 and an attachment was added) plus filestore/,
upgrade-report.html and upgrade.log, through PostgreSQL when PGHOST is set
(in the emulator's environment, or by the control below); without it,
<dump_name>/ is a copy of an uploaded directory dump (or a stub toc.dat).
A request created with "EMULATOR_FAIL=<reason>" in env_vars ends "failed"
with that reason once processed.

Controls (same admin style as v1):
    POST /_emulator/faults {"method": "rpc/M", "fault": F, "count": N,
         "skip": K, "field": NAME, "value": JSON, "message": TEXT,
         "status": HTTP}
        M: create status process transfer/start transfer/stop wipe logs,
           or * (any rpc method; never a v1 one)
        F: result_error (result {"error": message|"Invalid contract"}),
           odoo_error (error.data.message = message), html (a 200
           text/html maintenance page), http (status, default 502, HTML),
           missing (result without field), set (result[field] = value:
           e.g. host_uri "evil.example/x", dump_name "../x", archived true),
           wrong_known_hosts (transfer/start: known_hosts of another key),
           hostile_log (logs: a body with bytes that are not UTF-8 and
           terminal escapes), drop, slow (delay).
    POST /_emulator/rpc {"pending_seconds": S, "progress_seconds": S,
         "host": H, "compatible": BOOL, "transfer_timeout": S,
         "pghost": DIR, "pguser": ROLE, "pgport": PORT, "dump_name": NAME,
         "transfer_rate": BYTES_PER_S | null}:
         settings from now on (pg*: the PostgreSQL that processing uses,
         by default the emulator's own PGHOST, PGUSER, PGPORT;
         transfer_rate: the transfers started from now on pass through
         the gate at most that fast each way (0: no limit) and count their
         bytes; null, the default: rsync is the session itself)
    GET  /_emulator/rpc              settings and every request (token,
         state, proc_start, worked_at and final_at: when process was
         called, when its output was written, when a call first found the
         request done or failed, epoch seconds; data dir, transfer: port
         and pid, or null;
         transfer_bytes: [IN, OUT] of each relayed session that ended)
    POST /_emulator/rpc_state {"token": T, "state": S, "reason": R,
         "archived": BOOL}: force a state (sticky), reason, archived
    POST /_emulator/rpc_log {"token": T, "text": S | "b64": B64}: append
         to the request's log
"""

import base64
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import stat
import socket
import subprocess
import threading
import time
import urllib.parse

import record

PREFIX = "/upgrade/request/"
METHODS = ("create", "status", "process", "transfer/start", "transfer/stop",
           "wipe", "logs")
FAULTS = ("result_error", "odoo_error", "html", "http", "missing", "set",
          "wrong_known_hosts", "hostile_log", "drop", "slow")
STATES = ("new", "pending", "progress", "done", "failed", "cancelled")
CONTRACT_RE = re.compile(r"^M\d+-[A-Za-z0-9]+$")
ORIGINS = ("origin.dump", "origin.sql.gz", "origin.sql", "origin.zip")
HOSTILE_LOG = (b"line before\n\xff\xfe not UTF-8 \xc3\x28\n"
               b"\x1b]0;pwned title\x07\x1b[2J\x1b[31mred\x1b[0m \r\x08x\n")
MAINTENANCE = (b"<!DOCTYPE html><html><head><title>Odoo is under "
               b"maintenance</title></head><body><h1>Maintenance</h1><p>The "
               b"upgrade platform is being updated.</p></body></html>\n")


_HOOKS = {}     # the emulator's log and parse_ssh_keys (it runs as __main__)


def log(msg):
    _HOOKS["log"]("rpc: " + msg)


def ssh_user(root):
    """`odoo` when we are root, it exists and it can reach ROOT (harness
    rpc_prepare); else the current user (an unprivileged sshd can only log
    in its own user)."""
    if os.getuid() == 0:
        try:
            odoo = pwd.getpwnam("odoo")
            if traversable(root):
                return odoo
            log("odoo cannot reach %s (rpc_prepare not run?): the ssh "
                "user is root" % root)
        except KeyError:
            pass
    return pwd.getpwuid(os.getuid())


def traversable(path):
    """Every directory down to PATH may be crossed by another user."""
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RpcReq(record.Record):
    FIELDS = ("request_id", "token", "contract", "target", "aim", "env_vars",
              "ssh_key", "state", "forced", "reason", "archived",
              "created_at", "proc_start", "compatible", "dump_name",
              "worked_at", "final_at")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.transfer = None      # (Popen, port, Timer)
        self.worker = None        # the processing thread
        self.worked = False       # processing finished (output written)


class Rpc:
    def __init__(self, emu, log_fn, parse_ssh_keys):
        _HOOKS.update(log=log_fn, parse_ssh_keys=parse_ssh_keys)
        self.emu = emu
        self.root = os.path.join(emu.data_dir, "rpc")
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.lock = threading.RLock()
        self.by_token = {}
        self.settings = {
            "pending_seconds": emu.args.pending_seconds,
            "progress_seconds": emu.args.progress_seconds,
            "host": emu.args.rpc_host, "compatible": True,
            "transfer_timeout": emu.args.transfer_timeout,
            "pghost": os.environ.get("PGHOST"),
            "pguser": os.environ.get("PGUSER"),
            "pgport": os.environ.get("PGPORT"),
            "dump_name": "upgraded.dump", "transfer_rate": None}
        self.user = ssh_user(self.root)
        gate = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "rsync_gate.py")
        # the ssh user runs the gate: a copy in our own (traversable) tree
        self.gate = os.path.join(self.root, "rsync_gate.py")
        shutil.copyfile(gate, self.gate)
        os.chmod(self.gate, 0o755)
        self.hostkey = self.keygen("host_ed25519")
        self.roguekey = self.keygen("rogue_ed25519")
        self.load()

    # ---------------------------------------------------------- storage
    def keygen(self, name):
        path = os.path.join(self.root, name)
        if not os.path.exists(path):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                            "-C", "emulator-rpc-host", "-f", path],
                           check=True, stdin=subprocess.DEVNULL)
        with open(path + ".pub") as f:
            return path, " ".join(f.read().split()[:2])

    def rdir(self, r):
        return os.path.join(self.root, str(r.request_id))

    def data(self, r):
        return os.path.join(self.rdir(r), "data")

    def logpath(self, r):
        return os.path.join(self.rdir(r), "log")

    def countpath(self, r):
        return os.path.join(self.rdir(r), "transfer_bytes")

    def transfer_bytes(self, r):
        try:
            with open(self.countpath(r)) as f:
                return [[int(x) for x in line.split()] for line in f
                        if len(line.split()) == 2]
        except (OSError, ValueError):
            return []

    def save(self, r):
        r.save(self.rdir(r))

    def load(self):
        for name in os.listdir(self.root):
            p = os.path.join(self.root, name, "request.json")
            if name.isdigit() and os.path.isfile(p):
                with open(p) as f:
                    r = RpcReq(**json.load(f))
                # a restarted emulator finishes what it had started
                r.worked = os.path.isdir(os.path.join(self.data(r),
                                                      r.dump_name or "-"))
                self.by_token[r.token] = r
                if r.state in ("pending", "progress") and not r.worked \
                        and not r.forced:
                    # stopped mid-processing: the work starts again
                    r.worker = threading.Thread(
                        target=self.work, args=(r, self.origin(r)),
                        daemon=True)
                    r.worker.start()

    def chown_data(self, r):
        """The ssh user writes /data; we (maybe root) wrote some of it."""
        if os.getuid() != 0 or self.user.pw_uid == 0:
            return
        for top, dirs, files in os.walk(self.data(r)):
            for n in [top] + [os.path.join(top, x) for x in dirs + files]:
                os.lchown(n, self.user.pw_uid, self.user.pw_gid)

    def append_log(self, r, data):
        with open(self.logpath(r), "ab") as f:
            f.write(data)

    # ----------------------------------------------------------- faults
    def add_fault(self, spec):
        method = spec.get("method", "")[len("rpc/"):]
        fault = spec.get("fault")
        if method not in METHODS + ("*",):
            raise ValueError("unknown rpc method %r (one of %s)" %
                             (method, ", ".join(METHODS)))
        if fault not in FAULTS:
            raise ValueError("unknown rpc fault %r (one of %s)" %
                             (fault, ", ".join(FAULTS)))
        f = {"method": "rpc/" + method, "fault": fault,
             "count": int(spec.get("count", 1)),
             "skip": int(spec.get("skip", 0)),
             "field": spec.get("field"), "value": spec.get("value"),
             "message": spec.get("message"),
             "status": int(spec.get("status", 502)),
             "delay": float(spec.get("delay", 2.0))}
        with self.emu.lock:
            self.emu.faults.append(f)
        return f

    def take_fault(self, method):
        """The next fault for rpc/METHOD (rpc/* matches; v1's * does not)."""
        return self.emu.take_fault("rpc/" + method, "rpc/*")

    # ------------------------------------------------------------ model
    def find(self, token):
        with self.lock:
            return self.by_token.get(token) if isinstance(token, str) \
                else None

    def create(self, p):
        parse_ssh_keys = _HOOKS["parse_ssh_keys"]
        c = p.get("contract")
        if not isinstance(c, str) or not CONTRACT_RE.match(c) or \
                "unknown" in c.lower():
            return None, "Invalid contract"
        if p.get("aim") not in ("test", "production"):
            return None, "Invalid aim"
        if not isinstance(p.get("target"), str) or not p["target"]:
            return None, "Invalid target"
        env = p.get("env_vars", [])
        if not isinstance(env, list) or not all(
                isinstance(e, str) and re.match(r"^\w+=", e) for e in env):
            return None, "Invalid environment variables"
        key = p.get("ssh_key")
        keys, err = parse_ssh_keys(key.encode()) if isinstance(key, str) \
            else (None, "no key")
        if err or len(keys) != 1:
            return None, "Invalid SSH key"
        with self.lock:
            rid = self.emu.next_id
            self.emu.next_id += 1
            r = RpcReq(request_id=rid, token=secrets.token_urlsafe(43),
                       contract=c, target=p["target"], aim=p["aim"],
                       env_vars=env, ssh_key=keys[0], state="new",
                       forced=False, reason=None, archived=False,
                       created_at=time.time(),
                       compatible=self.settings["compatible"],
                       dump_name=self.settings["dump_name"])
            self.by_token[r.token] = r
        os.makedirs(self.data(r), mode=0o755)
        self.chown_data(r)
        self.save(r)
        return r, None

    def origin(self, r):
        for name in ORIGINS:
            p = os.path.join(self.data(r), name)
            if os.path.exists(p):
                return p
        return None

    def refresh(self, r):
        """Advance a processing request by the clock (and its worker)."""
        with r.lock:
            if r.forced or r.proc_start is None or \
                    r.state not in ("pending", "progress"):
                return
            t = time.time() - r.proc_start
            pend = self.settings["pending_seconds"]
            prog = self.settings["progress_seconds"]
            if t < pend:
                st = "pending"
            elif t < pend + prog or not r.worked:
                st = "progress"
            else:
                st = "failed" if r.reason else "done"
            if st != r.state:
                r.state = st
                if st in ("done", "failed"):
                    r.final_at = time.time()
                self.save(r)

    def process(self, r):
        with r.lock:
            if r.state != "new":
                return None          # a repeat: same answer, nothing redone
            src = self.origin(r)
            if src is None:
                return "The database dump was not found"
            r.state, r.proc_start, r.reason = "pending", time.time(), None
            self.save(r)
            r.worker = threading.Thread(target=self.work, args=(r, src),
                                        daemon=True)
            r.worker.start()
        return None

    # ------------------------------------------------------- processing
    def work(self, r, src):
        from rpc_upgrade import upgrade_dump
        self.append_log(r, ("%s INFO: upgrade of request %d to %s started\n"
                            % (time.strftime("%Y-%m-%d %H:%M:%S"),
                               r.request_id, r.target)).encode())
        try:
            lines, reason = upgrade_dump(src, self.data(r), r.dump_name,
                                         r.target, self.pg_env())
        except Exception as e:       # an emulator bug: say it in the log
            lines, reason = ["emulator error: %s" % e], "emulator error"
        for e in r.env_vars or []:   # a failure asked for by the test
            if e.startswith("EMULATOR_FAIL="):
                lines, reason = ["failing as asked"], e.split("=", 1)[1]
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        text = "".join("%s INFO: %s\n" % (stamp, x) for x in lines)
        text += "%s INFO: upgrade %s\n" % (stamp, "failed: " + reason
                                           if reason else "finished")
        self.append_log(r, text.encode())
        shutil.copyfile(self.logpath(r),
                        os.path.join(self.data(r), "upgrade.log"))
        self.chown_data(r)
        with r.lock:
            r.reason = reason
            r.worked = True
            r.worked_at = time.time()
            self.save(r)

    def pg_env(self):
        """libpq's variables for processing, or None: no PostgreSQL."""
        st = self.settings
        if not st["pghost"]:
            return None
        return {k.upper(): str(st[k]) for k in ("pghost", "pguser", "pgport")
                if st[k]}

    # -------------------------------------------------------- transfers
    def start_transfer(self, r):
        self.stop_transfer(r)
        d = os.path.join(self.rdir(r), "sshd")
        os.makedirs(d, exist_ok=True)
        ak = os.path.join(d, "authorized_keys")
        with open(ak, "w") as f:
            f.write("restrict %s\n" % r.ssh_key)
        port = free_port()
        gate = "%s %s" % (shlex.quote(self.gate), shlex.quote(self.data(r)))
        rate = self.settings["transfer_rate"]
        if rate is not None:
            # the gate relays rsync's bytes, at most RATE a second each
            # way, and counts them (rsync_gate.py --relay)
            count = self.countpath(r)
            open(count, "a").close()
            if os.getuid() == 0:
                os.chown(count, self.user.pw_uid, self.user.pw_gid)
            gate = "%s --relay %d %s %s" % (
                shlex.quote(self.gate), int(rate), shlex.quote(count),
                shlex.quote(self.data(r)))
        conf = os.path.join(d, "sshd_config")
        with open(conf, "w") as f:
            f.write("\n".join([
                "ListenAddress 127.0.0.1", "Port %d" % port,
                "HostKey %s" % self.hostkey[0], "PidFile none",
                "AuthorizedKeysFile %s" % ak, "StrictModes no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes", "UsePAM no",
                "AllowUsers %s" % self.user.pw_name,
                "PermitRootLogin %s" % ("yes" if self.user.pw_uid == 0
                                        else "no"),
                "DisableForwarding yes", "PermitTTY no",
                "ForceCommand %s" % gate, "LogLevel VERBOSE",
                "PrintMotd no", ""]))
        if os.getuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        logf = open(os.path.join(d, "sshd.log"), "ab")
        proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", conf],
                                stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=logf, start_new_session=True)
        logf.close()
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("sshd did not start (see %s)" % d)
                time.sleep(0.05)
        timer = threading.Timer(self.settings["transfer_timeout"],
                                self.timeout_transfer, args=(r, proc))
        timer.daemon = True
        timer.start()
        r.transfer = (proc, port, timer)
        log("request %d: sshd on port %d (pid %d)" % (r.request_id, port,
                                                       proc.pid))
        return port

    def timeout_transfer(self, r, proc):
        with r.lock:
            if r.transfer and r.transfer[0] is proc:
                log("request %d: transfer timed out" % r.request_id)
                self.stop_transfer(r)

    def stop_transfer(self, r):
        with r.lock:
            t, r.transfer = r.transfer, None
        if not t:
            return
        proc, port, timer = t
        timer.cancel()
        kill_session(proc)
        self.chown_data(r)

    def stop_all(self):
        with self.lock:
            reqs = list(self.by_token.values())
        for r in reqs:
            self.stop_transfer(r)

    # ------------------------------------------------------------ views
    def status_result(self, r):
        self.refresh(r)
        res = {"status": r.state, "host_uri": self.settings["host"],
               "archived": bool(r.archived)}
        if r.reason:
            res["reason"] = r.reason
        return res

    def view(self):
        with self.lock:
            reqs = list(self.by_token.values())
        out = {}
        for r in reqs:
            self.refresh(r)
            d = r.to_json()
            d["data_dir"] = self.data(r)
            d["transfer"] = None if not r.transfer else {
                "port": r.transfer[1], "pid": r.transfer[0].pid}
            d["transfer_bytes"] = self.transfer_bytes(r)
            out[str(r.request_id)] = d
        return {"settings": dict(self.settings), "ssh_user":
                self.user.pw_name, "requests": out}


def kill_session(proc):
    """sshd and its session children (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


# ------------------------------------------------------------ HTTP side


class RpcHandler:
    """Mixed into the emulator's Handler: self is the HTTP handler."""

    def rpc_dispatch(self, path):
        rpc = self.server.emu.rpc
        method = path[len(PREFIX):].strip("/")
        if method not in METHODS:
            self.body_drain()
            return self.send_body(404, b"<html>Not Found</html>",
                                  "text/html; charset=utf-8")
        self.mark_api("rpc/" + method)
        f = rpc.take_fault(method)
        if f and f["fault"] == "slow":
            time.sleep(f["delay"])
            f = None
        if f and f["fault"] == "drop":
            self.body_drain()
            self.drop()
        if f and f["fault"] in ("html", "http"):
            self.body_drain()
            return self.send_body(200 if f["fault"] == "html" else
                                  f["status"], MAINTENANCE,
                                  "text/html; charset=utf-8")
        if method == "logs":
            return self.rpc_logs(f)
        body = self.body_all()
        try:
            call = json.loads(body)
            params = call.get("params")
            if not isinstance(params, dict):
                raise ValueError("params is not an object")
        except (ValueError, AttributeError) as e:
            return self.rpc_send(None, error=odoo_error(
                "Invalid JSON-RPC request: %s" % e))
        cid = call.get("id")
        if f and f["fault"] == "result_error":
            return self.rpc_send(cid, {"error": f["message"] or
                                       "Invalid contract"})
        if f and f["fault"] == "odoo_error":
            return self.rpc_send(cid, error=odoo_error(
                f["message"] or "Access Denied"))
        result = self.rpc_call(method, params, f)
        if f and f["fault"] == "missing" and isinstance(result, dict):
            result.pop(f["field"] or next(iter(result), None), None)
        if f and f["fault"] == "set" and isinstance(result, dict):
            result[f["field"]] = f["value"]
        return self.rpc_send(cid, result)

    def rpc_send(self, cid, result=None, error=None):
        doc = {"jsonrpc": "2.0", "id": cid}
        if error is not None:
            doc["error"] = error
        else:
            doc["result"] = result
        self.send_json(doc)

    def rpc_call(self, method, p, fault):
        rpc = self.server.emu.rpc
        if method == "create":
            r, err = rpc.create(p)
            if err:
                return {"error": err}
            res = {"request_id": r.request_id, "token": r.token,
                   "assigned_host_uri": rpc.settings["host"]}
            if p.get("api_version") != "0.2":
                res["info"] = "Please update the upgrade script."
            return res
        r = rpc.find(p.get("token"))
        if r is None:
            return {"error": "Unknown token"}
        if method == "wipe":
            return self.rpc_wipe(r, p)
        if r.archived:
            return {"error": "This request is archived"} \
                if method != "status" else rpc.status_result(r)
        if method == "status":
            return rpc.status_result(r)
        if method == "process":
            err = rpc.process(r)
            if err:
                return {"error": err}
            return {"is_pg_version_compatible": bool(r.compatible)}
        if method == "transfer/stop":
            rpc.stop_transfer(r)
            return {}
        return self.rpc_transfer(r, p, fault)

    def rpc_transfer(self, r, p, fault):
        rpc = self.server.emu.rpc
        kind = p.get("transfer_type")
        rpc.refresh(r)
        if kind == "upload" and r.state != "new":
            return {"error": "Upload is only possible in state new"}
        if kind == "download" and r.state != "done":
            return {"error": "The upgraded dump is not ready"}
        if kind not in ("upload", "download"):
            return {"error": "Invalid transfer type"}
        with r.lock:     # two starts at once: one sshd, not a stray one
            port = rpc.start_transfer(r)
        key = rpc.roguekey[1] if fault and \
            fault["fault"] == "wrong_known_hosts" else rpc.hostkey[1]
        res = {"ssh_port": port,
               "known_hosts": "[%s]:%d %s\n" % (rpc.settings["host"], port,
                                                key)}
        if kind == "download":
            res["dump_name"] = r.dump_name
        return res

    def rpc_wipe(self, r, p):
        rpc = self.server.emu.rpc
        if p.get("contract") != r.contract:
            return {"error": "Invalid contract"}
        with rpc.lock:
            mine = [x for x in rpc.by_token.values()
                    if x.contract == r.contract]
        wiped = []
        for x in mine:
            rpc.stop_transfer(x)
            shutil.rmtree(rpc.data(x), ignore_errors=True)
            with x.lock:
                x.archived = True
                rpc.save(x)
            wiped.append(x.request_id)
        return {"wiped": sorted(wiped), "failed": []}

    def rpc_logs(self, fault):
        rpc = self.server.emu.rpc
        self.body_drain()
        q = urllib.parse.parse_qs(self.path.partition("?")[2])
        r = rpc.find((q.get("token") or [None])[-1])
        if r is None:
            return self.send_body(404, b"Unknown token\n",
                                  "text/plain; charset=utf-8")
        rpc.refresh(r)
        try:
            with open(rpc.logpath(r), "rb") as f:
                text = f.read()
        except FileNotFoundError:
            text = b""
        if fault and fault["fault"] == "hostile_log":
            text += HOSTILE_LOG
        m = re.match(r"^\s*bytes=(\d+)-\s*$", self.headers.get("Range", ""))
        start = int(m.group(1)) if m else 0
        if start >= len(text):
            return self.send_body(200, b"", "text/plain; charset=utf-8")
        if not m:
            return self.send_body(200, text, "text/plain; charset=utf-8")
        return self.send_body(206, text[start:], "text/plain; charset=utf-8",
                              [("Content-Range", "bytes %d-%d/%d" % (
                                  start, len(text) - 1, len(text)))])

    # ---------------------------------------------------------- controls
    def outputs_now(self, r):
        """A request forced "done" has its outputs before it says so: the
        processing thread already running is waited for (running the work a
        second time beside it would race on the same files: a download then
        found no upgraded dump), else the work is done here."""
        rpc = self.server.emu.rpc
        worker = r.worker
        if worker is not None and worker.is_alive():
            worker.join()
        with r.lock:
            if not r.worked:
                rpc.work(r, rpc.origin(r))

    def rpc_admin(self, what, spec):
        """True if WHAT was one of the rpc controls (and was answered)."""
        rpc = self.server.emu.rpc
        if what == "rpc" and self.command == "POST":
            for k, v in spec.items():
                if k not in rpc.settings:
                    self.send_json({"error": "unknown setting %s" % k}, 400)
                    return True
                rpc.settings[k] = v
        if what == "rpc":
            self.send_json(rpc.view())
            return True
        if what not in ("rpc_state", "rpc_log"):
            return False
        r = rpc.find(spec.get("token"))
        if r is None:
            self.send_json({"error": "unknown token"}, 404)
            return True
        if what == "rpc_state" and spec.get("state") == "done":
            self.outputs_now(r)
        with r.lock:
            if what == "rpc_log":
                data = base64.b64decode(spec["b64"]) if "b64" in spec \
                    else str(spec.get("text", "")).encode()
                rpc.append_log(r, data)
            else:
                if spec.get("state") in STATES:
                    r.state, r.forced = spec["state"], True
                if "reason" in spec:
                    r.reason = spec["reason"]
                if "archived" in spec:
                    r.archived = bool(spec["archived"])
                rpc.save(r)
        self.send_json({"ok": True, "request": rpc.view()["requests"][
            str(r.request_id)]})
        return True


def odoo_error(message):
    """Odoo's serialize_exception shape (platform-rpc.md §2.1)."""
    return {"code": 200, "message": "Odoo Server Error",
            "data": {"name": "odoo.exceptions.UserError",
                     "debug": "Traceback (most recent call last):\n  ...\n",
                     "message": message, "arguments": [message],
                     "context": {}}}
