"""NaN is a missing value (``nan: missing``, the contract's default) in every engine, exactly as
the oracle says; ``nan: value`` keeps it a value, the same in both engines on in-memory data;
``coerce: true`` reads numbers of another number type as the declared type, never inexactly."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import Oracle, sql_key
from random_contracts import AS_OF, AWKWARD, PLAIN, TYPES, ContractBuilder, arrow_table, named, ref_rows, rows
from test_duckdb_oracle import assert_matches

import dqgate
from dqgate.contract import load_contract
from dqgate.ir.plan import plan

SETTINGS = settings(max_examples=int(os.environ.get("DQGATE_PARITY_EXAMPLES", "25")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(data=st.data())
def test_nan_is_missing_in_every_engine_as_the_oracle_says(engine: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    names = data.draw(st.sampled_from([PLAIN, AWKWARD]), label="names")
    table_rows = data.draw(rows(), label="rows")
    flags = data.draw(st.lists(st.booleans(), min_size=len(table_rows), max_size=len(table_rows)), label="nan rows")
    for row, nan in zip(table_rows, flags):
        if nan:
            row["F"] = float("nan")
    refs = data.draw(ref_rows(), label="ref")
    ref_path = folder / "ref.parquet"
    pq.write_table(pa.table({"code": pa.array([r["code"] for r in refs], pa.int64()), "name": pa.array([r["name"] for r in refs], pa.string())}), ref_path)
    builder = ContractBuilder(data.draw, names, str(ref_path))
    contract = builder.contract()
    if data.draw(st.booleans(), label="say nan: missing"):
        contract = {"nan": "missing", **contract}  # the default, written out or not
    path = folder / "contract.yaml"
    path.write_text(yaml.safe_dump(contract, sort_keys=False, allow_unicode=True), encoding="utf-8")
    rules = plan(load_contract(str(path)))
    columns = [names[r] for r in TYPES]
    oracle = Oracle(
        named(table_rows, names),
        row_exprs={sql_key(t.render(names), columns, aggregate=False): t.row_fn(names) for t in builder.row_templates},
        aggregates={sql_key(t.render(names), columns, aggregate=True): t.agg_fn(names) for t in builder.agg_templates},
        refs={"ref": refs}, as_of=AS_OF, data_columns=columns,
    )  # fmt: skip
    expected = oracle.evaluate(rules)
    table = arrow_table(table_rows, names)
    parquet = folder / "data.parquet"
    pq.write_table(table, parquet)
    for data_arg in (table, str(parquet)):
        result = dqgate.check(data_arg, str(path), engine=engine, as_of=AS_OF, allow_empty=True)
        assert_matches(result, expected, rules, oracle.rows)


NAN = """\
dataset: n
nan: NAN
schema:
  columns:
    x: {type: float64, required: true, range: {min: 0, max: 10}}
checks:
  - metric: null_count(x)
    max: 0
  - metric: mean(x)
    max: 100
"""


def test_nan_value_keeps_nan_a_value_in_both_engines(tmp_path: Path) -> None:
    table = pa.table({"x": [1.0, float("nan"), None, 3.0]})
    results = {}
    for semantics in ("missing", "value"):
        path = tmp_path / f"{semantics}.yaml"
        path.write_text(NAN.replace("NAN", semantics), encoding="utf-8")
        duck = dqgate.check(table, path, engine="duckdb")
        polars = dqgate.check(pl.from_arrow(table), path, engine="polars")
        got = [{c.id: (c.status, c.failed_rows, c.observed) for c in r.checks} for r in (duck, polars)]
        assert json.dumps(got[0], default=str) == json.dumps(got[1], default=str)
        results[semantics] = got[0]
    assert results["missing"]["x.required"][:2] == ("fail", 2) and results["missing"]["null_count(x)"][2] == 2
    assert results["missing"]["x.range"][:2] == ("pass", 0) and results["missing"]["mean(x)"][2] == 2.0
    assert results["value"]["x.required"][:2] == ("fail", 1) and results["value"]["null_count(x)"][2] == 1
    assert results["value"]["x.range"][:2] == ("fail", 1)  # NaN is no number between 0 and 10


COERCE = """\
dataset: c
schema:
  COERCE_SCHEMA
  columns:
    w: {type: float64COERCE_COLUMN, range: {min: 0, max: 100}}
    n: {type: int64, coerce: true, required: true}
"""


def test_coerce_reads_numbers_as_the_declared_type_only_when_asked(tmp_path: Path, run_cli: Any) -> None:
    pq.write_table(pa.table({"w": pa.array([1, 50, 99], pa.int64()), "n": pa.array([1.0, 2.0, 3.0])}), tmp_path / "whole.parquet")
    pq.write_table(pa.table({"w": pa.array([1, 50, 99], pa.int64()), "n": pa.array([1.0, 2.5, None])}), tmp_path / "frac.parquet")
    strict = tmp_path / "strict.yaml"
    strict.write_text(COERCE.replace("  COERCE_SCHEMA\n", "").replace("COERCE_COLUMN", ""), encoding="utf-8")
    code, _, err = run_cli("check", strict, "--data", tmp_path / "whole.parquet")
    assert code == 2 and "column 'w' is BIGINT in the data, but the contract" in err and "says float64" in err
    for variant in (COERCE.replace("COERCE_SCHEMA", "coerce: true").replace("COERCE_COLUMN", ""),
                    COERCE.replace("  COERCE_SCHEMA\n", "").replace("COERCE_COLUMN", ", coerce: true")):  # fmt: skip
        path = tmp_path / "coerce.yaml"
        path.write_text(variant, encoding="utf-8")
        for engine in ("duckdb", "polars"):
            whole = dqgate.check(str(tmp_path / "whole.parquet"), path, engine=engine)
            assert whole.status == "pass", (engine, [(c.id, c.message) for c in whole.checks])
            frac = {c.id: c for c in dqgate.check(str(tmp_path / "frac.parquet"), path, engine=engine).checks}
            assert (frac["n.required"].status, frac["n.required"].failed_rows) == ("fail", 2)  # 2.5 is no int64: NULL, as the missing one
