"""The README's Airflow example, run as written by real Airflow (`airflow dags test`).

The DAG is the ```python block of README.md that defines ``flights_pipeline``; it runs in
a scratch folder holding a copy of ``rules/`` (the paths the example names), with its own
Airflow home (SQLite metadata database) and dqgate state. Three runs: a good batch is
published and the training task reads exactly that version; a batch with bad rows has
them quarantined and the rest appended; a batch that cannot be read fails the DAG run
before anything downstream runs and publishes nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).with_name("airflow")

if not AIRFLOW.exists():  # pragma: no cover - CI installs it (the test extra)
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"Airflow is not installed beside {sys.executable} (pip install 'dqgate[airflow]')")
    pytest.skip("Airflow is not installed (pip install 'dqgate[airflow]')", allow_module_level=True)


def _readme_dag() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    found = [b for b in blocks if "def flights_pipeline" in b]
    assert len(found) == 1, "README.md must hold exactly one Airflow example"
    return found[0]


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory):
    """A scratch folder with the README's DAG, rules/ and a migrated Airflow database;
    returns a function that runs the DAG once with a batch and gives (exit code, output)."""
    work = tmp_path_factory.mktemp("airflow")
    shutil.copytree(ROOT / "rules", work / "rules", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "dags").mkdir()
    (work / "dags" / "flights_pipeline.py").write_text(_readme_dag())
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(work / "home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(work / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DQGATE_STATE_DIR": str(work / "state"),
    }
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run([str(AIRFLOW), "db", "migrate"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    def run(batch: str) -> tuple[int, str]:
        conf = '{"batch": "%s"}' % batch
        done = subprocess.run(
            [str(AIRFLOW), "dags", "test", "flights_pipeline", "-c", conf],
            cwd=work, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    run.work = work  # type: ignore[attr-defined]
    return run


def _trained(output: str) -> list[tuple[int, int]]:
    return [(int(v), int(n)) for v, n in re.findall(r"training on flights@(\d+): (\d+) rows", output)]


def test_the_readme_dag_publishes_quarantines_and_refuses_as_the_gate_says(airflow) -> None:
    work: Path = airflow.work
    store = work / "store" / "flights"
    good = pq.read_metadata(work / "rules/data/flights.parquet").num_rows
    bad = pq.read_metadata(work / "rules/data/flights_bad_batch.parquet").num_rows

    code, out = airflow("rules/data/flights.parquet")
    assert code == 0, out[-3000:]
    assert _trained(out) == [(1, good)]

    code, out = airflow("rules/data/flights_bad_batch.parquet")  # bad rows: quarantine_rows in rules/flights.yaml
    assert code == 0, out[-3000:]
    quarantined = sum(pq.read_metadata(p).num_rows for p in (store / "quarantine").glob("*/rows.parquet"))
    assert 0 < quarantined < bad
    assert _trained(out) == [(2, good + bad - quarantined)]  # the appended snapshot: parent + the rows that passed

    code, out = airflow("rules/data/no_such_batch.parquet")
    assert code != 0
    assert _trained(out) == []  # training never ran
    assert sorted(p.name for p in (store / "versions").glob("*.json")) == ["00000001.json", "00000002.json"]
