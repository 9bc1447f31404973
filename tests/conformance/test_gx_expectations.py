"""Great Expectations' own expectation test cases, run through dqgate (conformance).

The cases are read in place from ``../shared/testdata/gx-expectations/`` (GX 1.2.0's
``tests/test_definitions``, Apache-2.0; see that folder's README): for each case, its
data becomes an Arrow table, its expectation a one-rule dqgate contract, and GX's
expected outcome (success, failure, or an error) is compared with dqgate's (pass or
info, fail, or a contract refused by ``dq lint`` / a rule reporting ``error``), on both
engines.

Only cases meant for every backend or for pandas / SQL (``only_for``) are taken; the
others repeat a case for one warehouse's rounding or quirks. Every taken case must
either agree, or be listed in :data:`DIFFERENCES` with the documented reason, or in
:data:`UNSTATABLE` (what the contract language cannot say, and why). The lists are
exact: a case that starts agreeing, or a new disagreement, fails the test.

Regular expressions: GX's search, dqgate's ``pattern`` must match the whole value, so
a GX regex ``R`` is written ``(?s).*(?:R).*`` here (a search, said as a full match).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

import dqgate
from dqgate.contract import parse_contract
from dqgate.errors import ContractError, DqError

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = Path(os.environ.get("DQGATE_GX_CASES", ROOT.parent / "shared" / "testdata" / "gx-expectations"))
AS_OF = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
BACKENDS = {"pandas", "sqlite", "sqlalchemy"}


class Unstatable(Exception):
    """The contract language cannot say this case (the message says why)."""


# Cases dqgate decides differently from GX, each for a documented reason.
DIFFERENCES = {
    "expect_column_values_to_be_in_set/empty_value_set": "dq lint refuses an empty 'in' set (exit 2) instead of failing every batch",
    "expect_column_values_to_be_in_set/negative_empty_values_set": "dq lint refuses an empty 'in' set (exit 2) instead of failing every batch",
    "expect_column_value_lengths_to_be_between/negative_test_with_max_lt_min": "dq lint refuses impossible bounds (min > max) instead of failing every batch",
    "expect_column_min_to_be_between/raise_valueerror_with_both_max_and_min_are_missing": "a metric without bounds is recorded (status info), as GX itself does for mean and median",
    "expect_column_sum_to_be_between/raise_valueerror_with_both_max_and_min_are_missing": "a metric without bounds is recorded (status info), as GX itself does for mean and median",
    "expect_column_stdev_to_be_between/positive_test__exact_min_and_max_sqlalchemy": "the last bit: GX's SQL backends give 1.1547005383792515, dqgate (as GX on pandas) 1.1547005383792517, and the bounds are that exact value",
}

# Cases the contract language cannot state, and why.
UNSTATABLE_REASONS = {
    "mixed": "a column mixing numbers and text cannot exist in Arrow or Parquet, which dqgate checks",
    "parser": "the case tests GX's own row_condition parser names",
}


def _load() -> list[tuple[str, dict[str, Any], dict[str, Any], str]]:
    """(case id, dataset, test, expectation type) for every case meant for pandas or SQL."""
    out = []
    for path in sorted(CASES_DIR.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        kind = spec["expectation_type"]
        seen: dict[str, int] = {}
        for dataset in spec["datasets"]:
            for test in dataset["tests"]:
                only = set(test.get("only_for") or BACKENDS)
                if not only & BACKENDS:
                    continue
                title = test["title"]
                seen[title] = seen.get(title, 0) + 1
                cid = f"{kind}/{title}" + (f"#{seen[title]}" if seen[title] > 1 else "")
                out.append((cid, dataset, test, kind))
    return out


CASES = _load() if CASES_DIR.is_dir() else []


def test_gx_cases_are_present() -> None:
    """Under CI the shared test data must be there; elsewhere its absence skips, with the reason."""
    if not CASES_DIR.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"GX conformance data missing: {CASES_DIR} (the ../shared checkout)")
        pytest.skip(f"GX conformance data not found at {CASES_DIR}")
    assert len(CASES) > 150


# --- data ---------------------------------------------------------------------------------------

_TYPES = {"int": "int64", "Int64Dtype": "int64", "INTEGER": "int64", "float": "float64", "object": None,
          "str": "string", "VARCHAR": "string", "datetime64": "timestamp", "datetime64[ns]": "timestamp", "DATETIME": "timestamp"}  # fmt: skip
_ARROW = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string(), "bool": pa.bool_(), "timestamp": pa.timestamp("us")}


def _instant(text: str) -> dt.datetime:
    for fmt in ("%b %d %Y %H:%M:%S",):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            pass
    return dt.datetime.fromisoformat(text)


def _column_type(name: str, values: list[Any], schema: dict[str, str], empty: str = "string") -> str | None:
    """The column's type: GX's pandas schema where it gives one, else what the values are
    (a column without values has no type in JSON: it takes ``empty``, what the expectation reads)."""
    declared = _TYPES.get(schema.get(name, ""), "") if name in schema else ""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if declared:
        return declared
    if kinds <= {bool} and present:
        return "bool"
    if not present:
        return empty
    if kinds <= {int}:
        return "int64"
    if kinds <= {int, float}:
        return "float64"
    if kinds <= {str}:
        return "string"
    return None  # numbers and text in one column


def table_of(dataset: dict[str, Any], columns_needed: set[str], empty: str = "string") -> tuple[pa.Table, dict[str, str]]:
    schema = (dataset.get("schemas") or {}).get("pandas") or {}
    arrays, types = {}, {}
    for name, values in dataset["data"].items():
        typ = _column_type(name, values, schema, empty)
        if typ is None:
            if name in columns_needed:
                raise Unstatable(UNSTATABLE_REASONS["mixed"])
            continue
        if typ == "timestamp":
            values = [None if v is None else _instant(v) for v in values]
        elif typ == "string":
            values = [None if v is None else str(v) for v in values]
        arrays[name] = pa.array(values, _ARROW[typ])
        types[name] = typ
    return pa.table(arrays), types


# --- expectations as contracts ------------------------------------------------------------------


def _bound(value: Any) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        text = value["$PARAMETER"].replace(" ", "")
        if text == "now()-timedelta(weeks=52)":
            return "now-52w"
        raise Unstatable(f"evaluation parameter {value['$PARAMETER']!r}")
    return value


def _sql_condition(text: str) -> str:
    """GX's pandas row_condition (``x == 1``, ``y == "abc"``, ``x!=1 & w!=6``) as SQL."""
    return text.replace("==", "=").replace("&", "AND").replace('"', "'")


def _where(args: dict[str, Any]) -> dict[str, Any]:
    if "row_condition" not in args:
        return {}
    if args.get("condition_parser") not in ("pandas", "great_expectations"):
        raise Unstatable(UNSTATABLE_REASONS["parser"])
    return {"where": _sql_condition(args["row_condition"])}


def _metric_check(metric: str, args: dict[str, Any]) -> dict[str, Any]:
    check: dict[str, Any] = {"metric": metric}
    for key, ours in (("min_value", "min"), ("max_value", "max")):
        if args.get(key) is not None:
            check[ours] = _bound(args[key])
    return check


_METRICS = {
    "expect_column_max_to_be_between": "max", "expect_column_min_to_be_between": "min",
    "expect_column_mean_to_be_between": "mean", "expect_column_median_to_be_between": "median",
    "expect_column_stdev_to_be_between": "stddev", "expect_column_sum_to_be_between": "sum",
    "expect_column_unique_value_count_to_be_between": "distinct_count",
}  # fmt: skip


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def contract_of(kind: str, args: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    """The one-rule contract saying what the GX expectation ``kind`` with ``args`` says."""
    columns: dict[str, Any] = {name: {"type": typ} for name, typ in types.items()}
    checks: list[dict[str, Any]] = []
    unique: list[Any] = []
    col = args.get("column")
    mostly = {"mostly": args["mostly"]} if args.get("mostly") is not None else {}
    if kind in _METRICS:
        checks.append({**_metric_check(f"{_METRICS[kind]}({_q(col)})", args), **_where(args)})
    elif kind == "expect_table_row_count_to_be_between":
        checks.append(_metric_check("row_count", args))
    elif kind == "expect_column_values_to_be_between":
        rng: dict[str, Any] = {}
        for key, ours in (("min_value", "min"), ("max_value", "max")):
            if args.get(key) is not None:
                rng[ours] = args[key]
        if args.get("strict_min"):
            rng["exclusive_min"] = True
        if args.get("strict_max"):
            rng["exclusive_max"] = True
        checks.append({"column": col, "range": rng, **mostly, **_where(args)})
    elif kind == "expect_column_value_lengths_to_be_between":
        length = {ours: args[key] for key, ours in (("min_value", "min"), ("max_value", "max")) if args.get(key) is not None}
        checks.append({"column": col, "length": length, **mostly, **_where(args)})
    elif kind == "expect_column_values_to_be_in_set":
        checks.append({"column": col, "in": args["value_set"], **mostly, **_where(args)})
    elif kind == "expect_column_values_to_be_unique":
        checks.append({"column": col, "unique": True, **mostly, **_where(args)})
    elif kind == "expect_column_values_to_not_be_null":
        checks.append({"column": col, "required": True, **mostly, **_where(args)})
    elif kind == "expect_column_values_to_match_regex":
        checks.append({"column": col, "pattern": f"(?s).*(?:{args['regex']}).*", **mostly, **_where(args)})
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = _q(args["column_A"]), _q(args["column_B"])
        ignore = args.get("ignore_row_if", "both_values_are_missing")
        op = ">=" if args.get("or_equal") else ">"
        if ignore == "either_value_is_missing":
            checks.append({"expect": f"{a} {op} {b}", "where": f"{a} IS NOT NULL AND {b} IS NOT NULL", **mostly})
        elif ignore == "both_values_are_missing":  # one missing value: GX counts the row as unexpected
            checks.append({"expect": f"coalesce({a} {op} {b}, false)", "where": f"{a} IS NOT NULL OR {b} IS NOT NULL", **mostly})
        else:
            checks.append({"expect": f"coalesce({a} {op} {b}, false)", **mostly})
    elif kind == "expect_compound_columns_to_be_unique":
        cols = args["column_list"]
        ignore = args.get("ignore_row_if", "all_values_are_missing")
        entry: dict[str, Any] = {"columns": cols, **mostly}
        if ignore == "all_values_are_missing":  # pandas' duplicated(): NaN equals NaN
            entry["nulls"] = "equal"
            not_all_null = " OR ".join(f"{_q(c)} IS NOT NULL" for c in cols)
            cond = _where(args).get("where")
            entry["where"] = f"({not_all_null})" + (f" AND ({cond})" if cond else "")
        elif ignore == "any_value_is_missing":
            entry.update(_where(args))
        else:
            raise Unstatable(f"ignore_row_if {ignore!r}")
        unique.append(entry)
    else:
        raise Unstatable(f"no translation for {kind}")
    schema: dict[str, Any] = {"columns": columns}
    if unique:
        schema["unique"] = unique
    return {"dataset": "gx", "schema": schema, "checks": checks}


def columns_of(kind: str, args: dict[str, Any], names: list[str]) -> set[str]:
    """The columns a case reads: its arguments' and those its row_condition names."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(args.get("row_condition", ""))))
    named = [args.get("column"), args.get("column_A"), args.get("column_B"), *(args.get("column_list") or [])]
    return {c for c in named if c} | (words & set(names))


# --- outcomes -----------------------------------------------------------------------------------


def gx_outcome(test: dict[str, Any]) -> str:
    out = test["out"]
    if "success" in out:
        return "pass" if out["success"] else "fail"
    return "error"


def dq_outcome(contract: dict[str, Any], table: pa.Table, engine: str) -> str:
    text = yaml.safe_dump(contract, sort_keys=False, allow_unicode=True)
    try:
        parsed = parse_contract(text, "gx.yaml")
    except ContractError:
        return "error"  # refused by dq lint: exit 2, as GX raises
    try:
        result = dqgate.check(table, parsed, engine=engine, as_of=AS_OF, allow_empty=True)
    except DqError:
        return "error"  # the data cannot be used as the contract says (exit 2)
    (check,) = result.checks
    return {"pass": "pass", "info": "pass", "warn": "fail", "fail": "fail", "error": "error"}[check.status]


def run_case(dataset: dict[str, Any], test: dict[str, Any], kind: str, engine: str) -> tuple[str, str]:
    args = dict(test["in"])
    empty = "float64" if _METRICS.get(kind) in ("mean", "median", "stddev", "sum") else "string"
    table, types = table_of(dataset, columns_of(kind, args, list(dataset["data"])), empty)
    return gx_outcome(test), dq_outcome(contract_of(kind, args, types), table, engine)


def test_every_statable_gx_case_agrees_or_differs_for_a_documented_reason(engine: str) -> None:
    if not CASES:
        pytest.skip(f"GX conformance data not found at {CASES_DIR}")  # test_gx_cases_are_present fails under CI
    disagreements: dict[str, tuple[str, str]] = {}
    unstatable: dict[str, str] = {}
    agreed = 0
    for cid, dataset, test, kind in CASES:
        try:
            expected, got = run_case(dataset, test, kind, engine)
        except Unstatable as why:
            unstatable[cid] = str(why)
            continue
        if expected == got:
            agreed += 1
        else:
            disagreements[cid] = (expected, got)
    assert sorted(disagreements) == sorted(DIFFERENCES), {k: v for k, v in disagreements.items() if k not in DIFFERENCES}
    assert unstatable == UNSTATABLE, unstatable
    assert agreed == len(CASES) - len(DIFFERENCES) - len(UNSTATABLE)


_MIXED = UNSTATABLE_REASONS["mixed"]
_PARSER = UNSTATABLE_REASONS["parser"]
UNSTATABLE: dict[str, str] = {
    "expect_column_values_to_be_between/error:_improperly_mixed_types": _MIXED,
    "expect_column_values_to_be_between/error:_improperly_mixed_types_again": _MIXED,
    "expect_column_values_to_be_between/error:_improperly_mixed_types_once_more": _MIXED,
    "expect_column_values_to_be_between/error:_missing_both_min_value_and_max_value": _MIXED,
    "expect_column_values_to_be_between/test_conditional_expectation_passes": _MIXED,  # its row_condition reads y
    "expect_column_values_to_be_between/test_conditional_expectation_fails": _MIXED,
    "expect_column_values_to_be_between/test_conditional_expectation_parser_errors": _MIXED,  # reads y too
    "expect_column_value_lengths_to_be_between/test_conditional_expectation_parser_errors": _PARSER,
    "expect_column_values_to_be_in_set/test_conditional_expectation_parser_errors": _PARSER,
}
