"""dqgate as a peerbench runner: `dq check` semantics, in-process, on the peerbench suite.

The 17 checks of suite.json are written once as a dqgate contract
(``suite_contract.yaml`` beside this file); the runner calls ``dqgate.api.check`` on
the Parquet file, exactly what ``dq check suite_contract.yaml --data FILE`` does
minus rendering, and maps each dqgate rule id to its suite id. The stopwatch covers
loading the contract, planning, compiling, the fused scan and the failing-row
samples; run_all.py measures the whole process (interpreter start and imports) anyway.

Every check is a dqgate builtin rule except ``ts_order``, which dqgate expresses as
an ``expect`` row predicate (``end_ts >= start_ts``), so it is reported as
``sql-expression``. A suite check with no rule in the contract is reported as
unsupported, never approximated.

Usage (working directory ``runners/`` of a peerbench copy, ``_common.py`` beside it)::

    python dqgate_runner.py --data peerbench_10000000.parquet [--engine duckdb|polars]
        [--contract suite_contract.yaml] [--samples 5] [--src /work/main/src]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import _common as C

HERE = Path(__file__).resolve().parent

# dqgate rule id -> peerbench suite id.
SUITE_IDS = {
    "age.required": "age_not_null",
    "email.required": "email_not_null",
    "country.required": "country_not_null",
    "id.unique": "id_unique",
    "age.range": "age_between",
    "score.range": "score_between",
    "start_ts.range": "start_ts_between",
    "country.in": "country_in_set",
    "email.pattern": "email_regex",
    "product_code.length": "product_code_length",
    "ts_order": "ts_order",
    "label_not_null_if_train": "label_not_null_if_train",
    "row_count_between": "row_count_between",
    "income_mean_between": "income_mean_between",
    "score_max_between": "score_max_between",
    "income_min_between": "income_min_between",
    "weight_null_fraction_max": "weight_null_fraction_max",
}
IMPL = {"ts_order": "sql-expression"}


def _extra_args(ap: Any) -> None:
    ap.add_argument("--contract", default=str(HERE / "suite_contract.yaml"))
    ap.add_argument("--engine", choices=["duckdb", "polars"], default="duckdb")
    ap.add_argument("--samples", type=int, default=5, help="failing-row samples per failing rule (dq check's default)")
    ap.add_argument("--src", default=None, help="import dqgate from this source folder instead of the venv")


def to_suite(result: Any, suite: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The peerbench ``checks`` object: one entry per suite id, from dqgate's check results."""
    by_suite = {SUITE_IDS[c.id]: c for c in result.checks if c.id in SUITE_IDS}
    checks: dict[str, dict[str, Any]] = {}
    for chk in suite["checks"]:
        cid = chk["id"]
        got = by_suite.get(cid)
        impl = IMPL.get(cid, "builtin")
        if got is None:
            checks[cid] = C.unsupported("no rule for this check in suite_contract.yaml")
        elif got.status == "error":
            checks[cid] = C.unsupported(f"dqgate could not run it: {got.message}")
        elif chk["level"] == "row":
            checks[cid] = C.row_result(got.failed_rows, impl=impl)
        else:
            checks[cid] = C.dataset_result(chk, got.observed, impl=impl, passed=got.status == "pass")
    return checks


def main() -> None:
    args = C.parse_args(__doc__, extra=_extra_args)
    if args.src:
        sys.path.insert(0, args.src)
    import duckdb

    import dqgate
    from dqgate.api import check

    suite = C.load_suite(args.suite)
    with C.Stopwatch() as sw:
        result = check(args.data, args.contract, engine=args.engine, samples=args.samples)
    C.emit(
        "dqgate" if args.engine == "duckdb" else f"dqgate-{args.engine}",
        f"{dqgate.__version__} (duckdb {duckdb.__version__})",
        result.rows,
        sw.seconds,
        to_suite(result, suite),
        engine=result.engine,
        status=result.status,
        dqgate_elapsed_s=round(result.elapsed_s, 4),
    )


if __name__ == "__main__":
    main()
