"""How long `dq lint` takes on a contracts repository, the way pre-commit calls it.

Generates N realistic contracts (default 20; 10-40 columns each, with ranges,
sets, patterns, formats, lengths, references, freshness, SQL expectations,
builtin and SQL metrics, and drift) in a temporary folder, then runs ONE
``python -m dqgate lint`` process over all of them, as pre-commit does, and
reports the whole-process wall time (interpreter start, imports, parsing,
validation, SQL vetting): the median of ``--repeat`` runs (default 5). With
``--against``, the folder is made a git repository whose HEAD holds slightly
different contracts, and lint runs with ``--against HEAD``. The target is under
one second for 20 contracts. Run: ``python benchmarks/bench_lint.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
TARGET_S = 1.0
WORDS = ("price", "amount", "delay", "score", "count", "code", "name", "region", "status", "label", "email", "created")


def contract_text(i: int, rng: random.Random) -> str:
    """One contract of 10-40 columns with several rules each; every rule kind appears."""
    n_cols = rng.randint(10, 40)
    cols: list[str] = ["id: {type: int64, required: true, unique: true}"]
    numeric: list[str] = []
    strings: list[str] = []
    for j in range(1, n_cols - 1):
        name = f"{WORDS[j % len(WORDS)]}_{j}"
        kind = j % 6
        if kind in (0, 1):
            lo = rng.randint(-100, 0)
            extra = ", mostly: 0.99" if j % 4 == 0 else ""
            cols.append(f"{name}: {{type: {'int64' if kind else 'float64'}, range: {{min: {lo}, max: {lo + rng.randint(10, 5000)}}}{extra}}}")
            numeric.append(name)
        elif kind == 2:
            cols.append(f"{name}: {{type: string, required: true, in: [A, B, C, D, E{j}]}}")
            strings.append(name)
        elif kind == 3:
            cols.append(f"{name}: {{type: string, pattern: '^[A-Z]{{2}}[0-9]{{1,{rng.randint(3, 6)}}}$', length: {{min: 3, max: 8}}}}")
            strings.append(name)
        elif kind == 4:
            fmt = ("email", "uuid", "iso_date", "url", "ipv4")[j % 5]
            cols.append(f"{name}: {{type: string, format: {fmt}, severity: warn}}")
            strings.append(name)
        else:
            cols.append(f"{name}: {{type: string, references: lookup.code, where: \"{numeric[0] if numeric else 'id'} > 0\"}}")
            strings.append(name)
    cols.append("loaded_at: {type: timestamp, freshness: {max_age: 36h}}")
    a, b = (numeric + ["id", "id"])[:2]
    checks = [
        f'- name: ordered_{i}\n    expect: "{a} <= {b} + 100"\n    where: "{a} IS NOT NULL"\n    severity: warn',
        f'- expect: "{a} >= 0 OR {strings[0]} IS NULL"\n    mostly: 0.95',
        f"- metric: row_count\n    between: [{rng.randint(1, 1000)}, {rng.randint(10_000, 10_000_000)}]",
        f"- metric: mean({a})\n    between: [-10, 1000]",
        f"- metric: null_fraction({strings[0]})\n    max: 0.05",
        f"- metric: quantile({b}, 0.99)\n    max: 5000",
        f"- name: many_a_{i}\n    metric: \"count(*) FILTER (WHERE {strings[0]} = 'A')\"\n    min: 1",
        f"- column: {strings[-1]}\n    name: short_{i}\n    length: {{max: 64}}",
    ]
    drift = f"drift:\n  reference: latest\n  columns:\n    {a}: {{method: psi, bins: 10, max: 0.2}}\n"
    return (
        f"dataset: table_{i:02d}\nversion: 1.{i}.0\nowner: team-{i % 3}\n"
        f"description: Generated contract {i} for the lint benchmark.\nsource: data/table_{i:02d}.parquet\n"
        "schema:\n  strict: false\n  columns:\n" + "".join(f"    {c}\n" for c in cols)
        + "checks:\n" + "".join(f"  {c}\n" for c in checks) + drift
        + "gate:\n  on_failure: quarantine_batch\nreferences:\n  lookup: data/lookup.parquet\n"
    )  # fmt: skip


def write_contracts(folder: str, n: int, seed: int = 7) -> list[str]:
    """Write ``n`` contracts into ``folder``/contracts and return their paths."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(folder, "contracts"), exist_ok=True)
    paths = []
    for i in range(n):
        path = os.path.join(folder, "contracts", f"table_{i:02d}.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(contract_text(i, rng))
        paths.append(path)
    return paths


def _git(folder: str, *args: str) -> None:
    subprocess.run(["git", "-C", folder, "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args], check=True, capture_output=True)


def run_once(paths: list[str], against: str | None) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `python -m dqgate lint` process over every path; it must exit 0.

    CPU time is reported too because it hardly moves when other work shares the machine.
    """
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "dqgate", "lint", *paths] + (["--against", against] if against else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"dq lint failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", action="store_true", help="Also diff each contract against git HEAD.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dq-bench-lint-") as folder:
        paths = write_contracts(folder, args.contracts)
        lines = sum(open(p, encoding="utf-8").read().count("\n") for p in paths)
        if args.against:
            _git(folder, "init", "-q", ".")
            _git(folder, "add", ".")
            _git(folder, "commit", "-q", "-m", "contracts")
            for p in paths:  # a non-breaking edit (a metric bound loosened), so lint still exits 0
                with open(p, encoding="utf-8") as fh:
                    text = fh.read().replace("max: 0.05", "max: 0.06")
                with open(p, "w", encoding="utf-8") as fh:
                    fh.write(text)
        run_once(paths[:1], None)  # warm the OS file cache and __pycache__
        runs = [run_once(paths, "HEAD" if args.against else None) for _ in range(args.repeat)]
    times = sorted(wall for wall, _ in runs)
    median = statistics.median(times)
    cpu = statistics.median(c for _, c in runs)
    verdict = "OK" if median < TARGET_S else "SLOWER THAN TARGET"
    mode = " --against HEAD" if args.against else ""
    print(f"dq lint{mode}: {args.contracts} contracts ({lines} YAML lines) in one process")
    print(f"  median {median:.3f} s over {args.repeat} runs (min {times[0]:.3f}, max {times[-1]:.3f}; CPU {cpu:.3f} s); target < {TARGET_S:.1f} s: {verdict}")


if __name__ == "__main__":
    main()
