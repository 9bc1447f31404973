"""Time the real `dq check` command line against the hand-fused DuckDB runner, interleaved.

run_all.py measures our in-process runner; a user runs ``dq check``. This times
whole processes: ``dq check suite_contract.yaml --data FILE --format json -q``
(report rendering and the CLI's imports included) against ``python duckdb_fused.py``
and the DuckDB decode floor, in rounds that rotate the order, and checks every count
in the CLI's JSON against expected.json. Called by ``run_peerbench.py --cli-rounds N``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


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
            ok_value = abs(float(c["observed"]) - exp["value"]) <= 1e-6 * max(1.0, abs(exp["value"]))
            if not ok_value or (c["status"] == "pass") != exp["passed"]:
                bad.append(f"{cid} {c['observed']}/{c['status']}")
    n = len(expected["checks"])
    return f"{n - len(bad)}/{n} agree" if not bad else f"**{len(bad)} MISMATCH**: " + "; ".join(bad)


def run(harness: Path, python: Path, src: Path | None, data_dir: Path, venvs: Path, rows: int,
        rounds: int, out_dir: Path, tag: str = "") -> int:  # fmt: skip
    """Interleave ``rounds`` rounds (plus one warm-up) and write results/cli_<rows>.md."""
    runners = harness / "runners"
    sys.path.insert(0, str(runners))
    from dqgate_runner import SUITE_IDS

    data = data_dir / f"peerbench_{rows}.parquet"
    expected = json.loads((data_dir / f"peerbench_{rows}.expected.json").read_text())
    base = str(venvs / "base" / "bin" / "python")
    env = dict(os.environ)
    dq = [str(python.parent / "dq")] if src is None else [str(python), "-m", "dqgate"]
    if src is not None:
        env["PYTHONPATH"] = str(src)
    contract = str(runners / "suite_contract.yaml")
    commands = {
        "dq check (CLI, --format json)": [*dq, "check", contract, "--data", str(data), "--format", "json", "-q"],
        "duckdb_fused.py": [base, "duckdb_fused.py", "--data", str(data)],
        "io_floor.py --engine duckdb": [base, "io_floor.py", "--data", str(data), "--engine", "duckdb"],
    }
    names = list(commands)
    times: dict[str, list[float]] = {k: [] for k in names}
    rss: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    agree = "not run"
    for rnd in range(rounds + 1):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        got: dict[str, float] = {}
        for name in order:
            s, cs, mb, rc, out = _timed(commands[name], env, runners)
            if name.startswith("dq"):
                if rc not in (0, 1):
                    print(f"dq check failed with exit code {rc}", file=sys.stderr)
                    return 1
                agree = agreement(json.loads(out), expected, SUITE_IDS)
            got[name] = s
            label = f"[cli {rnd}{' warmup' if rnd == 0 else ''}]"
            print(f"{label} {name:32s} {s:.2f} s  cpu {cs:.2f} s  {mb:.0f} MB", file=sys.stderr)
            if rnd:
                times[name].append(s)
                cpu[name].append(cs)
                rss[name].append(mb)
        if rnd:
            ratios.append(got[names[0]] / got[names[1]])
            cpu_ratios.append(cpu[names[0]][-1] / cpu[names[1]][-1])
    lines = [f"# `dq check` as a command line vs. the hand-fused DuckDB runner: {rows:,} rows", "",
             f"1 warm-up + {rounds} measured rounds, interleaved (rotated order); whole processes; medians.", "",
             "CPU s is user + system time of the process, all threads: the work done, less sensitive than "
             "wall time to other load on the machine.", "",
             "| command | median process s (min–max) | × duckdb_fused.py | median CPU s | × (CPU) | peak RSS MB "
             "| counts vs expected.json |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in names:
        t = times[name]
        ratio = f"{statistics.median(ratios):.2f}" if name == names[0] else ("1.00" if name == names[1] else "")
        cratio = f"{statistics.median(cpu_ratios):.2f}" if name == names[0] else ("1.00" if name == names[1] else "")
        lines.append(f"| {name} | {statistics.median(t):.2f} ({min(t):.2f}–{max(t):.2f}) | {ratio} | "
                     f"{statistics.median(cpu[name]):.2f} | {cratio} | "
                     f"{statistics.median(rss[name]):.0f} | {agree if name == names[0] else ''} |")  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"cli_{rows}{('-' + tag) if tag else ''}.md"
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines), file=sys.stderr)
    return 0 if not agree.startswith("**") else 1
