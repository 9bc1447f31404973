"""`dq check` answered from a compiled check (cli/fastcheck.py), as real processes.

The first check of a contract runs in full and keeps what it ran; the next one replays
it before click, PyYAML, pydantic or sqlglot is imported. Every test compares with a run
whose cache is off (``DQGATE_CACHE=0``): same output (the duration aside), same exit
code, same one-line error, and when anything changed (the contract, the file's schema,
the file itself, the entry) the full path answers, which the imported modules show.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dq_process import ONE_ROW_CONTRACT as CONTRACT
from dq_process import PLANNERS, dq, loaded, one_row

NOT_ON_HIT = (*PLANNERS, "pyarrow", "numpy", "rich", "dqgate.contract.check", "dqgate.compilers")


def timeless(text: str) -> str:
    """Output without the run's duration (JSON ``elapsed_s``, JUnit ``time``, the text report's ``in 0.11s``)."""
    text = re.sub(r'"elapsed_s": [0-9.e-]+', '"elapsed_s": 0', text)
    text = re.sub(r' time="[0-9.]+"', ' time="0"', text)  # JUnit
    return re.sub(r" in [0-9.]+s$", " in 0s", text, flags=re.M)


def same_as_uncached(folder: Path, *args: str) -> tuple[int, str, str, set[str]]:
    """Run `dq ARGS` with the cache and without; assert the same answer; the cached run's."""
    got = dq(folder, *args)
    want = dq(folder, *args, cache=False)
    assert got[0] == want[0]
    assert timeless(got[1]) == timeless(want[1])
    assert got[2] == want[2]
    return got


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_the_second_check_imports_no_planner_and_prints_the_same(tmp_path: Path, fmt: str) -> None:
    one_row(tmp_path)
    first = dq(tmp_path, "check", "one.yaml", "-q", "--format", fmt)
    assert first[0] == 0 and loaded(first[3], ("sqlglot", "pydantic")) == ["sqlglot", "pydantic"]  # the full path, which keeps it
    second = same_as_uncached(tmp_path, "check", "one.yaml", "-q", "--format", fmt)
    assert loaded(second[3], NOT_ON_HIT) == []
    assert timeless(second[1]) == timeless(first[1])
    if fmt == "json":
        assert json.loads(second[1])["source"]["decided_from_footer"]  # the footer's decisions replayed too


def test_failing_rules_with_samples_replay_with_exit_1(tmp_path: Path) -> None:
    table = pa.table({"id": [1, 2, 2, 4, None], "x": [1.5, -3.0, 11.0, float("nan"), 2.0], "s": ["a", "c", None, "b", "a"]})
    one_row(tmp_path, table)
    dq(tmp_path, "check", "one.yaml", "--format", "json", "-q")
    code, out, _, modules = same_as_uncached(tmp_path, "check", "one.yaml", "--format", "json", "-q")
    assert code == 1 and loaded(modules, PLANNERS) == []
    doc = json.loads(out)
    assert {c["id"]: c["status"] for c in doc["checks"]}["id.unique"] == "fail"
    assert [c["sample"] for c in doc["checks"] if c["id"] == "x.range"] == [[{"id": 2, "x": -3.0}, {"id": 2, "x": 11.0}]]
    # -o FILE and --data PATH (the same file) replay too; the file holds what stdout held
    code, _, _, modules = dq(tmp_path, "check", "one.yaml", "--data", "one.parquet", "-o", "r.json", "--format=json", "-q")
    assert code == 1 and loaded(modules, PLANNERS) == []
    assert timeless((tmp_path / "r.json").read_text(encoding="utf-8")) == timeless(out)


def test_whatever_changed_the_full_path_answers(tmp_path: Path) -> None:
    one_row(tmp_path)
    dq(tmp_path, "check", "one.yaml", "-q")
    # the contract changed: another entry, the full path (and it keeps the new one)
    (tmp_path / "one.yaml").write_text(CONTRACT.replace("max: 10", "max: 1"), encoding="utf-8")
    code, _, _, modules = same_as_uncached(tmp_path, "check", "one.yaml", "-q")
    assert code == 1 and "sqlglot" in modules
    # the file's schema changed (one more column; then x stored as text: a one-line error, exit 2)
    one_row(tmp_path, pa.table({"id": [1], "x": [0.5], "s": ["a"], "extra": [True]}), CONTRACT.replace("max: 10", "max: 1"))
    code, _, _, modules = same_as_uncached(tmp_path, "check", "one.yaml", "-q")
    assert code == 0 and "sqlglot" in modules
    one_row(tmp_path, pa.table({"id": [1], "x": ["0.5"], "s": ["a"]}), CONTRACT.replace("max: 10", "max: 1"))
    code, _, err, modules = same_as_uncached(tmp_path, "check", "one.yaml", "-q")
    assert code == 2 and err.count("\n") == 1 and "column 'x' is VARCHAR" in err
    # the file is gone
    (tmp_path / "one.parquet").unlink()
    code, _, err, _ = same_as_uncached(tmp_path, "check", "one.yaml", "-q")
    assert code == 2 and err.count("\n") == 1 and "not found" in err


def test_a_corrupt_entry_is_ignored_and_written_anew(tmp_path: Path) -> None:
    one_row(tmp_path)
    dq(tmp_path, "check", "one.yaml", "-q", "--format", "json")
    entries = list((tmp_path / "cache" / "check").iterdir())
    assert len(entries) == 1
    for garbage in (b"\x80\x04not a pickle", entries[0].read_bytes()[:40]):
        entries[0].write_bytes(garbage)
        code, _, _, modules = same_as_uncached(tmp_path, "check", "one.yaml", "-q", "--format", "json")
        assert code == 0 and "sqlglot" in modules  # the full path, which keeps it again
    code, _, _, modules = dq(tmp_path, "check", "one.yaml", "-q", "--format", "json")
    assert code == 0 and loaded(modules, PLANNERS) == []


def test_exit_codes_and_one_line_errors_are_unchanged(tmp_path: Path) -> None:
    one_row(tmp_path)
    dq(tmp_path, "check", "one.yaml", "-q")
    (tmp_path / "folder").mkdir()
    code, _, err, _ = same_as_uncached(tmp_path, "check", "one.yaml", "-q", "-o", "folder")
    assert code == 2 and err.count("\n") == 1 and "is a folder" in err
    code, _, err, _ = same_as_uncached(tmp_path, "check", "one.yaml", "-q", "--samples", "-1")
    assert code == 2 and err.count("\n") == 1
    code, _, err, _ = same_as_uncached(tmp_path, "check", "one.yaml", "-q", "--no-such-option")
    assert code == 2 and err.count("\n") == 1
    code, out, _, _ = same_as_uncached(tmp_path, "check", "one.yaml", "-q", "--format", "junit")
    assert code == 0 and out.startswith("<?xml")
    # an empty file of the same schema: refused in one line, unless --allow-empty
    pq.write_table(pa.table({"id": pa.array([], pa.int64()), "x": pa.array([], pa.float64()), "s": pa.array([], pa.string())}), tmp_path / "empty.parquet")
    code, _, err, _ = same_as_uncached(tmp_path, "check", "one.yaml", "-q", "--data", "empty.parquet")
    assert code == 2 and err.count("\n") == 1 and "0 rows" in err
    code, _, _, _ = same_as_uncached(tmp_path, "check", "one.yaml", "-q", "--data", "empty.parquet", "--allow-empty")
    assert code == 1  # row_count min 1 fails


def test_an_openlineage_event_is_sent_by_the_full_path(tmp_path: Path) -> None:
    one_row(tmp_path)
    dq(tmp_path, "check", "one.yaml", "-q")
    events = tmp_path / "events.jsonl"
    code, _, _, modules = dq(tmp_path, "check", "one.yaml", "-q", env={"DQ_OPENLINEAGE_FILE": str(events)})
    assert code == 0 and "sqlglot" in modules
    assert json.loads(events.read_text(encoding="utf-8").splitlines()[-1])["eventType"] == "COMPLETE"


def _at_a_terminal(folder: Path, *args: str, cache: bool = True) -> tuple[str, set[str]]:
    """`dq ARGS` on a pseudo-terminal (util-linux `script`), the progress bar left on:
    what the terminal showed (colour codes removed), the modules imported."""
    import os
    import shlex
    import subprocess
    import sys

    from dq_process import PROBE

    env = {**os.environ, "DQGATE_CACHE_DIR": str(folder / "cache"), "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    for name in ("DQ_PROGRESS", "DQ_OPENLINEAGE_URL", "DQ_OPENLINEAGE_FILE", "DQGATE_CACHE"):
        env.pop(name, None)
    if not cache:
        env["DQGATE_CACHE"] = "0"
    inner = " ".join(shlex.quote(a) for a in (sys.executable, "-c", PROBE, *args))
    done = subprocess.run(["script", "-qec", inner, "/dev/null"], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)
    shown = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", done.stdout.replace("\r", ""))
    out, _, last = shown.rstrip("\n").rpartition("\n")
    return out, set(json.loads(last)["modules"])


@pytest.mark.skipif(__import__("shutil").which("script") is None, reason="util-linux `script` is not installed")
def test_at_a_terminal_the_second_check_is_replayed_too(tmp_path: Path) -> None:
    """A person at a terminal (where the full path would draw its bar after a second) gets
    the replay as well, with the same report."""
    one_row(tmp_path)
    _at_a_terminal(tmp_path, "check", "one.yaml")  # keeps it
    shown, modules = _at_a_terminal(tmp_path, "check", "one.yaml")
    assert loaded(modules, (*PLANNERS, "dqgate.contract.check", "dqgate.compilers")) == []  # rich draws the colours
    want, _ = _at_a_terminal(tmp_path, "check", "one.yaml", cache=False)
    assert timeless(shown) == timeless(want)
    assert shown.startswith("one 0.1.0") and "PASS: 6 pass" in shown
