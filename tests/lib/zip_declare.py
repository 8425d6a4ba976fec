#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""zip_declare.py ZIP ENTRY SIZE -- make ZIP's entry ENTRY declare SIZE
uncompressed bytes, in its local header and in the central directory
alike (so that the two agree and only the data contradicts them), without
touching its data or CRC: the entry then yields more (or fewer) bytes than
it declares, as a hostile platform's zip bomb would.  Every entry called
ENTRY is patched.  No zip64.
"""
import struct
import sys


def main(argv):
    path, entry, size = argv[1], argv[2].encode(), int(argv[3])
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        eocd = data.rfind(b"PK\x05\x06")
        count, cd_size, cd_off = struct.unpack_from("<HII", data, eocd + 10)
        pos, patched = cd_off, 0
        for _ in range(count):
            assert data[pos:pos + 4] == b"PK\x01\x02", "not a central directory header"
            nlen, xlen, clen = struct.unpack_from("<HHH", data, pos + 28)
            local = struct.unpack_from("<I", data, pos + 42)[0]
            if bytes(data[pos + 46:pos + 46 + nlen]) == entry:
                struct.pack_into("<I", data, pos + 24, size)
                assert data[local:local + 4] == b"PK\x03\x04", "not a local header"
                struct.pack_into("<I", data, local + 22, size)
                patched += 1
            pos += 46 + nlen + xlen + clen
        if not patched:
            sys.exit(f"zip_declare.py: no entry {entry.decode()} in {path}")
        f.seek(0)
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
