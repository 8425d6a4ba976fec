#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""make_zip.py OUT ENTRY=SOURCE... -- a zip for the restore tests.

ENTRY=SOURCE   ENTRY holds the bytes of the file SOURCE (deflated)
ENTRY@=TARGET  ENTRY is a symbolic link to TARGET (Unix mode in the header)
ENTRY/         a directory entry

Names are written as given, "../" and "/" included: the tests make
malicious archives on purpose.
"""
import stat
import sys
import zipfile


def main(argv):
    out, specs = argv[1], argv[2:]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for spec in specs:
            if "@=" in spec:
                name, target = spec.split("@=", 1)
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, target)
            elif spec.endswith("/") and "=" not in spec:
                info = zipfile.ZipInfo(spec)
                info.create_system = 3
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                z.writestr(info, b"")
            else:
                name, source = spec.split("=", 1)
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(source, "rb") as f:
                    z.writestr(info, f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
