"""Write src/dqgate/contract/duckdb_functions.json: DuckDB's scalar and aggregate
functions with the numbers of arguments each accepts, so `dq lint` can catch a
misspelled function or a wrong argument count without importing DuckDB.

Run it after raising the DuckDB version (tests/contract/test_function_catalogue.py
fails when the installed DuckDB disagrees with the file):

    python scripts/gen_duckdb_functions.py

Why argument counts are found by binding rather than read from ``duckdb_functions()``:
its ``parameters`` list optional arguments as if they were required
(``json_serialize_sql`` takes 1 to 5), so each function is bound with 0..MAX NULL
arguments and the counts DuckDB's binder accepts are kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

OUT = Path(__file__).resolve().parents[1] / "src" / "dqgate" / "contract" / "duckdb_functions.json"
MAX_ARGS = 7  # a function that binds with MAX_ARGS arguments takes any number from its least on
KINDS = ("scalar", "aggregate", "macro")


def accepted_counts(con: duckdb.DuckDBPyConnection, name: str, kind: str) -> list[int]:
    """The argument counts DuckDB binds ``name`` with (NULLs of any type fit every overload)."""
    from sqlglot import exp

    counts = []
    for k in range(MAX_ARGS + 1):
        call = exp.Anonymous(this=exp.to_identifier(name, quoted=True), expressions=[exp.null() for _ in range(k)])
        query = exp.select(call).from_("range(0)") if kind == "aggregate" else exp.select(call)
        try:
            con.execute(exp.Describe(this=query).sql("duckdb"))
        except duckdb.Error as exc:
            if _wrong_count(str(exc)):
                continue  # other errors ("must not be NULL") mean the count itself binds
        counts.append(k)
    return counts


def _wrong_count(message: str) -> bool:
    return (
        message.startswith("Parser Error")
        or "No function matches" in message
        or "does not support the supplied arguments" in message
        or ("requires" in message and "argument" in message)
    )


# SQL special forms that duckdb_functions() does not list but a contract may call.
SPECIAL_FORMS = ("coalesce", "nullif", "ifnull", "greatest", "least", "grouping", "row", "unnest")


def catalogue() -> dict[str, object]:
    con = duckdb.connect(":memory:")
    rows = con.execute(
        "SELECT DISTINCT function_name, function_type FROM duckdb_functions()"
        " WHERE function_type IN ('scalar', 'aggregate', 'macro') AND NOT internal IS NULL"
    ).fetchall()
    functions: dict[str, list[int]] = {}
    rows += [(name, "scalar") for name in SPECIAL_FORMS]
    for name, kind in sorted(rows):
        if not name.isidentifier() or name.startswith("__"):
            continue  # operators (+, ~~) and internals are never called by name
        got = accepted_counts(con, name, kind)
        if got:
            functions[name] = sorted(set(functions.get(name, [])) | set(got))
    return {"duckdb": duckdb.__version__, "max_args": MAX_ARGS, "functions": functions}


if __name__ == "__main__":
    data = catalogue()
    OUT.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(data['functions'])} functions of DuckDB {data['duckdb']}", file=sys.stderr)
