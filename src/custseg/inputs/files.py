"""The input's files as bytes: which files a setting names (a name holding glob characters is
read as that one file), their compression (by content, not by name), their encoding, one
streamed scan of their bytes, and the converted copies DuckDB reads instead (Windows-1252 as
UTF-8, old Mac line ends as LF), kept in the input cache."""

from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from ..sql import sql_literal as sql_string

#: Bytes of the file read to sniff it.
HEAD_BYTES = 1 << 20
CHUNK_BYTES = 1 << 22


def literal_path_sql(path: str) -> str:
    """A file path as a DuckDB literal its readers take as that one file: they glob '*', '?'
    and '[' even in a list of paths, so each is written as a one-character class
    ('x[1].csv' -> 'x[[]1].csv', which matches only itself)."""
    return sql_string(re.sub(r"([*?\[])", r"[\1]", str(path)))


def expand_pattern(pattern: str, setting: str) -> list[Path]:
    """The files a setting names: a file of that exact name (even one named 'x[1].csv'), or
    the files its glob matches."""
    path = Path(pattern)
    if path.is_file():
        return [path]
    if path.is_dir():
        raise InputError(f"{setting}: '{pattern}' is a directory; give a file, or a glob such as "
                         f"'{pattern.rstrip('/')}/*.csv'.")
    if any(ch in pattern for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
        files = [m for m in matches if m.is_file()]
        if not files:
            raise InputError(f"{setting}: no file matches '{pattern}' (a relative path is read from the directory "
                             "dbt was started in). Check the path, or give an absolute one.")
        return files
    if not path.exists():
        raise InputError(f"{setting}: no file matches '{pattern}' (a relative path is read from the directory "
                         "dbt was started in). Check the path, or give an absolute one.")
    return [path]


def magic_bytes(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(8)


def detect_compression(path: Path, head: bytes) -> str:
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if head[:4] == b"PK\x03\x04":
        raise InputError(f"input file '{path}' is a zip archive; unzip it and point the setting at the CSV inside.")
    if head[:3] == b"BZh":
        raise InputError(f"input file '{path}' is bzip2-compressed, which cannot be read; decompress it or "
                         "recompress it with gzip.")
    return "none"


def _open_bytes(path: Path, compression: str):
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "zstd":
        raise InputError(f"input file '{path}' is zstd-compressed; decompress it or recompress it with gzip.")
    return path.open("rb")


def read_chunks(path: Path, compression: str) -> Iterator[bytes]:
    try:
        with _open_bytes(path, compression) as handle:
            while True:
                chunk = handle.read(CHUNK_BYTES)
                if not chunk:
                    return
                yield chunk
    except (OSError, EOFError) as err:
        raise InputError(f"input file '{path}' cannot be decompressed ({err}); it may be truncated.") from None


def detect_encoding(head: bytes) -> tuple[str, int]:
    """(encoding, BOM length) from the first bytes; '' when it must be decided by scanning."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", 2
    if len(head) >= 4 and head[1:4:2] == b"\x00\x00" and head[0] and head[2]:
        return "utf-16-nobom", 0
    return "", 0


@dataclass
class ByteScan:
    lines: int              # physical lines (the last one may lack a newline)
    blank: int              # of them empty or only whitespace
    valid_utf8: bool
    c1_bytes: bool          # Windows-1252-only bytes (0x80-0x9F) occur
    head: bytes             # the first HEAD_BYTES
    crlf: int = 0           # newlines preceded by a carriage return
    newlines: int = 0
    lone_cr: int = 0        # carriage returns neither before a newline nor ending the file
    nul: bool = False       # a NUL byte occurs
    quotes: int = 0         # double quotes

    @property
    def needs_line_check(self) -> bool:
        """Whether any line may stop DuckDB's reader or cost the lines after it: line ends
        both CR LF and LF, a carriage return inside a line, a NUL byte, or an odd number
        of quotes (one never closed)."""
        mixed = 0 < self.crlf < self.newlines
        return mixed or self.lone_cr > 0 or self.nul or self.quotes % 2 == 1


def scan_bytes(path: Path, compression: str) -> ByteScan:
    """One pass over the (decompressed) bytes: physical lines, blank lines, whether the bytes
    are valid UTF-8, whether Windows-1252-only bytes occur, the first bytes, and what may
    trouble the reader (see ByteScan.needs_line_check)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    scan = ByteScan(0, 0, True, False, b"")
    head = bytearray()
    cr = 0
    tail = b""
    for chunk in read_chunks(path, compression):
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        if scan.valid_utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                scan.valid_utf8 = False
        if not scan.c1_bytes and re.search(rb"[\x80-\x9f]", chunk):
            scan.c1_bytes = True
        scan.nul = scan.nul or b"\x00" in chunk
        scan.quotes += chunk.count(b'"')
        data = tail + chunk
        parts = data.split(b"\n")
        tail = parts.pop()
        complete = data[: len(data) - len(tail)]   # whole lines only: CR LF is never split
        scan.newlines += len(parts)
        scan.crlf += complete.count(b"\r\n")
        cr += complete.count(b"\r")
        scan.lines += len(parts)
        scan.blank += sum(1 for p in parts if not p.strip())
    if scan.valid_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            scan.valid_utf8 = False
    if tail:
        scan.lines += 1
        scan.blank += 0 if tail.strip() else 1
        cr += tail.rstrip(b"\r").count(b"\r")
    scan.lone_cr = cr - scan.crlf
    scan.head = bytes(head)
    return scan


def utf16_lines(path: Path, compression: str) -> tuple[int, int, str]:
    text = b"".join(read_chunks(path, compression)).decode("utf-16", errors="replace")
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return len(parts), sum(1 for p in parts if not p.strip()), text[:HEAD_BYTES]


def cached_copy(path: Path, cache_dir: Path, suffix: str) -> Path:
    """Where a converted copy of `path` lives: named by the file's path, size and modification
    time, so a changed file gets a new copy."""
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    cache_dir.mkdir(parents=True, exist_ok=True)
    return cache_dir / f"{path.name}.{key}.{suffix}"


def transcode_cp1252(path: Path, compression: str, cache_dir: Path) -> str:
    """A UTF-8 copy of a Windows-1252 file (DuckDB reads UTF-8, UTF-16 and Latin-1 only)."""
    target = cached_copy(path, cache_dir, "utf8.csv")
    if not target.exists():
        partial = target.with_suffix(".partial")
        decoder = codecs.getincrementaldecoder("cp1252")(errors="replace")
        with partial.open("w", encoding="utf-8", newline="") as out:
            for chunk in read_chunks(path, compression):
                out.write(decoder.decode(chunk))
            out.write(decoder.decode(b"", final=True))
        os.replace(partial, target)
    return str(target)


def cr_to_lf_copy(path: Path, compression: str, cache_dir: Path) -> Path:
    """A copy of a file whose lines end in CR alone, with LF line ends."""
    target = cached_copy(path, cache_dir, "lf.csv")
    if not target.exists():
        partial = target.with_suffix(".partial")
        with partial.open("wb") as out:
            for chunk in read_chunks(path, compression):
                out.write(chunk.replace(b"\r", b"\n"))
        os.replace(partial, target)
    return target
