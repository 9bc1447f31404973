"""`dq check`'s progress bar, seen from outside: real `dq` processes whose stderr is a real
pseudo-terminal (or a pipe), stdout a pipe carrying the JSON report.

The slow check is a regular expression over 36 concatenated copies of a string column on
500,000 rows in one Parquet row group, with Polars held to one thread: one core for about
2 s on either engine, however many cores the machine has, and longer when it is busy
(which only makes the bar more certain). Each test that expects no bar first asserts
that the check did run long enough for a bar to have been drawn (``elapsed_s`` over
1.3 s; the bar starts at 1 s), so none of them passes vacuously.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import dqgate

SLOW_S = 1.3  # a check that ran this long has passed the bar's 1 s delay
COPIES = 36
CONTRACT = """\
dataset: planes
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true}
    tailnum: {type: string, pattern: '^N[0-9]+$'}
checks:
  - name: slow
    expect: "regexp_matches(EXPR, '^(N[0-9]+)+$')"
"""
FRAME = r"\rdq check  \[[#.]+\]  (?: {0,2}\d{1,3}%| {4})  \d+\.\d s"
DRAWN = re.compile(rf"(?:{FRAME})+\r( +)\r")  # frames redrawn in place, then the line blanked


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("progress")
    ids = pa.array(range(500_000), pa.int64())
    tail = pc.binary_join_element_wise("N", pc.cast(pc.multiply(ids, 7919), pa.string()), "")
    # One row group: DuckDB scans it on one thread (and still reports progress as it goes).
    pq.write_table(pa.table({"id": ids, "tailnum": tail}), folder / "slow.parquet", row_group_size=500_000)
    pq.write_table(pa.table({"id": ids[:10], "tailnum": tail[:10]}), folder / "tiny.parquet")
    (folder / "planes.yaml").write_text(CONTRACT.replace("EXPR", " || ".join(["tailnum"] * COPIES)), encoding="utf-8")
    return folder


# name -> (data, extra arguments, stderr on a terminal?, extra environment)
RUNS: dict[str, tuple[str, tuple[str, ...], bool, dict[str, str]]] = {
    "duckdb": ("slow.parquet", (), True, {}),
    "polars": ("slow.parquet", ("--engine", "polars"), True, {}),
    "quiet": ("slow.parquet", ("-q",), True, {}),
    "env_off": ("slow.parquet", (), True, {"DQ_PROGRESS": "0"}),
    "pipe": ("slow.parquet", (), False, {}),
}


@pytest.fixture(scope="module")
def runs(files: Path) -> dict[str, dict[str, Any]]:
    """Every run of :data:`RUNS` at once (each uses one core, so on two cores together they
    take about half the time they would one after another): name -> exit code, parsed
    report, and all that reached stderr."""
    with ThreadPoolExecutor(len(RUNS)) as pool:
        futures = {
            name: pool.submit(_dq, files, ["check", "planes.yaml", "--data", data, "--format", "json", *args], tty, env)
            for name, (data, args, tty, env) in RUNS.items()
        }  # fmt: skip
        return {name: future.result() for name, future in futures.items()}


def _dq(cwd: Path, args: list[str], tty: bool, extra: dict[str, str]) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("DQ_PROGRESS", None)
    src = str(Path(dqgate.__file__).resolve().parents[1])  # the dqgate these tests import
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    env["POLARS_MAX_THREADS"] = "1"
    env.update(extra)
    cmd = [sys.executable, "-m", "dqgate", *args]
    if not tty:
        done = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        return {"code": done.returncode, "report": json.loads(done.stdout), "stderr": done.stderr.decode()}
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # an 80-column terminal
    received: list[bytes] = []

    def read() -> None:  # drain the terminal as it is written, as a terminal would
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer has closed the slave
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        stdout, _ = proc.communicate(timeout=300)
        reader.join(timeout=10)
    finally:
        os.close(master)
    return {"code": proc.returncode, "report": json.loads(stdout), "stderr": b"".join(received).decode()}


def _slow_enough(got: dict[str, Any]) -> None:
    assert got["code"] == 0, got
    assert got["report"]["elapsed_s"] > SLOW_S, "the check ended before a bar would show: make it slower"


def _same_report(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert {k: v for k, v in a.items() if k != "elapsed_s"} == {k: v for k, v in b.items() if k != "elapsed_s"}


def test_duckdb_draws_a_percentage_bar_on_the_terminal_then_erases_it(runs: dict[str, dict[str, Any]]) -> None:
    got = runs["duckdb"]
    _slow_enough(got)
    drawn = DRAWN.fullmatch(got["stderr"])
    assert drawn, repr(got["stderr"][-500:])
    frames = got["stderr"].split("\r")[1:-2]
    assert any(re.search(r"\d%", f) for f in frames), frames  # DuckDB's own estimate, not a spinner
    assert len(drawn.group(1)) >= max(len(f) for f in frames)  # the blank covers the longest frame
    assert max(len(f) for f in frames) < 80  # fits the terminal: no wrapped line
    _same_report(got["report"], runs["quiet"]["report"])  # stdout is the report alone


def test_polars_draws_a_bar_without_a_made_up_percentage(runs: dict[str, dict[str, Any]]) -> None:
    got = runs["polars"]
    _slow_enough(got)
    assert DRAWN.fullmatch(got["stderr"]), repr(got["stderr"][-500:])
    frames = got["stderr"].split("\r")[1:-2]
    assert not any("%" in f for f in frames), frames
    assert len({f.split("]")[0] for f in frames}) > 1 or len(frames) == 1  # the block moves
    assert got["report"]["engine"] == "polars" and got["report"]["source"]["rows"] == 500_000  # stdout: the report


def test_quiet_writes_nothing_to_the_terminal(runs: dict[str, dict[str, Any]]) -> None:
    got = runs["quiet"]
    _slow_enough(got)
    assert got["stderr"] == ""


def test_dq_progress_0_turns_the_bar_off(runs: dict[str, dict[str, Any]]) -> None:
    got = runs["env_off"]
    _slow_enough(got)
    assert got["stderr"] == ""


def test_no_bar_when_stderr_is_not_a_terminal(runs: dict[str, dict[str, Any]]) -> None:
    got = runs["pipe"]
    _slow_enough(got)
    assert "\r" not in got["stderr"] and "dq check" not in got["stderr"], got["stderr"][-500:]
    _same_report(got["report"], runs["quiet"]["report"])


def test_a_fast_check_draws_nothing(files: Path) -> None:
    # Alone, not among the slow runs: sharing the cores with them could stretch it past 1 s.
    got = _dq(files, ["check", "planes.yaml", "--data", "tiny.parquet", "--format", "json"], True, {})
    assert got["code"] == 0 and got["report"]["source"]["rows"] == 10
    assert got["report"]["elapsed_s"] < 0.8  # well short of the bar's 1 s
    assert got["stderr"] == ""


def test_errors_in_polling_or_writing_never_reach_the_check(tmp_path: Path) -> None:
    from dqgate.report.progress import Bar

    def broken() -> float:
        raise RuntimeError("no estimate")

    with open(tmp_path / "tty", "w", encoding="utf-8") as stream:
        with Bar(True, broken, stream=stream, delay=0, interval=0.01):
            _wait_for(lambda: (tmp_path / "tty").stat().st_size > 0)  # the bar flushes each frame
    written = (tmp_path / "tty").read_bytes().decode()
    assert DRAWN.fullmatch(written) and "%" not in written, repr(written)  # "unknown", then erased

    stream = open(tmp_path / "closed", "w", encoding="utf-8")  # noqa: SIM115
    with Bar(True, lambda: 50.0, stream=stream, delay=0, interval=0.01):
        _wait_for(lambda: (tmp_path / "closed").stat().st_size > 0)
        stream.close()  # every later write and the final erase raise ValueError, inside the bar


def test_leaving_the_block_stops_the_bar_at_once(tmp_path: Path) -> None:
    from dqgate.report.progress import Bar

    with open(tmp_path / "tty", "w", encoding="utf-8") as stream:
        bar = Bar(True, lambda: 10.0, stream=stream, delay=0, interval=60)
        with bar:
            _wait_for(lambda: (tmp_path / "tty").stat().st_size > 0)
            left = time.perf_counter()
        assert time.perf_counter() - left < 0.5  # not the next redraw, a minute away
        assert bar._thread is not None and not bar._thread.is_alive()


def _wait_for(ready: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.perf_counter() + timeout
    while not ready():
        assert time.perf_counter() < end, "the bar never drew"
        time.sleep(0.01)
