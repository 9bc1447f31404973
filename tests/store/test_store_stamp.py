"""The stamp math: canonical JSON, HMAC, file-hash set, layout names (pure, property-based)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dqgate.errors import StampError
from dqgate.store.layout import check_name, is_object_rel, parse_manifest_name
from dqgate.store.stamp import canonical_json, files_sha256, json_safe, sign, signature_status, verify_stamp

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()
)
stamps = st.dictionaries(st.text(min_size=1), scalars, min_size=1)
keys = st.binary(min_size=1, max_size=64)


@settings(max_examples=50)
@given(stamps, keys)
def test_signed_stamp_verifies_and_any_change_breaks_it(stamp, key):
    signed = dict(stamp, hmac=sign(stamp, key))
    verify_stamp(signed, key)
    assert signature_status(signed, key) == "verified"
    assert signature_status(signed, None) == "signed, not verified"
    name = sorted(stamp)[0]
    changed = dict(signed, **{name: [signed[name]]})
    with pytest.raises(StampError, match="does not verify"):
        verify_stamp(changed, key)
    with pytest.raises(StampError, match="does not verify"):
        verify_stamp(signed, key + b"x")


@settings(max_examples=50)
@given(stamps)
def test_unsigned_stamp_is_refused_only_with_a_key(stamp):
    stamp.pop("hmac", None)
    verify_stamp(stamp, None)
    assert signature_status(stamp, None) == "unsigned"
    with pytest.raises(StampError, match="unsigned"):
        verify_stamp(stamp, b"k")


@settings(max_examples=50)
@given(st.lists(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)), st.randoms())
def test_files_sha256_ignores_order(hashes, rnd):
    shuffled = list(hashes)
    rnd.shuffle(shuffled)
    assert files_sha256(hashes) == files_sha256(shuffled)


@settings(max_examples=50)
@given(st.recursive(scalars | st.floats(), lambda c: st.lists(c) | st.dictionaries(st.text(), c), max_leaves=20))
def test_json_safe_round_trips_exactly(value):
    safe = json_safe(value)
    assert json.loads(canonical_json(safe)) == safe


def test_layout_names():
    assert parse_manifest_name("00000012.json") == 12 and parse_manifest_name(".tmp-ab.json") is None
    assert parse_manifest_name("123456789.json") == 123456789
    sha = "ab" + "0" * 62
    assert is_object_rel(f"objects/ab/{sha}.parquet")
    assert not is_object_rel(f"objects/cd/{sha}.parquet") and not is_object_rel("objects/_tmp/x.tmp")
    assert check_name("flights_2024.v1-b") == "flights_2024.v1-b"
