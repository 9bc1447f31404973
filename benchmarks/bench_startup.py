"""Start-up cost of the two commands a user waits on: `dq lint` over 20 contracts (the
pre-commit hook) and `dq check` of a 1-row file, against the floor any Python tool pays.

Whole processes, interleaved in one run (the machine is noisy: each round runs every
command once, in turn), reporting the median wall and CPU time of each and its ratio to
``python -c pass`` and to ``python -c "import duckdb"``:

    python benchmarks/bench_startup.py [--rounds 15]

Targets (issue #13): lint of 20 contracts <= 0.25 s wall, check of a 1-row file <= 0.35 s
wall on a quiet machine. Lint is measured twice: with its cache of clean contract texts
off (every contract parsed, every SQL fragment vetted with sqlglot: a first lint on a
new machine), with every contract already known clean (a repeated `dq lint .`), and in
the pre-commit case: one of the 20 contracts edited on a line that is not SQL (the rest
known clean), or the 20 plus a new contract copied from one of them, whose SQL fragments
were vetted before (contract/sql_cache.py). "hook" is the pre-commit hook's own
command (`dq lint --only-contracts --against HEAD` on the one staged file, edited on a line
that is not SQL, compared with its committed version through `git cat-file`). The edit
is a `sed` inside the timed process (~2 ms). The contracts are bench_lint.py's (~50-60 lines each, every
rule kind, SQL checks, metrics, drift).

``--baseline SRC`` also times the `dq` commands of another source tree (say the previous
commit, from ``git worktree add /tmp/old <rev>``; its compiled kernels copied in) in the
same rounds, so a change is judged against the code before it on the same noise.
The "import floor" row imports what a full check needs (duckdb, sqlglot's DuckDB
dialect, pydantic, click, PyYAML) and nothing else. The "dq check (1-row file)" row is a
check whose compiled check is kept (the warm-up round kept it; runners/replay.py), which
imports none of them but duckdb; "first run" empties the compiled-check cache before
each run, so it is the full path plus keeping what it ran.

The "duckdb floor" row is the least any DuckDB-based check of the 1-row file does: import
DuckDB, open a connection and run one aggregate over the file (a count, the expect rule,
min/max and a distinct count), printing the row; the replayed check is judged against it.

Child processes write bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped from their
environment; the warm-up round writes ``__pycache__``), as an installed package has it:
with it set, every run compiles dqgate's ~60 modules from source again (~0.15 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
sys.path.insert(0, HERE)

from bench_lint import write_contracts  # noqa: E402

ONE_ROW = """\
dataset: one
source: one.parquet
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    x: {type: float64, range: {min: 0, max: 10}}
    s: {type: string, in: [a, b]}
checks:
  - expect: "x >= 0"
  - metric: row_count
    min: 1
"""

# What any DuckDB-based check of one.parquet must do (a fixed benchmark query, no user input).
DUCKDB_FLOOR = """\
import duckdb
con = duckdb.connect(":memory:")
print(con.execute(
    "SELECT count(*), count(*) FILTER (WHERE x >= 0), min(x), max(x), count(DISTINCT id), "
    "count(*) FILTER (WHERE s NOT IN ('a', 'b')) FROM read_parquet('one.parquet')"
).fetchall())
"""


def timed(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--baseline", metavar="SRC", help="another tree's src/ folder: time its dq commands too")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="dq-bench-startup-") as folder:
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "DQ_PROGRESS": "0",
               "DQGATE_CACHE_DIR": os.path.join(folder, "cache")}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        paths = write_contracts(folder, 20)
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": [1], "x": [1.5], "s": ["a"]}), os.path.join(folder, "one.parquet"))
        with open(os.path.join(folder, "one.yaml"), "w", encoding="utf-8") as fh:
            fh.write(ONE_ROW)
        # the pre-commit hook's own command needs the contracts committed: hook.yaml (a copy of the
        # third contract, committed) is edited on its owner line before each run, as a user would
        with open(paths[2], encoding="utf-8") as fh:
            hooked = fh.read()
        for name in ("hook.yaml", "hook.src"):
            with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
                fh.write(hooked)
        git_env = {**env, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
        for git in (["init", "-q"], ["add", "hook.yaml", *paths], ["commit", "-qm", "contracts"]):
            subprocess.run(["git", *git], cwd=folder, env=git_env, check=True, capture_output=True)
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import duckdb'": [py, "-c", "import duckdb"],
            "import floor": [py, "-c", "import duckdb, sqlglot.dialects.duckdb, pydantic, click, yaml"],
            "duckdb floor (1-row file)": [py, "-c", DUCKDB_FLOOR],
        }
        dq = {
            "dq lint (20, cache off)": ["env", "DQGATE_CACHE=0", py, "-m", "dqgate", "lint", *paths],
            "dq lint (20, known clean)": [py, "-m", "dqgate", "lint", *paths],
            # the pre-commit case: one contract edited on a line that is not SQL (a copy of the
            # first with a new owner each run, so its text is new), the other 19 known clean
            "dq lint (20, one edited)": [
                "sh", "-c", 'sed "s/^owner: .*/owner: team-$$/" "$0" > edited.yaml && exec "$@"', paths[0], py, "-m", "dqgate", "lint",
                *paths[1:], "edited.yaml",
            ],
            # the hook as pre-commit runs it: the one staged contract, compared with HEAD
            "hook: 1 edited, --against HEAD": [
                "sh", "-c", 'sed "s/^owner: .*/owner: team-$$/" hook.src > hook.yaml && exec "$@"', "sh", py, "-m", "dqgate", "lint",
                "--only-contracts", "--against", "HEAD", "hook.yaml",
            ],
            # a new contract (a copy of another under a new name each run) whose SQL was seen
            "dq lint (20 + a new one)": [
                "sh", "-c", 'sed "s/^dataset: .*/dataset: new_$$/" "$0" > new.yaml && exec "$@"', paths[1], py, "-m", "dqgate", "lint",
                *paths, "new.yaml",
            ],
            "dq check (1-row file)": [py, "-m", "dqgate", "check", "one.yaml", "-q"],
        }
        commands.update(dq)
        # the first check of a contract (its compiled check not kept yet: a cache emptied each run;
        # the runs above reuse theirs, kept by the warm-up round)
        first = os.path.join(folder, "cache-first")
        commands["dq check (1-row file, first run)"] = [
            "sh", "-c", 'rm -rf "$0" && DQGATE_CACHE_DIR="$0" exec "$@"', first, py, "-m", "dqgate", "check", "one.yaml", "-q",
        ]  # fmt: skip
        if args.baseline:  # the same dq commands from the other tree, its own lint cache
            base_src = os.path.abspath(args.baseline)
            cache = os.path.join(folder, "cache-baseline")
            for name, cmd in dq.items():
                commands[f"baseline {name}"] = ["env", f"PYTHONPATH={base_src}", f"DQGATE_CACHE_DIR={cache}", *cmd]
        commands |= {
            # the progress bar: rich's (as the issue asks) against report/progress.py's own
            "import rich.progress": [py, "-c", "import rich.progress"],
            "import dqgate...progress": [py, "-c", "import dqgate.report.progress"],
        }
        for cmd in commands.values():  # warm the file cache and __pycache__
            timed(cmd, env, folder)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                runs[name].append(timed(cmd, env, folder))
    wall = {name: statistics.median(w for w, _ in r) for name, r in runs.items()}
    cpu = {name: statistics.median(c for _, c in r) for name, r in runs.items()}
    floor, duck = wall["python -c pass"], wall["python -c 'import duckdb'"]
    print(f"median of {args.rounds} interleaved rounds (whole processes); os.getloadavg {os.getloadavg()[0]:.1f}")
    print(f"{'command':42} {'wall s':>7} {'cpu s':>7} {'x pass':>7} {'x duckdb':>9}")
    for name in commands:
        print(f"{name:42} {wall[name]:7.3f} {cpu[name]:7.3f} {wall[name] / floor:7.2f} {wall[name] / duck:9.2f}")
    for name in (n for n in commands if f"baseline {n}" in commands):
        old = f"baseline {name}"
        print(f"{name}: {wall[name] / wall[old]:.2f}x the baseline's wall, {cpu[name] / cpu[old]:.2f}x its CPU")


if __name__ == "__main__":
    main()
