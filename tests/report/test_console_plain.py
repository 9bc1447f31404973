"""The text report of a check with nothing to show but its summary is drawn without rich
(its import is ~0.1 s of every passing `dq check`); it must read exactly as rich drew it."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.markup import escape

from dqgate.report import console
from dqgate.runners.results import CheckResult, RunResult


def _rich(line: str, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, soft_wrap=False).print(escape(line))
    return buf.getvalue()


def _result(uri: str, note: str | None = None) -> RunResult:
    check = CheckResult(id="x.range", rule="range", columns=("x",), severity="error", status="pass", failed_rows=0, total_rows=3)
    return RunResult(contract={"dataset": "wine", "version": "1.2.0", "sha256": "0" * 64}, source={"uri": uri, "rows": 1234567},
                     status="pass", checks=(check,), elapsed_s=0.06, engine="duckdb", engine_note=note)  # fmt: skip


@pytest.mark.parametrize("width", [40, 57, 80, 120, 200])
@pytest.mark.parametrize("uri", ["one.parquet", "data/batches/2024/06/part-00000-of-00012-with-a-long-name.parquet"])
def test_a_passing_report_reads_as_rich_drew_it(width: int, uri: str) -> None:
    result = _result(uri, note="ran on duckdb: the polars engine cannot run rule 'x.drift'")
    plain = console.render(result, width=width)
    title = f"wine 1.2.0  ·  {uri}  ·  1,234,567 rows  ·  duckdb"
    expected = _rich(title, width) + _rich(f"note: {result.engine_note}", width) + _rich("PASS: 1 pass (--verbose lists the passing rules) in 0.06s", width)
    assert plain == expected


def test_plain_lines_never_exceed_the_width_and_keep_every_character() -> None:
    rng = random.Random(7)
    for _ in range(300):
        words = ["".join(rng.choice("ab·/_.") for _ in range(rng.randint(1, 70))) for _ in range(rng.randint(1, 12))]
        line = (" " * rng.randint(1, 2)).join(words)
        width = rng.randint(40, 120)
        out = console._wrapped(line, width)
        assert all(len(part) <= width for part in out.splitlines())
        assert "".join(out.split()) == "".join(line.split())


def test_a_failure_or_verbose_report_still_uses_the_table() -> None:
    result = _result("one.parquet")
    assert "x.range" in console.render(result, width=80, verbose=True)  # the passing rule is listed in the table
