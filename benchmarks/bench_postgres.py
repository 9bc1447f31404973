"""``dq check --engine postgres`` against the same checks written by hand and run by psql.

peerbench's file (``gen_data.py --rows N --seed 42``) is loaded into a throw-away
PostgreSQL server (scripts/postgres_server.sh, the tests' server) as table
``peerbench``; then, in interleaved rounds (the order alternating, the machine is
noisy), two whole processes are timed: ``dq check`` of peerbench's contract with the
check running inside the server, and ``psql -f benchmarks/peerbench/postgres_fused.sql``
(the 17 checks as one hand-written statement). Both answers are compared with the
generator's expected.json. Prints one JSON line per round and a summary with the ratio
of the medians (target: dq <= 1.1x psql).

    python benchmarks/bench_postgres.py --data /work/bigdata-pg/peerbench_10000000.parquet --rounds 5

The contract is benchmarks/peerbench/suite_contract.yaml with ``label`` declared int16:
PostgreSQL has no 1-byte integer, the column is ``smallint`` there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "peerbench"))
sys.path.insert(0, os.environ.get("PEERBENCH_HARNESS", "/work/shared/peerbench") + "/runners")  # its _common.py
from dqgate_runner import SUITE_IDS  # noqa: E402

COLUMNS = (
    ("id", "bigint"), ("age", "integer"), ("income", "double precision"), ("score", "double precision"),
    ("weight", "double precision"), ("country", "text"), ("email", "text"), ("product_code", "text"),
    ("split", "text"), ("label", "smallint"), ("start_ts", "timestamp"), ("end_ts", "timestamp"),
)  # fmt: skip
ROW_CHECKS = ("age_not_null", "email_not_null", "country_not_null", "id_unique", "age_between", "score_between",
              "start_ts_between", "country_in_set", "email_regex", "product_code_length", "ts_order", "label_not_null_if_train")  # fmt: skip


def _server(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["bash", str(ROOT / "scripts" / "postgres_server.sh"), "start", str(folder)], capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr.strip())
    return done.stdout.strip()


def _load(dsn: str, parquet: Path, work: Path) -> float:
    """CSV out of DuckDB, COPY into the server (as the postgres superuser), VACUUM ANALYZE."""
    import duckdb
    import psycopg

    t0 = time.perf_counter()
    csv = work / "peerbench.csv"
    duckdb.connect().execute(f"COPY (SELECT {', '.join(c for c, _ in COLUMNS)} FROM read_parquet('{parquet}')) TO '{csv}' (HEADER)")
    os.chmod(csv, 0o644)
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS peerbench")
        con.execute(f"CREATE TABLE peerbench ({', '.join(f'{c} {t}' for c, t in COLUMNS)})".encode())
        con.execute(f"COPY peerbench FROM '{csv}' (FORMAT csv, HEADER)".encode())
        con.execute("VACUUM (FREEZE, ANALYZE) peerbench")
    csv.unlink()
    return time.perf_counter() - t0


def _contract(work: Path) -> Path:
    text = (HERE / "peerbench" / "suite_contract.yaml").read_text(encoding="utf-8")
    text = text.replace("label:        {type: int8}", "label:        {type: int16}")
    path = work / "contract.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, done.stdout


def _dq_counts(out: str) -> dict[str, Any]:
    result = json.loads(out)
    assert result["engine"] == "postgres", result["engine"]
    got = {}
    for c in result["checks"]:
        suite = SUITE_IDS.get(c["id"])
        if suite is not None:
            got[suite] = c["failed_rows"] if suite in ROW_CHECKS else c["observed"]
    return got


def _psql_counts(out: str) -> dict[str, Any]:
    cells = out.strip().split("|")
    names = [*ROW_CHECKS, "row_count_between", "income_mean_between", "score_max_between", "income_min_between", "weight_null_fraction_max"]
    return {n: float(v) if "." in v else int(v) for n, v in zip(names, cells, strict=True)}


def _agree(got: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    bad = []
    for name, want in expected["checks"].items():
        value = want.get("failed_rows", want.get("value"))
        have = got.get(name)
        ok = have == value if isinstance(value, int) and not isinstance(value, bool) else have is not None and abs(have - value) <= 1e-9 * max(1.0, abs(value))
        if not ok:
            bad.append(f"{name}: {have} != {value}")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/bigdata-pg/peerbench_10000000.parquet"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dsn", help="a server that already holds table peerbench (skips starting and loading)")
    args = ap.parse_args()
    expected = json.loads(args.data.with_name(args.data.name.replace(".parquet", ".expected.json")).read_text())
    work = Path(tempfile.mkdtemp(prefix="bench-pg-", dir=args.data.parent))
    os.chmod(work, 0o755)
    server = work / "server"
    try:
        dsn = args.dsn or _server(server)
        if not args.dsn:
            print(json.dumps({"load_s": round(_load(dsn, args.data, work), 1), "rows": expected["rows"]}), flush=True)
        contract = _contract(work)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        dq = [sys.executable, "-m", "dqgate", "check", str(contract), "--data", f"{dsn}?table=public.peerbench", "--format", "json", "-q"]
        psql = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(HERE / "peerbench" / "postgres_fused.sql")]
        times: dict[str, list[float]] = {"dq": [], "psql": []}
        for r in range(args.rounds + 1):  # round 0 warms the server's caches, unmeasured
            order = [("dq", dq), ("psql", psql)] if r % 2 else [("psql", psql), ("dq", dq)]
            row: dict[str, Any] = {"round": r}
            for name, cmd in order:
                elapsed, out = _timed(cmd, env)
                got = _dq_counts(out) if name == "dq" else _psql_counts(out)
                bad = _agree(got, expected)
                if bad:
                    sys.exit(f"{name} disagrees with expected.json: {'; '.join(bad)}")
                row[name] = round(elapsed, 3)
                if r:
                    times[name].append(elapsed)
            print(json.dumps(row), flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(json.dumps({"rows": expected["rows"], "median_dq_s": round(med["dq"], 3), "median_psql_s": round(med["psql"], 3),
                          "ratio": round(med["dq"] / med["psql"], 3), "counts": "17/17 agree with expected.json"}))  # fmt: skip
    finally:
        if not args.dsn:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgres_server.sh"), "stop", str(server)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
