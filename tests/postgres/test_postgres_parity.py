"""PostgreSQL == DuckDB == the plain-Python oracle, on random tables and random contracts.

The contracts come from ``parity/random_contracts.py`` (every rule kind and modifier,
NULLs, awkward identifiers like ``select``, ``it's``, ``say "hi"``, ``Zeit.Stempel``),
minus what the PostgreSQL engine refuses by design (docs/engines-postgres.md):
reference and foreign-key rules, formats other than email/uuid/ipv4, and patterns its
regex cannot mean exactly (non-ASCII ones); that it refuses exactly those is asserted.
The table is loaded into a real server; the check runs there. Counts must be exact,
metrics within 1e-9, statuses equal.
"""

from __future__ import annotations

import copy
import itertools
import os
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity"))
from oracle import Oracle, sql_key  # noqa: E402
from pg_server import load  # noqa: E402
from random_contracts import AS_OF, AWKWARD, PLAIN, TYPES, ContractBuilder, arrow_table, named, ref_rows, rows  # noqa: E402
from test_duckdb_oracle import assert_matches  # noqa: E402

import dqgate  # noqa: E402
from dqgate.compilers import regex_dfa  # noqa: E402
from dqgate.compilers.duckdb.rows import FORMAT_DFAS  # noqa: E402
from dqgate.compilers.regex_are import to_are  # noqa: E402
from dqgate.contract import load_contract  # noqa: E402
from dqgate.errors import UnsupportedRule  # noqa: E402
from dqgate.ir.plan import plan  # noqa: E402

SETTINGS = settings(
    # no shrinking: a server round trip per example makes it take minutes; the failing example is printed whole
    max_examples=int(os.environ.get("DQGATE_PG_PARITY_EXAMPLES", "25")), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)  # fmt: skip
_TABLES = itertools.count()
_MODIFIERS = ("name", "mostly", "severity", "where")


def _pg_can(regex: str) -> bool:
    try:
        to_are(regex)
    except regex_dfa.Unsupported:
        return False
    return True


def _refused(spec: dict[str, Any]) -> list[str]:
    """The keys of one column's (or check's) rules that PostgreSQL refuses."""
    out = []
    if "references" in spec:
        out.append("references")
    if "format" in spec and spec["format"] not in FORMAT_DFAS:
        out.append("format")
    if "pattern" in spec and not _pg_can(spec["pattern"]):
        out.append("pattern")
    return out


def postgres_part(contract: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what PostgreSQL runs, what it refuses) of a random contract."""
    ok, refused = copy.deepcopy(contract), copy.deepcopy(contract)
    refused["schema"]["columns"] = {name: {"type": spec["type"]} for name, spec in contract["schema"]["columns"].items()}
    refused["checks"], refused["schema"]["unique"] = [], []
    for name, spec in ok["schema"]["columns"].items():
        keys = _refused(spec)
        for key in keys:
            refused["schema"]["columns"][name][key] = spec.pop(key)
        if keys and not set(spec) - {"type", *_MODIFIERS}:  # modifiers left with no rule
            ok["schema"]["columns"][name] = {"type": spec["type"]}
    for check in list(ok["checks"]):
        keys = _refused(check)
        if keys:
            refused["checks"].append({"column": check["column"], **{k: check[k] for k in keys}})
            for key in keys:
                check.pop(key)
            if not set(check) - {"column", *_MODIFIERS}:
                ok["checks"].remove(check)
    refused["schema"]["foreign_keys"] = ok["schema"].pop("foreign_keys", [])
    return ok, refused


@SETTINGS
@given(data=st.data())
def test_postgres_duckdb_and_the_oracle_agree(data: st.DataObject, postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("pg")
    names = data.draw(st.sampled_from([PLAIN, AWKWARD]), label="names")
    table_rows = data.draw(rows(), label="rows")
    refs = data.draw(ref_rows(), label="ref")
    extra = data.draw(st.booleans(), label="undeclared column")
    ref_path = folder / "ref.parquet"  # DuckDB reads the contract's references: section
    pq.write_table(pa.table({"code": pa.array([r["code"] for r in refs], pa.int64()), "name": pa.array([r["name"] for r in refs], pa.string())}), ref_path)
    builder = ContractBuilder(data.draw, names, str(ref_path))
    whole = builder.contract()
    contract, refused = postgres_part(whole)
    path = folder / "contract.yaml"
    path.write_text(yaml.safe_dump(contract, sort_keys=False, allow_unicode=True), encoding="utf-8")
    rules = plan(load_contract(str(path)))

    table = arrow_table(table_rows, names, extra)
    url = load(postgres_dsn, f"parity_{next(_TABLES)}", table)
    got = dqgate.check(url, str(path), as_of=AS_OF)
    assert got.engine == "postgres"
    columns = [names[r] for r in TYPES]
    oracle = Oracle(
        named(table_rows, names),
        row_exprs={sql_key(t.render(names), columns, aggregate=False): t.row_fn(names) for t in builder.row_templates},
        aggregates={sql_key(t.render(names), columns, aggregate=True): t.agg_fn(names) for t in builder.agg_templates},
        refs={"ref": refs}, as_of=AS_OF, data_columns=[*columns, *(["undeclared"] if extra else [])],
    )  # fmt: skip
    assert_matches(got, oracle.evaluate(rules), rules, named(table_rows, names))
    duck = dqgate.check(table, str(path), engine="duckdb", as_of=AS_OF)
    assert [(c.id, c.status, c.failed_rows, c.total_rows) for c in got.checks] == [(c.id, c.status, c.failed_rows, c.total_rows) for c in duck.checks]

    # every rule set aside is refused by name, never run as something else
    for name, spec in refused["schema"]["columns"].items():
        if len(spec) > 1:
            one = {**refused, "schema": {"columns": {name: spec}}, "checks": []}
            _assert_refused(folder, one, url)
    if refused["schema"]["foreign_keys"]:
        one = {**refused, "schema": {"columns": refused["schema"]["columns"], "foreign_keys": refused["schema"]["foreign_keys"]}, "checks": []}
        _assert_refused(folder, one, url)


def _assert_refused(folder: Path, contract: dict[str, Any], url: str) -> None:
    path = folder / "refused.yaml"
    contract = {k: v for k, v in contract.items() if k != "checks"}
    contract["schema"] = {k: v for k, v in contract["schema"].items() if v}
    path.write_text(yaml.safe_dump(contract, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(UnsupportedRule, match="engine 'postgres' cannot run rule"):
        dqgate.check(url, str(path), as_of=AS_OF)
