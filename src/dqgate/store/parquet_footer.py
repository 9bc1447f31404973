"""Where each column chunk of a Parquet file lies, read from its footer without pyarrow.

A verified read checks the segments that hold the column chunks it will read
(``store/staging.py``), so it must know where the chunks are before any reader
runs. pyarrow's ``read_metadata`` knows, but importing pyarrow costs a Polars-only
training job more than its whole verification (``benchmarks/bench_read.py``).
The footer is a Thrift struct in the compact protocol, and only a handful of its
fields are needed (FileMetaData.row_groups → RowGroup.columns → ColumnChunk.meta_data
→ path_in_schema, total_compressed_size, data_page_offset, dictionary_page_offset),
so this module decodes the compact protocol generically (about 60 lines, after the
Apache Thrift specification ``doc/specs/thrift-compact-protocol.md``) and picks them out.

The bytes parsed here were verified against the manifest first, so a malformed
footer is a publishing bug, not an attack; it still raises :class:`StampError`
rather than anything else (nesting is bounded, lengths are checked).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from dqgate.errors import StampError

MAX_DEPTH = 64

# compact protocol type ids
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)


@dataclass(frozen=True)
class Chunk:
    """One column chunk: the top-level column it belongs to, and its byte range in the file."""

    column: str
    start: int
    length: int


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise ValueError("footer ends early")
        self.at += 1
        return self.data[self.at - 1]

    def varint(self) -> int:
        out, shift = 0, 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7
            if shift > 70:
                raise ValueError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise ValueError("field runs past the footer")
        self.at += n
        return self.data[self.at - n : self.at]

    def value(self, kind: int, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError("footer nested too deeply")
        if kind in (_TRUE, _FALSE):  # a struct field's boolean is in its type; a list's is a byte
            return kind == _TRUE
        if kind == _BYTE:
            return self.byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            return struct.unpack("<d", self.take(8))[0]
        if kind == _BINARY:
            return self.take(self.varint())
        if kind in (_LIST, _SET):
            header = self.byte()
            size, item = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            if item in (_TRUE, _FALSE):
                return [self.byte() == 1 for _ in range(size)]
            return [self.value(item, depth + 1) for _ in range(size)]
        if kind == _MAP:
            size = self.varint()
            if not size:
                return {}
            kinds = self.byte()
            return {self.value(kinds >> 4, depth + 1): self.value(kinds & 0x0F, depth + 1) for _ in range(size)}
        if kind == _STRUCT:
            return self.structure(depth + 1)
        raise ValueError(f"unknown Thrift type {kind}")

    def structure(self, depth: int) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        last = 0
        while True:
            header = self.byte()
            if header == 0:
                return fields
            delta, kind = header >> 4, header & 0x0F
            last = last + delta if delta else self.zigzag()
            fields[last] = self.value(kind, depth)


def column_chunks(footer: bytes, *, where: str) -> list[list[Chunk]]:
    """Per row group, its column chunks, from ``footer`` (the Thrift FileMetaData, without length and magic).

    A chunk starts at its dictionary page when it has one, else at its first data
    page, and is ``total_compressed_size`` bytes long: the range
    :func:`~dqgate.store.segments.boundaries` cut the file at when it was published.

    Raises:
        StampError: the footer is not a Parquet FileMetaData.
    """
    try:
        meta = _Reader(footer).structure(0)
        groups = []
        for group in meta[4]:  # required, as are a chunk's offsets and size
            chunks = []
            for chunk in group.get(1, []):
                column = chunk[3]
                dictionary = column.get(11)
                start = dictionary if dictionary else column[9]
                chunks.append(Chunk(column[3][0].decode("utf-8", "replace"), int(start), int(column[7])))
            groups.append(chunks)
        return groups
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise StampError(f"{where}: unreadable Parquet footer: {exc}") from exc
