"""Plain-Python twin of every kernel: the oracle in tests, the fallback when not compiled.

The format rules are written down in the docstring of ``formats.pyx``; this module
implements the same rules a second, independent way (anchored regular expressions
over bytes plus explicit arithmetic, and :func:`json.loads` for JSON) so that the
tests comparing the two catch a mistake in either. Every check takes the raw bytes
of one value, so invalid UTF-8 is handled exactly as the kernels handle it.
"""

from __future__ import annotations

import calendar
import json
import re
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

FORMATS: tuple[str, ...] = (
    "email", "uuid", "url", "ipv4", "ipv6", "iso_date", "iso_datetime", "luhn", "iban", "json",
)  # fmt: skip
JSON_MAX_DEPTH = 512

# `fullmatch` on bytes patterns: `\d` and case folding are ASCII-only, `$` has no newline loophole.
_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
_UUID = re.compile(rb"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_URL = re.compile(rb"(?i:https?|ftp)://(?:[A-Za-z0-9.-]+|\[([^\]]*)\])(?::[0-9]{1,5})?(?:[/?#][\x21-\x7e]*)?")
_OCTET = re.compile(rb"0|[1-9][0-9]{0,2}")
_HEXTET = re.compile(rb"[0-9A-Fa-f]{1,4}")
_DATE = re.compile(rb"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(rb"[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?(?:Z|[+-]([0-9]{2}):([0-9]{2}))?")
_LUHN = re.compile(rb"[0-9]{12,19}")
_IBAN = re.compile(rb"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def email(s: bytes) -> bool:
    """See ``formats.pyx``: local@domain with dotted labels and an alphabetic TLD."""
    return len(s) <= 254 and _EMAIL.fullmatch(s) is not None


def uuid(s: bytes) -> bool:
    """8-4-4-4-12 hex digits."""
    return _UUID.fullmatch(s) is not None


def url(s: bytes) -> bool:
    """http/https/ftp URL with a plain or bracketed-ipv6 host."""
    m = _URL.fullmatch(s)
    if m is None:
        return False
    return m.group(1) is None or ipv6(m.group(1))


def ipv4(s: bytes) -> bool:
    """Dotted quad, octets 0..255 without leading zeros."""
    parts = s.split(b".")
    return len(parts) == 4 and all(_OCTET.fullmatch(p) and int(p) <= 255 for p in parts)


def ipv6(s: bytes) -> bool:
    """RFC 4291 text form, with ``::`` and an optional trailing ipv4, no zone id."""
    implied = 0
    if b"." in s:  # the last two groups are an ipv4 address
        cut = s.rfind(b":")
        if cut < 0 or not ipv4(s[cut + 1 :]):
            return False
        s = s[: cut + 1] if s[: cut + 1].endswith(b"::") else s[:cut]
        implied = 2
    if b":::" in s or s.count(b"::") > 1:
        return False
    if b"::" in s:
        left, right = s.split(b"::")
        groups = (left.split(b":") if left else []) + (right.split(b":") if right else [])
        limit_ok = len(groups) + implied <= 7
    else:
        groups = s.split(b":") if s else []
        limit_ok = len(groups) + implied == 8
    return limit_ok and all(_HEXTET.fullmatch(g) for g in groups)


def _date_ok(year: int, month: int, day: int) -> bool:
    return year >= 1 and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def iso_date(s: bytes) -> bool:
    """YYYY-MM-DD, a real calendar day in 0001..9999."""
    m = _DATE.fullmatch(s)
    return m is not None and _date_ok(*(int(g) for g in m.groups()))


def iso_datetime(s: bytes) -> bool:
    """iso_date, ``T`` or space, HH:MM[:SS[.f{1,9}]], optional ``Z`` or ``±HH:MM``."""
    date = _DATE.match(s)
    if date is None or not _date_ok(*(int(g) for g in date.groups())):
        return False
    m = _TIME.fullmatch(s, 10)
    if m is None:
        return False
    hh, mm, ss, oh, om = (int(g) if g is not None else 0 for g in m.groups())
    return hh <= 23 and mm <= 59 and ss <= 59 and oh <= 23 and om <= 59


def luhn(s: bytes) -> bool:
    """12..19 digits passing the Luhn checksum."""
    if _LUHN.fullmatch(s) is None:
        return False
    total = 0
    for pos, ch in enumerate(reversed(s)):
        d = ch - 48
        if pos % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban(s: bytes) -> bool:
    """Country, check digits, 11..30 upper-case alphanumerics; mod 97 == 1."""
    if _IBAN.fullmatch(s) is None:
        return False
    digits = "".join(str(int(chr(c), 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def _max_depth(text: str) -> int:
    """Deepest nesting of arrays/objects outside strings (exact for well-formed JSON)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str) -> None:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def _ignore_number(text: str) -> int:
    return 0  # no int()/float(): int() refuses numbers over 4300 digits


def json_text(s: bytes) -> bool:
    """An RFC 8259 JSON text in strict UTF-8, nesting at most 512 deep."""
    try:
        text = s.decode("utf-8")  # strict: no overlongs, surrogates or > U+10FFFF
    except UnicodeDecodeError:
        return False
    if text.count("[") + text.count("{") > JSON_MAX_DEPTH and _max_depth(text) > JSON_MAX_DEPTH:
        return False
    try:  # the C scanner: ASCII digits and [ \t\n\r] whitespace only, like RFC 8259
        json.loads(text, parse_constant=_reject_constant, parse_int=_ignore_number, parse_float=_ignore_number)
    except (ValueError, RecursionError):
        return False
    return True


CHECKS: dict[str, Callable[[bytes], bool]] = {
    "email": email,
    "uuid": uuid,
    "url": url,
    "ipv4": ipv4,
    "ipv6": ipv6,
    "iso_date": iso_date,
    "iso_datetime": iso_datetime,
    "luhn": luhn,
    "iban": iban,
    "json": json_text,
}


def valid_list(values: Sequence[bytes | None], fmt: str) -> list[bool | None]:
    """Per-value validity: ``None`` stays ``None``."""
    check = CHECKS[fmt]
    return [None if v is None else check(v) for v in values]


def count_invalid(values: Sequence[bytes | None], fmt: str) -> tuple[int, int]:
    """``(invalid, non_null)`` over the values."""
    check = CHECKS[fmt]
    present = [v for v in values if v is not None]
    return sum(not check(v) for v in present), len(present)


def mark_keys(offsets: Sequence[int], seen: Any, twice: Any, span: int) -> int | None:
    """Twin of ``keys.mark``: bit v of ``seen`` on a first sight of v, of ``twice`` on the second."""
    if span < 0 or len(seen) * 8 < span or len(twice) * 8 < span:
        raise ValueError(f"bitmaps of {len(seen)} and {len(twice)} bytes cannot hold {span} values")
    singles = 0
    for v in offsets:
        if v >= span:
            return None
        byte, bit = v >> 3, 1 << (v & 7)
        if seen[byte] & bit:
            if not twice[byte] & bit:
                twice[byte] |= bit
                singles -= 1
        else:
            seen[byte] |= bit
            singles += 1
    return singles


# DFA tables built by ``dqgate.compilers.regex_dfa`` for the native ``dq_dfa_match``; the layout is
# described there: version, S, C, start, 256 byte classes, S accept flags, S*C transitions.
DFA_HEADER = 260


def dfa_table_ok(table: bytes) -> bool:
    """Whether ``table`` is a well-formed DFA table: the C executor trusts it, so check before handing it over.

    Version 1; 2 <= S <= 255 states and 1 <= C <= 255 classes; exact length; start, byte classes
    and transitions in range; accept flags 0/1; state 0 dead (non-accepting, all moves to 0).
    """
    if len(table) < DFA_HEADER or table[0] != 1:
        return False
    n_states, n_classes, start = table[1], table[2], table[3]
    if n_states < 2 or n_classes < 1 or start >= n_states:
        return False
    if len(table) != DFA_HEADER + n_states + n_states * n_classes:
        return False
    if max(table[4:DFA_HEADER]) >= n_classes:
        return False
    accept = table[DFA_HEADER : DFA_HEADER + n_states]
    moves = table[DFA_HEADER + n_states :]
    if any(flag > 1 for flag in accept) or accept[0] != 0:
        return False
    return max(moves) < n_states and not any(moves[:n_classes])


def dfa_full_match(table: bytes, value: bytes) -> bool:
    """Twin of ``dq_dfa_match``: run the DFA over every byte of ``value``; stop early in dead state 0."""
    n_states, n_classes, state = table[1], table[2], table[3]
    byte_class = table[4:DFA_HEADER]
    moves = table[DFA_HEADER + n_states :]
    for byte in value:
        state = moves[state * n_classes + byte_class[byte]]
        if state == 0:
            return False
    return table[DFA_HEADER + state] == 1


def reason_codes(masks: Sequence[np.ndarray], length: int) -> np.ndarray:
    """OR ``mask_k << k`` over bool arrays of one length into uint64 codes."""
    out = np.zeros(length, dtype=np.uint64)
    for k, mask in enumerate(masks):
        out |= mask.astype(np.uint64) << np.uint64(k)
    return out
