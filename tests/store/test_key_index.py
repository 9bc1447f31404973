"""Key runs (store/key_index.py): what an append's lookup may skip, and what a run holds after encoding."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dqgate.store import key_index


def _run(store, keys: range) -> dict:
    table = pa.table({"id": pa.array(list(keys), pa.int64()), key_index.COUNT: pa.array([1] * len(keys), pa.int64())})
    ref, data = key_index.encode_run(table)
    key_index.write_run(str(store), "d", ref, data)
    return ref


def test_a_run_is_skipped_only_when_its_range_or_no_row_group_can_hold_a_key_in_the_range(tmp_path):
    (tmp_path / "d").mkdir()
    ref = _run(tmp_path, range(0, 200_000, 2))  # 100,000 even keys: two row groups, [0, 131070] and [131072, 199998]
    path = key_index.run_path(str(tmp_path), "d", ref)
    assert pq.read_metadata(path).num_row_groups == 2
    assert (ref["low"], ref["high"]) == (0, 199_998)  # the run's range, bound by the state that names it
    legacy = {k: v for k, v in ref.items() if k not in ("low", "high")}  # a run written before ranges: footer statistics
    for low, high, by_range, by_footer in [(300_000, 400_000, False, False), (-9, -1, False, False), (199_998, 250_000, True, True),
                                           (131_071, 131_071, True, False), (131_070, 131_071, True, True), (-5, 0, True, True)]:  # fmt: skip
        assert key_index.may_hold(str(tmp_path), "d", [ref], low, high) == ([ref] if by_range else []), (low, high)
        assert key_index.may_hold(str(tmp_path), "d", [legacy], low, high) == ([legacy] if by_footer else []), (low, high)


def test_an_encoded_run_reads_back_as_the_same_keys_and_counts(tmp_path):
    (tmp_path / "d").mkdir()
    table = pa.table({"id": pa.array([-(2**63), -1, 0, 5, 2**63 - 1], pa.int64()), "code": pa.array(["a", None, "b", "c", "é"]),
                      key_index.COUNT: pa.array([1, 3, 1, 2, 1], pa.int64())})  # fmt: skip
    ref, data = key_index.encode_run(table)
    key_index.write_run(str(tmp_path), "d", ref, data)
    path = key_index.run_path(str(tmp_path), "d", ref)
    assert pq.read_table(path).equals(table)
    got = duckdb.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table()  # delta-encoded integers read by the lookup's engine
    assert got.to_pylist() == table.to_pylist()
    assert ref["rows"] == 5 and ref["bytes"] == len(data) and key_index.run_problems(str(tmp_path), "d", [ref]) is None
