"""The floor under `dq check` of a 1-row file if its plan were kept whole: what issue #13's
0.35 s target needs, measured before building it.

A plan cache that spares a check pydantic and sqlglot must keep every statement the
DuckDB runner sends (the source view, the footer and key-span queries, the fused
statement, the samples), so the fastest such check is: start Python, import click and
DuckDB, open a connection that may load dqgate's extension, run those statements, print.
This script records the statements of one real `dq check` (a proxy around the runner's
connection), then times, interleaved in each round as bench_startup.py does:

- ``python -c pass`` and ``python -c "import duckdb"``;
- the import floor of today's check (duckdb, sqlglot's DuckDB dialect, pydantic, click, PyYAML);
- the replay: a process that runs the recorded statements with click and DuckDB only;
- ``dq check`` itself.

    PYTHONPATH=src python benchmarks/bench_check_floor.py [--rounds 7]

The replay is a measurement of a path that does not exist, not a cache: it runs the
statements of this very file (its path, its key span) and judges nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
sys.path.insert(0, HERE)

from bench_startup import ONE_ROW  # noqa: E402

RECORD = """\
import json, os, sys
os.environ["DQGATE_CACHE"] = "0"  # the check's own statements, not those keeping its compiled check adds
import dqgate.runners.native as native
real, log = native.connect, []
class Recording:
    def __init__(self, con): self._con = con
    def execute(self, sql, *a, **k): log.append(sql); return self._con.execute(sql, *a, **k)
    def sql(self, sql, *a, **k): log.append(sql); return self._con.sql(sql, *a, **k)
    def __getattr__(self, name): return getattr(self._con, name)
native.connect = lambda: Recording(real())
from dqgate.cli import main
code = main(["check", "one.yaml", "-q"])
json.dump(log, open("statements.json", "w"))
sys.exit(code)
"""

REPLAY = """\
import json
import click, duckdb
con = duckdb.connect(":memory:", config={"allow_unsigned_extensions": "true"})
for sql in json.load(open("statements.json")):
    con.execute(sql).fetchall()
click.echo("one 0.1.0  ·  one.parquet  ·  1 rows  ·  duckdb\\nPASS: 6 pass")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="dq-bench-floor-") as folder:
        env = {**os.environ, "PYTHONPATH": SRC, "DQ_PROGRESS": "0", "DQGATE_CACHE_DIR": os.path.join(folder, "cache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": [1], "x": [1.5], "s": ["a"]}), os.path.join(folder, "one.parquet"))
        with open(os.path.join(folder, "one.yaml"), "w", encoding="utf-8") as fh:
            fh.write(ONE_ROW)
        subprocess.run([py, "-c", RECORD], env=env, cwd=folder, check=True, capture_output=True)
        with open(os.path.join(folder, "statements.json"), encoding="utf-8") as fh:
            recorded = len(json.load(fh))
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import duckdb'": [py, "-c", "import duckdb"],
            "import floor of today's check": [py, "-c", "import duckdb, sqlglot.dialects.duckdb, pydantic, click, yaml"],
            f"replay of the {recorded} statements": [py, "-c", REPLAY],
            "dq check (1-row file)": [py, "-m", "dqgate", "check", "one.yaml", "-q"],
        }
        runs: dict[str, list[float]] = {name: [] for name in commands}
        for cmd in commands.values():  # warm the file cache and __pycache__
            subprocess.run(cmd, env=env, cwd=folder, check=True, capture_output=True)
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                start = time.perf_counter()
                subprocess.run(cmd, env=env, cwd=folder, check=True, capture_output=True)
                runs[name].append(time.perf_counter() - start)
    wall = {name: statistics.median(r) for name, r in runs.items()}
    duck = wall["python -c 'import duckdb'"]
    print(f"median wall of {args.rounds} interleaved rounds; os.getloadavg {os.getloadavg()[0]:.1f}")
    for name, w in wall.items():
        print(f"{name:36} {w:7.3f} s  {w / duck:5.2f}x import duckdb")


if __name__ == "__main__":
    main()
