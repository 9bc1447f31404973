"""Time the real `dq check` command line against the hand-fused DuckDB runner and the decode floor.

run_all.py measures our in-process runner; a user runs ``dq check``. This times whole
processes: ``dq check suite_contract.yaml --data FILE --format json -q --engine duckdb``
(report rendering and the CLI's imports included) against ``python duckdb_fused.py``
and ``python io_floor.py`` (the DuckDB decode floor), in rounds that rotate the order,
and reports wall time, CPU time (user + system of the child, all threads) and peak RSS
(``os.wait4``), each ratio taken within a round and the median reported.

Every output is checked: dq's JSON and the fused runner's counts against
expected.json, the floor's row count. With ``passing`` the same three commands also
run on the all-passing copy of the file (make_passing.py), interleaved with the
standard file's, and dq must report every check passing there (exit code 0).

Called by ``run_peerbench.py --cli-rounds N [--passing]`` (results/cli_<rows>.md, or
results/passing_<rows>.md with the copy) and by bench_scale.py (``interleave``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

DQ, FUSED, FLOOR = "dq check (CLI, --format json)", "duckdb_fused.py", "io_floor.py --engine duckdb"
Timings = dict[Hashable, dict[str, list[float]]]  # job -> "wall" / "cpu" / "rss" -> one value per measured round


def close(a: float, b: float) -> bool:
    """Metric values equal to 1e-6 relative (run_all.py's tolerance)."""
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, int, bytes]:
    """Wall seconds, CPU seconds (user + system, all threads), peak RSS (MB), exit code and stdout of one process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read() if p.stdout else b""
    _, status, ru = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t0
    if p.stdout:
        p.stdout.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, p.returncode, out


def agreement(report: dict[str, Any], expected: dict[str, Any], suite_ids: dict[str, str]) -> str:
    """'17/17 agree' or the mismatching suite ids, comparing dq's JSON report with expected.json."""
    got = {suite_ids[c["id"]]: c for c in report["checks"] if c["id"] in suite_ids}
    bad = []
    for cid, exp in expected["checks"].items():
        c = got.get(cid)
        if c is None:
            bad.append(f"{cid} missing")
        elif "failed_rows" in exp:
            if c.get("failed_rows") != exp["failed_rows"]:
                bad.append(f"{cid} {c.get('failed_rows')} != {exp['failed_rows']}")
        else:
            if not close(float(c["observed"]), exp["value"]) or (c["status"] == "pass") != exp["passed"]:
                bad.append(f"{cid} {c['observed']}/{c['status']}")
    n = len(expected["checks"])
    return f"{n - len(bad)}/{n} agree" if not bad else f"**{len(bad)} MISMATCH**: " + "; ".join(bad)


def runner_agreement(record: dict[str, Any], expected: dict[str, Any]) -> str:
    """The same verdict for a peerbench runner's JSON line (the fused reference)."""
    bad = []
    for cid, exp in expected["checks"].items():
        got = record["checks"].get(cid, {})
        if "failed_rows" in exp:
            ok = got.get("failed_rows") == exp["failed_rows"]
        else:
            ok = got.get("passed") == exp["passed"] and close(got.get("value", float("nan")), exp["value"])
        if not ok:
            bad.append(f"{cid} {got}")
    n = len(expected["checks"])
    return f"{n - len(bad)}/{n} agree" if not bad else f"**{len(bad)} MISMATCH**: " + "; ".join(bad)


def commands(dq: list[str], base: str, contract: str, data: Path) -> dict[str, list[str]]:
    """The three whole processes timed on one file (working directory: the harness copy's runners/)."""
    return {
        DQ: [*dq, "check", contract, "--data", str(data), "--format", "json", "-q", "--engine", "duckdb"],
        FUSED: [base, "duckdb_fused.py", "--data", str(data)],
        FLOOR: [base, "io_floor.py", "--data", str(data), "--engine", "duckdb"],
    }


def checker(expected: dict[str, Any], suite_ids: dict[str, str], passing: bool) -> Callable[[str, int, bytes], str]:
    """A function (command, exit code, stdout) -> verdict for one file; raises when a run is unusable."""

    def check(name: str, rc: int, out: bytes) -> str:
        if name == DQ:
            if rc not in ((0,) if passing else (0, 1)):
                raise RuntimeError(f"dq check exited with {rc}" + (" on the all-passing copy" if passing else ""))
            report = json.loads(out)
            verdict = agreement(report, expected, suite_ids)
            if passing:
                failing = [c["id"] for c in report["checks"] if c["status"] != "pass"]
                return verdict + (f", **not passing: {failing}**" if failing else f", all {len(report['checks'])} pass")
            return verdict
        if rc != 0:
            raise RuntimeError(f"{name} exited with {rc}")
        record = json.loads(out.decode().strip().splitlines()[-1])
        if name == FUSED:
            return runner_agreement(record, expected)
        return f"{record['rows']:,} rows" if record["rows"] == expected["rows"] else f"**{record['rows']} rows**"

    return check


def interleave(
    jobs: dict[Hashable, list[str]],
    rounds: int,
    warmup: int,
    env: dict[str, str],
    cwd: Path,
    check: Callable[[Hashable, int, bytes], str],
    label: str = "cli",
) -> tuple[Timings, dict[Hashable, str]]:
    """Run every job once per round, the order rotated each round; warm-up rounds are not kept.

    Returns per job the measured ``wall``, ``cpu`` and ``rss`` lists (index = round, so
    ratios can be taken within a round) and the verdict of its last run.
    """
    names = list(jobs)
    timings: Timings = {k: {"wall": [], "cpu": [], "rss": []} for k in names}
    verdicts: dict[Hashable, str] = {}
    for rnd in range(warmup + rounds):
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        for name in order:
            wall, cpu, mb, rc, out = _timed(jobs[name], env, cwd)
            verdicts[name] = check(name, rc, out)
            shown = " | ".join(name) if isinstance(name, tuple) else str(name)
            print(f"[{label} {rnd}{' warmup' if rnd < warmup else ''}] {shown:50s} {wall:6.2f} s  cpu {cpu:6.2f} s  "
                  f"{mb:5.0f} MB  {verdicts[name]}", file=sys.stderr)  # fmt: skip
            if rnd >= warmup:
                for key, v in (("wall", wall), ("cpu", cpu), ("rss", mb)):
                    timings[name][key].append(v)
    return timings, verdicts


def ratio(timings: Timings, a: Hashable, b: Hashable, key: str) -> float:
    """Median over rounds of a / b, each taken within one round."""
    return statistics.median(x / y for x, y in zip(timings[a][key], timings[b][key], strict=True))


def ratios(timings: Timings, dq: Hashable, first: Hashable, second: Hashable, key: str) -> str:
    """'**dq × first** / dq × second' for a table cell."""
    return f"**{ratio(timings, dq, first, key):.2f}** / {ratio(timings, dq, second, key):.2f}"


def table(timings: Timings, verdicts: dict[Hashable, str], keys: dict[str, Hashable]) -> list[str]:
    """Markdown rows for the three commands of one file (``keys``: DQ/FUSED/FLOOR -> timing key)."""
    lines = ["| command | median wall s (min–max) | dq × fused / × floor (wall) | median CPU s "
             "| dq × fused / × floor (CPU) | peak RSS MB | output |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, key in keys.items():
        t = timings[key]
        wall = ratios(timings, key, keys[FUSED], keys[FLOOR], "wall") if name == DQ else ""
        cpu = ratios(timings, key, keys[FUSED], keys[FLOOR], "cpu") if name == DQ else ""
        spread = f"{statistics.median(t['wall']):.2f} ({min(t['wall']):.2f}–{max(t['wall']):.2f})"
        lines.append(
            f"| `{name}` | {spread} | {wall} | {statistics.median(t['cpu']):.2f} | {cpu} "
            f"| {max(t['rss']):.0f} | {verdicts[key]} |"
        )
    return lines


def run(harness: Path, python: Path, src: Path | None, data_dir: Path, venvs: Path, rows: int,
        rounds: int, out_dir: Path, tag: str = "", passing: bool = False) -> int:  # fmt: skip
    """Interleave ``rounds`` rounds (plus one warm-up); write results/cli_<rows>.md (passing_<rows>.md)."""
    runners = harness / "runners"
    sys.path.insert(0, str(runners))
    from dqgate_runner import SUITE_IDS

    base = str(venvs / "base" / "bin" / "python")
    env = dict(os.environ)
    dq = [str(python.parent / "dq")] if src is None else [str(python), "-m", "dqgate"]
    if src is not None:
        env["PYTHONPATH"] = str(src)
    contract = str(runners / "suite_contract.yaml")
    files = {"standard": data_dir / f"peerbench_{rows}.parquet"}
    if passing:
        files["all-passing copy"] = data_dir / f"peerbench_{rows}.passing.parquet"
    jobs: dict[Hashable, list[str]] = {}
    checks: dict[str, Callable[[str, int, bytes], str]] = {}
    for label, data in files.items():
        expected = json.loads(data.with_name(data.stem + ".expected.json").read_text())
        checks[label] = checker(expected, SUITE_IDS, passing=label != "standard")
        jobs.update({(label, name): cmd for name, cmd in commands(dq, base, contract, data).items()})
    load = os.getloadavg()[0]
    try:
        timings, verdicts = interleave(jobs, rounds, 1, env, runners, lambda k, rc, out: checks[k[0]](k[1], rc, out))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    what = " and on its all-passing copy (make_passing.py), " if passing else ", "
    lines = [f"# `dq check` as a command line vs. the hand-fused DuckDB runner and the decode floor: {rows:,} rows", "",
             f"Whole processes on the standard file{what}1 warm-up + {rounds} measured rounds, interleaved (the order "
             "rotates each round); medians; each ratio is taken within a round, then the median.", "",
             "CPU s is user + system time of the process, all threads: the work done, less sensitive than "
             "wall time to other load on the machine. Peak RSS: the largest `ru_maxrss` over the rounds. "
             f"Load average (1 min) {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.", "",
             f"Command: `python3 {' '.join(sys.argv)}`.", ""]  # fmt: skip
    for label, data in files.items():
        lines += [f"## {label}: `{data.name}`", ""]
        lines += table(timings, verdicts, {name: (label, name) for name in (DQ, FUSED, FLOOR)}) + [""]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{'passing' if passing else 'cli'}_{rows}{('-' + tag) if tag else ''}.md"
    path.write_text("\n".join(lines))
    print("\n".join(lines), file=sys.stderr)
    return 1 if any("**" in v for v in verdicts.values()) else 0
