"""Tables of rows, streamed: CSV, JSONL and Parquet files, or stdin and stdout (`-`).

Readers yield one record at a time with where it is (the line an editor shows, or the Parquet row),
so a file of any size is read in constant memory and a bad row is named where it is. Every way a
file can be unusable is one `InputError` naming the file and what to do; nothing here raises a
traceback at a user. pyarrow is imported only for Parquet, and only when it is used.
"""

from __future__ import annotations

import bz2
import csv
import datetime
import gzip
import io
import itertools
import json
import lzma
import math
import re
import sys
import weakref
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from interviewer.domain.errors import InterviewerError

STDIO = "-"
Format = Literal["csv", "tsv", "jsonl", "parquet", "xlsx"]
FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
READ_ONLY: set[Format] = {"tsv", "xlsx"}  # read, never written
# Compressed text files, read by their last suffix through the standard library in both engines (Ray's
# read tasks too), so that a file cut short is read and named alike. zstd has no module before 3.14.
CODECS = {".gz": gzip, ".bz2": bz2, ".xz": lzma}
_GZIP_MAGIC = b"\x1f\x8b"
PARQUET_BATCH = 2048
# A CSV cell may hold a very long answer (they are truncated for grading, not refused when read).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


_SEPARATORS = re.compile(r"[\s\-_]+")


def column_key(name: object) -> str:
    """A column name as matched: case, spaces and hyphens aside, so a spreadsheet's "Reference Answer"
    or "Question-ID" is `reference_answer` or `question_id`."""
    return _SEPARATORS.sub("_", str(name).strip().lower())


def column_conflict(names: Iterable[object], read: Collection[str]) -> str | None:
    """Where two columns would be read as one (`column_key`) that is `read`, which and what to do;
    else None. Whichever came last would win, a blank cell included, without a word."""
    seen: dict[str, str] = {}
    for name in names:
        key = column_key(name)
        if key in read and key in seen:
            return f"columns {seen[key]!r} and {str(name)!r} are both read as `{key}`; rename or drop one"
        seen.setdefault(key, str(name))
    return None


def header_problem(
    names: Sequence[object],
    required: Iterable[str],
    one_of: Iterable[str],
    read: Collection[str] = (),
    header: str = "the header",
) -> str | None:
    """What makes a header unusable (a column the rows need is missing, or two read as one), or None."""
    conflict = column_conflict(names, {*read, *required, *one_of})
    if conflict:
        return conflict
    missing = _missing_columns({column_key(n) for n in names}, list(required), list(one_of))
    if missing:
        has = ", ".join(str(n).strip() for n in names)
        return f"{header} has no {', '.join(missing)} column (it has: {has})"
    return None


def is_missing(value: object) -> bool:
    """A cell with no value: absent (None), or NaN, which is how pandas writes a missing number to
    Parquet (a column of ids or references with gaps becomes floats) and how some tools write JSON."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def cell_text(value: object) -> str:
    """A cell's value as text (both engines read cells through this); a whole number that was read as
    a float (pandas writes a column of integers with gaps so, a spreadsheet every number) without its
    ".0": id 7, not "7.0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell_text_or_none(value: object) -> str | None:
    """`cell_text`, or None where the cell is missing or holds only blanks."""
    if is_missing(value):
        return None
    text = cell_text(value)
    return text if text.strip() else None


class InputError(InterviewerError, ValueError):
    """An input or output file that cannot be used at all; the message says where and what to do."""


@dataclass
class Record:
    """One row as read: where it is (`line` N, or Parquet `row` N) and its fields, or a problem."""

    number: int
    data: dict | None = None
    problem: str | None = None
    unit: str = "line"


def format_of(path: Path | str, given: str | None = None, writing: bool = False) -> Format:
    """The format named by `given`, else by the file's suffix; stdin is sniffed by the reader."""
    named = Path(str(path))
    packed = compression_of(path)
    if packed and writing:
        raise InputError(
            f"{path}: results are not written compressed (they are appended to as rows are graded); "
            f"name a .jsonl, .csv or .parquet file and compress it when the run is done"
        )
    if packed:
        named = Path(named.stem)  # answers.csv.gz: a CSV file
    kind: Format
    if given:
        chosen = given.strip().lower()
        if chosen not in FORMATS.values():
            raise InputError(f"unknown format {given!r}; use csv, jsonl, parquet or xlsx")
        kind = chosen  # type: ignore[assignment]
    elif (suffix := named.suffix.lower()) in FORMATS and not (writing and FORMATS[suffix] in READ_ONLY):
        kind = FORMATS[suffix]
    else:
        kinds = ".jsonl, .csv or .parquet" if writing else ".jsonl, .csv, .parquet or .xlsx"
        what = "output" if writing else "file"
        if packed:  # answers.txt.gz
            kinds = f".jsonl{packed}, .csv{packed} or .tsv{packed}"
            suffix = f"{suffix}{packed}" if suffix else packed
        raise InputError(f"{path}: unknown {what} type {suffix or '(none)'}; use {kinds}")
    if packed and kind in ("parquet", "xlsx"):
        raise InputError(
            f"{path}: a compressed {'Parquet file' if kind == 'parquet' else 'workbook'} is not read "
            f"(it compresses its own contents); decompress it and read the .{kind}"
        )
    return kind


def compression_of(path: Path | str) -> str | None:
    """The compression suffix a file's name ends in (`.gz`, `.bz2`, `.xz`), or None."""
    suffix = Path(str(path)).suffix.lower()
    return suffix if suffix in CODECS else None


def pyarrow_modules():
    """pyarrow and pyarrow.parquet, or an InputError saying how to get them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "Parquet needs pyarrow: run `pip install pyarrow` (or `pip install -e '.[scale]'`)"
        ) from None
    return pa, pq


# ---- text lines ----------------------------------------------------------------------------------


class UndecodedLine(str):
    """A line that is not UTF-8, its bad bytes replaced so that its id can still be read. A CSV
    reader stops at it with `error` (a row may run over several lines, and such a file is seldom in
    UTF-8 anywhere); a JSON Lines reader skips it as a row with `problem`, as it skips a line that is
    not JSON, since each line stands alone."""

    error: str
    problem: str


def decoded_line(raw: bytes, number: int, name: str, offset: int = 0) -> str:
    """One line of a UTF-8 byte stream, or an UndecodedLine saying where its first bad byte is
    (`offset`: the bytes of the stream before the line)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = UndecodedLine(raw.decode("utf-8", "replace"))
        line.error = f"{name} line {number}: not UTF-8 text (byte {offset + exc.start}); save it as UTF-8"
        line.problem = f"not UTF-8 text (byte {exc.start} of the line: save the file as UTF-8)"
        return line


def decoded_lines(handle: Iterable[bytes], name: str) -> Iterator[str]:
    """The lines of a UTF-8 byte stream (a leading BOM dropped), decoded one at a time; a line that
    is not UTF-8 comes as an UndecodedLine, for the reader to stop at or skip. A compressed stream
    that breaks off or is not what its suffix says stops the read."""
    offset = 0
    for number, raw in numbered_lines(handle, name):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            offset = 3
        yield decoded_line(raw, number, name, offset)
        offset += len(raw)


def numbered_lines(handle: Iterable[bytes], name: str) -> Iterator[tuple[int, bytes]]:
    """The byte lines of `handle`, numbered from 1; a read that fails (a compressed file cut short or
    corrupt, a disk error) is an InputError saying how far the file was read."""
    lines = iter(handle)
    number = 0
    while True:
        try:
            raw = next(lines, None)
        except UNREADABLE as exc:
            raise _unreadable(name, exc, number) from None
        if raw is None:
            return
        number += 1
        yield number, raw


# What reading a stream raises where its bytes end or break: a compressed file cut short or corrupt
# (BadGzipFile and bz2's errors are OSErrors), a disk error.
UNREADABLE = (OSError, EOFError, zlib.error, lzma.LZMAError)


def _unreadable(name: str, exc: BaseException, lines_read: int = 0) -> InputError:
    where = f"cannot be read past line {lines_read}" if lines_read else "cannot be read"
    packed = " (is it whole, and compressed as its suffix says?)" if compression_of(name) else ""
    return InputError(f"{name}: {where}: {exc}{packed}")


def csv_records(
    lines: str | Iterable[str], delimiter: str = ",", name: str = ""
) -> tuple[list[str] | None, Iterator[tuple[int, dict | None, str | None]]]:
    """The header and the rows of CSV text (a string or lines): (line, fields by column, None) for
    each row, with the line it starts on, or (line, None, problem) for a row whose fields do not
    match the header's columns.

    Unlike `csv.DictReader` this counts blank lines and quoted newlines, so a reported line number is
    the line an editor shows. A row with more fields than the header is a problem, not a row cut
    short: an unquoted comma in an answer splits it, and the words after it would be lost unseen. A
    row with fewer fields is one too (a line cut short), unless only unnamed trailing columns lack one.
    CSV quotes are read strictly: a quote never closed used to swallow every line after it into one
    answer, unseen; now the row is a problem naming the lines it took, and reading goes on after it.
    TSV is not (its fields are seldom quoted, and a quote opening one is text). `name` (the file)
    leads the message of a header that cannot be read.
    """
    source = _Lines(io.StringIO(lines, newline="") if isinstance(lines, str) else lines)
    reader = csv.reader(source, delimiter=delimiter, strict=delimiter == ",")
    try:
        header = next(reader, None)
    except csv.Error as exc:
        where = f"{name} line 1" if name else "line 1"
        raise InputError(f"{where}: the header is not valid CSV ({exc})") from None
    names = header or []
    named = max((i + 1 for i, n in enumerate(names) if n.strip()), default=0)  # fields a row must have

    def rows() -> Iterator[tuple[int, dict | None, str | None]]:
        start = source.read + 1
        source.new_row()
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                source.skip_rest_of_field(delimiter, len(names), named)
                yield start, None, _bad_quoting(str(exc), start, source.read)
                start = source.read + 1
                source.new_row()
                continue
            if values:
                if problem := _misfit(values, len(names), named):
                    yield start, None, problem
                else:
                    yield (
                        start,
                        {name: (values[i] if i < len(values) else None) for i, name in enumerate(names)},
                        None,
                    )
            start = source.read + 1
            source.new_row()

    return header, rows()


def _bad_quoting(error: str, start: int, end: int) -> str:
    """What is wrong with a row's quotes, and the lines it took: a quote left open runs on into the
    rows below it."""
    took = f" (lines {start}–{end} were read as this one row)" if end > start else ""
    if "unexpected end of data" in error:
        return (
            f"a double quote opens a field that is never closed{took}; close it, "
            'and write a quote inside a quoted field as ""'
        )
    return (
        f"a field's quotes are not valid CSV ({error}){took}; put the whole field in double quotes "
        'and write each quote inside it as ""'
    )


def _misfit(values: list[str], columns: int, named: int) -> str | None:
    """What is wrong with a row's number of fields, if anything: more than the header's columns
    (unless the extra ones are blank), or fewer than its named columns."""
    if len(values) > columns and any(v.strip() for v in values[columns:]):
        return _field_count(len(values), columns, "more")
    if len(values) < named:
        return _field_count(len(values), columns, "fewer")
    return None


def _field_count(found: int, columns: int, which: str) -> str:
    hint = "an unquoted comma in a text field?" if which == "more" else "a line cut short?"
    return (
        f"{found} fields where the header has {columns} columns ({hint} "
        'put a field that holds commas, quotes or line breaks in double quotes, with "" for a quote)'
    )


def jsonl_records(lines: str | Iterable[str]) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line, object, None) for each non-blank line of JSON Lines text, or (line, None, problem); a
    line that is not UTF-8 is (line, object or None, problem), its object read for the row's id only."""
    source = io.StringIO(lines) if isinstance(lines, str) else lines
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        problem: str | None = None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            data, problem = None, f"not valid JSON ({exc.msg})"
        if isinstance(raw, UndecodedLine):
            yield number, data if isinstance(data, dict) else None, raw.problem
            continue
        if problem is not None:
            yield number, None, problem
            continue
        if not isinstance(data, dict):
            # A whole file as one JSON array is the likeliest cause: JSON Lines wants one object a line.
            array = " (JSON Lines: one object per line, not an array)" if isinstance(data, list) else ""
            yield number, None, f"expected a JSON object{array}"
            continue
        yield number, data, None


class _Lines:
    """The lines a csv.reader reads, counted, so that a row broken by a stray quote can be skipped
    whole: the reader stops at the quote, and the rest of its quoted field, read as rows of its own,
    would be named as problems of their own ("2 fields where the header has 3 columns")."""

    LOOKAHEAD = 50  # lines a broken field may still run on for; beyond that it is left to the reader

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._again: list[str] = []  # lines looked at and handed back, last first
        self._failed: Exception | None = None  # what reading on raised, raised when the reader gets there
        self.read = 0
        self.quotes = 0  # double quotes in the lines of the row being read

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._pull()
        self.read += 1
        self.quotes += line.count('"')
        return line

    def new_row(self) -> None:
        self.quotes = 0

    def skip_rest_of_field(self, delimiter: str, columns: int, named: int) -> None:
        """After a stray quote stopped the reader: if the row's quotes leave a field open (an odd
        count: `"He said "hi" and` runs on), read on to the line that closes it (`and more",3`:
        what follows a quote there reads as the end of a row). A line that is a row in its own
        right (`2,ok,4`), or one that opens a field without closing it, ends the search: nothing is
        skipped, and neither is anything if no close is in sight. A field closed with text after it
        (`"Pooling" downsamples`) leaves none open."""
        if self.quotes % 2 == 0:
            return
        ahead: list[str] = []
        while len(ahead) < self.LOOKAHEAD:
            try:
                line = self._pull()
            except StopIteration:
                break
            except Exception as exc:  # not UTF-8, say: raised where the reader would have met it
                self._failed = exc
                break
            ahead.append(line)
            if _is_a_row(line, delimiter, columns, named):  # first: `2,TV is 12",4` is a row, not a close
                break
            if line.count('"') % 2:
                if _strict_rows('"' + line, delimiter) is not None:
                    self.read += len(ahead)
                    return
                break
        self._again.extend(reversed(ahead))

    def _pull(self) -> str:
        if self._again:
            return self._again.pop()
        if self._failed is not None:
            raise self._failed
        line = next(self._lines)
        if isinstance(line, UndecodedLine):
            raise InputError(line.error)
        return line


def _strict_rows(text: str, delimiter: str) -> list[list[str]] | None:
    """The rows of a piece of CSV text read with strict quoting, or None where its quotes are invalid."""
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return None


def _is_a_row(line: str, delimiter: str, columns: int, named: int) -> bool:
    """Whether a line alone reads as a whole row, its fields as many as a row's may be."""
    rows = _strict_rows(line, delimiter)
    return rows is not None and len(rows) == 1 and _misfit(rows[0], columns, named) is None


# ---- readers -------------------------------------------------------------------------------------


def _binary_kind(buffer: BinaryIO) -> Format | None:
    """A workbook or a Parquet file by its first bytes (a zip, or Parquet's magic), where the stream
    can be peeked at without reading it; else None (text, sniffed by `_sniff`)."""
    return {b"PK\x03\x04": "xlsx", b"PAR1": "parquet"}.get(_peek(buffer, 4))  # type: ignore[return-value]


def _peek(buffer: BinaryIO, size: int) -> bytes:
    """The first `size` bytes of a stream, left unread; nothing where it cannot be peeked at."""
    peek = getattr(buffer, "peek", None)
    return peek(size)[:size] if peek is not None else b""


def _sniff(lines: Iterator[str]) -> tuple[Format, Iterator[str]]:
    """JSONL when the first non-blank line starts with `{`, else CSV; the lines are given back whole."""
    head: list[str] = []
    for line in lines:
        head.append(line)
        if line.strip():
            break
    first = head[-1].lstrip() if head else ""
    return ("jsonl" if first.startswith("{") else "csv"), itertools.chain(head, lines)


def open_records(
    source: Path | str,
    fmt: str | None = None,
    required: Iterable[str] = (),
    one_of: Iterable[str] = (),
    read: Collection[str] = (),
) -> Iterator[Record]:
    """Records of a table (a path, or `-` for stdin), streamed.

    The file's usability (exists, type, header with the `required` columns and one of `one_of`, no two
    columns read as one of `read`) is checked before this returns, so an unusable file fails before
    any work starts; row-level problems come back as records with a `problem`.
    """
    required, one_of = list(required), list(one_of)
    if str(source) == STDIO:
        name = "<stdin>"
        stream: BinaryIO = sys.stdin.buffer
        # Not on a terminal: peeking there would wait for a line, and a Ctrl-D would not stick.
        piped = not sys.stdin.isatty()
        try:
            if piped and _peek(stream, 2) == _GZIP_MAGIC:  # `curl …/answers.csv.gz | interviewer grade -`
                stream = gzip.GzipFile(fileobj=stream)  # type: ignore[assignment]
            lines = decoded_lines(stream, name)
            if fmt:
                kind = format_of(name, fmt)
            elif piped and (sniffed := _binary_kind(stream)):
                kind = sniffed
            else:
                kind, lines = _sniff(lines)
            if kind in ("parquet", "xlsx"):
                data = io.BytesIO(stream.read())
                binary = _parquet_records if kind == "parquet" else _xlsx_records
                return binary(data, name, required, one_of, read)
        except UNREADABLE as exc:  # a gzip stream cut short or corrupt, met while sniffing it
            raise _unreadable(name, exc) from None
        return text_records(lines, kind, name, required, one_of, read)
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    kind = format_of(path, fmt)
    if kind == "parquet":
        return _parquet_records(path, str(path), required, one_of, read)
    if kind == "xlsx":
        return _xlsx_records(path, str(path), required, one_of, read)
    packed = compression_of(path)
    try:
        handle = CODECS[packed].open(path, "rb") if packed else path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return text_records(decoded_lines(handle, str(path)), kind, str(path), required, one_of, read, handle)
    except BaseException:  # the header cannot be used: nothing will read on to close the file
        handle.close()
        raise


def _missing_columns(names: set[str], required: list[str], one_of: list[str]) -> list[str]:
    missing = [c for c in required if c not in names]
    if one_of and not names.intersection(one_of):
        missing.append(" or ".join(one_of))
    return missing


def text_records(
    lines: Iterator[str],
    kind: Format,
    name: str,
    required: list[str],
    one_of: list[str],
    read: Collection[str],
    handle: BinaryIO | None = None,
) -> Iterator[Record]:
    if kind == "jsonl":
        return _Closing((Record(n, data, problem) for n, data, problem in jsonl_records(lines)), handle, name)
    header, rows = csv_records(lines, delimiter="\t" if kind == "tsv" else ",", name=name)
    if not header:
        wanted = ", ".join([*required, "|".join(one_of)]) if required or one_of else "column names"
        raise InputError(f"{name}: empty file; expected a header row with {wanted}")
    problem = header_problem(header, required, one_of, read)
    if problem:
        raise InputError(f"{name} line 1: {problem}")
    return _Closing((Record(n, data, problem) for n, data, problem in rows), handle, name)


class _Closing(Iterator[Record]):
    """A file's records, the file closed when they run out or fail, or when they are closed, read or
    not (a generator closed before its first record would not run its `finally`)."""

    def __init__(self, records: Iterator[Record], handle: BinaryIO | None, name: str) -> None:
        self._records, self._handle, self._name = records, handle, name

    def __next__(self) -> Record:
        try:
            return next(self._records)
        except InputError as exc:
            self.close()
            text = str(exc)
            raise InputError(text if text.startswith(self._name) else f"{self._name} {text}") from None
        except BaseException:  # StopIteration included
            self.close()
            raise

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def __del__(self) -> None:  # records left unread, as a generator's `finally` would
        self.close()


def _parquet_records(
    source, name: str, required: list[str], one_of: list[str], read: Collection[str]
) -> Iterator[Record]:
    pa, pq = pyarrow_modules()
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{name}: not a readable Parquet file ({exc})") from None
    problem = header_problem(parquet.schema_arrow.names, required, one_of, read, "the Parquet schema")
    if problem:
        raise InputError(f"{name}: {problem}")

    def records() -> Iterator[Record]:
        number = 0
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH):
                for data in batch.to_pylist():
                    number += 1
                    yield Record(number, data, unit="row")
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{name} row {number + 1}: cannot be read ({exc})") from None

    return records()


# How a workbook stores the control characters XML cannot hold (`_x000D_`, a carriage return) and an
# underscore that would read as such an escape (`_x005F_`); no other text is touched.
_EXCEL_ESCAPE = re.compile(r"_x(00[01][0-9A-Fa-f]|005[Ff])_")


def _excel_cell(cell) -> object:
    """A workbook cell as the other readers give it: an error cell (`#N/A`, `#SPILL!`…: nothing Excel
    could compute) blank, text unescaped, a date without a midnight time."""
    value = cell.value
    if cell.data_type == "e":
        return None
    if isinstance(value, str):
        return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    return value


def _xlsx_records(
    source, name: str, required: list[str], one_of: list[str], read: Collection[str]
) -> Iterator[Record]:
    """The rows of a workbook's first visible sheet, streamed, under the names in its first row; each
    told by the row number the spreadsheet shows. A formula reads as the value last computed (blank
    where the file was never opened in a spreadsheet)."""
    import warnings

    import openpyxl

    # Data validation, conditional formatting…: openpyxl warns that it drops them; grading reads values.
    warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
    handle = source if isinstance(source, io.IOBase) else None
    try:
        if handle is None:
            # By handle: openpyxl refuses a path of another suffix. Closed with the workbook.
            handle = Path(source).open("rb")  # noqa: SIM115
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # a zip that is no workbook, a broken part: openpyxl raises many kinds
        if handle is not None:
            handle.close()
        raise InputError(f"{name}: not a readable Excel workbook ({exc}); save it again as .xlsx") from None

    def close() -> None:
        book.close()
        handle.close()

    try:
        sheets = book.worksheets
        sheet = next((w for w in sheets if w.sheet_state == "visible"), sheets[0] if sheets else None)
        if sheet is None:
            raise InputError(f"{name}: the workbook has no sheet")
        # Read-only mode trusts the size a sheet records, which some exporters get wrong: rows past it
        # would be dropped without a word.
        sheet.reset_dimensions()
        rows = sheet.iter_rows()  # cells, not values: an error cell is told by its type, not its text
        header = [
            None if is_missing(c) or not str(c).strip() else str(c) for c in map(_excel_cell, next(rows, ()))
        ]
    except InputError:
        close()
        raise
    except Exception as exc:
        close()
        raise InputError(f"{name}: not a readable Excel workbook ({exc}); save it again as .xlsx") from None
    names = [n for n in header if n is not None]
    if names:
        problem = header_problem(names, required, one_of, read, f"row 1 of sheet {sheet.title!r}")
    else:
        wanted = ", ".join([*required, "|".join(one_of)])
        problem = f"sheet {sheet.title!r} has no header in row 1; expected {wanted}"
    if problem:
        close()
        raise InputError(f"{name}: {problem}")

    def records() -> Iterator[Record]:
        number = 1
        try:
            for number, values in enumerate(rows, start=2):
                # A row may run shorter or longer than the header: cells without a name are not read.
                cells = zip(header, map(_excel_cell, values), strict=False)
                data = {n: v for n, v in cells if n is not None}
                if any(not is_missing(v) and str(v).strip() for v in data.values()):  # blank rows are skipped
                    yield Record(number, data, unit="row")
        except Exception as exc:  # openpyxl reads lazily: a broken part shows only here
            raise InputError(f"{name} row {number + 1}: cannot be read ({exc})") from None
        finally:
            close()

    rows_read = records()
    weakref.finalize(rows_read, close)  # closed even if the run stops before reading a row
    return rows_read


# ---- writers -------------------------------------------------------------------------------------


def csv_cells(record: dict, fields: list[str]) -> list[object]:
    """A record as CSV cells: lists (and objects) as JSON, None as empty."""

    def cell(value: object) -> object:
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        return "" if value is None else value

    return [cell(record.get(k)) for k in fields]
