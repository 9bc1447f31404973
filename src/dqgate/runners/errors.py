"""Turn an engine's exception into one clear dqgate error line."""

from __future__ import annotations

import csv
import gzip
import os
import re

from dqgate.errors import DataError

_CSV_SCAN_ROWS = 1_000_000


def first_line(exc: BaseException) -> str:
    """The engine's message without its stack, hints and repeated prefixes."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text).strip()  # decoders echo raw bytes of a corrupt file
    return re.sub(r"^([A-Za-z]+ )*Error: ", "", text)


def data_error(exc: BaseException, uri: str) -> DataError:
    """A DataError for an engine failure while reading ``uri``."""
    msg = first_line(exc)
    low = msg.lower()
    cell = csv_cell_problem(str(exc))
    ragged = None if cell else csv_shape_problem(uri)
    if cell:
        msg = cell
    elif ragged:
        msg = f"malformed CSV: {ragged}"
    elif "magic bytes" in low or "not a parquet file" in low or "invalid parquet" in low or "corrupt" in low:
        msg = f"not a valid Parquet file ({msg})"
    elif type(exc).__name__ == "Error":  # DuckDB's bare Error: a page or header its decoder cannot read
        msg = f"the file is corrupt ({msg.strip().rstrip(':')})"
    return DataError(f"{uri}: cannot read the data: {msg}", uri=uri)


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_CONVERT = re.compile(r'Error when converting column "(?P<column>[^"]*)"\. (?P<why>Could not convert [^\n]*)')


def csv_cell_problem(message: str) -> str | None:
    """``line 12, column 'hue': Could not convert string "abc" to 'DOUBLE'`` from DuckDB's
    CSV reader's many-line report, whose first line names only the line."""
    line, convert = _CSV_LINE.search(message), _CSV_CONVERT.search(message)
    if not line or not convert:
        return None
    return f"line {line.group(1)}, column '{convert.group('column')}': {convert.group('why').strip()}"


def csv_shape_problem(path: str) -> str | None:
    """The first row whose field count differs from the header's, in a .csv/.tsv file, or None.

    DuckDB's sniffer meets a ragged file by guessing another dialect (one column,
    or skipped lines) and then reports a confusing binder error, or none at all;
    this names the line to fix. Only called once reading has already gone wrong.
    """
    lower = path.lower()
    if not lower.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")) or not os.path.isfile(path):
        return None
    delim = "\t" if lower.endswith((".tsv", ".tsv.gz")) else ","
    opener = gzip.open if lower.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:  # type: ignore[operator]
            rows = csv.reader(fh, delimiter=delim)
            header = next(rows, None)
            if header is None:
                return None
            for number, row in enumerate(rows, start=2):
                if number > _CSV_SCAN_ROWS:
                    break
                if row and len(row) != len(header):
                    fields = f"{len(row)} field" + ("" if len(row) == 1 else "s")
                    return f"line {rows.line_num} has {fields}, but the header has {len(header)}"
    except (OSError, csv.Error, EOFError):
        return None
    return None
