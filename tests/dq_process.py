"""`dq` as a real process, through the console script's own entry (``main()`` reading
``sys.argv``, as the installed `dq` does), listing the modules it imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dqgate

PLANNERS = ("pydantic", "sqlglot", "yaml", "click")  # what a compiled check's replay never imports

# The console script's own entry: main() reads sys.argv (a test calling main(args) gets the click path).
PROBE = (
    "import json, sys\n"
    "sys.argv = ['dq', *sys.argv[1:]]\n"
    "from dqgate.cli import main\n"
    "code = main()\n"
    "sys.stdout.flush()\n"
    "print('\\n' + json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
)


def dq(folder: Path, *args: str, cache: bool = True, env: dict[str, str] | None = None) -> tuple[int, str, str, set[str]]:
    """`dq ARGS` in a fresh interpreter in ``folder`` (``env`` added to the environment):
    exit code, stdout, stderr, modules imported."""
    extra = env or {}
    env = {**os.environ, "DQGATE_CACHE_DIR": str(folder / "cache"), "DQ_PROGRESS": "0",
           "PYTHONPATH": str(Path(dqgate.__file__).resolve().parents[1])}  # fmt: skip
    for name in ("DQ_OPENLINEAGE_URL", "DQ_OPENLINEAGE_FILE", "DQGATE_CACHE"):
        env.pop(name, None)
    if not cache:
        env["DQGATE_CACHE"] = "0"
    env.update(extra)
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, cwd=folder, timeout=120, check=False)
    out, _, last = done.stdout.rpartition("\n\n")
    try:
        probe = json.loads(last)
    except json.JSONDecodeError:
        raise AssertionError(f"dq {' '.join(args)} did not finish:\n{done.stdout}{done.stderr}") from None
    return probe["code"], out + ("\n" if out else ""), done.stderr, set(probe["modules"])


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if any(m == name or m.startswith(name + ".") for m in modules)]


# A contract and the 1-row Parquet file it passes on (tests of the replayed check and of imports).
ONE_ROW_CONTRACT = """\
dataset: one
source: one.parquet
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    x: {type: float64, range: {min: 0, max: 10}}
    s: {type: string, in: [a, b]}
checks:
  - expect: "x >= 0"
    severity: warn
  - metric: row_count
    min: 1
"""


def one_row(folder: Path, table: object = None, contract: str = ONE_ROW_CONTRACT) -> None:
    """Write ``one.parquet`` (``table``, or one passing row) and ``one.yaml`` into ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(table if table is not None else pa.table({"id": [1], "x": [1.5], "s": ["a"]}), folder / "one.parquet")
    (folder / "one.yaml").write_text(contract, encoding="utf-8")
