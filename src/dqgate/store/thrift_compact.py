"""Thrift's compact protocol, read and written losslessly: what a Parquet footer is made of.

A Parquet footer is one Thrift struct (``FileMetaData``) in the compact protocol.
Two jobs need it without pyarrow: a verified read finds its column chunks in it
(``store/parquet_footer.py``), and a page-copy publish (``store/page_copy.py``)
writes a batch's own footer again with the stamp added to its key-value metadata.
The second job needs a decoder that keeps every field's wire type and order, so
that encoding what was decoded gives the same bytes back (a footer from another
writer keeps the fields this module knows nothing about), and an encoder.

Written after the Apache Thrift specification (``doc/specs/thrift-compact-protocol.md``):

* a struct is a sequence of fields and a stop byte 0; a field header is one byte
  ``delta << 4 | type`` when the id grows by 1..15, else the type byte and the id as
  a zigzag varint; a boolean field carries its value in the type (1 true, 2 false);
* i16, i32 and i64 are zigzag varints; a byte is one byte; a double is 8 bytes,
  little-endian; binary is a varint length and the bytes; a uuid is 16 bytes;
* a list or set header is ``size << 4 | element type`` for up to 14 elements, else
  ``0xF0 | element type`` and the size as a varint; boolean elements are one byte;
* a map is a varint size, then (when not empty) one byte ``key type << 4 | value type``.

Input is bounded: nesting depth, lengths inside the buffer; a malformed buffer
raises ``ValueError`` (the callers turn it into their own error).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 64

# wire type ids (a struct field's boolean is TRUE or FALSE; a list's boolean elements are BOOL)
TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT, UUID = range(1, 14)
BOOL = FALSE


@dataclass
class ThriftList:
    """A list (or set, ``kind`` SET) of values of one element type."""

    element: int
    items: list[Any]
    kind: int = LIST


@dataclass
class ThriftMap:
    """A map: its key and value element types and its pairs, in wire order."""

    key: int
    value: int
    pairs: list[tuple[Any, Any]]


@dataclass
class Field:
    """One struct field: its id, its wire type and its value (a boolean field's value is its type)."""

    id: int
    type: int
    value: Any


@dataclass
class Struct:
    """A struct's fields in wire order (fields this module does not know are kept as they are)."""

    fields: list[Field] = field(default_factory=list)

    def get(self, field_id: int, default: Any = None) -> Any:
        for f in self.fields:
            if f.id == field_id:
                return f.value
        return default

    def __getitem__(self, field_id: int) -> Any:
        for f in self.fields:
            if f.id == field_id:
                return f.value
        raise KeyError(field_id)

    def __contains__(self, field_id: object) -> bool:
        return any(f.id == field_id for f in self.fields)

    def put(self, field_id: int, kind: int, value: Any) -> None:
        """Set field ``field_id`` (replacing it where it is, else inserting it in id order)."""
        for i, f in enumerate(self.fields):
            if f.id == field_id:
                self.fields[i] = Field(field_id, kind, value)
                return
        at = next((i for i, f in enumerate(self.fields) if f.id > field_id), len(self.fields))
        self.fields.insert(at, Field(field_id, kind, value))


class _Reader:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = bytes(data)
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise ValueError("Thrift data ends early")
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
                raise ValueError("Thrift varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise ValueError("Thrift field runs past the end of the data")
        self.at += n
        return self.data[self.at - n : self.at]

    def value(self, kind: int, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError("Thrift data nested too deeply")
        if kind in (TRUE, FALSE):  # a field's boolean: its value is its type, no bytes follow
            return kind == TRUE
        if kind == BYTE:
            return self.byte()
        if kind in (I16, I32, I64):
            return self.zigzag()
        if kind == DOUBLE:
            return struct.unpack("<d", self.take(8))[0]
        if kind == BINARY:
            return self.take(self.varint())
        if kind == UUID:
            return self.take(16)
        if kind in (LIST, SET):
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            if size > len(self.data) - self.at:  # every element takes at least one byte
                raise ValueError("Thrift list longer than the data")
            if element in (TRUE, FALSE):  # an element's boolean is one byte of its own
                return ThriftList(element, [self.byte() for _ in range(size)], kind)
            return ThriftList(element, [self.value(element, depth + 1) for _ in range(size)], kind)
        if kind == MAP:
            size = self.varint()
            if not size:
                return ThriftMap(0, 0, [])
            if size > len(self.data) - self.at:
                raise ValueError("Thrift map longer than the data")
            kinds = self.byte()
            k, v = kinds >> 4, kinds & 0x0F
            return ThriftMap(k, v, [(self._element(k, depth), self._element(v, depth)) for _ in range(size)])
        if kind == STRUCT:
            return self.structure(depth + 1)
        raise ValueError(f"unknown Thrift type {kind}")

    def _element(self, kind: int, depth: int) -> Any:
        return self.byte() if kind in (TRUE, FALSE) else self.value(kind, depth + 1)

    def structure(self, depth: int) -> Struct:
        out = Struct()
        last = 0
        while True:
            header = self.byte()
            if header == 0:
                return out
            delta, kind = header >> 4, header & 0x0F
            last = last + delta if delta else self.zigzag()
            out.fields.append(Field(last, kind, self.value(kind, depth)))


def decode(data: bytes | memoryview, *, exact: bool = True) -> Struct:
    """The struct encoded in ``data``; with ``exact``, it must take every byte.

    Raises:
        ValueError: ``data`` is not a compact-protocol struct.
    """
    reader = _Reader(data)
    out = reader.structure(0)
    if exact and reader.at != len(reader.data):
        raise ValueError(f"{len(reader.data) - reader.at} bytes follow the Thrift struct")
    return out


def _varint(n: int, out: bytearray) -> None:
    if n < 0:
        raise ValueError("Thrift varint of a negative number")
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(n: int, out: bytearray) -> None:
    _varint((n << 1) ^ (n >> 63), out)


def _write_value(kind: int, value: Any, out: bytearray) -> None:
    if kind in (TRUE, FALSE):
        return
    if kind == BYTE:
        out.append(value & 0xFF)
    elif kind in (I16, I32, I64):
        _zigzag(int(value), out)
    elif kind == DOUBLE:
        out += struct.pack("<d", value)
    elif kind == BINARY:
        _varint(len(value), out)
        out += value
    elif kind == UUID:
        if len(value) != 16:
            raise ValueError("a Thrift uuid is 16 bytes")
        out += value
    elif kind in (LIST, SET):
        items = value.items
        if len(items) < 15:
            out.append(len(items) << 4 | value.element)
        else:
            out.append(0xF0 | value.element)
            _varint(len(items), out)
        for item in items:
            _write_element(value.element, item, out)
    elif kind == MAP:
        _varint(len(value.pairs), out)
        if value.pairs:
            out.append(value.key << 4 | value.value)
            for k, v in value.pairs:
                _write_element(value.key, k, out)
                _write_element(value.value, v, out)
    elif kind == STRUCT:
        _write_struct(value, out)
    else:
        raise ValueError(f"unknown Thrift type {kind}")


def _write_element(kind: int, value: Any, out: bytearray) -> None:
    if kind in (TRUE, FALSE):  # one byte, as read (1 true; writers differ on false)
        out.append(int(value) & 0xFF)
    else:
        _write_value(kind, value, out)


def _write_struct(value: Struct, out: bytearray) -> None:
    last = 0
    for f in value.fields:
        kind = f.type
        if kind in (TRUE, FALSE) and isinstance(f.value, bool):
            kind = TRUE if f.value else FALSE
        delta = f.id - last
        if 0 < delta <= 15:
            out.append(delta << 4 | kind)
        else:
            out.append(kind)
            _zigzag(f.id, out)
        _write_value(kind, f.value, out)
        last = f.id
    out.append(0)


def encode(value: Struct) -> bytes:
    """The compact-protocol bytes of ``value`` (``decode(encode(s))`` gives ``s`` back)."""
    out = bytearray()
    _write_struct(value, out)
    return bytes(out)
