"""The json format against Python's own parser, on random JSON-ish text.

Python's ``json.loads`` also accepts ``NaN``, ``Infinity`` and ``-Infinity``, which
RFC 8259 does not; the oracle here refuses them through ``parse_constant``.
"""

from __future__ import annotations

import json

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_values import ALPHABETS, near_valid

from dqgate._kernels import count_invalid, format_valid

TOKENS = ['{', '}', '[', ']', ':', ',', '"', '"a"', '\\', '\\u12', 'u00e9', ' ', '\n', '0', '-', '1', '.', 'e', 'E',
          '+', 'true', 'false', 'null', 'NaN', 'Infinity', '01', '1.5', '\x00', 'é', '\ud800']  # fmt: skip


def _python_accepts(raw: bytes) -> bool:
    def no_constants(name: str) -> None:
        raise ValueError(name)

    try:
        json.loads(raw.decode("utf-8"), parse_constant=no_constants, parse_int=len, parse_float=len)
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def _check(texts: list[bytes]) -> None:
    arr = pa.array(texts, pa.binary()).view(pa.string())
    want = [_python_accepts(t) for t in texts]
    assert format_valid(arr, "json").to_pylist() == want
    assert count_invalid(arr, "json") == (want.count(False), len(texts))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join), min_size=1, max_size=20))
def test_token_soup(texts: list[str]) -> None:
    _check([t.encode("utf-8", "surrogatepass") for t in texts])


@settings(max_examples=100, deadline=None)
@given(st.lists(near_valid("json"), min_size=1, max_size=20))
def test_near_valid_documents(texts: list[bytes]) -> None:
    _check(texts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(ALPHABETS["json"]), max_size=30).map(bytes), min_size=1, max_size=20))
def test_random_bytes_over_the_json_alphabet(texts: list[bytes]) -> None:
    _check(texts)


def test_nesting_limit_is_512() -> None:
    texts = [b"[" * 512 + b"]" * 512, b"[" * 513 + b"]" * 513, b'{"a":' * 512 + b"1" + b"}" * 512,
             b'{"a":' * 513 + b"1" + b"}" * 513, b"[" * 100_000]  # fmt: skip
    assert format_valid(pa.array(texts, pa.binary()).view(pa.string()), "json").to_pylist() == [
        True, False, True, False, False,
    ]  # fmt: skip
