"""The `dq` command line as a whole: no argument vector gives a traceback, and every
message that suggests an option or a command names one that exists.

The fuzz test draws argument vectors over every command and subcommand (their real
options, with values that fit, do not fit, or point at files that exist, do not
exist or are folders) and runs each in-process through ``dqgate.cli.main`` inside
click's ``CliRunner`` isolation (stdin, stdout and stderr captured). Whatever the
vector, ``main`` must return 0, 1 or 2 and print no traceback: bad input is one line.
"""

from __future__ import annotations

import ast
import random
import re
from collections import Counter
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import dqgate
from dqgate.cli import _COMMANDS, cli, main

SRC = Path(dqgate.__file__).resolve().parent
VECTORS = 600
CONTRACT = """\
dataset: flights
source: flights.parquet
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    carrier: {type: string, in: [AA, DL]}
gate:
  on_failure: quarantine_rows
"""


def commands() -> dict[tuple[str, ...], click.Command]:
    """Every runnable command by its path (``("snapshots", "list")``)."""
    out: dict[tuple[str, ...], click.Command] = {}
    ctx = click.Context(cli)
    for name in sorted(_COMMANDS):
        command = cli.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                out[(name, sub)] = command.get_command(ctx, sub)  # type: ignore[assignment]
        else:
            out[(name,)] = command
    return out


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flights.yaml").write_text(CONTRACT, encoding="utf-8")
    pq.write_table(pa.table({"id": [1, 2, 3, 3], "carrier": ["AA", "DL", "ZZ", "AA"]}), tmp_path / "flights.parquet")
    pq.write_table(pa.table({"id": pa.array([], pa.int64()), "carrier": pa.array([], pa.string())}), tmp_path / "empty.parquet")
    (tmp_path / "bad.csv").write_text("id,carrier\n1,AA\nx\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    assert main(["ingest", "flights.yaml", "flights.parquet", "--store", "store", "-q"]) in (0, 1)
    return tmp_path


VALUES = [
    "flights.yaml", "flights.parquet", "empty.parquet", "bad.csv", "folder", "store", "flights", "flights@1", "flights@latest",
    "nope.yaml", "nope.parquet", "-", "", "0", "1", "-1", "5", "1e9", "abc", "2024-01-01", "2024-13-45T99:00Z", "json",
    "text", "junit", "markdown", "duckdb", "polars", "append", "replace", "id", "latest", "HEAD", "ü", "a b", "*.parquet",
    "--", "-x", "--nope", "--help", "out.json", "folder/out.txt", "missing/out.txt",
]  # fmt: skip


# Values that fit each positional argument, by its name (the rest of VALUES does not).
FITTING = {
    "contract": ["flights.yaml"], "data": ["flights.parquet", "empty.parquet", "bad.csv"], "batches": ["flights.parquet", "bad.csv"],
    "store": ["store"], "store_path": ["store"], "dataset": ["flights"], "paths": ["flights.yaml", "."],
    "ref": ["flights@1", "flights@latest"], "ref_a": ["flights@1"], "ref_b": ["flights@latest"], "batch_id": ["b0"],
    "report": ["report.html"],
}  # fmt: skip


def _option_value(rng: random.Random, p: click.Option) -> str:
    """Mostly a value the option takes, sometimes any value."""
    if rng.random() < 0.25:
        return rng.choice(VALUES)
    if isinstance(p.type, click.Choice):
        return rng.choice(list(p.type.choices))
    if isinstance(p.type, (click.IntRange, click.FloatRange)) or p.type in (click.INT, click.FLOAT):
        return rng.choice(["0", "1", "3", "0.5"] if isinstance(p.type, click.FloatRange) or p.type is click.FLOAT else ["0", "1", "3"])
    return rng.choice(FITTING.get(p.name or "", ["out.json", "2024-01-01", "id", "flights", "store", "folder/out.txt"]))


def vector(rng: random.Random, table: dict[tuple[str, ...], click.Command]) -> list[str]:
    path = rng.choice(sorted(table))
    command = table[path]
    argv = list(path)
    params = list(command.params)
    if rng.random() < 0.7:  # the positional arguments, mostly fitting: the command runs, its options matter
        for p in params:
            if isinstance(p, click.Argument):
                argv.append(rng.choice(FITTING.get(p.name or "", VALUES) if rng.random() < 0.9 else VALUES))
    options = [p for p in params if isinstance(p, click.Option)]
    for _ in range(rng.randint(0, 4)):
        kind = rng.random()
        if kind < 0.75 and options:
            p = rng.choice(options)
            argv.append(rng.choice(p.opts + p.secondary_opts))
            if not p.is_flag and rng.random() < 0.95:
                argv.append(_option_value(rng, p))
        elif kind < 0.9:
            argv.append(rng.choice(VALUES))
        else:
            argv.append(rng.choice(["--debug", "--version", "-h", "check", "lint"]))
    if "--debug" in argv:  # --debug asks for the traceback on purpose
        argv.remove("--debug")
    return argv


def test_no_argument_vector_gives_a_traceback(project: Path) -> None:
    table = commands()
    assert {p[0] for p in table} == set(_COMMANDS)
    rng = random.Random(13)
    runner = CliRunner()
    seen = set()
    codes: Counter[int] = Counter()
    for i in range(VECTORS):
        argv = vector(rng, table)
        seen.add(argv[0])
        with runner.isolation() as (out, err, _):
            try:
                code = main(argv)
            except BaseException as exc:  # noqa: BLE001 - the point: nothing may escape main()
                pytest.fail(f"#{i} dq {' '.join(argv)!s}: {type(exc).__name__}: {exc}")
            stderr = err.getvalue().decode("utf-8", "replace")
        assert code in (0, 1, 2), f"#{i} dq {' '.join(argv)}: exit {code}\n{stderr}"
        codes[code] += 1
        assert "Traceback" not in stderr, f"#{i} dq {' '.join(argv)}\n{stderr}"
        if code == 2:
            lines = [line for line in stderr.splitlines() if line.strip()]
            assert len(lines) <= 3 and lines and lines[-1].startswith(("dq: error:", "Error:", "Try ", "dq lint:")), f"#{i} dq {' '.join(argv)}\n{stderr}"
    assert seen == set(_COMMANDS)
    # many vectors get past the argument parser and run (--object on a dqgate contract and a
    # --notify that is not a URL are refused by design, so not every vector can)
    assert codes[0] + codes[1] >= VECTORS // 5, codes


_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*[a-z])")
_COMMAND = re.compile(r"`dq ([a-z]+)(?: ([a-z]+))?")


def _strings() -> list[tuple[str, str]]:
    """Every string constant in dqgate's source (f-strings' literal parts too), with its file."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((str(path.relative_to(SRC)), node.value))
    return found


def test_every_suggested_option_and_command_exists() -> None:
    table = commands()
    options = {name for command in table.values() for p in command.params if isinstance(p, click.Option) for name in (*p.opts, *p.secondary_opts)}
    options |= {"--debug", "--version", "--help"}
    wrong = []
    for where, text in _strings():
        if text.count("\n") > 3 or " " not in text:  # docstrings talk about options in prose; a lone "--x" is an argv item (git)
            continue
        wrong += [f"{where}: {opt} in {text!r}" for opt in _OPTION.findall(text) if opt not in options]
        for first, second in _COMMAND.findall(text):
            if first not in _COMMANDS or (second and (first, second) not in table and (first,) not in table):
                wrong.append(f"{where}: `dq {first} {second}` in {text!r}")
    assert not wrong, "\n".join(wrong)


def test_the_empty_batch_hint_works_on_the_command_that_gives_it(project: Path, run_cli) -> None:
    for cmd in (["check", "flights.yaml", "--data", "empty.parquet"], ["ingest", "flights.yaml", "empty.parquet", "--store", "store2"]):
        code, _, err = run_cli(*cmd)
        assert code == 2 and "--allow-empty" in err
        code, out, err = run_cli(*cmd, "--allow-empty", "-q")
        assert code in (0, 1), err  # accepted by that very command
