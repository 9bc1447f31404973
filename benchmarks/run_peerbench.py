#!/usr/bin/env python3
"""Measure dqgate against its peers and floors with the shared peerbench harness.

The harness (default /work/shared/peerbench, read-only) is copied to a temporary
folder; our runner (benchmarks/peerbench/dqgate_runner.py) and the suite written as
a contract (suite_contract.yaml) go into the copy's runners/, and the copy's
systems.json gains the systems ``dqgate`` (and ``dqgate-polars`` once
src/dqgate/runners/polars.py exists). Then the harness's own run_all.py runs every
system interleaved, writing results/results_<rows>.md and runs_<rows>.jsonl here, and
summary_<rows>.md: ratios to both duckdb-fused and duckdb-io-floor (peerbench/summarize.py).

With ``--cli-rounds N`` it then times the real command line, ``dq check
suite_contract.yaml --data FILE --format json -q --engine duckdb``, against the whole
processes of ``python duckdb_fused.py`` and ``python io_floor.py``, interleaved, N
rounds, and checks every count of the CLI's JSON against expected.json
(peerbench/cli_timing.py; results/cli_<rows>.md). ``--passing`` adds the
all-passing copy of the file (peerbench/make_passing.py writes it beside the data if it
is missing): the same three commands on both files, interleaved, dq × fused and
dq × floor per file, and dq must report every check passing on the copy
(results/passing_<rows>.md; issue 4's comparison).

Which dqgate is measured (``--install``):
  venv (default)  $PEERBENCH_VENVS/dqgate: a venv made with the base venv's Python,
                  with `pip install` of a copy of the repository (the Cython kernels
                  built as a user gets them), pinned to the base venv's duckdb, polars,
                  pyarrow and numpy; re-installed on every invocation.
  src             the repository's .venv Python importing dqgate from src/ (no install;
                  for quick iterations while optimising).

  python3 benchmarks/run_peerbench.py --rows 10000000 --repeats 3 --cli-rounds 5
  python3 benchmarks/run_peerbench.py --rows 1000000 --systems duckdb-fused,dqgate --install src
  python3 benchmarks/run_peerbench.py --rows 10000000 --repeats 0 --cli-rounds 5 --passing
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OURS = HERE / "peerbench"
VENVS = Path(os.environ.get("PEERBENCH_VENVS", os.path.join(tempfile.gettempdir(), "peerbench-venvs")))
DATA = Path(os.environ.get("PEERBENCH_DATA", os.path.join(tempfile.gettempdir(), "peerbench-data")))
FLOORS = ["duckdb-io-floor", "duckdb-fused", "polars-fused"]
# Peers included by default when their venv exists (see the harness's setup_venvs.sh).
PEERS = ["soda-core-v4", "soda-core", "pandera-polars", "gx-pandas", "dataframely", "cuallee-duckdb", "pointblank"]


def copy_harness(src: Path, dest: Path) -> Path:
    """A writable copy of the harness with our runner and contract in its runners/."""
    harness = dest / "peerbench"
    shutil.copytree(src, harness, ignore=shutil.ignore_patterns("results", "__pycache__"))
    for path in harness.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    for name in ("dqgate_runner.py", "suite_contract.yaml"):
        shutil.copy2(OURS / name, harness / "runners" / name)
    return harness


def install_venv(tmp: Path, harness: Path) -> Path:
    """$VENVS/dqgate with dqgate pip-installed from a clean copy of the repository; its python."""
    venv = VENVS / "dqgate"
    if not (venv / "bin" / "python").exists():
        base = VENVS / "base" / "bin" / "python"
        subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
    # A copy of the files git tracks (what a fresh clone has), so that pip's in-tree build
    # never writes build/ or regenerated .c files into the repo.
    src = tmp / "dqgate-src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and not name.startswith(("benchmarks/", "tests/")):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    wheels = tmp / "wheels"
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)], check=True)  # one Cython build
    (wheel,) = wheels.glob("dqgate-*.whl")
    subprocess.run([*pip, "install", "-q", "-c", str(harness / "requirements" / "base.txt"), str(wheel)], check=True)
    # This code even when the version number did not change:
    subprocess.run([*pip, "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True)
    return venv / "bin" / "python"


def add_systems(harness: Path, install: str, python: Path) -> list[str]:
    """Register dqgate (and dqgate-polars when that engine exists) in the copy's systems.json."""
    path = harness / "systems.json"
    registry = json.loads(path.read_text())
    engines = ["duckdb"] + (["polars"] if (REPO / "src" / "dqgate" / "runners" / "polars.py").exists() else [])
    names = []
    for engine in engines:
        name = "dqgate" if engine == "duckdb" else f"dqgate-{engine}"
        extra = ["--engine", engine]
        if install == "venv":
            runner = "runners/dqgate_runner.py"
            registry[name] = {"venv": "dqgate", "runner": runner, "args": extra, "kind": "peer", "default": False}
        else:
            cmd = [str(python), "{harness}/runners/dqgate_runner.py", "--data", "{data}", "--suite", "{suite}", *extra]
            cmd += ["--src", str(REPO / "src")]
            # run_all.py wants a "venv" even for a "cmd" entry; {python} is not used here.
            registry[name] = {"venv": "base", "cmd": cmd, "kind": "peer", "default": False}
        names.append(name)
    path.write_text(json.dumps(registry, indent=1))
    return names


def default_systems(ours: list[str], harness: Path) -> list[str]:
    registry = json.loads((harness / "systems.json").read_text())
    peers = [p for p in PEERS if (VENVS / registry[p]["venv"] / "bin" / "python").exists()]
    return [*FLOORS, *ours, *peers]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3, help="measured rounds of run_all.py (0: skip it)")
    ap.add_argument("--systems", default="", help="comma list (default: floors, dqgate, peers whose venv exists)")
    ap.add_argument("--install", choices=["venv", "src"], default="venv")
    ap.add_argument("--cli-rounds", type=int, default=0, help="then time `dq check` against duckdb_fused.py, N rounds")
    ap.add_argument(
        "--passing",
        action="store_true",
        help="CLI timing on the all-passing copy too (5 rounds unless --cli-rounds says otherwise)",
    )
    ap.add_argument(
        "--python",
        default=str(REPO / ".venv" / "bin" / "python"),
        help="the Python that imports dqgate from src/ with --install src (default: the repository's .venv)",
    )
    ap.add_argument("--harness", default="/work/shared/peerbench")
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--tag", default="")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="dq-peerbench-"))
    harness = copy_harness(Path(args.harness), tmp)
    python = install_venv(tmp, harness) if args.install == "venv" else Path(args.python)
    ours = add_systems(harness, args.install, python)
    systems = args.systems or ",".join(default_systems(ours, harness))
    print(f"harness copy: {harness}\nsystems: {systems}", file=sys.stderr)
    cmd = [sys.executable, str(harness / "run_all.py"), "--rows", str(args.rows), "--repeats", str(args.repeats),
           "--systems", systems, "--out", args.out, "--venvs", str(VENVS), "--data-dir", str(DATA),
           "--timeout", str(args.timeout)] + (["--tag", args.tag] if args.tag else [])  # fmt: skip
    rc = subprocess.run(cmd).returncode if args.repeats > 0 else 0
    if rc == 0 and args.repeats > 0:
        from peerbench.summarize import summarize

        summary = summarize(Path(args.out), f"{args.rows}{('-' + args.tag) if args.tag else ''}")
        print(summary.read_text(), file=sys.stderr)
    if args.passing:
        args.cli_rounds = args.cli_rounds or 5
        if rc == 0:
            make = [str(VENVS / "base" / "bin" / "python"), str(OURS / "make_passing.py"), "--rows", str(args.rows),
                    "--data-dir", str(DATA)]  # fmt: skip
            rc = subprocess.run(make, env={**os.environ, "PEERBENCH_HARNESS": args.harness}).returncode
    if rc == 0 and args.cli_rounds:
        from peerbench.cli_timing import run as cli_run

        src = None if args.install == "venv" else REPO / "src"
        rc = cli_run(harness, python, src, DATA, VENVS, args.rows, args.cli_rounds, Path(args.out), args.tag,
                     passing=args.passing)  # fmt: skip
    return rc


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
