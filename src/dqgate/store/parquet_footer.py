"""Where each column chunk of a Parquet file lies, read from its footer without pyarrow.

A verified read checks the segments that hold the column chunks it will read
(``store/staging.py``), so it must know where the chunks are before any reader
runs. pyarrow's ``read_metadata`` knows, but importing pyarrow costs a Polars-only
training job more than its whole verification (``benchmarks/bench_read.py``).
The footer is a Thrift struct in the compact protocol, and only a handful of its
fields are needed (FileMetaData.row_groups → RowGroup.columns → ColumnChunk.meta_data
→ path_in_schema, total_compressed_size, data_page_offset, dictionary_page_offset),
so this module decodes the footer with the generic compact-protocol reader
(``store/thrift_compact.py``, after the Apache Thrift specification) and picks them out.

The bytes parsed here were verified against the manifest first, so a malformed
footer is a publishing bug, not an attack; it still raises :class:`StampError`
rather than anything else (nesting is bounded, lengths are checked).
"""

from __future__ import annotations

from dataclasses import dataclass

from dqgate.errors import StampError
from dqgate.store.thrift_compact import decode


@dataclass(frozen=True)
class Chunk:
    """One column chunk: the top-level column it belongs to, and its byte range in the file."""

    column: str
    start: int
    length: int


def column_chunks(footer: bytes, *, where: str) -> list[list[Chunk]]:
    """Per row group, its column chunks, from ``footer`` (the Thrift FileMetaData, without length and magic).

    A chunk starts at its dictionary page when it has one, else at its first data
    page, and is ``total_compressed_size`` bytes long: the range
    :func:`~dqgate.store.segments.boundaries` cut the file at when it was published.

    Raises:
        StampError: the footer is not a Parquet FileMetaData.
    """
    try:
        meta = decode(footer, exact=False)
        groups = []
        for group in meta[4].items:  # required, as are a chunk's offsets and size
            chunks = []
            for chunk in group[1].items:
                column = chunk[3]
                dictionary = column.get(11)
                start = dictionary if dictionary else column[9]
                chunks.append(Chunk(column[3].items[0].decode("utf-8", "replace"), int(start), int(column[7])))
            groups.append(chunks)
        return groups
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise StampError(f"{where}: unreadable Parquet footer: {exc}") from exc
