"""Hand-picked values per format with the answer written down (kernel and reference)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dqgate._kernels import format_valid, reference

VALID: dict[str, list[str]] = {
    "email": ["a@b.cc", "name123@domain.tld", "first.last+tag@sub.example.co.uk", "x_%-.@a-1.io", "." * 64 + "@b.cc",
              "a@" + "b" * 240 + ".com", "A@B.CO", "a@-.cc"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000",
             "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "aBcDeF01-2345-6789-abcd-EF0123456789"],
    "url": ["http://example.com", "https://a", "FTP://files.example.org/pub", "http://x.com:8080/a/b?c=d#e",
            "https://[::1]/", "http://[2001:db8::1]:443", "http://..", "https://h:1", "http://a?", "http://a#f",
            "Https://a/~!$&'()*+,;=%20"],
    "ipv4": ["0.0.0.0", "1.2.3.4", "255.255.255.255", "10.0.0.1", "192.168.100.200"],
    "ipv6": ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "2001:db8::ff00:42:8329", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
             "::ffff:192.0.2.1", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "fe80::1:2.3.4.5", "ABCD:ef01::0"],
    "iso_date": ["2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31", "2023-01-31", "2023-04-30"],
    "iso_datetime": ["2024-02-29T00:00", "2024-02-29 23:59", "2024-01-01T12:30:59", "2024-01-01T12:30:59.5",
                     "2024-01-01T12:30:59.123456789", "2024-01-01T12:30Z", "2024-01-01T12:30:00+05:30",
                     "2024-01-01T12:30:00.1-23:59"],
    "luhn": ["4111111111111111", "5500000000000004", "340000000000009", "000000000000", "4012888888881881",
             "6011111111111117", "3530111333300000"],
    "iban": ["GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606", "NL91ABNA0417164300",
             "BE68539007547034", "NO9386011117947", "MT84MALT011000012345MTLCAST001S",
             "LC55HEMM000100010012001200023015"],
    "json": ["0", "-0", "1.5e-3", '""', '"\\u00e9\\ud800"', "true", "false", "null", "[]", "{}", ' [1, {"a": [null]}] ',
             '{"a":1,"a":2}', '"é😀"', "\t\n\r 1 \r\n", "-1E+999", '"\x7f"', "[" * 512 + "]" * 512],
}  # fmt: skip

INVALID: dict[str, list[str]] = {
    "email": ["", "a@b", "a@b.c", "@b.cc", "a@@b.cc", "a@b@c.cc", "a b@c.cc", "a@b..cc", "a@.b.cc", "a@b.cc.",
              "a@b.c1", "a@b.cc ", " a@b.cc", "é@b.cc", "a" * 65 + "@b.cc", "a@" + "b" * 250 + ".com",
              "a@b_c.cc", "a@cc"],
    "uuid": ["123e4567e89b12d3a456426614174000", "{123e4567-e89b-12d3-a456-426614174000}",
             "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-4266141740000",
             "g23e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456_426614174000", ""],
    "url": ["", "http://", "http:/x.com", "mailto:a@b.cc", "http://a b", "http://a:", "http://a:123456",
            "http://user@host", "http://[::1", "http://[1::2::3]/", "http://a/ b", "http://a/\x7f", "gopher://a",
            "http://a:8080x", "https//a", "http://é.com", "http://[]"],
    "ipv4": ["", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1.2.3.4 ", "1..3.4", "a.b.c.d",
             "1.2.3.-4", "1000.1.1.1", "1.2.3.4."],
    "ipv6": ["", ":", ":::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3", ":1::", "1::2:", "12345::",
             "g::", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "fe80::1%eth0", "[::1]", "::1.2.3", "::256.1.1.1",
             "::01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4::", "::1.2.3.4:5", "::ffff:1.2.3.4.5", "1:::2"],
    "iso_date": ["2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-01-00", "2024-04-31", "0000-01-01",
                 "2024-1-01", "2024/01/01", "24-01-01", "2024-01-01 ", "2024-01-01T00:00", "", "２０２４-01-01"],
    "iso_datetime": ["2024-01-01", "2024-01-01T", "2024-01-01T24:00", "2024-01-01T12:60", "2024-01-01T12:30:60",
                     "2024-01-01T12:30:00.", "2024-01-01T12:30:00.1234567890", "2024-01-01T12:30.5",
                     "2024-01-01t12:30", "2024-01-01T12:30z", "2024-01-01T12:30+05", "2024-01-01T12:30+0530",
                     "2024-01-01T12:30+24:00", "2023-02-29T00:00", "2024-01-01T12:30:00ZZ", "2024-01-01  12:30"],
    "luhn": ["4111111111111112", "4111 1111 1111 1111", "4111-1111-1111-1111", "41111111111", "0" * 20, "",
             "411111111111111a", "79927398713 "],
    "iban": ["GB82WEST12345698765433", "gb82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "GB82west12345698765432",
             "G182WEST12345698765432", "GBX2WEST12345698765432", "NO938601111794", "GB82WEST1234569876543" + "0" * 14, ""],
    "json": ["", " ", "NaN", "Infinity", "-Infinity", "nan", "01", "1.", ".5", "+1", "-", "1e", "[1,]", "{,}",
             '{"a"}', '{"a":}', "{1:2}", "'a'", '"\\x41"', '"\\u00g0"', '"a', '"\t"', "[1 2]", "tru", "nul",
             "\ufeff1", "1 2", "// c\n1", "[" * 513 + "]" * 513, '"\\ud800'],
}  # fmt: skip

CASES = [(fmt, v, True) for fmt, vs in VALID.items() for v in vs] + [
    (fmt, v, False) for fmt, vs in INVALID.items() for v in vs
]
RAW_INVALID = [  # bytes that are not UTF-8, or are but only in a way that must fail
    ("json", b'"\xff"'), ("json", b'"\xc0\xaf"'), ("json", b'"\xed\xa0\x80"'), ("json", b'"\xf4\x90\x80\x80"'),
    ("json", b'"\xe2\x82"'), ("json", b"\xef\xbb\xbf1"), ("email", b"a\xff@b.cc"), ("uuid", b"\x00" * 36),
    ("luhn", b"4111111111111111\x00"), ("url", b"http://a/\xff"), ("ipv6", b"::\x80"),
]  # fmt: skip


@pytest.mark.parametrize(("fmt", "value", "valid"), CASES)
def test_example(fmt: str, value: str, valid: bool) -> None:
    raw = value.encode("utf-8", "surrogatepass")
    assert reference.CHECKS[fmt](raw) is valid
    assert format_valid(pa.array([value, None]), fmt).to_pylist() == [valid, None]


@pytest.mark.parametrize(("fmt", "raw"), RAW_INVALID)
def test_raw_bytes_invalid(fmt: str, raw: bytes) -> None:
    assert reference.CHECKS[fmt](raw) is False
    assert format_valid(pa.array([raw], pa.binary()).view(pa.string()), fmt).to_pylist() == [False]


def test_every_format_has_examples() -> None:
    assert set(VALID) == set(INVALID) == set(reference.FORMATS)
