"""Hypothesis strategies for the kernel tests: per-format values near the border of validity.

Each format gets valid values built from its grammar, the same values with a few
random edits drawn from the format's alphabet, random strings over that alphabet,
random bytes (invalid UTF-8 included), empty strings and ~10 kB strings.
"""

from __future__ import annotations

import json
import string
from typing import TYPE_CHECKING

import pyarrow as pa
from hypothesis import strategies as st

from dqgate._kernels import reference

if TYPE_CHECKING:
    from collections.abc import Sequence

ALPHABETS: dict[str, bytes] = {
    "email": b"abzAZ09._%+-@@..x \x80\xc3\xa9",
    "uuid": b"0123456789abcdefABCDEF-gG ",
    "url": b"hHtTpPsSfF:/[]09ab.-?#@ %:\x7f\x80",
    "ipv4": b"0123456789.:a ",
    "ipv6": b"0123456789abcdefABCDEF::..g% ",
    "iso_date": b"0123456789-T /",
    "iso_datetime": b"0123456789-T :.Z+-z",
    "luhn": b"0123456789 -a",
    "iban": b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789a ",
    "json": b'{}[]:,"\\ \t\n0123456789.eE+-truefalsnuNI\x00\x1f\x80\xc3\xa9\xed\xa0\xf0\x9f\x98\x80',
}

_HEX = "0123456789abcdefABCDEF"
_LOCAL = string.ascii_letters + string.digits + "._%+-"
_LABEL = string.ascii_letters + string.digits + "-"


def _text(alphabet: str, lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=lo, max_size=hi)


def _ipv4() -> st.SearchStrategy[str]:
    octet = st.one_of(st.integers(0, 255).map(str), st.sampled_from(["00", "01", "256", "999", "1234", ""]))
    return st.lists(octet, min_size=3, max_size=5).map(".".join)


def _ipv6() -> st.SearchStrategy[str]:
    group = _text(_HEX, 1, 4)
    full = st.lists(group, min_size=6, max_size=9).map(":".join)
    compressed = st.tuples(st.lists(group, max_size=8), st.lists(group, max_size=8)).map(
        lambda lr: ":".join(lr[0]) + "::" + ":".join(lr[1])
    )
    with_v4 = st.tuples(st.one_of(full, compressed), _ipv4()).map(lambda t: t[0] + ":" + t[1])
    return st.one_of(full, compressed, with_v4, st.just("::"))


def _iso_date() -> st.SearchStrategy[str]:
    year = st.one_of(st.integers(0, 9999), st.sampled_from([1900, 2000, 2023, 2024, 2100]))
    return st.tuples(year, st.integers(0, 13), st.integers(0, 32)).map(lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}")


def _iso_datetime() -> st.SearchStrategy[str]:
    two = st.integers(0, 61).map(lambda v: f"{v:02d}")
    parts = st.tuples(two, two, st.one_of(st.just(""), two.map(":{}".format)), _text(string.digits, 0, 11))
    time = parts.map(lambda t: f"{t[0]}:{t[1]}{t[2]}" + (f".{t[3]}" if t[2] and t[3] else ""))
    zone = st.one_of(st.just(""), st.just("Z"), st.tuples(st.sampled_from("+-"), two, two).map(lambda t: f"{t[0]}{t[1]}:{t[2]}"))
    return st.tuples(_iso_date(), st.sampled_from("T "), time, zone).map(lambda t: "".join(t))


def _luhn() -> st.SearchStrategy[str]:
    def complete(body: str) -> str:
        total = 0
        for pos, ch in enumerate(reversed(body)):
            d = int(ch) * (2 if pos % 2 == 0 else 1)
            total += d - 9 if d > 9 else d
        return body + str(-total % 10)

    return _text(string.digits, 10, 20).map(complete)


def _iban() -> st.SearchStrategy[str]:
    def complete(parts: tuple[str, str]) -> str:
        country, bban = parts
        digits = "".join(str(int(c, 36)) for c in bban + country + "00")
        return f"{country}{98 - int(digits) % 97:02d}{bban}"

    return st.tuples(_text(string.ascii_uppercase, 2, 2), _text(string.ascii_uppercase + string.digits, 10, 31)).map(
        complete
    )


def _json_value() -> st.SearchStrategy[object]:
    leaf = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8)
    )
    return st.recursive(
        leaf, lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=4), kids, max_size=4))
    )


def _json() -> st.SearchStrategy[str]:
    return st.tuples(_json_value(), st.booleans(), st.sampled_from([None, 0, 1])).map(
        lambda t: json.dumps(t[0], ensure_ascii=t[1], indent=t[2])
    )


_VALID: dict[str, st.SearchStrategy[str]] = {
    "email": st.tuples(_text(_LOCAL, 1, 66), st.lists(_text(_LABEL, 1, 8), min_size=1, max_size=3),
                       _text(string.ascii_letters, 1, 4)).map(
        lambda t: t[0] + "@" + ".".join([*t[1], t[2]])
    ),  # fmt: skip
    "uuid": st.tuples(*(_text(_HEX, k, k) for k in (8, 4, 4, 4, 12))).map("-".join),
    "url": st.tuples(
        st.sampled_from(["http", "HTTPS", "ftp", "Ftp", "htp", "https"]),
        st.sampled_from(["://", ":/", "//"]),
        st.one_of(_text(_LABEL + ".", 0, 12), _ipv6().map("[{}]".format)),
        st.one_of(st.just(""), _text(string.digits, 0, 7).map(":{}".format)),
        st.one_of(st.just(""), st.text(st.characters(min_codepoint=32, max_codepoint=127), max_size=12).map("/{}".format)),
    ).map("".join),
    "ipv4": _ipv4(),
    "ipv6": _ipv6(),
    "iso_date": _iso_date(),
    "iso_datetime": _iso_datetime(),
    "luhn": _luhn(),
    "iban": _iban(),
    "json": _json(),
}


@st.composite
def _edited(draw: st.DrawFn, base: bytes, alphabet: bytes) -> bytes:
    """A few random deletions, insertions and replacements."""
    value = bytearray(base)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "insert", "replace"]))
        pos = draw(st.integers(0, len(value)))
        byte = draw(st.sampled_from(alphabet))
        if op == "insert":
            value.insert(pos, byte)
        elif value and pos < len(value):
            if op == "delete":
                del value[pos]
            else:
                value[pos] = byte
    return bytes(value)


def near_valid(fmt: str) -> st.SearchStrategy[bytes]:
    """Bytes that are valid ``fmt``, almost valid, or anything at all."""
    valid = _VALID[fmt].map(lambda s: s.encode("utf-8", "surrogatepass"))
    alphabet = ALPHABETS[fmt]
    return st.one_of(
        valid,
        valid,
        valid.flatmap(lambda v: _edited(v, alphabet)),
        st.lists(st.sampled_from(alphabet), max_size=40).map(bytes),
        st.binary(max_size=40),
        st.just(b""),
    )


def long_value(fmt: str) -> st.SearchStrategy[bytes]:
    """About 10 kB: a valid value padded or repeated past every length limit."""
    valid = _VALID[fmt].map(lambda s: s.encode("utf-8", "surrogatepass"))
    return st.one_of(
        st.tuples(valid, st.integers(10_000 // 40, 10_000)).map(lambda t: t[0] * max(1, t[1] // max(1, len(t[0])))),
        st.just(b"[" + b"1," * 5_000 + b"1]"),
        st.just(b"a" * 10_000 + b"@example.com"),
        st.just(b"1" * 10_000),
    )


def values_of(fmt: str, *, max_size: int = 30, long: bool = True) -> st.SearchStrategy[list[bytes | None]]:
    """A column: near-valid values, some NULLs and (if ``long``) now and then a ~10 kB value."""
    common = near_valid(fmt)
    rare = st.one_of(st.none(), st.none(), st.none(), long_value(fmt)) if long else st.none()
    return st.lists(st.one_of(common, common, common, rare), max_size=max_size)


STRING_TYPES = ["string", "large_string", "string_view"]


def as_array(values: Sequence[bytes | None], kind: str) -> pa.Array:
    """Arbitrary bytes (invalid UTF-8 too) as a string array of the given type, unvalidated."""
    if kind == "string":
        return pa.array(values, pa.binary()).view(pa.string())
    if kind == "large_string":
        return pa.array(values, pa.large_binary()).view(pa.large_string())
    return pa.array(values, pa.binary_view()).view(pa.string_view())


def expected(values: Sequence[bytes | None], fmt: str) -> list[bool | None]:
    """The oracle: the reference check applied value by value."""
    return reference.valid_list(values, fmt)
