#!/usr/bin/env python3
"""`dq check --engine polars` against peerbench's hand-fused Polars query, whole processes, interleaved.

Issue 4's target: the Polars engine costs at most 1.1x the hand-written query that
runs the 17 peerbench checks in one lazy select (``runners/polars_fused.py``, which
collects with Polars' default engine, streaming in Polars 2.1). Both are timed as
whole processes (interpreter start, imports, reading and checking the file, printing
JSON), in rounds that rotate the order, after one warm-up round; the ratio is taken
within each round and its median reported, with CPU seconds and peak RSS. Every
count of dq's JSON is checked against the generator's expected.json.

``--in-process`` also times, inside one process, the fused select of our compiled
plan with ``collect(engine="in-memory")`` and ``"streaming"``: the measurement
behind the runner's choice of engine.

  python3 benchmarks/bench_polars.py --rows 10000000 --rounds 3
  python3 benchmarks/bench_polars.py --rows 1000000 --rounds 5 --in-process
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HARNESS = Path(os.environ.get("PEERBENCH_HARNESS", "/work/shared/peerbench"))
DATA_DIR = Path(os.environ.get("PEERBENCH_DATA", "/tmp/peerbench-data"))
VENVS = Path(os.environ.get("PEERBENCH_VENVS", "/tmp/peerbench-venvs"))
CONTRACT = HERE / "peerbench" / "suite_contract.yaml"


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, int, bytes]:
    """Wall seconds, CPU seconds (all threads), peak RSS in MB, exit code and stdout of one process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read() if p.stdout else b""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if p.stdout:
        p.stdout.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out


def agreement(report: dict[str, Any], expected: dict[str, Any]) -> str:
    """'17/17 agree' or the suite checks whose count, value or verdict differs from expected.json."""
    sys.path[:0] = [str(HERE / "peerbench"), str(HARNESS / "runners")]  # dqgate_runner imports the harness's _common
    from dqgate_runner import SUITE_IDS

    got = {SUITE_IDS[c["id"]]: c for c in report["checks"] if c["id"] in SUITE_IDS}
    bad = []
    for cid, exp in expected["checks"].items():
        c = got.get(cid)
        if c is None:
            bad.append(f"{cid} missing")
        elif "failed_rows" in exp and c.get("failed_rows") != exp["failed_rows"]:
            bad.append(f"{cid}: {c.get('failed_rows')} != {exp['failed_rows']}")
        elif "value" in exp:
            close = abs(float(c["observed"]) - exp["value"]) <= 1e-6 * max(1.0, abs(exp["value"]))
            if not close or (c["status"] == "pass") != exp["passed"]:
                bad.append(f"{cid}: {c['observed']} / {c['status']}")
    n = len(expected["checks"])
    return f"{n - len(bad)}/{n} agree" if not bad else f"{len(bad)} MISMATCH: " + "; ".join(bad)


def whole_processes(data: Path, expected: dict[str, Any], rounds: int) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    ours = [sys.executable, "-m", "dqgate", "check", str(CONTRACT), "--data", str(data), "--format", "json", "-q", "--engine", "polars"]
    base = str(VENVS / "base" / "bin" / "python")
    runners = HARNESS / "runners"
    suite = str(HARNESS / "suite.json")
    commands = {
        "dq check --engine polars": (ours, REPO),
        "polars_fused.py (default engine)": ([base, "polars_fused.py", "--data", str(data), "--suite", suite], runners),
        "polars_fused.py --engine in-memory": ([base, "polars_fused.py", "--data", str(data), "--suite", suite, "--engine", "in-memory"], runners),
    }
    names = list(commands)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    rss: dict[str, list[float]] = {k: [] for k in names}
    ratios: dict[str, list[float]] = {k: [] for k in names[1:]}
    agree = "not run"
    for r in range(rounds + 1):  # round 0 warms the page cache and is not counted
        order = names[r % len(names):] + names[: r % len(names)]
        got: dict[str, float] = {}
        for name in order:
            cmd, cwd = commands[name]
            w, c, m, code, out = timed(cmd, env, cwd)
            if code not in (0, 1):
                raise SystemExit(f"{name} exited {code}")
            if name == names[0]:
                agree = agreement(json.loads(out), expected)
            if r:
                wall[name].append(w)
                cpu[name].append(c)
                rss[name].append(m)
                got[name] = w
        if r:
            for name in names[1:]:
                ratios[name].append(got[names[0]] / got[name])
        print(f"round {r}{' (warm-up)' if not r else ''}: " + ", ".join(f"{k} {got.get(k, 0):.2f}s" for k in names), file=sys.stderr)
    lines = [
        f"rows: {expected.get('rows', '?')}, rounds: {rounds} (+1 warm-up), dq check: {agree}",
        "",
        "| process | wall s (median, min-max) | CPU s | peak RSS MB | dq check / this (median of rounds) |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        ratio = f"{statistics.median(ratios[name]):.2f}x" if name in ratios else "-"
        lines.append(
            f"| {name} | {statistics.median(wall[name]):.2f} ({min(wall[name]):.2f}-{max(wall[name]):.2f}) "
            f"| {statistics.median(cpu[name]):.2f} | {statistics.median(rss[name]):.0f} | {ratio} |"
        )
    return "\n".join(lines)


def in_process(data: Path, repeats: int) -> str:
    """Our fused select under each Polars engine, best of ``repeats``, in this process."""
    sys.path.insert(0, str(REPO / "src"))
    from dqgate.compilers import polars as compiler
    from dqgate.contract import load_contract
    from dqgate.ir.plan import plan
    from dqgate.runners import polars as runner

    contract = load_contract(str(CONTRACT))
    rules = plan(contract)
    lf, _, schema = runner.prepare(contract, str(data))
    exprs = compiler.compile_plan(rules, schema=schema).exprs
    lines = ["", "| our fused select, in process | best of %d, s |" % repeats, "|---|---|"]
    for engine in ("in-memory", "streaming"):
        best = min(_seconds(lambda: lf.select(exprs).collect(engine=engine)) for _ in range(repeats))  # type: ignore[arg-type]
        lines.append(f"| collect(engine={engine!r}) | {best:.2f} |")
    return "\n".join(lines)


def _seconds(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--in-process", action="store_true", help="also time our select under both Polars engines")
    args = ap.parse_args()
    data = DATA_DIR / f"peerbench_{args.rows}.parquet"
    if not data.exists():
        raise SystemExit(f"{data} is missing: run {HARNESS}/gen_data.py --rows {args.rows} with the base venv")
    expected = json.loads((DATA_DIR / f"peerbench_{args.rows}.expected.json").read_text())
    expected.setdefault("rows", args.rows)
    print(whole_processes(data, expected, args.rounds))
    if args.in_process:
        print(in_process(data, args.rounds))


if __name__ == "__main__":
    main()
