#!/usr/bin/env python3
"""`dq check --engine spark` beside the hand-written Spark SQL aggregate and the Spark
back ends of its peers (Soda Core's soda-core-spark-df, Great Expectations' Spark
datasource), on peerbench's 17 checks: whole processes, interleaved in rounds.

Each process starts its own interpreter, its own JVM (local master, ``DQ_SPARK_MASTER``,
default local[2]), reads the Parquet file and prints its counts. Each peer runs in its
own virtualenv (``--soda-venv``, ``--gx-venv``; a missing one is skipped and said so),
with ``PYSPARK_PYTHON`` set to that venv's interpreter; dq and the hand-written
aggregate run in ``--dq-python``'s venv.

Measured per process: wall seconds until the process the user started exits; CPU
seconds of its whole tree, the JVM included (this script makes itself a child
subreaper, so the JVM that spark-submit leaves behind is reparented to it and reaped
with its rusage); peak RSS as the sum of each process's own peak (an upper bound of the
tree's). The order rotates each round; ratios to the hand-written aggregate are taken
within a round and their median reported. Counts are compared with the generator's
expected.json; a check a peer cannot express, or counts in its own convention, is named.

  nice -n 5 python3 benchmarks/bench_spark_peers.py --data /tmp/scope/pb/peerbench_1000000.parquet --rounds 3
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERBENCH = HERE / "peerbench"
CONTRACT = PEERBENCH / "suite_contract.yaml"
HARNESS = Path(os.environ.get("PEERBENCH_HARNESS", "/work/shared/peerbench"))
HAND = "hand-written Spark SQL aggregate"
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Adopt orphaned descendants (Spark's JVM outlives the python that launched it by a
    moment), so their CPU time reaches this process's wait4."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


class Run:
    """One timed process: wall, CPU and peak RSS of its tree, exit code, stdout."""

    def __init__(self, cmd: list[str], env: dict[str, str], timeout: float) -> None:
        self.cpu, self.rss_mb, self.wall = 0.0, 0.0, 0.0
        self.code: int | None = None
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            # Popen only starts the process: wait4 below reaps it (and the JVM), never Popen.
            pid = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=err, start_new_session=True).pid
            killer = threading.Timer(timeout, self.kill, (pid,))
            killer.start()
            self.timed_out = False
            try:
                self.reap(pid, t0)
            finally:
                killer.cancel()
            out.seek(0)
            err.seek(0)
            self.out, self.err = out.read(), err.read()

    def kill(self, pid: int) -> None:
        self.timed_out = True
        os.killpg(pid, signal.SIGKILL)

    def reap(self, main_pid: int, t0: float) -> None:
        """Wait for every descendant left (the main process first), summing their rusage;
        wall time stops when the main process exits."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, 0)
            except ChildProcessError:
                return
            self.cpu += usage.ru_utime + usage.ru_stime
            self.rss_mb += usage.ru_maxrss / 1024
            if pid == main_pid:
                self.wall = time.perf_counter() - t0
                self.code = os.waitstatus_to_exitcode(status)


def parse_output(text: str) -> dict[str, Any]:
    """The JSON a process printed: dq's whole (indented) report, or a runner's last line."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(text.splitlines()[-1])


def dq_counts(report: dict[str, Any]) -> dict[str, Any]:
    """Suite id -> dq's failed rows (row checks) or observed value (dataset checks)."""
    sys.path[:0] = [str(PEERBENCH), str(HARNESS / "runners")]  # dqgate_runner imports the harness's _common
    from dqgate_runner import SUITE_IDS

    return {SUITE_IDS[c["id"]]: c.get("failed_rows") if c.get("failed_rows") is not None else c.get("observed")
            for c in report["checks"] if c["id"] in SUITE_IDS}  # fmt: skip


def peer_counts(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Suite id -> a peer's count or value, and the notes (not expressible, own convention)."""
    counts, notes = {}, {}
    for cid, res in record["checks"].items():
        if "unsupported" in res:
            notes[cid] = "cannot express: " + res["unsupported"]
            continue
        counts[cid] = res.get("failed_rows", res.get("value"))
        if res.get("semantics"):
            notes[cid] = f"counts {res['semantics']}"
    return counts, notes


def agreement(got: dict[str, Any], notes: dict[str, str], expected: dict[str, Any]) -> str:
    """'17/17 agree', or which checks differ, and why where the peer says so."""
    agree, remarks = 0, []
    for cid, exp in expected["checks"].items():
        value, note = got.get(cid), notes.get(cid)
        if "failed_rows" in exp:
            ok = value == exp["failed_rows"]
            own = note and note.startswith("counts ") and value == exp.get("alt", {}).get(note[len("counts "):])
        else:
            ok = value is not None and abs(float(value) - exp["value"]) <= 1e-6 * max(1.0, abs(exp["value"]))
            own = False
        agree += ok
        if own:
            remarks.append(f"{cid} {value} = expected {note[len('counts '):]} (its convention; rows: {exp['failed_rows']})")
        elif not ok:
            want = exp.get("failed_rows", exp.get("value"))
            remarks.append(f"{cid}: {note}" if note and note.startswith("cannot") else f"{cid}: {value} != {want}")
    n = len(expected["checks"])
    return f"{agree}/{n} agree" + ("; " + "; ".join(remarks) if remarks else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="peerbench_N.parquet (peerbench_N.expected.json beside it)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=0, help="unmeasured rounds first")
    ap.add_argument("--dq-python", default="/work/main/.venv/bin/python")
    ap.add_argument("--soda-venv", default="/work/venvs/soda-spark")
    ap.add_argument("--gx-venv", default="/work/venvs/gx-spark")
    ap.add_argument("--only", default="", help="comma-separated subset of: dq,hand,soda,gx")
    ap.add_argument("--keep", default="", help="write each process's last output and stderr into this folder")
    ap.add_argument("--rotate", type=int, default=0, help="start the order rotation here (to continue an earlier run)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a process is killed")
    args = ap.parse_args()
    data = Path(args.data).resolve()
    expected = json.loads(data.with_name(data.name.replace(".parquet", ".expected.json")).read_text())
    master = os.environ.get("DQ_SPARK_MASTER", "local[2]")
    base = {k: v for k, v in os.environ.items() if k not in ("SPARK_HOME", "PYTHONPATH")}
    base["DQ_SPARK_MASTER"] = master

    def env_for(python: str, **extra: str) -> dict[str, str]:
        return {**base, "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python, **extra}

    dq_py = args.dq_python
    systems: dict[str, tuple[list[str], dict[str, str], str]] = {
        "dq": ([dq_py, "-m", "dqgate", "check", str(CONTRACT), "--data", str(data), "--format", "json", "-q",
                "--engine", "spark"], env_for(dq_py, PYTHONPATH=str(REPO / "src")), "`dq check --engine spark`"),
        "hand": ([dq_py, str(PEERBENCH / "spark_fused.py"), "--data", str(data)], env_for(dq_py), HAND),
    }  # fmt: skip
    for key, venv, script, label in (("soda", args.soda_venv, "soda_spark_runner.py", "Soda Core (soda-core-spark-df)"),
                                     ("gx", args.gx_venv, "gx_spark_runner.py", "Great Expectations (Spark datasource)")):  # fmt: skip
        py = str(Path(venv) / "bin" / "python")
        if Path(py).exists():
            systems[key] = ([py, str(PEERBENCH / script), "--data", str(data)], env_for(py), label)
        else:
            print(f"{label}: no venv at {venv}, skipped", file=sys.stderr)
    if args.only:
        systems = {k: v for k, v in systems.items() if k in args.only.split(",") or k == "hand"}
    become_subreaper()
    names = list(systems)
    samples: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": [], "rss": [], "ratio": [], "cpu_ratio": []} for k in names}
    agree: dict[str, str] = {k: "not run" for k in names}
    versions: dict[str, str] = {}
    for r in range(args.warmup + args.rounds):
        turn = (r + args.rotate) % len(names)
        order = names[turn:] + names[:turn]
        walls: dict[str, float] = {}
        cpus: dict[str, float] = {}
        for key in order:
            cmd, env, label = systems[key]
            run = Run(cmd, env, args.timeout)
            if run.timed_out or run.code not in (0, 1):
                tail = run.err.decode(errors="replace").strip().splitlines()[-1:] or [""]
                agree[key] = "timed out" if run.timed_out else f"exited {run.code}: {tail[0][:200]}"
                print(f"round {r} {key}: {agree[key]} after {run.wall:.1f}s", file=sys.stderr, flush=True)
                continue
            if args.keep:
                Path(args.keep).mkdir(parents=True, exist_ok=True)
                (Path(args.keep) / f"{key}.out").write_bytes(run.out)
                (Path(args.keep) / f"{key}.err").write_bytes(run.err)
            try:
                out = parse_output(run.out.decode())
            except ValueError:
                agree[key] = f"printed no JSON (exit {run.code}): " + run.err.decode(errors="replace")[-300:]
                print(f"round {r} {key}: {agree[key]}", file=sys.stderr, flush=True)
                continue
            if key == "dq":
                agree[key] = agreement(dq_counts(out), {}, expected)
            elif key == "hand":
                agree[key] = agreement(out, {}, expected)
            else:
                counts, notes = peer_counts(out)
                agree[key] = agreement(counts, notes, expected)
                versions[key] = f"{out['system']} {out['version']}, pyspark {out.get('pyspark')}"
            walls[key], cpus[key] = run.wall, run.cpu
            if r >= args.warmup:
                for metric, value in (("wall", run.wall), ("cpu", run.cpu), ("rss", run.rss_mb)):
                    samples[key][metric].append(value)
            print(f"round {r} {key}: {run.wall:.1f}s wall, {run.cpu:.1f}s CPU, {run.rss_mb:.0f} MB", file=sys.stderr,
                  flush=True)  # fmt: skip
        if r >= args.warmup and "hand" in walls:
            for key, wall in walls.items():
                samples[key]["ratio"].append(wall / walls["hand"])
                samples[key]["cpu_ratio"].append(cpus[key] / cpus["hand"])
    print(f"rows: {expected.get('rows')}, rounds: {args.rounds} (+{args.warmup} warm-up), master {master}")
    for key, text in versions.items():
        print(f"{key}: {text}")
    print("")
    print("| process | wall s (median, min-max) | CPU s, JVM incl. | peak RSS MB (sum) | wall × hand-written (median) | CPU × hand-written (median) | counts vs expected.json |")
    print("|---|---|---|---|---|---|---|")
    for key in names:
        s, label = samples[key], systems[key][2]
        if not s["wall"]:
            print(f"| {label} | - | - | - | - | - | {agree[key]} |")
            continue
        ratio, cpu_ratio = (f"{statistics.median(s[k]):.2f}× ({', '.join(f'{x:.2f}' for x in s[k])})" if s[k] else "-"
                            for k in ("ratio", "cpu_ratio"))  # fmt: skip
        print(f"| {label} | {statistics.median(s['wall']):.1f} ({min(s['wall']):.1f}-{max(s['wall']):.1f}) "
              f"| {statistics.median(s['cpu']):.1f} | {statistics.median(s['rss']):.0f} | {ratio} | {cpu_ratio} | {agree[key]} |")  # fmt: skip


if __name__ == "__main__":
    main()
