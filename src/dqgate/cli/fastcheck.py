"""`dq check` from a compiled check, before click, PyYAML, pydantic or sqlglot load.

A previous full check of the same contract kept what it ran (``runners/compiled.py``);
:func:`attempt` replays it (``runners/replay.py``) and prints the very report the full
path would. It answers only the simple form::

    dq check CONTRACT [--data PATH] [--format text|json] [-o FILE] [-q] [-v]
                      [--samples N] [--allow-empty]

(each option once, spelled ``--opt VALUE`` or ``--opt=VALUE``), with no OpenLineage event
to send; at a terminal it draws the full path's progress bar around the scans (nothing for
a check that ends within a second). Anything else (another command or option, a contract or data it has not compiled
for, a file that changed schema, a corrupt entry, any error at all) returns None before
anything is written, and the full path runs, with its one-line errors and exit codes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

_VALUED = {"--data": "data", "--format": "fmt", "--output": "output", "-o": "output", "--samples": "samples"}
_FLAGS = {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose", "--allow-empty": "allow_empty"}


@dataclass
class Options:
    """The options of a simple `dq check` (see the module docstring)."""

    contract: str
    data: str | None = None
    fmt: str = "text"
    output: str | None = None
    samples: int = 5
    quiet: bool = False
    verbose: bool = False
    allow_empty: bool = False


def parse(argv: list[str]) -> Options | None:
    """``argv`` (after ``dq``) as a simple `dq check`; None for anything else."""
    if len(argv) < 2 or argv[0] != "check":
        return None
    contract: str | None = None
    got: dict[str, object] = {}
    args = iter(argv[1:])
    for arg in args:
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _VALUED:
            if not eq:
                value = next(args, None)  # type: ignore[assignment]
                if value is None or value.startswith("-"):
                    return None
            field = _VALUED[name]
            if field in got:
                return None
            got[field] = value
        elif name in _FLAGS and not eq:
            if _FLAGS[name] in got:
                return None
            got[_FLAGS[name]] = True
        elif arg.startswith("-") or contract is not None or not arg:
            return None
        else:
            contract = arg
    if contract is None or got.get("fmt", "text") not in ("text", "json"):
        return None
    samples = str(got.pop("samples", "5"))
    if not samples.isdigit() or int(samples) > 1000 or (len(samples) > 1 and samples.startswith("0")):
        return None
    return Options(contract=contract, samples=int(samples), **got)  # type: ignore[arg-type]


def attempt(argv: list[str]) -> int | None:
    """Answer ``dq <argv>`` from a compiled check: the exit code, or None (nothing written)
    when the full path must run."""
    opts = parse(argv)
    if opts is None:
        return None
    try:
        report = _report(opts)
    except Exception:  # noqa: BLE001 - whatever goes wrong here, the full path answers
        return None
    if report is None:
        return None
    text, failed = report
    if opts.output is None or opts.output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from dqgate.cli.atomic import write_text

        write_text(opts.output, text)
    return 1 if failed else 0


def _report(opts: Options) -> tuple[str, bool] | None:
    from dqgate.report.progress import wanted

    bar = None
    if wanted(opts.quiet):  # a terminal: the same bar as the full path, drawn after a second
        from functools import partial

        from dqgate.report.progress import Bar

        bar = partial(Bar, True)
    if os.environ.get("DQ_OPENLINEAGE_URL") or os.environ.get("DQ_OPENLINEAGE_FILE"):
        return None  # the run event is sent by the full path (events/lineage.py's `enabled`)
    if opts.output not in (None, "-") and (os.path.isdir(opts.output) or not os.path.isdir(os.path.dirname(os.path.abspath(opts.output)))):
        return None  # the full path refuses it in one line
    import hashlib

    from dqgate.ir import plan_cache
    from dqgate.runners import replay

    with open(opts.contract, "rb") as fh:
        text = fh.read()
    entry = plan_cache.compiled_entry(text, opts.samples)
    kept = plan_cache.read_compiled(entry) if entry is not None else None
    if not isinstance(kept, replay.CompiledCheck) or kept.sha256 != hashlib.sha256(text).hexdigest():
        return None
    data = opts.data if opts.data is not None else kept.source
    path = replay.data_path(data, os.path.dirname(os.path.abspath(opts.contract))) if data else None
    if path is None:
        return None
    from dqgate.runners import assemble

    assemble.remember_readable(kept.readable)
    result = replay.run(kept, path, samples=opts.samples, allow_empty=opts.allow_empty, progress=bar)
    if result is None:
        return None
    if opts.fmt == "json":
        from dqgate.report.json_result import render

        return render(result), result.status == "fail"
    from dqgate.report.console import render as console

    color = opts.output is None and sys.stdout.isatty()
    return console(result, color=color, verbose=opts.verbose), result.status == "fail"
