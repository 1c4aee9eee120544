"""The lines of a CSV input DuckDB's reader must not see, found before it reads the file: a
NUL byte, a carriage return inside a line, a quote never closed (it would swallow every
later line). Each is set aside as a rejected row and left empty in a copy, so the lines
keep their numbers. Also: the physical line of a record DuckDB's reject table names, and
why a file DuckDB could not read is unreadable, in words."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from ..errors import InputError
from .csv_layout import split_line
from .files import cached_copy, read_chunks

if TYPE_CHECKING:
    from .source import FileInfo, Source

#: Lines of one file set aside before DuckDB reads it (a NUL byte, a quote never closed, a
#: carriage return inside a line), each a rejected row; a file with more is refused.
MAX_SET_ASIDE = 1000


@dataclass
class _QuoteWalk:
    in_quote: bool          # inside a quoted value at the end of the line
    opened_here: bool       # ... one that opened on this line
    bad_close: bool         # a value opened on an earlier line closes with text after the quote
    cr_outside: bool        # a carriage return outside quotes


def _walk_quotes(line: bytes, delimiter: bytes, in_quote: bool) -> _QuoteWalk:
    """Quote state through one line (no line end), as DuckDB's reader sees it: a quote opens a
    value at the start of a field (after spaces), two quotes inside one are a quote, and a
    quote elsewhere is text."""
    walk = _QuoteWalk(in_quote, False, False, False)
    i, field_start = 0, 0   # field_start: where the current field began (None after a closing quote)
    while True:
        if walk.in_quote:
            j = line.find(b'"', i)
            if j < 0:
                return walk
            if line[j + 1:j + 2] == b'"':
                i = j + 2
                continue
            rest = line[j + 1:].lstrip(b" ")
            if not walk.opened_here and rest and not rest.startswith(delimiter):
                walk.bad_close = True
                return walk
            walk.in_quote, walk.opened_here = False, False
            i, field_start = j + 1, None
            continue
        j = line.find(b'"', i)
        segment = line[i:] if j < 0 else line[i:j]
        walk.cr_outside = walk.cr_outside or b"\r" in segment
        if j < 0:
            return walk
        d = segment.rfind(delimiter)
        if d >= 0:
            field_start = i + d + len(delimiter)
        if field_start is not None and not line[field_start:j].strip(b" "):
            walk.in_quote, walk.opened_here = True, True
        i = j + 1


#: Restarts of the line check after a quote that never closes, at most (then the file is refused).
MAX_UNCLOSED_QUOTES = 20


def check_lines(path: Path, compression: str, label: str, delimiter: str | None, header_line: int,
                 data_start: int) -> dict[int, tuple[str, bytes]]:
    """The data lines DuckDB's reader must not see, {line number: (what is wrong, the line)}. A
    line is set aside when it holds a NUL byte or a carriage return outside quotes, or opens a
    quote that never closes (or that closes on a later line with text after it): DuckDB would
    read every line after it as one value. After each such quote the check starts again on
    the next line. `delimiter` None: no quoting. Runs of plain lines are matched by one regular
    expression; only the others are walked in Python."""
    found: dict[int, tuple[str, bytes]] = {}
    delim = delimiter.encode() if delimiter else b""
    if delim:
        d = re.escape(delim)
        field = rb'(?:[^"' + d + rb'\r\n\x00]*|[ ]*"(?:[^"\x00]|"")*"[ ]*)'
        plain = re.compile(rb"(?:" + field + rb"(?:" + d + field + rb")*\r?\n)+")
    else:
        plain = re.compile(rb"(?:[^\r\n\x00]*\r?\n)+")
    start = header_line
    for _ in range(MAX_UNCLOSED_QUOTES):
        state = {"in_quote": False, "opened": 0, "opened_line": b""}

        def one_line(n: int, raw: bytes) -> int:
            """Check one physical line; the line a restart begins after, or 0."""
            line = raw[:-1] if raw.endswith(b"\r") else raw
            in_quote = state["in_quote"]
            if delim and (in_quote or b'"' in line):
                walk = _walk_quotes(line, delim, in_quote)
            else:
                walk = _QuoteWalk(in_quote, False, False, not in_quote and b"\r" in line)
            if walk.bad_close:
                if state["opened"] < data_start:
                    raise InputError(f"the header of {label} (line {header_line}) opens a quote (\") that closes "
                                     f"only on line {n}; fix the header.")
                return state["opened"]
            if n >= data_start and (b"\x00" in line or walk.cr_outside):
                found[n] = ("holds a NUL byte (a zero byte: a damaged export or not a text file)" if b"\x00" in line
                            else "holds a carriage return (CR) inside the line", line)
                return 0   # an empty line in the copy: the quote state does not change
            if walk.in_quote and walk.opened_here:
                state["opened"], state["opened_line"] = n, line
            state["in_quote"] = walk.in_quote
            return 0

        restart, n, tail = 0, 0, b""
        for chunk in read_chunks(path, compression):
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            data, tail = data[:cut], data[cut:]
            count = data.count(b"\n")
            if n + count < start:
                n += count
                continue
            pos = 0
            while pos < len(data) and not restart and len(found) <= MAX_SET_ASIDE:
                if n + 1 >= start and not state["in_quote"]:
                    m = plain.match(data, pos)
                    if m:
                        n += data.count(b"\n", pos, m.end())
                        pos = m.end()
                        continue
                e = data.index(b"\n", pos)
                n += 1
                if n >= start:
                    restart = one_line(n, data[pos:e])
                pos = e + 1
            if restart or len(found) > MAX_SET_ASIDE:
                break
        if not restart and len(found) <= MAX_SET_ASIDE and tail and n + 1 >= start:
            restart = one_line(n + 1, tail)
        if len(found) > MAX_SET_ASIDE:
            return found   # refused by the caller
        if not restart and state["in_quote"]:
            if state["opened"] < data_start:
                raise InputError(f"the header of {label} (line {header_line}) opens a quote (\") that is never "
                                 "closed; fix the header.")
            restart = state["opened"]
        if not restart:
            return found
        found = {k: v for k, v in found.items() if k < restart}
        found[restart] = ("opens a quote (\") that is never closed", state["opened_line"])
        start = restart + 1
        if len(found) > MAX_SET_ASIDE:
            break
    lines = sorted(found)
    raise InputError(f"{label} cannot be read: line {lines[0]} {found[lines[0]][0]}, and so do {len(lines) - 1:,} "
                     "more lines or more; fix the quoting (a quote inside a value is written twice) or export "
                     "the file again.")


def repaired_copy(path: Path, compression: str, cache_dir: Path, set_aside: Iterable[int]) -> Path:
    """A copy with LF line ends (CR LF becomes LF) and the set-aside lines left empty, so
    DuckDB numbers every other line as the original does. Streamed, in bounded memory."""
    lines = sorted(set_aside)
    key = hashlib.sha1(repr(lines).encode()).hexdigest()[:8]
    target = cached_copy(path, cache_dir, f"lines-{key}.csv")
    if target.exists():
        return target
    partial = target.with_suffix(".partial")
    aside = set(lines)
    n, tail = 0, b""
    with partial.open("wb") as out:
        for chunk in read_chunks(path, compression):
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            data, tail = data[:cut], data[cut:]
            count = data.count(b"\n")
            if not any(n < k <= n + count for k in lines):
                out.write(data.replace(b"\r\n", b"\n"))
            else:
                parts = data.split(b"\n")[:-1]
                out.write(b"".join(b"\n" if n + i + 1 in aside else p.removesuffix(b"\r") + b"\n"
                                   for i, p in enumerate(parts)))
            n += count
        if tail:
            out.write(b"" if n + 1 in aside else tail.removesuffix(b"\r"))
    os.replace(partial, target)
    return target


def set_aside_rows(found: dict[int, tuple[str, bytes]], encoding: str, delimiter: str | None) -> list[list]:
    """FileInfo.set_aside of the lines check_lines found: [line, what, first field, text]."""
    rows = []
    for n in sorted(found):
        what, line = found[n]
        text = line.decode({"cp1252": "cp1252", "latin-1": "latin-1"}.get(encoding, "utf-8"), errors="replace")
        text = text.replace("\x00", "\\0").replace("\r", " ")
        first = (split_line(text, delimiter)[0] if delimiter else (text.split() or [""])[0]).strip()
        rows.append([n, what, first or None, text.strip()[:200]])
    return rows


def physical_lines_at(path: str, compression: str, encoding: str, positions: list[int],
                      starts: list[str]) -> list[int]:
    """The physical line (from 1) of each record DuckDB's reject table names by its
    line_byte_position (in the UTF-8 text DuckDB reads) and csv_line (`starts`: its first
    characters). DuckDB's `line` counts records, so a quoted value holding a line break shifts
    every later one; its byte position is the line's start give or take a byte, so the start
    is the nearby line start where the record's text begins. One streamed pass over the file
    (the SQL function custseg_physical_lines of custseg.dbt_plugin)."""
    wanted = sorted((int(p), (t or "").lstrip("\r\n").encode("utf-8")[:16])
                    for p, t in zip(positions, starts) if p is not None)
    found: dict[int, int] = {}
    decoder = (codecs.getincrementaldecoder(encoding)(errors="replace")
               if encoding in ("latin-1", "utf-16") else None)
    context = 64                      # bytes kept around a position to find its line's start
    base, buf, i = 0, b"", 0          # buf holds the file's bytes from offset `base`
    cursor, newlines = 0, 0           # newlines in the file before offset `cursor`

    def start_of(p: int, text: bytes) -> int:
        for s in (p, p - 1, p + 1, p - 2, p + 2):
            k = s - base
            line_start = s == 0 or (k > 0 and buf[k - 1:k] == b"\n")
            if 0 <= k <= len(buf) and line_start and buf[k:k + len(text)] == text:
                return s
        return p

    chunks = read_chunks(Path(path), compression)
    for chunk in _with_end(chunks):
        final = chunk is None
        if not final:
            buf += decoder.decode(chunk).encode("utf-8") if decoder is not None else chunk
        limit = base + len(buf) - (0 if final else context)
        while i < len(wanted) and wanted[i][0] <= limit:
            p, text = wanted[i]
            s = max(start_of(p, text), cursor)
            newlines += buf.count(b"\n", cursor - base, s - base)
            cursor = s
            found[p] = newlines + 1
            i += 1
        keep = max(0, len(buf) - 2 * context)
        if cursor < base + keep:
            newlines += buf.count(b"\n", cursor - base, keep)
            cursor = base + keep
        base, buf = base + keep, buf[keep:]
    return [found.get(int(p)) if p is not None else None for p in positions]


def _with_end(chunks: Iterable[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None


def unreadable_reason(source: Source, err: Exception) -> str:
    """Why DuckDB could not read a text input, in words: the first line that is wrong, or its
    own first line when no line is."""
    for f in source.files:
        found = _first_bad_line(f, source)
        if found:
            return f"line {found[0]} of '{f.path}' {found[1]}."
    return str(err).splitlines()[0]


def _first_bad_line(f: FileInfo, source: Source, budget: int = 1_000_000) -> tuple[int, str] | None:
    """(line, what is wrong) of the first of the first `budget` lines of a file whose line end
    stops DuckDB's reader: a carriage return inside the line, or a line end other than the
    first line's (UTF-16 files are not repaired as check_lines repairs the others)."""
    encoding = {"cp1252": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1"}.get(f.encoding, "utf-8")
    compression = "none" if f.read_path != f.path else f.compression
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    start = f.preamble_lines + 1
    first_end = None
    n, tail = 0, ""
    for chunk in read_chunks(Path(f.read_path), compression):
        parts = (tail + decoder.decode(chunk)).split("\n")
        tail = parts.pop()
        for raw in parts:
            n += 1
            if n > budget:
                return None
            if n < start or not raw.strip():
                continue
            crlf, line = raw.endswith("\r"), raw.removesuffix("\r").lstrip("\ufeff")
            first_end = crlf if first_end is None else first_end
            if "\r" in line:
                return n, "holds a carriage return (CR) inside the line; remove it or export the file again"
            if crlf != first_end:
                ends = ("CR LF", "LF") if crlf else ("LF", "CR LF")
                return n, (f"ends in {ends[0]} while line {start} ends in {ends[1]} (two exports joined?); save "
                           "the file with one kind of line end")
    return None
