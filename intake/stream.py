"""Read a customer list in chunks of bounded size, for lists too large to hold whole (province scale).

:class:`CustomerChunks` yields the list as :class:`~intake.load.RawTable` s of at most ``chunk_rows``
rows each, in file order, with the row numbers, header and column names a whole read gives
(``read_customer_file``), so that validating the chunks one by one — with :class:`~intake.validate.AccountIds`
carrying the account ids seen so far — gives exactly the accounts and rejects of validating the whole list.

What is streamed and what is not:

* **UTF-8 CSV** (with or without a byte-order mark) is read in blocks of ``BLOCK_BYTES``; a block is cut
  after the last line break outside quotes (an even number of quote marks before it) and parsed by
  Polars like a whole file; the header is found in the first block (as ``load.py`` finds it), and the
  file's SHA-256 is computed from the same blocks.
* **Parquet** is read row slice by row slice (Polars skips the row groups outside the slice).
* Everything else is read whole and then cut into chunks: Excel workbooks (calamine reads a sheet
  whole), GBK/GB18030 and UTF-16 text (decoded whole, as ``encoding.py`` decides the encoding from all of
  the bytes), and any file the block reader cannot take (a header beyond the first block, a quote mark
  inside an unquoted value, which Polars refuses and Python's csv module reads). A block that fails
  after earlier chunks were handed out switches to the whole read, which continues after the last row
  handed out: the rows before it parsed the same either way.
"""
from __future__ import annotations

import codecs
import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from intake.columns import ColumnMap, load_column_map
from intake.errors import InputFileError
from intake.load import (_EXTENSION_KIND, _MAX_FIELDS, _SNIFF_CHARS, RawTable, _assemble, _kind, _sniff,
                         read_customer_file, table_from_frame)

DEFAULT_CHUNK_ROWS = 250_000
BLOCK_BYTES = 64 << 20
_MAX_CARRY_BLOCKS = 4      # a record open across this many blocks: quotes do not pair up, read whole


class _ReadWhole(Exception):
    """The block reader cannot take this file (or this block): read it whole instead."""


def _record_end(buf: bytes, start: int = 0) -> int:
    """Index after the last line break of ``buf`` that ends a record (even number of quote marks from
    ``start`` before it); 0 when there is none."""
    quotes = buf.count(b'"', start)
    end = len(buf)
    while True:
        cut = buf.rfind(b"\n", start, end)
        if cut < 0:
            return 0
        quotes -= buf.count(b'"', cut, end)
        if quotes % 2 == 0:
            return cut + 1
        end = cut


class CustomerChunks:
    """A customer list as chunks of at most ``chunk_rows`` rows (iterate once).

    After iterating, ``sha256`` is the hash of the bytes read, ``format``/``encoding``/``sheet`` describe
    the file as :class:`RawTable` does, and ``streamed`` says whether it was read in blocks (False: whole).
    """

    def __init__(self, path: str | Path, sheet: str | int | None = None, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 colmap: ColumnMap | None = None):
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.path = Path(path)
        self.sheet = sheet
        self.chunk_rows = chunk_rows
        self.colmap = colmap or load_column_map()
        self.sha256 = ""
        self.format = ""
        self.encoding: str | None = None
        self.streamed = False
        self.rows_read = 0
        self._pending: Iterator[RawTable] | None = None
        self._head: RawTable | None = None

    def open(self) -> "CustomerChunks":
        """Read the first chunk now, so that a file that cannot be read fails here (before a run starts)
        with the whole read's message; iterating then starts with that chunk."""
        if self._pending is None:
            self._pending = self._chunks()
            self._head = next(self._pending, None)
        return self

    def __iter__(self) -> Iterator[RawTable]:
        self.open()
        if self._head is not None:
            head, self._head = self._head, None
            yield head
            yield from self._pending

    def _chunks(self) -> Iterator[RawTable]:
        last_row = 0
        try:
            for table in self._streamed():
                self.streamed = True
                last_row = int(table.frame["row_number"][-1]) if table.frame.height else last_row
                self.rows_read += table.frame.height
                yield table
            return
        except _ReadWhole:
            self.streamed = False
        whole = read_customer_file(self.path, self.sheet, colmap=self.colmap)
        self.sha256, self.format, self.encoding, self.sheet = whole.sha256, whole.format, whole.encoding, whole.sheet
        frame = whole.frame.filter(pl.col("row_number") > last_row) if last_row else whole.frame
        for start in range(0, frame.height, self.chunk_rows):
            part = frame.slice(start, self.chunk_rows)
            self.rows_read += part.height
            yield RawTable(source=whole.source, format=whole.format, frame=part, headers=whole.headers,
                           encoding=whole.encoding, sheet=whole.sheet, sha256=whole.sha256)

    def _slices(self, table: RawTable) -> Iterator[RawTable]:
        for start in range(0, table.frame.height, self.chunk_rows):
            yield RawTable(source=table.source, format=table.format, frame=table.frame.slice(start, self.chunk_rows),
                           headers=table.headers, encoding=table.encoding, sha256="")

    def _streamed(self) -> Iterator[RawTable]:
        if self.sheet is not None:
            raise _ReadWhole
        try:
            fh = open(self.path, "rb")
        except OSError:
            raise _ReadWhole from None     # the whole read words the error
        with fh:
            head = fh.read(4)
            named = _EXTENSION_KIND.get(self.path.suffix.lower())
            kind = _kind(head)
            if named and named != kind:
                raise _ReadWhole
            if kind == "parquet":
                yield from self._parquet()
            elif kind == "csv":
                fh.seek(0)
                yield from self._csv(fh)
            else:
                raise _ReadWhole

    # --- Parquet ------------------------------------------------------------------------------

    def _parquet(self) -> Iterator[RawTable]:
        try:
            scan = pl.scan_parquet(self.path)
            rows = scan.select(pl.len()).collect().item()
            first = scan.slice(0, self.chunk_rows).collect()
        except Exception:   # noqa: BLE001 - the whole read words the error (or reads what this cannot)
            raise _ReadWhole from None
        if rows == 0 or first.width == 0:
            raise _ReadWhole
        self.format = "parquet"
        with open(self.path, "rb") as fh:
            self.sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
        for start in range(0, rows, self.chunk_rows):
            frame = first if start == 0 else scan.slice(start, self.chunk_rows).collect()
            yield table_from_frame(frame, str(self.path), fmt="parquet", sha256=self.sha256, colmap=self.colmap,
                                   first_row_number=start + 2)

    # --- CSV ----------------------------------------------------------------------------------

    def _csv(self, fh) -> Iterator[RawTable]:
        sha = hashlib.sha256()
        # The file as it is now: read no further than its size, and refuse it if it is rewritten in place
        # while its later blocks are read (a new export landing mid-run must not mix into this one).
        opened = os.fstat(fh.fileno())
        block = fh.read(max(BLOCK_BYTES, _SNIFF_CHARS * 4))     # the header is searched in the first block
        left = opened.st_size - len(block)
        sha.update(block)
        if block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in block[:1 << 18]:
            raise _ReadWhole
        self.encoding = "utf-8"
        if block.startswith(codecs.BOM_UTF8):
            block = block[len(codecs.BOM_UTF8):]
            self.encoding = "utf-8-sig"
        try:
            prefix = codecs.getincrementaldecoder("utf-8")().decode(block[:_SNIFF_CHARS * 4])
        except UnicodeDecodeError:
            raise _ReadWhole from None     # GBK, or not text: the whole read decides and words it
        separator, header_index, score, width, first_rows = _sniff(prefix[:_SNIFF_CHARS], self.colmap)
        if score == 0 or width > _MAX_FIELDS or len(first_rows) <= header_index:
            raise _ReadWhole
        self.format = "csv"
        width = max(width, 1) + 16
        carry = b""
        carried = 0
        records = 0          # records before the current piece (the header's row included)
        header_cells: list | None = None
        while True:
            buf = carry + block
            at_end = not block
            cut = len(buf) if at_end else _record_end(buf)
            if cut == 0:
                carried += 1
                if carried > _MAX_CARRY_BLOCKS:
                    raise _ReadWhole
                carry = buf
            else:
                carried = 0
                piece, carry = buf[:cut], buf[cut:]
                if piece.strip():
                    cells, width = self._parse(piece, separator, width)
                    if header_cells is None:
                        header_cells = list(cells.row(header_index)) if cells.height > header_index else []
                        table = _assemble(self.path, "csv", cells, header_index, header_index + 2, self.colmap,
                                          header_cells, surplus_is_error=True, encoding=self.encoding)
                    else:
                        table = _assemble(self.path, "csv", cells, -1, records + 1, self.colmap, header_cells,
                                          surplus_is_error=True, encoding=self.encoding)
                    records += cells.height
                    yield from self._slices(table)
            if at_end:
                break
            block = fh.read(min(BLOCK_BYTES, left)) if left > 0 else b""
            left -= len(block)
            sha.update(block)
            if block:
                now = os.fstat(fh.fileno())
                if (now.st_size, now.st_mtime_ns) != (opened.st_size, opened.st_mtime_ns):
                    raise InputFileError(self.path, "the file changed while it was being read (a new export "
                                                    "replaced it in place); run again once it is complete")
        self.sha256 = sha.hexdigest()

    def _parse(self, piece: bytes, separator: str, width: int) -> tuple[pl.DataFrame, int]:
        """A piece of whole records as text cells; widens like ``load._read_csv_cells``."""
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError:
            raise _ReadWhole from None
        if b"\xef\xbf\xbd" in piece:    # U+FFFD: the whole read refuses the file, naming the line
            raise _ReadWhole
        while True:
            try:
                return pl.read_csv(io.BytesIO(piece), has_header=False, separator=separator,
                                   schema={f"c{i}": pl.Utf8 for i in range(width)},
                                   missing_columns="insert", raise_if_empty=False), width
            except pl.exceptions.PolarsError as exc:
                if "more fields than defined" in str(exc) and width < _MAX_FIELDS:
                    width *= 4
                    continue
                raise _ReadWhole from None


def read_in_chunks(path: str | Path, sheet: str | int | None = None, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                   colmap: ColumnMap | None = None) -> CustomerChunks:
    """The customer list at ``path`` as :class:`CustomerChunks`; errors (on :meth:`~CustomerChunks.open` or
    the first chunk) as :func:`read_customer_file`'s."""
    return CustomerChunks(path, sheet, chunk_rows=chunk_rows, colmap=colmap)
