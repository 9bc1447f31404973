"""``store/beside.py``: work in a thread beside the caller's, its result or its error given back.

An ingest stages its batch and encodes its key runs this way; what a broken helper gets
wrong: a result or an error lost, an error raised in the wrong thread, or work cut off
when the process ends before asking for it (a daemon thread is ended inside C++ at
exit, which can abort the process).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

import dqgate
from dqgate.store.beside import Beside


def test_the_result_is_what_the_work_returned_computed_in_another_thread() -> None:
    seen: list[str] = []

    def work(a: int, b: int) -> int:
        seen.append(threading.current_thread().name)
        return a * b

    assert Beside(work, 6, 7, name="dqgate-test").result() == 42
    assert seen == ["dqgate-test"]


def test_the_work_s_error_is_raised_by_result_in_the_caller() -> None:
    def work() -> None:
        raise ValueError("the batch changed")

    beside = Beside(work)
    beside.wait()  # nothing is raised until the caller asks
    with pytest.raises(ValueError, match="the batch changed"):
        beside.result()


def test_a_process_that_never_asks_still_lets_the_work_finish(tmp_path: Path) -> None:
    done = tmp_path / "done"
    program = (
        "import sys, time\n"
        "from dqgate.store.beside import Beside\n"
        "def work(path):\n"
        "    time.sleep(0.5)\n"
        "    open(path, 'w').write('finished')\n"
        f"Beside(work, {str(done)!r})\n"
        "sys.exit(0)\n"
    )
    env = {"PYTHONPATH": str(Path(dqgate.__file__).resolve().parents[1])}
    got = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    assert done.read_text() == "finished"
