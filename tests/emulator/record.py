# SPDX-License-Identifier: GPL-3.0-or-later
"""A request as both dialects keep it: upgrade_emulator.Req (v1) and
rpc_dialect.RpcReq (rpc) name their FIELDS; each has its own lock, and its
request.json is written whole (a reader, or a restarted emulator, never
sees half of it)."""

import json
import os
import threading


class Record:
    FIELDS = ()

    def __init__(self, **kw):
        self.lock = threading.RLock()
        for f in self.FIELDS:
            setattr(self, f, kw.get(f))

    def to_json(self):
        return {f: getattr(self, f) for f in self.FIELDS}

    def save(self, directory):
        """DIRECTORY/request.json, replaced at once."""
        tmp = os.path.join(directory,
                           "request.json.%d" % threading.get_ident())
        with open(tmp, "w") as f:
            json.dump(self.to_json(), f)
        os.replace(tmp, os.path.join(directory, "request.json"))
