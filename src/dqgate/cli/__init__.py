"""The `dq` command.

:func:`main` is the console script. A real `dq check` whose contract a previous check
compiled (``runners/compiled.py``) is answered by ``cli/fastcheck.py`` before click,
pydantic or sqlglot is imported; everything else, and any check that path cannot answer
exactly, goes through the click group of ``cli/group.py``, where errors become one line
and an exit code.
"""

from __future__ import annotations

import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Run `dq` and return its exit code (0 pass, 1 gate failed, 2 unusable input).

    Only a real process (``argv`` None: the command line) tries the compiled check;
    callers passing ``argv`` (tests, embedding) always get the click path.
    """
    if argv is None:
        single_blas_thread()
    if argv is None and sys.argv[1:2] == ["check"]:  # other commands load nothing for it
        import gc

        # A replayed check is a short run that makes little garbage, most of it while
        # importing DuckDB: collecting cycles there costs ~10 % of its time for nothing.
        gc.disable()
        from dqgate.cli.fastcheck import attempt

        code = attempt(sys.argv[1:])
        gc.enable()
        if code is not None:
            return code
    if argv is None and sys.argv[1:2] == ["lint"]:  # the pre-commit hook: no click for the plain form
        from dqgate.cli.lint_run import attempt as lint

        code = lint(sys.argv[1:])
        if code is not None:
            return code
    from dqgate.cli.group import main as click_main

    return click_main(argv)


def single_blas_thread() -> None:
    """Give numpy's OpenBLAS one thread in a `dq` process, unless the user chose a number.

    `dq` does no linear algebra, yet on import (pyarrow imports numpy) OpenBLAS starts a
    thread per core that busy-waits: ~0.07 s of CPU in every command that writes or reads
    the store (benchmarks/README.md, session 9). Only the console script does this: a
    program that imports dqgate keeps its own environment.
    """
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def __getattr__(name: str) -> Any:
    """``cli``, ``one_line`` and the command table live in ``cli/group.py`` (they need click)."""
    if name in ("cli", "one_line", "_COMMANDS", "_LazyGroup"):
        from dqgate.cli import group

        return getattr(group, name)
    raise AttributeError(f"module 'dqgate.cli' has no attribute {name!r}")
