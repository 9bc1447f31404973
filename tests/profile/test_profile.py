"""Reference profiles (two statements, exact merges) and the `dq profile` starter contract."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from dqgate.stats import profile as prof


class _Counting:
    """A real DuckDB connection that counts the statements that read data."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.scans = 0

    def execute(self, sql: str, *args: Any) -> Any:
        self.scans += sql.lstrip().upper().startswith("SELECT")
        return self.con.execute(sql, *args)


def _table(rng: np.random.Generator, size: int, shift: float = 0.0) -> pa.Table:
    return pa.table({
        "i": rng.integers(0, 50, size),
        "f": rng.normal(shift, 1, size),
        "s": rng.choice(["a", "b", "c"], size).tolist(),
        "u": [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, size)],
    })  # fmt: skip


def _profile(table: pa.Table, **kw: Any) -> dict[str, Any]:
    con = duckdb.connect()
    con.register("t", table)
    counting = _Counting(con)
    out, _ = prof.profile_view(counting, "t", **kw)  # type: ignore[arg-type]
    assert counting.scans == 2
    return out


def test_profile_is_exact_where_it_keeps_values_and_at_knots() -> None:
    rng = np.random.default_rng(0)
    table = _table(rng, 3000)
    p = _profile(table)
    cols = p["columns"]
    values, counts = np.unique(table.column("i").to_numpy(), return_counts=True)
    assert cols["i"]["values"] == [[int(v), int(c)] for v, c in zip(values, counts)]
    assert sorted(cols["s"]["values"]) == sorted([[k, table.column("s").to_pylist().count(k)] for k in "abc"])
    f = np.sort(table.column("f").to_numpy())
    knots = cols["f"]["knots"]
    assert knots[0][0] == f[0] and knots[-1][0] == f[-1] and knots[-1][1] == 3000
    assert 50 <= len(knots) <= prof.KNOTS + 2
    assert all(le == np.searchsorted(f, pt, side="right") for pt, le in knots)
    assert "values" not in cols["u"] and "knots" not in cols["u"] and cols["u"]["count"] == 3000


def test_append_merge_equals_the_profile_of_all_rows() -> None:
    rng = np.random.default_rng(1)
    parts = [_table(rng, 1500), _table(rng, 700, shift=2.0), _table(rng, 40, shift=-1.0)]
    merged = _profile(parts[0])
    for part in parts[1:]:
        merged = prof.merge(merged, _profile(part, knots_at=prof.knots_of(merged)))
    whole = pa.concat_tables(parts)
    direct = _profile(whole)["columns"]
    assert merged["rows"] == whole.num_rows
    for name in ("i", "s"):
        assert sorted(merged["columns"][name]["values"]) == sorted(direct[name]["values"])
    f = np.sort(whole.column("f").to_numpy())
    assert merged["columns"]["f"]["min"] == f[0] and merged["columns"]["f"]["max"] == f[-1]
    assert all(le == np.searchsorted(f, pt, side="right") for pt, le in merged["columns"]["f"]["knots"])


def test_values_outgrowing_the_cap_become_exact_knots() -> None:
    a = pa.table({"k": np.arange(0, 800)})
    b = pa.table({"k": np.arange(500, 1400)})
    merged = prof.merge(_profile(a), _profile(b))["columns"]["k"]
    both = np.sort(np.concatenate([np.arange(0, 800), np.arange(500, 1400)]))
    assert "values" not in merged
    assert merged["knots"][0][0] == 0 and merged["knots"][-1] == [1399.0, len(both)]
    assert all(le == np.searchsorted(both, pt, side="right") for pt, le in merged["knots"])


def _mixed(path: Path) -> Path:
    rng = np.random.default_rng(2)
    n = 400
    day = dt.date(2024, 1, 1)
    score = rng.normal(10, 2, n).tolist()
    score[7] = None
    pq.write_table(pa.table({
        "id": np.arange(1000, 1000 + n),
        "code": [f"C{i:05d}" for i in range(n)],
        "email": [f"user{i}@example.com" for i in range(n)],
        "token": [str(uuid.UUID(int=i + 1)) for i in range(n)],
        "country": rng.choice(["DE", "FR", "NL"], n).tolist(),
        "score": pa.array(score, pa.float64()),
        "day": [day + dt.timedelta(days=int(x)) for x in rng.integers(0, 90, n)],
        "at": [dt.datetime(2024, 1, 1, 12) + dt.timedelta(minutes=int(x)) for x in rng.integers(0, 10_000, n)],
        "flag": rng.random(n) < 0.3,
    }), path)  # fmt: skip
    return path


def test_dq_profile_writes_a_contract_that_lints_clean_and_passes(tmp_path: Path, run_cli) -> None:
    data = _mixed(tmp_path / "people.parquet")
    code, out, err = run_cli("profile", data, "--key", "id")
    assert code == 0, err
    contract = tmp_path / "people.yaml"
    contract.write_text(out)
    doc = yaml.safe_load(out)
    cols = doc["schema"]["columns"]
    assert doc["dataset"] == "people" and doc["schema"]["key"] == ["id"]
    assert cols["id"] == {"type": "int64", "required": True, "unique": True}
    assert cols["code"]["unique"] is True and "in" not in cols["code"]
    assert cols["email"]["format"] == "email" and cols["token"]["format"] == "uuid"
    assert cols["country"]["in"] == ["DE", "FR", "NL"]
    assert "required" not in cols["score"] and cols["score"]["type"] == "float64"
    assert cols["day"]["type"] == "date" and "min" in cols["day"]["range"]
    assert doc["drift"]["columns"]["score"] == {"method": "psi", "bins": 10, "max": 0.2}
    assert doc["drift"]["columns"]["country"] == {"method": "js", "max": 0.1}
    assert "id" not in doc["drift"]["columns"]
    assert run_cli("lint", contract)[0] == 0
    code, out, err = run_cli("check", contract, "--verbose")
    assert code == 0, out + err
    assert "score.drift" in out and out.rstrip().splitlines()[-1].startswith("PASS")


def test_dq_profile_unknown_key_is_a_usage_error(tmp_path: Path, run_cli) -> None:
    data = _mixed(tmp_path / "people.parquet")
    code, _, err = run_cli("profile", data, "--key", "nope")
    assert code == 2 and "--key column 'nope'" in err


def _batch(rng: np.random.Generator, n: int) -> pa.Table:
    """One batch of a fixed distribution: normal and skewed floats with NULLs, bounded
    integers, categories, dates."""
    temp = rng.normal(20, 5, n)
    price = rng.lognormal(3, 0.6, n)
    return pa.table({
        "temp": pa.array(temp, mask=rng.random(n) < 0.05),
        "price": price,
        "qty": rng.integers(1, 500, n),
        "shop": rng.choice(["north", "south", "east", "west"], n).tolist(),
        "day": [dt.date(2024, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 365, n)],
    })  # fmt: skip


def test_a_contract_profiled_on_one_batch_passes_the_next_batch_of_the_same_data(tmp_path: Path, run_cli) -> None:
    rng = np.random.default_rng(8)
    (tmp_path / "landing").mkdir()
    (tmp_path / "contracts").mkdir()
    pq.write_table(_batch(rng, 2000), tmp_path / "landing" / "b1.parquet")
    pq.write_table(_batch(rng, 2000), tmp_path / "landing" / "b2.parquet")
    contract = tmp_path / "contracts" / "shop.yaml"
    code, out, err = run_cli("profile", tmp_path / "landing" / "b1.parquet", "-o", contract)
    assert code == 0 and out == "", err
    doc = yaml.safe_load(contract.read_text())
    assert doc["source"] == "../landing/b1.parquet" and doc["drift"]["reference"] == "../landing/b1.parquet"  # relative
    b1 = pq.read_table(tmp_path / "landing" / "b1.parquet")
    qty = b1.column("qty").to_numpy()
    span = int(qty.max() - qty.min())
    assert doc["schema"]["columns"]["qty"]["range"] == {"min": max(0, int(np.floor(qty.min() - 0.25 * span))), "max": int(np.ceil(qty.max() + 0.25 * span))}
    code, out, err = run_cli("check", contract, "--data", tmp_path / "landing" / "b2.parquet")
    assert code == 0, out + err
    # without the margin the same contract fails the next batch: the exact min/max of one sample
    code, out, _ = run_cli("profile", tmp_path / "landing" / "b1.parquet", "--margin", "0", "-o", contract)
    code, out, err = run_cli("check", contract, "--data", tmp_path / "landing" / "b2.parquet", "--format", "json")
    import json

    assert code == 1 and any(c["rule"] == "range" and c["status"] == "fail" for c in json.loads(out)["checks"])
    # moved together with its data, the contract still finds it
    moved = tmp_path / "moved"
    (moved / "contracts").mkdir(parents=True)
    (moved / "landing").mkdir()
    (moved / "contracts" / "shop.yaml").write_text(contract.read_text())
    (moved / "landing" / "b1.parquet").write_bytes((tmp_path / "landing" / "b1.parquet").read_bytes())
    assert run_cli("check", moved / "contracts" / "shop.yaml")[0] == 0
