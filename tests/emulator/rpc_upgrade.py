# SPDX-License-Identifier: GPL-3.0-or-later
"""The rpc dialect's "upgrade": an uploaded dump in, an upgraded directory
dump out (the same trick as the v1 emulator's upgraded zip).

upgrade_dump(src, out_dir, dump_name, target, pgenv) -> (lines, reason)
    src: out_dir/origin.dump (a directory dump or a custom-format file),
    origin.sql, origin.sql.gz or origin.zip (dump.sql and filestore/), or
    None (nothing uploaded: a forced "done").  Writes out_dir/<dump_name>/
    (replaced whole), out_dir/filestore/<sha[:2]>/<sha> (the attachment
    the upgrade adds) and out_dir/upgrade-report.html.  With pgenv (libpq's
    PGHOST, PGUSER, PGPORT of a PostgreSQL we may create databases in),
    the dump is restored into a scratch database, every module set to
    <target>.1.0, an attachment row added, and `pg_dump -Fd` taken; the
    scratch database is dropped.  Without it, <dump_name>/ is a copy of a
    directory dump, or holds a stub toc.dat.  lines: what to log; reason:
    None, or why it failed (the request ends "failed" with it).
"""

import gzip
import hashlib
import os
import secrets
import shutil
import subprocess
import zipfile


def _run(cmd, env, stdin=None, data=None):
    p = subprocess.run(cmd, env=env, stdin=stdin, input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (cmd[0], p.stderr.decode(
            "utf-8", "replace").strip()[-500:]))
    return p.stdout


def attachment(target):
    """(content, sha1, store_fname) of the attachment the upgrade adds."""
    content = ("attachment added by the upgrade to %s" % target).encode()
    sha = hashlib.sha1(content).hexdigest()
    return content, sha, sha[:2] + "/" + sha


def bump_sql(target):
    """The upgrade in SQL: modules at <target>.1.0, that attachment's row
    (the v1 emulator's upgraded zip appends the same)."""
    content, sha, fname = attachment(target)
    version = target.replace("'", "") + ".1.0"
    return (
        "SELECT pg_catalog.set_config('search_path', 'public', false);\n"
        "DO $emu$ BEGIN\n"
        "  IF to_regclass('public.ir_module_module') IS NOT NULL THEN\n"
        "    UPDATE ir_module_module SET latest_version = '%s';\n"
        "  END IF;\n"
        "  IF to_regclass('public.ir_attachment') IS NOT NULL THEN\n"
        "    INSERT INTO ir_attachment (name, store_fname, checksum, "
        "file_size)\n      VALUES ('upgrade.txt', '%s', '%s', %d);\n"
        "  END IF;\n"
        "END $emu$;\n" % (version, fname, sha, len(content))).encode()


def _load(src, db, env, out_dir):
    """Load SRC into the scratch database DB."""
    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db]
    if os.path.isdir(src) or src.endswith(".dump"):
        _run(["pg_restore", "--no-owner", "--no-acl", "-d", db, src], env)
    elif src.endswith(".sql.gz"):
        with gzip.open(src, "rb") as f:
            _run(psql, env, data=f.read())
    elif src.endswith(".sql"):
        _run(psql + ["-f", src], env)
    else:
        with zipfile.ZipFile(src) as z:
            _run(psql, env, data=z.read("dump.sql"))
            for name in z.namelist():
                parts = name.split("/")
                if parts[0] != "filestore" or name.endswith("/") or \
                        ".." in parts:
                    continue
                dst = os.path.join(out_dir, *parts)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with open(dst, "wb") as f:
                    f.write(z.read(name))


def _through_pg(src, tmp, target, pgenv):
    env = dict(os.environ, **pgenv)
    db = "emu_upgrade_%s" % secrets.token_hex(4)
    _run(["createdb", "-T", "template0", "-E", "UTF8", db], env)
    try:
        _load(src, db, env, os.path.dirname(tmp))
        _run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db], env,
             data=bump_sql(target))
        _run(["pg_dump", "--no-owner", "-Fd", "-f", tmp, db], env)
    finally:
        subprocess.run(["dropdb", "--if-exists", db], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ["restored into a scratch database, modules set to %s.1.0, "
            "pg_dump -Fd taken" % target]


def _stub(src, tmp):
    if src and os.path.isdir(src):
        shutil.copytree(src, tmp)
        return ["no PostgreSQL: the directory dump is returned as is"]
    os.makedirs(tmp)
    with open(os.path.join(tmp, "toc.dat"), "wb") as f:
        f.write(b"PGDMP emulated stub\n")
    return ["no PostgreSQL: a stub directory dump is returned"]


def upgrade_dump(src, out_dir, dump_name, target, pgenv):
    final = os.path.join(out_dir, dump_name)
    tmp = os.path.join(out_dir, ".%s.tmp" % dump_name)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if pgenv and src:
            lines = _through_pg(src, tmp, target, pgenv)
        else:
            lines = _stub(src, tmp)
    except (RuntimeError, OSError, zipfile.BadZipFile, KeyError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return ["the dump could not be upgraded: %s" % e], \
            "The database dump could not be restored (emulated upgrade)"
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    content, sha, fname = attachment(target)
    path = os.path.join(out_dir, "filestore", *fname.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)
    with open(os.path.join(out_dir, "upgrade-report.html"), "w") as f:
        f.write("<html><head><title>Upgrade report</title></head><body>"
                "<h1>Upgrade to %s</h1><p>Nothing to report.</p>"
                "</body></html>\n" % target.replace("<", "&lt;"))
    return lines + ["wrote %s, filestore/ and upgrade-report.html" %
                    dump_name], None
