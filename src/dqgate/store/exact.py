"""Refuse what Parquet cannot hold exactly, before anything is written.

A snapshot must read back equal to the batch, schema included. Rather than keep a
list of Arrow types and how each Parquet writer version maps them (a list that goes
stale with every pyarrow release), the schema is probed: an empty table of it is
written with the store's writer settings and read back, and every column must come
back with the same type. A ``month_day_nano_interval`` or a union cannot be written
at all; a ``date64`` comes back as ``date32``, a ``time32[s]`` as ``time32[ms]``, a
dictionary of integers as plain integers: each is refused with the column named.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from dqgate.errors import DataError


def roundtrip_problem(schema: pa.Schema) -> str | None:
    """Why ``schema`` does not survive a Parquet round trip unchanged, or None."""
    for field in schema:
        one = pa.schema([field.remove_metadata()])
        sink = pa.BufferOutputStream()
        try:  # a file with no row groups: the schema alone (write_table would import pandas, ~1 s)
            pq.ParquetWriter(sink, one, compression="zstd").close()
            back = pq.ParquetFile(pa.BufferReader(sink.getvalue())).schema_arrow.field(0)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            return f"column '{field.name}' of type {field.type} cannot be stored in Parquet ({str(exc).splitlines()[0]})"
        if back.type != field.type:
            return f"column '{field.name}' of type {field.type} would read back from Parquet as {back.type}"
    return None


def refuse_inexact(schema: pa.Schema, *, where: str) -> None:
    """Raise ``DataError`` (one line) when a column of ``schema`` cannot be stored exactly.

    Raises:
        DataError: naming the column, its type and what Parquet would make of it.
    """
    problem = roundtrip_problem(schema)
    if problem is not None:
        raise DataError(f"{where}: {problem}; nothing was written (cast it to a type Parquet keeps)")
